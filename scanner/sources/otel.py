"""OpenTelemetry GenAI traces in OTLP/JSON: one ``ExportTraceServiceRequest`` document
(``resourceSpans[].scopeSpans[].spans[]``) or the file exporter's JSON lines of them; also OTLP
log exports (``resourceLogs[]``) where instrumentations emitted the GenAI events as log records.

Every span that carries GenAI attributes or events is a request record. Its texts come from,
in the order the semantic conventions evolved:

- ``gen_ai.system_instructions`` and ``gen_ai.input.messages`` (parts: ``text``, ``tool_call``,
  ``tool_call_response``, ``reasoning``, server tool calls; ``blob``/``uri``/``file`` are counted
  as not scanned) on the span or on its ``gen_ai.client.inference.operation.details`` event;
- the older flattened ``gen_ai.prompt.N.content`` / ``.role`` / ``.tool_calls.M.arguments`` and
  the JSON ``gen_ai.prompt`` attribute;
- the older per-message events ``gen_ai.system.message``, ``gen_ai.user.message``,
  ``gen_ai.assistant.message``, ``gen_ai.tool.message`` (``content`` / ``tool_calls``).

Outputs (``gen_ai.output.messages``, ``gen_ai.completion.N.content``, ``gen_ai.choice`` events)
form a response record when responses are included. The target is ``url.full``, else
``server.address``/``server.port``, else the provider (``gen_ai.provider.name``, formerly
``gen_ai.system``) and model. Attribute values may be JSON strings (pointers then continue after a
``#``) or structured ``arrayValue``/``kvlistValue`` (pointers then lead through ``values/N/value``
to the ``stringValue`` itself).
Spans without GenAI content (HTTP, database, framework spans) are reported as skipped. In log
exports, the GenAI event records of one span (``traceId`` + ``spanId``) form one call.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, BinaryIO

from scanner.models import Location, Record, Segment, Skipped
from scanner.sources._common import Item, head_text, iter_json, maybe_json, record_from, text, type_name
from scanner.sources._targets import target_for
from scanner.sources.bodies import ParsedBody, join

if TYPE_CHECKING:
    from scanner.sources import ReadOptions

NAME = "otel"
KIND = "traffic"
PATTERNS = ("*.json", "*.jsonl", "*.ndjson", "*.otlp", "*.log")

_DETAILS_EVENT = "gen_ai.client.inference.operation.details"
_MESSAGE_EVENTS = {
    "gen_ai.system.message": "system",
    "gen_ai.user.message": "user",
    "gen_ai.assistant.message": "assistant",
    "gen_ai.tool.message": "tool",
}
_FLAT = re.compile(r"^gen_ai\.(prompt|completion)\.(\d+)\.(.+)$")
_MEDIA_PARTS = {"blob", "uri", "file", "image", "audio", "video"}
_STRUCTURED = re.compile(
    r"^/(?:events/(\d+)/)?attributes/(\d+)/value/(?:arrayValue|kvlistValue)(/[^#]*)?(#.*)?$"
)


def sniff(head: bytes, name: str) -> bool:
    start = head_text(head, 4096)
    return start[:1] in (b"{", b"[") and (
        b'"resourceSpans"' in start or (b'"resourceLogs"' in start and b"gen_ai." in head)
    )


def read(stream: BinaryIO, path: str, options: ReadOptions) -> Iterator[Record | Skipped]:
    index = 0
    for item in iter_json(stream, path, options):
        if isinstance(item, Skipped):
            yield item
            continue
        doc = item.value
        if isinstance(doc, dict) and isinstance(doc.get("resourceLogs"), list):
            for out in _log_records(doc, item, path, index, options):
                if isinstance(out, Record):
                    index += 1
                yield out
            continue
        if not isinstance(doc, dict) or not isinstance(doc.get("resourceSpans"), list):
            yield Skipped(item.location(path), "not an OTLP trace or log export (no resourceSpans)")
            continue
        for r, rspans in enumerate(doc["resourceSpans"]):
            rp = f"{item.pointer}/resourceSpans/{r}"
            if not isinstance(rspans, dict):
                yield Skipped(item.location(path, rp), f"resourceSpans entry is {type_name(rspans)}")
                continue
            resource = _attributes((rspans.get("resource") or {}).get("attributes"))
            scopes = rspans.get("scopeSpans", rspans.get("instrumentationLibrarySpans")) or []
            skey = "scopeSpans" if "scopeSpans" in rspans else "instrumentationLibrarySpans"
            for s, scope in enumerate(scopes if isinstance(scopes, list) else []):
                for k, span in enumerate((scope.get("spans") if isinstance(scope, dict) else None) or []):
                    sp = f"{rp}/{skey}/{s}/spans/{k}"
                    for out in _span(span, resource, item, sp, path, index, options):
                        if isinstance(out, Record):
                            index += 1
                        yield out


def any_value(value: Any) -> Any:
    """An OTLP/JSON ``AnyValue`` as a plain Python value."""
    if not isinstance(value, dict):
        return value
    for key in ("stringValue", "boolValue", "doubleValue"):
        if key in value:
            return value[key]
    if "intValue" in value:
        try:
            return int(value["intValue"])
        except (TypeError, ValueError):
            return value["intValue"]
    if "arrayValue" in value:
        return [any_value(v) for v in (value["arrayValue"] or {}).get("values") or []]
    if "kvlistValue" in value:
        return {
            kv.get("key"): any_value(kv.get("value"))
            for kv in (value["kvlistValue"] or {}).get("values") or []
            if isinstance(kv, dict)
        }
    if "bytesValue" in value:
        return None
    return None


def _attributes(attrs: Any) -> dict[str, tuple[int, Any, str]]:
    """key → (index, value, pointer suffix to the raw value inside the attribute)."""
    out: dict[str, tuple[int, Any, str]] = {}
    if not isinstance(attrs, list):
        return out
    for i, kv in enumerate(attrs):
        if not isinstance(kv, dict) or not isinstance(kv.get("key"), str):
            continue
        raw = kv.get("value")
        suffix = f"/{i}/value"
        if isinstance(raw, dict) and len(raw) == 1:
            suffix += "/" + next(iter(raw))
        out[kv["key"]] = (i, any_value(raw), suffix)
    return out


def _nanos(value: Any) -> str | None:
    try:
        ns = int(value)
    except (TypeError, ValueError):
        return None
    if ns <= 0:
        return None
    return datetime.fromtimestamp(ns / 1e9, tz=UTC).isoformat().replace("+00:00", "Z")


def _span(
    span: Any,
    resource: dict[str, tuple[int, Any, str]],
    item: Item,
    sp: str,
    path: str,
    index: int,
    options: ReadOptions,
) -> Iterator[Record | Skipped]:
    loc = item.location(path, sp)
    if not isinstance(span, dict):
        yield Skipped(loc, f"span is {type_name(span)}, not an object")
        return
    attrs = _attributes(span.get("attributes"))
    events: list[Any] = span["events"] if isinstance(span.get("events"), list) else []
    is_genai = any(k.startswith("gen_ai.") for k in attrs) or any(
        isinstance(e, dict) and str(e.get("name", "")).startswith("gen_ai.") for e in events
    )
    if not is_genai:
        yield Skipped(loc, "not a GenAI span (no gen_ai.* attributes or events)")
        return
    request = ParsedBody(api="otel.genai")
    response = ParsedBody(api="otel.genai")
    apointer = join(sp, "attributes")
    _content_attributes(request, response, attrs, apointer)
    for e, event in enumerate(events):
        if not isinstance(event, dict):
            continue
        name = event.get("name")
        eattrs = _attributes(event.get("attributes"))
        ep = join(sp, "events", e, "attributes")
        if name == _DETAILS_EVENT:
            _content_attributes(request, response, eattrs, ep)
        elif name in _MESSAGE_EVENTS:
            _message_event(request, eattrs, ep, _MESSAGE_EVENTS[name])
        elif name == "gen_ai.choice":
            _message_event(response, eattrs, ep, "assistant")

    request.segments = [_raw_pointer(seg, span, sp) for seg in request.segments]
    response.segments = [_raw_pointer(seg, span, sp) for seg in response.segments]

    def attr(key: str) -> Any:
        return attrs[key][1] if key in attrs else None

    provider = text(attr("gen_ai.provider.name")) or text(attr("gen_ai.system"))
    model = text(attr("gen_ai.request.model")) or text(attr("gen_ai.response.model"))
    target = _target(attr, provider, model, resource)
    common = {
        "model": model,
        "provider": provider,
        "timestamp": _nanos(span.get("startTimeUnixNano")),
        "request_id": text(attr("gen_ai.response.id")) or text(span.get("spanId")),
        "app": text(resource["service.name"][1]) if "service.name" in resource else None,
    }
    attributes = {
        "operation": text(attr("gen_ai.operation.name")),
        "span_name": text(span.get("name")),
        "trace_id": text(span.get("traceId")),
    }
    attributes = {k: v for k, v in attributes.items() if v is not None}
    yield record_from(
        request, Location(path, item.line, sp, index), "request", target, attributes=attributes, **common
    )
    if options.include_responses and (response.segments or response.unscanned_parts):
        yield record_from(
            response,
            Location(path, item.line, sp, index + 1),
            "response",
            target,
            attributes=attributes,
            **common,
        )


def _target(attr: Any, provider: str | None, model: str | None, resource: dict[str, Any]) -> str | None:
    url = text(attr("url.full")) or text(attr("http.url"))
    if url:
        return url
    address = text(attr("server.address"))
    if address:
        port = attr("server.port")
        scheme = "http" if port in (80, "80") else "https"
        suffix = f":{port}" if port not in (None, 443, "443", 80, "80") else ""
        return f"{scheme}://{address}{suffix}"
    region = text(attr("aws.region")) or text(attr("cloud.region"))
    if region is None and "cloud.region" in resource:
        region = text(resource["cloud.region"][1])
    return target_for(provider, model, region)


def _content_attributes(
    request: ParsedBody, response: ParsedBody, attrs: dict[str, tuple[int, Any, str]], ap: str
) -> None:
    for key, target, default_role in (
        ("gen_ai.system_instructions", request, "system"),
        ("gen_ai.input.messages", request, "user"),
        ("gen_ai.output.messages", response, "assistant"),
    ):
        if key in attrs:
            _, value, suffix = attrs[key]
            pointer = ap + suffix
            decoded = maybe_json(value)
            if isinstance(value, str) and decoded is not value:
                pointer += "#"
            if key == "gen_ai.system_instructions":
                _parts(target, decoded, pointer, "system")
            else:
                _messages(target, decoded, pointer, default_role)
    flat: dict[tuple[str, int], str] = {}
    for key, (_, value, _) in attrs.items():
        m = _FLAT.match(key)
        if m and m.group(3) == "role" and isinstance(value, str):
            flat[(m.group(1), int(m.group(2)))] = value
    for key, (_, value, suffix) in attrs.items():
        m = _FLAT.match(key)
        if m:
            kind, n, field = m.group(1), int(m.group(2)), m.group(3)
            target = request if kind == "prompt" else response
            role = _role(flat.get((kind, n), "user" if kind == "prompt" else "assistant"))
            if field == "content":
                decoded = maybe_json(value)
                if isinstance(decoded, list):  # some instrumentations store content parts as JSON
                    _parts(target, decoded, ap + suffix + "#", role)
                else:
                    target.text(ap + suffix, role, value)
            elif field.endswith(".arguments"):
                target.strings(ap + suffix, "tool_call", value)
        elif key in ("gen_ai.prompt", "gen_ai.completion"):
            target = request if key == "gen_ai.prompt" else response
            decoded = maybe_json(value)
            pointer = ap + suffix + ("#" if decoded is not value else "")
            if isinstance(decoded, list):
                _messages(target, decoded, pointer, "user" if key == "gen_ai.prompt" else "assistant")
            else:
                target.strings(pointer, "user" if key == "gen_ai.prompt" else "assistant", decoded)


def _role(value: Any) -> str:
    role = str(value).lower()
    return {"developer": "system", "human": "user", "ai": "assistant", "model": "assistant"}.get(role, role)


def _messages(parsed: ParsedBody, messages: Any, pointer: str, default_role: str) -> None:
    if not isinstance(messages, list):
        parsed.strings(pointer, default_role, messages)
        return
    for i, message in enumerate(messages):
        mp = join(pointer, i)
        if not isinstance(message, dict):
            parsed.strings(mp, default_role, message)
            continue
        role = _role(message.get("role", default_role))
        if "parts" in message:
            _parts(parsed, message["parts"], join(mp, "parts"), role)
        else:  # OpenAI-style {role, content, tool_calls} (older gen_ai.prompt JSON)
            content = message.get("content")
            if isinstance(content, list):
                _parts(parsed, content, join(mp, "content"), role)
            else:
                parsed.text(join(mp, "content"), role, content)
            for j, call in enumerate(message.get("tool_calls") or []):
                if isinstance(call, dict):
                    fn: dict[str, Any] = call["function"] if isinstance(call.get("function"), dict) else call
                    parsed.strings(
                        join(mp, "tool_calls", j, "function", "arguments"), "tool_call", fn.get("arguments")
                    )


def _parts(parsed: ParsedBody, parts: Any, pointer: str, role: str) -> None:
    if isinstance(parts, str):
        parsed.text(pointer, role, parts)
        return
    if not isinstance(parts, list):
        return
    for j, part in enumerate(parts):
        pp = join(pointer, j)
        if isinstance(part, str):
            parsed.text(pp, role, part)
            continue
        if not isinstance(part, dict):
            continue
        kind = part.get("type")
        if kind in ("tool_call", "server_tool_call"):
            parsed.strings(join(pp, "arguments"), "tool_call", part.get("arguments"))
        elif kind in ("tool_call_response", "server_tool_call_response"):
            key = "response" if "response" in part else "result"
            parsed.strings(join(pp, key), "tool", part.get(key))
        elif kind in _MEDIA_PARTS:
            parsed.unscanned_parts += 1
        elif "content" in part:
            parsed.strings(join(pp, "content"), role, part["content"])
        elif "text" in part:
            parsed.strings(join(pp, "text"), role, part["text"])


def _message_event(parsed: ParsedBody, attrs: dict[str, tuple[int, Any, str]], ep: str, role: str) -> None:
    for key in ("content", "gen_ai.event.content", "body"):
        if key in attrs:
            _, value, suffix = attrs[key]
            decoded = maybe_json(value)
            pointer = ep + suffix + ("#" if decoded is not value else "")
            if isinstance(decoded, dict):  # an event body {content, tool_calls}
                content = decoded.get("content")
                if isinstance(content, list):
                    _parts(parsed, content, join(pointer, "content"), role)
                else:
                    parsed.text(join(pointer, "content"), role, content)
                parsed.strings(
                    join(pointer, "tool_calls"), "tool_call", _arguments(decoded.get("tool_calls"))
                )
            elif isinstance(decoded, list):
                _parts(parsed, decoded, pointer, role)
            else:
                parsed.text(pointer, role, decoded)
    if "tool_calls" in attrs:
        _, value, suffix = attrs["tool_calls"]
        decoded = maybe_json(value)
        parsed.strings(ep + suffix + ("#" if decoded is not value else ""), "tool_call", _arguments(decoded))
    if "message" in attrs:  # gen_ai.choice: {"message": {"content", "tool_calls"}}
        _, value, suffix = attrs["message"]
        decoded = maybe_json(value)
        if isinstance(decoded, dict):
            pointer = ep + suffix + ("#" if decoded is not value else "")
            parsed.text(join(pointer, "content"), role, decoded.get("content"))
            parsed.strings(join(pointer, "tool_calls"), "tool_call", _arguments(decoded.get("tool_calls")))


def _arguments(calls: Any) -> Any:
    """Only the arguments of tool calls (ids and names are not free text)."""
    if isinstance(calls, list):
        return [
            {"function": {"arguments": (c.get("function") or {}).get("arguments")}}
            if isinstance(c, dict)
            else c
            for c in calls
        ]
    return calls


def _raw_pointer(seg: Segment, span: dict[str, Any], sp: str) -> Segment:
    """Rewrite the pointer of a text read from an ``arrayValue``/``kvlistValue`` attribute, which was
    built on the decoded value (``…/arrayValue/0/parts/0/content``), into its real place in the file
    (``…/arrayValue/values/0/kvlistValue/values/1/value/arrayValue/values/0/…/stringValue``)."""
    if not seg.pointer.startswith(sp):
        return seg
    m = _STRUCTURED.match(seg.pointer[len(sp) :])
    if m is None:
        return seg
    try:
        owner = span if m.group(1) is None else span["events"][int(m.group(1))]
        raw = owner["attributes"][int(m.group(2))]["value"]
    except (KeyError, IndexError, TypeError):
        return seg
    paths: dict[str, str] = {}
    _paths(raw, "", "", paths)
    logical = m.group(3) or ""
    real = paths.get(logical)
    if real is None:
        return seg
    base = sp + ("" if m.group(1) is None else f"/events/{m.group(1)}") + f"/attributes/{m.group(2)}/value"
    return Segment(base + real + (m.group(4) or ""), seg.role, seg.text)


def _paths(raw: Any, logical: str, real: str, out: dict[str, str]) -> None:
    """Map every node of an OTLP ``AnyValue`` from its decoded pointer to its pointer in the file."""
    if not isinstance(raw, dict):
        return
    if "arrayValue" in raw:
        values = (raw["arrayValue"] or {}).get("values") or []
        for i, v in enumerate(values):
            _paths(v, f"{logical}/{i}", f"{real}/arrayValue/values/{i}", out)
    elif "kvlistValue" in raw:
        values = (raw["kvlistValue"] or {}).get("values") or []
        for i, kv in enumerate(values):
            if isinstance(kv, dict) and isinstance(kv.get("key"), str):
                _paths(kv.get("value"), join(logical, kv["key"]), f"{real}/kvlistValue/values/{i}/value", out)
    elif raw:
        out[logical] = f"{real}/{next(iter(raw))}"


def _log_records(
    doc: dict[str, Any], item: Item, path: str, index: int, options: ReadOptions
) -> Iterator[Record | Skipped]:
    """OTLP log exports: GenAI events emitted as log records (``event.name`` / ``eventName``),
    grouped per span (``traceId`` + ``spanId``) into one call each."""
    groups: dict[str, list[tuple[str, dict[str, Any], dict[str, tuple[int, Any, str]], str, str | None]]] = {}
    for r, rlogs in enumerate(doc["resourceLogs"]):
        rp = f"{item.pointer}/resourceLogs/{r}"
        if not isinstance(rlogs, dict):
            yield Skipped(item.location(path, rp), f"resourceLogs entry is {type_name(rlogs)}")
            continue
        resource = _attributes((rlogs.get("resource") or {}).get("attributes"))
        app = text(resource["service.name"][1]) if "service.name" in resource else None
        for s, scope in enumerate(rlogs.get("scopeLogs") or []):
            for k, log in enumerate((scope.get("logRecords") if isinstance(scope, dict) else None) or []):
                lp = f"{rp}/scopeLogs/{s}/logRecords/{k}"
                if not isinstance(log, dict):
                    yield Skipped(item.location(path, lp), f"log record is {type_name(log)}, not an object")
                    continue
                attrs = _attributes(log.get("attributes"))
                name = text(log.get("eventName")) or (
                    text(attrs["event.name"][1]) if "event.name" in attrs else None
                )
                if not name or not name.startswith("gen_ai."):
                    yield Skipped(item.location(path, lp), "not a GenAI event")
                    continue
                key = f"{log.get('traceId')}/{log.get('spanId')}" if log.get("spanId") else lp
                groups.setdefault(key, []).append((lp, log, attrs, name, app))
    for events in groups.values():
        request = ParsedBody(api="otel.genai")
        response = ParsedBody(api="otel.genai")
        for lp, log, attrs, name, _ in events:
            if name == _DETAILS_EVENT:
                _content_attributes(request, response, attrs, join(lp, "attributes"))
            elif name in _MESSAGE_EVENTS or name == "gen_ai.choice":
                target = response if name == "gen_ai.choice" else request
                tmp = ParsedBody(api="otel.genai")
                _event_body(tmp, any_value(log.get("body")), _MESSAGE_EVENTS.get(name, "assistant"))
                paths: dict[str, str] = {}
                _paths(log.get("body"), "", "", paths)
                for seg in tmp.segments:
                    head, sep, rest = seg.pointer.partition("#")
                    target.segments.append(
                        Segment(join(lp, "body") + paths.get(head, head) + sep + rest, seg.role, seg.text)
                    )
                target.unscanned_parts += tmp.unscanned_parts
        first_lp, first, attrs, _, app = events[0]

        def attr(key: str, attrs: dict[str, tuple[int, Any, str]] = attrs) -> Any:
            return attrs[key][1] if key in attrs else None

        provider = text(attr("gen_ai.provider.name")) or text(attr("gen_ai.system"))
        model = text(attr("gen_ai.request.model"))
        common = {
            "model": model,
            "provider": provider,
            "timestamp": _nanos(first.get("timeUnixNano") or first.get("observedTimeUnixNano")),
            "request_id": text(first.get("spanId")),
            "app": app,
        }
        attributes = {"trace_id": text(first.get("traceId"))} if text(first.get("traceId")) else {}
        tgt = _target(attr, provider, model, {})
        loc = item.location(path, first_lp)
        yield record_from(
            request,
            Location(path, loc.line, first_lp, index),
            "request",
            tgt,
            attributes=attributes,
            **common,
        )
        index += 1
        if options.include_responses and (response.segments or response.unscanned_parts):
            yield record_from(
                response,
                Location(path, loc.line, first_lp, index),
                "response",
                tgt,
                attributes=attributes,
                **common,
            )
            index += 1


def _event_body(parsed: ParsedBody, body: Any, role: str) -> None:
    """The body of a pre-1.37 GenAI event: ``{content, tool_calls}`` or, for ``gen_ai.choice``,
    ``{message: {content, tool_calls}}``; pointers are relative to the body."""
    if isinstance(body, str):
        parsed.text("", role, body)
        return
    if not isinstance(body, dict):
        return
    base = ""
    if isinstance(body.get("message"), dict):
        body, base = body["message"], "/message"
    content = body.get("content")
    if isinstance(content, list):
        _parts(parsed, content, f"{base}/content", role)
    else:
        parsed.text(f"{base}/content", role, content)
    calls = body.get("tool_calls")
    if isinstance(calls, list):
        for j, call in enumerate(calls):
            fn = call.get("function") if isinstance(call, dict) else None
            if isinstance(fn, dict):
                parsed.strings(f"{base}/tool_calls/{j}/function/arguments", "tool_call", fn.get("arguments"))
