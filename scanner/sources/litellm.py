"""LiteLLM proxy logs: the ``StandardLoggingPayload`` every logging callback receives (written
as one JSON document per call by bucket loggers, or as JSON lines by custom loggers), and
``LiteLLM_SpendLogs`` rows (a JSON array, JSON lines, or the ``/spend/logs`` API's ``{"data": [...]}``).

The target is ``api_base`` (top level, else ``hidden_params.api_base``); without one it is worked
out from ``custom_llm_provider`` and the model (``bedrock/…``, ``vertex_ai/…``). ``messages`` are
read with ``parse_body`` in place; a SpendLogs row prefers ``proxy_server_request`` (the whole
request body). Rows whose prompts were not stored (``{}``, the default unless
``store_prompts_in_spend_logs`` is on) still count the destination. Caller identity fields
(``end_user``, ``user_api_key_user_email``, requester IP) are metadata segments. ``response``
becomes a response record when responses are included.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, BinaryIO

from scanner.models import Location, Record, Skipped
from scanner.sources._common import (
    Item,
    head_text,
    maybe_json,
    obj,
    paged,
    read_entries,
    record_from,
    text,
    type_name,
)
from scanner.sources._targets import split_model, target_for
from scanner.sources.bodies import ParsedBody, join, parse_body
from scanner.sources.responses import parse_response

if TYPE_CHECKING:
    from scanner.sources import ReadOptions

NAME = "litellm"
KIND = "traffic"
PATTERNS = ("*.json", "*.jsonl", "*.ndjson", "*.log")

_IDENTITY_KEYS = ("end_user", "user", "requester_ip_address")
_METADATA_IDENTITY = (
    "user_api_key_user_email",
    "user_api_key_user_id",
    "user_api_key_end_user_id",
    "requester_ip_address",
    "requester_metadata",
    "spend_logs_metadata",
)


def sniff(head: bytes, name: str) -> bool:
    start = head_text(head, 16384)
    if start[:1] not in (b"{", b"["):
        return False
    if b'"call_type"' not in start:
        return False
    return any(
        marker in start
        for marker in (b'"hidden_params"', b'"custom_llm_provider"', b'"spend"', b'"model_parameters"')
    )


def read(stream: BinaryIO, path: str, options: ReadOptions) -> Iterator[Record | Skipped]:
    return read_entries(stream, path, options, paged("data", "call_type"), _records)


def _records(
    row: Any, item: Item, where: str, path: str, index: int, options: ReadOptions
) -> Iterator[Record | Skipped]:
    loc = item.location(path, where)
    if not isinstance(row, dict):
        yield Skipped(loc, f"log entry is {type_name(row)}, not an object")
        return
    if "call_type" not in row or not ("messages" in row or "proxy_server_request" in row):
        yield Skipped(loc, "not a LiteLLM log entry (no call_type or messages)")
        return
    hidden = obj(row.get("hidden_params"))
    metadata = maybe_json(row.get("metadata"))
    model = text(row.get("model")) or text(hidden.get("litellm_model_name"))
    provider = text(row.get("custom_llm_provider"))
    if provider is None:
        provider = split_model(text(hidden.get("litellm_model_name")) or model)[0]
    api_base = text(row.get("api_base")) or text(hidden.get("api_base"))
    region = None
    params = maybe_json(row.get("model_parameters"))
    if isinstance(params, dict):
        region = text(params.get("aws_region_name")) or text(params.get("vertex_location"))
    target = target_for(provider, split_model(model)[1] if model else None, region, api_base)
    parsed = _request(row, where)
    for key in _IDENTITY_KEYS:
        parsed.text(join(where, key), "metadata", row.get(key))
    mpointer = join(where, "metadata") + ("#" if isinstance(row.get("metadata"), str) else "")
    if isinstance(metadata, dict):
        for key in _METADATA_IDENTITY:
            if key in metadata:
                parsed.strings(join(mpointer, key), "metadata", metadata[key])
    if isinstance(params, dict):
        parsed.text(join(where, "model_parameters", "user"), "metadata", params.get("user"))
    common = {
        "model": model,
        "provider": provider,
        "timestamp": text(row.get("startTime")),
        "request_id": text(row.get("request_id")) or text(row.get("id")),
    }
    attributes = {"call_type": text(row.get("call_type")), "status": text(row.get("status"))}
    attributes = {k: v for k, v in attributes.items() if v is not None}
    yield record_from(
        parsed, Location(path, item.line, where, index), "request", target, attributes=attributes, **common
    )
    response = maybe_json(row.get("response"))
    if options.include_responses and response not in (None, {}, "", []):
        rpointer = join(where, "response") + ("#" if isinstance(row.get("response"), str) else "")
        resp = parse_response(response, rpointer)
        yield record_from(
            resp, Location(path, item.line, join(where, "response"), index + 1), "response", target, **common
        )


def _request(row: dict[str, Any], where: str) -> ParsedBody:
    """The request's texts: ``proxy_server_request`` (a whole body) if stored, else ``messages``."""
    proxy_request = row.get("proxy_server_request")
    decoded = maybe_json(proxy_request)
    if isinstance(decoded, dict) and decoded:
        pointer = join(where, "proxy_server_request") + ("#" if isinstance(proxy_request, str) else "")
        return parse_body(decoded, pointer)
    messages = row.get("messages")
    decoded = maybe_json(messages)
    if decoded in (None, {}, [], ""):
        return ParsedBody(api="litellm.not_stored")
    if isinstance(messages, str) and not isinstance(decoded, str):
        parsed = parse_body({"messages": decoded}, where)
        # parse_body put them under /messages; the text is JSON held in that string.
        for i, seg in enumerate(parsed.segments):
            parsed.segments[i] = type(seg)(
                seg.pointer.replace(join(where, "messages"), join(where, "messages") + "#", 1),
                seg.role,
                seg.text,
            )
        return parsed
    if isinstance(decoded, list):
        return parse_body({"messages": decoded}, where)
    parsed = ParsedBody(api="litellm")
    parsed.strings(join(where, "messages"), "user", decoded)
    return parsed
