"""nock-back recordings (Node.js HTTP fixtures): a JSON array of
``{scope, method, path, body, status, response, rawHeaders}``, as JavaScript SDK and
instrumentation test suites record real LLM API calls.

Each call with a body is a request record targeted at ``scope`` + ``path``; ``body`` (an object,
or a string holding JSON or text) goes through ``parse_body``. ``response`` (an object, a string,
or an array of SSE chunks) becomes a response record when responses are included. Calls without
a body are reported as skipped.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, BinaryIO

from scanner.models import Location, Record, Skipped
from scanner.sources._common import head_text, iter_json, label, record_from, request_id_from, text, type_name
from scanner.sources.bodies import join, parse_body
from scanner.sources.responses import parse_response

if TYPE_CHECKING:
    from scanner.sources import ReadOptions

NAME = "nock"
KIND = "traffic"
PATTERNS = ("*.json",)

_FIRST_KEYS = re.compile(rb'^\[\s*\{\s*"(scope|method|path)"\s*:')


def sniff(head: bytes, name: str) -> bool:
    start = head_text(head, 8192)
    return bool(_FIRST_KEYS.match(start)) and b'"scope"' in start and b'"path"' in start


def read(stream: BinaryIO, path: str, options: ReadOptions) -> Iterator[Record | Skipped]:
    index = 0
    for item in iter_json(stream, path, options):
        if isinstance(item, Skipped):
            yield item
            continue
        call = item.value
        where = item.pointer
        loc = item.location(path, where)
        if not isinstance(call, dict):
            yield Skipped(loc, f"recording is {type_name(call)}, not an object")
            continue
        scope = text(call.get("scope"))
        if scope is None:
            yield Skipped(loc, "no scope")
            continue
        target = scope.rstrip("/") + (text(call.get("path")) or "")
        body = call.get("body")
        if body in (None, "", {}):
            yield Skipped(loc, f"no request body ({label(call.get('method'), 'GET')})")
            continue
        parsed = parse_body(body, join(where, "body"))
        rid = request_id_from(_raw_headers(call.get("rawHeaders")))
        yield record_from(parsed, Location(path, item.line, where, index), "request", target, request_id=rid)
        index += 1
        response = call.get("response")
        if options.include_responses and response not in (None, "", {}, []):
            resp = parse_response(_joined(response), join(where, "response"))
            yield record_from(
                resp, Location(path, item.line, join(where, "response"), index), "response", target
            )
            index += 1


def _joined(response: Any) -> Any:
    """nock stores a streamed (SSE) body as an array of string chunks: join them back."""
    if isinstance(response, list) and response and all(isinstance(r, str) for r in response):
        return "".join(response)
    return response


def _raw_headers(raw: Any) -> dict[str, str]:
    """nock's ``rawHeaders``: an object, or a flat [name, value, name, value, ...] list."""
    if isinstance(raw, dict):
        return {str(k).lower(): str(v) for k, v in raw.items() if isinstance(v, str | int)}
    if isinstance(raw, list):
        pairs = zip(raw[0::2], raw[1::2], strict=False)
        return {str(k).lower(): str(v) for k, v in pairs if isinstance(k, str) and isinstance(v, str | int)}
    return {}
