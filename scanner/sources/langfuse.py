"""Langfuse exports: a trace as the UI's "Download JSON" writes it (the trace with its
``observations[]``), observation rows (blob-storage export or the public API, JSON or JSON lines,
camelCase or snake_case fields, ``{"data": [...]}`` pages), and ingestion API batches
(``{"batch": [{type: "generation-create", body: {...}}]}`` as SDKs and LiteLLM send them).

Each generation is one model call: a request record from its ``input`` (a request body, a message
list, a prompt or JSON held in a string) and, when responses are included, a response record from
its ``output``. The target comes from ``metadata.hidden_params.api_base`` or the model's provider
(``bedrock/…`` with ``modelParameters.aws_region``); traces, spans, events and scores are not model
calls and are reported as skipped so that their count stays visible.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, BinaryIO

from scanner.models import Location, Record, Skipped
from scanner.sources._common import (
    Item,
    head_text,
    iter_json,
    label,
    maybe_json,
    parse_payload,
    record_from,
    text,
    type_name,
)
from scanner.sources._targets import provider_from_model, split_model, target_for
from scanner.sources.bodies import join
from scanner.sources.responses import parse_response

if TYPE_CHECKING:
    from scanner.sources import ReadOptions

NAME = "langfuse"
KIND = "traffic"
PATTERNS = ("*.json", "*.jsonl", "*.ndjson")

_GENERATION_EVENTS = {"generation-create", "generation-update", "observation-create", "observation-update"}


def sniff(head: bytes, name: str) -> bool:
    start = head_text(head, 16384)
    if start[:1] not in (b"{", b"["):
        return False
    if b'"batch"' in start and (b'-create"' in start or b'-update"' in start):
        return True
    if b'"observations"' in start and (b'"traceId"' in start or b'"projectId"' in start):
        return True
    return b'"GENERATION"' in start and (b'"traceId"' in start or b'"trace_id"' in start)


def read(stream: BinaryIO, path: str, options: ReadOptions) -> Iterator[Record | Skipped]:
    index = 0
    for item in iter_json(stream, path, options):
        if isinstance(item, Skipped):
            yield item
            continue
        for where, kind, obs in _observations(item):
            for out in _records(obs, kind, item, where, path, index, options):
                if isinstance(out, Record):
                    index += 1
                yield out


def _observations(item: Item) -> Iterator[tuple[str, str | None, Any]]:
    """(pointer, observation type, observation) for each observation-like object in an item."""
    value = item.value
    p = item.pointer
    if isinstance(value, dict) and isinstance(value.get("batch"), list):
        for i, event in enumerate(value["batch"]):
            ep = f"{p}/batch/{i}"
            if not isinstance(event, dict):
                yield ep, None, event
                continue
            etype = text(event.get("type"))
            kind = "GENERATION" if etype in _GENERATION_EVENTS else (etype or "unknown event")
            if etype in {"observation-create", "observation-update"} and isinstance(event.get("body"), dict):
                kind = text(event["body"].get("type")) or kind
            yield f"{ep}/body", kind, event.get("body")
        return
    if isinstance(value, dict) and isinstance(value.get("observations"), list):
        yield p, "TRACE", value
        for i, obs in enumerate(value["observations"]):
            yield f"{p}/observations/{i}", _type(obs), obs
        return
    if isinstance(value, dict) and isinstance(value.get("data"), list) and "type" not in value:
        for i, obs in enumerate(value["data"]):
            yield f"{p}/data/{i}", _type(obs), obs
        return
    yield p, _type(value), value


def _type(obs: Any) -> str | None:
    return text(obs.get("type")) if isinstance(obs, dict) else None


def _field(obs: dict[str, Any], camel: str, snake: str) -> Any:
    return obs[camel] if camel in obs else obs.get(snake)


def _records(
    obs: Any, kind: str | None, item: Item, where: str, path: str, index: int, options: ReadOptions
) -> Iterator[Record | Skipped]:
    loc = item.location(path, where)
    if not isinstance(obs, dict):
        yield Skipped(loc, f"observation is {type_name(obs)}, not an object")
        return
    if kind is None:
        yield Skipped(loc, "no observation type")
        return
    if kind.upper() != "GENERATION":
        # Traces, spans, events and scores are stored in Langfuse but are not model calls.
        yield Skipped(loc, f"not a model call ({label(kind)})")
        return
    model = text(obs.get("model")) or text(_field(obs, "providedModelName", "provided_model_name"))
    params = maybe_json(_field(obs, "modelParameters", "model_parameters"))
    metadata = maybe_json(obs.get("metadata"))
    hidden = metadata.get("hidden_params") if isinstance(metadata, dict) else None
    api_base = text(hidden.get("api_base")) if isinstance(hidden, dict) else None
    region = None
    if isinstance(params, dict):
        region = (
            text(params.get("aws_region"))
            or text(params.get("aws_region_name"))
            or text(params.get("vertex_location"))
        )
    provider, bare = split_model(model)
    inferred = False
    if provider is None and api_base is None:
        provider = provider_from_model(model)
        inferred = provider is not None
    target = target_for(provider, bare, region, api_base)
    common = {
        "model": model,
        "provider": provider,
        "timestamp": text(_field(obs, "startTime", "start_time")),
        "request_id": text(obs.get("id")),
    }
    attributes: dict[str, Any] = {"trace_id": text(_field(obs, "traceId", "trace_id"))}
    if inferred:
        attributes["target_inferred"] = True
    attributes = {k: v for k, v in attributes.items() if v is not None}
    if "input" not in obs or obs["input"] is None:
        yield Skipped(loc, "generation has no input")
        return
    parsed = parse_payload(obs["input"], join(where, "input"))
    yield record_from(
        parsed, Location(path, item.line, where, index), "request", target, attributes=attributes, **common
    )
    output = obs.get("output")
    if options.include_responses and output not in (None, "", {}, []):
        resp = parse_response(output, join(where, "output"))
        yield record_from(
            resp, Location(path, item.line, join(where, "output"), index + 1), "response", target, **common
        )
