"""VCR.py cassettes: real recorded LLM API calls that projects commit as test fixtures.

YAML (the default serializer) or JSON: ``interactions[].request.{method, uri, headers, body}`` and
``interactions[].response.{status, headers, body.string}``. A request body may be a block or
folded scalar, ``!!binary`` bytes (gzip-compressed when the headers say so or the bytes start with
the gzip magic), or null (GET requests: reported as skipped, nothing to scan). Each request with a
body is a record targeted at its ``uri``; the response body, streamed (SSE) or whole, becomes a
response record when responses are included.
"""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, BinaryIO

import orjson
import yaml

from scanner.errors import SourceError
from scanner.models import Location, Record, Skipped
from scanner.sources._common import head_text, label, record_from, request_id_from, text, type_name
from scanner.sources.bodies import ParsedBody, join, parse_body
from scanner.sources.responses import parse_response

if TYPE_CHECKING:
    from scanner.sources import ReadOptions

NAME = "vcr"
KIND = "traffic"
PATTERNS = ("*.yaml", "*.yml", "*.json")

_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def sniff(head: bytes, name: str) -> bool:
    start = head_text(head, 16384)
    if start.startswith(b"{"):
        return b'"interactions"' in start and b'"request"' in start
    # Cassettes are top-level mappings; "interactions:" may follow "version: 1".
    return (start.startswith(b"interactions:") or b"\ninteractions:" in start) and b"request:" in start


def read(stream: BinaryIO, path: str, options: ReadOptions) -> Iterator[Record | Skipped]:
    data = stream.read()
    doc = _load(data)
    interactions = doc.get("interactions") if isinstance(doc, dict) else None
    if not isinstance(interactions, list):
        raise SourceError("not a VCR cassette: no interactions list")
    index = 0
    for i, interaction in enumerate(interactions):
        pointer = f"/interactions/{i}"
        loc = Location(path=path, pointer=pointer)
        request = interaction.get("request") if isinstance(interaction, dict) else None
        if not isinstance(request, dict):
            yield Skipped(loc, "interaction has no request")
            continue
        uri = text(request.get("uri"))
        if uri is None:
            yield Skipped(loc, "request has no uri")
            continue
        headers = _headers(request.get("headers"))
        body, problem = _body(request.get("body"), headers)
        if problem:
            yield Skipped(loc, problem)
            continue
        if body is None:
            yield Skipped(loc, f"no request body ({label(request.get('method'), 'GET')})")
            continue
        bpointer = join(pointer, "request", "body")
        if isinstance(request.get("body"), dict):
            bpointer = join(bpointer, "string")
        parsed = parse_body(body, bpointer)
        response = interaction.get("response")
        rheaders = _headers(response.get("headers")) if isinstance(response, dict) else {}
        common = {"request_id": request_id_from(rheaders, headers)}
        yield record_from(parsed, Location(path, None, pointer, index), "request", uri, **common)
        index += 1
        if options.include_responses and isinstance(response, dict):
            resp = _response(response, join(pointer, "response"))
            if resp is not None:
                yield record_from(
                    resp, Location(path, None, join(pointer, "response"), index), "response", uri, **common
                )
                index += 1


def _load(data: bytes) -> Any:
    if data.lstrip().startswith(b"{"):
        try:
            return orjson.loads(data)
        except orjson.JSONDecodeError as exc:
            raise SourceError(
                f"malformed JSON at line {exc.lineno}, column {exc.colno}", f"line {exc.lineno}"
            ) from None
    try:
        return yaml.load(data, Loader=_Loader)  # noqa: S506 - a safe loader
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        raise SourceError(
            f"malformed YAML: {exc.problem or 'parse error'}", f"line {line}" if line else None
        ) from None
    except yaml.YAMLError as exc:
        raise SourceError(f"malformed YAML ({type(exc).__name__})") from None


def _headers(raw: Any) -> dict[str, str]:
    """Lower-cased header names → first value (VCR stores lists of values)."""
    out: dict[str, str] = {}
    if isinstance(raw, dict):
        for name, value in raw.items():
            first = value[0] if isinstance(value, list) and value else value
            if isinstance(first, str | int):
                out[str(name).lower()] = str(first)
    return out


def _body(raw: Any, headers: dict[str, str]) -> tuple[Any, str | None]:
    """The body as text/bytes/object, decompressed; or a reason it cannot be read."""
    if isinstance(raw, dict) and "string" in raw:
        raw = raw["string"]
    if raw is None or raw in ("", b""):
        return None, None
    if isinstance(raw, bytes | bytearray):
        raw = bytes(raw)
        if raw[:2] == b"\x1f\x8b" or "gzip" in headers.get("content-encoding", ""):
            try:
                raw = gzip.decompress(raw)
            except (OSError, EOFError, zlib.error):
                return None, "corrupt gzip body"
        elif "deflate" in headers.get("content-encoding", ""):
            try:
                raw = zlib.decompress(raw)
            except zlib.error:
                return None, "corrupt deflate body"
        return raw, None
    if isinstance(raw, str | dict | list):
        return raw, None
    return None, f"body is {type_name(raw)}"


def _response(response: dict[str, Any], pointer: str) -> ParsedBody | None:
    body, problem = _body(response.get("body"), _headers(response.get("headers")))
    if problem or body is None:
        return None
    bpointer = (
        join(pointer, "body", "string") if isinstance(response.get("body"), dict) else join(pointer, "body")
    )
    return parse_response(body, bpointer)
