"""The pre-commit hook manifest, the composite GitHub Action and the GitLab CI template.

pre-commit itself is not installed here (and ``try-repo`` would install the hook's dependencies
from the network), so the manifest is checked structurally and its ``files`` pattern and ``entry``
are exercised directly: the files the pattern selects are passed to the entry's command. The
action's shell steps are run for real with bash, with ``sovscan`` on PATH.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from ci_support import MODEL, REPO_ROOT, TRAFFIC, shared_analyzer
from typer.testing import CliRunner

from scanner.cli import app

__all__ = ["shared_analyzer"]
runner = CliRunner()


def _load(name: str) -> Any:
    return yaml.safe_load((REPO_ROOT / name).read_text(encoding="utf-8"))


# -- pre-commit -----------------------------------------------------------------------------------
def test_pre_commit_manifest_structure() -> None:
    hooks = _load(".pre-commit-hooks.yaml")
    assert isinstance(hooks, list) and len(hooks) == 1
    hook = hooks[0]
    for key in ("id", "name", "entry", "language"):
        assert isinstance(hook.get(key), str) and hook[key]
    assert hook["id"] == "sovscan" and hook["language"] == "python"
    assert hook["entry"].startswith("sovscan scan ") and "--fail-on high" in hook["entry"]
    assert hook.get("pass_filenames", True) is True
    re.compile(hook["files"])
    pyproject = (REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert 'sovscan = "scanner.cli:main"' in pyproject  # the entry's command is installed by the hook


def test_pre_commit_files_pattern_selects_logs_cassettes_and_configs() -> None:
    pattern = re.compile(_load(".pre-commit-hooks.yaml")[0]["files"])
    picked = [
        "samples/traffic/openai-chat.jsonl",
        "samples/traffic/browser-session.har",
        "samples/traffic/archive/bedrock-2026-11-06.jsonl.gz",
        "tests/cassettes/test_chat.yaml",
        "deploy/litellm_config.yaml",
        ".env",
        "services/api/.env.production",
    ]
    left = ["README.md", "package.json", "src/app.py", "docs/env.md", "config/settings.yaml"]
    assert all(pattern.search(p) for p in picked)
    assert not any(pattern.search(p) for p in left)


@pytest.mark.usefixtures("shared_analyzer")
def test_pre_commit_entry_blocks_a_commit_with_violations(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    hook = _load(".pre-commit-hooks.yaml")[0]
    pattern = re.compile(hook["files"])
    shutil.copytree(TRAFFIC, tmp_path / "logs")
    (tmp_path / "README.md").write_text("# project\n")
    (tmp_path / "notes.jsonl").write_text('{"not": "traffic"}\n')  # matched by name, not a log
    monkeypatch.chdir(tmp_path)
    staged = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file())
    files = [p for p in staged if pattern.search(p)]
    assert "README.md" not in files and "notes.jsonl" in files
    args = [*shlex.split(hook["entry"])[1:], "--model", MODEL]
    env = {"GITHUB_ACTIONS": "", "GITHUB_STEP_SUMMARY": ""}
    blocked = runner.invoke(app, [*args, *files], env=env)
    assert blocked.exit_code == 1, blocked.output
    clean = runner.invoke(app, [*args, "notes.jsonl"], env=env)
    assert clean.exit_code == 0, clean.output


# -- GitHub Action --------------------------------------------------------------------------------
def test_action_manifest_inputs_outputs_and_steps() -> None:
    action = _load("action.yml")
    assert action["runs"]["using"] == "composite"
    inputs = action["inputs"]
    for name in ("paths", "policy", "fail-on", "baseline", "sarif-file", "version"):
        assert name in inputs and inputs[name].get("description")
    for name in ("exit-code", "sarif-file", "findings"):
        assert action["outputs"][name]["value"].startswith("${{ steps.scan.outputs.")
    steps = action["runs"]["steps"]
    uses = [s.get("uses", "") for s in steps]
    assert any(u.startswith("actions/setup-python@") for u in uses)
    assert any(u.startswith("github/codeql-action/upload-sarif@") for u in uses)
    text = (REPO_ROOT / "action.yml").read_text(encoding="utf-8")
    assert "${{ github.action_path }}" in text
    for ref in re.findall(r"\$\{\{\s*inputs\.([\w-]+)", text):
        assert ref in inputs, ref
    for step in steps:
        # inputs reach scripts only through env (no expression splicing into shell text)
        assert "${{" not in step.get("run", ""), step.get("name")
        if "run" in step:
            assert step.get("shell") == "bash"


def _step(name: str) -> dict[str, Any]:
    steps: list[dict[str, Any]] = _load("action.yml")["runs"]["steps"]
    return next(s for s in steps if s.get("name") == name)


def _shims(bin_dir: Path) -> None:
    bin_dir.mkdir()
    for name, target in (
        ("sovscan", f"{shlex.quote(sys.executable)} -m scanner"),
        ("python", sys.executable),
    ):
        shim = bin_dir / name
        shim.write_text(f'#!/bin/sh\nexec {target} "$@"\n')
        shim.chmod(0o755)


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_action_scan_and_gate_steps_run(tmp_path: Path) -> None:
    work = tmp_path / "work"
    shutil.copytree(TRAFFIC, work / "logs")
    _shims(tmp_path / "bin")
    outputs = tmp_path / "github_output"
    summary = tmp_path / "summary.md"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("GITHUB_")},
        "PATH": f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}",
        "PYTHONPATH": str(REPO_ROOT),
        "GITHUB_OUTPUT": str(outputs),
        "GITHUB_ACTIONS": "true",
        "GITHUB_STEP_SUMMARY": str(summary),
        "RUNNER_TEMP": str(tmp_path),
        "IN_PATHS": "logs",
        "IN_POLICY": "au-privacy",
        "IN_POLICY_FILE": "",
        "IN_FAIL_ON": "critical",
        "IN_BASELINE": "",
        "IN_SINCE": "",
        "IN_SARIF": "sovscan.sarif",
        "IN_JUNIT": "sovscan.junit.xml",
    }
    proc = subprocess.run(
        ["bash", "-e", "-c", _step("Scan")["run"]],
        cwd=work,
        env=env,
        check=False,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr  # the step records the exit code; the gate step fails
    out = dict(line.split("=", 1) for line in outputs.read_text().splitlines())
    report = json.loads((tmp_path / "sovscan.json").read_text())
    assert out["exit-code"] == "1" and out["sarif-written"] == "true"
    assert out["findings"] == str(report["summary"]["open"]) != "0"
    assert json.loads((work / "sovscan.sarif").read_text())["version"] == "2.1.0"
    assert (work / "sovscan.junit.xml").is_file()
    assert "::error file=logs/" in proc.stdout  # annotations from the CLI itself
    assert "sovscan: FAIL" in summary.read_text()

    gate = _step("Gate")["run"]
    for code, expected in (("0", 0), ("1", 1), ("2", 2)):
        done = subprocess.run(
            ["bash", "-e", "-c", gate],
            env={**env, "CODE": code, "FAIL_ON": "high"},
            check=False,
            capture_output=True,
            text=True,
        )
        assert done.returncode == expected
        assert ("::error" in done.stdout) == (expected != 0)


# -- GitLab ---------------------------------------------------------------------------------------
def test_gitlab_template_publishes_junit_and_keeps_sarif() -> None:
    template = _load("ci/gitlab/sovscan.gitlab-ci.yml")
    job = template["sovscan"]
    assert job["artifacts"]["reports"]["junit"] == "sovscan.junit.xml"
    assert job["artifacts"]["when"] == "always"
    assert {"sovscan.sarif", "sovscan.json"} <= set(job["artifacts"]["paths"])
    script = "\n".join(job["script"])
    assert (
        "sovscan scan" in script and "sarif:sovscan.sarif" in script and "junit:sovscan.junit.xml" in script
    )
    assert "--since $CI_MERGE_REQUEST_DIFF_BASE_SHA" in script
    for var in re.findall(r"\$(SOVSCAN_\w+)", script):
        assert var in template["variables"], var
