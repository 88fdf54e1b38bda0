"""JSONL request log: one envelope per line — ``url`` or ``host``, optional ``timestamp``,
``request_id``, ``app``, ``method``, and ``body``, the request body as sent (object or JSON string).

Malformed lines (bad JSON, invalid UTF-8, not an object, no target, no body, over the line limit)
are reported as skipped with their line number; the rest of the file is read.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, BinaryIO

import orjson

from scanner.models import Location, Record, Skipped
from scanner.sources._io import iter_lines
from scanner.sources.bodies import parse_body

if TYPE_CHECKING:
    from scanner.sources import ReadOptions

NAME = "jsonl"
KIND = "traffic"
PATTERNS = ("*.jsonl", "*.ndjson", "*.json", "*.log")


def _is_envelope(obj: Any) -> bool:
    return isinstance(obj, dict) and "body" in obj and ("url" in obj or "host" in obj)


def sniff(head: bytes, name: str) -> bool:
    for line in head.splitlines()[:20]:
        line = line.strip()
        if not line:
            continue
        try:
            obj = orjson.loads(line)
        except orjson.JSONDecodeError:
            continue
        return _is_envelope(obj)
    return False


def decode_line(line: bytes) -> tuple[Any, str | None]:
    """Parse one JSON line; on failure a reason that names the position, never the content."""
    try:
        return orjson.loads(line), None
    except orjson.JSONDecodeError as exc:
        try:
            line.decode("utf-8")
        except UnicodeDecodeError as ue:
            return None, f"invalid UTF-8 at byte {ue.start}"
        return None, f"malformed JSON at column {exc.colno}"


def read(stream: BinaryIO, path: str, options: ReadOptions) -> Iterator[Record | Skipped]:
    index = 0
    for number, line in iter_lines(stream, options.max_line_bytes, options.first_line):
        loc = Location(path=path, line=number)
        if line is None:
            yield Skipped(loc, f"line longer than {options.max_line_bytes} bytes")
            continue
        if not line or line.isspace():
            continue
        obj, problem = decode_line(line)
        if problem:
            yield Skipped(loc, problem)
            continue
        if not isinstance(obj, dict):
            yield Skipped(loc, "not a JSON object")
            continue
        target = obj.get("url") or obj.get("host")
        if not isinstance(target, str) or not target:
            yield Skipped(loc, "no url or host")
            continue
        if "body" not in obj or obj["body"] is None:
            yield Skipped(loc, "no body")
            continue
        parsed = parse_body(obj["body"], "/body")
        record = Record(
            location=Location(path=path, line=number, record=index),
            kind="request",
            target=target,
            segments=parsed.segments,
            model=parsed.model,
            timestamp=_str(obj.get("timestamp")),
            app=_app(obj.get("app")),
            request_id=_str(obj.get("request_id")),
            api=parsed.api,
            attributes=parsed.attributes,
            unscanned_parts=parsed.unscanned_parts,
        )
        index += 1
        yield record


def _app(value: Any) -> str | None:
    """Application names repeat on every line: one string each (findings keep them)."""
    name = _str(value)
    return sys.intern(name) if name is not None and len(name) <= 200 else name


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else (str(value) if isinstance(value, int | float) else None)
