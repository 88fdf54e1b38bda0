"""``sovscan scan`` with an organisation policy: --config, discovery in the current directory,
an organisation file given to --policy-file, and policy errors (exit 2, file:line and field)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from scanner.cli import app

runner = CliRunner()
OPENAI = "https://api.openai.com/v1/chat/completions"

ORG = """\
extends: [au-privacy]
waivers:
  - control: APP8-001
    scope: {apps: ["support-bot"]}
    reason: Pilot approved by the privacy officer.
    owner: privacy-officer@example.com
    expires: 2999-12-31
  - control: APP11-002
    scope: {apps: ["support-bot"]}
    reason: Zero retention being negotiated.
    owner: cio@example.com
    expires: 2999-12-31
  - control: OAIC-001
    scope: {apps: ["support-bot"]}
    reason: Provider assessment in progress.
    owner: cio@example.com
    expires: 2999-12-31
register:  # any register makes the register-based controls applicable
  - name: Internal gateway
    hosts: ["llm-gateway.example.internal"]
"""


@pytest.fixture()
def log(tmp_path: Path) -> Path:
    line = {
        "timestamp": "2026-11-02T09:00:00Z",
        "app": "support-bot",
        "url": OPENAI,
        "body": {
            "model": "gpt-4o-mini",
            "messages": [{"role": "user", "content": "Email jane.citizen@example.com"}],
        },
    }
    path = tmp_path / "traffic.jsonl"
    path.write_text(json.dumps(line) + "\n", encoding="utf-8")
    return path


def _scan(args: list[str]) -> tuple[int, dict]:  # type: ignore[type-arg]
    result = runner.invoke(app, ["scan", *args, "-r", "json"])
    body = result.stdout[result.stdout.index("{") :] if "{" in result.stdout else "{}"
    return result.exit_code, json.loads(body)


def test_config_waives_everything_high_so_the_gate_passes(tmp_path: Path, log: Path) -> None:
    org = tmp_path / "org.yaml"
    org.write_text(ORG, encoding="utf-8")
    code, data = _scan([str(log), "--config", str(org)])
    assert code == 0, data
    assert data["summary"]["by_status"]["waived"] == 3
    assert {w["control_id"]: w["matched"] for w in data["waivers"]} == {
        "APP8-001": 1,
        "APP11-002": 1,
        "OAIC-001": 1,
    }
    # Without the organisation policy the same log fails the gate.
    code, data = _scan([str(log), "--policy", "au-privacy"])
    assert code == 1 and data["summary"]["by_status"]["waived"] == 0


def test_sovscan_yaml_in_current_directory_and_policy_file_org(
    tmp_path: Path, log: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "sovscan.yaml").write_text(ORG, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    code, data = _scan([str(log)])
    assert code == 0 and data["waivers"][0]["source"] == "sovscan.yaml:3"
    other = tmp_path / "elsewhere"
    other.mkdir()
    monkeypatch.chdir(other)
    code, data = _scan([str(log), "--policy-file", str(tmp_path / "sovscan.yaml")])
    assert code == 0 and len(data["waivers"]) == 3


def test_loosening_repository_file_is_a_policy_error(tmp_path: Path, log: Path) -> None:
    (tmp_path / "org.yaml").write_text("extends: [au-privacy]\n", encoding="utf-8")
    repo = tmp_path / "repo.yaml"
    repo.write_text(
        "extends: [org.yaml]\ndisable:\n  - control: APP8-001\n    reason: noisy\n", encoding="utf-8"
    )
    result = runner.invoke(app, ["scan", str(log), "--config", str(repo)])
    assert result.exit_code == 2
    assert "repo.yaml:3: field disable[0]: cannot disable controls" in result.stderr
    assert "Traceback" not in result.output
