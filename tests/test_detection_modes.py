"""Detection modes: NER only where a policy could need it, patterns only, and the NER process pool."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import SAMPLES

from scanner.config import Settings
from scanner.detectors.ner import POOL_MIN_TEXTS, NerRunner
from scanner.models import ScanResult
from scanner.pipeline import Scanner


def scan(mode: str, path: Path = SAMPLES / "traffic", **kw: object) -> ScanResult:
    return Scanner(Settings(policies=("au-privacy",), pii_mode=mode, **kw)).scan([str(path)])  # type: ignore[arg-type]


def keyed(result: ScanResult) -> list[tuple[str, str, tuple[str, ...]]]:
    return sorted(
        (f.control_id, f.fingerprint, tuple(d.preview for d in f.detections)) for f in result.findings
    )


def test_auto_mode_finds_exactly_what_full_detection_finds(samples_result: ScanResult) -> None:
    full_scanner = Scanner(Settings(policies=("au-privacy",), pii_mode="full"))
    full = full_scanner.scan([str(SAMPLES / "traffic")])
    assert keyed(samples_result) == keyed(full)
    # ... while skipping NER where no finding could depend on it (self-hosted, AU-region records).
    auto = Scanner(Settings(policies=("au-privacy",)))
    auto.scan([str(SAMPLES / "traffic")])
    assert 0 < auto.detector.stats["ner_texts"] < full_scanner.detector.stats["ner_texts"]


def test_patterns_mode_runs_no_ner_but_keeps_pattern_findings(samples_result: ScanResult) -> None:
    scanner = Scanner(Settings(policies=("au-privacy",), pii_mode="patterns"))
    patterns = scanner.scan([str(SAMPLES / "traffic")])
    assert scanner.detector.stats["ner_analysed"] == 0
    entities = {d.entity for f in patterns.findings for d in f.detections}
    persons = sum(d.entity == "PERSON" for f in patterns.findings for d in f.detections)
    assert persons < sum(d.entity == "PERSON" for f in samples_result.findings for d in f.detections)
    assert {"AU_TFN", "CREDIT_CARD", "EMAIL_ADDRESS"} <= entities
    by_fp = {f.fingerprint for f in samples_result.findings}
    tfn = [f for f in patterns.findings if f.control_id == "TFN-001"]
    assert tfn and all(f.fingerprint in by_fp for f in tfn)  # pattern-only evidence: same identity


def test_pool_gives_the_same_entities_in_the_same_order_as_in_process() -> None:
    names = ["Olivia Smith", "Liam Jones", "Noah Brown", "Emma Wilson", "Ava Taylor", "Mia Anderson"]
    texts = [
        f"Ticket {i}: {names[i % len(names)]} from Melbourne asked about invoice {i} on Monday."
        for i in range(POOL_MIN_TEXTS + 20)
    ]
    from scanner.detectors.pii import resolve_model

    model = resolve_model()
    single = NerRunner(model, jobs=1)(texts)
    pool = NerRunner(model, jobs=2)
    try:
        assert pool(texts) == single
    finally:
        pool.close()
    assert any(e[0] == "PERSON" for ents in single for e in ents)


def test_pooled_scan_matches_single_process_scan(tmp_path: Path) -> None:
    rows = []
    for i in range(POOL_MIN_TEXTS + 40):
        rows.append(
            json.dumps(
                {
                    "url": "https://api.openai.com/v1/chat/completions",
                    "body": {
                        "messages": [
                            {
                                "role": "user",
                                "content": f"Case {i}: please call Jack Robinson about order {i}, thanks.",
                            }
                        ]
                    },
                }
            )
        )
    log = tmp_path / "log.jsonl"
    log.write_text("\n".join(rows) + "\n")
    assert keyed(scan("auto", log, jobs=2)) == keyed(scan("auto", log, jobs=1))


def test_progress_callback_reports_records_and_bytes() -> None:
    calls: list[tuple[int, int]] = []
    scanner = Scanner(Settings(policies=("au-privacy",)), on_progress=lambda r, b: calls.append((r, b)))
    result = scanner.scan([str(SAMPLES / "traffic")])
    assert calls and calls == sorted(calls)
    assert calls[-1][0] == sum(i.scanned for i in result.inputs)
    assert calls[-1][1] <= sum(i.bytes for i in result.inputs)


def test_ner_units_are_sentences_and_a_changed_sentence_is_all_that_is_analysed_again() -> None:
    from scanner.catalog import load_catalog
    from scanner.detectors.pii import PiiDetector, _units

    text = "You help Mr. Brown's team with claims.  The user is Olivia Smith! Ask Dr. Lee, e.g. Now.\n\nBye."
    units = list(_units(text))
    assert all(text[o : o + len(u)] == u for o, u in units)
    assert [u for _, u in units] == [
        "You help Mr. Brown's team with claims.",
        "The user is Olivia Smith!",
        "Ask Dr. Lee, e.g. Now.",  # no break after a title or an abbreviation
        "Bye.",
    ]

    detector = PiiDetector(load_catalog(), hash_key=b"t")
    template = "You answer questions about parcel deliveries. The customer is {}. Be brief and polite."
    first = detector.analyze_texts([template.format("Olivia Smith")])[0]
    before = detector.stats["ner_analysed"]
    second = detector.analyze_texts([template.format("Liam Jones")])[0]
    assert detector.stats["ner_analysed"] - before == 1  # only the sentence with the new name
    persons = [
        template.format(n)[s.start : s.end]
        for n, spans in (("Olivia Smith", first), ("Liam Jones", second))
        for s in spans
        if s.entity == "PERSON"
    ]
    assert persons == ["Olivia Smith", "Liam Jones"]


def test_ner_alone_finds_what_the_whole_spacy_pipeline_finds() -> None:
    import spacy

    from scanner.detectors.ner import NER_MAPPING, load_ner, run_ner
    from scanner.detectors.pii import resolve_model

    model = resolve_model()
    texts = [
        "Olivia Smith flew from Melbourne to Auckland on Monday 3 March at 9am.",
        "The Australian and New Zealand teams met Dr. Liam Jones in Sydney last week.",
        "Please email the invoice to accounts; no names here.",
        "Ms Priya Natarajan (Brisbane) called about her claim on 12/03/2026.",
    ]
    lean = load_ner(model)
    assert "tagger" not in lean.pipe_names and "parser" not in lean.pipe_names
    assert lean.pipe_names == ["ner"]  # this model's NER has its own embedding: no shared tok2vec
    full = spacy.load(model)
    expected = [
        [(NER_MAPPING[e.label_], e.start_char, e.end_char) for e in doc.ents if e.label_ in NER_MAPPING]
        for doc in full.pipe(texts)
    ]
    assert run_ner(lean, texts) == expected
    assert any(expected)
