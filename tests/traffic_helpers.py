"""Shared helpers for the traffic-source tests: read a fixture with one source module directly
(no detection) and reduce what it yields to comparable shapes."""

from __future__ import annotations

import os
from pathlib import Path
from types import ModuleType
from typing import Any

from scanner.models import Record, Skipped
from scanner.sources import ReadOptions, sniff
from scanner.sources._io import open_binary, peek_head

REPO_ROOT = Path(__file__).resolve().parents[1]
FIXTURES = REPO_ROOT / "tests" / "fixtures" / "traffic"
# Third-party samples live beside the repository, never inside it; SOVSCAN_EXTERNAL_SAMPLES
# points elsewhere when the checkout is not next to them.
EXTERNAL = Path(os.environ.get("SOVSCAN_EXTERNAL_SAMPLES") or REPO_ROOT.parent / "shared" / "external-samples")


def read_all(module: ModuleType, path: Path, include_responses: bool = True) -> list[Record | Skipped]:
    with open_binary(path) as stream:
        return list(module.read(stream, path.name, ReadOptions(include_responses=include_responses)))


def sniffed(path: Path) -> str | None:
    with open_binary(path) as stream:
        module = sniff(peek_head(stream), path.name)
    return module.NAME if module else None


def shape(items: list[Record | Skipped]) -> list[tuple[Any, ...]]:
    """Records as (kind, line, pointer, [(role, segment pointer), ...]); skips as ("skipped", line, pointer, reason)."""
    out: list[tuple[Any, ...]] = []
    for item in items:
        loc = item.location
        if isinstance(item, Skipped):
            out.append(("skipped", loc.line, loc.pointer, item.reason))
        else:
            out.append((item.kind, loc.line, loc.pointer, [(s.role, s.pointer) for s in item.segments]))
    return out


def records(items: list[Record | Skipped], kind: str = "request") -> list[Record]:
    return [i for i in items if isinstance(i, Record) and i.kind == kind]


def external(name: str) -> Path:
    import pytest

    path = EXTERNAL / name
    if not path.exists():
        pytest.skip(f"external sample {name} not available")
    return path
