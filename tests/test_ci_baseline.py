"""Baselines, gating and diff mode through the CLI, in throwaway git repositories with real scans.

Ends with the CI user's story: samples, a committed baseline and one new violation give a
non-zero exit, SARIF that validates, exactly the new finding open, and a GitHub annotation for it.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import orjson
import pytest
from ci_support import MODEL, NEW_VIOLATION, git, git_repo, shared_analyzer, validate_sarif
from click.testing import Result
from typer.testing import CliRunner

from scanner.cli import app

__all__ = ["shared_analyzer"]
pytestmark = pytest.mark.usefixtures("shared_analyzer")
runner = CliRunner()
NO_GITHUB = {"GITHUB_ACTIONS": "", "GITHUB_STEP_SUMMARY": ""}
BASE = ["--policy", "au-privacy", "--model", MODEL]


def invoke(args: list[str], env: dict[str, str] | None = None) -> Result:
    return runner.invoke(app, args, env={**NO_GITHUB, **(env or {})})


def scan_json(repo: Path, *extra: str, paths: tuple[str, ...] = ("logs",)) -> tuple[int, dict[str, Any]]:
    out = repo / "out.json"
    res = invoke(["scan", *paths, *BASE, "-r", f"json:{out}", *extra])
    assert res.exit_code in (0, 1), res.output
    return res.exit_code, json.loads(out.read_text(encoding="utf-8"))


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = git_repo(tmp_path / "repo")
    monkeypatch.chdir(root)
    return root


@pytest.fixture
def baselined(repo: Path) -> Path:
    res = invoke(["baseline", "create", "logs", "-o", ".sovscan-baseline.json", *BASE])
    assert res.exit_code == 0, res.output
    git(repo, "add", ".sovscan-baseline.json")
    git(repo, "commit", "-q", "-m", "baseline")
    return repo / ".sovscan-baseline.json"


def _append(path: Path, obj: dict[str, Any]) -> None:
    with path.open("a", encoding="utf-8") as fh:
        fh.write(json.dumps(obj) + "\n")


# -- baseline file --------------------------------------------------------------------------------
def test_baseline_holds_sorted_fingerprints_only_and_is_stable(repo: Path, baselined: Path) -> None:
    text = baselined.read_text(encoding="utf-8")
    doc = json.loads(text)
    assert doc["version"] == 1 and doc["tool"] == "sovscan"
    entries = doc["findings"]
    _, full = scan_json(repo)
    assert {e["fingerprint"] for e in entries} == {f["fingerprint"] for f in full["findings"]}
    assert all(set(e) == {"control_id", "fingerprint", "path"} for e in entries)
    assert entries == sorted(entries, key=lambda e: (e["path"], e["control_id"], e["fingerprint"]))
    # no raw values, no line numbers, no timestamps
    for p in (repo / "logs").rglob("*.jsonl"):
        for email in re.findall(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+", p.read_text(encoding="utf-8")):
            assert email.rstrip(".") not in text
    assert "line" not in text and not re.search(r"\d{4}-\d{2}-\d{2}T\d{2}:", text)
    again = invoke(["baseline", "create", "logs", "-o", "second.json", *BASE])
    assert again.exit_code == 0
    assert (repo / "second.json").read_text(encoding="utf-8") == text  # a stable diff


def test_rescan_with_baseline_is_clean(repo: Path, baselined: Path) -> None:
    code, doc = scan_json(repo, "--baseline", baselined.name)
    assert code == 0
    # Nothing open, but au-privacy has controls that need the approved-provider register: not a pass.
    assert doc["summary"]["open"] == 0 and doc["summary"]["verdict"] == "not_assessed"
    (pack,) = doc["summary"]["packs"]
    assert pack["verdict"] == "not_assessed" and pack["not_assessed"]
    assert all("register" in n["reason"] for n in pack["not_assessed"])
    assert {f["status"] for f in doc["findings"]} == {"baselined"}
    assert sum(c["baselined"] for c in doc["controls"]) == len(doc["findings"]) > 0
    assert doc["baseline"]["fixed"] == [] and doc["baseline"]["new"] == 0
    assert doc["baseline"]["matched"] == doc["baseline"]["entries"]


def test_new_violation_is_the_only_open_finding(repo: Path, baselined: Path) -> None:
    _append(repo / "logs" / "openai-chat.jsonl", NEW_VIOLATION)
    code, doc = scan_json(repo, "--baseline", baselined.name, "--fail-on-new-only")
    assert code == 1
    opened = [f for f in doc["findings"] if f["status"] == "open"]
    assert len(opened) == 1
    assert opened[0]["control_id"] == "APP8-001"
    assert opened[0]["location"] == {"path": "logs/openai-chat.jsonl", "line": 6, "pointer": "", "record": 5}
    assert doc["baseline"]["new"] == 1


def test_moved_and_reformatted_records_stay_baselined(repo: Path, baselined: Path) -> None:
    logs = repo / "logs"
    chat = logs / "openai-chat.jsonl"
    lines = chat.read_text(encoding="utf-8").splitlines()
    chat.write_text("\n\n" + "\n".join(reversed(lines)) + "\n", encoding="utf-8")  # moved lines
    gemini = logs / "gemini.jsonl"
    reformatted = [
        json.dumps(json.loads(line), separators=(" , ", " : ")) for line in gemini.read_text().splitlines()
    ]
    assert reformatted != gemini.read_text().splitlines()
    gemini.write_text("\n".join(reformatted) + "\n", encoding="utf-8")
    har = logs / "browser-session.har"
    har.write_bytes(orjson.dumps(orjson.loads(har.read_bytes())))  # pretty-printed → one line
    code, doc = scan_json(repo, "--baseline", ".sovscan-baseline.json")
    assert code == 0, [f for f in doc["findings"] if f["status"] == "open"]
    assert doc["summary"]["open"] == 0 and doc["baseline"]["fixed"] == []
    moved = [f for f in doc["findings"] if f["location"]["path"] == "logs/openai-chat.jsonl"]
    assert {f["location"]["line"] for f in moved} == {3, 5, 6}  # were lines 2, 3 and 5


def test_fixed_entries_are_listed_only_for_scanned_files(repo: Path, baselined: Path) -> None:
    chat = repo / "logs" / "openai-chat.jsonl"
    kept = [line for line in chat.read_text(encoding="utf-8").splitlines() if "123 456 782" not in line]
    assert len(kept) < len(chat.read_text(encoding="utf-8").splitlines())
    chat.write_text("\n".join(kept) + "\n", encoding="utf-8")
    code, doc = scan_json(repo, "--baseline", baselined.name)
    assert code == 0
    fixed = doc["baseline"]["fixed"]
    assert fixed and {e["path"] for e in fixed} == {"logs/openai-chat.jsonl"}
    assert "TFN-001" in {e["control_id"] for e in fixed}
    res = invoke(["scan", "logs", *BASE, "--baseline", baselined.name, "-r", "console"])
    assert "fixed: TFN-001 in logs/openai-chat.jsonl" in res.stdout
    # scanning one other file: entries of files not read are neither matched nor fixed
    code, doc = scan_json(repo, "--baseline", baselined.name, paths=("logs/gemini.jsonl",))
    assert doc["baseline"]["fixed"] == [] and doc["baseline"]["matched"] >= 1


# -- gating and errors ----------------------------------------------------------------------------
def test_exit_codes_follow_the_gate(repo: Path) -> None:
    only_high = ["scan", "logs/gemini.jsonl", *BASE, "-r", "json:g.json"]
    assert invoke([*only_high, "--fail-on", "high"]).exit_code == 1
    assert invoke([*only_high, "--fail-on", "critical"]).exit_code == 0
    assert invoke(["scan", "logs", *BASE, "-r", "json:a.json", "--fail-on", "critical"]).exit_code == 1


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "baseline is not valid JSON (line 1"),
        ('{"version": 99, "findings": []}', "unsupported baseline version 99"),
        ('{"version": 1, "findings": [{"path": "x"}]}', "findings[0]: expected an object with a fingerprint"),
    ],
)
def test_unusable_baseline_is_a_one_line_error(repo: Path, content: str, message: str) -> None:
    (repo / "bad.json").write_text(content, encoding="utf-8")
    res = invoke(["scan", "logs", *BASE, "--baseline", "bad.json"])
    assert res.exit_code == 2
    assert message in res.stderr and "bad.json" in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1 and "Traceback" not in res.output


def test_missing_baseline_and_new_only_without_baseline_are_errors(repo: Path) -> None:
    res = invoke(["scan", "logs", *BASE, "--baseline", "absent.json"])
    assert res.exit_code == 2 and "absent.json: cannot read baseline" in res.stderr
    res = invoke(["scan", "logs", *BASE, "--fail-on-new-only"])
    assert res.exit_code == 2 and "--fail-on-new-only needs --baseline" in res.stderr


def test_ignore_unknown_lets_hook_file_lists_through(repo: Path) -> None:
    (repo / "notes.jsonl").write_text('{"just": "data"}\n', encoding="utf-8")
    assert invoke(["scan", "notes.jsonl", *BASE]).exit_code == 2
    res = invoke(
        ["scan", "notes.jsonl", "logs/gemini.jsonl", *BASE, "--ignore-unknown", "--fail-on", "critical"]
    )
    assert res.exit_code == 0, res.output


# -- diff mode ------------------------------------------------------------------------------------
def test_since_scans_changed_and_untracked_files_only(repo: Path) -> None:
    _append(repo / "logs" / "gemini.jsonl", NEW_VIOLATION)  # modified, not staged
    (repo / "logs" / "new").mkdir()
    (repo / "logs" / "new" / "today.jsonl").write_text(json.dumps(NEW_VIOLATION) + "\n")  # untracked
    (repo / "logs" / "new" / "notes.txt").write_text("not a log\n")  # no format claims the name
    (repo / "logs" / "anthropic.jsonl").unlink()  # deleted
    git(repo, "rm", "-q", "--cached", "logs/openai-responses.jsonl")  # deleted from the index only
    code, doc = scan_json(repo, "--since", "HEAD")
    assert code == 1
    scanned = sorted(i["path"] for i in doc["inputs"])
    assert scanned == ["logs/gemini.jsonl", "logs/new/today.jsonl", "logs/openai-responses.jsonl"]

    # the same files named the same way as in a full scan: identical fingerprints
    _, full = scan_json(repo, paths=("logs",))
    in_full = {f["fingerprint"] for f in full["findings"] if f["location"]["path"] in scanned}
    assert {f["fingerprint"] for f in doc["findings"]} == in_full
    # and an explicitly named, unchanged file is left out
    code, doc = scan_json(repo, "--since", "HEAD", paths=("logs/openai-chat.jsonl", "logs/gemini.jsonl"))
    assert [i["path"] for i in doc["inputs"]] == ["logs/gemini.jsonl"]


def test_since_never_scans_the_baseline_or_its_own_reports(repo: Path) -> None:
    res = invoke(["baseline", "create", ".", "-o", ".sovscan-baseline.json", *BASE])  # untracked
    assert res.exit_code == 0, res.output
    (repo / "previous.json").write_text('{"schema_version": "1.0"}\n')  # an old report, untracked
    _append(repo / "logs" / "gemini.jsonl", NEW_VIOLATION)
    out = repo / "previous.json"
    res = invoke(
        ["scan", ".", *BASE, "--since", "HEAD", "--baseline", ".sovscan-baseline.json", "-r", f"json:{out}"]
    )
    assert res.exit_code == 1, res.output
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert [i["path"] for i in doc["inputs"]] == ["logs/gemini.jsonl"]
    assert doc["baseline"]["new"] == 1


def test_since_with_nothing_changed_passes(repo: Path) -> None:
    res = invoke(["scan", "logs", *BASE, "--since", "HEAD", "-r", "json:o.json"])
    assert res.exit_code == 0
    assert "no changed files to scan" in res.stderr


def test_since_errors_are_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, repo: Path) -> None:
    res = invoke(["scan", "logs", *BASE, "--since", "no-such-ref"])
    assert res.exit_code == 2 and "--since no-such-ref: unknown git ref" in res.stderr
    outside = tmp_path / "plain"
    outside.mkdir()
    monkeypatch.chdir(outside)
    res = invoke(["scan", ".", *BASE, "--since", "HEAD"])
    assert res.exit_code == 2
    assert "is not inside a git repository" in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1 and "Traceback" not in res.output


def test_fingerprints_identical_across_scan_modes(repo: Path) -> None:
    _, whole = scan_json(repo, paths=("logs",))
    _, dot = scan_json(repo, paths=(".",))
    _, files = scan_json(repo, paths=("logs/openai-chat.jsonl", "logs/browser-session.har"))
    fp = {f["fingerprint"] for f in whole["findings"]}
    assert fp == {f["fingerprint"] for f in dot["findings"]}
    picked = {f["fingerprint"] for f in files["findings"]}
    assert picked and picked <= fp


# -- the CI user's story --------------------------------------------------------------------------
def test_ci_run_with_baseline_and_one_new_violation(repo: Path, baselined: Path) -> None:
    _append(repo / "logs" / "openai-chat.jsonl", NEW_VIOLATION)
    summary = repo / "summary.md"
    sarif_out = repo / "sovscan.sarif"
    env = {"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary), "CI": "true"}
    for extra in ([], ["--since", "HEAD"]):
        summary.unlink(missing_ok=True)
        res = invoke(
            [
                "scan",
                "logs",
                *BASE,
                "--baseline",
                baselined.name,
                "--fail-on-new-only",
                "-r",
                f"sarif:{sarif_out.name}",
                "-r",
                "junit:sovscan.junit.xml",
                *extra,
            ],
            env=env,
        )
        assert res.exit_code == 1, res.output
        doc = json.loads(sarif_out.read_text(encoding="utf-8"))
        validate_sarif(doc)
        results = doc["runs"][0]["results"]
        open_results = [r for r in results if "suppressions" not in r]
        assert len(open_results) == 1
        assert open_results[0]["locations"][0]["physicalLocation"]["region"]["startLine"] == 6
        assert all(r["suppressions"][0]["kind"] == "external" for r in results if "suppressions" in r)
        annotations = [line for line in res.stdout.splitlines() if line.startswith("::")]
        assert len(annotations) == 1
        assert annotations[0].startswith(
            "::error file=logs/openai-chat.jsonl,line=6,title=APP8-001 (high)%3A Personal information"
        )
        assert "margaret.thompson@example.com" not in res.output + summary.read_text(encoding="utf-8")
        assert "sovscan: FAIL" in summary.read_text(encoding="utf-8")
        assert "1 new open finding" in summary.read_text(encoding="utf-8")
        junit_text = (repo / "sovscan.junit.xml").read_text(encoding="utf-8")
        assert junit_text.count("<failure ") == 1


def test_baseline_create_reads_the_organisation_policy_as_scan_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Waived findings and disabled controls are not recorded as open, so the first
    ``scan --baseline`` reports nothing "fixed" (both commands build their settings the same way)."""
    (tmp_path / ".env").write_text(
        "OPENAI_BASE_URL=https://api.openai.com/v1\nANTHROPIC_BASE_URL=https://api.anthropic.com\n"
    )
    waiver = (
        "extends: [au-privacy]\n"
        "waivers:\n"
        "  - control: APP8-C01\n"
        "    scope: {hosts: [api.anthropic.com]}\n"
        "    reason: Transfer assessment RISK-12 approved.\n"
        "    owner: privacy@example.com\n"
        "    expires: 2999-12-31\n"
    )
    (tmp_path / "sovscan.yaml").write_text(waiver)
    monkeypatch.chdir(tmp_path)
    created = invoke(["baseline", "create", ".env", "-o", "base.json", "--model", MODEL])
    assert created.exit_code == 0, created.output
    entries = json.loads((tmp_path / "base.json").read_text())["findings"]
    assert [e["control_id"] for e in entries] == ["APP8-C01"]  # the waived one is not open
    res = invoke(["scan", ".env", "--model", MODEL, "--baseline", "base.json", "-r", "json:out.json"])
    assert res.exit_code == 0, res.output
    doc = json.loads((tmp_path / "out.json").read_text())
    assert doc["baseline"]["fixed"] == [] and doc["baseline"]["new"] == 0
    assert sorted(f["status"] for f in doc["findings"]) == ["baselined", "waived"]

    # A disabled control: nothing recorded, so nothing "fixed" on the next scan.
    (tmp_path / "sovscan.yaml").write_text(
        "extends: [au-privacy]\ndisable:\n  - control: APP8-C01\n    reason: Approved gateway only.\n"
    )
    created = invoke(["baseline", "create", ".env", "-o", "base2.json", "--model", MODEL])
    assert json.loads((tmp_path / "base2.json").read_text())["findings"] == []
    # --config names the file to read instead.
    (tmp_path / "plain.yaml").write_text("extends: [au-privacy]\n")
    args = ["baseline", "create", ".env", "-o", "b3.json", "--model", MODEL, "--config", "plain.yaml"]
    assert invoke(args).exit_code == 0
    assert len(json.loads((tmp_path / "b3.json").read_text())["findings"]) == 2
