"""Audit reports (HTML, Markdown, CSV) over a real scan of samples/: goldens, structure, safety."""

from __future__ import annotations

import csv
import io
import json
import os
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from scanner.config import Settings
from scanner.models import (
    Destination,
    Detection,
    Finding,
    InputSummary,
    Location,
    ScanResult,
    Severity,
)
from scanner.pipeline import Scanner
from scanner.reporters import DEFAULT_EXTENSIONS, REPORTERS, RenderOptions
from scanner.reporters import csv as csv_report
from scanner.reporters import html as html_report
from scanner.store import FindingStore

REPO_ROOT = Path(__file__).resolve().parents[1]
GOLDEN = REPO_ROOT / "tests" / "golden"
FIXED_TIME = "2026-11-24T09:30:00+00:00"
FIXED_COMMAND = ["sovscan", "scan", "samples/", "--report", "html:audit.html", "--hash-key=****"]

# Canaries: a Luhn-valid card, a checksum-valid TFN and an e-mail address, planted in a request.
CARD = "5555 5555 5555 4444"
TFN = "876 543 210"
EMAIL = "canary.zq@example.org"


def render(fmt: str, result: ScanResult) -> str:
    return REPORTERS[fmt](result, RenderOptions())


@pytest.fixture(scope="module")
def samples_result() -> ScanResult:
    # Scan with relative paths from the repository root so goldens hold portable paths.
    cwd = os.getcwd()
    os.chdir(REPO_ROOT)
    try:
        result = Scanner(Settings()).scan(["samples/"])
    finally:
        os.chdir(cwd)
    result.generated_at = FIXED_TIME
    result.command = FIXED_COMMAND
    return result


@pytest.fixture(scope="module")
def canary_result(tmp_path_factory: pytest.TempPathFactory) -> ScanResult:
    folder = tmp_path_factory.mktemp("canary")
    body = {
        "model": "gpt-4o",
        "store": True,
        "messages": [
            {"role": "user", "content": f"My card is {CARD}, my TFN is {TFN}; write to me at {EMAIL}."}
        ],
    }
    line = {
        "timestamp": "2026-11-20T10:00:00Z",
        "app": "canary-app",
        "url": "https://api.openai.com/v1/chat/completions",
        "body": body,
    }
    (folder / "canary.jsonl").write_text(json.dumps(line) + "\n", encoding="utf-8")
    result = Scanner(Settings()).scan([str(folder)])
    result.generated_at = FIXED_TIME
    return result


def _golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN") == "1":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8", newline="")
    assert path.exists(), f"{path} missing; run with UPDATE_GOLDEN=1"
    assert text == path.read_bytes().decode("utf-8"), f"{name} differs from its golden file"


# -- registry -------------------------------------------------------------------------------------
def test_reporters_registered_with_extensions() -> None:
    for fmt, ext in {"html": "html", "markdown": "md", "csv": "csv"}.items():
        assert fmt in REPORTERS
        assert DEFAULT_EXTENSIONS[fmt] == ext


# -- goldens --------------------------------------------------------------------------------------
def test_markdown_golden(samples_result: ScanResult) -> None:
    _golden("samples.audit.md", render("markdown", samples_result))


def test_csv_golden(samples_result: ScanResult) -> None:
    _golden("samples.findings.csv", render("csv", samples_result))


def test_reports_are_deterministic(samples_result: ScanResult) -> None:
    for fmt in ("html", "markdown", "csv"):
        assert render(fmt, samples_result) == render(fmt, samples_result)


# -- CSV ------------------------------------------------------------------------------------------
def test_csv_has_documented_columns_and_one_row_per_finding(samples_result: ScanResult) -> None:
    rows = list(csv.reader(io.StringIO(render("csv", samples_result))))
    assert tuple(rows[0]) == csv_report.COLUMNS
    assert len(rows) - 1 == len(samples_result.findings)
    docs = (REPO_ROOT / "docs" / "reports.md").read_text(encoding="utf-8")
    for column in csv_report.COLUMNS:
        assert f"`{column}`" in docs, f"column {column} is not documented in docs/reports.md"
    by_fp = {r[0]: dict(zip(rows[0], r, strict=True)) for r in rows[1:]}
    for f in samples_result.findings:
        row = by_fp[f.fingerprint]
        assert (row["control_id"], row["severity"], row["status"]) == (
            f.control_id,
            f.severity.value,
            f.status,
        )
        assert row["path"] == f.location.path
        assert set(row["entities"].split()) == {d.entity for d in f.detections}


def _hostile_result() -> ScanResult:
    """A result whose free-text fields carry formula and markup payloads (as a hostile log could)."""
    dest = Destination(
        host="<img src=x onerror=alert(1)>.example",
        provider='=HYPERLINK("http://evil")',
        service="llm-api",
        region="-2+3",
        country=None,
        jurisdictions=frozenset({"US"}),
        hosting="vendor_cloud",
    )
    det = Detection("presidio", "EMAIL_ADDRESS", "contact", "/body", 0, 5, 1.0, "abc", "@***@***.com")
    finding = Finding(
        control_id="C-1",
        policy_id="p",
        severity=Severity.HIGH,
        title="<script>alert(1)</script>",
        message="+cmd|' /C calc'!A0",
        location=Location(path="logs/<b>x</b>|y.jsonl", line=1),
        destination=dest,
        detections=[det],
        fingerprint="f" * 32,
        app="@SUM(1+1)*cmd|' /C calc'!A0",
        timestamp="2026-11-20T10:00:00Z",
    )
    return ScanResult(
        tool_version="0",
        model="m",
        policies=[],
        inputs=[InputSummary("logs/<b>x</b>|y.jsonl", "0" * 64, "jsonl", 10, 1, 1)],
        findings=FindingStore([finding]),
        controls=[],
        destinations=[],
        errors=[],
        skipped=[],
        generated_at=FIXED_TIME,
    )


def test_csv_neutralises_formula_injection() -> None:
    rows = list(csv.reader(io.StringIO(render("csv", _hostile_result()))))
    row = dict(zip(rows[0], rows[1], strict=True))
    assert row["provider"] == '\'=HYPERLINK("http://evil")'
    assert row["region"] == "'-2+3"
    assert row["message"] == "'+cmd|' /C calc'!A0"
    assert row["app"] == "'@SUM(1+1)*cmd|' /C calc'!A0"
    for r in rows[1:]:
        for value in r:
            assert not value.startswith(("=", "+", "-", "@", "\t", "\r")), value
    assert csv_report.cell(-3) == "-3"  # numbers are data, not formulas


# -- escaping -------------------------------------------------------------------------------------
def test_html_escapes_scan_values() -> None:
    page = render("html", _hostile_result())
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<img src=x" not in page
    assert "<b>x</b>" not in page


def test_markdown_escapes_scan_values() -> None:
    md = render("markdown", _hostile_result())
    # Outside code spans (where GitHub shows text literally) no markup may come through.
    prose = re.sub(r"`[^`]*`", "", md)
    assert "<" not in prose and ">" not in prose.replace("→", "")
    assert "&lt;script&gt;" in md
    assert "`<img src=x onerror=alert(1)>.example`" in md
    # A pipe from a path must not split a table row: every table row keeps its column count.
    for block in re.split(r"\n\n", md):
        lines = [ln for ln in block.splitlines() if ln.startswith("| ")]
        if lines:
            counts = {len(re.findall(r"(?<!\\)\|", ln)) for ln in lines}
            assert len(counts) == 1, block


# -- canaries -------------------------------------------------------------------------------------
def test_canaries_never_appear_raw(canary_result: ScanResult) -> None:
    entities = {d.entity for f in canary_result.findings for d in f.detections}
    assert {"CREDIT_CARD", "AU_TFN", "EMAIL_ADDRESS"} <= entities, entities  # they were detected
    for fmt in ("html", "markdown", "csv"):
        out = render(fmt, canary_result)
        flat = re.sub(r"[\s\-]", "", out)
        for raw in (CARD, TFN, EMAIL):
            assert raw not in out, f"{fmt} leaks {raw}"
            assert raw.replace(" ", "") not in flat, f"{fmt} leaks {raw} without separators"
        assert "canary.zq" not in out and "example.org" not in out


# -- HTML structure against the JSON report --------------------------------------------------------
class _Metrics(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.metrics: dict[str, str] = {}
        self.ids: list[str] = []
        self.section_ids: list[str] = []
        self._open: list[str] = []
        self.resources: list[tuple[str, str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if a.get("id"):
            self.ids.append(a["id"] or "")
            if tag == "section":
                self.section_ids.append(a["id"] or "")
        for name in ("src", "href", "srcset", "data", "action", "poster", "xlink:href"):
            if a.get(name):
                self.resources.append((tag, name, a[name] or ""))
        if tag in {"script", "link", "iframe", "object", "embed", "img", "base"}:
            self.resources.append((tag, "tag", ""))
        self._open.append(a.get("data-metric") or "")

    def handle_endtag(self, tag: str) -> None:
        if self._open:
            self._open.pop()

    def handle_data(self, data: str) -> None:
        if self._open and self._open[-1] and data.strip():
            self.metrics[self._open[-1]] = self.metrics.get(self._open[-1], "") + data.strip()


def _parse(page: str) -> _Metrics:
    parser = _Metrics()
    parser.feed(page)
    return parser


def test_html_has_all_sections_in_order(samples_result: ScanResult) -> None:
    parsed = _parse(render("html", samples_result))
    assert parsed.section_ids == list(html_report.SECTIONS)


def test_html_counts_equal_the_json_report(samples_result: ScanResult) -> None:
    data = json.loads(render("json", samples_result))
    m = _parse(render("html", samples_result)).metrics
    as_int = lambda s: int(s.replace(",", ""))  # noqa: E731
    for sev, n in data["summary"]["by_severity"].items():
        assert as_int(m[f"open.{sev}"]) == n, sev
    assert as_int(m["findings.open"]) == data["summary"]["open"]
    assert as_int(m["records.scanned"]) == data["summary"]["records_scanned"]
    assert as_int(m["records.skipped"]) == data["summary"]["records_skipped"]
    assert as_int(m["records.total"]) == data["summary"]["records"]
    assert m["verdict"].lower() == data["summary"]["verdict"]
    assert data["controls"], "samples evaluate at least one control"
    for c in data["controls"]:
        key = f"control.{c['policy_id']}/{c['control_id']}"
        assert as_int(m[f"{key}.failed"]) == c["failed"]
        assert as_int(m[f"{key}.evaluated"]) == c["evaluated"]
        assert as_int(m[f"{key}.passed"]) == c["passed"]
    assert sum(as_int(m[f"control.{c['policy_id']}/{c['control_id']}.failed"]) for c in data["controls"]) > 0


def test_html_references_no_external_resource(samples_result: ScanResult) -> None:
    page = render("html", samples_result)
    parsed = _parse(page)
    for tag, attr, value in parsed.resources:
        assert tag not in {"script", "link", "iframe", "object", "embed", "img", "base"}, tag
        # Only in-page anchors are allowed (the table of contents).
        assert value.startswith("#"), (tag, attr, value)
    assert not re.search(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", page, re.I)
    assert not re.search(r"<script\b[^>]*\bsrc", page, re.I)
    assert not re.search(r"<link\b[^>]*rel=[\"']?stylesheet", page, re.I)
    assert not re.search(r"url\(|@import|@font-face", page, re.I)
    assert "default-src 'none'" in page  # the CSP forbids fetching anything


def test_html_renders_exceptions_when_pipeline_adds_them(samples_result: ScanResult) -> None:
    """Waivers and baselines may be attached by other stages; the report shows them when present."""
    from dataclasses import dataclass, field, replace

    @dataclass
    class Waiver:
        control_id: str
        owner: str
        reason: str
        expires: str
        matched: int = 1
        scope: dict[str, list[str]] = field(default_factory=dict)

    findings = [replace(f) for f in samples_result.findings]
    findings[0].status, findings[0].status_reason = "waived", "waiver by risk@example (DPA signed)"
    findings[1].status, findings[1].status_reason = "suppressed", "test fixture"
    result = replace(samples_result, findings=FindingStore(findings))

    class WithWaivers:
        def __init__(self, inner: ScanResult) -> None:
            self.__dict__["_inner"] = inner
            self.__dict__["waivers"] = [
                Waiver("APP8-002", "Head of Risk", "Contract with DPA", "2026-12-24", scope={"hosts": ["a"]}),
                Waiver("TFN-001", "CISO", "Old", "2026-11-01"),
            ]

        def __getattr__(self, name: str) -> object:
            return getattr(self.__dict__["_inner"], name)

    page = html_report.render(WithWaivers(result))  # type: ignore[arg-type]
    section = page.split('id="exceptions"')[1].split("</section>")[0]
    assert "Head of Risk" in section and "Contract with DPA" in section
    assert ">30<" in section  # days left counted from generated_at, not the wall clock
    assert "expired" in section
    assert "waiver by risk@example (DPA signed)" in section
    assert "test fixture" in section
    summary = page.split('id="summary"')[1].split("</section>")[0]
    assert 'data-metric="waivers.in_force">1<' in summary


def test_empty_scan_renders_every_section() -> None:
    empty = ScanResult("0", None, [], [], FindingStore(), [], [], [], [], generated_at=FIXED_TIME)
    page = render("html", empty)
    assert _parse(page).section_ids == list(html_report.SECTIONS)
    assert "No findings: every evaluated record passed every control." in page
    assert 'data-metric="verdict">PASS<' in page
    md = render("markdown", empty)
    assert [ln for ln in md.splitlines() if ln.startswith("## ")] == [
        "## 1. Executive summary",
        "## 2. Scope and provenance",
        "## 3. Data flows",
        "## 4. Control coverage",
        "## 5. Findings",
        "## 6. Exceptions",
        "## 7. Methodology and limitations",
        "## 8. Trend",
    ]
    assert render("csv", empty) == ",".join(csv_report.COLUMNS) + "\r\n"
