"""Honest verdicts and counts a committee can use, through real scans with the CLI.

A pack is ``not_assessed`` (never ``pass``) when a control could not be assessed: no approved-
provider register, no record of a kind it applies to, named entities not detected, only unknown
destinations. Distinct counts (requests, values, flows, first and last seen) sit beside every
per-request finding, and every report format shows both.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from ci_support import MODEL, shared_analyzer, validate_sarif
from click.testing import Result
from typer.testing import CliRunner

from scanner.cli import app

__all__ = ["shared_analyzer"]
pytestmark = pytest.mark.usefixtures("shared_analyzer")
ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples"
runner = CliRunner()
NO_GITHUB = {"GITHUB_ACTIONS": "", "GITHUB_STEP_SUMMARY": ""}
REGISTER = """\
register:
  - name: OpenAI (enterprise agreement)
    providers: [openai]
    attributes: {app8_basis: contract_reasonable_steps, zero_retention: true}
"""


def scan(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None) -> tuple[Result, Any]:
    out = (cwd or Path.cwd()) / "verdict-out.json"
    res = runner.invoke(
        app, ["scan", *args, "--model", MODEL, "-r", f"json:{out}"], env={**NO_GITHUB, **(env or {})}
    )
    assert res.exit_code in (0, 1), res.output
    return res, json.loads(out.read_text(encoding="utf-8"))


def write_log(path: Path, records: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def chat(host: str, text: str, ts: str = "2026-11-02T09:00:00Z") -> dict[str, Any]:
    return {
        "timestamp": ts,
        "url": f"https://{host}/v1/chat/completions",
        "body": {"model": "gpt-4o", "messages": [{"role": "user", "content": text}]},
    }


@pytest.fixture()
def clean_log(tmp_path: Path) -> Path:
    return write_log(tmp_path / "clean.jsonl", [chat("api.openai.com", "Name three primary colours.")])


# -- verdicts ---------------------------------------------------------------------------------------
def test_hipaa_on_samples_is_not_assessed_without_a_register(tmp_path: Path) -> None:
    res, doc = scan(str(SAMPLES), "--policy", "hipaa", cwd=tmp_path)
    s = doc["summary"]
    assert res.exit_code == 0  # exit codes are unchanged by default
    assert s["verdict"] == "not_assessed" and s["open"] == 0
    (pack,) = s["packs"]
    assert pack["policy_id"] == "hipaa" and pack["verdict"] == "not_assessed"
    missing = {n["control_id"]: n["reason"] for n in pack["not_assessed"]}
    assert set(missing) == {"HIPAA-001", "HIPAA-002"}
    assert all("register" in reason for reason in missing.values())
    by_id = {c["control_id"]: c for c in doc["controls"]}
    assert by_id["HIPAA-001"]["outcome"] == "not_assessed" and by_id["HIPAA-001"]["evaluated"] == 0
    assert by_id["HIPAA-003"]["outcome"] == "pass" and by_id["HIPAA-003"]["not_assessed"] is None


@pytest.mark.parametrize("pack", ["gdpr-transfers", "uk-gdpr", "nz-privacy"])
def test_transfer_packs_on_samples_are_not_assessed(tmp_path: Path, pack: str) -> None:
    _, doc = scan(str(SAMPLES), "--policy", pack, cwd=tmp_path)
    (verdict,) = doc["summary"]["packs"]
    assert verdict["verdict"] in ("fail", "not_assessed") and doc["summary"]["verdict"] != "pass"
    # Whatever else it found, the controls that judge transfers by the register were not assessed.
    assert verdict["not_assessed"] and all("register" in n["reason"] for n in verdict["not_assessed"])


def test_the_gate_can_fail_on_not_assessed(tmp_path: Path, clean_log: Path) -> None:
    res, doc = scan(str(clean_log), "--policy", "hipaa", "--fail-on-not-assessed", cwd=tmp_path)
    assert res.exit_code == 1 and doc["summary"]["verdict"] == "not_assessed"
    assert doc["summary"]["fail_on_not_assessed"] is True
    # The same from the organisation policy file.
    (tmp_path / "sovscan.yaml").write_text("extends: [hipaa]\nfail_on_not_assessed: true\n")
    res, doc = scan(str(clean_log), "--config", str(tmp_path / "sovscan.yaml"), cwd=tmp_path)
    assert res.exit_code == 1 and doc["summary"]["fail_on_not_assessed"] is True


def test_a_child_policy_cannot_stop_failing_on_not_assessed(tmp_path: Path, clean_log: Path) -> None:
    (tmp_path / "org.yaml").write_text("extends: [hipaa]\nfail_on_not_assessed: true\n")
    (tmp_path / "sovscan.yaml").write_text("extends: [org.yaml]\nfail_on_not_assessed: false\n")
    res = runner.invoke(
        app, ["scan", str(clean_log), "--config", str(tmp_path / "sovscan.yaml")], env=NO_GITHUB
    )
    assert res.exit_code == 2
    assert "sovscan.yaml:2" in res.output and "fail_on_not_assessed" in res.output


def test_with_a_register_a_clean_log_passes(tmp_path: Path, clean_log: Path) -> None:
    (tmp_path / "sovscan.yaml").write_text("extends: [au-privacy]\n" + REGISTER)
    res, doc = scan(str(clean_log), "--config", str(tmp_path / "sovscan.yaml"), cwd=tmp_path)
    assert res.exit_code == 0
    assert doc["summary"]["verdict"] == "pass", doc["summary"]["packs"]
    (pack,) = doc["summary"]["packs"]
    assert pack["verdict"] == "pass" and pack["not_assessed"] == []
    # What the scan's scope did not cover is said, control by control: no configuration was
    # scanned, and responses are evaluated only with --include-responses.
    scoped = {n["control_id"]: n["reason"] for n in pack["not_applicable"]}
    assert "--include-responses" in scoped["OAIC-003"] and "configuration" in scoped["APP8-C01"]
    by_id = {c["control_id"]: c for c in doc["controls"]}
    assert by_id["OAIC-003"]["outcome"] == "not_applicable" and by_id["APP8-001"]["outcome"] == "pass"


def test_responses_asked_for_but_absent_are_said_so(tmp_path: Path, clean_log: Path) -> None:
    (tmp_path / "sovscan.yaml").write_text("extends: [au-privacy]\n" + REGISTER)
    cfg = str(tmp_path / "sovscan.yaml")
    _, doc = scan(str(clean_log), "--config", cfg, "--include-responses", cwd=tmp_path)
    oaic3 = next(c for c in doc["controls"] if c["control_id"] == "OAIC-003")
    assert oaic3["outcome"] == "not_applicable" and "none was scanned" in oaic3["out_of_scope"]


def test_patterns_mode_leaves_name_controls_not_assessed(tmp_path: Path, clean_log: Path) -> None:
    (tmp_path / "sovscan.yaml").write_text("extends: [au-privacy]\n" + REGISTER)
    cfg = str(tmp_path / "sovscan.yaml")
    _, full = scan(str(clean_log), "--config", cfg, cwd=tmp_path)
    _, patterns = scan(str(clean_log), "--config", cfg, "--pii", "patterns", cwd=tmp_path)
    assert full["summary"]["verdict"] == "pass"
    assert patterns["summary"]["verdict"] == "not_assessed"
    reasons = {n["control_id"]: n["reason"] for n in patterns["summary"]["packs"][0]["not_assessed"]}
    assert "APP8-001" in reasons and "--pii patterns" in reasons["APP8-001"]
    # A control on identifiers patterns do find (TFNs) is still assessed.
    assert "TFN-001" not in reasons


def test_a_pack_with_nothing_in_scope_is_not_assessed(tmp_path: Path) -> None:
    # HIPAA's controls judge traffic; a scan of configuration files alone assesses none of them.
    (tmp_path / "sovscan.yaml").write_text("extends: [hipaa]\n" + REGISTER)
    _, doc = scan(str(SAMPLES / "configs"), "--config", str(tmp_path / "sovscan.yaml"), cwd=tmp_path)
    (pack,) = doc["summary"]["packs"]
    assert pack["verdict"] == "not_assessed" and pack["not_assessed"][0]["control_id"] == "*"
    assert doc["summary"]["verdict"] == "not_assessed"


def test_traffic_controls_are_not_applicable_when_only_configs_are_scanned(tmp_path: Path) -> None:
    _, doc = scan(str(SAMPLES / "configs"), "--policy", "au-privacy", cwd=tmp_path)
    by_id = {c["control_id"]: c for c in doc["controls"]}
    assert "no traffic record" in by_id["APP8-001"]["out_of_scope"]
    assert by_id["APP8-001"]["outcome"] == "not_applicable"
    assert by_id["APP8-C01"]["out_of_scope"] is None and by_id["APP8-C01"]["outcome"] == "fail"


def test_unknown_destinations_leave_destination_controls_not_assessed(tmp_path: Path) -> None:
    pack = tmp_path / "pack.yaml"
    pack.write_text(
        """\
id: provider-pin
title: Personal data goes to OpenAI only through its EU endpoint
version: "1"
jurisdiction: EU
reviewed: 2026-11-01
source: [https://example.org/internal-standard]
controls:
  - id: PIN-001
    title: Personal data sent to OpenAI's global endpoint
    severity: high
    applies_to: [traffic]
    when:
      data: {categories: [contact]}
      destination: {provider_in: [openai], host_not_in: ["eu.api.openai.com"]}
    reference: "Internal standard 4.2"
    rationale: Contractual routing.
    remediation: Use eu.api.openai.com.
"""
    )
    log = write_log(tmp_path / "x.jsonl", [chat("llm.unknown-vendor.example", "Mail ann.lee@example.com")])
    _, doc = scan(str(log), "--policy-file", str(pack), cwd=tmp_path)
    (control,) = doc["controls"]
    assert control["evaluated"] == 1 and control["unlocated"] == 1 and control["failed"] == 0
    assert control["outcome"] == "not_assessed" and "endpoint catalog" in control["not_assessed"]
    # A known destination makes it assessed (and here it fails).
    log = write_log(tmp_path / "x.jsonl", [chat("api.openai.com", "Mail ann.lee@example.com")])
    _, doc = scan(str(log), "--policy-file", str(pack), cwd=tmp_path)
    assert doc["summary"]["verdict"] == "fail" and doc["controls"][0]["unlocated"] == 0


# -- distinct counts -------------------------------------------------------------------------------
TFNS = ["123 456 782", "876 543 210", "429 954 048"]  # checksum-valid test TFNs


@pytest.fixture()
def resending_chat(tmp_path: Path) -> Path:
    """A chat that resends its history: turn n carries every TFN mentioned so far."""
    records = []
    history: list[str] = []
    for turn in range(6):
        tfn = TFNS[min(turn, 2)] if turn < 3 else None
        if tfn:
            history.append(f"My TFN is {tfn}.")
        history.append(f"Question {turn}: what deductions can I claim?")
        records.append(chat("api.openai.com", "\n".join(history), ts=f"2026-11-0{turn + 1}T10:00:00Z"))
    return write_log(tmp_path / "chat.jsonl", records)


def test_a_resending_chat_counts_values_and_requests(tmp_path: Path, resending_chat: Path) -> None:
    _, doc = scan(str(resending_chat), "--policy", "au-privacy", cwd=tmp_path)
    tfn = next(c for c in doc["controls"] if c["control_id"] == "TFN-001")
    d = tfn["distinct"]
    # One finding per request (all kept in the JSON), three distinct TFNs, one destination.
    per_request = [f for f in doc["findings"] if f["control_id"] == "TFN-001"]
    assert len(per_request) == d["findings"] == d["requests"] == 6
    assert d["values"] == 3 and d["flows"] == 1
    assert (d["first_seen"], d["last_seen"]) == ("2026-11-01T10:00:00Z", "2026-11-06T10:00:00Z")
    overall = doc["summary"]["distinct"]
    assert overall["requests"] == 6 and overall["findings"] == doc["summary"]["open"]
    assert overall["values"] >= 3


def test_every_report_shows_verdicts_and_distinct_counts(tmp_path: Path, resending_chat: Path) -> None:
    formats = ("console", "sarif", "junit", "markdown", "html", "json", "csv")
    outs = {fmt: tmp_path / f"r.{fmt}" for fmt in formats}
    summary_file = tmp_path / "summary.md"
    packs = ["--policy", "au-privacy", "--policy", "hipaa"]
    args = ["scan", str(resending_chat), str(SAMPLES / "configs"), *packs]
    for fmt, out in outs.items():
        args += ["-r", f"{fmt}:{out}"]
    res = runner.invoke(app, [*args, "--model", MODEL], env={"GITHUB_STEP_SUMMARY": str(summary_file)})
    assert res.exit_code == 1, res.output
    text = {fmt: out.read_text(encoding="utf-8") for fmt, out in outs.items()}
    text["github"] = summary_file.read_text(encoding="utf-8")

    assert "NOT ASSESSED" in text["console"] and "HIPAA-001, HIPAA-002 not assessed" in text["console"]
    assert "distinct values" in text["console"]

    sarif = json.loads(text["sarif"])
    validate_sarif(sarif)
    props = sarif["runs"][0]["properties"]
    assert props["verdict"] == "fail"
    packs = {p["id"]: p for p in props["packs"]}
    assert packs["hipaa"]["verdict"] == "not_assessed" and packs["au-privacy"]["verdict"] == "fail"
    assert props["distinct"]["requests"] >= 6
    notes = sarif["runs"][0]["invocations"][0]["toolExecutionNotifications"]
    assert any(n["associatedRule"]["id"] == "HIPAA-001" for n in notes if "associatedRule" in n)

    junit = ET.fromstring(text["junit"])
    suites = {s.get("name"): s for s in junit.iter("testsuite")}
    props_of = {p.get("name"): p.get("value") for p in suites["hipaa"].iter("property")}
    assert props_of["verdict"] == "not_assessed"
    skipped = [c for c in suites["hipaa"].iter("testcase") if c.find("skipped") is not None]
    assert {c.get("name", "").split(":")[0] for c in skipped} == {"HIPAA-001", "HIPAA-002"}
    assert all("register" in (c.find("skipped").get("message") or "") for c in skipped)  # type: ignore[union-attr]
    cases = suites["au-privacy"].iter("testcase")
    tfn_case = next(c for c in cases if c.get("name", "").startswith("TFN-001"))
    failure = tfn_case.find("failure")
    assert failure is not None and "in 6 request(s), 3 distinct value(s)" in (failure.get("message") or "")

    for fmt in ("markdown", "github"):
        assert "| `hipaa` | not assessed |" in text[fmt], fmt
        assert "distinct value" in text[fmt], fmt
    assert "FAIL" in text["markdown"] and "other pack(s) could not be assessed" in text["markdown"]
    # Repeats are grouped: turns 3 to 6 resend the same three TFNs, shown as one row.
    assert "and 3 more request(s)" in text["markdown"]

    assert 'data-metric="pack.hipaa.verdict">not assessed<' in text["html"]
    assert 'data-metric="distinct.requests">' in text["html"]
    assert json.loads(text["json"])["summary"]["packs"]

    import csv
    import io

    table = list(csv.DictReader(io.StringIO(text["csv"])))
    tfn_rows = [r for r in table if r["control_id"] == "TFN-001"]
    assert len(tfn_rows) == 6 and {r["pack_verdict"] for r in tfn_rows} == {"fail"}
    assert {(r["control_requests"], r["control_distinct_values"]) for r in tfn_rows} == {("6", "3")}
