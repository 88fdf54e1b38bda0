"""LangSmith run exports: runs as the API and SDK (``list_runs``) return them, one JSON array, JSON
lines, or ``{"runs": [...]}`` pages. Fields: ``id``, ``run_type``, ``inputs``, ``outputs``,
``extra.invocation_params`` and ``extra.metadata`` (``ls_provider``, ``ls_model_name``),
``start_time``, ``trace_id``, ``dotted_order``.

Runs of type ``llm`` (and ``embedding``) are model calls: ``inputs`` become a request record —
LangChain's serialised messages (``{"lc": 1, "id": [..., "HumanMessage"], "kwargs": {...}}``,
nested per prompt), ``{"type": "human", "data": {...}}`` dicts, OpenAI-style messages and
``prompts`` strings are all understood — and ``outputs`` (``generations``) a response record when
responses are included. Chain, tool, retriever and other runs are reported as skipped. The target
comes from the invocation's base URL, else the provider and model.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, BinaryIO

from scanner.models import Location, Record, Skipped
from scanner.sources._common import (
    Item,
    head_text,
    label,
    obj,
    paged,
    read_entries,
    record_from,
    text,
    type_name,
)
from scanner.sources._targets import provider_from_model, split_model, target_for
from scanner.sources.bodies import ParsedBody, _content, join, parse_body
from scanner.sources.responses import parse_response

if TYPE_CHECKING:
    from scanner.sources import ReadOptions

NAME = "langsmith"
KIND = "traffic"
PATTERNS = ("*.json", "*.jsonl", "*.ndjson")

_LC_ROLES = {
    "humanmessage": "user",
    "human": "user",
    "systemmessage": "system",
    "system": "system",
    "aimessage": "assistant",
    "ai": "assistant",
    "aimessagechunk": "assistant",
    "toolmessage": "tool",
    "tool": "tool",
    "functionmessage": "tool",
    "function": "tool",
    "chatmessage": "user",
}
_MODEL_RUNS = {"llm", "embedding"}
_BASE_KEYS = (
    "base_url",
    "openai_api_base",
    "api_base",
    "azure_endpoint",
    "endpoint_url",
    "anthropic_api_url",
)


def sniff(head: bytes, name: str) -> bool:
    start = head_text(head, 16384)
    return (
        start[:1] in (b"{", b"[")
        and b'"run_type"' in start
        and (b'"dotted_order"' in start or b'"trace_id"' in start or b'"inputs"' in start)
    )


def read(stream: BinaryIO, path: str, options: ReadOptions) -> Iterator[Record | Skipped]:
    return read_entries(stream, path, options, paged("runs", "run_type"), _records)


def _records(
    run: Any, item: Item, where: str, path: str, index: int, options: ReadOptions
) -> Iterator[Record | Skipped]:
    loc = item.location(path, where)
    if not isinstance(run, dict):
        yield Skipped(loc, f"run is {type_name(run)}, not an object")
        return
    run_type = text(run.get("run_type"))
    if run_type not in _MODEL_RUNS:
        yield Skipped(loc, f"not a model call ({label(run_type, 'no run_type')} run)")
        return
    inputs = run.get("inputs")
    if not isinstance(inputs, dict):
        yield Skipped(loc, f"inputs is {type_name(inputs)}, not an object")
        return
    extra = obj(run.get("extra"))
    params = obj(extra.get("invocation_params"))
    meta = obj(extra.get("metadata"))
    model = (
        text(meta.get("ls_model_name"))
        or text(params.get("model"))
        or text(params.get("model_name"))
        or text(params.get("model_id"))
    )
    provider = text(meta.get("ls_provider"))
    api_base = next((text(params[k]) for k in _BASE_KEYS if text(params.get(k))), None)
    region = text(params.get("region_name")) or text(params.get("location"))
    inferred = False
    if provider is None and api_base is None:
        provider = split_model(model)[0] or provider_from_model(model)
        inferred = provider is not None
    target = target_for(provider, split_model(model)[1] if model else None, region, api_base)
    parsed = _inputs(inputs, join(where, "inputs"))
    common = {
        "model": model,
        "provider": provider,
        "timestamp": text(run.get("start_time")),
        "request_id": text(run.get("id")),
        "app": text(run.get("session_name")),
    }
    attributes: dict[str, Any] = {"run_type": run_type, "trace_id": text(run.get("trace_id"))}
    if inferred:
        attributes["target_inferred"] = True
    attributes = {k: v for k, v in attributes.items() if v is not None}
    yield record_from(
        parsed, Location(path, item.line, where, index), "request", target, attributes=attributes, **common
    )
    outputs = run.get("outputs")
    if options.include_responses and isinstance(outputs, dict) and outputs:
        resp = _outputs(outputs, join(where, "outputs"))
        yield record_from(
            resp, Location(path, item.line, join(where, "outputs"), index + 1), "response", target, **common
        )


def _inputs(inputs: dict[str, Any], pointer: str) -> ParsedBody:
    messages = inputs.get("messages")
    if isinstance(messages, list) and _is_lc(messages):
        parsed = ParsedBody(api="langchain")
        _lc_messages(parsed, messages, join(pointer, "messages"))
        return parsed
    if isinstance(inputs.get("prompts"), list):
        parsed = ParsedBody(api="langchain")
        for i, prompt in enumerate(inputs["prompts"]):
            parsed.text(join(pointer, "prompts", i), "user", prompt)
        return parsed
    return parse_body(inputs, pointer)


def _is_lc(messages: list[Any]) -> bool:
    first = messages[0] if messages else None
    while isinstance(first, list) and first:
        first = first[0]
    return isinstance(first, dict) and ("lc" in first or ("type" in first and "data" in first))


def _lc_messages(parsed: ParsedBody, messages: list[Any], pointer: str) -> None:
    for i, message in enumerate(messages):
        mp = join(pointer, i)
        if isinstance(message, list):  # one list of messages per prompt
            _lc_messages(parsed, message, mp)
            continue
        if not isinstance(message, dict):
            continue
        if "kwargs" in message and isinstance(message["kwargs"], dict):
            body, bp = message["kwargs"], join(mp, "kwargs")
            ids = message.get("id")
            cls = ids[-1] if isinstance(ids, list) and ids else body.get("type")
        elif isinstance(message.get("data"), dict):
            body, bp = message["data"], join(mp, "data")
            cls = message.get("type")
        else:
            continue
        role = _LC_ROLES.get(str(cls).lower(), _LC_ROLES.get(str(body.get("type", "")).lower(), "user"))
        _content(parsed, body.get("content"), join(bp, "content"), role)
        for j, call in enumerate(body.get("tool_calls") or []):
            if isinstance(call, dict):
                parsed.strings(join(bp, "tool_calls", j, "args"), "tool_call", call.get("args"))
        extra = body.get("additional_kwargs")
        if isinstance(extra, dict):
            for j, call in enumerate(extra.get("tool_calls") or []):
                if isinstance(call, dict) and isinstance(call.get("function"), dict):
                    parsed.strings(
                        join(bp, "additional_kwargs", "tool_calls", j, "function", "arguments"),
                        "tool_call",
                        call["function"].get("arguments"),
                    )


def _outputs(outputs: dict[str, Any], pointer: str) -> ParsedBody:
    generations = outputs.get("generations")
    if not isinstance(generations, list):
        return parse_response(outputs, pointer)
    parsed = ParsedBody(api="langchain")
    for i, group in enumerate(generations):
        items = group if isinstance(group, list) else [group]
        for j, gen in enumerate(items):
            gp = (
                join(pointer, "generations", i, j)
                if isinstance(group, list)
                else join(pointer, "generations", i)
            )
            if not isinstance(gen, dict):
                continue
            message = gen.get("message")
            if isinstance(message, dict) and ("kwargs" in message or "data" in message):
                _lc_messages(parsed, [message], join(gp, "message"))
                # _lc_messages indexes the list it was given; drop that index from the pointers.
                prefix = join(gp, "message", 0)
                parsed.segments = [
                    type(s)(join(gp, "message") + s.pointer[len(prefix) :], s.role, s.text)
                    if s.pointer.startswith(prefix)
                    else s
                    for s in parsed.segments
                ]
            else:
                parsed.text(join(gp, "text"), "assistant", gen.get("text"))
    return parsed
