"""AWS Bedrock model invocation logs, as Bedrock delivers them to S3 (gzip JSON lines, one
``ModelInvocationLog`` per line) or to CloudWatch Logs (each event's ``message`` is one record;
read from a subscription/Firehose envelope ``{"logEvents": [...]}``, an ``aws logs
filter-log-events`` output ``{"events": [...]}``, or an export task's ``<timestamp> {json}`` lines).

Each invocation is a request record: ``input.inputBodyJson`` is the provider body of the model
family (Converse, Anthropic Messages, Titan, Llama, Cohere, Mistral, Nova …) and goes through
``parse_body``; ``identity.arn`` and ``requestMetadata`` are metadata segments (IAM user names are
often email addresses). ``Record.model`` is the ``modelId`` (a model id, a cross-region inference
profile id such as ``au.anthropic…`` or a profile ARN) and the target is the Bedrock runtime URL of
the logged ``region`` with the model id in the path, so the destination classifier resolves the
profile prefix to where inference may run. ``output.outputBodyJson`` (a whole response, or an
array of stream events) becomes a response record when responses are included.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, BinaryIO

from scanner.models import Location, Record, Skipped
from scanner.sources._common import Item, head_text, maybe_json, read_entries, record_from, text, type_name
from scanner.sources._targets import bedrock_url
from scanner.sources.bodies import ParsedBody, join, parse_body
from scanner.sources.responses import parse_response

if TYPE_CHECKING:
    from scanner.sources import ReadOptions

NAME = "bedrock"
KIND = "traffic"
PATTERNS = ("*.json", "*.jsonl", "*.ndjson", "*.log")

_OPERATIONS = {
    "Converse": "converse",
    "ConverseStream": "converse-stream",
    "InvokeModel": "invoke",
    "InvokeModelWithResponseStream": "invoke-with-response-stream",
}


def sniff(head: bytes, name: str) -> bool:
    start = head_text(head, 16384)
    if start[:1] not in (b"{", b"[") and not start[:1].isdigit():
        return False
    # Not every record has ``schemaType``; CloudWatch envelopes hold the record as escaped JSON.
    return b"ModelInvocationLog" in start or (b"modelId" in start and b"inputBodyJson" in start)


def read(stream: BinaryIO, path: str, options: ReadOptions) -> Iterator[Record | Skipped]:
    return read_entries(stream, path, options, _unwrap, _records, strip_prefix=True)


def _unwrap(item: Item) -> Iterator[tuple[str, Any]]:
    """The invocation records inside one item (itself, or CloudWatch events' ``message``)."""
    value = item.value
    if isinstance(value, dict):
        for key in ("logEvents", "events"):
            if isinstance(value.get(key), list) and "modelId" not in value:
                for i, event in enumerate(value[key]):
                    message = event.get("message") if isinstance(event, dict) else None
                    yield f"{item.pointer}/{key}/{i}/message#", maybe_json(message)
                return
    yield item.pointer, value


def _records(
    log: Any, item: Item, where: str, path: str, index: int, options: ReadOptions
) -> Iterator[Record | Skipped]:
    loc = item.location(path, where.rstrip("#"))
    if not isinstance(log, dict):
        yield Skipped(loc, f"invocation record is {type_name(log)}, not an object")
        return
    model_id = text(log.get("modelId"))
    if model_id is None:
        yield Skipped(loc, "no modelId")
        return
    region = text(log.get("region"))
    operation = text(log.get("operation"))
    target = bedrock_url(region, model_id, _OPERATIONS.get(operation or "", "invoke"))
    inp = log.get("input")
    body = inp.get("inputBodyJson") if isinstance(inp, dict) else None
    if body is None:
        if isinstance(inp, dict) and isinstance(inp.get("inputBodyS3Path"), str):
            parsed = ParsedBody(api="bedrock.offloaded")
            parsed.unscanned_parts += 1
        else:
            yield Skipped(loc, "no input.inputBodyJson")
            return
    else:
        parsed = parse_body(maybe_json(body), join(where, "input", "inputBodyJson"))
    identity = log.get("identity")
    if isinstance(identity, dict):
        parsed.text(join(where, "identity", "arn"), "metadata", identity.get("arn"))
    if isinstance(log.get("requestMetadata"), dict):
        parsed.strings(join(where, "requestMetadata"), "metadata", log["requestMetadata"])
    attributes: dict[str, Any] = {"operation": operation, "account_id": text(log.get("accountId"))}
    if text(log.get("inferenceRegion")):
        attributes["inference_region"] = log["inferenceRegion"]
    common = {
        "model": model_id,
        "provider": "aws_bedrock",
        "timestamp": text(log.get("timestamp")),
        "request_id": text(log.get("requestId")),
    }
    yield record_from(
        parsed,
        Location(path, item.line, loc.pointer, index),
        "request",
        target,
        attributes=attributes,
        **common,
    )
    out = log.get("output")
    if options.include_responses and isinstance(out, dict) and out.get("outputBodyJson") is not None:
        resp = parse_response(maybe_json(out["outputBodyJson"]), join(where, "output", "outputBodyJson"))
        yield record_from(
            resp,
            Location(path, item.line, join(where, "output"), index + 1),
            "response",
            target,
            attributes=attributes,
            **common,
        )
