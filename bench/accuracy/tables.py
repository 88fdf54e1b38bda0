"""Labelled tables of structured identifiers and secrets for the accuracy benchmark.

Every identifier is generated from a seeded RNG with check digits computed HERE, independently
of ``scanner.detectors.identifiers`` (so a bug there cannot make the benchmark agree with itself).
Each identifier type yields *valid* rows (labelled with the entity, in sentences a person would
write) and, where the identifier has a check digit, *invalid* rows: the same shape with the check
digit changed so that the checksum fails; those rows carry no label for that entity.
"""

from __future__ import annotations

import random
import re
import string
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class Row:
    text: str
    spans: list[tuple[str, int, int]] = field(default_factory=list)  # (entity, start, end)
    table: str = ""  # identifier type, e.g. "AU_TFN"
    valid: bool = True


def _fill(template: str, value: str, entity: str, table: str, valid: bool) -> Row:
    start = template.index("{v}")
    text = template.replace("{v}", value)
    spans = [(entity, start, start + len(value))] if valid else []
    return Row(text, spans, table, valid)


def _digits(rng: random.Random, n: int) -> list[int]:
    return [rng.randrange(10) for _ in range(n)]


def _join(d: list[int]) -> str:
    return "".join(map(str, d))


def _group(s: str, sizes: tuple[int, ...], sep: str = " ") -> str:
    out, i = [], 0
    for n in sizes:
        out.append(s[i : i + n])
        i += n
    return sep.join(out)


def _bad_last(s: str, ok: Callable[[str], bool]) -> str:
    """Change the last digit so that ``ok`` fails."""
    for d in "0123456789":
        candidate = s[:-1] + d
        if not ok(candidate):
            return candidate
    raise ValueError("no invalid variant")


# -- independent checksum implementations --------------------------------------------------------


def tfn_ok(s: str) -> bool:
    w = {9: [1, 4, 3, 7, 5, 8, 6, 9, 10], 8: [10, 7, 8, 4, 6, 3, 5, 1]}[len(s)]
    return sum(int(c) * x for c, x in zip(s, w, strict=True)) % 11 == 0


def abn_ok(s: str) -> bool:
    d = [int(c) for c in s]
    d[0] -= 1
    return sum(a * b for a, b in zip(d, [10, 1, 3, 5, 7, 9, 11, 13, 15, 17, 19], strict=True)) % 89 == 0


def acn_ok(s: str) -> bool:
    total = sum(int(c) * w for c, w in zip(s[:8], [8, 7, 6, 5, 4, 3, 2, 1], strict=True))
    return (10 - total % 10) % 10 == int(s[8])


def medicare_ok(s: str) -> bool:
    return sum(int(c) * w for c, w in zip(s[:8], [1, 3, 7, 9, 1, 3, 7, 9], strict=True)) % 10 == int(s[8])


def nhs_ok(s: str) -> bool:
    check = 11 - sum(int(c) * w for c, w in zip(s[:9], range(10, 1, -1), strict=True)) % 11
    check = 0 if check == 11 else check
    return check != 10 and check == int(s[9])


def ird_ok(s: str) -> bool:
    base = [int(c) for c in s[:-1].rjust(8, "0")]
    for w in ([3, 2, 7, 6, 5, 4, 3, 2], [7, 4, 3, 2, 5, 2, 7, 6]):
        r = sum(a * b for a, b in zip(base, w, strict=True)) % 11
        c = 0 if r == 0 else 11 - r
        if c != 10:
            return c == int(s[-1])
    return False


NHI_ALPHA = "ABCDEFGHJKLMNPQRSTUVWXYZ"


def nhi_check(prefix6: str) -> str | None:
    vals = [int(c) if c.isdigit() else NHI_ALPHA.index(c) + 1 for c in prefix6]
    total = sum(a * b for a, b in zip(vals, [7, 6, 5, 4, 3, 2], strict=True))
    if prefix6[5].isdigit():
        r = total % 11
        return None if r == 0 else str((11 - r) % 10)
    r = total % 23
    return None if r == 0 else NHI_ALPHA[23 - r - 1]


def luhn_ok(s: str) -> bool:
    total = 0
    for i, c in enumerate(reversed(s)):
        d = int(c) * (2 if i % 2 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


def iban_ok(s: str) -> bool:
    r = s[4:] + s[:4]
    return int("".join(str(int(c, 36)) for c in r)) % 97 == 1


def _complete(prefix: str, ok: Callable[[str], bool]) -> str | None:
    for d in "0123456789":
        if ok(prefix + d):
            return prefix + d
    return None


# -- generators ----------------------------------------------------------------------------------

Gen = Callable[[random.Random], tuple[str, str | None]]  # → (valid formatted, invalid formatted or None)


def gen_tfn9(rng: random.Random) -> tuple[str, str | None]:
    while True:
        s = _complete(_join(_digits(rng, 8)), tfn_ok)
        if s:
            return _group(s, (3, 3, 3)), _group(_bad_last(s, tfn_ok), (3, 3, 3))


def gen_tfn8(rng: random.Random) -> tuple[str, str | None]:
    while True:
        s = _complete(_join(_digits(rng, 7)), tfn_ok)
        if s:
            return s, _bad_last(s, tfn_ok)


def gen_medicare(rng: random.Random) -> tuple[str, str | None]:
    d = [rng.randint(2, 6), *_digits(rng, 7)]
    check = sum(a * b for a, b in zip(d, [1, 3, 7, 9, 1, 3, 7, 9], strict=True)) % 10
    issue = rng.randint(1, 9)
    s = _join(d) + str(check) + str(issue)
    bad = _join(d) + str((check + 1 + rng.randrange(9)) % 10) + str(issue)
    irn = rng.choice(["", f" {rng.randint(1, 5)}", f"/{rng.randint(1, 5)}"])
    return _group(s, (4, 5, 1)) + irn, _group(bad, (4, 5, 1)) + irn


def gen_abn(rng: random.Random) -> tuple[str, str | None]:
    while True:
        d = [rng.randint(1, 9), *_digits(rng, 10)]
        s = _join(d)
        if abn_ok(s):
            bad = s[:-1] + str((int(s[-1]) + 1) % 10)
            return _group(s, (2, 3, 3, 3)), _group(bad, (2, 3, 3, 3))


def gen_acn(rng: random.Random) -> tuple[str, str | None]:
    # Half of the ACNs have check digit 0, the case Presidio's recognizer gets wrong.
    while True:
        s = _complete(_join(_digits(rng, 8)), acn_ok)
        if s and (s[-1] == "0") == (rng.random() < 0.5):
            return _group(s, (3, 3, 3)), _group(_bad_last(s, acn_ok), (3, 3, 3))


def gen_au_passport(rng: random.Random) -> tuple[str, str | None]:
    prefix = rng.choice(
        ["N", "E", "D", "F", "A", "C", "U", "X", "PA", "PB", "PC", "PD", "PE", "PU", "PW", "PZ"]
    )
    return prefix + _join(_digits(rng, 7)), None


def gen_au_dl(rng: random.Random) -> tuple[str, str | None]:
    state = rng.choice(["NSW", "VIC", "QLD", "WA", "SA", "TAS"])
    n = {"NSW": 8, "VIC": 9, "QLD": 9, "WA": 7}.get(state)
    value = _join(_digits(rng, n)) if n else rng.choice(string.ascii_uppercase) + _join(_digits(rng, 5))
    return value, None


def gen_ird(rng: random.Random) -> tuple[str, str | None]:
    while True:
        base = rng.randint(1_000_000, 14_999_999)
        s = _complete(str(base), ird_ok)
        if s and 10_000_000 <= int(s) <= 150_000_000:

            def fmt(x):
                return f"{x[:-6]}-{x[-6:-3]}-{x[-3:]}"

            return fmt(s), fmt(_bad_last(s, ird_ok))


def gen_nhi(rng: random.Random) -> tuple[str, str | None]:
    while True:
        letters = "".join(rng.choice(NHI_ALPHA) for _ in range(3))
        if rng.random() < 0.5:
            body = letters + _join(_digits(rng, 3))
        else:
            body = letters + _join(_digits(rng, 2)) + rng.choice(NHI_ALPHA)
        check = nhi_check(body)
        if check is None:
            continue
        pool = "0123456789" if check.isdigit() else NHI_ALPHA
        wrong = rng.choice([c for c in pool if c != check])
        return body + check, body + wrong


def gen_nhs(rng: random.Random) -> tuple[str, str | None]:
    while True:
        s = _complete(_join(_digits(rng, 9)), nhs_ok)
        if s:
            return _group(s, (3, 3, 4)), _group(_bad_last(s, nhs_ok), (3, 3, 4))


def gen_nino(rng: random.Random) -> tuple[str, str | None]:
    first = rng.choice("ABCEGHJKLMNOPRSTWXYZ")
    second = rng.choice("ABCEGHJKLMNPRSTWXYZ")
    if first + second in {"BG", "GB", "KN", "NK", "NT", "TN", "ZZ"}:
        first, second = "A", "B"
    nums = _join(_digits(rng, 6))
    suffix = rng.choice("ABCD")
    bad_prefix = rng.choice(["D", "F", "I", "Q", "U", "V"]) + second
    return (
        f"{first}{second} {nums[:2]} {nums[2:4]} {nums[4:]} {suffix}",
        f"{bad_prefix} {nums[:2]} {nums[2:4]} {nums[4:]} {suffix}",
    )


_IBAN_SPECS = {
    "DE": "n18",
    "GB": "a4n14",
    "FR": "n23",
    "NL": "a4n10",
    "ES": "n20",
    "IT": "a1n22",
    "IE": "a4n14",
    "BE": "n12",
}


def gen_iban(rng: random.Random) -> tuple[str, str | None]:
    country = rng.choice(sorted(_IBAN_SPECS))
    spec = _IBAN_SPECS[country]
    bban = ""
    for kind, count_text in re.findall(r"([an])(\d+)", spec):
        count = int(count_text)
        pool = string.ascii_uppercase if kind == "a" else string.digits
        bban += "".join(rng.choice(pool) for _ in range(count))
    check = 98 - int("".join(str(int(c, 36)) for c in bban + country + "00")) % 97
    s = f"{country}{check:02d}{bban}"
    assert iban_ok(s)
    bad = f"{country}{(check + 1 + rng.randrange(90)) % 97 + 2:02d}{bban}"
    if iban_ok(bad):
        bad = f"{country}{(check % 97) + 1:02d}{bban}"
    spaced = rng.random() < 0.5
    fmt = (lambda x: " ".join(x[i : i + 4] for i in range(0, len(x), 4))) if spaced else (lambda x: x)
    return fmt(s), fmt(bad)


_CARD_PREFIXES = [
    ("4", 16),
    ("4", 13),
    ("51", 16),
    ("55", 16),
    ("2221", 16),
    ("2720", 16),
    ("34", 15),
    ("37", 15),
    ("6011", 16),
    ("65", 16),
    ("36", 14),
    ("3530", 16),
    ("62", 16),
]


def gen_card(rng: random.Random) -> tuple[str, str | None]:
    prefix, length = rng.choice(_CARD_PREFIXES)
    body = prefix + _join(_digits(rng, length - len(prefix) - 1))
    s = _complete(body, luhn_ok)
    assert s
    bad = _bad_last(s, luhn_ok)
    if length == 16 and rng.random() < 0.5:
        return _group(s, (4, 4, 4, 4)), _group(bad, (4, 4, 4, 4))
    return s, bad


def gen_ssn(rng: random.Random) -> tuple[str, str | None]:
    area = rng.choice([a for a in range(1, 900) if a != 666])
    s = f"{area:03d}-{rng.randint(1, 99):02d}-{rng.randint(1, 9999):04d}"
    bad = rng.choice([f"666-{s[4:]}", f"000-{s[4:]}", f"{s[:4]}00-{s[7:]}", f"{s[:7]}0000", f"9{s[1:]}"])
    if bad.startswith("9"):
        bad = f"9{s[1:3]}-{rng.choice([10, 20, 30, 40, 49, 66, 69, 89, 93]):02d}-{s[7:]}"  # not ITIN either
    return s, bad


def gen_itin(rng: random.Random) -> tuple[str, str | None]:
    group = rng.choice(list(range(50, 66)) + list(range(70, 89)) + [90, 91, 92] + list(range(94, 100)))
    tail = f"{rng.randint(0, 9999):04d}"
    head = f"9{rng.randint(0, 99):02d}"
    return f"{head}-{group:02d}-{tail}", f"{head}-{rng.choice([66, 67, 68, 69, 89, 93]):02d}-{tail}"


def gen_de_vat(rng: random.Random) -> tuple[str, str | None]:
    d = [rng.randint(1, 9), *_digits(rng, 7)]
    product = 10
    for x in d:
        s = (x + product) % 10 or 10
        product = (2 * s) % 11
    check = (11 - product) % 10
    return f"DE{_join(d)}{check}", f"DE{_join(d)}{(check + 1 + rng.randrange(9)) % 10}"


def gen_fr_vat(rng: random.Random) -> tuple[str, str | None]:
    siren = int(_join([rng.randint(1, 9), *_digits(rng, 8)]))
    key = (12 + 3 * (siren % 97)) % 97
    return f"FR{key:02d}{siren}", f"FR{(key + 1 + rng.randrange(50)) % 97:02d}{siren}"


# (table name, entity, category, generator, templates)
TABLES: list[tuple[str, str, str, Gen, list[str]]] = [
    (
        "AU_TFN (9 digits)",
        "AU_TFN",
        "NATIONAL_ID",
        gen_tfn9,
        [
            "My tax file number is {v}.",
            "TFN: {v}",
            "Please update the TFN {v} for the new employee.",
            "Can you check whether {v} is a valid TFN?",
        ],
    ),
    (
        "AU_TFN (8 digits)",
        "AU_TFN",
        "NATIONAL_ID",
        gen_tfn8,
        ["My old TFN is {v}.", "Tax file number {v} was issued in 1988.", "TFN {v} (legacy)"],
    ),
    (
        "AU_MEDICARE",
        "AU_MEDICARE",
        "NATIONAL_ID",
        gen_medicare,
        ["Medicare card number {v}", "Her Medicare number is {v}.", "Patient Medicare: {v}"],
    ),
    (
        "AU_ABN",
        "AU_ABN",
        "BUSINESS_ID",
        gen_abn,
        ["ABN {v}", "Our ABN is {v}.", "Invoice from supplier ABN: {v}"],
    ),
    (
        "AU_ACN",
        "AU_ACN",
        "BUSINESS_ID",
        gen_acn,
        ["ACN {v}", "Acme Pty Ltd (ACN {v})", "The company number (ACN) is {v}."],
    ),
    (
        "AU_PASSPORT",
        "AU_PASSPORT",
        "NATIONAL_ID",
        gen_au_passport,
        ["My passport number is {v}.", "Passport: {v}", "Australian passport no {v}, expires 2031."],
    ),
    (
        "AU_DRIVER_LICENCE",
        "AU_DRIVER_LICENCE",
        "NATIONAL_ID",
        gen_au_dl,
        ["Driver licence number {v}", "My driver's licence is {v}.", "Licence no: {v}"],
    ),
    (
        "NZ_IRD",
        "NZ_IRD",
        "NATIONAL_ID",
        gen_ird,
        ["IRD number {v}", "My IRD number is {v}.", "Inland Revenue number: {v}"],
    ),
    (
        "NZ_NHI",
        "NZ_NHI",
        "NATIONAL_ID",
        gen_nhi,
        ["NHI {v}", "Patient NHI number is {v}.", "National Health Index: {v}"],
    ),
    (
        "UK_NHS",
        "UK_NHS",
        "NATIONAL_ID",
        gen_nhs,
        ["NHS number {v}", "My NHS number is {v}.", "Patient (NHS no. {v}) was seen today."],
    ),
    (
        "UK_NINO",
        "UK_NINO",
        "NATIONAL_ID",
        gen_nino,
        ["National Insurance number {v}", "My NI number is {v}.", "NINO: {v}"],
    ),
    (
        "US_SSN",
        "US_SSN",
        "NATIONAL_ID",
        gen_ssn,
        ["SSN {v}", "My social security number is {v}.", "Employee SSN: {v}"],
    ),
    (
        "US_ITIN",
        "US_ITIN",
        "NATIONAL_ID",
        gen_itin,
        ["ITIN {v}", "My individual taxpayer identification number is {v}.", "Taxpayer ITIN: {v}"],
    ),
    (
        "IBAN",
        "IBAN_CODE",
        "IBAN",
        gen_iban,
        ["IBAN {v}", "Please transfer the deposit to {v}.", "Account: {v}"],
    ),
    (
        "CREDIT_CARD",
        "CREDIT_CARD",
        "CARD",
        gen_card,
        ["Card number {v}", "Charge it to my card {v} please.", "Payment: {v} exp 09/28"],
    ),
    (
        "EU_VAT (DE)",
        "EU_VAT",
        "BUSINESS_ID",
        gen_de_vat,
        ["USt-IdNr. {v}", "VAT number {v}", "Our VAT ID is {v}."],
    ),
    (
        "EU_VAT (FR)",
        "EU_VAT",
        "BUSINESS_ID",
        gen_fr_vat,
        ["TVA intracommunautaire {v}", "VAT number {v}", "Supplier VAT: {v}"],
    ),
]


def _secret_rows(rng: random.Random) -> list[Row]:
    alnum = string.ascii_letters + string.digits

    def r(n: int, pool: str = alnum) -> str:
        return "".join(rng.choice(pool) for _ in range(n))

    valid = [
        ("API_KEY", f"sk-proj-{r(48)}"),
        ("API_KEY", f"sk-{r(48)}"),
        ("API_KEY", f"sk-ant-api03-{r(93)}AA"),
        ("API_KEY", f"AIza{r(35)}"),
        ("AWS_ACCESS_KEY", f"AKIA{r(16, string.ascii_uppercase + string.digits)}"),
        ("AWS_ACCESS_KEY", f"ASIA{r(16, string.ascii_uppercase + string.digits)}"),
        ("API_KEY", f"ghp_{r(36)}"),
        ("API_KEY", f"github_pat_{r(22)}_{r(59)}"),
        ("API_KEY", f"xoxb-{r(12, string.digits)}-{r(13, string.digits)}-{r(24)}"),
        ("API_KEY", f"hf_{r(34, string.ascii_letters)}"),
        ("API_KEY", f"sk_live_{r(24)}"),
        (
            "JWT",
            "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."
            + "eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkphbmUifQ."
            + r(43),
        ),
        (
            "PRIVATE_KEY",
            "-----BEGIN RSA PRIVATE KEY-----\n" + r(64) + "\n" + r(64) + "\n-----END RSA PRIVATE KEY-----",
        ),
    ]
    rows = []
    for entity, value in valid:
        for template in ("Use this key: {v}", "export TOKEN={v}", "the credential is {v} keep it safe"):
            rows.append(_fill(template, value, entity, "credentials", True))
    pw = r(12)
    rows.append(
        Row(
            f"Connect with postgres://app:{pw}@db.internal:5432/prod",
            [("PASSWORD", 28, 28 + len(pw))],
            "credentials",
            True,
        )
    )
    invalid = [
        "sk-short",
        "the sk- prefix marks OpenAI keys",
        "AKIA followed by nothing",
        "ghp_tooShort",
        "eyJub3Rqc29u.eyJzdWIiOiIxIn0.c2lnbmF0dXJlc2lnbmF0dXJl",
        "postgres://app:${DB_PASSWORD}@db.internal/prod",
        "https://user:password@example.com/",
        "https://example.com/path?x=1",
        "keep this secret between us",
    ]
    for text in invalid:
        rows.append(Row(text, [], "credentials", False))
    return rows


def rows(seed: int = 7, per_table: int = 12) -> list[Row]:
    """All table rows: ``per_table`` valid and (where checksummed) invalid values per identifier."""
    rng = random.Random(seed)
    out: list[Row] = []
    for table, entity, _category, gen, templates in TABLES:
        for i in range(per_table):
            good, bad = gen(rng)
            template = templates[i % len(templates)]
            out.append(_fill(template, good, entity, table, True))
            if bad is not None:
                out.append(_fill(template, bad, entity, table, False))
    out.extend(_secret_rows(rng))
    return out


TABLE_CATEGORY = {table: category for table, _e, category, _g, _t in TABLES}
TABLE_ENTITY = {table: entity for table, entity, _c, _g, _t in TABLES}
