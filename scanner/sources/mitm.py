"""mitmproxy native flow dumps (``mitmdump -w flows.mitm``): a stream of tnetstrings, one per flow,
each the dict of ``HTTPFlow.get_state()``. Read with a small tnetstring decoder, so mitmproxy itself
is not needed (``mitmdump -nr in.mitm --set hardump=out.har`` converts a dump to HAR, which the
``har`` source reads, if preferred).

A tnetstring is ``<length>:<payload><type>`` with type ``,`` bytes, ``;`` text, ``#`` integer,
``^`` float, ``!`` boolean, ``~`` null, ``]`` list, ``}`` dict. Each HTTP flow with a request body is
a record targeted at ``scheme://host:port/path``; the body is decompressed per its
``content-encoding`` and read with ``parse_body``. The response becomes a response record when
responses are included. Flows without a body and non-HTTP flows are reported as skipped; a
truncated dump stops with an error naming the byte offset, after the flows before it.
"""

from __future__ import annotations

import gzip
import re
import zlib
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, BinaryIO
from urllib.parse import parse_qsl

from scanner.errors import SourceError
from scanner.models import Location, Record, Skipped
from scanner.sources._common import label, record_from, request_id_from, text
from scanner.sources.bodies import ParsedBody, join, parse_body
from scanner.sources.responses import parse_response

if TYPE_CHECKING:
    from scanner.sources import ReadOptions

NAME = "mitm"
KIND = "traffic"
PATTERNS = ("*.mitm", "*.flow", "*.flows", "*.dump")

_HEAD = re.compile(rb"^\d{1,12}:\d{1,12}:(type|version|id|request|client_conn);")
_MAX_DEPTH = 64


def sniff(head: bytes, name: str) -> bool:
    return bool(_HEAD.match(head[:64]))


def _parse(data: bytes, pos: int, depth: int = 0) -> tuple[Any, int]:
    """One tnetstring at ``pos`` → (value, position after it). Raises ValueError if malformed."""
    if depth > _MAX_DEPTH:
        raise ValueError("nesting too deep")
    colon = data.index(b":", pos, pos + 13)
    length = int(data[pos:colon])
    start, end = colon + 1, colon + 1 + length
    if end >= len(data):
        raise ValueError("truncated")
    payload, kind = data[start:end], data[end : end + 1]
    if kind == b",":
        value: Any = payload
    elif kind == b";":
        value = payload.decode("utf-8", "replace")
    elif kind == b"#":
        value = int(payload)
    elif kind == b"^":
        value = float(payload)
    elif kind == b"!":
        value = payload == b"true"
    elif kind == b"~":
        value = None
    elif kind == b"]":
        value, i = [], 0
        while i < length:
            item, i = _parse(payload, i, depth + 1)
            value.append(item)
    elif kind == b"}":
        value, i = {}, 0
        while i < length:
            key, i = _parse(payload, i, depth + 1)
            item, i = _parse(payload, i, depth + 1)
            value[key.decode("utf-8", "replace") if isinstance(key, bytes) else key] = item
    else:
        raise ValueError(f"unknown type {kind!r}")
    return value, end + 1


def iter_flows(stream: BinaryIO) -> Iterator[tuple[int, Any]]:
    """(byte offset, flow dict) for each tnetstring in the dump."""
    data = stream.read()
    pos = 0
    while pos < len(data):
        if data[pos : pos + 1].isspace():
            pos += 1
            continue
        try:
            flow, nxt = _parse(data, pos)
        except (ValueError, IndexError):
            raise SourceError("truncated or malformed flow", f"byte {pos}") from None
        yield pos, flow
        pos = nxt


def _s(value: Any) -> str | None:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return text(value)


def _headers(raw: Any) -> dict[str, str]:
    out: dict[str, str] = {}
    for pair in raw if isinstance(raw, list) else []:
        if isinstance(pair, list) and len(pair) == 2:
            name, value = _s(pair[0]), _s(pair[1])
            if name and value is not None:
                out.setdefault(name.lower(), value)
    return out


def _decoded(content: Any, headers: dict[str, str]) -> tuple[bytes | None, str | None]:
    if not isinstance(content, bytes | str) or not content:
        return None, None
    raw = content.encode("utf-8") if isinstance(content, str) else content
    encoding = headers.get("content-encoding", "").lower()
    try:
        if "gzip" in encoding:
            raw = gzip.decompress(raw)
        elif "deflate" in encoding:
            raw = zlib.decompress(raw)
        elif "zstd" in encoding:
            import zstandard

            raw = zstandard.ZstdDecompressor().decompress(raw, max_output_size=64 << 20)
        elif encoding not in ("", "identity"):
            return None, f"unsupported content-encoding {label(encoding)}"
    except (OSError, EOFError, zlib.error, ValueError):
        return None, f"corrupt {label(encoding)} body"
    except Exception as exc:  # zstandard.ZstdError is not a subclass of the above
        return None, f"corrupt {label(encoding)} body ({type(exc).__name__})"
    return raw, None


def read(stream: BinaryIO, path: str, options: ReadOptions) -> Iterator[Record | Skipped]:
    index = 0
    for n, (offset, flow) in enumerate(iter_flows(stream)):
        pointer = f"/{n}"
        loc = Location(path=path, pointer=pointer)
        if not isinstance(flow, dict):
            yield Skipped(loc, f"flow at byte {offset} is not a dict")
            continue
        if _s(flow.get("type")) != "http":
            yield Skipped(loc, f"not an HTTP flow ({label(_s(flow.get('type')), 'no type')})")
            continue
        request = flow.get("request")
        if not isinstance(request, dict):
            yield Skipped(loc, "flow has no request")
            continue
        target = _url(request)
        headers = _headers(request.get("headers"))
        body, problem = _decoded(request.get("content"), headers)
        if problem:
            yield Skipped(loc, problem)
            continue
        if body is None:
            yield Skipped(loc, f"no request body ({label(_s(request.get('method')), 'GET')})")
            continue
        parsed: ParsedBody
        if "form-urlencoded" in headers.get("content-type", ""):
            # As the HAR reader does with postData.params: the decoded field values are the texts.
            parsed = ParsedBody(api="form")
            fields = parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=False)
            for j, (_, value) in enumerate(fields):
                parsed.text(join(pointer, "request", "content", j), "user", value)
        else:
            parsed = parse_body(body, join(pointer, "request", "content"))
        ts = request.get("timestamp_start")
        common = {
            "timestamp": datetime.fromtimestamp(ts, tz=UTC).isoformat()
            if isinstance(ts, int | float)
            else None,
            "request_id": request_id_from(
                _headers(flow["response"].get("headers")) if isinstance(flow.get("response"), dict) else {},
                headers,
            ),
        }
        yield record_from(parsed, Location(path, None, pointer, index), "request", target, **common)
        index += 1
        response = flow.get("response")
        if options.include_responses and isinstance(response, dict):
            rbody, rproblem = _decoded(response.get("content"), _headers(response.get("headers")))
            if rbody is not None and not rproblem:
                resp = parse_response(rbody, join(pointer, "response", "content"))
                yield record_from(
                    resp, Location(path, None, join(pointer, "response"), index), "response", target, **common
                )
                index += 1


def _url(request: dict[str, Any]) -> str:
    scheme = _s(request.get("scheme")) or "https"
    host = _s(request.get("host")) or _s(request.get("authority")) or ""
    port = request.get("port")
    default = {"https": 443, "http": 80}.get(scheme)
    netloc = host if port in (None, default) else f"{host}:{port}"
    return f"{scheme}://{netloc}{_s(request.get('path')) or ''}"
