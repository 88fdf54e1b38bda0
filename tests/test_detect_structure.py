"""People and places where people write them, and the false positives real traffic provokes.

Every case runs through the real detector (Presidio, the spaCy model and sovscan's rules): the
kinds of miss and false positive seen on prompts that look like real AI traffic — names in CSV,
JSON and .env fields, non-Latin scripts, speaker labels, sign-offs, lower and upper case, one-line
Australian and New Zealand addresses, cities in prose and columns, TFNs in a ``tfn`` column — and
the mention-only prose (nationalities, religions, parties, software) that must raise nothing."""

from __future__ import annotations

import pytest

from scanner.catalog import load_catalog
from scanner.detectors import filters, structure
from scanner.detectors.pii import PiiDetector, Span, truecase


@pytest.fixture(scope="module")
def detector() -> PiiDetector:
    return PiiDetector(load_catalog(), hash_key=b"t")


def found(detector: PiiDetector, text: str) -> set[tuple[str, str]]:
    spans: tuple[Span, ...] = detector.analyze_texts([text])[0]
    return {(s.entity, text[s.start : s.end]) for s in spans}


def entities(detector: PiiDetector, text: str) -> set[str]:
    return {e for e, _ in found(detector, text)}


# -- people and places the model alone misses ----------------------------------------------------
VTT = "WEBVTT\n\n00:00:01.000 --> 00:00:04.000\n<v Priya Raman>Can we move the review?</v>"
UNIT = "Unit 4/12 Smith St, Fitzroy VIC 3065"
NZ = "12 Queen Street, Ponsonby, Auckland 1011"
FOUND = [
    # CSV / TSV rows under typed headers
    ("name,email,city,state,tfn\nJohn Smith,john@x.com,Ballarat,VIC,123 456 782\n", "PERSON", "John Smith"),
    ("name,email,city,state,tfn\nJohn Smith,john@x.com,Ballarat,VIC,123 456 782\n", "LOCATION", "Ballarat"),
    ("name,email,city,state,tfn\nJohn Smith,john@x.com,Ballarat,VIC,123 456 782\n", "AU_TFN", "123 456 782"),
    ("id\tfull_name\tsuburb\n17\tAroha Ngata\tPonsonby\n", "PERSON", "Aroha Ngata"),
    ("id\tfull_name\tsuburb\n17\tAroha Ngata\tPonsonby\n", "LOCATION", "Ponsonby"),
    ('customer,amount\n"Nguyen, Van An",120.50\n', "PERSON", "Nguyen, Van An"),
    # JSON tool arguments and .env / config keys inside a prompt
    ('Call the tool with {"customer_name": "Nguyen Van An", "city": "Hanoi"}', "PERSON", "Nguyen Van An"),
    ('{"passenger": "Oluwaseun Adeyemi", "seat": "14C"}', "PERSON", "Oluwaseun Adeyemi"),
    ("CONTACT_NAME=Olivia Brown\nDB_HOST=db.internal\n", "PERSON", "Olivia Brown"),
    ("patient_name: ingrid bergstrom\nward: 4B\n", "PERSON", "ingrid bergstrom"),
    # e-mail headers, salutations and sign-offs, attendee lists
    ("From: Priya Raman <priya@acme.com.au>\nTo: Tom O'Brien <tom@acme.com.au>\n", "PERSON", "Priya Raman"),
    ("From: Priya Raman <priya@acme.com.au>\nTo: Tom O'Brien <tom@acme.com.au>\n", "PERSON", "Tom O'Brien"),
    ("Cc: Wei Zhang; Fatima Al-Sayed\nSubject: claim 4471\n", "PERSON", "Fatima Al-Sayed"),
    ("Thanks for the update.\n\nKind regards,\nSiobhan\n", "PERSON", "Siobhan"),
    ("Let me know.\nCheers,\nTom", "PERSON", "Tom"),
    ("Attendees: Priya Raman, Tom O'Brien and Mele Tupou\n", "PERSON", "Mele Tupou"),
    # speaker labels in transcripts and chat exports
    (VTT, "PERSON", "Priya Raman"),
    ("[12/03/2026, 09:14] Aroha Ngata: can you check the booking?", "PERSON", "Aroha Ngata"),
    ("12/03/2026, 09:15 - Liam Chen: yep on it", "PERSON", "Liam Chen"),
    ("Mariam: morning all\nKofi: hi\nMariam: shall we start?", "PERSON", "Kofi"),
    # booking systems, upper and lower case
    ("PASSENGER: EZE/ANGELA MS  SEAT 14C", "PERSON", "EZE/ANGELA"),
    ("PLEASE SHIP TO MARIA GARCIA IN MADRID", "PERSON", "MARIA GARCIA"),
    ("hey can u email sarah jones about the invoice", "PERSON", "sarah jones"),
    ("i moved to melbourne from perth last year", "LOCATION", "melbourne"),
    # non-Latin scripts
    ("田中太郎さんに連絡してください", "PERSON", "田中太郎"),
    ("Please call 王伟 about the refund", "PERSON", "王伟"),
    ("Contact: 김민준 (front desk)", "PERSON", "김민준"),
    ("김민준 님, 예약이 확인되었습니다", "PERSON", "김민준"),
    ("Клиент Иван Петрович Смирнов просит вернуть деньги", "PERSON", "Иван Петрович Смирнов"),
    ("Dear السيد أحمد الخطيب, your claim is approved", "PERSON", "أحمد الخطيب"),
    ("श्री राजेश कुमार ने शिकायत दर्ज की", "PERSON", "राजेश कुमार"),
    # Australian and New Zealand addresses, places in prose
    (f"Send it to {UNIT} please", "STREET_ADDRESS", UNIT),
    (f"Office: {NZ}", "STREET_ADDRESS", NZ),
    ("Postal: PO Box 88, Toowoomba QLD 4350", "LOCATION", "Toowoomba QLD 4350"),
    ("We have customers in Brisbane, Perth and Adelaide.", "LOCATION", "Adelaide"),
    ("She relocated to Wollongong, NSW in March.", "LOCATION", "Wollongong"),
]  # fmt: skip


@pytest.mark.parametrize(("text", "entity", "value"), FOUND)
def test_structure_finds_people_and_places(detector: PiiDetector, text: str, entity: str, value: str) -> None:
    assert (entity, value) in found(detector, text)


# -- machine text, ids and look-alikes: nothing personal -----------------------------------------
NOTHING = [
    "The Grafana dashboard shows CrashLoopBackOff on the db pod. Jenkins failed after Merge and Revert.",
    "Ask Grok to summarise the incident.",
    "Email: support@acme.io is monitored.\nBill to: Acme Pty Ltd",
    "requests_total 123456789 latency_p99 987654321",
    "request id 3f2a1b4c-1d2e-4f5a-9b8c-7d6e5f4a3b2c, tool call id call_8f7e6d5c4b3a",
    "git commit 3f9a1c2 fixed null pointer in v2.3.1; build 20231104 passed",
    "pls restart the server and check the logs",
    "ERROR CONNECTION REFUSED ON PORT 5432",
    "status: open\nstate: pending\nregion: ap-southeast-2\nowner: platform-team",
    "Subject: Outage review\nDate: 3 March\nPriority: High\nComponent: Billing",
]


@pytest.mark.parametrize("text", NOTHING)
def test_machine_text_is_not_a_person(detector: PiiDetector, text: str) -> None:
    personal = {"PERSON", "LOCATION", "PHONE_NUMBER", "UUID", "NRP", "STREET_ADDRESS"}
    assert not (entities(detector, text) & personal), found(detector, text)


# -- sensitive information is information about a person -----------------------------------------
MENTION_ONLY = [
    "You are a helpful assistant for an Australian insurer.",
    "Act as a British tour guide for visitors to London.",
    "Draft a newsletter for a Catholic primary school.",
    "Our Japanese customers prefer formal replies.",
    "Summarise the Labor Party's policy on housing.",
    "Explain the basics of Buddhism for a school project.",
    "What are the symptoms of type 2 diabetes?",
    "Translate this into Vietnamese for our Vietnamese community newsletter.",
    "You are a devout Muslim chef persona for a recipe app.",
]
SENSITIVE = {"NRP", "RELIGION", "ETHNICITY", "POLITICAL_OPINION", "TRADE_UNION", "SEXUAL_ORIENTATION",
             "HEALTH_CONDITION", "MEDICATION"}  # fmt: skip


@pytest.mark.parametrize("text", MENTION_ONLY)
def test_mentions_are_not_sensitive_information(detector: PiiDetector, text: str) -> None:
    assert not (entities(detector, text) & SENSITIVE), found(detector, text)


ABOUT_A_PERSON = [
    ("Tom is a practising Muslim and asked for halal meals.", "RELIGION"),
    ("Priya is a practising Hindu and needs leave for Diwali.", "RELIGION"),
    ("I'm a union member and I voted Labor.", "TRADE_UNION"),
    ("Patient presents with chest pain. Hx of type 2 diabetes, takes metformin 500mg.", "HEALTH_CONDITION"),
    ("She was diagnosed with epilepsy last year.", "HEALTH_CONDITION"),
    ("Religion: Catholic\nNext of kin: Maria Lopez", "RELIGION"),
    ("My husband is Jewish and we keep kosher.", "RELIGION"),
]


@pytest.mark.parametrize(("text", "entity"), ABOUT_A_PERSON)
def test_statements_about_a_person_are_sensitive(detector: PiiDetector, text: str, entity: str) -> None:
    assert entity in entities(detector, text), found(detector, text)


def test_sensitive_field_keys_link_the_value_to_a_person(detector: PiiDetector) -> None:
    [spans] = detector.analyze_texts(["Catholic"], keys=["religion"])
    assert [s.entity for s in spans] == ["RELIGION"]


def test_about_a_person_rules() -> None:
    def span(text: str, word: str, entity: str = "RELIGION") -> Span:
        start = text.index(word)
        return Span(entity, start, start + len(word), 0.85, "h", "*")

    school = "He teaches at a Catholic school."
    assert not filters.about_a_person(school, span(school, "Catholic"))  # describes the school
    persona = "You are a Catholic priest answering questions."
    assert not filters.about_a_person(persona, span(persona, "Catholic"))
    stated = "He is Catholic."
    assert filters.about_a_person(stated, span(stated, "Catholic"))
    other_sentence = "Maria called. The parish is Catholic."
    maria = Span("PERSON", 0, 5, 0.85, "h", "*")
    assert not filters.about_a_person(other_sentence, span(other_sentence, "Catholic"), persons=[maria])


# -- the pieces ---------------------------------------------------------------------------------------
def test_truecase_keeps_length_and_recases_only_one_case_text() -> None:
    for text in ("hey can u email sarah jones", "JOHN SMITH CALLED ABOUT HIS CLAIM", "straße und ärger ok"):
        assert len(truecase(text)) == len(text)
    assert truecase("hey can u email sarah jones") == "Hey can U Email Sarah Jones"
    assert truecase("Mixed Case stays as it is") == "Mixed Case stays as it is"


def test_column_entity_types_headers() -> None:
    assert structure.column_entity("customer_name") == "PERSON"
    assert structure.column_entity("Suburb") == "LOCATION"
    assert structure.column_entity("tfn") == "AU_TFN"
    assert structure.column_entity("home_address") == "STREET_ADDRESS"
    assert structure.column_entity("hostname") is None
    assert structure.column_entity("amount") is None


def test_state_and_country_columns_need_a_real_place() -> None:
    rows = "ticket,state,country\n4471,open,Australia\n4472,VIC,pending\n"
    got = {(e, rows[s:t]) for e, s, t, _ in structure.find(rows)}
    assert ("LOCATION", "Australia") in got and ("LOCATION", "VIC") in got
    assert ("LOCATION", "open") not in got and ("LOCATION", "pending") not in got


BLOCKS = [
    ("Helena Carlsen\n\n637 Strojírenská 1006\n Suite 026\n Svratka\n Czech Republic", "Helena Carlsen"),
    ("Regina Blinova\nFacebank Group Inc.\nMobile: 077 7256 1210", "Regina Blinova"),
    ("Directed By:    Lincoln Ingham", "Lincoln Ingham"),
    ("Renátó, can I please speak to your boss?", "Renátó"),
]


@pytest.mark.parametrize(("text", "name"), BLOCKS)
def test_name_lines_heading_contact_blocks_and_vocatives(detector: PiiDetector, text: str, name: str) -> None:
    assert ("PERSON", name) in found(detector, text)


@pytest.mark.parametrize(
    "text",
    [
        "Kirin Holdings CompanyLimited\n\n9297 Piazza Indipendenza 124 Suite 170",
        "Cool, what's the address?",
        "Sorry, can you resend it?",
        "Sweden 47385\n, nan\n 35188",
    ],
)
def test_companies_interjections_and_nan_are_not_people(detector: PiiDetector, text: str) -> None:
    assert "PERSON" not in entities(detector, text), found(detector, text)
