"""SARIF, JUnit and GitHub Actions output over real scans of samples/traffic.

Golden files (tests/golden/) pin the exact SARIF and JUnit bodies; ``UPDATE_GOLDEN=1`` rewrites them.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from ci_support import GOLDEN, MODEL, REPO_ROOT, TRAFFIC, shared_analyzer, validate_sarif
from typer.testing import CliRunner

from scanner.cli import app
from scanner.config import Settings
from scanner.models import ScanResult, Severity
from scanner.pipeline import Scanner
from scanner.reporters import REPORTERS, github, junit, sarif
from scanner.store import FindingStore

__all__ = ["shared_analyzer"]
pytestmark = pytest.mark.usefixtures("shared_analyzer")
runner = CliRunner()

RAW_EMAILS = sorted(
    {
        m.rstrip(".")
        for p in TRAFFIC.glob("*.*")
        if p.suffix in {".jsonl", ".har"}
        for m in re.findall(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+", p.read_text(encoding="utf-8"))
    }
)


@pytest.fixture(scope="module")
def result(shared_analyzer: None) -> ScanResult:
    old = Path.cwd()
    os.chdir(REPO_ROOT)  # paths as a user at the repository root names them
    try:
        return Scanner(Settings(policies=("au-privacy",), model=MODEL)).scan(["samples/traffic"])
    finally:
        os.chdir(old)


def _sarif(result: ScanResult) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(sarif.render(result))
    return doc


# -- golden files ---------------------------------------------------------------------------------
@pytest.mark.parametrize(("fmt", "name"), [("sarif", "traffic.sarif"), ("junit", "traffic.junit.xml")])
def test_golden_reports_over_samples(
    fmt: str, name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(REPO_ROOT)
    out = tmp_path / name
    args = ["scan", "samples/traffic", "--policy", "au-privacy", "--model", MODEL, "-r", f"{fmt}:{out}"]
    res = runner.invoke(app, args, env={"GITHUB_ACTIONS": "", "GITHUB_STEP_SUMMARY": ""})
    assert res.exit_code == 1, res.output
    text = out.read_text(encoding="utf-8")
    golden = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN") == "1":
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(text, encoding="utf-8")
    assert golden.is_file(), f"missing {golden}; run with UPDATE_GOLDEN=1"
    assert text == golden.read_text(encoding="utf-8"), f"{name} differs from the golden file"
    assert str(REPO_ROOT) not in text and str(tmp_path) not in text  # no absolute paths
    assert MODEL in text  # the model that produced the findings is recorded


def test_golden_sarif_validates_against_the_schema() -> None:
    validate_sarif(json.loads((GOLDEN / "traffic.sarif").read_text(encoding="utf-8")))


# -- SARIF ----------------------------------------------------------------------------------------
def test_sarif_is_registered_and_validates(result: ScanResult) -> None:
    assert REPORTERS["sarif"] is sarif.render and REPORTERS["junit"] is junit.render
    doc = _sarif(result)
    validate_sarif(doc)
    assert doc["version"] == "2.1.0" and len(doc["runs"]) == 1
    run = doc["runs"][0]
    assert run["tool"]["driver"]["name"] == "sovscan"
    assert run["properties"]["model"] == MODEL
    assert [p["id"] for p in run["properties"]["policies"]] == ["au-privacy"]
    assert len(run["results"]) == len(result.findings) > 0


def test_sarif_has_one_rule_per_control_with_help_and_severity(result: ScanResult) -> None:
    run = _sarif(result)["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    ids = [r["id"] for r in rules]
    assert len(ids) == len(set(ids)) == len(result.controls)
    by_id = {c.control_id: c for c in result.controls}
    bands = {"critical": 9.0, "high": 7.0, "medium": 4.0, "low": 0.1}
    for rule in rules:
        control = by_id[rule["id"]]
        props = rule["properties"]
        assert "security" in props["tags"] and control.policy_id in props["tags"]
        assert len(props["tags"]) <= sarif.MAX_TAGS
        score = float(props["security-severity"])
        floor = bands.get(control.severity.value, 0.0)
        assert floor <= score < floor + 3.0 if control.severity != Severity.CRITICAL else score > 9.0
        assert rule["helpUri"] == control.source_url and control.source_url
        assert control.reference in rule["help"]["markdown"] and control.reference in rule["help"]["text"]
        assert control.remediation.split()[0] in rule["help"]["markdown"]
        assert rule["shortDescription"]["text"] == control.title
    for res in run["results"]:
        assert rules[res["ruleIndex"]]["id"] == res["ruleId"]
    tfn = next(r for r in rules if r["id"] == "TFN-001")
    assert "AU_TFN" in tfn["properties"]["tags"]


def test_sarif_levels_fingerprints_and_locations(result: ScanResult) -> None:
    run = _sarif(result)["runs"][0]
    level = {"critical": "error", "high": "error", "medium": "warning", "low": "note", "info": "note"}
    har_lines = (TRAFFIC / "browser-session.har").read_text(encoding="utf-8").splitlines()
    seen_har = 0
    for f, res in zip(result.findings, run["results"], strict=True):
        assert res["ruleId"] == f.control_id
        assert res["level"] == level[f.severity.value]
        assert res["partialFingerprints"] == {"sovscanFingerprint/v1": f.fingerprint}
        loc = res["locations"][0]
        phys = loc["physicalLocation"]
        assert phys["artifactLocation"]["uri"] == f.location.path
        assert not phys["artifactLocation"]["uri"].startswith("/")
        pointers = {ll["fullyQualifiedName"] for ll in loc.get("logicalLocations", [])}
        assert {d.pointer for d in f.detections} <= pointers
        if f.location.path.endswith(".gz"):
            assert "region" not in phys  # no line of a compressed file exists in the repository view
            assert f"Line {f.location.line} of the decompressed file" in res["message"]["text"]
        elif f.location.path.endswith(".har"):
            seen_har += 1
            start = phys["region"]["startLine"]
            assert har_lines[start - 1].strip() == "{"  # the line where the entry starts
            assert f.location.pointer in pointers
            # the entry at that line is the one the pointer names
            index = int(f.location.pointer.rsplit("/", 1)[1])
            opens = [n for n, line in enumerate(har_lines, 1) if line == "      {"]
            assert opens[index] == start
        else:
            assert phys["region"]["startLine"] == f.location.line
    assert seen_har == 2


def test_sarif_suppressions_for_suppressed_waived_and_baselined(result: ScanResult) -> None:
    findings = list(result.findings)
    findings[0].status, findings[0].status_reason = (
        "waived",
        "waiver W-12 (owner risk@, until 2027-01-31)",
    )
    findings[1].status = "suppressed"
    findings[2].status, findings[2].status_reason = "baselined", "known in baseline b.json"
    doc = _sarif(dataclasses.replace(result, findings=FindingStore(findings)))
    validate_sarif(doc)
    results = doc["runs"][0]["results"]
    assert results[0]["suppressions"] == [
        {
            "kind": "external",
            "status": "accepted",
            "justification": "waiver W-12 (owner risk@, until 2027-01-31)",
        }
    ]
    assert results[1]["suppressions"][0]["kind"] == "inSource"
    assert results[1]["suppressions"][0]["justification"]
    assert results[2]["suppressions"][0] == {
        "kind": "external",
        "status": "accepted",
        "justification": "known in baseline b.json",
    }
    assert all("suppressions" not in r for r in results[3:])


def test_sarif_keeps_within_the_result_limit_open_first(
    result: ScanResult, monkeypatch: pytest.MonkeyPatch
) -> None:
    findings = list(result.findings)
    for f in findings:
        if f.severity == Severity.CRITICAL:
            f.status = "baselined"
    res = dataclasses.replace(result, findings=FindingStore(findings))
    monkeypatch.setattr(sarif, "MAX_RESULTS", 3)
    run = _sarif(res)["runs"][0]
    assert len(run["results"]) == 3
    assert run["properties"]["resultsOmitted"] == len(res.findings) - 3
    assert all("suppressions" not in r for r in run["results"])  # open findings kept first
    assert [r["level"] for r in run["results"]] == ["error"] * 3


def test_sarif_records_input_errors_as_notifications(tmp_path: Path, shared_analyzer: None) -> None:
    bad = tmp_path / "broken.har"
    bad.write_text('{"log": {"entries": [ {"request": ', encoding="utf-8")
    res = Scanner(Settings(policies=("au-privacy",), model=MODEL)).scan([str(bad)])
    doc = _sarif(res)
    validate_sarif(doc)
    inv = doc["runs"][0]["invocations"][0]
    assert inv["executionSuccessful"] is False
    assert "broken.har" in inv["toolExecutionNotifications"][0]["message"]["text"]


# -- JUnit ----------------------------------------------------------------------------------------
def test_junit_suite_per_pack_case_per_control_failures_list_open_findings(result: ScanResult) -> None:
    root = ET.fromstring(junit.render(result).split("\n", 1)[1])
    suites = root.findall("testsuite")
    assert [s.get("name") for s in suites] == ["au-privacy"]
    cases = suites[0].findall("testcase")
    assert [c.get("name", "").split(":")[0] for c in cases] == [c.control_id for c in result.controls]
    for case, control in zip(cases, result.controls, strict=True):
        open_ = [f for f in result.findings if f.control_id == control.control_id and f.status == "open"]
        failure = case.find("failure")
        assert (failure is not None) == bool(open_)
        if failure is not None:
            assert failure.get("type") == control.severity.value
            for f in open_:
                assert f.fingerprint in (failure.text or "")
    assert suites[0].get("failures") == str(sum(1 for c in cases if c.find("failure") is not None))
    assert root.get("tests") == str(len(result.controls))


def test_junit_shows_passing_and_not_evaluated_controls(tmp_path: Path, shared_analyzer: None) -> None:
    clean = tmp_path / "clean.jsonl"
    clean.write_text(
        json.dumps(
            {
                "url": "https://api.openai.com/v1/chat/completions",
                "body": {
                    "model": "gpt-4o",
                    "messages": [{"role": "user", "content": "What is the capital of France?"}],
                },
            }
        )
        + "\n",
        encoding="utf-8",
    )
    empty = tmp_path / "no-bodies.jsonl"
    empty.write_text(
        '{"url": "https://api.openai.com/v1/chat/completions", "body": null}\n', encoding="utf-8"
    )
    scanner = Scanner(Settings(policies=("au-privacy",), model=MODEL))
    passed = ET.fromstring(junit.render(scanner.scan([str(clean)])).split("\n", 1)[1])
    cases = passed.findall("testsuite/testcase")
    assert cases and not any(list(c.iter("failure")) for c in cases)
    # Traffic controls were evaluated and passed; config-only controls had nothing to check.
    passing = {c.get("name", "").split()[0].rstrip(":") for c in cases if not list(c.iter("skipped"))}
    assert {"APP8-001", "APP8-002", "APP11-001", "TFN-001"} <= passing
    assert passed.get("failures") == "0" and passed.get("skipped") == str(len(cases) - len(passing))

    skipped = ET.fromstring(
        junit.render(Scanner(Settings(policies=("au-privacy",), model=MODEL)).scan([str(empty)])).split(
            "\n", 1
        )[1]
    )
    assert skipped.get("skipped") == str(len(skipped.findall("testsuite/testcase"))) != "0"
    assert skipped.get("errors") == "0"


# -- GitHub Actions -------------------------------------------------------------------------------
def test_workflow_command_escaping() -> None:
    assert github.escape_data("50%\r\nnext: a, b") == "50%25%0D%0Anext: a, b"
    assert github.escape_property("a: b, c%\n") == "a%3A b%2C c%25%0A"


def test_annotations_levels_lines_and_limit(result: ScanResult) -> None:
    text = github.render_annotations(result)
    lines = text.splitlines()
    errors = [line for line in lines if line.startswith("::error ")]
    warnings = [line for line in lines if line.startswith("::warning ")]
    n_error = sum(1 for f in result.open_findings() if f.severity >= Severity.HIGH)
    n_warning = sum(1 for f in result.open_findings() if f.severity == Severity.MEDIUM)
    assert len(errors) == min(n_error, github.PER_LEVEL)
    assert len(warnings) == min(n_warning, github.PER_LEVEL)
    hidden = max(0, n_error - github.PER_LEVEL) + max(0, n_warning - github.PER_LEVEL)
    assert (f"::notice title=sovscan::{hidden} more" in text) == bool(hidden)
    first = next(f for f in result.open_findings() if f.location.path.endswith(".jsonl"))
    assert f"::error file={first.location.path},line={first.location.line},title={first.control_id}" in text
    for line in lines:
        assert re.match(r"^::(error|warning|notice) [^:]*::", line), line
        assert "\n" not in line and "\r" not in line
    gz = next(line for line in lines if ".jsonl.gz" in line)
    assert ",line=" not in gz.split("::")[1]


def test_job_summary_lists_counts_and_open_findings(result: ScanResult) -> None:
    text = github.render_summary(result)
    assert text.startswith("## ❌ sovscan: FAIL")
    assert f"| critical | {sum(1 for f in result.findings if f.severity == Severity.CRITICAL)} |" in text
    for f in result.open_findings():
        assert f"`{f.control_id}`" in text


def test_no_raw_values_in_any_ci_output(result: ScanResult) -> None:
    assert RAW_EMAILS, "samples should contain planted e-mail addresses"
    outputs = [
        sarif.render(result),
        junit.render(result),
        github.render_annotations(result),
        github.render_summary(result),
    ]
    for raw in RAW_EMAILS:
        for text in outputs:
            assert raw not in text
    assert "123 456 782" not in "".join(outputs)


def test_artifact_uris_are_relative_or_file_uris() -> None:
    assert sarif.artifact_uri("logs/my app/a b.jsonl") == "logs/my%20app/a%20b.jsonl"
    assert sarif.artifact_uri("/srv/logs/x.har") == "file:///srv/logs/x.har"
    assert sarif.artifact_uri("logs\\win.jsonl") == "logs/win.jsonl"


def test_absolute_paths_still_give_valid_sarif(shared_analyzer: None) -> None:
    res = Scanner(Settings(policies=("au-privacy",), model=MODEL)).scan([str(TRAFFIC / "gemini.jsonl")])
    doc = _sarif(res)
    validate_sarif(doc)
    uri = doc["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]
    assert uri["uri"].startswith("file:///") and "uriBaseId" not in uri
