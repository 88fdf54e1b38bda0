"""HAR 1.2 captures (browser devtools, Charles, Fiddler, mitmproxy's ``hardump``).

Every entry with a request body is a record; its target is ``request.url`` and a JSON
``postData.text`` is parsed as a provider request body. Entries without a body are reported as
skipped ("no request body") so that nothing is silently dropped. A logged response body (JSON, an
SSE stream, base64 if so encoded) becomes a response record when responses are included. The
whole document is parsed at once (HAR is one JSON document); memory grows with the file, unlike
the line-oriented formats.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, BinaryIO

import orjson

from scanner.errors import SourceError
from scanner.models import Location, Record, Skipped
from scanner.sources._jsonpos import element_lines
from scanner.sources.bodies import ParsedBody, join, parse_body
from scanner.sources.responses import parse_response

if TYPE_CHECKING:
    from scanner.sources import ReadOptions

NAME = "har"
KIND = "traffic"
PATTERNS = ("*.har", "*.json")


def sniff(head: bytes, name: str) -> bool:
    start = head.lstrip()[:4096]
    return start.startswith(b"{") and b'"log"' in start and (b'"entries"' in head or b'"creator"' in start)


def read(stream: BinaryIO, path: str, options: ReadOptions) -> Iterator[Record | Skipped]:
    data = stream.read()
    try:
        doc = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise SourceError(
            f"malformed HAR JSON at line {exc.lineno}, column {exc.colno}", f"line {exc.lineno}"
        ) from None
    entries = (
        doc.get("log", {}).get("entries")
        if isinstance(doc, dict) and isinstance(doc.get("log"), dict)
        else None
    )
    if not isinstance(entries, list):
        raise SourceError("not a HAR file: no log.entries array")
    index = 0
    lines = element_lines(data, ("log", "entries"))  # where each entry starts, for line-based viewers
    for i, entry in enumerate(entries):
        pointer = f"/log/entries/{i}"
        loc = Location(path=path, pointer=pointer, start_line=lines.get(i))
        request = entry.get("request") if isinstance(entry, dict) else None
        if not isinstance(request, dict) or not isinstance(request.get("url"), str):
            yield Skipped(loc, "entry has no request.url")
            continue
        parsed = _body(request.get("postData"), join(pointer, "request", "postData"))
        if parsed is None:
            yield Skipped(loc, f"no request body ({request.get('method', 'GET')})")
            continue
        headers = {
            h.get("name", "").lower(): h.get("value")
            for h in request.get("headers") or []
            if isinstance(h, dict)
        }
        yield Record(
            location=Location(path=path, pointer=pointer, record=index, start_line=lines.get(i)),
            kind="request",
            target=request["url"],
            segments=parsed.segments,
            model=parsed.model,
            timestamp=entry.get("startedDateTime") if isinstance(entry.get("startedDateTime"), str) else None,
            request_id=_str(headers.get("x-request-id")),
            api=parsed.api,
            attributes=parsed.attributes,
            unscanned_parts=parsed.unscanned_parts,
        )
        index += 1
        response = _response(entry.get("response"), join(pointer, "response", "content", "text"))
        if options.include_responses and response is not None:
            yield Record(
                location=Location(path=path, pointer=join(pointer, "response"), record=index),
                kind="response",
                target=request["url"],
                segments=response.segments,
                api=response.api,
                attributes=response.attributes,
                unscanned_parts=response.unscanned_parts,
            )
            index += 1


def _body(post: Any, pointer: str) -> ParsedBody | None:
    if not isinstance(post, dict):
        return None
    text = post.get("text")
    params = post.get("params")
    if isinstance(params, list) and params and "form" in str(post.get("mimeType", "")):
        text = None  # a form post: its decoded params are the precise texts
    if isinstance(text, str) and text:
        if post.get("encoding") == "base64" or post.get("_encoding") == "base64":
            try:
                raw = base64.b64decode(text, validate=True)
            except (binascii.Error, ValueError):
                return parse_body(text, join(pointer, "text"))
            return parse_body(raw, join(pointer, "text"))
        return parse_body(text, join(pointer, "text"))
    if isinstance(params, list) and params:
        parsed = ParsedBody(api="form")
        for j, param in enumerate(params):
            if isinstance(param, dict):
                parsed.text(join(pointer, "params", j, "value"), "user", param.get("value"))
        return parsed
    return None


def _response(response: Any, pointer: str) -> ParsedBody | None:
    """The logged response body (JSON, SSE stream or text; base64 if so encoded), if any."""
    content = response.get("content") if isinstance(response, dict) else None
    if not isinstance(content, dict) or not isinstance(content.get("text"), str) or not content["text"]:
        return None
    text: str = content["text"]
    if content.get("encoding") == "base64":
        try:
            return parse_response(base64.b64decode(text, validate=True), pointer)
        except (binascii.Error, ValueError):
            return None
    return parse_response(text, pointer)


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None
