"""The one-pass regex gate (RE2 set + confirmation) says exactly what searching every recognizer
regex one by one says, and restricting Presidio to the recognizers it names changes no result."""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scanner.catalog import load_catalog
from scanner.detectors import pii
from scanner.detectors.pii import PiiDetector
from scanner.detectors.prefilter import RegexGate, to_re2
from scanner.sources import ReadOptions, iter_files, sniff
from scanner.sources._io import DEFAULT_MAX_LINE, open_binary, peek_head, wrap_decompress

REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO / "samples"


@pytest.fixture(scope="module")
def detector() -> PiiDetector:
    d = PiiDetector(load_catalog(), hash_key=b"t")
    d.warm_up()
    return d


@pytest.fixture(scope="module")
def gate(detector: PiiDetector) -> RegexGate:
    assert detector._trigger is not None
    return detector._trigger.gate


def one_by_one(gate: RegexGate, text: str) -> list[int]:
    return [i for i, regex in enumerate(gate.compiled) if regex.search(text)]


@pytest.fixture(scope="module")
def chat_corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Synthetic multi-turn traffic with planted identifiers (the benchmark's generator)."""
    sys.path.insert(0, str(REPO / "bench"))
    try:
        import gen_chat_corpus
    finally:
        sys.path.pop(0)
    path = tmp_path_factory.mktemp("chat") / "chat.jsonl"
    gen_chat_corpus.generate(200, path, 7, 0.3, False)
    return path


def sample_texts(*extra: Path) -> list[str]:
    """Every text segment of every sample file (traffic and configs) and of ``extra``, read by the
    real readers."""
    texts: dict[str, None] = {}
    for _, real, _ in iter_files([str(SAMPLES), *map(str, extra)]):
        stream = wrap_decompress(open_binary(real))
        try:
            module = sniff(peek_head(stream), real)
            if module is None:
                continue
            for item in module.read(stream, real, ReadOptions(DEFAULT_MAX_LINE, True)):
                for seg in getattr(item, "segments", ()):
                    texts[seg.text] = None
        finally:
            stream.close()
    return list(texts)


# -- translation ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("pattern", "flags", "expected"),
    [
        (r"\d{3}", 0, r"(?m)\p{Nd}{3,3}"),
        (r"\bTFN\b", re.IGNORECASE, r"(?mi)TFN"),  # Unicode word boundaries dropped
        (r"(?<![\w.])\d+(?!\d)", 0, r"(?m)\p{Nd}+"),  # lookarounds dropped
        (r"(?<=://)[^\s@]+(?=@)", 0, r"(?m)(?:://)[^\s@]+(?:@)"),  # at the edges: matched as text
        (r"\d{3}([ -])\d{3}\1\d{3}", 0, r"(?m)\p{Nd}{3,3}([ -])\p{Nd}{3,3}(?:[ -])\p{Nd}{3,3}"),
        (r"BEGIN[\s\S]{0,20000}?END", re.DOTALL, r"(?ms)BEGIN[\s\x0b\x1c-\x1f\x85\p{Z}\S]{0,}?END"),
        (r"[\w.+-]+@", 0, r"(?m)[\p{L}\p{N}\p{M}_.+-]+@"),
        (r"\u00e9\Z", 0, r"(?m)\x{00e9}\z"),
    ],
)
def test_translation_is_a_superset_form(pattern: str, flags: int, expected: str) -> None:
    assert to_re2(pattern, flags) == expected


@pytest.mark.parametrize(
    "pattern",
    [r"a++", r"(?>ab)", r"(?P<x>a)(?P=x)", r"[^\W]", r"(?x) a b", r"\p{L}", r"(a)(?(1)b|c)", r"\1(a)"],
)
def test_untranslatable_patterns_are_refused(pattern: str) -> None:
    assert to_re2(pattern, re.VERBOSE if "(?x)" in pattern else 0) is None


def test_word_boundaries_are_kept_for_ascii_texts() -> None:
    assert to_re2(r"\bTFN\b", re.IGNORECASE, ascii_text=True) == r"(?mi)\bTFN\b"


def test_refused_and_rejected_patterns_are_still_searched() -> None:
    compiled = [re.compile(r"(?>ab)c"), re.compile(r"x++y"), re.compile(r"\d{2}")]
    gate = RegexGate(compiled)
    assert gate.matching("abc") == [0]
    assert gate.matching("xxy") == [1]
    assert gate.matching("no digits") == []
    assert sorted(gate.matching("abc xy 12")) == [0, 1, 2]


# -- exactness on real recognizer regexes ---------------------------------------------------------
def test_every_recognizer_regex_takes_part(gate: RegexGate) -> None:
    # Most regexes go into the RE2 sets; the rest are searched on every text.
    for rset in (gate._ascii, gate._unicode):
        assert rset is not None
        assert sorted(rset.members[:-1] + rset.always) == list(range(len(gate.compiled)))
        assert len(rset.always) <= 5
    # The set, not the one-by-one fallback, answers for ordinary text: few regexes left to confirm.
    for text in ("Please summarise the meeting notes for the team.", "Zoë’s café notes, in short."):
        assert len(gate._candidates(text)) < len(gate.compiled) // 4


def test_gate_equals_one_by_one_on_sample_texts(gate: RegexGate, chat_corpus: Path) -> None:
    texts = sample_texts(chat_corpus)
    assert len(texts) > 250
    differing = [t[:40] for t in texts if sorted(gate.matching(t)) != one_by_one(gate, t)]
    assert differing == []
    assert any(gate.matching(t) for t in texts) and any(not gate.matching(t) for t in texts)


UNICODE_EDGE_CASES = [
    "My TFN is ١٢٣ ٤٥٦ ٧٨٢.",  # Arabic-Indic digits: Python's \d matches them
    "Card ４５３２０１５１１２８３０３６６",  # full-width digits
    "Call 0412\u00a0345\u00a0678",  # no-break spaces between groups
    "Call 0412\u2009345\u2009678 now",  # thin spaces
    "İSTANBUL office, DİABETES and ıd",  # Turkish dotted/dotless i under IGNORECASE
    "naïve café résumé Zoë 04 1234 5678",
    "email: zoë@exämple.com",
    "line one\x0bTFN\x1c123 456 782",  # vertical tab and file separator: whitespace to Python
    "ends with a newline 123 456 782\n",
    "emoji 🙂 4532015112830366 🙂",
    "",
    " ",
]


@pytest.mark.parametrize("text", UNICODE_EDGE_CASES)
def test_gate_equals_one_by_one_on_unicode_edge_cases(gate: RegexGate, text: str) -> None:
    assert sorted(gate.matching(text)) == one_by_one(gate, text)


def test_lone_surrogates_take_the_slow_path(gate: RegexGate) -> None:
    text = "TFN 123 456 782 \ud800 end"
    assert sorted(gate.matching(text)) == one_by_one(gate, text) != []


def test_an_unanswered_set_match_falls_back_to_every_regex(gate: RegexGate, monkeypatch: Any) -> None:
    class GaveUp:
        def Match(self, data: bytes) -> list[int]:
            return []  # what RE2 returns when its DFA runs out of memory: no sentinel

    for rset in (gate._ascii, gate._unicode):
        monkeypatch.setattr(rset, "rset", GaveUp())
    for text in ("TFN 123 456 782 and jane@example.com", "TFN 123 456 782 and zoë@example.com"):
        assert sorted(gate.matching(text)) == one_by_one(gate, text) != []


def test_a_set_too_large_for_its_memory_budget_gets_a_larger_one(gate: RegexGate, monkeypatch: Any) -> None:
    from scanner.detectors import prefilter

    text = "TFN 123 456 782 and jane@example.com"
    monkeypatch.setattr(prefilter, "_RE2_BUDGETS", (1 << 16, 16 << 20))  # 64 KB holds no program
    larger = RegexGate(gate.compiled)
    assert larger._ascii is not None and len(larger._candidates("Please summarise the notes.")) < 10
    assert sorted(larger.matching(text)) == one_by_one(gate, text) != []
    monkeypatch.setattr(prefilter, "_RE2_BUDGETS", (1 << 16,))
    none = RegexGate(gate.compiled)  # no budget fits: every regex is searched, still exactly
    assert none._ascii is None and len(none._candidates("Please summarise the notes.")) == len(gate.compiled)
    assert sorted(none.matching(text)) == one_by_one(gate, text)


@st.composite
def texts_around_matches(draw: Any, compiled: list[Any]) -> str:
    regex = draw(st.sampled_from([c for c in compiled if isinstance(c, re.Pattern)]))
    inner = draw(st.from_regex(regex))
    return draw(st.text(max_size=20)) + inner + draw(st.text(max_size=20))


def test_gate_equals_one_by_one_on_generated_matches(gate: RegexGate) -> None:
    @settings(
        max_examples=400,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large],
    )
    @given(texts_around_matches(gate.compiled))
    def check(text: str) -> None:
        assert sorted(gate.matching(text)) == one_by_one(gate, text)

    check()


# -- the analyser restricted to the recognizers the gate names -------------------------------------
def test_restricting_recognizers_changes_no_span(
    detector: PiiDetector, chat_corpus: Path, monkeypatch: Any
) -> None:
    texts = (
        sample_texts(chat_corpus)
        + UNICODE_EDGE_CASES
        + [
            "My TFN is 123 456 782 and my Medicare number is 2123 45670 1.",
            "Reach me at jane.citizen@example.com.au or +61 412 345 678; card 4532 0151 1283 0366.",
            "postgres://admin:hunter2@db.internal:5432/app and key AKIAIOSFODNN7EXAMPLE",
            "Our ABN is 51 824 753 556; IBAN DE89 3704 0044 0532 0130 00; VAT DE123456789.",
            "She has type 2 diabetes and takes metformin; he is a union delegate.",
        ]
    )
    gated = detector.pattern_spans(texts)

    everything = frozenset(e for owners in detector._trigger.entities for e in owners)  # type: ignore[union-attr]
    ungated = PiiDetector(load_catalog(), hash_key=b"t")
    ungated.warm_up()
    monkeypatch.setattr(pii._Trigger, "candidates", lambda self, text: everything)
    assert ungated.pattern_spans(texts) == gated
    assert any(gated)


def test_a_tokenizer_renewed_to_bound_memory_gives_the_same_spans(monkeypatch: Any) -> None:
    texts = [
        f"Ticket {i}: my TFN is 123 456 782, email user{i}@example.com, card 4532 0151 1283 0366"
        for i in range(40)
    ]
    reference = PiiDetector(load_catalog(), hash_key=b"t").pattern_spans(texts)

    detector = PiiDetector(load_catalog(), hash_key=b"t")
    monkeypatch.setattr(pii, "_MAX_VOCAB", 10)
    first = detector.analyzer.nlp_engine.nlp["en"]
    spans = [detector.pattern_spans([t])[0] for t in texts]  # one batch each: a check before each
    assert detector.analyzer.nlp_engine.nlp["en"] is not first
    assert len(detector.analyzer.nlp_engine.nlp["en"].vocab) < 1000
    assert spans == reference
    assert all(any(s.entity == "AU_TFN" for s in found) for found in spans)
