"""Pattern recognizers: checksummed identifiers, credentials, markings, phones, addresses, name cues.

This module is the pattern half of detection (model-free, cheap, run on every text).
``recognizers()`` returns Presidio recognizers that ``scanner.detectors.pii`` adds to its registry,
and ``REPLACED`` names Presidio's default recognizers they supersede (which must be removed from the
registry so that both do not report).

How a recognizer scores a match:

* A regular expression finds a candidate; each pattern carries a base score that reflects how
  distinctive the *shape* is (``123 456 782`` is more telling than ``123456782``).
* ``invalidate_result`` runs the identifier's check-digit algorithm: a failed checksum drops the
  candidate outright, so an invalid number is never reported as that entity.
* Context words found near the match (in the text, up to ``_WINDOW`` characters before or a few
  after) add ``boost``. Identifiers whose shape alone is weak (8-digit TFNs, passports, driver
  licences) have a base score below the default ``--min-score`` and therefore need context. The
  recognizers also declare the same words as Presidio ``context`` so that a JSON key passed via
  ``analyze(context=...)`` (field awareness) can raise them too; a result already boosted here is
  marked so that Presidio does not boost it twice.

Besides identifiers: credentials (provider key prefixes, JWTs, PEM keys, passwords in URLs),
Australian protective markings, phone numbers (regex candidates checked with ``phonenumbers``
against a region list), street addresses and names announced by a cue ("My name is …"), the last
three filling gaps the small NER model leaves.

Sources for the check-digit algorithms are cited next to each validator. Validators are pure
functions taking the matched text, so they can be unit-tested without Presidio.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from presidio_analyzer import (
    AnalysisExplanation,
    EntityRecognizer,
    Pattern,
    PatternRecognizer,
    RecognizerResult,
)

# How far around a match context words are looked for (characters before / after).
_WINDOW = 48
_WINDOW_AFTER = 24
# Texts longer than this are not field values: Presidio's per-result context pass is skipped.
FIELD_TEXT_MAX = 2000
_CASE_SENSITIVE = re.MULTILINE | re.DOTALL
_CASE_INSENSITIVE = re.MULTILINE | re.DOTALL | re.IGNORECASE

# Presidio default recognizers whose entities these recognizers report better (checksums,
# realistic ranges, country scoping); they must be removed from the registry.
REPLACED: frozenset[str] = frozenset(
    {
        "AuTfnRecognizer",
        "AuMedicareRecognizer",
        "AuAbnRecognizer",
        "AuAcnRecognizer",
        "PhoneRecognizer",
        "NhsRecognizer",
        "UkNinoRecognizer",
        "CreditCardRecognizer",
        "IbanRecognizer",
        "UsSsnRecognizer",
        "UsItinRecognizer",
        "MedicalLicenseRecognizer",
    }
)


def _digits(text: str) -> list[int]:
    return [int(c) for c in text if c.isdigit()]


# ------------------------------------------------------------------------------------------------
# Validators (pure; text as matched, separators allowed)
# ------------------------------------------------------------------------------------------------

# TFN: 9-digit weights are published in Presidio's AuTfnRecognizer and python-stdnum (stdnum.au.tfn).
# The ATO does not publish the algorithm; for the older 8-digit TFNs the weights 10,7,8,4,6,3,5,1
# (mod 11) are used consistently by independent open-source validators (e.g. C#, TypeScript, Rust
# and Vue implementations found on GitHub). They are the 9-digit weights negated mod 11
# (10·w ≡ −w) with the 8th position dropped, which is consistent with 8-digit TFNs being the older
# numbering. Treated as a de-facto rule, not an official one.
_TFN_WEIGHTS = {9: (1, 4, 3, 7, 5, 8, 6, 9, 10), 8: (10, 7, 8, 4, 6, 3, 5, 1)}


def valid_tfn(text: str) -> bool:
    d = _digits(text)
    weights = _TFN_WEIGHTS.get(len(d))
    if weights is None or len(set(d)) == 1:
        return False
    return sum(a * b for a, b in zip(d, weights, strict=True)) % 11 == 0


def valid_medicare(text: str) -> bool:
    """Medicare card number: first digit 2–6; digits 1–8 weighted 1,3,7,9,1,3,7,9, sum mod 10 = digit 9.

    Digit 10 is the card issue number (1–9); an 11th digit, the individual reference number
    (IRN, 1–9), is optional. Source: NEHTA/Services Australia card format as quoted in Presidio's
    AuMedicareRecognizer and the Australian identifier notes in the project's research.
    """
    d = _digits(text)
    if len(d) not in (10, 11) or not 2 <= d[0] <= 6 or d[9] == 0 or (len(d) == 11 and d[10] == 0):
        return False
    return sum(a * b for a, b in zip(d[:8], (1, 3, 7, 9, 1, 3, 7, 9), strict=True)) % 10 == d[8]


def valid_abn(text: str) -> bool:
    """ABN: subtract 1 from the first digit; weights 10,1,3,…,19; sum mod 89 = 0 (ABR "Format of the ABN")."""
    d = _digits(text)
    if len(d) != 11 or d[0] == 0:
        return False
    d[0] -= 1
    weights = (10, 1, 3, 5, 7, 9, 11, 13, 15, 17, 19)
    return sum(a * b for a, b in zip(d, weights, strict=True)) % 89 == 0


def valid_acn(text: str) -> bool:
    """ACN: weights 8..1 on digits 1–8; check = (10 − sum mod 10) mod 10 (ASIC).

    The final ``mod 10`` matters: ACNs whose check digit is 0 (ASIC's example 000 250 000) are
    rejected by Presidio's AuAcnRecognizer, which omits it.
    """
    d = _digits(text)
    if len(d) != 9:
        return False
    total = sum(a * b for a, b in zip(d[:8], range(8, 0, -1), strict=True))
    return (10 - total % 10) % 10 == d[8]


def valid_nz_ird(text: str) -> bool:
    """NZ IRD number (Inland Revenue "Resident Withholding Tax / IRD number validation" spec).

    8 or 9 digits, base (without check digit) between 10,000,000 and 150,000,000; weights
    3,2,7,6,5,4,3,2 on the base padded to 8 digits, check = 11 − sum mod 11 (0 if remainder 0);
    a computed 10 is retried with the secondary weights 7,4,3,2,5,2,7,6 and is invalid if 10 again.
    """
    d = _digits(text)
    if len(d) not in (8, 9):
        return False
    value = int("".join(map(str, d)))
    if not 10_000_000 <= value <= 150_000_000:
        return False
    base, check = d[:-1], d[-1]
    base = [0] * (8 - len(base)) + base
    for weights in ((3, 2, 7, 6, 5, 4, 3, 2), (7, 4, 3, 2, 5, 2, 7, 6)):
        rem = sum(a * b for a, b in zip(base, weights, strict=True)) % 11
        computed = 0 if rem == 0 else 11 - rem
        if computed != 10:
            return computed == check
    return False


_NHI_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"  # I and O are never used


def valid_nz_nhi(text: str) -> bool:
    """NZ National Health Index number, old ``AAANNNN`` and new ``AAANNAA`` formats (HISO 10046:2023).

    Letters count A=1…Z=24 (I and O excluded); the first six characters are weighted 7,6,5,4,3,2.
    Old format: check digit = 11 − sum mod 11 (remainder 0 invalid; 10 becomes 0).
    New format: check letter = the letter whose value is 23 − sum mod 23 (remainder 0 invalid).
    """
    s = text.strip().upper()
    if len(s) != 7 or any(c not in _NHI_LETTERS for c in s[:3]):
        return False
    values = []
    for c in s[:6]:
        values.append(int(c) if c.isdigit() else _NHI_LETTERS.index(c) + 1)
    total = sum(a * b for a, b in zip(values, (7, 6, 5, 4, 3, 2), strict=True))
    if s[3:7].isdigit():
        rem = total % 11
        if rem == 0:
            return False
        return (11 - rem) % 10 == int(s[6])
    if s[3:5].isdigit() and s[5] in _NHI_LETTERS and s[6] in _NHI_LETTERS:
        rem = total % 23
        return rem != 0 and _NHI_LETTERS[23 - rem - 1] == s[6]
    return False


def valid_uk_nhs(text: str) -> bool:
    """NHS number: weights 10..2 on digits 1–9; check = 11 − sum mod 11 (11 → 0, 10 invalid)."""
    d = _digits(text)
    if len(d) != 10 or len(set(d)) == 1:
        return False
    check = 11 - sum(a * b for a, b in zip(d[:9], range(10, 1, -1), strict=True)) % 11
    if check == 11:
        check = 0
    return check != 10 and check == d[9]


# HMRC National Insurance Manual NIM39110: D, F, I, Q, U, V never used as either prefix letter; O not
# as the second; the prefixes BG, GB, KN, NK, NT, TN and ZZ are not allocated.
_NINO_BAD_PREFIXES = frozenset({"BG", "GB", "KN", "NK", "NT", "TN", "ZZ"})


def valid_uk_nino(text: str) -> bool:
    s = re.sub(r"[\s-]", "", text).upper()
    if not re.fullmatch(r"[A-Z]{2}\d{6}[A-D]", s):
        return False
    first, second = s[0], s[1]
    if first in "DFIQUV" or second in "DFIQUVO":
        return False
    return s[:2] not in _NINO_BAD_PREFIXES


# SWIFT IBAN Registry (release 98): country code → total IBAN length.
IBAN_LENGTHS: dict[str, int] = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22,
    "BI": 27, "BR": 29, "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DJ": 27,
    "DK": 18, "DO": 28, "EE": 20, "EG": 29, "ES": 24, "FI": 18, "FK": 18, "FO": 18, "FR": 27,
    "GB": 22, "GE": 22, "GI": 23, "GL": 18, "GR": 27, "GT": 28, "HR": 21, "HU": 28, "IE": 22,
    "IL": 23, "IQ": 23, "IS": 26, "IT": 27, "JO": 30, "KW": 30, "KZ": 20, "LB": 28, "LC": 32,
    "LI": 21, "LT": 20, "LU": 20, "LV": 21, "LY": 25, "MC": 27, "MD": 24, "ME": 22, "MK": 19,
    "MN": 20, "MR": 27, "MT": 31, "MU": 30, "NI": 28, "NL": 18, "NO": 15, "OM": 23, "PK": 24,
    "PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22, "RU": 33, "SA": 24, "SC": 31,
    "SD": 18, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "SO": 23, "ST": 25, "SV": 28, "TL": 23,
    "TN": 24, "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20, "YE": 30,
}  # fmt: skip


def valid_iban(text: str) -> bool:
    """IBAN: registry length for the country, then ISO 7064 mod 97-10 (remainder 1)."""
    s = re.sub(r"[\s-]", "", text).upper()
    if IBAN_LENGTHS.get(s[:2]) != len(s) or not s[2:4].isdigit() or not s.isalnum():
        return False
    rearranged = s[4:] + s[:4]
    return int("".join(str(int(c, 36)) for c in rearranged)) % 97 == 1


def luhn(text: str) -> bool:
    d = _digits(text)
    total = 0
    for i, digit in enumerate(reversed(d)):
        if i % 2:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return bool(d) and total % 10 == 0


# Issuer identification number ranges and lengths of the major card schemes (ISO/IEC 7812 ranges as
# published by the schemes; summarised on Wikipedia "Payment card number"): (low, high, lengths).
_IIN_RANGES: tuple[tuple[int, int, tuple[int, ...]], ...] = (
    (4, 4, (13, 16, 19)),  # Visa
    (51, 55, (16,)),  # Mastercard
    (2221, 2720, (16,)),  # Mastercard 2-series
    (34, 34, (15,)),  # American Express
    (37, 37, (15,)),
    (6011, 6011, (16, 17, 18, 19)),  # Discover
    (644, 649, (16, 17, 18, 19)),
    (65, 65, (16, 17, 18, 19)),
    (622126, 622925, (16, 17, 18, 19)),
    (300, 305, (14, 15, 16, 17, 18, 19)),  # Diners Club
    (36, 36, (14, 15, 16, 17, 18, 19)),
    (38, 39, (14, 15, 16, 17, 18, 19)),
    (3528, 3589, (16, 17, 18, 19)),  # JCB
    (2131, 2131, (15,)),  # JCB legacy 15-digit
    (1800, 1800, (15,)),
    (62, 62, (16, 17, 18, 19)),  # UnionPay
    (2200, 2204, (16, 17, 18, 19)),  # Mir
    (5018, 5018, (12, 13, 14, 15, 16, 17, 18, 19)),  # Maestro
    (5020, 5020, (12, 13, 14, 15, 16, 17, 18, 19)),
    (5038, 5038, (12, 13, 14, 15, 16, 17, 18, 19)),
    (56, 58, (12, 13, 14, 15, 16, 17, 18, 19)),
    (6304, 6304, (12, 13, 14, 15, 16, 17, 18, 19)),
    (6759, 6759, (12, 13, 14, 15, 16, 17, 18, 19)),
    (6761, 6763, (12, 13, 14, 15, 16, 17, 18, 19)),
    (6390, 6390, (12, 13, 14, 15, 16, 17, 18, 19)),
)


def valid_card(text: str) -> bool:
    """Payment card number: Luhn plus a known issuer range with a length that scheme issues."""
    s = "".join(c for c in text if c.isdigit())
    if not 12 <= len(s) <= 19 or not luhn(s) or len(set(s)) == 1:
        return False
    for low, high, lengths in _IIN_RANGES:
        width = len(str(low))
        if low <= int(s[:width]) <= high and len(s) in lengths:
            return True
    return False


def valid_us_ssn(text: str) -> bool:
    """SSN (SSA): area 001–899 except 666, group 01–99, serial 0001–9999; advertising numbers excluded."""
    d = "".join(c for c in text if c.isdigit())
    if len(d) != 9:
        return False
    area, group, serial = int(d[:3]), int(d[3:5]), int(d[5:])
    if area in {0, 666} or area >= 900 or group == 0 or serial == 0:
        return False
    return d not in {"078051120", "219099999", "123456789"}


def valid_us_itin(text: str) -> bool:
    """ITIN (IRS): 9XX-YY-ZZZZ with YY in 50–65, 70–88, 90–92 or 94–99."""
    d = "".join(c for c in text if c.isdigit())
    if len(d) != 9 or d[0] != "9":
        return False
    group = int(d[3:5])
    return 50 <= group <= 65 or 70 <= group <= 88 or 90 <= group <= 92 or 94 <= group <= 99


# -- EU VAT numbers: format per country (European Commission VIES "VAT number structure"), with
# check digits for the larger economies (algorithms as implemented in python-stdnum's stdnum.eu.vat
# modules, which cite the national tax administrations).
_VAT_FORMATS: dict[str, str] = {
    "AT": r"U\d{8}", "BE": r"[01]\d{9}", "BG": r"\d{9,10}", "CY": r"\d{8}[A-Z]", "CZ": r"\d{8,10}",
    "DE": r"\d{9}", "DK": r"\d{8}", "EE": r"\d{9}", "EL": r"\d{9}", "ES": r"[A-Z0-9]\d{7}[A-Z0-9]",
    "FI": r"\d{8}", "FR": r"[A-HJ-NP-Z0-9]{2}\d{9}", "HR": r"\d{11}", "HU": r"\d{8}",
    "IE": r"\d{7}[A-W][A-I]?|\d[A-Z+*]\d{5}[A-W]", "IT": r"\d{11}", "LT": r"\d{9}|\d{12}",
    "LU": r"\d{8}", "LV": r"\d{11}", "MT": r"\d{8}", "NL": r"\d{9}B\d{2}", "PL": r"\d{10}",
    "PT": r"\d{9}", "RO": r"[1-9]\d{1,9}", "SE": r"\d{10}01", "SI": r"\d{8}", "SK": r"\d{10}",
}  # fmt: skip


def _weighted(d: Sequence[int], weights: Iterable[int]) -> int:
    return sum(a * b for a, b in zip(d, weights, strict=False))


def _vat_de(n: str) -> bool:  # ISO 7064 MOD 11,10
    product = 10
    for c in n[:8]:
        s = (int(c) + product) % 10 or 10
        product = (2 * s) % 11
    return (11 - product) % 10 == int(n[8])


def _vat_fr(n: str) -> bool:
    key, siren = n[:2], n[2:]
    if not key.isdigit():
        return True  # newer alphanumeric keys: format only
    return int(key) == (12 + 3 * (int(siren) % 97)) % 97


def _vat_it(n: str) -> bool:
    return luhn(n) and n[:7] != "0000000"


def _vat_nl(n: str) -> bool:
    d = [int(c) for c in n[:9]]
    if _weighted(d[:8], range(9, 1, -1)) % 11 % 10 == d[8]:
        return True
    # Sole-trader numbers since 2020: mod 97 over "NL" + number (as for IBAN).
    return int("".join(str(int(c, 36)) for c in "NL" + n)) % 97 == 1


def _vat_be(n: str) -> bool:
    return 97 - int(n[:8]) % 97 == int(n[8:])


def _vat_at(n: str) -> bool:
    d = [int(c) for c in n[1:]]
    total = 0
    for i, digit in enumerate(d[:7]):
        v = digit * (2 if i % 2 else 1)
        total += v // 10 + v % 10
    return (10 - (total + 4) % 10) % 10 == d[7]


def _vat_es(n: str) -> bool:
    return True  # several schemes (NIF/NIE/CIF); format only


def _vat_pl(n: str) -> bool:
    d = [int(c) for c in n]
    return _weighted(d, (6, 5, 7, 2, 3, 4, 5, 6, 7)) % 11 == d[9]


def _vat_dk(n: str) -> bool:
    return _weighted([int(c) for c in n], (2, 7, 6, 5, 4, 3, 2, 1)) % 11 == 0


def _vat_fi(n: str) -> bool:
    d = [int(c) for c in n]
    rem = _weighted(d, (7, 9, 10, 5, 8, 4, 2)) % 11
    return rem != 1 and (0 if rem == 0 else 11 - rem) == d[7]


def _vat_pt(n: str) -> bool:
    d = [int(c) for c in n]
    check = 11 - _weighted(d, range(9, 1, -1)) % 11
    return (0 if check >= 10 else check) == d[8]


def _vat_se(n: str) -> bool:
    return luhn(n[:10])


_VAT_CHECKS: dict[str, Callable[[str], bool]] = {
    "DE": _vat_de, "FR": _vat_fr, "IT": _vat_it, "NL": _vat_nl, "BE": _vat_be, "AT": _vat_at,
    "ES": _vat_es, "PL": _vat_pl, "DK": _vat_dk, "FI": _vat_fi, "PT": _vat_pt, "SE": _vat_se,
}  # fmt: skip


def valid_eu_vat(text: str) -> bool:
    s = re.sub(r"[\s.-]", "", text).upper()
    country, number = s[:2], s[2:]
    fmt = _VAT_FORMATS.get(country)
    if fmt is None or not re.fullmatch(fmt, number):
        return False
    check = _VAT_CHECKS.get(country)
    return check(number) if check else True


_PLACEHOLDER_PASSWORDS = frozenset(
    {"password", "pass", "passwd", "secret", "changeme", "xxx", "xxxx", "xxxxxx", "redacted", "user"}
)


def valid_url_password(text: str) -> bool:
    """A password in ``scheme://user:password@host``, unless it is a placeholder or a template."""
    low = text.lower()
    if low in _PLACEHOLDER_PASSWORDS or set(text) <= {"*", "x", "X", "."}:
        return False
    return not (text.startswith(("$", "{", "<", "%")) or text.endswith(("}", ">")))


def valid_jwt(text: str) -> bool:
    """A JWT whose header decodes to a JSON object with an ``alg`` (or ``typ``) member."""
    header = text.split(".", 1)[0]
    try:
        raw = base64.urlsafe_b64decode(header + "=" * (-len(header) % 4))
        obj = json.loads(raw)
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return False
    return isinstance(obj, dict) and ("alg" in obj or "typ" in obj)


# ------------------------------------------------------------------------------------------------
# Recognizer machinery
# ------------------------------------------------------------------------------------------------


def _context_regex(words: Sequence[str]) -> re.Pattern[str] | None:
    if not words:
        return None
    alternatives = sorted({re.escape(w.lower()) for w in words}, key=len, reverse=True)
    return re.compile(r"(?<![a-z0-9])(?:" + "|".join(alternatives) + r")(?![a-z0-9])")


def has_context(text: str, start: int, end: int, regex: re.Pattern[str] | None) -> bool:
    """Whether a context word occurs shortly before (or just after) ``text[start:end]``."""
    if regex is None:
        return False
    before = text[max(0, start - _WINDOW) : start].lower()
    after = text[end : end + _WINDOW_AFTER].lower()
    return bool(regex.search(before) or regex.search(after))


def _result(
    recognizer: EntityRecognizer, entity: str, start: int, end: int, score: float, enhanced: bool
) -> RecognizerResult:
    """A result as Presidio's own recognizers build it (the context enhancer needs the explanation)."""
    name = str(recognizer.__dict__["name"])  # untyped attribute in Presidio
    return RecognizerResult(
        entity,
        start,
        end,
        score,
        analysis_explanation=AnalysisExplanation(recognizer=name, original_score=score),
        recognition_metadata={
            RecognizerResult.RECOGNIZER_NAME_KEY: name,
            RecognizerResult.RECOGNIZER_IDENTIFIER_KEY: recognizer.id,
            RecognizerResult.IS_SCORE_ENHANCED_BY_CONTEXT_KEY: enhanced,
        },
    )


class CheckedRecognizer(PatternRecognizer):
    """A pattern recognizer with a check-digit validator and its own context scoring.

    ``check`` runs in ``invalidate_result``: a candidate failing it is dropped. ``boost`` is added
    when one of ``context`` is near the match.
    """

    def __init__(
        self,
        *,
        entity: str,
        name: str,
        patterns: Sequence[tuple[str, str, float]],
        check: Callable[[str], bool] | None = None,
        context: Sequence[str] = (),
        boost: float = 0.35,
        case_sensitive: bool = False,
    ) -> None:
        super().__init__(
            supported_entity=entity,
            name=name,
            supported_language="en",
            patterns=[Pattern(n, r, s) for n, r, s in patterns],
            context=list(context),
            global_regex_flags=_CASE_SENSITIVE if case_sensitive else _CASE_INSENSITIVE,
        )
        self.check = check
        self.boost = boost
        self._context_re = _context_regex(context)

    def invalidate_result(self, pattern_text: str) -> bool | None:
        if self.check is None:
            return None
        return not self.check(pattern_text)

    def analyze(
        self,
        text: str,
        entities: list[str],
        nlp_artifacts: Any = None,
        regex_flags: int | None = None,
    ) -> list[RecognizerResult]:
        results: list[RecognizerResult] = super().analyze(text, entities, nlp_artifacts, regex_flags)
        for result in results:
            found = bool(self.boost) and has_context(text, result.start, result.end, self._context_re)
            if found:
                result.score = min(1.0, result.score + self.boost)
            # Presidio's own context pass costs O(tokens) per result; it is left to short texts
            # (field values, where the JSON key is the context) and skipped in long ones.
            if found or len(text) > FIELD_TEXT_MAX:
                result.recognition_metadata[RecognizerResult.IS_SCORE_ENHANCED_BY_CONTEXT_KEY] = True
        return results


# Digit-group helpers: separators between groups are a space, a hyphen or nothing.
_B = r"(?<![\w.,/-])"  # not glued to a longer token on the left
_E = r"(?![\w/-]|[.,]\d)"  # nor on the right (a trailing full stop is fine)


def _tfn() -> CheckedRecognizer:
    return CheckedRecognizer(
        entity="AU_TFN",
        name="SovAuTfnRecognizer",
        patterns=[
            ("tfn_9_grouped", _B + r"\d{3}([ -])\d{3}\1\d{3}" + _E, 0.5),
            ("tfn_9_plain", _B + r"\d{9}" + _E, 0.15),
            ("tfn_8", _B + r"\d{3}[ -]?\d{3}[ -]?\d{2}" + _E, 0.1),
        ],
        check=valid_tfn,
        context=["tfn", "tax file", "tax file number", "file number", "tax", "ato"],
        boost=0.4,
    )


def _medicare() -> CheckedRecognizer:
    return CheckedRecognizer(
        entity="AU_MEDICARE",
        name="SovAuMedicareRecognizer",
        patterns=[
            ("medicare_grouped", _B + r"[2-6]\d{3}([ -])\d{5}\1\d(?:(?:[ -]|\s?/\s?)[1-9])?" + _E, 0.5),
            ("medicare_plain", _B + r"[2-6]\d{9,10}" + _E, 0.2),
        ],
        check=valid_medicare,
        context=["medicare", "irn", "medicare card", "card number", "medicare number"],
        boost=0.45,
    )


def _abn() -> CheckedRecognizer:
    return CheckedRecognizer(
        entity="AU_ABN",
        name="SovAuAbnRecognizer",
        patterns=[
            ("abn_grouped", _B + r"\d{2} \d{3} \d{3} \d{3}" + _E, 0.7),
            ("abn_plain", _B + r"\d{11}" + _E, 0.4),
        ],
        check=valid_abn,
        context=["abn", "australian business number", "business number"],
        boost=0.25,
    )


def _acn() -> CheckedRecognizer:
    return CheckedRecognizer(
        entity="AU_ACN",
        name="SovAuAcnRecognizer",
        patterns=[
            ("acn_grouped", _B + r"\d{3} \d{3} \d{3}" + _E, 0.3),
            ("acn_plain", _B + r"\d{9}" + _E, 0.1),
        ],
        check=valid_acn,
        context=["acn", "arbn", "company number", "australian company number", "pty", "ltd", "limited"],
        boost=0.5,
    )


def _au_passport() -> CheckedRecognizer:
    # Microsoft Purview "Australia passport number" SIT: one letter (N, E, D, F, A, C, U, X) + 7
    # digits, or two letters (PA–PF, PU, PW, PX, PZ) + 7 digits. No checksum: context required.
    return CheckedRecognizer(
        entity="AU_PASSPORT",
        name="SovAuPassportRecognizer",
        patterns=[("au_passport", r"\b(?:[NEDFACUX]|P[A-FUWXZ])\d{7}\b", 0.1)],
        context=["passport", "passport number", "passport no", "travel document"],
        boost=0.55,
        case_sensitive=True,
    )


def _au_driver_licence() -> CheckedRecognizer:
    # State/territory licence numbers (no national format, no checksum), so context is required:
    # NSW 8 digits; VIC up to 10 digits; QLD 8–9 digits; WA 7 digits; SA one letter + 5 digits
    # (or 6 digits); TAS one or two letters + 4–5 digits (or 6 digits); ACT and NT up to 10 digits.
    return CheckedRecognizer(
        entity="AU_DRIVER_LICENCE",
        name="SovAuDriverLicenceRecognizer",
        patterns=[
            ("au_dl_digits", _B + r"\d{6,10}" + _E, 0.05),
            ("au_dl_letters", r"\b[A-Z]{1,2}\d{4,6}\b", 0.05),
        ],
        context=[
            "driver licence", "driver's licence", "drivers licence", "driver license",
            # not "licence" alone: software licences ("12 x Terraform licence") are not driver licences
            "driving licence", "licence number", "licence no", "license number", "dl", "licence:",
        ],
        # 0.65 with context, level with Presidio's US licence reading of the same token: a state
        # format alone cannot tell an Australian licence from an American one, so both are kept.
        boost=0.6,
        case_sensitive=True,
    )  # fmt: skip


def _nz_ird() -> CheckedRecognizer:
    return CheckedRecognizer(
        entity="NZ_IRD",
        name="SovNzIrdRecognizer",
        patterns=[
            ("ird_grouped", _B + r"\d{2,3}-\d{3}-\d{3}" + _E, 0.3),
            ("ird_spaced", _B + r"\d{2,3} \d{3} \d{3}" + _E, 0.1),
            ("ird_plain", _B + r"\d{8,9}" + _E, 0.05),
        ],
        check=valid_nz_ird,
        context=["ird", "ird number", "inland revenue", "gst number", "tax number"],
        boost=0.5,
    )


def _nz_nhi() -> CheckedRecognizer:
    return CheckedRecognizer(
        entity="NZ_NHI",
        name="SovNzNhiRecognizer",
        patterns=[("nhi", r"\b[A-HJ-NP-Z]{3}(?:\d{4}|\d{2}[A-HJ-NP-Z]{2})\b", 0.3)],
        check=valid_nz_nhi,
        context=["nhi", "national health index", "nhi number", "patient", "health"],
        boost=0.5,
        case_sensitive=True,
    )


def _uk_nhs() -> CheckedRecognizer:
    # Written "943 476 5919"; hyphenated or run-together ten digits read like phone numbers, so
    # those shapes need context.
    return CheckedRecognizer(
        entity="UK_NHS",
        name="SovUkNhsRecognizer",
        patterns=[
            ("nhs_spaced", _B + r"\d{3} \d{3} \d{4}" + _E, 0.45),
            ("nhs_other", _B + r"\d{3}-?\d{3}-?\d{4}" + _E, 0.1),
        ],
        check=valid_uk_nhs,
        context=["nhs", "nhs number", "national health service", "patient", "chi"],
        boost=0.45,
    )


def _uk_nino() -> CheckedRecognizer:
    return CheckedRecognizer(
        entity="UK_NINO",
        name="SovUkNinoRecognizer",
        patterns=[("nino", r"\b[A-Z]{2} ?\d{2} ?\d{2} ?\d{2} ?[A-D]\b", 0.6)],
        check=valid_uk_nino,
        context=["national insurance", "nino", "ni number", "insurance number"],
        boost=0.3,
        case_sensitive=True,
    )


def _iban() -> CheckedRecognizer:
    return CheckedRecognizer(
        entity="IBAN_CODE",
        name="SovIbanRecognizer",
        patterns=[
            ("iban_grouped", r"\b[A-Z]{2}\d{2}(?: [A-Z0-9]{4}){2,7}(?: [A-Z0-9]{1,4})?\b", 0.85),
            ("iban_plain", r"\b[A-Z]{2}\d{2}[A-Z0-9]{11,30}\b", 0.85),
        ],
        check=valid_iban,
        context=["iban", "account", "bank", "transfer", "bic", "swift"],
        boost=0.15,
    )


def _eu_vat() -> CheckedRecognizer:
    countries = "|".join(sorted(_VAT_FORMATS))
    return CheckedRecognizer(
        entity="EU_VAT",
        name="SovEuVatRecognizer",
        # Every VAT number has digits; the look-ahead keeps "be finished" from being a candidate.
        patterns=[("eu_vat", r"\b(?:" + countries + r") ?(?=[A-Z+*]*\d)[A-Z0-9+*]{8,12}\b", 0.45)],
        check=valid_eu_vat,
        context=["vat", "btw", "tva", "ust-idnr", "ust", "iva", "mwst", "moms", "alv", "nip", "vat number"],
        boost=0.4,
        case_sensitive=True,
    )


def _us_ssn() -> CheckedRecognizer:
    return CheckedRecognizer(
        entity="US_SSN",
        name="SovUsSsnRecognizer",
        patterns=[
            ("ssn_dashed", _B + r"\d{3}-\d{2}-\d{4}" + _E, 0.6),
            ("ssn_spaced", _B + r"\d{3} \d{2} \d{4}" + _E, 0.4),
            ("ssn_plain", _B + r"\d{9}" + _E, 0.05),
        ],
        check=valid_us_ssn,
        context=["ssn", "social security", "social security number", "ss#", "ssa"],
        boost=0.35,
    )


def _us_itin() -> CheckedRecognizer:
    return CheckedRecognizer(
        entity="US_ITIN",
        name="SovUsItinRecognizer",
        patterns=[
            ("itin_dashed", _B + r"9\d{2}-\d{2}-\d{4}" + _E, 0.65),
            ("itin_spaced", _B + r"9\d{2} \d{2} \d{4}" + _E, 0.45),
            ("itin_plain", _B + r"9\d{8}" + _E, 0.1),
        ],
        check=valid_us_itin,
        context=["itin", "taxpayer identification", "individual taxpayer"],
        boost=0.3,
    )


class CardRecognizer(CheckedRecognizer):
    """CREDIT_CARD: Luhn drops a candidate; a number outside every known issuer range (or at a
    length its scheme does not issue) is kept only next to a card word, at a score of 0.45."""

    def analyze(
        self,
        text: str,
        entities: list[str],
        nlp_artifacts: Any = None,
        regex_flags: int | None = None,
    ) -> list[RecognizerResult]:
        out = []
        for result in super().analyze(text, entities, nlp_artifacts, regex_flags):
            if not valid_card(text[result.start : result.end]):
                if not has_context(text, result.start, result.end, self._context_re):
                    continue
                result.score = 0.45
            out.append(result)
        return out


def valid_us_dea(text: str) -> bool:
    """DEA registration number: (d1+d3+d5) + 2·(d2+d4+d6), last digit = check digit (DEA)."""
    d = _digits(text[2:])
    if len(d) != 7:
        return False
    return (d[0] + d[2] + d[4] + 2 * (d[1] + d[3] + d[5])) % 10 == d[6]


def _us_dea() -> CheckedRecognizer:
    # Replaces Presidio's MedicalLicenseRecognizer, which reports any checksum-valid two letters +
    # seven digits (an Australian passport "PW9417634", a product code) at 1.0 without context.
    return CheckedRecognizer(
        entity="MEDICAL_LICENSE",
        name="SovUsDeaRecognizer",
        patterns=[("dea", r"\b[ABCDEFGHJKLMPRSTUX][A-Z9]\d{7}\b", 0.3)],
        check=valid_us_dea,
        context=["dea", "dea number", "registration", "prescriber", "medical license", "medical licence"],
        boost=0.5,
        case_sensitive=True,
    )


def _credit_card() -> CheckedRecognizer:
    return CardRecognizer(
        entity="CREDIT_CARD",
        name="SovCreditCardRecognizer",
        patterns=[
            ("card_grouped", _B + r"\d{4}([ -])\d{4}\1\d{4}\1\d{1,7}" + _E, 0.8),
            ("card_amex", _B + r"3[47]\d{2}([ -])\d{6}\1\d{5}" + _E, 0.8),
            ("card_plain", _B + r"\d{12,19}" + _E, 0.6),
        ],
        check=luhn,
        context=["card", "credit", "debit", "visa", "mastercard", "amex", "cc", "pan", "payment"],
        boost=0.2,
    )


# -- Credentials ---------------------------------------------------------------------------------


def _credentials() -> list[EntityRecognizer]:
    def key(name: str, regex: str, score: float = 0.95, entity: str = "API_KEY") -> CheckedRecognizer:
        return CheckedRecognizer(
            entity=entity, name=name, patterns=[(name, regex, score)], boost=0.0, case_sensitive=True
        )

    tail = r"(?![A-Za-z0-9_-])"
    return [
        key("SovAnthropicKey", r"\bsk-ant-[a-z]{3,8}\d{0,3}-[A-Za-z0-9_-]{32,}" + tail),
        key("SovOpenAiKey", r"\bsk-(?:proj-|svcacct-|admin-)?(?!ant-)[A-Za-z0-9_-]{32,}" + tail),
        key("SovGoogleApiKey", r"\bAIza[0-9A-Za-z_-]{35}" + tail),
        key("SovAwsAccessKey", r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b", entity="AWS_ACCESS_KEY"),
        key("SovGithubToken", r"\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{60,})" + tail),
        key("SovSlackToken", r"\bxox[abposr]-[A-Za-z0-9-]{10,}" + tail),
        key("SovHuggingFaceToken", r"\bhf_[A-Za-z0-9]{30,}" + tail),
        key("SovStripeKey", r"\b(?:sk|rk)_live_[A-Za-z0-9]{20,}" + tail),
        key("SovStripeTestKey", r"\b(?:sk|rk)_test_[A-Za-z0-9]{20,}" + tail, score=0.6),
        key(
            "SovPrivateKey",
            r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----"
            r"(?:[\s\S]{0,20000}?-----END (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----)?",
            score=1.0,
            entity="PRIVATE_KEY",
        ),
        CheckedRecognizer(
            entity="JWT",
            name="SovJwtRecognizer",
            patterns=[("jwt", r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{16,}", 0.9)],
            check=valid_jwt,
            boost=0.0,
            case_sensitive=True,
        ),
        CheckedRecognizer(
            entity="PASSWORD",
            name="SovUrlPasswordRecognizer",
            patterns=[
                (
                    "url_password",
                    r"(?<=\b[a-z][a-z0-9+.-]{1,20}://[^\s:/?#@]{1,128}:)[^\s:/?#@]{1,256}(?=@[A-Za-z0-9\[])",
                    1.0,
                )
            ],
            check=valid_url_password,
            boost=0.0,
            case_sensitive=True,
        ),
    ]


# -- Protective markings ------------------------------------------------------------------------

# PSPF Policy Advisory / "Australian Government security classification system": classifications
# OFFICIAL, OFFICIAL: Sensitive, PROTECTED, SECRET, TOP SECRET; information management markers
# (Legal privilege, Legislative secrecy, Personal privacy); caveats such as AUSTEO, AGAO,
# REL <countries>, CABINET, codewords. Markings are upper-case banners; lower-case prose is not.
_CLASSIFICATION = r"(?:TOP[ -]SECRET|SECRET|PROTECTED|OFFICIAL:? ?(?:Sensitive|SENSITIVE)|OFFICIAL)"
_CAVEAT = (
    r"(?:AUSTEO|AGAO|REL(?: TO)? [A-Z]{3}(?:[/, ]+[A-Z]{3})*|CABINET|NATIONAL CABINET|"
    r"EXCLUSIVE FOR [A-Z][A-Za-z ]{1,40}|Legal[- ]privilege|Legislative[- ]secrecy|Personal[- ]privacy|"
    r"LEGAL[- ]PRIVILEGE|LEGISLATIVE[- ]SECRECY|PERSONAL[- ]PRIVACY)"
)
_MARKING_RE = re.compile(
    r"(?<![A-Za-z_])" + _CLASSIFICATION + r"(?:\s*(?://|[-,:;|])?\s*" + _CAVEAT + r")*(?![A-Za-z_])"
)
_MARKING_CONTEXT = re.compile(
    r"(?i)(?:classification|classified|security marking|marking|dlm|caveat)\W{0,3}$"
)


class ProtectiveMarkingRecognizer(EntityRecognizer):
    """AU_PROTECTIVE_MARKING: a classification banner, with caveats and markers when present.

    Scores: a marking with a caveat, alone on its line (a banner), or after "classification:"
    scores 0.85; a bare upper-case classification inside a sentence scores 0.3 (reported only if
    other context lifts it), so shouting prose ("keep this SECRET") stays quiet.
    """

    # What a text must contain for this recognizer to match (the detector skips other texts).
    prefilter = _MARKING_RE.pattern

    def __init__(self) -> None:
        super().__init__(
            supported_entities=["AU_PROTECTIVE_MARKING"],
            name="SovProtectiveMarkingRecognizer",
            supported_language="en",
            context=["classification", "classified", "marking", "dlm"],
        )

    def load(self) -> None:
        return None

    def analyze(self, text: str, entities: list[str], nlp_artifacts: Any = None) -> list[RecognizerResult]:
        out: list[RecognizerResult] = []
        for m in _MARKING_RE.finditer(text):
            value = m.group(0)
            line_start = text.rfind("\n", 0, m.start()) + 1
            line_end = text.find("\n", m.end())
            line_end = len(text) if line_end < 0 else line_end
            before = text[line_start : m.start()].strip(" \t[(*#=-")
            after = text[m.end() : line_end].strip(" \t])*#=-")
            has_caveat = value.rstrip() != re.match(_CLASSIFICATION, value).group(0)  # type: ignore[union-attr]
            banner = not before and not after
            contextual = bool(_MARKING_CONTEXT.search(text[max(0, m.start() - 40) : m.start()]))
            bare_official = value.strip() == "OFFICIAL"
            if has_caveat or contextual or (banner and not bare_official):
                score = 0.85
            elif banner:
                score = 0.6
            else:
                score = 0.3
            out.append(_result(self, "AU_PROTECTIVE_MARKING", m.start(), m.end(), score, contextual))
        return out


# -- Phone numbers -------------------------------------------------------------------------------

# Regions tried for numbers written without a country code. Numbers valid in a STRICT region
# (fixed-length national plans: the jurisdictions the scanner is built for and the EU states with
# closed numbering) are reported on their own; the LOOSE regions have open, variable-length plans in
# which most 7–9 digit strings are "valid" (house numbers, postcodes), so they need a context word.
PHONE_REGIONS: tuple[str, ...] = ("AU", "NZ", "GB", "US", "CA", "IE", "FR", "NL", "BE", "ES", "PT")
LOOSE_PHONE_REGIONS: tuple[str, ...] = ("DE", "AT", "IT", "CH", "DK", "SE", "NO", "FI", "PL", "CZ")
_PHONE_CANDIDATE = re.compile(
    # ASCII word characters only around the number: "電話番号は+44 7483 202290です" is a phone number.
    r"(?<![A-Za-z0-9_@+/.-])(?:\+|00)?\(?\d[\d\s().-]{5,20}\d(?:\s*(?:x|ext\.?|extension)\s*\d{1,6})?"
    r"(?![A-Za-z0-9_@/]|-\d|\.\d)",
    re.IGNORECASE,
)
_PHONE_CONTEXT = _context_regex(
    ["phone", "phones", "tel", "telephone", "mobile", "mob", "cell", "cellphone", "call", "calling", "ring",
     "fax", "ph", "landline", "whatsapp", "sms", "text me", "reach", "dial", "contact number", "phone number",
     "messages", "message", "answering", "registered", "voicemail", "extension"]
)  # fmt: skip
# Context that says a digit run is some other identifier (read with no phone word nearby).
_OTHER_ID_CONTEXT = _context_regex(
    ["tfn", "tax file", "medicare", "abn", "acn", "ird", "inland revenue", "revenue", "nhi", "nhs", "ssn",
     "social security", "itin", "nino", "vat", "tax",
     "licence", "license", "passport", "iban", "account", "bsb", "card", "invoice", "order", "zip",
     "postcode", "post code", "ref", "reference", "insurance", "policy"]
)  # fmt: skip
# A house number is followed by its street on the same line, after spaces (a tab is a column break).
_ADDRESS_AFTER = re.compile(r"^ *,? *(?:[A-Z][\w'’.-]* +){0,4}(?:[A-Z][\w'’.-]*|Apt\b|Suite\b)")
_DATE_LIKE = re.compile(r"^\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}$|^\d{4}-\d{2}-\d{2}")
_IP_LIKE = re.compile(r"^\d{1,3}(?:\.\d{1,3}){3}$")


def _valid_in(core: str, regions: Iterable[str | None]) -> bool:
    import phonenumbers

    for region in regions:
        try:
            number = phonenumbers.parse(core, region)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(number):
            return True
    return False


def _labels(window: str, after: bool = False) -> bool:
    """Another identifier's label right next to the number: only separators between them
    ("TFN: 123 456 789", "123 456 789 (ABN)"), not other words ("Reference: Julie Lamb (0412 …")."""
    assert _OTHER_ID_CONTEXT is not None
    found = list(_OTHER_ID_CONTEXT.finditer(window))
    if not found:
        return False
    if after:
        return not re.search(r"[a-z]", window[: found[0].start()])
    return not re.search(r"[a-z]{2,}", window[found[-1].end() :].replace("number", "").replace("no", ""))


def valid_phone(text: str) -> bool:
    """A phone number valid in international form or in one of the strict national plans."""
    core = text.strip()
    if core.startswith(("+", "00")):
        return _valid_in("+" + core[2:] if core.startswith("00") else core, (None,))
    return _valid_in(core, PHONE_REGIONS)


class PhoneNumberRecognizer(EntityRecognizer):
    """PHONE_NUMBER without the generic matcher: a cheap regex finds digit runs shaped like phone
    numbers; only those are parsed with ``phonenumbers``, scoped to a list of regions.

    Scores: a valid number in international form 0.75; a valid national number (9+ digits) in a
    strict region 0.6 grouped / 0.5 run together; +0.25 with a phone context word. With a context
    word only: a number valid in a loose region (0.6) or phone-shaped but unknown (0.45). Never:
    a run followed by a capitalised word (a house number: "3455 181 Heb Place") or next to another
    identifier's label ("TFN 123 456 789") unless a phone word is there too.
    """

    # What a text must contain for this recognizer to match (the detector skips other texts).
    prefilter = _PHONE_CANDIDATE.pattern

    def __init__(
        self, regions: Sequence[str] = PHONE_REGIONS, loose: Sequence[str] = LOOSE_PHONE_REGIONS
    ) -> None:
        super().__init__(
            supported_entities=["PHONE_NUMBER"],
            name="SovPhoneRecognizer",
            supported_language="en",
            context=["phone", "mobile", "tel", "call", "fax", "contact", "cell"],
        )
        self.regions = tuple(regions)
        self.loose = tuple(loose)

    def load(self) -> None:
        return None

    def score(self, text: str, start: int, end: int) -> float:
        raw = text[start:end]
        core = re.split(r"(?i)\s*(?:x|ext\.?|extension)\s*\d", raw)[0]
        digits = "".join(c for c in core if c.isdigit())
        if not 7 <= len(digits) <= 15 or _DATE_LIKE.match(core) or _IP_LIKE.match(core):
            return 0.0
        if "\n" in raw or len(set(digits)) == 1:
            return 0.0
        context = has_context(text, start, end, _PHONE_CONTEXT)
        international = core.startswith(("+", "00"))
        # Another identifier's label right before a national-format run ("TFN 123 456 789") makes
        # it that identifier; a number in international form is a phone number whatever precedes it.
        label = _OTHER_ID_CONTEXT is not None and (
            _labels(text[max(0, start - 24) : start].lower())
            or _labels(text[end : end + 24].lower(), after=True)
        )
        if not context and not international and (label or _ADDRESS_AFTER.match(text[end : end + 60])):
            return 0.0
        grouped = bool(re.search(r"[\s().-]", core.strip()))
        boost = 0.25 if context else 0.0
        if international:
            if _valid_in("+" + core[2:] if core.startswith("00") else core, (None,)):
                return min(1.0, 0.75 + boost)
            return 0.45 if context else 0.0
        # A bare 9-digit run without a trunk prefix or a phone word is a counter, a metric or an
        # id far more often than a phone number written without its leading 0.
        if not context and not grouped and len(digits) == 9 and not core.startswith(("0", "(")):
            return 0.0
        # A Unix time in seconds ("created": 1770960004) is not a phone number.
        if not context and not grouped and len(digits) == 10 and core.startswith("1"):
            return 0.0
        if len(digits) >= 9 and _valid_in(core, self.regions):
            return min(1.0, (0.6 if grouped else 0.5) + boost)
        if context and _valid_in(core, self.regions + self.loose):
            return 0.6
        return 0.45 if context and grouped else 0.0

    def analyze(self, text: str, entities: list[str], nlp_artifacts: Any = None) -> list[RecognizerResult]:
        out: list[RecognizerResult] = []
        for m in _PHONE_CANDIDATE.finditer(text):
            start, end = m.start(), m.end()
            # Trim trailing separators and an unbalanced bracket the loose class may catch.
            while end > start and text[end - 1] in " .-(":
                end -= 1
            if text[start] == "(" and ")" not in text[start:end]:
                start += 1
            value = self.score(text, start, end)
            if value <= 0:
                continue
            # Context was already weighed in score(); Presidio must not add it again.
            out.append(_result(self, "PHONE_NUMBER", start, end, value, True))
        return out


# -- Street addresses ----------------------------------------------------------------------------

# The small English NER model finds cities and countries but rarely the street line of an
# address, which is the part that locates a person. These shapes cover the common written forms:
# number + name + street type (AU/NZ/UK/US), street word + name + number (continental Europe),
# compound street names (…straße 12, …vej 4), PO boxes and US military addresses, unit markers.
_CAP = r"[A-ZÀ-ÞĀ-Ž][\w'’.-]*"
_PARTICLE = r"(?:de|du|del|della|di|da|la|le|les|van|von|der|den|dos|das|do|el|al|y|e|of|the)"
_NAME_WORDS = rf"(?:(?:{_CAP}|{_PARTICLE})[ \t]+){{0,4}}{_CAP}"
_STREET_TYPE = (
    r"(?:Street|St|Road|Rd|Avenue|Ave|Av|Drive|Dr|Lane|Ln|Way|Court|Ct|Place|Pl|Crescent|Cres|Parade|Pde|"
    r"Boulevard|Blvd|Terrace|Tce|Highway|Hwy|Row|Close|Grove|Square|Sq|Circuit|Cct|Esplanade|Promenade|"
    r"Walk|Mews|Gardens|Greens|Green|Hill|Rise|View|Track|Trail|Alley|Plaza|Radial|Loop|Park|Heights|"
    r"Circle|Cir|Expressway|Freeway|Pike|Route|Junction|Crossing|Point|Ridge|Valley|Meadows|Estate|Glen|"
    r"Vale|Wharf|Quay|Str|Aqq|Mall|Path|Causeway|Bypass|Pass)"
)
_MONTH = (
    r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec|January|February|March|April|June|July|"
    r"August|September|October|November|December)"
)
_UNIT = r"(?:,?[ \t]+(?:Apt\.?|Apartment|Suite|Unit|Flat|Level)[ \t]+#?\d{1,5}[A-Za-z]?)?"
_ADDRESS_PATTERNS: tuple[tuple[str, float], ...] = (
    (rf"\b\d{{1,6}}[A-Za-z]?(?:[ \t/-]\d{{1,5}})?[ \t]+{_NAME_WORDS}[ \t]+{_STREET_TYPE}\b\.?{_UNIT}", 0.7),
    (
        r"\b(?:Via|Viale|Rue|Avenida|Avda\.|Calle|Carrer|Rua|Piazza|Corso|Strada|Chemin|Rambla|Paseo|"
        rf"Travessa|Largo|Bairro|Praça|Ulica|ul\.)[ \t]+{_NAME_WORDS}[ \t]+\d{{1,5}}[A-Za-z]?\b{_UNIT}",
        0.7,
    ),
    (
        r"\b[\w'’-]*(?:straße|strasse|str\.|weg|platz|vej|veg|vei|gade|gatan|gata|vägen|väg|laan|straat|"
        rf"plein|katu|tie|gasse|allee|utca|ulica|cesta|iela|gatve|tänav)[ \t]+\d{{1,5}}[A-Za-z]?\b{_UNIT}",
        0.7,
    ),
    (r"\b(?:P\.?[ \t]?O\.?[ \t]?Box|Post Office Box|GPO Box|Locked Bag|PO Box)[ \t]+\d{1,6}\b", 0.7),
    (r"\b(?:PSC|Unit|CMR)[ \t]+\d{3,5},?[ \t]+Box[ \t]+\d{3,5}(?:\s+[AD]PO[ \t]+A[AEP][ \t]+\d{5})?", 0.75),
    # "83 Strandalléen 26": number, name, number — single spaces (table columns are not addresses),
    # and no month between ("21 Mar 2026").
    (rf"\b\d{{1,6}} (?!{_MONTH}\b)(?:(?:{_CAP}|{_PARTICLE}) ){{0,4}}{_CAP} \d{{1,5}}\b{_UNIT}", 0.5),
    (r"\b(?:Apt\.?|Apartment|Suite)[ \t]+#?\d{1,5}[A-Za-z]?\b", 0.5),
)


_ADDRESS_CONTEXT = _context_regex(
    ["address", "street", "lives", "live", "located", "deliver", "ship", "post", "mail", "send"]
)


class StreetAddressRecognizer(EntityRecognizer):
    """STREET_ADDRESS: the street line of a postal address (see ``_ADDRESS_PATTERNS``)."""

    # What a text must contain for this recognizer to match (the detector skips other texts).
    prefilter = "|".join(f"(?:{p})" for p, _ in _ADDRESS_PATTERNS)

    def __init__(self) -> None:
        super().__init__(
            supported_entities=["STREET_ADDRESS"],
            name="SovStreetAddressRecognizer",
            supported_language="en",
            context=["address", "street", "lives", "live", "located", "deliver", "ship", "post"],
        )
        self._patterns = [(re.compile(p), score) for p, score in _ADDRESS_PATTERNS]

    def load(self) -> None:
        return None

    def analyze(self, text: str, entities: list[str], nlp_artifacts: Any = None) -> list[RecognizerResult]:
        out: list[RecognizerResult] = []
        for regex, score in self._patterns:
            for m in regex.finditer(text):
                value = score + (0.2 if has_context(text, m.start(), m.end(), _ADDRESS_CONTEXT) else 0.0)
                out.append(_result(self, "STREET_ADDRESS", m.start(), m.end(), min(1.0, value), True))
        return out


# -- Names after explicit cues ---------------------------------------------------------------------

# The small NER model misses uncommon and non-English names even where the sentence says outright
# that a name follows ("My name is Minoesch", "Name: Keiko Soto", "Dear Karítas", "Ms. Esther").
# Only capitalised words directly after such a cue are taken, minus words that are not names.
_NAME = r"[A-ZÀ-ÞĀ-Ž][\w'’-]+(?:[ \t]+(?:[A-ZÀ-ÞĀ-Ž][\w'’-]+|[A-Z]\.?(?!\w))){0,3}"
_NAME_CUES: tuple[tuple[str, float], ...] = (
    (
        r"(?i:\b(?:(?:my|his|her|their|your|the|partner's|maiden|last|first|full|given|family|middle|"
        r"sur|user|customer|patient|account|nick)[ \t]*name(?:[ \t]+is|'s|[ \t]*[:?=-])?|"
        r"name[ \t]*[:=]|named(?:[ \t]+(?:him|her|them))?|call(?:s|ed)?[ \t]+me|known[ \t]+as))[ \t]+",
        0.6,
    ),
    (r"(?:^|(?<=[\n.!?]))[ \t]*(?i:hi|hello|hey|dear|thanks|thank you)[ \t,]+", 0.6),
    (r"\b(?:Mr|Mrs|Ms|Miss|Mx|Dr|Prof|Sir|Dame|ms|mr|mrs|dr)\.?[ \t]+", 0.7),
    (r"(?i:\b(?:follow[ \t]+up[ \t]+with|speak[ \t]+(?:to|with)|spoke[ \t]+(?:to|with)|talk(?:ed)?[ \t]+to|"
     r"meeting[ \t]+with|regards,?\s*\n|signed,?))[ \t]+", 0.6),
)  # fmt: skip
_NOT_NAMES = frozenset(
    {
        "i",
        "a",
        "an",
        "the",
        "this",
        "that",
        "my",
        "your",
        "our",
        "all",
        "team",
        "everyone",
        "there",
        "world",
        "sir",
        "madam",
        "customer",
        "support",
        "manager",
        "user",
        "admin",
        "friend",
        "friends",
        "guys",
        "folks",
        "colleague",
        "colleagues",
        "doctor",
        "nurse",
        "patient",
        "client",
        "sales",
        "service",
        "it",
        "we",
        "you",
        "he",
        "she",
        "they",
        "me",
        "him",
        "her",
        "them",
        "is",
        "was",
        "will",
        "can",
        "please",
        "thanks",
        "hello",
        "hi",
        "dear",
        "mr",
        "mrs",
        "ms",
        "dr",
    }
)


_ROLE_WORDS = frozenset(
    {
        "hiring", "recruiting", "committee", "board", "applicant", "candidate", "reader", "assistant",
        "bot", "valued", "member", "members", "staff", "partner", "partners", "department", "office",
        "council", "officer", "director", "owner", "owners", "shareholder", "shareholders", "editor",
        "human", "resources", "hr", "it", "helpdesk", "desk", "agent", "representative", "operator",
    }
)  # fmt: skip


class NameCueRecognizer(EntityRecognizer):
    """PERSON: capitalised words right after a phrase that announces a name (see ``_NAME_CUES``)."""

    # What a text must contain for this recognizer to match (the detector skips other texts).
    prefilter = "|".join(f"(?:{cue}(?:{_NAME}))" for cue, _ in _NAME_CUES)

    def __init__(self) -> None:
        super().__init__(supported_entities=["PERSON"], name="SovNameCueRecognizer", supported_language="en")
        self._cues = [(re.compile(cue + "(" + _NAME + ")"), score) for cue, score in _NAME_CUES]

    def load(self) -> None:
        return None

    def analyze(self, text: str, entities: list[str], nlp_artifacts: Any = None) -> list[RecognizerResult]:
        out: list[RecognizerResult] = []
        for regex, score in self._cues:
            for m in regex.finditer(text):
                words = m.group(1).split()
                while words and words[-1].lower().strip(".'’") in _NOT_NAMES:
                    words.pop()
                if not words or any(w.lower().strip(".'’") in _NOT_NAMES | _ROLE_WORDS for w in words):
                    continue  # "Dear Hiring Manager", "Hi Sales Team": a role, not a person
                start = m.start(1)
                end = start + _span_len(m.group(1), words)
                out.append(_result(self, "PERSON", start, end, score, True))
        return out


def _span_len(raw: str, words: list[str]) -> int:
    """Length in ``raw`` that covers ``words`` (raw may separate them by tabs or several spaces)."""
    pos = 0
    for word in words:
        pos = raw.index(word, pos) + len(word)
    return pos


def recognizers() -> list[EntityRecognizer]:
    """This module's recognizers, ready for ``RecognizerRegistry.add_recognizer``."""
    return [
        _tfn(),
        _medicare(),
        _abn(),
        _acn(),
        _au_passport(),
        _au_driver_licence(),
        _nz_ird(),
        _nz_nhi(),
        _uk_nhs(),
        _uk_nino(),
        _iban(),
        _eu_vat(),
        _us_ssn(),
        _us_itin(),
        _credit_card(),
        _us_dea(),
        *_credentials(),
        ProtectiveMarkingRecognizer(),
        PhoneNumberRecognizer(),
        StreetAddressRecognizer(),
        NameCueRecognizer(),
    ]
