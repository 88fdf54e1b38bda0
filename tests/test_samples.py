"""The samples scan reports exactly the findings samples/README.md lists."""

from __future__ import annotations

import re

from conftest import SAMPLES

from scanner.models import ScanResult


def expected_rows() -> set[tuple[str, str, str, tuple[str, ...]]]:
    text = (SAMPLES / "README.md").read_text(encoding="utf-8")
    block = text.split("<!-- expected-findings:start -->")[1].split("<!-- expected-findings:end -->")[0]
    rows = set()
    for line in block.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 4 or cells[0] in {"file", ""} or set(cells[0]) <= {"-"}:
            continue
        rows.add((cells[0], cells[1], cells[2], tuple(sorted(e.strip() for e in cells[3].split(",")))))
    return rows


def test_readme_lists_expected_findings() -> None:
    assert len(expected_rows()) >= 10


def test_samples_scan_matches_readme_exactly(samples_result: ScanResult) -> None:
    actual = set()
    for f in samples_result.findings:
        path = re.sub(r"^.*?samples/", "", f.location.path)
        record = str(f.location.line) if f.location.line is not None else f.location.pointer
        actual.add((path, record, f.control_id, tuple(sorted({d.entity for d in f.detections}))))
    assert actual == expected_rows()


def test_samples_scan_has_no_errors_and_reports_skipped_har_entry(samples_result: ScanResult) -> None:
    assert samples_result.errors == []
    har = next(i for i in samples_result.inputs if i.path.endswith("browser-session.har"))
    assert har.format == "har"
    assert (har.records, har.scanned, har.skipped) == (3, 3, 1)
    assert har.skipped_reasons == {"no request body": 1}
    assert all(i.sha256 and len(i.sha256) == 64 for i in samples_result.inputs)
    formats = {i.path.rsplit("/", 1)[-1]: i.format for i in samples_result.inputs}
    assert formats["bedrock-2026-11-06.jsonl.gz"] == "jsonl"


def test_control_stats_add_up(samples_result: ScanResult) -> None:
    from scanner.policy import load_policies

    controls = {c.id: c for lp in load_policies(["au-privacy"]) for c in lp.pack.controls}
    applies = {cid: c.applies_to for cid, c in controls.items()}

    def responses_only(cid: str) -> bool:
        record = controls[cid].when.record
        return record is not None and record.kind_in == ["response"]

    scanned = sum(i.scanned for i in samples_result.inputs)
    # Controls judged by the approved register do not apply when no register is configured.
    (notice,) = samples_result.notices
    register_based = set(notice.split(": ")[-1].split(", "))
    for stats in samples_result.controls:
        applicable = "traffic" in applies[stats.control_id] and stats.control_id not in register_based
        # A control on responses is not evaluated on requests (responses count with --include-responses).
        applicable = applicable and not responses_only(stats.control_id)
        assert stats.evaluated == (scanned if applicable else 0)
        if responses_only(stats.control_id):
            assert "--include-responses" in stats.out_of_scope
        assert stats.passed + stats.failed == stats.evaluated
        assert stats.failed == sum(1 for f in samples_result.findings if f.control_id == stats.control_id)


def test_findings_cite_their_source(samples_result: ScanResult) -> None:
    for f in samples_result.findings:
        assert f.references and f.references[0].citation
        assert f.references[0].url and f.references[0].url.startswith("https://")
        assert f.remediation
        assert len(f.fingerprint) == 32
