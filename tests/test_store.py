"""The finding store: what goes in comes back equal, in the order the reports have always used;
its queries agree with filtering in Python; reports streamed from it equal the whole-document ones;
and a scan holds only a bounded number of findings (and skipped records) in memory."""

from __future__ import annotations

import copy
import json
import pickle
from collections import Counter
from dataclasses import replace
from pathlib import Path

import orjson
import pytest
from ci_support import MODEL, shared_analyzer  # noqa: F401 - a fixture
from hypothesis import given, settings
from hypothesis import strategies as st

from scanner import store as store_module
from scanner.config import Settings
from scanner.models import Destination, Detection, Finding, Location, Reference, ScanResult, Severity
from scanner.pipeline import _STORE_AT, Scanner
from scanner.reporters import csv as csv_report
from scanner.reporters import json as json_report
from scanner.reporters import sarif
from scanner.reporters._data import to_dict
from scanner.store import FindingStore


def report_key(f: Finding) -> tuple[object, ...]:
    """The order reports list findings in (a stable sort: ties keep the order found)."""
    loc = f.location
    return (-f.severity.rank, f.policy_id, f.control_id, loc.path, loc.line or 0, loc.pointer, f.fingerprint)


DEST = Destination("api.openai.com", "openai", "chat", None, "US", frozenset({"US"}), "vendor_cloud")
TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=6) | st.sampled_from(
    ["a", "b", "é", "\udcff", "\U0001f600", "Z", ""]  # a surrogate escape, as os.fsdecode makes
)

# Few enough that findings share a path, so lines, pointers and fingerprints decide the order too.
PATHS = st.sampled_from(["a.jsonl", "b.jsonl", "é.jsonl", "\udcff.jsonl", "Z.har", "\U0001f600"])


@st.composite
def findings(draw: st.DrawFn) -> Finding:
    dest = draw(
        st.sampled_from(
            [None, DEST, replace(DEST, host="bedrock.ap-southeast-2.amazonaws.com", region="ap-southeast-2")]
        )
    )
    detections = [
        Detection("pattern", "EMAIL_ADDRESS", "contact", draw(TEXT), 0, 5, 0.9, "h" * 16, "a***@***.com")
        for _ in range(draw(st.integers(0, 2)))
    ]
    return Finding(
        control_id=draw(st.sampled_from(["APP8-001", "APP8-002", "TFN-001"])),
        policy_id=draw(st.sampled_from(["au-privacy", "gdpr"])),
        severity=draw(st.sampled_from(list(Severity))),
        title=draw(st.sampled_from(["t1", "t2"])),
        message=draw(TEXT),
        location=Location(
            draw(PATHS),
            draw(st.none() | st.integers(0, 3)),
            draw(st.sampled_from(["", "/body/messages/0/content", "/body/messages/10/content", "/é"])),
            draw(st.none() | st.integers(0, 9)),
            draw(st.none() | st.integers(1, 3)),
        ),
        destination=dest,
        detections=detections,
        fingerprint=draw(st.sampled_from(["f1", "f2", "f3"])),
        references=[Reference("APP 8.1", draw(st.none() | st.just("https://example.org/app8")))],
        remediation=draw(st.sampled_from(["", "Route to an AU region."])),
        status=draw(st.sampled_from(["open", "open", "waived", "suppressed"])),
        status_reason=draw(st.none() | TEXT),
        timestamp=draw(st.none() | st.just("2026-11-20T10:00:00Z")),
        app=draw(st.none() | TEXT),
    )


@settings(max_examples=100, deadline=None, database=None)
@given(st.lists(findings(), max_size=30), st.integers(0, 3))
def test_store_returns_equal_findings_in_report_order(items: list[Finding], split: int) -> None:
    store = FindingStore(items[:split])
    store.add(items[split:])
    assert len(store) == len(items)
    assert list(store) == sorted(items, key=report_key)
    assert list(store.in_order_found()) == items


@settings(max_examples=30, deadline=None, database=None)
@given(st.lists(findings(), min_size=1, max_size=30), st.sampled_from(list(Severity)))
def test_queries_agree_with_filtering_in_python(items: list[Finding], floor: Severity) -> None:
    store = FindingStore(items)
    ordered = sorted(items, key=report_key)
    assert list(store.select(status="open")) == [f for f in ordered if f.status == "open"]
    assert list(store.select(at_least=floor)) == [f for f in ordered if f.severity >= floor]
    assert list(store.select(severity=floor, status="waived")) == [
        f for f in ordered if f.severity == floor and f.status == "waived"
    ]
    key = (items[0].policy_id, items[0].control_id)
    mine = [f for f in ordered if (f.policy_id, f.control_id) == key]
    assert list(store.select(control=key)) == mine
    assert list(store.select(control=key, offset=1, limit=2)) == mine[1:3]
    assert store.count(status="open", at_least=floor) == sum(
        1 for f in items if f.status == "open" and f.severity >= floor
    )
    assert store.tally() == Counter((f.policy_id, f.control_id, f.status, f.severity) for f in items)
    firsts = list(dict.fromkeys((f.policy_id, f.control_id) for f in ordered))
    assert store.controls() == firsts
    assert store[0] == ordered[0] and store[-1] == ordered[-1]
    with pytest.raises(IndexError):
        store[len(items)]


def test_values_past_the_shared_table_are_stored_inline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(store_module, "_SHARED_MAX", 3)
    base = Finding(
        "C-1", "p", Severity.HIGH, "title", "m", Location("a.jsonl", 1), DEST, [], "fp", [Reference("r")]
    )
    items = [
        replace(base, message=f"message {i}", destination=replace(DEST, host=f"h{i}.example"), title=f"t{i}")
        for i in range(10)
    ]
    store = FindingStore(items)
    assert len(store._shared) == 3
    assert list(store.in_order_found()) == items


def test_mark_changes_open_findings_only_and_names_what_matched() -> None:
    base = Finding("C-1", "p", Severity.HIGH, "t", "m", Location("a", 1), DEST, [], "fp1")
    items = [base, replace(base, fingerprint="fp2", status="waived"), replace(base, fingerprint="fp3")]
    store = FindingStore(items)
    matched = store.mark(["fp1", "fp2", "fp-unknown"], "baselined", "known in baseline b.json")
    assert matched == {"fp1", "fp2"}
    by_fp = {f.fingerprint: f for f in store}
    assert (by_fp["fp1"].status, by_fp["fp1"].status_reason) == ("baselined", "known in baseline b.json")
    assert by_fp["fp2"].status == "waived" and by_fp["fp3"].status == "open"
    assert store.count(status="open") == 1


def test_store_survives_pickle_and_deepcopy(samples_result: ScanResult) -> None:
    original = list(samples_result.findings)
    assert list(pickle.loads(pickle.dumps(samples_result.findings))) == original
    assert list(copy.deepcopy(samples_result).findings) == original


def test_streamed_reports_equal_whole_documents(samples_result: ScanResult) -> None:
    assert len(samples_result.findings) > 10
    assert json_report.render(samples_result) == (
        orjson.dumps(to_dict(samples_result), option=orjson.OPT_INDENT_2).decode() + "\n"
    )
    assert sarif.render(samples_result) == (
        orjson.dumps(sarif.to_sarif(samples_result), option=orjson.OPT_INDENT_2).decode() + "\n"
    )
    empty = replace(samples_result, findings=FindingStore())
    assert json.loads(json_report.render(empty))["findings"] == []
    assert (
        json_report.render(empty) == orjson.dumps(to_dict(empty), option=orjson.OPT_INDENT_2).decode() + "\n"
    )
    rows = csv_report.render(samples_result).splitlines()
    assert len(rows) == 1 + len(samples_result.findings)


@pytest.mark.parametrize("limit", [1, 5, 12, 10_000])
def test_sarif_keeps_what_ranking_every_finding_would_keep(
    samples_result: ScanResult, limit: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    findings = list(samples_result.findings)
    for i, f in enumerate(findings):
        if i % 3 == 0:
            f.status = "waived"
    result = replace(samples_result, findings=FindingStore(findings))
    monkeypatch.setattr(sarif, "MAX_RESULTS", limit)
    ranked = sorted(findings, key=lambda f: (f.status != "open", -f.severity.rank))
    kept = {id(f) for f in ranked[:limit]}
    expected = [f.fingerprint for f in findings if id(f) in kept]
    run = sarif.to_sarif(result)["runs"][0]
    assert [r["partialFingerprints"][sarif.FINGERPRINT_KEY] for r in run["results"]] == expected
    assert run["properties"]["resultsOmitted"] == len(findings) - len(expected)


@pytest.mark.usefixtures("shared_analyzer")
def test_store_holds_no_raw_value(tmp_path: Path) -> None:
    email, card = "canary.person@example.com", "5555 5555 5555 4444"
    log = tmp_path / "log.jsonl"
    rec = {
        "url": "https://api.openai.com/v1/chat/completions",
        "body": {"messages": [{"role": "user", "content": f"card {card}, mail {email}"}]},
    }
    log.write_text(json.dumps(rec) + "\n")
    result = Scanner(Settings(policies=("au-privacy",), model=MODEL)).scan([str(log)])
    assert {d.entity for f in result.findings for d in f.detections} >= {"CREDIT_CARD", "EMAIL_ADDRESS"}
    image = result.findings._db.serialize()
    for raw in (email, card, card.replace(" ", ""), "canary.person"):
        assert raw.encode() not in image


@pytest.mark.usefixtures("shared_analyzer")
def test_a_scan_holds_a_bounded_number_of_findings_and_skipped_records(tmp_path: Path) -> None:
    log = tmp_path / "big.jsonl"
    good = {
        "url": "https://api.openai.com/v1/chat/completions",
        "body": {"messages": [{"role": "user", "content": "TFN 876 543 210, reach me at a{}@example.com"}]},
    }
    lines = []
    for i in range(3 * _STORE_AT):
        lines.append(json.dumps(good).replace("a{}", f"a{i}"))
        lines.append("{not json")
    log.write_text("\n".join(lines) + "\n")
    held: list[int] = []
    scanner = Scanner(Settings(policies=("au-privacy",), model=MODEL, pii_mode="patterns", jobs=1))
    scanner.on_progress = lambda records, _bytes: held.append(len(scanner.findings))
    result = scanner.scan([str(log)])
    assert held and max(held) < _STORE_AT  # in memory: what waits to be stored
    assert len(result.findings) >= 3 * _STORE_AT  # every finding was kept, on disk
    assert len({f.location.line for f in result.findings}) == 3 * _STORE_AT
    assert result.inputs[0].skipped == 3 * _STORE_AT  # every skipped record is counted ...
    assert len(result.skipped) == 1000  # ... and the first 1,000 are listed
    assert [s.location.line for s in result.skipped[:2]] == [2, 4]
    assert json.loads(json_report.render(result))["skipped_listed"] == 1000


def test_distinct_counts_agree_with_python() -> None:
    """``counts`` (SQL) against the same counts computed in Python, with statuses changed."""

    def finding(i: int) -> Finding:
        values = [f"h{(i * 7 + k) % 5}" for k in range(i % 3)]
        dest = None if i % 4 == 3 else replace(DEST, host=f"h{i % 2}.example")
        return Finding(
            control_id=f"C-{i % 2}",
            policy_id="p",
            severity=Severity.HIGH,
            title="t",
            message="m",
            location=Location("log.jsonl", 1 + i // 2),  # two findings per record
            destination=dest,
            detections=[
                Detection("d", "E", f"cat{k % 2}", "", 0, 1, 1.0, v, "*") for k, v in enumerate(values)
            ],
            fingerprint=f"fp{i}",
            timestamp=f"2026-11-{1 + i % 20:02d}" if i % 5 else None,
        )

    found = [finding(i) for i in range(40)]
    store = FindingStore(found[:-1])
    store.counts()  # answered before the last add and the marks: neither may be missed
    store.add(found[-1:])
    store.counts()
    store.mark({"fp1", "fp2"}, "waived", "accepted")
    live = [f for f in found if f.fingerprint not in {"fp1", "fp2"}]

    def expect(fs: list[Finding]) -> tuple[int, int, int, int, str | None, str | None]:
        stamps = [f.timestamp for f in fs if f.timestamp]
        return (
            len(fs),
            len({(f.location.path, f.location.line) for f in fs}),
            len({d.value_hash for f in fs for d in f.detections}),
            len({(d.category, f.destination.host) for f in fs if f.destination for d in f.detections}),
            min(stamps, default=None),
            max(stamps, default=None),
        )

    def got(c: object) -> tuple[object, ...]:
        return tuple(
            getattr(c, k) for k in ("findings", "requests", "values", "flows", "first_seen", "last_seen")
        )

    total, per = store.counts()
    assert got(total) == expect(live)
    for control in ("C-0", "C-1"):
        assert got(per["p", control]) == expect([f for f in live if f.control_id == control])
    all_total, _ = store.counts(status=None)
    assert got(all_total) == expect(found)
    _, by_pack = store.counts(by="policy")
    assert got(by_pack["p", ""]) == expect(live)
