"""Post-filters over the analyser's spans: the last step of detection before spans become Detections.

``filter_spans(text, spans, key)`` is pure: it takes the spans found in one text (and, when the
text is a JSON value, the key it sits under) and returns the spans worth reporting:

1. **Allow-lists** (``rules/allowlist.yaml``): exact values and regular expressions, globally or
   per entity, that are never reported (product names read as PERSON, template placeholders…).
2. **Per-entity thresholds** (``rules/thresholds.yaml``): weak recognizers (NER dates, US driver
   licences, bank numbers) must clear a higher bar than the global ``--min-score``.
3. **Known false positives** of Presidio's defaults: spans inside machine text (UUIDs, hex
   digests, timestamps, file paths, stack frames) are dropped; number-shaped identifiers right
   after "order", "invoice", "ref"… are dropped; a PERSON that ends in a street type ("Meadow
   Drive") becomes a street address; "Medicare", "DOB" and similar labels are not names.
4. **Conflicts**: one value, one entity — a phone reading of a checksum-validated identifier yields
   to the identifier; identical spans keep the best-scoring entity.
5. **Field awareness**: ``field_context(key)`` maps a JSON key to context words for Presidio's
   ``analyze(context=...)``; ``key_entity(key)`` names the entity a key makes certain, which
   raises that entity's score and, for names, reports a short value the model missed.
"""

from __future__ import annotations

import re
from bisect import bisect_left, insort
from collections.abc import Iterable
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

from scanner.catalog import data_dir, load_yaml
from scanner.detectors.pii import Span
from scanner.detectors.prefilter import RegexGate
from scanner.errors import ConfigError
from scanner.redact import protect

_NER = frozenset({"PERSON", "LOCATION", "NRP", "DATE_TIME", "ORGANIZATION"})
# Entities kept even inside machine-looking text: they are machine text themselves.
_MACHINE_OK = frozenset(
    {"EMAIL_ADDRESS", "URL", "IP_ADDRESS", "MAC_ADDRESS", "API_KEY", "AWS_ACCESS_KEY", "JWT",
     "PRIVATE_KEY", "PASSWORD", "SECRET", "CRYPTO", "UUID"}
)  # fmt: skip
# Number-shaped entities that order/invoice/reference numbers are mistaken for.
_NUMERIC_IDS = frozenset(
    {"PHONE_NUMBER", "UK_NHS", "US_BANK_NUMBER", "US_DRIVER_LICENSE", "AU_ACN", "AU_TFN", "AU_MEDICARE",
     "NZ_IRD", "US_SSN", "US_ITIN", "AU_DRIVER_LICENCE", "ABA_ROUTING_NUMBER", "MEDICAL_LICENSE",
     "US_PASSPORT", "DATE_TIME", "AU_ABN", "IN_AADHAAR", "SG_NRIC_FIN"}
)  # fmt: skip
# Checksum-validated identifiers: a phone reading of the same digits yields to them.
_VALIDATED = frozenset(
    {"CREDIT_CARD", "IBAN_CODE", "AU_TFN", "AU_MEDICARE", "AU_ABN", "AU_ACN", "UK_NHS", "UK_NINO",
     "NZ_IRD", "NZ_NHI", "US_SSN", "US_ITIN", "EU_VAT"}
)  # fmt: skip

_MACHINE_PATTERNS = [
    r"(?i:\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b)",  # UUID
    # hex digests and ids: one case throughout (an IBAN such as DE12… is upper case AND mostly digits)
    r"\b(?=[0-9a-f]*[a-f])(?=[0-9a-f]*\d)[0-9a-f]{16,}\b",
    r"\b(?=[0-9A-F]*[A-F][0-9A-F]*[A-F])(?=[0-9A-F]*\d)(?:[0-9A-F]{32}|[0-9A-F]{40}|[0-9A-F]{64})\b",
    r"\b\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?",  # ISO time
    r"(?:(?<=\s)|^)(?:[A-Za-z]:)?(?:[\\/][\w.@-]+){2,}[\\/]?",  # file paths
    r"\bFile \"[^\"]+\", line \d+(?:, in \w+)?",  # Python stack frame
    r"\bat [\w$.]+\([\w.]+(?::\d+)?\)",  # JVM / JS stack frame
    r"\b(?:0x)[0-9a-fA-F]{6,}\b",  # addresses
    r"\bv\d+\.\d+(?:\.\d+)*\b|\b(?i:version)\s+\d+(?:\.\d+)+",  # versions
    r"\b[a-z]+(?:_[a-z0-9]+){2,}\b",  # snake_case identifiers
]
_REFERENCE_BEFORE = re.compile(
    r"(?i)\b(?:order|invoice|inv|ref|reference|tracking|ticket|booking|confirmation|receipt|"
    r"transaction|txn|case|po|sku|item|part|serial|build|job|batch|shipment|parcel|consignment)"
    r"(?:[\s_-]*(?:no\.?|number|num|#|id))?[\s\\\"':#=]*$"
    r"|(?:^|\s)#$"  # "#187046"
)
# The host of a URL ("postgres://app:pw@10.0.2.83:5432"): a server, not a person's device.
_URL_HOST_BEFORE = re.compile(r"(?:://|://[^\s/@]*@)$")
_URL_USERINFO = re.compile(r"://[^\s/@:]*:$")
# Street types that end a span the model called a person ("Meadow Drive"); words that are also
# surnames (Hill, Grove, Green, Way, Row, Close…) are left out: "Amy Hill" is a person.
_STREET_TYPES = (
    "street|st|road|rd|avenue|ave|drive|lane|ln|court|ct|place|pl|crescent|cres|parade|pde|"
    "boulevard|blvd|terrace|tce|highway|hwy|square|sq|circuit|cct|esplanade|"
    "promenade|mews|gardens|track|trail|alley|plaza|strasse|straße"
)
_STREET_SUFFIX = re.compile(rf"(?i)\b(?:{_STREET_TYPES})\.?$")
# NER spans that run into the next line of an address ("Verena Schuur Apt", "Péter\n  7584"):
# the tail is cut off rather than the name being lost.
_NER_TAIL = re.compile(r"(?:\s+(?:Apt|Apartment|Suite|Unit|Flat)\.?|\s+\d[\d\s-]*|[\s,]+)$")
# A locality ending in its state and postcode ("Fitzroy VIC 3065") keeps the postcode.
_POSTCODE_TAIL = re.compile(r"\b(?:NSW|VIC|QLD|WA|SA|TAS|ACT|NT|Vic|Qld|Tas)[ \t]+\d{4}$")
# Organisation and thing words that end a span the model called a person.
_NOT_PERSON_TAIL = re.compile(
    r"(?i)\b(?:inc|ltd|llc|plc|corp|corporation|company|co|sa|ag|gmbh|bv|nv|limited|group|holdings|"
    r"trust|fund|bank|orchestra|bridge|university|school|hospital|street|mission|viaduct)\.?$"
)
# Words right before a span that make it a place ("I'm in København K", "moved here from …").
_PLACE_CUE = re.compile(
    r"(?i)\b(?:lives in|living in|live in|moved to|moved here from|moved from|flew to|travelling to|"
    r"traveling to|arrived at|arrived in|based in|located in|near|i'm in|i am in|grew up in|born in|in)\s+$"
)
# Between the end of a street line and a following place name: unit, commas, newlines.
_AFTER_ADDRESS_GAP = re.compile(r"^[\s,]*(?:(?:Apt|Apartment|Suite|Unit)\.?\s*\d+\w*[\s,]*)?$")
# Words right before a capitalised token that make it a person whatever the NER label says
# ("My name is Sofia" is not the capital of Bulgaria).
_NAME_CUE = re.compile(r"(?i)\b(?:my name is|name's|i am|i'm|call me|calls me|hi|hello|dear|thanks,?)\s+$")
# Entities that name a person, place or organisation (the machine-text filter applies to them).
_NAMED = frozenset({"PERSON", "LOCATION", "ORGANIZATION", "NRP"})
# "SURNAME/GIVEN" as booking systems print names.
# ... and a locality with its state and postcode: both carry characters machine text has.
_NAME_OR_PLACE_FORM = re.compile(
    r"[A-Z][A-Z'-]+/[A-Z][A-Z'-]+(?: [A-Z][A-Z'-]+)?|"
    r".*\b(?:NSW|VIC|QLD|WA|SA|TAS|ACT|NT|Vic|Qld|Tas)[ \t]+\d{4}"
)
# A form label right after the span ("Bill to:", "Ship to:", "Sold to:").
_LABEL_AFTER = re.compile(r"(?i)[ \t]+to[ \t]*:")
_NAME_VALUE = re.compile(
    r"[A-Za-zÀ-ÖØ-öø-ÿ][A-Za-zÀ-ÖØ-öø-ÿ'’.-]*(?: [A-Za-zÀ-ÖØ-öø-ÿ][A-Za-zÀ-ÖØ-öø-ÿ'’.-]*){0,4}"
)


@dataclass(frozen=True)
class Rules:
    """Allow-lists and thresholds loaded from ``rules/``."""

    exact: dict[str, frozenset[str]]  # entity or "*" → case-folded values
    patterns: dict[str, tuple[re.Pattern[str], ...]]
    thresholds: dict[str, float]
    # Machine text (rules/machine_text.yaml): case-folded words and whole-span regexes.
    machine_words: frozenset[str] = frozenset()
    machine_patterns: tuple[re.Pattern[str], ...] = ()


def _as_list(value: Any, where: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{where}: expected a list of strings")
    return value


@lru_cache(maxsize=4)
def load_rules(root: Path | None = None) -> Rules:
    """Read ``allowlist.yaml`` and ``thresholds.yaml`` (both optional) from the rules folder."""
    base = root or data_dir("rules")
    exact: dict[str, frozenset[str]] = {}
    patterns: dict[str, tuple[re.Pattern[str], ...]] = {}
    allow_path = base / "allowlist.yaml"
    if allow_path.is_file():
        data = load_yaml(allow_path) or {}
        for section, entries in (data.get("allow") or {}).items():
            where = f"{allow_path}: allow.{section}"
            if not isinstance(entries, dict):
                raise ConfigError(f"{where}: expected 'exact' and/or 'regex' lists")
            exact[section] = frozenset(v.casefold() for v in _as_list(entries.get("exact"), where + ".exact"))
            compiled = []
            for rx in _as_list(entries.get("regex"), where + ".regex"):
                try:
                    compiled.append(re.compile(rx))
                except re.error as exc:
                    raise ConfigError(f"{where}.regex: {rx!r} does not compile: {exc}") from None
            patterns[section] = tuple(compiled)
    thresholds: dict[str, float] = {}
    th_path = base / "thresholds.yaml"
    if th_path.is_file():
        data = load_yaml(th_path) or {}
        for entity, value in (data.get("thresholds") or {}).items():
            if not isinstance(value, int | float) or not 0 <= value <= 1:
                raise ConfigError(f"{th_path}: thresholds.{entity}: expected a number between 0 and 1")
            thresholds[str(entity)] = float(value)
    words: set[str] = set()
    machine: list[re.Pattern[str]] = []
    mt_path = base / "machine_text.yaml"
    if mt_path.is_file():
        data = load_yaml(mt_path) or {}
        for section in ("products", "instructions", "labels"):
            words.update(v.casefold() for v in _as_list(data.get(section), f"{mt_path}: {section}"))
        for rx in _as_list(data.get("regex"), f"{mt_path}: regex"):
            try:
                machine.append(re.compile(rx))
            except re.error as exc:
                raise ConfigError(f"{mt_path}: regex: {rx!r} does not compile: {exc}") from None
    return Rules(exact, patterns, thresholds, frozenset(words), tuple(machine))


def is_machine_text(rules: Rules, value: str) -> bool:
    """A name-like span that is software, a product, a log token or a form label
    (``rules/machine_text.yaml``): the whole value is listed, every word of it is, or a regex
    matches it whole."""
    v = value.strip()
    folded = v.casefold()
    if folded in rules.machine_words or any(p.fullmatch(v) for p in rules.machine_patterns):
        return True
    words = folded.split()
    if len(words) > 1 and words[0] in ("rloc", "pnr"):
        return True  # "RLOC AEHOPC": a booking reference
    return len(words) > 1 and all(w in rules.machine_words for w in words)


# -- field awareness ----------------------------------------------------------------------------

# Normalised key token → (context words for Presidio, entity the key makes certain or None).
_FIELDS: dict[str, tuple[tuple[str, ...], str | None]] = {
    "email": (("email", "mail"), "EMAIL_ADDRESS"),
    "mail": (("email", "mail"), "EMAIL_ADDRESS"),
    "phone": (("phone", "mobile", "tel"), "PHONE_NUMBER"),
    "mobile": (("phone", "mobile"), "PHONE_NUMBER"),
    "tel": (("phone", "tel"), "PHONE_NUMBER"),
    "telephone": (("phone", "tel"), "PHONE_NUMBER"),
    "fax": (("fax", "phone"), "PHONE_NUMBER"),
    "name": (("name",), "PERSON"),
    "tfn": (("tfn", "tax file number"), "AU_TFN"),
    "medicare": (("medicare",), "AU_MEDICARE"),
    "abn": (("abn",), "AU_ABN"),
    "acn": (("acn",), "AU_ACN"),
    "passport": (("passport",), None),
    "licence": (("licence", "license", "driver licence"), None),
    "license": (("licence", "license", "driver license"), None),
    "ird": (("ird", "inland revenue"), "NZ_IRD"),
    "nhi": (("nhi",), "NZ_NHI"),
    "nhs": (("nhs",), "UK_NHS"),
    "nino": (("national insurance", "nino"), "UK_NINO"),
    "ssn": (("ssn", "social security"), "US_SSN"),
    "itin": (("itin",), "US_ITIN"),
    "iban": (("iban", "bank"), "IBAN_CODE"),
    "vat": (("vat",), "EU_VAT"),
    "card": (("card", "credit"), "CREDIT_CARD"),
    "cc": (("card", "credit"), "CREDIT_CARD"),
    "pan": (("card",), "CREDIT_CARD"),
    "dob": (("birth", "dob", "born"), "DATE_TIME"),
    "birth": (("birth", "dob", "born"), "DATE_TIME"),
    "birthdate": (("birth", "dob", "born"), "DATE_TIME"),
    "address": (("address", "street"), None),
    "street": (("address", "street"), None),
    "diagnosis": (("diagnosis", "diagnosed", "condition"), None),
    "condition": (("condition", "diagnosis"), None),
    "medication": (("medication", "prescribed"), None),
    "password": (("password",), None),
    # Special-category fields: no entity is certain, but the value is about the record's person.
    "religion": (("religion", "religious", "faith"), None),
    "faith": (("religion", "faith"), None),
    "ethnicity": (("ethnicity", "ethnic"), None),
    "nationality": (("nationality",), None),
    "orientation": (("orientation", "sexuality"), None),
    "union": (("union", "member"), None),
    "allergies": (("allergies",), None),
    "meds": (("medication",), None),
}
# Multi-word keys that mean a name ("patient_name", "first_name", "surname"…).
_NAME_KEYS = re.compile(
    r"(?:^|_)(?:first|last|given|family|full|middle|patient|customer|user|display)?_?name$|^surname$"
)


def _key_tokens(key: str) -> list[str]:
    # Split camelCase and separators; JSON pointers keep only their last component.
    last = key.rsplit("/", 1)[-1].rsplit(".", 1)[-1]
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", last)
    return [t for t in re.split(r"[^a-z0-9]+", spaced.lower()) if t and not t.isdigit()]


def _field(key: str | None) -> tuple[tuple[str, ...], str | None]:
    if not key:
        return (), None
    tokens = _key_tokens(key)
    joined = "_".join(tokens)
    if _NAME_KEYS.search(joined) and joined != "user_name" and "username" not in tokens:
        return ("name",), "PERSON"
    if joined in ("date_of_birth", "birth_date"):
        return _FIELDS["dob"]
    if joined in ("tax_file_number",):
        return _FIELDS["tfn"]
    if joined in ("card_number", "credit_card", "card_no"):
        return _FIELDS["card"]
    words: list[str] = []
    entity: str | None = None
    for token in tokens:
        hit = _FIELDS.get(token)
        if hit:
            words.extend(hit[0])
            entity = entity or hit[1]
    return tuple(dict.fromkeys(words)), entity


def field_context(key: str | None) -> list[str]:
    """Context words for ``AnalyzerEngine.analyze(context=...)`` from the JSON key a value sits under."""
    return list(_field(key)[0])


def key_entity(key: str | None) -> str | None:
    """The entity a key alone makes (nearly) certain, e.g. ``patient_name`` → PERSON."""
    return _field(key)[1]


# -- sensitive information is information about a person ---------------------------------------

# Sensitive information is information or an opinion *about an individual* (Privacy Act 1988
# s 6, "sensitive information"; GDPR Art. 9(1), data "of a natural person"). A nationality,
# religion, party or condition that describes an organisation, a market, a persona in
# instructions or a topic ("an Australian insurer", "a Catholic school", "explain Buddhism") is
# not. ``about_a_person`` decides, per span, from the sentence it is in (docs/accuracy.md).
_SENSITIVE = frozenset(
    {"NRP", "RELIGION", "ETHNICITY", "SEXUAL_ORIENTATION", "POLITICAL_OPINION", "TRADE_UNION",
     "HEALTH_CONDITION", "MEDICATION"}
)  # fmt: skip
_SENSITIVE_KEYS = frozenset(
    {"religion", "faith", "ethnicity", "ethnic", "race", "nationality", "citizenship", "diagnosis",
     "diagnoses", "condition", "conditions", "medication", "medications", "meds", "allergies", "allergy",
     "hx", "dx", "orientation", "sexuality", "union", "party", "affiliation", "politics", "disability",
     "illness", "symptoms", "treatment", "prescription"}
)  # fmt: skip
_SENSITIVE_LABEL = re.compile(
    r"(?i)\b(?:religion|faith|denomination|ethnicity|ethnic origin|race|nationality|citizenship|diagnosis|"
    r"diagnoses|dx|condition|conditions|medical history|pmhx|pmh|hx|medications?|meds|rx|allergies|"
    r"sexual orientation|sexuality|union membership|union|political affiliation|party membership|"
    r"disability|presenting complaint|impression|assessment|medical|medical conditions|health|"
    r"principal diagnosis|discharge medications|current medications|reason for visit)\s*[:=-][^\n]*$"
)
_FIRST_PERSON = re.compile(r"(?i)(?:^|[^\w'])(?:i|i'm|i’m|i've|i’ve|i'd|i’d|im|my|myself|mine)(?![\w'’])")
_THIRD_PERSON = re.compile(r"(?i)\b(?:he|she|his|her|hers|him|himself|herself|he's|she's)\b")
_PERSON_NOUN = re.compile(
    r"(?i)\b(?:patient(?!\s+(?:leaflet|information|education|handout|portal|guide|brochure|resources?|"
    r"forms?|surveys?|safety|experience|journeys?|care|records? system|app))|pt|client|claimant|"
    r"employee|applicant|member|customer|worker|student|child|son|"
    r"daughter|wife|husband|partner|mother|father|mum|mom|dad|brother|sister|tenant|resident|caller|"
    r"candidate|colleague|staff member|team member|policyholder|insured|individual|person|man|woman|boy|"
    r"girl|baby|infant|teenager|victim|witness|complainant|plaintiff|defendant|respondent|deceased|"
    r"mr|mrs|ms|miss|dr|y/?o|year[- ]old|aged)\b\.?"
)
_CLINICAL = re.compile(
    r"(?i)\b(?:diagnosed|diagnosis|presents|presented|presenting|prescribed|suffers|suffering|admitted|"
    r"treated for|being treated|takes|taking|started on|commenced on|on \d+ ?mg|complains of|c/o|"
    r"history of|hx of|known|relapse|flare[- ]up|discharged|referred|visit was for|seen for|"
    r"appointment for|consult(?:ation)? for|carries|carrying|allergic to|intolerant to|on medication)\b"
)
# "Priya is a practising Hindu", "Tom identifies as gay": a named subject stated to be something.
_NAMED_SUBJECT = re.compile(
    r"(?:^|[\s(])(?!(?:The|This|That|It|Our|Their|Its|We|They|You|There|Here|What|Which|Who|Why|How)\b)"
    r"[A-Z][a-z'’-]+(?:\s[A-Z][a-z'’-]+)?\s+(?:is|was|has been|identifies as|became|remains|converted to)\b"
)
_PRACTICE = re.compile(r"(?i)\b(?:practising|practicing|devout|observant|converted|identifies|identified)\b")
# Nouns that make the word describe a group, an organisation, a place or a topic.
_GROUP_AFTER = re.compile(
    r"(?i)^[\s'’s-]*(?:[a-z]+\s+)?(?:customers?|clients?|users?|market|markets|insurers?|companies|company|"
    r"firm|firms|business|businesses|school|schools|college|university|church|churches|mosque|temple|"
    r"community|communities|government|governments|party|parties|policy|policies|food|cuisine|"
    r"restaurants?|culture|cultures|history|law|laws|holidays?|festivals?|calendar|language|languages|"
    r"style|teams?|offices?|banks?|tour|tourists?|guide|guides|audience|audiences|readers|students|staff|"
    r"employees|members|population|people|voters|economy|election|elections|government|parliament|"
    r"senate|army|navy|charity|charities|organi[sz]ations?|associations?|society|societies|institute|"
    r"hospital|hospitals|clinic|clinics|research|studies|study|literature|traditions?|values|heritage "
    r"month|week|day|new year|christmas|easter|ramadan|diwali|cities|city|region|regions|states|"
    r"citizens|nationals|residents|subsidiar(?:y|ies)|branch|division|team|brand|brands|media|press|"
    r"newspapers?|news|sites?|websites?|apps?|products?|versions?|edition|translation|accent|names?|"
    r"dishes|recipes?|wine|beer|coffee|tea|art|music|architecture|script|alphabet|english|spelling|"
    r"pronunciation|dialect|standards?|regulations?|regulators?|authorit(?:y|ies)|agenc(?:y|ies)|"
    r"fund|funds|investors?|shares|stocks?|dollar|currency|tax|taxes|leaders?|leadership|candidates|"
    r"platform|manifesto|victory|win|government's|conference|convention|congress|movement|"
    r"federation|council|union's|unions|sector|industry|industries|workforce|market's|ministers?)\b"
)
# Persona and instructions: "You are a British tour guide", "Act as a Catholic priest".
_PERSONA = re.compile(r"(?i)\b(?:you are|you're|act as|acting as|pretend|role[- ]?play|persona|as an?)\b")
_SENTENCE_END = re.compile(r"[.!?](?=\s)|\n")


def _sentence(text: str, start: int, end: int) -> tuple[int, int]:
    left = max((m.end() for m in _SENTENCE_END.finditer(text, 0, start)), default=0)
    m = _SENTENCE_END.search(text, end)
    return left, (m.start() if m else len(text))


def _stated_of_named_subject(text: str, left: int, span: Span, sentence: str) -> bool:
    """ "Priya is a practising Hindu", "Jacinta is Muslim": a named subject, a copula, and the word
    within a few words of it (a religion needs that closeness or a word of practice)."""
    before = text[left : span.start]
    found = list(_NAMED_SUBJECT.finditer(before))
    if not found:
        return False
    close = len(before[found[-1].end() :].split()) <= 3
    return close or span.entity != "RELIGION" or bool(_PRACTICE.search(sentence))


def _part_of_a_name_or_place(text: str, span: Span, persons: Iterable[Span]) -> bool:
    if any(p.start <= span.start and span.end <= p.end and p is not span for p in persons):
        return True
    value = text[span.start : span.end]
    if value[:1].isupper() and re.match(
        r" [A-Z][a-z]+\b(?! (?:Church|School|College|community))", text[span.end :]
    ):
        return span.entity in ("RELIGION", "ETHNICITY", "NRP") and " " not in value
    from scanner.detectors.structure import is_place

    return span.entity == "NRP" and is_place(value)


def about_a_person(text: str, span: Span, key: str | None = None, persons: Iterable[Span] = ()) -> bool:
    """Whether a sensitive span (nationality, religion, health…) is about an individual.

    Yes when the JSON key or a label says so ("religion": …, "Diagnosis: …"); else the sentence
    decides: it must tie the word to a person (a first-person or third-person singular pronoun, a
    person noun such as "patient" or "claimant", a clinical verb for health terms, or a PERSON
    span) and the word must not describe a group, an organisation or a topic ("customers",
    "insurer", "school", "party policy"). A persona in instructions ("You are a …") is not a
    person."""
    tokens = set(_key_tokens(key)) if key else set()
    if tokens & _SENSITIVE_KEYS:
        return True
    line_start = text.rfind("\n", 0, span.start) + 1
    if _SENSITIVE_LABEL.search(text[line_start : span.start]):
        return True
    if _GROUP_AFTER.match(text[span.end : span.end + 40]):
        return False
    left, right = _sentence(text, span.start, span.end)
    sentence = text[left:right]
    linked = bool(
        _FIRST_PERSON.search(sentence)
        or _THIRD_PERSON.search(sentence)
        or _PERSON_NOUN.search(sentence)
        or any(left <= p.start and p.end <= right for p in persons)
        or (span.entity in ("HEALTH_CONDITION", "MEDICATION") and _CLINICAL.search(sentence))
        or _stated_of_named_subject(text, left, span, sentence)
    )
    if not linked:
        return False
    return not (
        _PERSONA.search(sentence)
        and not (
            _FIRST_PERSON.search(sentence)
            or _THIRD_PERSON.search(sentence)
            or any(left <= p.start < right for p in persons)
        )
    )


# -- the filter ---------------------------------------------------------------------------------


def _allowed(rules: Rules, entity: str, value: str) -> bool:
    folded = value.strip().casefold()
    for section in ("*", entity):
        if folded in rules.exact.get(section, frozenset()):
            return True
        if any(p.fullmatch(value.strip()) for p in rules.patterns.get(section, ())):
            return True
    return False


@lru_cache(maxsize=1)
def _machine_gate() -> tuple[RegexGate, list[re.Pattern[str]]]:
    compiled = [re.compile(p) for p in _MACHINE_PATTERNS]
    return RegexGate(compiled), compiled


def _machine_regions(text: str) -> list[tuple[int, int]]:
    """Where the text holds UUIDs, digests, paths, timestamps, stack frames, versions, code
    identifiers. One RE2 pass says which of the patterns occur at all (prose: none of them)."""
    gate, compiled = _machine_gate()
    return [
        (m.start(), m.end())
        for i in gate.matching(text)
        for m in compiled[i].finditer(text)
        if m.end() > m.start()
    ]


def _inside(span: Span, regions: Iterable[tuple[int, int]]) -> bool:
    return any(s <= span.start and span.end <= e for s, e in regions)


def filter_spans(
    text: str, spans: list[Span], key: str | None = None, *, hash_key: bytes = b"", rules: Rules | None = None
) -> list[Span]:
    """The spans of ``text`` worth reporting (see the module docstring for the steps)."""
    rules = rules or load_rules()
    regions: list[tuple[int, int]] | None = None  # computed for the first span that needs them
    certain = key_entity(key)
    kept: list[Span] = []
    addresses = [s for s in spans if s.entity == "STREET_ADDRESS"]
    persons = [s for s in spans if s.entity == "PERSON"]
    for span in spans:
        entity = span.entity
        if entity in ("PERSON", "LOCATION"):
            span = _trim(text, span, hash_key)
        value = text[span.start : span.end]
        if _allowed(rules, entity, value):
            continue
        if entity not in _MACHINE_OK:
            if regions is None:
                regions = _machine_regions(text)
            if _inside(span, regions):
                continue
        if entity in _NUMERIC_IDS and _REFERENCE_BEFORE.search(text[max(0, span.start - 30) : span.start]):
            continue
        if entity == "IP_ADDRESS" and _URL_HOST_BEFORE.search(text[max(0, span.start - 200) : span.start]):
            continue
        if entity == "EMAIL_ADDRESS" and _URL_USERINFO.search(text[max(0, span.start - 200) : span.start]):
            continue  # "scheme://user:password@host" is credentials in a URL, not a mailbox
        if (
            entity in _NER
            and re.search(r"[\d_=@#/\\{}<>]", value)
            and not _NAME_OR_PLACE_FORM.fullmatch(value)
        ):
            continue  # "user_id", "Order#123", "{name}": machine text, not a name or place
        if entity in _NAMED and (
            is_machine_text(rules, value) or _LABEL_AFTER.match(text[span.end : span.end + 8])
        ):
            continue  # "Grafana", "CrashLoopBackOff", "Bill" of "Bill to:": software and labels
        if entity == "PERSON" and re.fullmatch(r"[а-яё\s'-]+", value):
            continue  # Cyrillic names are capitalised; a lower-case run is prose the model misread
        if entity in _SENSITIVE and _part_of_a_name_or_place(text, span, persons):
            continue  # "Christian Hatfield", "Leonor Roma", "bengaluru": a name, not a belief
        if entity in _SENSITIVE and not about_a_person(text, span, key, persons):
            continue  # "an Australian insurer", "a Catholic school": not about an individual
        if entity == "PERSON" and _NOT_PERSON_TAIL.search(value):
            continue
        if entity == "PERSON" and (
            _PLACE_CUE.search(text[max(0, span.start - 24) : span.start])
            or any(
                _AFTER_ADDRESS_GAP.match(text[a.end : span.start]) for a in addresses if a.end <= span.start
            )
        ):
            span = replace(span, entity="LOCATION")
            entity = "LOCATION"
        if entity == "PERSON":
            if _STREET_SUFFIX.search(value):
                span = replace(span, entity="STREET_ADDRESS")
                entity = "STREET_ADDRESS"
            elif value.isupper() and len(value) <= 5:
                continue  # "DOB", "TFN", "NHS": labels, not names
        if entity == "LOCATION" and _NAME_CUE.search(text[max(0, span.start - 16) : span.start]):
            span = replace(span, entity="PERSON")
            entity = "PERSON"
        if certain == entity:
            span = replace(span, score=max(span.score, 0.9))
        if span.score < rules.thresholds.get(entity, 0.0):
            continue
        kept.append(span)
    kept = _resolve_conflicts(kept, text)
    if certain == "PERSON" and not any(s.entity == "PERSON" for s in kept):
        stripped = text.strip()
        if (
            2 <= len(stripped) <= 60
            and _NAME_VALUE.fullmatch(stripped)
            and not _allowed(rules, "PERSON", stripped)
        ):
            start = text.index(stripped)
            digest, masked = protect(stripped, "PERSON", hash_key)
            kept.append(Span("PERSON", start, start + len(stripped), 0.85, digest, masked))
    return sorted(kept, key=lambda s: (s.start, s.end, s.entity))


def _trim(text: str, span: Span, hash_key: bytes) -> Span:
    """Cut an address tail (unit marker, house number, separators) off an NER span."""
    value = text[span.start : span.end]
    cut = _NER_TAIL.search(value)
    if not cut or cut.start() == 0 or _POSTCODE_TAIL.search(value):
        return span
    end = span.start + cut.start()
    digest, masked = protect(text[span.start : end], span.entity, hash_key)
    return replace(span, end=end, value_hash=digest, preview=masked)


class _Intervals:
    """Sorted intervals answering "does any overlap [start, end)?" in O(log n)."""

    def __init__(self, spans: Iterable[Span]) -> None:
        ordered = sorted((s.start, s.end) for s in spans)
        self.starts = [start for start, _ in ordered]
        self.max_end: list[int] = []
        for _, end in ordered:
            self.max_end.append(max(end, self.max_end[-1]) if self.max_end else end)

    def overlaps(self, start: int, end: int) -> bool:
        i = bisect_left(self.starts, end)  # intervals starting before ``end``
        return i > 0 and self.max_end[i - 1] > start


def _resolve_conflicts(spans: list[Span], text: str = "") -> list[Span]:
    """NER yields to patterns, a phone reading to a validated identifier; one reading per value.

    Except: an international phone number ("+61 429 954 048") whose national digits happen to
    pass an identifier's checksum stays a phone number — identifiers are not written after a
    country calling code.

    Sorted-interval lookups keep this O(n log n): texts such as tables and logs can yield
    thousands of candidate spans.
    """
    international = [s for s in spans if s.entity == "PHONE_NUMBER" and text[s.start : s.start + 1] == "+"]
    spans = [
        s
        for s in spans
        if not (s.entity in _VALIDATED and any(p.start < s.start and s.end <= p.end for p in international))
    ]
    patterns = _Intervals(s for s in spans if s.entity not in _NER)
    validated = _Intervals(s for s in spans if s.entity in _VALIDATED)
    best_validated: dict[tuple[int, int], float] = {}
    for s in spans:
        if s.entity in _VALIDATED:
            key = (s.start, s.end)
            best_validated[key] = max(best_validated.get(key, 0.0), s.score)
    candidates: list[Span] = []
    for span in spans:
        # The model's reading yields to a pattern or lexicon match on the same text whatever the
        # scores ("Muslim" is RELIGION, not NRP): dropping it here keeps the overlap step that
        # follows from discarding the lower-scoring, more specific match along with it.
        if span.entity in _NER and patterns.overlaps(span.start, span.end):
            continue
        if span.entity == "PHONE_NUMBER" and validated.overlaps(span.start, span.end):
            continue
        if span.entity in _VALIDATED and span.score < best_validated[(span.start, span.end)]:
            continue
        candidates.append(span)
    # The same entity read twice over one value: keep the best reading (score, then length).
    kept: dict[str, list[tuple[int, int]]] = {}
    out: list[Span] = []
    for span in sorted(candidates, key=lambda s: (-s.score, s.start - s.end, s.start)):
        taken = kept.setdefault(span.entity, [])
        i = bisect_left(taken, (span.start, span.end))
        if (i > 0 and taken[i - 1][1] > span.start) or (i < len(taken) and taken[i][0] < span.end):
            continue
        insort(taken, (span.start, span.end))
        out.append(span)
    return out
