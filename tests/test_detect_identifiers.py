"""Recognizer tables: identifiers with valid and invalid check digits, with and without context,
run through the real analyser (Presidio + the spaCy model); validator and filter unit tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from scanner.catalog import load_catalog
from scanner.detectors import filters, identifiers
from scanner.detectors.pii import PiiDetector, Span


@pytest.fixture(scope="module")
def detector() -> PiiDetector:
    return PiiDetector(load_catalog(), hash_key=b"t")


def spans_of(detector: PiiDetector, text: str) -> tuple[Span, ...]:
    return detector.analyze_texts([text])[0]


def covering(spans: tuple[Span, ...], text: str, value: str, entity: str) -> list[Span]:
    start = text.index(value)
    end = start + len(value)
    return [s for s in spans if s.entity == entity and s.start <= start and end <= s.end]


# -- valid identifiers, in the sentences people write them in: reported as the entity -------------
VALID_WITH_CONTEXT = [
    ("AU_TFN", "My TFN is {v}.", "123 456 782"),
    ("AU_TFN", "Tax file number: {v}", "876 543 210"),
    ("AU_TFN", "My old TFN is {v}.", "37118629"),  # 8-digit TFN
    ("AU_TFN", "TFN {v} (legacy)", "87654322"),
    ("AU_MEDICARE", "Medicare card number {v}", "2123 45670 1"),
    ("AU_MEDICARE", "Her Medicare number is {v} (IRN 2).", "2123 45670 1"),
    ("AU_ABN", "Our ABN is {v}.", "51 824 753 556"),
    ("AU_ABN", "ABN: {v}", "53004085616"),
    ("AU_ACN", "Acme Pty Ltd (ACN {v})", "000 250 000"),  # check digit 0
    ("AU_ACN", "ACN {v}", "004 085 616"),
    ("AU_PASSPORT", "My passport number is {v}.", "PA1234567"),
    ("AU_PASSPORT", "Passport: {v}", "N1234567"),
    ("AU_DRIVER_LICENCE", "My driver licence number is {v}.", "12345678"),
    ("AU_DRIVER_LICENCE", "Driver's licence: {v}", "S12345"),
    ("NZ_IRD", "My IRD number is {v}.", "49-091-850"),
    ("NZ_IRD", "IRD number {v}", "136-410-132"),
    ("NZ_NHI", "Patient NHI {v}", "ZAC5361"),  # old format
    ("NZ_NHI", "NHI number: {v}", "ZBN77VL"),  # new format
    ("UK_NHS", "NHS number {v}", "943 476 5919"),
    ("UK_NHS", "My NHS number is {v}.", "9434765919"),
    ("UK_NINO", "National Insurance number {v}", "AB 12 34 56 C"),
    ("IBAN_CODE", "IBAN {v}", "GB82 WEST 1234 5698 7654 32"),
    ("IBAN_CODE", "Please transfer it to {v}.", "DE89370400440532013000"),
    ("EU_VAT", "VAT number {v}", "DE136695976"),
    ("EU_VAT", "TVA intracommunautaire {v}", "FR40303265045"),
    ("EU_VAT", "BTW-nummer {v}", "NL004495445B01"),
    ("US_SSN", "My social security number is {v}.", "536-22-8726"),
    ("US_ITIN", "ITIN {v}", "912-70-1234"),
    ("CREDIT_CARD", "Card number {v}", "4111 1111 1111 1111"),
    ("CREDIT_CARD", "Charge my card {v} please", "378282246310005"),
    ("CREDIT_CARD", "Mastercard {v}", "5555555555554444"),
    ("CREDIT_CARD", "JCB card {v}", "3530111333300000"),
    ("PHONE_NUMBER", "Call me on {v}.", "0412 345 678"),
    ("PHONE_NUMBER", "Office: {v}", "(02) 9876 5432"),
    ("PHONE_NUMBER", "Ring {v} after five", "+44 20 7946 0958"),
    ("PHONE_NUMBER", "Her mobile is {v}", "+64 21 123 4567"),
    ("PHONE_NUMBER", "Phone: {v}", "(212) 555-0187"),
    ("MEDICAL_LICENSE", "Prescriber DEA number {v}", "AB1234563"),
]


@pytest.mark.parametrize(("entity", "template", "value"), VALID_WITH_CONTEXT)
def test_valid_identifier_with_context_is_found(
    detector: PiiDetector, entity: str, template: str, value: str
) -> None:
    text = template.format(v=value)
    spans = spans_of(detector, text)
    assert covering(spans, text, value, entity), f"{entity} not found in {text!r}: {spans}"


# -- invalid check digits (or impossible ranges), with context: never reported as the entity -----
INVALID_WITH_CONTEXT = [
    ("AU_TFN", "My TFN is {v}.", "123 456 789"),
    ("AU_TFN", "My old TFN is {v}.", "37118620"),
    ("AU_MEDICARE", "Medicare card number {v}", "2123 45671 1"),
    ("AU_MEDICARE", "Medicare card number {v}", "7123 45670 1"),  # first digit must be 2–6
    ("AU_ABN", "Our ABN is {v}.", "51 824 753 557"),
    ("AU_ACN", "ACN {v}", "000 250 001"),
    ("NZ_IRD", "My IRD number is {v}.", "49-091-851"),
    ("NZ_IRD", "IRD number {v}", "9-091-850"),  # below the issued range
    ("NZ_NHI", "Patient NHI {v}", "ZZZ0044"),
    ("NZ_NHI", "NHI number: {v}", "ZZZ00AA"),
    ("UK_NHS", "NHS number {v}", "943 476 5918"),
    ("UK_NINO", "National Insurance number {v}", "QQ 12 34 56 C"),  # Q never a prefix letter
    ("UK_NINO", "National Insurance number {v}", "GB 12 34 56 A"),  # unallocated prefix
    ("IBAN_CODE", "IBAN {v}", "GB82 WEST 1234 5698 7654 33"),
    ("IBAN_CODE", "IBAN {v}", "DE8937040044053201300"),  # one character short for DE
    ("EU_VAT", "VAT number {v}", "DE136695977"),
    ("EU_VAT", "VAT number {v}", "FR41303265045"),
    ("US_SSN", "My social security number is {v}.", "666-22-8726"),
    ("US_SSN", "SSN {v}", "000-12-3456"),
    ("US_ITIN", "ITIN {v}", "912-67-1234"),
    ("CREDIT_CARD", "Card number {v}", "4111 1111 1111 1112"),
    ("MEDICAL_LICENSE", "Prescriber DEA number {v}", "AB1234564"),
]


@pytest.mark.parametrize(("entity", "template", "value"), INVALID_WITH_CONTEXT)
def test_invalid_identifier_is_not_reported(
    detector: PiiDetector, entity: str, template: str, value: str
) -> None:
    text = template.format(v=value)
    spans = spans_of(detector, text)
    assert not [s for s in spans if s.entity == entity], f"{entity} wrongly reported in {text!r}: {spans}"


# -- without context: distinctive shapes are reported, weak ones are not --------------------------
WITHOUT_CONTEXT = [
    ("AU_TFN", "123 456 782", True),  # grouped 3-3-3 with a valid check digit
    ("AU_TFN", "37118629", False),  # 8 digits: needs context
    ("AU_MEDICARE", "2123 45670 1", True),
    ("AU_ABN", "51 824 753 556", True),
    ("AU_PASSPORT", "PA1234567", False),
    ("AU_DRIVER_LICENCE", "12345678", False),
    ("NZ_IRD", "49-091-850", False),
    ("NZ_NHI", "ZAC5361", False),
    ("UK_NHS", "943 476 5919", True),
    ("UK_NINO", "AB 12 34 56 C", True),
    ("IBAN_CODE", "GB82 WEST 1234 5698 7654 32", True),
    ("US_SSN", "536-22-8726", True),
    ("CREDIT_CARD", "4111 1111 1111 1111", True),
    ("PHONE_NUMBER", "0412 345 678", True),
    ("PHONE_NUMBER", "3455 181", False),  # a house number, valid only in open numbering plans
]


@pytest.mark.parametrize(("entity", "value", "expected"), WITHOUT_CONTEXT)
def test_without_context(detector: PiiDetector, entity: str, value: str, expected: bool) -> None:
    text = f"The value {value} was in the form."
    assert bool(covering(spans_of(detector, text), text, value, entity)) is expected


@pytest.mark.parametrize(
    ("key", "entity", "value"),
    [
        ("passport", "AU_PASSPORT", "PA1234567"),
        ("nhi", "NZ_NHI", "ZAC5361"),
        ("driver_licence", "AU_DRIVER_LICENCE", "12345678"),
        ("tfn", "AU_TFN", "37118629"),
    ],
)
def test_field_key_is_context(detector: PiiDetector, key: str, entity: str, value: str) -> None:
    """A value with no context in its text is found when the JSON key it sits under is context."""
    analyzer = detector.analyzer
    bare = analyzer.analyze(text=value, language="en")
    assert not [r for r in bare if r.entity_type == entity and r.score >= detector.min_score]
    keyed = analyzer.analyze(text=value, language="en", context=filters.field_context(key))
    assert [r for r in keyed if r.entity_type == entity and r.score >= detector.min_score]


# -- credentials and protective markings ----------------------------------------------------------
CREDENTIALS = [
    ("API_KEY", "sk-proj-" + "a1B2c3D4e5F6g7H8i9J0" * 3),
    ("API_KEY", "sk-ant-api03-" + "Zx9_Yw8-Vu7Ts6Rq5Po4" * 5),
    ("API_KEY", "AIza" + "SyA1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q"),
    ("AWS_ACCESS_KEY", "AKIAIOSFODNN7EXAMPLE"),
    ("API_KEY", "ghp_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"),
    ("API_KEY", "xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx"),
    ("API_KEY", "hf_" + "AbCdEfGhIjKlMnOpQrStUvWxYzAbCdEfGh"),
    ("API_KEY", "sk_live_" + "4eC39HqLyjWDarjtT1zdp7dc"),
    (
        "JWT",
        "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c",
    ),
    ("PRIVATE_KEY", "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA1b2c3\n-----END RSA PRIVATE KEY-----"),
    ("PASSWORD", "hunter2-Secret"),
]


@pytest.mark.parametrize(("entity", "value"), CREDENTIALS)
def test_credentials_are_found(detector: PiiDetector, entity: str, value: str) -> None:
    text = (
        f"postgres://app:{value}@db.internal:5432/prod"
        if entity == "PASSWORD"
        else f"Use {value} for the call"
    )
    if entity == "API_KEY":
        # Provider-specific key entities (OPENAI_API_KEY, HUGGINGFACE_TOKEN…) are credentials too.
        catalog = detector.catalog
        start = text.index(value)
        assert [
            s
            for s in spans_of(detector, text)
            if catalog.category_of(s.entity) == "credential"
            and s.start <= start
            and start + len(value) <= s.end
        ]
    else:
        assert covering(spans_of(detector, text), text, value, entity)


@pytest.mark.parametrize(
    "text",
    [
        "postgres://app:${DB_PASSWORD}@db.internal/prod",  # a template, not a password
        "https://user:password@example.com/",  # a placeholder
        "eyJub3Rqc29u.eyJzdWIiOiIxIn0.c2lnbmF0dXJlc2lnbmF0dXJl",  # header is not JSON
        "the sk- prefix marks OpenAI keys",
    ],
)
def test_credential_lookalikes_are_not_reported(detector: PiiDetector, text: str) -> None:
    assert not [s for s in spans_of(detector, text) if s.entity in {"PASSWORD", "JWT", "API_KEY"}]


@pytest.mark.parametrize(
    ("text", "marking"),
    [
        ("PROTECTED//AUSTEO\nBriefing for the minister", "PROTECTED//AUSTEO"),
        ("OFFICIAL: Sensitive\nDraft advice", "OFFICIAL: Sensitive"),
        ("Classification: SECRET\nDo not forward", "SECRET"),
        ("TOP SECRET//REL AUS/NZL\nsummary follows", "TOP SECRET//REL AUS/NZL"),
    ],
)
def test_protective_markings(detector: PiiDetector, text: str, marking: str) -> None:
    assert covering(spans_of(detector, text), text, marking, "AU_PROTECTIVE_MARKING")


@pytest.mark.parametrize(
    "text",
    [
        "Keep this recipe a secret, it is protected by my grandmother.",
        "The birthday party is a SECRET so do not tell anyone",
        "OFFICIAL launch of the product is on Monday",
    ],
)
def test_ordinary_words_are_not_markings(detector: PiiDetector, text: str) -> None:
    assert not [s for s in spans_of(detector, text) if s.entity == "AU_PROTECTIVE_MARKING"]


@pytest.mark.parametrize(
    ("text", "entity", "value"),
    [
        ("I am a practising Muslim.", "RELIGION", "Muslim"),
        ("He is a union member and goes to every meeting.", "TRADE_UNION", "union member"),
        ("My partner is gay.", "SEXUAL_ORIENTATION", "gay"),
        ("She identifies as Aboriginal.", "ETHNICITY", "Aboriginal"),
        ("I voted Greens at the last election.", "POLITICAL_OPINION", "voted Greens"),
        ("She was diagnosed with Crohn's disease last year.", "HEALTH_CONDITION", "Crohn's disease"),
        ("He takes adalimumab every fortnight.", "MEDICATION", "adalimumab"),
    ],
)
def test_sensitive_lexicons(detector: PiiDetector, text: str, entity: str, value: str) -> None:
    assert covering(spans_of(detector, text), text, value, entity)
    assert detector.catalog.category_of(entity) in {"health", "sensitive"}


# -- known false positives of Presidio's defaults ------------------------------------------------
@pytest.mark.parametrize(
    ("text", "not_entities"),
    [
        ("Call (212) 555-0187 tomorrow", {"UK_NHS"}),  # US phone number, not an NHS number
        ("Order #943 476 5919 has shipped", {"UK_NHS", "PHONE_NUMBER"}),
        ("Invoice no. 123 456 782 is overdue", {"AU_TFN", "PHONE_NUMBER"}),
        ("DOB: 01/02/1980, Medicare: 2123 45670 1", {"PERSON", "ORGANIZATION"}),
        ("She lives at 22 Pollen Crescent, Ballarat", {"PERSON"}),
        ("My passport number is PW9417634.", {"MEDICAL_LICENSE"}),
        ("How do I change my address to 3455 181 Heb Place?", {"PHONE_NUMBER"}),
        ("Ask Claude to summarise the thread", {"PERSON"}),
        (
            'Traceback: File "/srv/app/handlers/user_profile.py", line 212, in load_user_profile '
            "at 2024-05-01T10:22:33Z id 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
            {"PERSON", "LOCATION", "PHONE_NUMBER", "UK_NHS", "US_BANK_NUMBER", "DATE_TIME", "ORGANIZATION"},
        ),
    ],
)
def test_known_false_positives_are_gone(detector: PiiDetector, text: str, not_entities: set[str]) -> None:
    spans = spans_of(detector, text)
    assert not [s for s in spans if s.entity in not_entities], spans


def test_street_address_is_reported_as_address(detector: PiiDetector) -> None:
    text = "She lives at 22 Pollen Crescent, Ballarat"
    assert covering(spans_of(detector, text), text, "22 Pollen Crescent", "STREET_ADDRESS")


def test_replaced_presidio_recognizers_are_gone(detector: PiiDetector) -> None:
    names = {r.name for r in detector.analyzer.registry.recognizers}
    assert not names & identifiers.REPLACED
    assert {"SovAuAcnRecognizer", "SovPhoneRecognizer"} <= names


# -- validators -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("validator", "good", "bad"),
    [
        (
            identifiers.valid_tfn,
            ["123456782", "876 543 210", "37118629"],
            ["123456789", "37118620", "111111111"],
        ),
        (
            identifiers.valid_medicare,
            ["2123456701", "2123 45670 1 2"],
            ["2123456711", "7123456701", "2123456700"],
        ),
        (identifiers.valid_abn, ["51824753556", "53 004 085 616"], ["51824753557", "01824753556"]),
        (identifiers.valid_acn, ["000250000", "004085616", "010499966"], ["000250001", "00425000"]),
        (
            identifiers.valid_nz_ird,
            ["49091850", "35901981", "136410132"],
            ["49091851", "9091850", "150000001"],
        ),
        (
            identifiers.valid_nz_nhi,
            ["ZAC5361", "WLD9413", "ZBN77VL", "zsc21tn"],
            ["ZZZ0044", "ZZZ00AA", "IAC5361"],
        ),
        (identifiers.valid_uk_nhs, ["9434765919"], ["9434765918", "0000000000"]),
        (identifiers.valid_uk_nino, ["AB123456C", "AB 12 34 56 C"], ["QQ123456C", "GB123456A", "AO123456C"]),
        (
            identifiers.valid_iban,
            ["GB82WEST12345698765432", "DE89 3704 0044 0532 0130 00"],
            ["GB82WEST12345698765433", "XX82WEST12345698765432"],
        ),
        (
            identifiers.valid_card,
            ["4111111111111111", "378282246310005", "2221000000000009"],
            ["4111111111111112", "9111111111111119", "41111111111111111"],
        ),
        (
            identifiers.valid_us_ssn,
            ["536-22-8726"],
            ["666-22-8726", "000-22-8726", "536-00-8726", "536-22-0000", "900-22-8726"],
        ),
        (identifiers.valid_us_itin, ["912-70-1234", "999-99-1234"], ["912-67-1234", "812-70-1234"]),
        (
            identifiers.valid_eu_vat,
            [
                "DE136695976",
                "FR40303265045",
                "IT00743110157",
                "BE0403170701",
                "ATU13585627",
                "PL5260250274",
                "DK13585628",
                "FI20774740",
                "PT501964843",
                "SE556188840401",
            ],
            ["DE136695977", "IT00743110158", "XX123456789", "NL004495445B1"],
        ),
        (identifiers.valid_jwt, ["eyJhbGciOiJIUzI1NiJ9.e30.c2ln"], ["eyJub3Rqc29u.e30.c2ln"]),
        (identifiers.valid_url_password, ["s3cr3t-Pa55"], ["password", "${PASS}", "****"]),
    ],
)
def test_validators(validator, good: list[str], bad: list[str]) -> None:  # type: ignore[no-untyped-def]
    assert all(validator(v) for v in good), [v for v in good if not validator(v)]
    assert not any(validator(v) for v in bad), [v for v in bad if validator(v)]


# -- filters (pure) -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("key", "words", "entity"),
    [
        ("email", ["email", "mail"], "EMAIL_ADDRESS"),
        ("/messages/0/patient_name", ["name"], "PERSON"),
        ("firstName", ["name"], "PERSON"),
        ("tfn", ["tfn", "tax file number"], "AU_TFN"),
        ("date_of_birth", ["birth", "dob", "born"], "DATE_TIME"),
        ("medicareNumber", ["medicare"], "AU_MEDICARE"),
        ("username", [], None),
        (None, [], None),
    ],
)
def test_field_context_and_entity(key: str | None, words: list[str], entity: str | None) -> None:
    assert filters.field_context(key) == words
    assert filters.key_entity(key) == entity


def _span(entity: str, text: str, value: str, score: float = 0.85) -> Span:
    start = text.index(value)
    return Span(entity, start, start + len(value), score, "h", "p")


def test_name_key_reports_a_missed_name() -> None:
    text = "Li Wei"
    out = filters.filter_spans(text, [], "patient_name", hash_key=b"k")
    assert [(s.entity, s.start, s.end) for s in out] == [("PERSON", 0, 6)]
    assert filters.filter_spans(text, [], "comment") == []


def test_certain_key_raises_score() -> None:
    text = "jo@example.com"
    out = filters.filter_spans(text, [_span("EMAIL_ADDRESS", text, text, 0.5)], "email")
    assert out[0].score == 0.9


def test_allowlist_and_thresholds_from_rules(tmp_path: Path) -> None:
    (tmp_path / "allowlist.yaml").write_text(
        "allow:\n  PERSON:\n    exact: [Acme Bot]\n  '*':\n    regex: ['TEST-\\d+']\n", encoding="utf-8"
    )
    (tmp_path / "thresholds.yaml").write_text("thresholds:\n  LOCATION: 0.9\n", encoding="utf-8")
    rules = filters.load_rules(tmp_path)
    text = "Acme Bot met Jo in Perth about TEST-42"
    spans = [
        _span("PERSON", text, "Acme Bot"),
        _span("PERSON", text, "Jo"),
        _span("LOCATION", text, "Perth"),
        _span("US_BANK_NUMBER", text, "TEST-42"),
    ]
    out = filters.filter_spans(text, spans, None, rules=rules)
    assert [text[s.start : s.end] for s in out] == ["Jo"]


def test_bad_allowlist_regex_names_the_file(tmp_path: Path) -> None:
    (tmp_path / "allowlist.yaml").write_text("allow:\n  '*':\n    regex: ['(']\n", encoding="utf-8")
    with pytest.raises(Exception, match=r"allowlist\.yaml"):
        filters.load_rules(tmp_path)


def test_phone_yields_to_validated_identifier() -> None:
    text = "NHS 943 476 5919"
    spans = [_span("PHONE_NUMBER", text, "943 476 5919", 0.95), _span("UK_NHS", text, "943 476 5919", 0.9)]
    assert [s.entity for s in filters.filter_spans(text, spans, None)] == ["UK_NHS"]


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("My name is Minoesch", "Minoesch"),
        ("Name:    Keiko Soto\nAddress: 141 P.O. Box 101", "Keiko Soto"),
        ("What's your last name? Virág", "Virág"),
        ("Please join the accounts with ms. Esther", "Esther"),
    ],
)
def test_names_after_a_cue(detector: PiiDetector, text: str, name: str) -> None:
    assert covering(spans_of(detector, text), text, name, "PERSON")


@pytest.mark.parametrize(
    "text",
    ["Hi Team, the build is green.", "Dear Sir, thanks for the update.", "Dear Hiring Manager,\nI apply"],
)
def test_cue_words_alone_are_not_names(detector: PiiDetector, text: str) -> None:
    assert not [s for s in spans_of(detector, text) if s.entity == "PERSON"]


def test_one_reading_per_value() -> None:
    text = "61990 Violvägen 64"
    spans = [_span("STREET_ADDRESS", text, text, 0.7), _span("STREET_ADDRESS", text, "Violvägen 64", 0.7)]
    assert [(s.start, s.end) for s in filters.filter_spans(text, spans, None)] == [(0, len(text))]


def test_long_texts_skip_presidios_per_result_context_pass() -> None:
    """Presidio's context pass walks every token for every result; long texts (tables, logs) must
    not pay it for each of thousands of candidates, while short field values keep it."""
    from presidio_analyzer import RecognizerResult

    flag = RecognizerResult.IS_SCORE_ENHANCED_BY_CONTEXT_KEY
    recognizer = identifiers.recognizers()[5]  # driver licence: every 6–10 digit run is a candidate
    assert recognizer.supported_entities == ["AU_DRIVER_LICENCE"]
    short = recognizer.analyze("12345678", ["AU_DRIVER_LICENCE"])
    assert short and not short[0].recognition_metadata.get(flag)
    long_text = "row 12345678 ok; " * 500
    results = recognizer.analyze(long_text, ["AU_DRIVER_LICENCE"])
    assert len(results) == 500 and all(r.recognition_metadata.get(flag) for r in results)


def test_international_phone_whose_digits_pass_a_tfn_checksum_stays_a_phone(detector: PiiDetector) -> None:
    text = "They can be reached on +61 429 954 048 during business hours."
    spans = spans_of(detector, text)
    assert covering(spans, text, "+61 429 954 048", "PHONE_NUMBER")
    assert not [s for s in spans if s.entity == "AU_TFN"]
    # The same digits written as a TFN are still a TFN.
    assert covering(
        spans_of(detector, "My TFN is 429 954 048."), "My TFN is 429 954 048.", "429 954 048", "AU_TFN"
    )
