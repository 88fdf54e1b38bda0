"""CLI behaviour through typer's CliRunner: detect, exit codes, reports, errors without tracebacks."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import jsonschema
import pytest
from conftest import REPO_ROOT, SAMPLES
from typer.testing import CliRunner

from scanner.cli import app

runner = CliRunner()


def test_detect_reports_tfn_and_card_at_the_right_offsets() -> None:
    text = "My TFN is 123 456 782 and my card is 4111 1111 1111 1111"
    result = runner.invoke(app, ["detect", "-"], input=json.dumps({"text": text}) + "\n")
    assert result.exit_code == 0, result.output
    spans = json.loads(result.stdout.splitlines()[0])["spans"]
    by_type = {s["type"]: (s["start"], s["end"]) for s in spans}
    assert by_type["AU_TFN"] == (10, 21) and text[10:21] == "123 456 782"
    assert by_type["CREDIT_CARD"] == (37, 56) and text[37:56] == "4111 1111 1111 1111"


def test_detect_keeps_order_plain_and_jsonl_lines(tmp_path: Path) -> None:
    src = tmp_path / "texts.txt"
    src.write_text(
        "nothing to see here\nmail me at jo.bloggs@example.com\n\n"
        + json.dumps({"text": "call +61 412 345 678"})
        + "\n"
    )
    result = runner.invoke(app, ["detect", str(src)])
    assert result.exit_code == 0
    lines = [json.loads(line)["spans"] for line in result.stdout.splitlines()]
    assert len(lines) == 4
    assert lines[0] == [] and lines[2] == []
    assert [s["type"] for s in lines[1]] == ["EMAIL_ADDRESS"]
    assert "PHONE_NUMBER" in {s["type"] for s in lines[3]}


def test_scan_writes_json_that_validates_and_exits_1(tmp_path: Path) -> None:
    out = tmp_path / "findings.json"
    result = runner.invoke(
        app,
        [
            "scan",
            str(SAMPLES / "traffic"),
            "--policy",
            "au-privacy",
            "--report",
            f"json:{out}",
            "--report",
            "console",
        ],
    )
    assert result.exit_code == 1, result.output
    assert "APP8-001" in result.stdout and "verdict: FAIL" in result.stdout
    doc = json.loads(out.read_text())
    schema = json.loads((REPO_ROOT / "scanner" / "schemas" / "findings.schema.json").read_text())
    jsonschema.validate(doc, schema)
    assert doc["tool"]["model"] and doc["policies"][0]["id"] == "au-privacy"
    assert len(doc["policies"][0]["sha256"]) == 64
    assert doc["summary"]["verdict"] == "fail"


def test_fail_on_critical_passes_when_only_lower_findings(tmp_path: Path) -> None:
    f = tmp_path / "log.jsonl"
    f.write_text(
        json.dumps(
            {
                "url": "https://api.openai.com/v1/chat/completions",
                "body": {"messages": [{"role": "user", "content": "Email sam.jones@example.com today"}]},
            }
        )
        + "\n"
    )
    assert runner.invoke(app, ["scan", str(f), "--policy", "au-privacy"]).exit_code == 1
    assert (
        runner.invoke(app, ["scan", str(f), "--policy", "au-privacy", "--fail-on", "critical"]).exit_code == 0
    )


def test_clean_scan_exits_0(tmp_path: Path) -> None:
    f = tmp_path / "log.jsonl"
    f.write_text(
        json.dumps(
            {
                "url": "https://api.openai.com/v1/responses",
                "body": {"input": "Name three colours.", "store": False},
            }
        )
        + "\n"
    )
    result = runner.invoke(app, ["scan", str(f), "--policy", "au-privacy", "--report", "json"])
    assert result.exit_code == 0
    summary = json.loads(result.stdout)["summary"]
    # No open finding; the controls that judge providers by the register had none to use.
    assert summary["open"] == 0 and summary["verdict"] == "not_assessed"


def test_invalid_policy_yaml_exits_2_naming_file_field_and_reason(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "id: x\ntitle: t\nversion: '1'\nsource: https://example.org\nreviewed: 2026-01-01\n"
        "controls:\n  - id: X-001\n    title: t\n    severity: severe\n    applies_to: [traffic]\n"
        "    when: {destination: {external: true}}\n    reference: r\n    rationale: r\n    remediation: r\n"
    )
    result = runner.invoke(app, ["scan", str(SAMPLES / "traffic"), "--policy-file", str(bad)])
    assert result.exit_code == 2
    assert (
        str(bad) in result.stderr
        and "controls[0].severity" in result.stderr
        and ":9:" in result.stderr
        and "Traceback" not in result.output
    )
    broken = tmp_path / "broken.yaml"
    broken.write_text("id: [unclosed\n")
    result = runner.invoke(app, ["scan", str(SAMPLES / "traffic"), "--policy-file", str(broken)])
    assert result.exit_code == 2 and "broken.yaml:" in result.stderr and "invalid YAML" in result.stderr


def test_bad_inputs_are_reported_and_the_rest_scanned(tmp_path: Path) -> None:
    good = json.dumps(
        {
            "url": "https://api.openai.com/v1/chat/completions",
            "body": {"messages": [{"role": "user", "content": "I am Kate Miller, kate.miller@example.com"}]},
        }
    )
    (tmp_path / "a.jsonl").write_text(good + "\n{broken\n" + good + "\n")
    (tmp_path / "b.jsonl.gz").write_bytes(gzip.compress((good + "\n").encode() * 50)[:-30])
    (tmp_path / "c.json").write_bytes(b"\x00\x01binary\xff garbage")
    (tmp_path / "notes.md").write_text("ignored: not an input format\n")
    out = tmp_path / "r.json"
    result = runner.invoke(app, ["scan", str(tmp_path), "--report", f"json:{out}"])
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    err_lines = [line for line in result.stderr.splitlines() if line.startswith("sovscan:")]
    assert any("b.jsonl.gz" in line and "truncated" in line for line in err_lines)
    assert any("c.json" in line and "unknown format" in line and "tried" in line for line in err_lines)
    doc = json.loads(out.read_text())
    a = next(i for i in doc["inputs"] if i["path"].endswith("a.jsonl"))
    assert (a["records"], a["scanned"], a["skipped"]) == (2, 2, 1)
    assert doc["skipped"][0]["line"] == 2 and doc["skipped"][0]["reason"].startswith("malformed JSON")
    b = next(i for i in doc["inputs"] if i["path"].endswith("b.jsonl.gz"))
    assert b["scanned"] > 0  # records before the truncation point are still scanned
    assert not any(i["path"].endswith("notes.md") for i in doc["inputs"])
    assert {f["location"]["path"].rsplit("/", 1)[-1] for f in doc["findings"]} >= {"a.jsonl", "b.jsonl.gz"}


def test_explicit_unknown_file_and_input_format_override(tmp_path: Path) -> None:
    f = tmp_path / "x.txt"
    f.write_text("just some text\n")
    result = runner.invoke(app, ["scan", str(f)])
    assert result.exit_code == 2 and "unknown format" in result.stderr and "just some" not in result.stderr
    assert runner.invoke(app, ["scan", str(f), "--input-format", "nope"]).exit_code == 2


@pytest.mark.parametrize("args", [["--help"], ["policy", "validate"], ["policy", "list"], ["version"]])
def test_light_commands_work(args: list[str]) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output


def test_ci_runs_the_readme_test_command() -> None:
    ci = (REPO_ROOT / ".ci" / "run").read_text()
    command = next(line for line in ci.splitlines() if line.startswith("python3 -m venv"))
    assert command in (REPO_ROOT / "README.md").read_text()


def test_option_defaults_come_from_the_settings_object() -> None:
    """--min-score, --fail-on and --max-line-bytes default to ``Settings`` in every command."""
    import typer.main

    from scanner.config import Settings

    command = typer.main.get_command(app)
    expected = {
        "min_score": Settings.min_score,
        "fail_on": Settings.fail_on,
        "max_line_bytes": Settings.max_line_bytes,
    }
    seen = 0
    stack = [command]
    while stack:
        cmd = stack.pop()
        stack.extend(getattr(cmd, "commands", {}).values())  # type: ignore[arg-type]
        for param in cmd.params:
            if param.name in expected:
                seen += 1
                assert param.default == expected[param.name], (cmd.name, param.name)
    assert seen >= 5
