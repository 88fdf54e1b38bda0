"""Azure OpenAI resource logs and Azure API Management gateway logs (Azure Monitor JSON: one
record per line as Event Hub / Log Analytics exports write them, or ``{"records": [...]}`` as
diagnostic settings archive them to a storage account).

- ``category: RequestResponse`` (Azure OpenAI / Cognitive Services): no prompt text at all, so each
  record has no segments but still counts the destination and volumes (``requestLength``,
  ``responseLength``). ``properties`` may be a JSON string. The target is the account's endpoint
  (``https://<account>.openai.azure.com/openai/deployments/<deployment>/…`` from ``resourceId``)
  and ``location`` is passed as the record's ``region_hint``, because an Azure OpenAI host name
  says nothing about its region.
- ``category: GatewayLogs`` (API Management in front of Azure OpenAI): ``properties.backendUrl`` is
  the target; ``requestBody`` (else ``backendRequestBody``, a JSON string possibly truncated by
  APIM's body-size setting) goes through ``parse_body``; ``responseBody`` becomes a response
  record when responses are included. The APIM ``location`` is the gateway's, not the backend's,
  so it is kept as an attribute only.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, BinaryIO

from scanner.models import Location, Record, Skipped
from scanner.sources._common import (
    Item,
    head_text,
    label,
    maybe_json,
    read_entries,
    record_from,
    text,
    type_name,
)
from scanner.sources.bodies import ParsedBody, join, parse_body
from scanner.sources.responses import parse_response

if TYPE_CHECKING:
    from scanner.sources import ReadOptions

NAME = "azure"
KIND = "traffic"
PATTERNS = ("*.json", "*.jsonl", "*.ndjson", "*.log")

_CATEGORY = re.compile(rb'"category"\s*:\s*"(RequestResponse|GatewayLogs)"', re.IGNORECASE)
_ACCOUNT = re.compile(r"/providers/microsoft\.cognitiveservices/accounts/([^/]+)", re.IGNORECASE)
_OPERATION_PATHS = {
    "chatcompletions_create": "chat/completions",
    "completions_create": "completions",
    "embeddings_create": "embeddings",
    "imagegenerations_create": "images/generations",
    "responses_create": "responses",
}


def sniff(head: bytes, name: str) -> bool:
    start = head_text(head, 16384)
    return start[:1] in (b"{", b"[") and _CATEGORY.search(start) is not None


def read(stream: BinaryIO, path: str, options: ReadOptions) -> Iterator[Record | Skipped]:
    return read_entries(stream, path, options, _unwrap, _records)


def _unwrap(item: Item) -> Iterator[tuple[str, Any]]:
    value = item.value
    if isinstance(value, dict) and isinstance(value.get("records"), list) and "category" not in value:
        for i, rec in enumerate(value["records"]):
            yield f"{item.pointer}/records/{i}", rec
        return
    yield item.pointer, value


def _get(rec: dict[str, Any], key: str) -> Any:
    """Azure Monitor field names vary in case between exports (``category`` / ``Category``)."""
    if key in rec:
        return rec[key]
    return rec.get(key[:1].upper() + key[1:])


def _records(
    rec: Any, item: Item, where: str, path: str, index: int, options: ReadOptions
) -> Iterator[Record | Skipped]:
    loc = item.location(path, where)
    if not isinstance(rec, dict):
        yield Skipped(loc, f"log record is {type_name(rec)}, not an object")
        return
    category = text(_get(rec, "category"))
    props = maybe_json(_get(rec, "properties"))
    if not isinstance(props, dict):
        yield Skipped(loc, f"properties is {type_name(props)}, not an object")
        return
    common = {
        "timestamp": text(_get(rec, "time")),
        "request_id": text(_get(rec, "correlationId")),
    }
    ppointer = join(where, "properties") + ("#" if isinstance(_get(rec, "properties"), str) else "")
    if category and category.lower() == "requestresponse":
        yield _diagnostic(rec, props, Location(path, item.line, where, index), common)
        return
    if category and category.lower() == "gatewaylogs":
        yield from _gateway(rec, props, ppointer, Location(path, item.line, where, index), common, options)
        return
    yield Skipped(loc, f"unsupported category {label(category)}" if category else "no category")


def _diagnostic(rec: dict[str, Any], props: dict[str, Any], loc: Location, common: dict[str, Any]) -> Record:
    resource = text(_get(rec, "resourceId")) or ""
    account = _ACCOUNT.search(resource)
    deployment = text(props.get("modelDeploymentName"))
    operation = text(_get(rec, "operationName")) or ""
    target = None
    if account:
        target = f"https://{account.group(1).lower()}.openai.azure.com/openai/"
        if deployment:
            target += f"deployments/{deployment}/" + _OPERATION_PATHS.get(operation.lower(), "")
    attributes: dict[str, Any] = {
        "operation": operation or None,
        "request_length": props.get("requestLength"),
        "response_length": props.get("responseLength"),
        "stream_type": props.get("streamType"),
        "deployment": deployment,
        "result": text(_get(rec, "resultSignature")),
    }
    location = text(_get(rec, "location"))
    if location:
        attributes["region_hint"] = location
    return record_from(
        ParsedBody(api="azure.diagnostic"),
        loc,
        "request",
        target,
        provider="azure_openai",
        model=text(props.get("modelName")) or deployment,
        attributes={k: v for k, v in attributes.items() if v is not None},
        **common,
    )


def _gateway(
    rec: dict[str, Any],
    props: dict[str, Any],
    ppointer: str,
    loc: Location,
    common: dict[str, Any],
    options: ReadOptions,
) -> Iterator[Record | Skipped]:
    target = text(props.get("backendUrl")) or text(props.get("url"))
    if target is None:
        yield Skipped(loc, "no backendUrl or url")
        return
    key = "requestBody" if props.get("requestBody") not in (None, "") else "backendRequestBody"
    body = props.get(key)
    # No body logged: still a call to this destination, counted with no segments.
    parsed = ParsedBody(api="azure.gateway") if body in (None, "") else parse_body(body, join(ppointer, key))
    attributes: dict[str, Any] = {
        "operation": text(props.get("operationId")),
        "request_length": props.get("requestSize"),
        "response_length": props.get("responseSize"),
        "gateway_url": text(props.get("url")),
        "gateway_location": text(_get(rec, "location")),
    }
    attributes = {k: v for k, v in attributes.items() if v is not None}
    yield record_from(
        parsed, loc, "request", target, provider="azure_openai", attributes=attributes, **common
    )
    rkey = "responseBody" if props.get("responseBody") not in (None, "") else "backendResponseBody"
    if options.include_responses and props.get(rkey) not in (None, ""):
        resp = parse_response(props[rkey], join(ppointer, rkey))
        yield record_from(
            resp,
            Location(loc.path, loc.line, join(loc.pointer, "properties", rkey), (loc.record or 0) + 1),
            "response",
            target,
            provider="azure_openai",
            attributes=attributes,
            **common,
        )
