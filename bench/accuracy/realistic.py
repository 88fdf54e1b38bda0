"""A labelled corpus that looks like real AI traffic: tickets, e-mails, notes, transcripts, CSV, JSON.

Every record is assembled from pieces, and a piece either is plain text or carries a label, so the
offsets of the labels are computed while the text is built (never by searching the finished text).
Templates are functions of a seeded generator (``G``) that return a ``Frag``; names, streets and
some cities come from Faker in many locales, identifiers from the checksum code of ``tables.py``,
places from real-world lists below. About a third of the records are negatives: no personal data,
but look-alikes (ids, hashes, versions, product names, numbers that fail a checksum) and
"mention-only" prose that names a nationality, religion, party or condition without saying it about
an identifiable person.

    python bench/accuracy/realistic.py --records 1500 --seed 0 --out bench/out/realistic.jsonl

Record: ``{"id", "template", "split", "negative", "mention_only", "text",
"spans": [{"start", "end", "entity", "value"}]}``. Entities: PERSON, LOCATION, STREET_ADDRESS,
EMAIL_ADDRESS, PHONE_NUMBER, CREDIT_CARD, IBAN, NATIONAL_ID, IP_ADDRESS, CREDENTIAL, SENSITIVE,
HEALTH. The split (dev or test) is a property of the template, from a hash of its name.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import json
import random
import string
import sys
import unicodedata
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from string import Formatter
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import tables  # noqa: E402

ENTITIES = (
    "PERSON",
    "LOCATION",
    "STREET_ADDRESS",
    "EMAIL_ADDRESS",
    "PHONE_NUMBER",
    "CREDIT_CARD",
    "IBAN",
    "NATIONAL_ID",
    "IP_ADDRESS",
    "CREDENTIAL",
    "SENSITIVE",
    "HEALTH",
)

TEST_SHARE = 0.3  # share of the templates (within each stratum, by hash of the name) that are test-only


def _hash(name: str) -> str:
    return hashlib.sha256(name.encode()).hexdigest()


@functools.cache
def template_categories() -> dict[str, frozenset[str]]:
    """The categories each template labels, over three probe records (fixed seed)."""
    g = G(0)
    cats: dict[str, frozenset[str]] = {}
    for spec in TEMPLATES.values():
        found: set[str] = set()
        for _ in range(3):
            found |= {
                "LOCATION" if s["entity"] == "STREET_ADDRESS" else s["entity"] for s in spec.fn(g).spans()
            }
        cats[spec.name] = frozenset(found)
    return cats


@functools.cache
def splits() -> dict[str, str]:
    """Template → "dev" or "test", stratified so that every category has templates in both splits.

    Each template is put in a stratum: negatives and mention-only negatives apart; a positive
    template by the rarest category it labels (over three probe records with a fixed seed; street
    addresses count as LOCATION). Within a stratum the templates are ordered by the SHA-256 of their
    name and the first ``TEST_SHARE`` of them (at least one when the stratum has two or more) are
    test-only. The split depends on the template code only, never on ``--seed``.
    """
    cats = template_categories()
    usage = Counter(c for found in cats.values() for c in found)
    strata: dict[str, list[str]] = defaultdict(list)
    for spec in TEMPLATES.values():
        if spec.negative:
            key = "mention-only" if spec.mention_only else "negative"
        else:
            key = min(cats[spec.name], key=lambda c: (usage[c], c))
        strata[key].append(spec.name)
    out = {}
    for names in strata.values():
        names.sort(key=_hash)
        n_test = max(1, round(TEST_SHARE * len(names))) if len(names) > 1 else 0
        out.update({n: ("test" if i < n_test else "dev") for i, n in enumerate(names)})
    return out


def split_of(template: str) -> str:
    return splits()[template]


# -- fragments: text whose labelled pieces know their entity --------------------------------------


@dataclass
class Frag:
    pieces: list[tuple[str, str | None]] = field(default_factory=list)

    def __add__(self, other: Frag | str) -> Frag:
        return Frag(self.pieces + as_frag(other).pieces)

    def __radd__(self, other: str) -> Frag:
        return as_frag(other) + self

    def map(self, f: Callable[[str], str]) -> Frag:
        """Apply a text transform (upper/lower case) piece by piece, so the labels stay aligned."""
        return Frag([(f(t), e) for t, e in self.pieces])

    @property
    def text(self) -> str:
        return "".join(t for t, _ in self.pieces)

    def spans(self) -> list[dict[str, Any]]:
        out, pos = [], 0
        for t, e in self.pieces:
            if e is not None and t:
                out.append({"start": pos, "end": pos + len(t), "entity": e, "value": t})
            pos += len(t)
        return out


def as_frag(x: Frag | str) -> Frag:
    return x if isinstance(x, Frag) else Frag([(x, None)])


def L(value: str, entity: str) -> Frag:
    assert entity in ENTITIES, entity
    return Frag([(value, entity)])


def fmt(template: str, **slots: Frag | str | int) -> Frag:
    """``str.format`` with typed slots: a slot that is a Frag keeps its labels."""
    out = Frag()
    for literal, name, spec, _conv in Formatter().parse(template):
        if literal:
            out = out + literal
        if name is not None:
            value = slots[name]
            out = out + (value if isinstance(value, Frag) else format(value, spec or ""))
    return out


def join(sep: str, frags: list[Frag] | list[Frag | str]) -> Frag:
    out = Frag()
    for i, f in enumerate(frags):
        if i:
            out = out + sep
        out = out + f
    return out


def json_obj(pairs: list[tuple[str, Frag | str | int | bool]], indent: bool = False) -> Frag:
    """A JSON object whose string values may be labelled (values must need no escaping)."""
    nl, pad = ("\n", "  ") if indent else ("", "")
    parts: list[Frag | str] = []
    for key, value in pairs:
        if isinstance(value, bool | int):
            parts.append(f"{pad}{json.dumps(key)}: {json.dumps(value)}")
            continue
        frag = as_frag(value)
        assert json.dumps(frag.text, ensure_ascii=False) == f'"{frag.text}"', frag.text
        parts.append(fmt(f'{pad}{json.dumps(key)}: "{{v}}"', v=frag))
    return "{" + nl + join("," + (nl or " "), parts) + nl + "}"


# -- reference data (real places, organisations without person names) ----------------------------

AU_SUBURBS = [  # (suburb, state, postcode)
    ("Fitzroy", "VIC", "3065"),
    ("Brunswick", "VIC", "3056"),
    ("Carlton", "VIC", "3053"),
    ("Richmond", "VIC", "3121"),
    ("Geelong West", "VIC", "3218"),
    ("Ballarat Central", "VIC", "3350"),
    ("Newtown", "NSW", "2042"),
    ("Surry Hills", "NSW", "2010"),
    ("Parramatta", "NSW", "2150"),
    ("Chatswood", "NSW", "2067"),
    ("Marrickville", "NSW", "2204"),
    ("Wollongong", "NSW", "2500"),
    ("Fortitude Valley", "QLD", "4006"),
    ("Paddington", "QLD", "4064"),
    ("Toowong", "QLD", "4066"),
    ("Southport", "QLD", "4215"),
    ("Subiaco", "WA", "6008"),
    ("Fremantle", "WA", "6160"),
    ("Joondalup", "WA", "6027"),
    ("Glenelg", "SA", "5045"),
    ("Norwood", "SA", "5067"),
    ("Sandy Bay", "TAS", "7005"),
    ("Launceston", "TAS", "7250"),
    ("Braddon", "ACT", "2612"),
    ("Belconnen", "ACT", "2617"),
    ("Parap", "NT", "0820"),
    ("Alice Springs", "NT", "0870"),
]
AU_STATES_LONG = {
    "VIC": "Victoria",
    "NSW": "New South Wales",
    "QLD": "Queensland",
    "WA": "Western Australia",
    "SA": "South Australia",
    "TAS": "Tasmania",
    "ACT": "the ACT",
    "NT": "the Northern Territory",
}
NZ_SUBURBS = [  # (suburb, city, postcode)
    ("Ponsonby", "Auckland", "1011"),
    ("Remuera", "Auckland", "1050"),
    ("Te Aro", "Wellington", "6011"),
    ("Karori", "Wellington", "6012"),
    ("Riccarton", "Christchurch", "8011"),
    ("Mount Maunganui", "Tauranga", "3116"),
    ("Frankton", "Hamilton", "3204"),
    ("Roslyn", "Dunedin", "9010"),
]
STREET_TYPES = [
    ("Street", "St"),
    ("Road", "Rd"),
    ("Avenue", "Ave"),
    ("Parade", "Pde"),
    ("Lane", "Ln"),
    ("Crescent", "Cres"),
    ("Drive", "Dr"),
    ("Place", "Pl"),
    ("Terrace", "Tce"),
    ("Court", "Ct"),
]
CITIES = {
    "AU": [
        "Sydney",
        "Melbourne",
        "Brisbane",
        "Perth",
        "Adelaide",
        "Hobart",
        "Canberra",
        "Darwin",
        "Newcastle",
        "Cairns",
        "Townsville",
        "Geelong",
        "Toowoomba",
        "Bendigo",
    ],
    "NZ": ["Auckland", "Wellington", "Christchurch", "Hamilton", "Dunedin", "Queenstown", "Napier"],
    "GB": ["London", "Manchester", "Leeds", "Bristol", "Glasgow", "Edinburgh", "Cardiff", "Belfast"],
    "US": ["Seattle", "Chicago", "Boston", "Denver", "Austin", "San Francisco", "Atlanta"],
    "IN": ["Mumbai", "Bengaluru", "Chennai", "Hyderabad", "Pune", "Kolkata"],
    "ASIA": [
        "Singapore",
        "Tokyo",
        "Osaka",
        "Seoul",
        "Shanghai",
        "Hong Kong",
        "Jakarta",
        "Ho Chi Minh City",
        "Manila",
        "Kuala Lumpur",
    ],
    "EU": ["Berlin", "Munich", "Paris", "Lyon", "Madrid", "Barcelona", "Amsterdam", "Dublin", "Milan"],
}
COUNTRIES = [
    "Australia",
    "New Zealand",
    "the United Kingdom",
    "Ireland",
    "Canada",
    "the United States",
    "India",
    "Singapore",
    "Japan",
    "Vietnam",
    "Germany",
    "France",
    "Spain",
    "the Philippines",
    "Indonesia",
    "Malaysia",
    "South Korea",
    "China",
    "Fiji",
]
COMPANIES = [
    "Bluegum Insurance",
    "Harbour Health",
    "Southern Cross Freight",
    "Acme Logistics",
    "Northwind Traders",
    "Coastal Credit Union",
    "Redgum Legal",
    "Kestrel Analytics",
    "Tasman Energy",
    "Wattle Telecom",
    "Outback Outdoors",
    "Brightwater Retail",
]
COMPANY_DOMAINS = [
    "bluegum.com.au",
    "harbourhealth.org.au",
    "sxfreight.com.au",
    "acmelogistics.com",
    "northwind.co.nz",
    "kestrel.io",
    "tasmanenergy.com.au",
    "wattle.net.au",
]
FREE_DOMAINS = [
    "gmail.com",
    "outlook.com",
    "bigpond.com",
    "yahoo.com.au",
    "icloud.com",
    "hotmail.co.uk",
    "proton.me",
    "xtra.co.nz",
]
CONDITIONS = [
    "type 2 diabetes",
    "asthma",
    "hypertension",
    "major depressive disorder",
    "generalised anxiety disorder",
    "epilepsy",
    "multiple sclerosis",
    "breast cancer",
    "COPD",
    "Crohn's disease",
    "HIV",
    "coeliac disease",
    "rheumatoid arthritis",
    "chronic migraine",
    "bipolar disorder",
    "PTSD",
    "obstructive sleep apnoea",
    "chronic kidney disease",
    "atrial fibrillation",
    "ADHD",
    "long COVID",
    "endometriosis",
    "gout",
    "psoriasis",
]
MEDICATIONS = [
    "metformin",
    "salbutamol",
    "atorvastatin",
    "sertraline",
    "escitalopram",
    "levothyroxine",
    "insulin glargine",
    "amlodipine",
    "perindopril",
    "lamotrigine",
    "adalimumab",
    "methotrexate",
    "apixaban",
    "methylphenidate",
    "quetiapine",
    "lithium carbonate",
    "pregabalin",
    "prednisolone",
    "tamoxifen",
    "allopurinol",
    "Ozempic",
    "Ventolin",
]
RELIGIONS = [
    ("practising Hindu", "is a"),
    ("devout Catholic", "is a"),
    ("Muslim", "is"),
    ("observant Jew", "is an"),
    ("Sikh", "is"),
    ("Buddhist", "is a"),
    ("Jehovah's Witness", "is a"),
    ("Greek Orthodox", "is"),
    ("atheist", "is an"),
]
ETHNICITIES = [
    "Aboriginal",
    "a Torres Strait Islander",
    "Māori",
    "Han Chinese",
    "of Lebanese descent",
    "Samoan",
    "of Vietnamese heritage",
    "a Wiradjuri woman",
]
PARTIES = [
    "the Greens",
    "the Labor Party",
    "One Nation",
    "the Liberal Party",
    "the Nationals",
    "the Teal independents",
]
UNIONS = ["the CFMEU", "the ANMF", "the CPSU", "the AEU", "the Rail, Tram and Bus Union", "the SDA"]
ORIENTATIONS = ["gay", "lesbian", "bisexual", "queer", "pansexual"]
PRODUCTS = [
    "Grafana",
    "Jenkins",
    "Kubernetes",
    "Terraform",
    "Postgres",
    "Redis",
    "Kafka",
    "Grok",
    "Claude",
    "Gemini",
    "Llama 3",
    "Copilot",
    "Jira",
    "Confluence",
    "Datadog",
    "Sentry",
    "Airflow",
    "Snowflake",
    "Splunk",
    "Okta",
]

LATIN_LOCALES = [
    ("en_AU", 6),
    ("en_GB", 2),
    ("en_US", 2),
    ("en_IN", 2),
    ("en_NZ", 1),
    ("de_DE", 1),
    ("fr_FR", 1),
    ("es_ES", 1),
    ("vi_VN", 1),
    ("it_IT", 1),
    ("pt_BR", 1),
]
SCRIPT_LOCALES = ["ja_JP", "zh_CN", "ko_KR", "ru_RU", "ar_SA", "hi_IN"]
EASTERN = {"vi_VN", "ja_JP", "zh_CN", "ko_KR"}  # family name first
NO_SPACE = {"ja_JP", "zh_CN", "ko_KR"}


@dataclass
class Person:
    first: str
    last: str
    full: str
    female: bool
    locale: str
    email: str

    @property
    def title(self) -> str:
        return "Ms" if self.female else "Mr"


def _ascii(s: str) -> str:
    s = s.replace("đ", "d").replace("Đ", "D").replace("ß", "ss")
    return "".join(c for c in unicodedata.normalize("NFKD", s) if c.isascii() and (c.isalnum() or c in " -'"))


class G:
    """Seeded source of everything a template needs."""

    def __init__(self, seed: int) -> None:
        from faker import Faker

        self.rng = random.Random(seed)
        self.fakers: dict[str, Any] = {}
        for i, loc in enumerate([loc for loc, _ in LATIN_LOCALES] + SCRIPT_LOCALES):
            f = Faker(loc)
            f.seed_instance(seed * 1000 + i)
            self.fakers[loc] = f
        self.base = datetime(2026, 3, 2, 8, 0, 0)

    # basic choices
    def pick(self, seq: list[Any] | tuple[Any, ...]) -> Any:
        return seq[self.rng.randrange(len(seq))]

    def chance(self, p: float) -> bool:
        return self.rng.random() < p

    def digits(self, n: int) -> str:
        return "".join(str(self.rng.randrange(10)) for _ in range(n))

    def hexs(self, n: int) -> str:
        return "".join(self.rng.choice("0123456789abcdef") for _ in range(n))

    def alnum(self, n: int, pool: str = string.ascii_letters + string.digits) -> str:
        return "".join(self.rng.choice(pool) for _ in range(n))

    def when(self) -> datetime:
        return self.base + timedelta(minutes=self.rng.randrange(60 * 24 * 40))

    def uuid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    # people
    def person(self, locale: str | None = None) -> Person:
        if locale is None:
            locale = self.rng.choices([loc for loc, _ in LATIN_LOCALES], [w for _, w in LATIN_LOCALES])[0]
        f = self.fakers[locale]
        female = self.chance(0.5)
        first = f.first_name_female() if female else f.first_name_male()
        last = f.last_name()
        if locale in NO_SPACE:
            full = last + first
        elif locale in EASTERN:
            full = f"{last} {first}"
        elif locale == "ru_RU":
            middle = f.middle_name_female() if female else f.middle_name_male()
            if female and not last.endswith(("а", "я")):
                last = f.last_name_female()
            full = f"{first} {middle} {last}"
        else:
            full = f"{first} {last}"
        a_first, a_last = (
            _ascii(x).lower().replace(" ", "").replace("'", "").replace("-", "") for x in (first, last)
        )
        if not a_first or not a_last:
            local = self.fakers["en_US"].user_name()
        else:
            local = self.pick(
                [
                    f"{a_first}.{a_last}",
                    f"{a_first}{a_last[:1]}",
                    f"{a_first[:1]}{a_last}",
                    f"{a_first}_{a_last}{self.rng.randint(1, 99)}",
                ]
            )
        domain = self.pick(FREE_DOMAINS if self.chance(0.5) else COMPANY_DOMAINS)
        return Person(first, last, full, female, locale, f"{local}@{domain}")

    def name(self, p: Person | None = None) -> Frag:
        return L((p or self.person()).full, "PERSON")

    def email(self, p: Person | None = None) -> Frag:
        return L((p or self.person()).email, "EMAIL_ADDRESS")

    # places
    def city(self, region: str | None = None) -> Frag:
        region = region or self.pick(["AU", "AU", "AU", "NZ", "GB", "US", "IN", "ASIA", "EU"])
        return L(self.pick(CITIES[region]), "LOCATION")

    def country(self) -> Frag:
        return L(self.pick(COUNTRIES), "LOCATION")

    def au_address(self, abbreviate: bool | None = None) -> Frag:
        suburb, state, pc = self.pick(AU_SUBURBS)
        long_, short = self.pick(STREET_TYPES)
        street = self.fakers["en_AU"].last_name()
        num = str(self.rng.randint(1, 240))
        unit = self.pick(
            [
                "",
                "",
                f"Unit {self.rng.randint(1, 30)}/",
                f"{self.rng.randint(1, 12)}/",
                f"Apt {self.rng.randint(1, 40)}, ",
                f"Level {self.rng.randint(1, 9)}, ",
            ]
        )
        abbreviate = self.chance(0.6) if abbreviate is None else abbreviate
        return L(
            f"{unit}{num} {street} {short if abbreviate else long_}, {suburb} {state} {pc}", "STREET_ADDRESS"
        )

    def nz_address(self) -> Frag:
        suburb, city, pc = self.pick(NZ_SUBURBS)
        long_, _ = self.pick(STREET_TYPES)
        flat = self.pick(["", f"Flat {self.rng.randint(1, 9)}, "])
        street = self.fakers["en_NZ"].last_name()
        return L(
            f"{flat}{self.rng.randint(1, 300)} {street} {long_}, {suburb}, {city} {pc}", "STREET_ADDRESS"
        )

    def suburb_state(self) -> tuple[Frag, Frag]:
        suburb, state, _ = self.pick(AU_SUBURBS)
        return L(suburb, "LOCATION"), L(state if self.chance(0.5) else AU_STATES_LONG[state], "LOCATION")

    # numbers
    def phone(self, intl: bool | None = None) -> Frag:
        import phonenumbers

        intl = self.chance(0.3) if intl is None else intl
        region = self.pick(["GB", "US", "NZ", "IN", "SG", "DE", "FR", "JP", "IE"]) if intl else "AU"
        mobile = self.chance(0.65)
        kind = phonenumbers.PhoneNumberType.MOBILE if mobile else phonenumbers.PhoneNumberType.FIXED_LINE
        example = phonenumbers.example_number_for_type(region, kind)
        nsn = str(example.national_number)
        lead = nsn[:2]
        if region == "AU" and not mobile:
            lead = self.pick(["29", "28", "39", "38", "73", "74", "89", "88"])
        for _ in range(200):
            cand = lead + self.digits(len(nsn) - 2)
            num = phonenumbers.parse("+" + str(example.country_code) + cand)
            if phonenumbers.is_valid_number(num):
                break
        else:  # pragma: no cover - the example number itself is valid
            num = example
        if region == "AU" and self.chance(0.6):
            text = phonenumbers.format_number(num, phonenumbers.PhoneNumberFormat.NATIONAL)
            if self.chance(0.3):
                text = text.replace(" ", "").replace("(", "").replace(")", "")
        else:
            text = phonenumbers.format_number(num, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
        return L(text, "PHONE_NUMBER")

    def tfn(self) -> Frag:
        v, _ = tables.gen_tfn9(self.rng)
        return L(v if self.chance(0.7) else v.replace(" ", ""), "NATIONAL_ID")

    def medicare(self) -> Frag:
        v, _ = tables.gen_medicare(self.rng)
        return L(v, "NATIONAL_ID")

    def ssn(self) -> Frag:
        return L(tables.gen_ssn(self.rng)[0], "NATIONAL_ID")

    def nino(self) -> Frag:
        v = tables.gen_nino(self.rng)[0]
        return L(v if self.chance(0.5) else v.replace(" ", ""), "NATIONAL_ID")

    def card(self) -> Frag:
        return L(tables.gen_card(self.rng)[0], "CREDIT_CARD")

    def iban(self) -> Frag:
        return L(tables.gen_iban(self.rng)[0], "IBAN")

    def ip(self) -> Frag:
        if self.chance(0.15):
            groups = ["2406", "da1c", *(self.hexs(self.rng.randint(1, 4)) for _ in range(6))]
            return L(":".join(groups), "IP_ADDRESS")
        first = self.pick([1, 14, 23, 27, 49, 52, 58, 101, 103, 110, 115, 124, 139, 144, 150, 175, 180, 203])
        return L(
            f"{first}.{self.rng.randint(0, 255)}.{self.rng.randint(0, 255)}.{self.rng.randint(1, 254)}",
            "IP_ADDRESS",
        )

    def secret(self, kind: str | None = None) -> Frag:
        kind = kind or self.pick(["aws", "github", "openai", "openai_proj", "anthropic", "slack"])
        up = string.ascii_uppercase + "234567"
        value = {
            "aws": "AKIA" + self.alnum(16, up),
            "aws_secret": self.alnum(40, string.ascii_letters + string.digits + "+/"),
            "github": "ghp_" + self.alnum(36),
            "openai": "sk-" + self.alnum(48),
            "openai_proj": "sk-proj-" + self.alnum(56, string.ascii_letters + string.digits + "_-"),
            "anthropic": "sk-ant-api03-" + self.alnum(86, string.ascii_letters + string.digits + "_-") + "AA",
            "slack": f"xoxb-{self.digits(12)}-{self.digits(13)}-{self.alnum(24)}",
        }[kind]
        return L(value, "CREDENTIAL")

    def password(self) -> Frag:
        words = ["Winter", "Koala", "Harbour", "Falcon", "Maple", "Orbit", "Tiger", "Cobalt"]
        value = (
            self.pick(words) + self.pick(["!", "#", "$", "@", "&", "%"]) + self.digits(self.rng.randint(2, 4))
        )
        if self.chance(0.5):
            value = self.alnum(self.rng.randint(12, 20), string.ascii_letters + string.digits + "!#%^*")
        return L(value, "CREDENTIAL")

    def condition(self) -> Frag:
        return L(self.pick(CONDITIONS), "HEALTH")

    def medication(self) -> Frag:
        return L(self.pick(MEDICATIONS), "HEALTH")

    # look-alikes (never labelled)
    def bad_tfn_like(self) -> str:
        while True:
            s = self.digits(9)
            if s[0] != "0" and not tables.tfn_ok(s) and not tables.acn_ok(s) and not tables.ird_ok(s):
                return s

    def bad_card_like(self) -> str:
        while True:
            s = str(self.rng.randint(1, 9)) + self.digits(15)
            if not tables.luhn_ok(s):
                return s

    def order_no(self) -> str:
        return self.pick(
            [
                f"ORD-{self.rng.randint(2024, 2026)}-{self.digits(6)}",
                f"#{self.rng.randint(100000, 999999)}",
                f"INV-{self.digits(5)}",
                f"PO{self.digits(7)}",
                f"SO-{self.alnum(3, string.ascii_uppercase)}-{self.digits(4)}",
            ]
        )

    def version(self) -> str:
        return f"{self.rng.randint(0, 12)}.{self.rng.randint(0, 40)}.{self.rng.randint(0, 20)}"

    def ts(self) -> str:
        return self.when().strftime("%Y-%m-%dT%H:%M:%S.") + self.digits(3) + "Z"


Template = Callable[[G], Frag]


@dataclass
class Spec:
    name: str
    fn: Template
    negative: bool
    mention_only: bool


TEMPLATES: dict[str, Spec] = {}


def template(name: str, negative: bool = False, mention_only: bool = False) -> Callable[[Template], Template]:
    def deco(fn: Template) -> Template:
        assert name not in TEMPLATES, name
        TEMPLATES[name] = Spec(name, fn, negative, mention_only)
        return fn

    return deco


# ================================================================================================
# positive templates
# ================================================================================================


def _signoff(g: G, p: Person) -> Frag:
    return fmt(
        g.pick(
            [
                "Cheers,\n{n}",
                "Thanks,\n{n}",
                "Kind regards,\n{n}",
                "Regards,\n{n}",
                "Best,\n{n}",
                "Thanks heaps,\n{n}",
                "Many thanks\n{n}",
            ]
        ),
        n=L(p.first, "PERSON") if g.chance(0.6) else g.name(p),
    )


@template("support_ticket")
def _support_ticket(g: G) -> Frag:
    p = g.person()
    return fmt(
        "Ticket {o} — priority {pri}\nCustomer: {n}\nEmail: {e}\nPhone: {ph}\n\nDescription:\n"
        "Customer says the parcel was marked delivered but never arrived at {addr}. {sub} wants a refund "
        "or a re-send. Please draft a polite reply.",
        o=g.order_no(),
        pri=g.pick(["P2", "P3", "normal", "high"]),
        n=g.name(p),
        e=g.email(p),
        ph=g.phone(),
        addr=g.au_address(),
        sub="She" if p.female else "He",
    )


@template("support_chat_paste")
def _support_chat_paste(g: G) -> Frag:
    p = g.person()
    return fmt(
        "can you summarise this chat for the CRM?\n\nAgent: Thanks for contacting {co}, who am I speaking with?\n"
        "Customer: {n}\nAgent: Can you confirm the mobile on the account?\nCustomer: {ph}\n"
        "Agent: And the email?\nCustomer: {e}\nAgent: Thanks {f}, I can see the double charge on your card.",
        co=g.pick(COMPANIES),
        n=g.name(p),
        ph=g.phone(),
        e=g.email(p),
        f=L(p.first, "PERSON"),
    )


@template("forwarded_email")
def _forwarded_email(g: G) -> Frag:
    a, b, c = g.person(), g.person(), g.person()
    d = g.when().strftime("%a, %d %b %Y %H:%M:%S +1100")
    return fmt(
        "Please summarise the thread below and suggest next steps.\n\n---------- Forwarded message ---------\n"
        "From: {an} <{ae}>\nDate: {d}\nSubject: Re: contract renewal\nTo: {bn} <{be}>\nCc: {cn} <{ce}>\n\n"
        "Hi {bf},\n\nFollowing up on our call — we are happy to renew for another 12 months if the price holds. "
        "{cf} will send the signed copy by Friday.\n\n{so}",
        an=g.name(a),
        ae=g.email(a),
        d=d,
        bn=g.name(b),
        be=g.email(b),
        cn=g.name(c),
        ce=g.email(c),
        bf=L(b.first, "PERSON"),
        cf=L(c.first, "PERSON"),
        so=_signoff(g, a),
    )


@template("email_signature_block")
def _email_signature_block(g: G) -> Frag:
    p = g.person("en_AU" if g.chance(0.6) else None)
    return fmt(
        "Rewrite this email to sound friendlier:\n\nHi team, the Q3 numbers are attached. Please review before "
        "Thursday.\n\n{n}\n{role} | {co}\nM: {ph}\nE: {e}\nA: {addr}",
        n=g.name(p),
        role=g.pick(["Senior Account Manager", "Head of Operations", "Practice Manager", "Paralegal"]),
        co=g.pick(COMPANIES),
        ph=g.phone(False),
        e=g.email(p),
        addr=g.au_address(),
    )


@template("multi_paragraph_email")
def _multi_paragraph_email(g: G) -> Frag:
    a, b = g.person(), g.person()
    return fmt(
        "Dear {t} {al},\n\nThank you for meeting with us in {city} last week. As discussed, {bn} from our "
        "onboarding team will be your main contact and can be reached on {ph}.\n\n"
        "We have set up your account under {ae}. Your first invoice will be sent in {mon}.\n\n"
        "Please let me know if anything is unclear.\n\nYours sincerely,\n{bn2}\n{co}",
        t=a.title,
        al=L(a.last, "PERSON"),
        city=g.city(),
        bn=g.name(b),
        ph=g.phone(),
        ae=g.email(a),
        mon=g.pick(["April", "May", "June"]),
        bn2=g.name(b),
        co=g.pick(COMPANIES),
    )


@template("email_salutation_only")
def _email_salutation_only(g: G) -> Frag:
    a, b = g.person(), g.person()
    return fmt(
        'Fix the grammar: "Hi {af}, just confirming I moved the standup to 10am tomorrow, lmk if that dont work '
        'for you.\n\n{so}"',
        af=L(a.first, "PERSON"),
        so=_signoff(g, b),
    )


@template("hr_note")
def _hr_note(g: G) -> Frag:
    p = g.person()
    return fmt(
        "HR file note — {d}\nEmployee: {n} (ID E{eid})\nTFN: {tfn}\nHome address: {addr}\n\n"
        "{f} met with the manager about flexible hours. {f2} mentioned {pr} is {u} and asked for a support "
        "person at the next meeting. Draft a summary for the file.",
        d=g.when().strftime("%d/%m/%Y"),
        n=g.name(p),
        eid=g.digits(5),
        tfn=g.tfn(),
        addr=g.au_address(),
        f=L(p.first, "PERSON"),
        f2=L(p.first, "PERSON"),
        pr="she" if p.female else "he",
        u=L(g.pick(["a union member", "a member of " + g.pick(UNIONS), "the union delegate"]), "SENSITIVE"),
    )


@template("hr_leave_request")
def _hr_leave_request(g: G) -> Frag:
    p = g.person()
    return fmt(
        "Summarise for payroll: {n} has applied for {w} weeks of personal leave from {d}. Medical certificate "
        "attached — {pr} was diagnosed with {c} and has started on {m}. Manager {mn} approved.",
        n=g.name(p),
        w=g.rng.randint(2, 8),
        d=g.when().strftime("%d %B"),
        pr="she" if p.female else "he",
        c=g.condition(),
        m=g.medication(),
        mn=g.name(),
    )


@template("hr_performance_review")
def _hr_performance_review(g: G) -> Frag:
    p, m = g.person(), g.person()
    return fmt(
        "Turn these notes into a performance review paragraph.\n- {n}: exceeded sales target in {st} by 18%\n"
        "- Mentored {o}\n- Needs to improve CRM hygiene\n- Reviewer: {mn}",
        n=g.name(p),
        st=g.suburb_state()[1],
        o=g.name(),
        mn=g.name(m),
    )


@template("clinical_note")
def _clinical_note(g: G) -> Frag:
    p = g.person()
    return fmt(
        "Write a referral letter from these notes:\nPt: {n}, {age}{sx}, DOB {dob}\nMedicare: {mc}\n"
        "Hx: {c1}, {c2}\nMeds: {m1} 500mg BD, {m2}\nPresenting with worsening SOB over 3/7. Lives alone in {sub}.",
        n=g.name(p),
        age=g.rng.randint(19, 88),
        sx="F" if p.female else "M",
        dob=f"{g.rng.randint(1, 28):02d}/{g.rng.randint(1, 12):02d}/{g.rng.randint(1940, 2005)}",
        mc=g.medicare(),
        c1=g.condition(),
        c2=g.condition(),
        m1=g.medication(),
        m2=g.medication(),
        sub=g.suburb_state()[0],
    )


@template("discharge_summary")
def _discharge_summary(g: G) -> Frag:
    p = g.person()
    return fmt(
        "DISCHARGE SUMMARY\nPatient name: {n}\nAdmitted: {d}\nPrincipal diagnosis: {c}\n"
        "Discharge medications: {m1}; {m2}\nGP: Dr {gp}, {city}\nFollow-up: outpatient clinic in 2 weeks.\n\n"
        "Explain this to the patient in plain English.",
        n=g.name(p),
        d=g.when().strftime("%d/%m/%Y"),
        c=g.condition(),
        m1=g.medication(),
        m2=g.medication(),
        gp=L(g.person().last, "PERSON"),
        city=g.city("AU"),
    )


@template("patient_message")
def _patient_message(g: G) -> Frag:
    p = g.person()
    return fmt(
        g.pick(
            [
                "hi, I'm {n}. I was diagnosed with {c} last year and I take {m} every morning. can I drink "
                "alcohol at my sister's wedding?",
                "My son {f} has {c} and is on {m}. What should I tell his school camp?",
                "I've had {c} since 2019 ({m} daily) — what exercise is safe? - {n}",
            ]
        ),
        n=g.name(p),
        f=L(p.first, "PERSON"),
        c=g.condition(),
        m=g.medication(),
    )


@template("pharmacy_request")
def _pharmacy_request(g: G) -> Frag:
    p = g.person()
    return fmt(
        "Repeat script request\nName: {n}\nDOB: {dob}\nPhone: {ph}\nMedication: {m} (for {c})\n"
        "Pick-up from the {sub} store please.",
        n=g.name(p),
        dob=f"{g.rng.randint(1, 28)}/{g.rng.randint(1, 12)}/{g.rng.randint(1950, 2004)}",
        ph=g.phone(False),
        m=g.medication(),
        c=g.condition(),
        sub=g.suburb_state()[0],
    )


@template("webvtt_transcript")
def _webvtt_transcript(g: G) -> Frag:
    a, b = g.person(), g.person()
    t = g.rng.randint(0, 50)
    return fmt(
        "Summarise this meeting:\n\nWEBVTT\n\n00:00:{t1:02d}.000 --> 00:00:{t2:02d}.500\n<v {an}>Morning all, let's "
        "start with the {city} rollout.\n\n00:00:{t3:02d}.000 --> 00:01:02.000\n<v {bn}>We're on track, {af}. "
        "I'll send the numbers to {be} after this.\n",
        t1=t,
        t2=t + 4,
        t3=t + 5,
        an=g.name(a),
        bn=g.name(b),
        city=g.city(),
        af=L(a.first, "PERSON"),
        be=g.email(b),
    )


@template("chat_export")
def _chat_export(g: G) -> Frag:
    a, b = g.person(), g.person()
    d = g.when()
    lines = [
        fmt(
            "[{d}] {n}: are we still on for dinner in {c}?",
            d=d.strftime("%d/%m/%Y, %H:%M"),
            n=g.name(a),
            c=g.city(),
        ),
        fmt(
            "[{d}] {n}: yes! my new number is {ph}",
            d=(d + timedelta(minutes=3)).strftime("%d/%m/%Y, %H:%M"),
            n=g.name(b),
            ph=g.phone(),
        ),
        fmt("[{d}] {n}: 👍", d=(d + timedelta(minutes=4)).strftime("%d/%m/%Y, %H:%M"), n=g.name(a)),
    ]
    return "Who is organising what in this WhatsApp export?\n" + join("\n", lines)


@template("meeting_turns")
def _meeting_turns(g: G) -> Frag:
    a, b, c = g.person(), g.person(), g.person()
    return fmt(
        "Action items please:\n\n{an}: OK so the vendor review is due Friday.\n{bn}: I can take it, but I need "
        "the contract from {cf}.\n{cn}: I'll email it tonight. {bf}, are you in the {city} office tomorrow?\n"
        "{bn2}: Yep.",
        an=L(a.first, "PERSON"),
        bn=L(b.first, "PERSON"),
        cf=L(c.first, "PERSON"),
        cn=L(c.first, "PERSON"),
        bf=L(b.first, "PERSON"),
        city=g.city(),
        bn2=L(b.first, "PERSON"),
    )


@template("attendee_list")
def _attendee_list(g: G) -> Frag:
    people = [g.person(g.pick([None, None, None, *SCRIPT_LOCALES[:3]])) for _ in range(g.rng.randint(3, 6))]
    rows = [fmt("- {n} ({co})", n=g.name(p), co=g.pick(COMPANIES)) for p in people]
    return "Make name badges for these attendees:\n" + join("\n", rows)


@template("csv_customers")
def _csv_customers(g: G) -> Frag:
    rows = []
    for _ in range(g.rng.randint(2, 5)):
        p = g.person()
        rows.append(
            fmt(
                "{n},{e},{c},{t}",
                n=g.name(p),
                e=g.email(p),
                c=g.city("AU"),
                t=g.tfn().map(lambda s: s.replace(" ", "")),
            )
        )
    return "Dedupe this export and return CSV:\nname,email,city,tfn\n" + join("\n", rows)


@template("tsv_contacts")
def _tsv_contacts(g: G) -> Frag:
    rows = []
    for _ in range(g.rng.randint(2, 5)):
        p = g.person()
        sub, st = g.suburb_state()
        rows.append(
            fmt(
                "{f}\t{l}\t{ph}\t{s}\t{st}",
                f=L(p.first, "PERSON"),
                l=L(p.last, "PERSON"),
                ph=g.phone(False),
                s=sub,
                st=st,
            )
        )
    return "first_name\tlast_name\tmobile\tsuburb\tstate\n" + join("\n", rows)


@template("csv_orders_mixed")
def _csv_orders_mixed(g: G) -> Frag:
    rows = []
    for _ in range(g.rng.randint(2, 4)):
        p = g.person()
        rows.append(
            fmt(
                "{o},{d},{n},{addr},{amt}",
                o=g.order_no().lstrip("#"),
                d=g.when().date().isoformat(),
                n=g.name(p),
                addr=fmt('"{a}"', a=g.au_address()),
                amt=f"{g.rng.randint(10, 900)}.{g.digits(2)}",
            )
        )
    return "order_id,order_date,ship_to_name,ship_to_address,total_aud\n" + join("\n", rows)


@template("json_tool_call")
def _json_tool_call(g: G) -> Frag:
    p = g.person()
    args = json_obj(
        [
            ("customer_name", g.name(p)),
            ("email", g.email(p)),
            ("city", g.city()),
            ("ticket_id", g.order_no()),
            ("notify", True),
        ]
    )
    return fmt(
        '{{"id": "call_{cid}", "type": "function", "function": {{"name": "create_ticket", "arguments": {a}}}}}',
        cid=g.alnum(24),
        a=args,
    )


@template("json_crm_update")
def _json_crm_update(g: G) -> Frag:
    p = g.person()
    sub, st = g.suburb_state()
    body = json_obj(
        [
            ("contactId", g.uuid()),
            ("firstName", L(p.first, "PERSON")),
            ("lastName", L(p.last, "PERSON")),
            ("mobile", g.phone()),
            ("suburb", sub),
            ("state", st),
            ("segment", "retail"),
        ],
        indent=True,
    )
    return "Validate this payload against the CRM schema:\n" + body


@template("json_payment")
def _json_payment(g: G) -> Frag:
    p = g.person()
    body = json_obj(
        [
            ("cardholder", g.name(p)),
            ("card_number", g.card()),
            ("expiry", f"{g.rng.randint(1, 12):02d}/{g.rng.randint(27, 31)}"),
            ("amount", g.rng.randint(5, 900)),
            ("currency", "AUD"),
        ]
    )
    return "Why does this request get a 402 from the payment API?\n" + body


@template("env_snippet")
def _env_snippet(g: G) -> Frag:
    p = g.person()
    return fmt(
        "Why does my app not pick up these settings?\n\n# .env\nNODE_ENV=production\nAWS_ACCESS_KEY_ID={ak}\n"
        "AWS_SECRET_ACCESS_KEY={sk}\nDB_HOST=db.internal\nDB_PASSWORD={pw}\nADMIN_EMAIL={e}\nLOG_LEVEL=info",
        ak=g.secret("aws"),
        sk=g.secret("aws_secret"),
        pw=g.password(),
        e=g.email(p),
    )


@template("python_config_code")
def _python_config_code(g: G) -> Frag:
    return fmt(
        'This throws a 401, what\'s wrong?\n\n```python\nfrom openai import OpenAI\n\nclient = OpenAI(api_key="{k}")\n'
        'resp = client.chat.completions.create(model="gpt-4o", messages=[{{"role": "user", "content": "hi"}}])\n'
        "print(resp.choices[0].message.content)\n```",
        k=g.secret(g.pick(["openai", "openai_proj"])),
    )


@template("yaml_config")
def _yaml_config(g: G) -> Frag:
    p = g.person()
    return fmt(
        'Convert this to TOML:\n\nsmtp:\n  host: smtp.office365.com\n  user: {e}\n  password: "{pw}"\n'
        "github:\n  token: {t}\n  repo: platform/infra\n",
        e=g.email(p),
        pw=g.password(),
        t=g.secret("github"),
    )


@template("db_url_snippet")
def _db_url_snippet(g: G) -> Frag:
    return fmt(
        "psql keeps saying connection refused with DATABASE_URL=postgres://app_user:{pw}@10.0.{a}.{b}:5432/orders "
        "— is the format right?",
        pw=g.password(),
        a=g.rng.randint(0, 9),
        b=g.rng.randint(2, 200),
    )


@template("log_lines_user")
def _log_lines_user(g: G) -> Frag:
    p, q = g.person(), g.person()
    return fmt(
        "Why are these logins failing?\n{t1} WARN auth login_failed user={e1} ip={ip1} attempts=3\n"
        "{t2} INFO auth login_ok user={e2} ip={ip2} mfa=totp\n{t3} WARN auth login_failed user={e1b} ip={ip1b} attempts=4",
        t1=g.ts(),
        e1=g.email(p),
        ip1=(ip := g.ip()),
        t2=g.ts(),
        e2=g.email(q),
        ip2=g.ip(),
        t3=g.ts(),
        e1b=g.email(p),
        ip1b=ip,
    )


@template("nginx_access_log")
def _nginx_access_log(g: G) -> Frag:
    lines = [
        fmt(
            '{ip} - - [{d} +1100] "GET /api/v2/orders?page={pg} HTTP/1.1" {st} {sz} "-" "Mozilla/5.0"',
            ip=g.ip(),
            d=g.when().strftime("%d/%b/%Y:%H:%M:%S"),
            pg=g.rng.randint(1, 9),
            st=g.pick([200, 200, 304, 429, 500]),
            sz=g.rng.randint(200, 9000),
        )
        for _ in range(3)
    ]
    return "Which client is hammering the API?\n" + join("\n", lines)


@template("it_ticket")
def _it_ticket(g: G) -> Frag:
    p = g.person()
    return fmt(
        "IT ticket: {n} ({e}) can't reach the VPN from home. Public IP {ip}, laptop LT-{tag}, "
        "Windows 11 23H2. Write troubleshooting steps.",
        n=g.name(p),
        e=g.email(p),
        ip=g.ip(),
        tag=g.digits(5),
    )


@template("git_commit_author")
def _git_commit_author(g: G) -> Frag:
    p = g.person()
    return fmt(
        "Write release notes from this log:\ncommit {sha}\nAuthor: {n} <{e}>\nDate:   {d}\n\n    Fix retry "
        "on 429 from the billing API\n",
        sha=g.hexs(40),
        n=g.name(p),
        e=g.email(p),
        d=g.when().strftime("%a %b %d %H:%M:%S %Y +1100"),
    )


@template("insurance_claim")
def _insurance_claim(g: G) -> Frag:
    p = g.person()
    return fmt(
        "Claim {cl}\nClaimant: {n}\nPolicy: HC-{pol}\nAddress: {addr}\nContact: {ph}\n\nIncident: water damage "
        "to the kitchen after the storm. The claimant also notes {pr} has {c}, so mould is a concern.\n"
        "Assess whether this is covered.",
        cl=f"CLM-{g.digits(7)}",
        n=g.name(p),
        pol=g.digits(8),
        addr=g.au_address(),
        ph=g.phone(False),
        pr="she" if p.female else "he",
        c=g.condition(),
    )


@template("legal_intake")
def _legal_intake(g: G) -> Frag:
    p, o = g.person(), g.person()
    return fmt(
        "New matter intake\nClient: {n}\nDOB: {dob}\nAddress: {addr}\nOther party: {on}\n"
        "Summary: client alleges unfair dismissal after disclosing {s} to {pr2} manager. Draft a letter of demand.",
        n=g.name(p),
        dob=f"{g.rng.randint(1, 28)}/{g.rng.randint(1, 12)}/{g.rng.randint(1960, 2002)}",
        addr=g.nz_address() if g.chance(0.3) else g.au_address(),
        on=g.name(o),
        s=g.pick(
            [
                fmt("that {p} is {o}", p="she" if p.female else "he", o=L(g.pick(ORIENTATIONS), "SENSITIVE")),
                fmt("{p} {u}", p="her" if p.female else "his", u=L("union membership", "SENSITIVE")),
                fmt("{p} diagnosis of {c}", p="her" if p.female else "his", c=g.condition()),
            ]
        ),
        pr2="her" if p.female else "his",
    )


@template("bullet_contacts")
def _bullet_contacts(g: G) -> Frag:
    rows = []
    for _ in range(g.rng.randint(2, 4)):
        p = g.person()
        rows.append(fmt("• {n} — {ph} — {e}", n=g.name(p), ph=g.phone(), e=g.email(p)))
    return "Put these into a table:\n" + join("\n", rows)


@template("airline_pnr")
def _airline_pnr(g: G) -> Frag:
    p = g.person(g.pick(["en_AU", "en_GB", "en_IN", "en_US"]))
    name = f"{_ascii(p.last).upper()}/{_ascii(p.first).upper()}"
    return fmt(
        "Explain this booking to the customer:\nRLOC {rl}\n1.1{nm} {t}\n 1 QF {fl}Y {d} {o}{dst} HK1 0915 1040\n"
        "CTCM {ph}\nCTCE {e}\nPASSENGER: {nm2} {t2}",
        rl=g.alnum(6, string.ascii_uppercase),
        nm=L(name, "PERSON"),
        t=p.title.upper(),
        fl=g.rng.randint(400, 999),
        d=g.when().strftime("%d%b").upper(),
        o=g.pick(["SYD", "MEL", "BNE"]),
        dst=g.pick(["AKL", "SIN", "LHR"]),
        ph=g.phone(False).map(lambda s: s.replace(" ", "")),
        e=g.email(p).map(str.upper),
        nm2=L(name, "PERSON"),
        t2=p.title.upper(),
    )


@template("lowercase_chat")
def _lowercase_chat(g: G) -> Frag:
    p = g.person(g.pick(["en_AU", "en_GB", "en_US"]))
    body = fmt(
        g.pick(
            [
                "pls email {n} the invoice, their addy is {e}",
                "can u remind {n} about the {c} trip",
                "draft a msg to {n} saying sorry we missed the call, ring {ph}",
                "whats a nice way to tell {n} from {c} that the job went to someone else",
            ]
        ),
        n=g.name(p),
        e=g.email(p),
        c=g.city(),
        ph=g.phone(),
    )
    return body.map(str.lower)


@template("all_caps_delivery")
def _all_caps_delivery(g: G) -> Frag:
    p = g.person()
    return fmt(
        "Clean up this label text:\nDELIVER TO: {n}\n{addr}\nPH {ph}\nATL - LEAVE AT FRONT DOOR",
        n=g.name(p).map(str.upper),
        addr=g.au_address().map(str.upper),
        ph=g.phone(False),
    )


@template("au_address_line")
def _au_address_line(g: G) -> Frag:
    return fmt(
        g.pick(
            [
                "Is {a} in a flood zone?",
                "What's the closest train station to {a}?",
                "Format this address for an envelope: {a}",
                "Calculate delivery zones for {a} and {b}",
            ]
        ),
        a=g.au_address(),
        b=g.au_address(),
    )


@template("nz_address_line")
def _nz_address_line(g: G) -> Frag:
    p = g.person("en_NZ")
    return fmt(
        "Ship the replacement to {n}, {a}. Courier needs a phone: {ph}",
        n=g.name(p),
        a=g.nz_address(),
        ph=g.phone(),
    )


@template("city_prose")
def _city_prose(g: G) -> Frag:
    return fmt(
        g.pick(
            [
                "I'm flying from {a} to {b} next week, what should I pack?",
                "My partner and I are moving from {a} to {c}. How do we transfer our car registration?",
                "Compare the cost of living between {a} and {b} for a family of four.",
                "My mum lives in {a} and I'm in {b} — what's a good halfway town?",
            ]
        ),
        a=g.city(),
        b=g.city(),
        c=g.country(),
    )


@template("state_prose")
def _state_prose(g: G) -> Frag:
    sub, st = g.suburb_state()
    return fmt(
        g.pick(
            [
                "We just bought a house in {s}, {st}. What grants can we apply for?",
                "I rent in {s} ({st}); can my landlord increase the rent twice a year?",
            ]
        ),
        s=sub,
        st=st,
    )


@template("first_name_prose")
def _first_name_prose(g: G) -> Frag:
    p = g.person()
    return fmt(
        g.pick(
            [
                "Can you ask {f} to resend the slides before the board meeting?",
                "Write a farewell card message for {f}, who is leaving after 6 years.",
                "{f} said the numbers don't add up. Can you double-check column D?",
            ]
        ),
        f=L(p.first, "PERSON"),
    )


@template("surname_prose")
def _surname_prose(g: G) -> Frag:
    p = g.person()
    return fmt(
        g.pick(
            [
                "{t} {l} called again about the refund — draft a reply.",
                "Dr {l} wants the results by Monday.",
                "Please book a meeting room for Professor {l} and two guests.",
            ]
        ),
        t=p.title,
        l=L(p.last, "PERSON"),
    )


@template("han_name")
def _han_name(g: G) -> Frag:
    p = g.person("zh_CN")
    return fmt(
        g.pick(
            [
                "请把这份合同发给{n}，他的邮箱是{e}。",
                "Translate into English: {n}先生明天下午三点到{c}。",
                "客户{n}的电话是{ph}，请回电。",
            ]
        ),
        n=g.name(p),
        e=g.email(p),
        c=L(g.pick(["上海", "北京", "深圳", "广州", "悉尼"]), "LOCATION"),
        ph=g.phone(True),
    )


@template("japanese_name")
def _japanese_name(g: G) -> Frag:
    p = g.person("ja_JP")
    return fmt(
        g.pick(
            [
                "{n}さん、明日の会議は{c}で行います。",
                "Translate: {n}様からの問い合わせです。電話番号は{ph}です。",
                "Write a polite reply to {n}さん about the delayed shipment.",
            ]
        ),
        n=g.name(p),
        c=L(g.pick(["東京", "大阪", "名古屋", "札幌"]), "LOCATION"),
        ph=g.phone(True),
    )


@template("hangul_name")
def _hangul_name(g: G) -> Frag:
    p = g.person("ko_KR")
    return fmt(
        g.pick(
            [
                "{n} 님, 주문하신 상품이 발송되었습니다.",
                "Translate to English: {n} 님의 이메일은 {e} 입니다.",
                "{n} 님이 {c} 지점으로 전근합니다.",
            ]
        ),
        n=g.name(p),
        e=g.email(p),
        c=L(g.pick(["서울", "부산", "인천"]), "LOCATION"),
    )


@template("cyrillic_name")
def _cyrillic_name(g: G) -> Frag:
    p = g.person("ru_RU")
    return fmt(
        g.pick(
            [
                "Переведите на английский: {n} прилетает в {c} в пятницу.",
                "Write a reply to {n} confirming the invoice was paid.",
                "{u} {n}, ваш заказ готов.",
            ]
        ),
        n=g.name(p),
        c=L(g.pick(["Москву", "Сидней", "Лондон"]), "LOCATION"),
        u="Уважаемая" if p.female else "Уважаемый",
    )


@template("arabic_name")
def _arabic_name(g: G) -> Frag:
    p = g.person("ar_SA")
    return fmt(
        g.pick(
            [
                "ترجم إلى الإنجليزية: السيد {n} سيصل غداً.",
                "Reply to {n} about the visa letter; phone {ph}.",
                "مرحباً {n}، تم تأكيد حجزك.",
            ]
        ),
        n=g.name(p),
        ph=g.phone(True),
    )


@template("devanagari_name")
def _devanagari_name(g: G) -> Frag:
    p = g.person("hi_IN")
    return fmt(
        g.pick(
            [
                "कृपया {n} को रिपोर्ट भेजें।",
                "Translate: {n} जी कल {c} आएंगे।",
                "Summarise the complaint from {n} ({e}).",
            ]
        ),
        n=g.name(p),
        e=g.email(p),
        c=L(g.pick(["दिल्ली", "मुंबई", "पुणे"]), "LOCATION"),
    )


@template("intl_customer_prose")
def _intl_customer_prose(g: G) -> Frag:
    p = g.person(g.pick(["de_DE", "fr_FR", "es_ES", "vi_VN", "it_IT", "pt_BR"]))
    return fmt(
        g.pick(
            [
                "Write a reply to {n} in {c}: the part ships next week.",
                "{n} from our {c} office asked for the German translation of the manual.",
                "Schedule a call with {n} ({e}) — they are 9 hours behind.",
            ]
        ),
        n=g.name(p),
        c=g.city("EU") if p.locale != "vi_VN" else L("Hanoi", "LOCATION"),
        e=g.email(p),
    )


@template("payment_card_prose")
def _payment_card_prose(g: G) -> Frag:
    p = g.person()
    return fmt(
        g.pick(
            [
                "The customer {n} read out card {c} exp {x} over the phone, can you check if it's a Visa?",
                "Refund card {c} for {n}, order {o}",
                "my card {c} got declined, why?",
            ]
        ),
        n=g.name(p),
        c=g.card(),
        x=f"{g.rng.randint(1, 12):02d}/{g.rng.randint(27, 31)}",
        o=g.order_no(),
    )


@template("bank_transfer")
def _bank_transfer(g: G) -> Frag:
    p = g.person(g.pick(["de_DE", "fr_FR", "en_GB", "es_ES", "it_IT"]))
    return fmt(
        "Draft a payment instruction: pay EUR {amt} to {n}, IBAN {i}, reference {r}.",
        amt=g.rng.randint(100, 9000),
        n=g.name(p),
        i=g.iban(),
        r=g.order_no(),
    )


@template("sepa_mandate")
def _sepa_mandate(g: G) -> Frag:
    p = g.person(g.pick(["de_DE", "fr_FR", "es_ES", "it_IT", "en_GB"]))
    return fmt(
        "Translate this SEPA direct debit mandate into English and check it is complete:\n"
        "Kontoinhaber: {n}\nAnschrift: {addr}\nIBAN: {i}\nBIC: {bic}\nMandatsreferenz: {ref}",
        n=g.name(p),
        addr=L(
            f"{g.fakers['de_DE'].street_name()} {g.rng.randint(1, 120)}, {g.digits(5)} "
            f"{g.pick(['Berlin', 'Hamburg', 'Köln', 'Leipzig', 'München'])}",
            "STREET_ADDRESS",
        ),
        i=g.iban(),
        bic=g.alnum(4, string.ascii_uppercase) + "DEFF" + g.alnum(3, string.ascii_uppercase + string.digits),
        ref=f"M-{g.digits(8)}",
    )


@template("us_benefits_form")
def _us_benefits_form(g: G) -> Frag:
    p = g.person("en_US")
    return fmt(
        "Check this form for mistakes:\nEmployee: {n}\nSSN: {s}\nState: {st}\nDependents: 2",
        n=g.name(p),
        s=g.ssn(),
        st=L(g.pick(["California", "Texas", "Washington", "New York"]), "LOCATION"),
    )


@template("uk_payroll")
def _uk_payroll(g: G) -> Frag:
    p = g.person("en_GB")
    return fmt(
        "Payroll query from {n} (NI number {ni}) in {c}: why is my tax code 1257L?",
        n=g.name(p),
        ni=g.nino(),
        c=g.city("GB"),
    )


@template("tfn_prose")
def _tfn_prose(g: G) -> Frag:
    p = g.person("en_AU")
    return fmt(
        g.pick(
            [
                "My TFN is {t}, can I lodge without a myGov account? - {n}",
                "Fill in the TFN declaration for {n}, tax file number {t}, resident of {st}.",
            ]
        ),
        t=g.tfn(),
        n=g.name(p),
        st=g.suburb_state()[1],
    )


@template("medicare_prose")
def _medicare_prose(g: G) -> Frag:
    p = g.person("en_AU")
    return fmt(
        "Help {n} fill in the claim form. Medicare card {m}, the visit was for {c}.",
        n=g.name(p),
        m=g.medicare(),
        c=g.condition(),
    )


@template("sensitive_religion")
def _sensitive_religion(g: G) -> Frag:
    p = g.person()
    rel, verb = g.pick(RELIGIONS)
    return fmt(
        g.pick(
            [
                "{n} {v} {r}, so please don't schedule the offsite on a holy day.",
                "Note for the roster: {f} {v} {r} and fasts during the day this month.",
            ]
        ),
        n=g.name(p),
        f=L(p.first, "PERSON"),
        v=verb,
        r=L(rel, "SENSITIVE"),
    )


@template("sensitive_union")
def _sensitive_union(g: G) -> Frag:
    p = g.person()
    return fmt(
        g.pick(
            ["I'm {u} — can my employer see that? ({n})", "{n} is {u} and wants a delegate in the meeting."]
        ),
        u=L(g.pick(["a union member", "a member of " + g.pick(UNIONS)]), "SENSITIVE"),
        n=g.name(p),
    )


@template("sensitive_politics")
def _sensitive_politics(g: G) -> Frag:
    p = g.person()
    return fmt(
        g.pick(
            [
                "{n} has been a member of {pt} for years; avoid politics at the dinner.",
                "Write a bio for {n}, who volunteers for {pt} on weekends.",
            ]
        ),
        n=g.name(p),
        pt=L(g.pick(PARTIES), "SENSITIVE"),
    )


@template("sensitive_orientation")
def _sensitive_orientation(g: G) -> Frag:
    p = g.person()
    return fmt(
        g.pick(
            [
                "{n} came out as {o} to the team last month; how do I support them?",
                "I'm {o} and my manager {m} keeps making comments. What are my options?",
            ]
        ),
        n=g.name(p),
        o=L(
            g.pick(ORIENTATIONS[1:] if p.female else [o for o in ORIENTATIONS if o != "lesbian"]), "SENSITIVE"
        ),
        m=g.name(),
    )


@template("sensitive_ethnicity")
def _sensitive_ethnicity(g: G) -> Frag:
    p = g.person()
    return fmt(
        "Scholarship application: {n}, who is {e}, grew up in {c}. Polish the personal statement.",
        n=g.name(p),
        e=L(g.pick(ETHNICITIES), "SENSITIVE"),
        c=g.city("AU"),
    )


@template("school_enrolment")
def _school_enrolment(g: G) -> Frag:
    parent, child = g.person(), g.person()
    return fmt(
        "Enrolment form\nStudent: {cf} {pl}\nParent/guardian: {pn}\nPhone: {ph}\nAddress: {a}\n"
        "Medical: {c}, carries {m}\n\nWrite a welcome email to the parent.",
        cf=L(child.first, "PERSON"),
        pl=L(parent.last, "PERSON"),
        pn=g.name(parent),
        ph=g.phone(False),
        a=g.au_address(),
        c=g.condition(),
        m=g.medication(),
    )


@template("rental_application")
def _rental_application(g: G) -> Frag:
    p = g.person()
    return fmt(
        "Tenancy application summary:\nApplicant: {n}\nCurrent address: {a}\nEmployer: {co}\n"
        "Mobile: {ph}\nEmail: {e}\nReference: {r} ({rph})\nIs this applicant a good fit?",
        n=g.name(p),
        a=g.au_address(),
        co=g.pick(COMPANIES),
        ph=g.phone(False),
        e=g.email(p),
        r=g.name(),
        rph=g.phone(False),
    )


@template("sales_lead_note")
def _sales_lead_note(g: G) -> Frag:
    p = g.person()
    return fmt(
        "Lead: {n}, procurement lead at {co}, based in {c}. Met at the expo; wants a demo in {m}. "
        "Direct line {ph}. Write a follow-up email.",
        n=g.name(p),
        co=g.pick(COMPANIES),
        c=g.city(),
        m=g.pick(["April", "May"]),
        ph=g.phone(),
    )


@template("hotel_booking")
def _hotel_booking(g: G) -> Frag:
    p = g.person()
    return fmt(
        "Confirm this booking in a friendly tone: guest {n}, 2 nights from {d}, hotel in {c}, "
        "card on file {cc}, contact {e}.",
        n=g.name(p),
        d=g.when().strftime("%d %b"),
        c=g.city(),
        cc=g.card(),
        e=g.email(p),
    )


@template("sql_insert")
def _sql_insert(g: G) -> Frag:
    p = g.person()
    return fmt(
        "Why does this fail with a unique violation?\nINSERT INTO customers (id, full_name, email, phone, city) "
        "VALUES ({i}, '{n}', '{e}', '{ph}', '{c}');",
        i=g.rng.randint(1000, 99999),
        n=g.name(p),
        e=g.email(p),
        ph=g.phone(),
        c=g.city(),
    )


@template("slack_mentions")
def _slack_mentions(g: G) -> Frag:
    a, b = g.person(), g.person()
    return fmt(
        "Summarise this Slack thread:\n{an}  10:42 AM\nhey {bf} did the {pr} dashboard break again?\n"
        "{bn}  10:44 AM\nyeah the {city} region is down, I'm on it",
        an=g.name(a),
        bf=L("@" + b.first.lower(), "PERSON") if g.chance(0.3) else L(b.first, "PERSON"),
        pr=g.pick(PRODUCTS),
        bn=g.name(b),
        city=g.city(),
    )


@template("translation_request")
def _translation_request(g: G) -> Frag:
    p = g.person(g.pick(["fr_FR", "de_DE", "es_ES"]))
    return fmt(
        'Translate into English:\n"Bonjour {t} {l}, votre rendez-vous est confirmé pour mardi à {c}. '
        'Appelez-nous au {ph}."',
        t=g.pick(["Madame", "Monsieur"]),
        l=L(p.last, "PERSON"),
        c=g.city("EU"),
        ph=g.phone(True),
    )


@template("kyc_check")
def _kyc_check(g: G) -> Frag:
    p = g.person()
    return fmt(
        "KYC: customer {n}, DOB {dob}, residential address {a}, ID: {idk} {idv}. Flag anything unusual.",
        n=g.name(p),
        dob=f"{g.rng.randint(1940, 2004)}-{g.rng.randint(1, 12):02d}-{g.rng.randint(1, 28):02d}",
        a=g.au_address(),
        idk=(k := g.pick(["Medicare", "TFN"])),
        idv=g.medicare() if k == "Medicare" else g.tfn(),
    )


# ================================================================================================
# negative templates (no personal data; look-alikes)
# ================================================================================================


@template("neg_order_status", negative=True)
def _neg_order_status(g: G) -> Frag:
    return fmt(
        "Order {o} is stuck in 'awaiting fulfilment' since {t}. Tracking {tr}, SKU {sku}, qty {q}. "
        "Write a status update for the ops channel.",
        o=g.order_no(),
        t=g.ts(),
        tr=f"TRK{g.digits(12)}AU",
        sku=f"SKU-{g.alnum(4, string.ascii_uppercase)}-{g.digits(3)}",
        q=g.rng.randint(1, 40),
    )


@template("neg_tool_call_ids", negative=True)
def _neg_tool_call_ids(g: G) -> Frag:
    return fmt(
        '{{"id": "chatcmpl-{a}", "tool_calls": [{{"id": "call_{b}", "function": {{"name": "lookup_order", '
        '"arguments": "{{\\"order_id\\": \\"{o}\\", \\"request_id\\": \\"{u}\\"}}"}}}}], "created": {ts}}}',
        a=g.alnum(29),
        b=g.alnum(24),
        o=g.order_no().lstrip("#"),
        u=g.uuid(),
        ts=g.rng.randint(1767225600, 1775000000),
    )


@template("neg_git_log", negative=True)
def _neg_git_log(g: G) -> Frag:
    lines = []
    for _ in range(4):
        subject = g.pick(
            [
                f"Merge pull request #{g.rng.randint(100, 9999)} from feature/retry-backoff",
                f'Revert "Bump grafana to {g.version()}"',
                f"chore(deps): bump jenkins-plugin from {g.version()} to {g.version()}",
                "fix: handle CrashLoopBackOff in readiness probe",
                f"Merge branch 'main' into release/{g.version()}",
            ]
        )
        lines.append(f"{g.hexs(7)} {subject}")
    return as_frag("Write a changelog from:\n" + "\n".join(lines))


@template("neg_k8s_pods", negative=True)
def _neg_k8s_pods(g: G) -> Frag:
    rows = [
        f"{g.pick(['api', 'worker', 'grafana', 'jenkins-agent', 'ingest'])}-{g.hexs(10)}-{g.alnum(5, string.ascii_lowercase + string.digits)}   "
        f"{g.pick(['1/1', '0/1'])}   {g.pick(['Running', 'CrashLoopBackOff', 'Pending', 'OOMKilled'])}   {g.rng.randint(0, 40)}   {g.rng.randint(1, 59)}m"
        for _ in range(4)
    ]
    return as_frag(
        "Why are these pods restarting?\nNAME   READY   STATUS   RESTARTS   AGE\n" + "\n".join(rows)
    )


@template("neg_stack_trace", negative=True)
def _neg_stack_trace(g: G) -> Frag:
    return as_frag(
        "Explain this error:\nTraceback (most recent call last):\n"
        f'  File "/srv/app/handlers/billing.py", line {g.rng.randint(10, 400)}, in charge\n'
        "    resp = client.post(url, json=payload, timeout=5)\n"
        f'  File "/usr/lib/python3.11/site-packages/httpx/_client.py", line {g.rng.randint(1000, 1900)}, in post\n'
        f"httpx.ReadTimeout: timed out (request_id={g.uuid()})"
    )


@template("neg_metrics", negative=True)
def _neg_metrics(g: G) -> Frag:
    return as_frag(
        f"Is this throughput normal? events_processed={g.bad_tfn_like()} bytes_out={g.bad_card_like()} "
        f"p99_ms={g.rng.randint(80, 900)} shard={g.rng.randint(0, 63)} build={g.version()} at {g.ts()}"
    )


@template("neg_release_notes", negative=True)
def _neg_release_notes(g: G) -> Frag:
    a, b = g.pick(PRODUCTS), g.pick(PRODUCTS)
    return as_frag(
        f"Summarise the upgrade risk: {a} {g.version()} → {g.version()} drops support for {b} "
        f"{g.version()}; migration ticket OPS-{g.rng.randint(100, 9999)}; checksum sha256:{g.hexs(64)}"
    )


@template("neg_ci_log", negative=True)
def _neg_ci_log(g: G) -> Frag:
    return as_frag(
        f"[Pipeline] stage 'test'\n[{g.ts()}] + pytest -q --maxfail=1\n[{g.ts()}] 1432 passed, 3 skipped in "
        f"{g.rng.randint(60, 400)}.{g.digits(2)}s\n[{g.ts()}] Jenkins build #{g.rng.randint(100, 9999)} FAILED at "
        f"stage 'deploy' (exit code 137)\nWhy did it fail after the tests passed?"
    )


@template("neg_sql_schema", negative=True)
def _neg_sql_schema(g: G) -> Frag:
    return as_frag(
        "Optimise this query:\nSELECT c.customer_name, c.email, o.total FROM customers c JOIN orders o "
        "ON o.customer_id = c.id WHERE c.city = $1 AND o.created_at > now() - interval '30 days' "
        f"ORDER BY o.total DESC LIMIT {g.rng.randint(10, 100)};"
    )


@template("neg_code_review", negative=True)
def _neg_code_review(g: G) -> Frag:
    return as_frag(
        'Review this function:\n```python\ndef normalise_phone(raw: str, region: str = "AU") -> str | None:\n'
        '    digits = re.sub(r"\\D", "", raw)\n    if len(digits) < 8:\n        return None\n'
        "    return phonenumbers.format_number(phonenumbers.parse(digits, region), E164)\n```"
    )


@template("neg_config_placeholders", negative=True)
def _neg_config_placeholders(g: G) -> Frag:
    return as_frag(
        "Is this docker-compose ok?\nservices:\n  api:\n    image: registry.internal/api:"
        + g.version()
        + "\n"
        "    environment:\n      OPENAI_API_KEY: ${OPENAI_API_KEY}\n      DB_PASSWORD: ${DB_PASSWORD}\n"
        "      SMTP_USER: <your-smtp-user>\n      REDIS_URL: redis://redis:6379/0\n"
    )


@template("neg_cron_timestamps", negative=True)
def _neg_cron_timestamps(g: G) -> Frag:
    return as_frag(
        f"Convert to cron: run at {g.rng.randint(0, 23):02d}:{g.rng.randint(0, 59):02d} every weekday, "
        f"next run {g.ts()}, last run {g.ts()} (job id {g.uuid()})."
    )


@template("neg_invoice_totals", negative=True)
def _neg_invoice_totals(g: G) -> Frag:
    lines = [
        f"{g.order_no()}  {g.rng.randint(1, 12)} x {g.pick(PRODUCTS)} licence  ${g.rng.randint(10, 999)}.{g.digits(2)}"
        for _ in range(3)
    ]
    return as_frag("Total these line items incl. GST:\n" + "\n".join(lines))


@template("neg_model_comparison", negative=True)
def _neg_model_comparison(g: G) -> Frag:
    return as_frag(
        g.pick(
            [
                "Compare Grok, Claude and Gemini for summarising long PDFs. Which has the biggest context window?",
                "Should we use Llama 3 or Mistral for on-prem classification? We have 2 A100s.",
                "Write a Jenkinsfile that builds the Docker image and pushes it to ECR.",
                "Our Grafana alert fires every night at 02:00 with 'no data'. What could cause that?",
            ]
        )
    )


@template("neg_uuid_table", negative=True)
def _neg_uuid_table(g: G) -> Frag:
    rows = [
        f"{g.uuid()},{g.pick(['queued', 'done', 'failed'])},{g.rng.randint(1, 99999)},{g.hexs(40)}"
        for _ in range(4)
    ]
    return as_frag("job_id,status,duration_ms,commit\n" + "\n".join(rows) + "\nWhich jobs failed?")


@template("neg_system_prompt_insurer", negative=True, mention_only=True)
def _neg_system_prompt_insurer(g: G) -> Frag:
    return as_frag(
        g.pick(
            [
                "You are a helpful assistant for an Australian insurer. Answer questions about home and contents cover. "
                "Never give financial advice.",
                "You are a claims triage assistant for a member-owned mutual insurer. Be concise and cite the PDS section.",
                "System: you are a customer service agent for an Australian bank. Do not ask for card numbers or passwords.",
            ]
        )
    )


@template("neg_persona_tour_guide", negative=True, mention_only=True)
def _neg_persona_tour_guide(g: G) -> Frag:
    return as_frag(
        g.pick(
            [
                "Act as a British tour guide with a dry sense of humour. Keep answers under 100 words.",
                "Pretend to be a French chef and explain how to make a roux.",
                "You are an Irish storyteller. Tell a short story about a lighthouse.",
            ]
        )
    )


@template("neg_school_newsletter", negative=True, mention_only=True)
def _neg_school_newsletter(g: G) -> Frag:
    return as_frag(
        g.pick(
            [
                "Draft a newsletter item for parents at a Catholic primary school about the swimming carnival.",
                "Write a welcome note for a Jewish day school's open night.",
                "Create a term planner for an Islamic college's year 7 science unit.",
            ]
        )
    )


@template("neg_customer_segment", negative=True, mention_only=True)
def _neg_customer_segment(g: G) -> Frag:
    return as_frag(
        g.pick(
            [
                "Write a welcome email for our Japanese customers, in English and Japanese.",
                "What festivals should our marketing calendar include for Chinese and Vietnamese customers?",
                "Adapt this product page for Indian and Korean shoppers.",
            ]
        )
    )


@template("neg_policy_summary", negative=True, mention_only=True)
def _neg_policy_summary(g: G) -> Frag:
    return as_frag(
        g.pick(
            [
                "Summarise the Labor Party's policy on housing affordability in five bullet points.",
                "Compare the Greens' and the Coalition's climate targets in a table.",
                "What did the Liberal Party announce about small business tax this year?",
            ]
        )
    )


@template("neg_explain_religion", negative=True, mention_only=True)
def _neg_explain_religion(g: G) -> Frag:
    return as_frag(
        g.pick(
            [
                "Explain Buddhism to a year 9 class in 200 words.",
                "What is the difference between Sunni and Shia Islam?",
                "Write a short history of the Catholic Church's role in hospitals.",
                "Explain the significance of Diwali for Hindus and Sikhs.",
            ]
        )
    )


@template("neg_health_education", negative=True, mention_only=True)
def _neg_health_education(g: G) -> Frag:
    return as_frag(
        g.pick(
            [
                "Write a patient leaflet explaining type 2 diabetes and how metformin works.",
                "What are common side effects of sertraline? Write an FAQ for our pharmacy website.",
                "Create a workplace poster on recognising signs of depression and anxiety.",
                "Explain the difference between asthma and COPD for first-aid training.",
            ]
        )
    )


@template("neg_union_hr_policy", negative=True, mention_only=True)
def _neg_union_hr_policy(g: G) -> Frag:
    return as_frag(
        g.pick(
            [
                "Draft a neutral policy on employees' right to join a trade union.",
                "Write an inclusive LinkedIn post for Pride Month at our company.",
                "Summarise the rules on political donations for charities.",
            ]
        )
    )


# ================================================================================================


def records(n: int, seed: int) -> Iterator[dict[str, Any]]:
    """``n`` records: about a third negatives, each template as often as the others of its kind."""
    g = G(seed)
    pos = [s for s in TEMPLATES.values() if not s.negative]
    neg = [s for s in TEMPLATES.values() if s.negative]
    n_neg = round(n / 3)
    plan = [neg[i % len(neg)] for i in range(n_neg)] + [pos[i % len(pos)] for i in range(n - n_neg)]
    g.rng.shuffle(plan)
    for i, spec in enumerate(plan):
        frag = spec.fn(g)
        spans = frag.spans()
        assert not spec.negative or not spans, spec.name
        yield {
            "id": f"r{i:05d}",
            "template": spec.name,
            "split": split_of(spec.name),
            "negative": spec.negative,
            "mention_only": spec.mention_only,
            "text": frag.text,
            "spans": spans,
        }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--records", type=int, default=1500)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--split", choices=["dev", "test", "all"], default="all")
    parser.add_argument("--out", default="-")
    args = parser.parse_args(argv)
    lines = [
        json.dumps(r, ensure_ascii=False) + "\n"
        for r in records(args.records, args.seed)
        if args.split == "all" or r["split"] == args.split
    ]
    if args.out == "-":
        sys.stdout.writelines(lines)
    else:
        Path(args.out).write_text("".join(lines), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
