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
EXTERNAL = Path(
    os.environ.get("SOVSCAN_EXTERNAL_SAMPLES") or REPO_ROOT.parent / "shared" / "external-samples"
)


def read_all(module: ModuleType, path: Path, include_responses: bool = True) -> list[Record | Skipped]:
    with open_binary(path) as stream:
        return list(module.read(stream, path.name, ReadOptions(include_responses=include_responses)))


def sniffed(path: Path) -> str | None:
    with open_binary(path) as stream:
        module = sniff(peek_head(stream), path.name)
    return module.NAME if module else None


def shape(items: list[Record | Skipped]) -> list[tuple[Any, ...]]:
    """Records as (kind, line, pointer, [(role, segment pointer), ...]);
    skips as ("skipped", line, pointer, reason)."""
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


def _load(path: Path, line: int | None) -> Any:
    import json

    import yaml

    from scanner.sources.mitm import iter_flows

    with open_binary(path) as stream:
        data = stream.read()
    if path.suffix == ".mitm":
        import io

        return [flow for _, flow in iter_flows(io.BytesIO(data))]
    if line is not None:
        text = data.decode("utf-8").splitlines()[line - 1]
        if text[:1].isdigit():  # CloudWatch export "<timestamp> {json}"
            text = text.split(" ", 1)[1]
        return json.loads(text)
    if path.suffix in (".yaml", ".yml"):
        return yaml.safe_load(data)
    return json.loads(data)


def resolve(root: Any, pointer: str) -> Any:
    """Follow a segment pointer, decoding JSON held in strings at each ``#``."""
    import gzip
    import json

    value = root
    for n, part in enumerate(pointer.split("#")):
        if n:
            if isinstance(value, bytes):
                value = gzip.decompress(value) if value[:2] == b"\x1f\x8b" else value
            value = json.loads(value)
        for token in [t for t in part.split("/")[1:]]:
            key = token.replace("~1", "/").replace("~0", "~")
            value = value[int(key)] if isinstance(value, list) else value[key]
    return value


def assert_pointers_resolve(path: Path, items: list[Record | Skipped]) -> int:
    """Every segment's pointer leads, in the file itself, to exactly the segment's text."""
    checked = 0
    for item in items:
        if not isinstance(item, Record):
            continue
        root = _load(path, item.location.line)
        for seg in item.segments:
            if "*" in seg.pointer:  # reassembled from stream events
                continue
            value = resolve(root, seg.pointer)
            if isinstance(value, bytes):
                value = value.decode("utf-8")
            assert value == seg.text, seg.pointer
            checked += 1
    return checked
