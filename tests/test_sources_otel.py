"""OpenTelemetry GenAI traces: current attributes and event, older flattened attributes and
per-message events, OTLP/JSON documents and JSON lines."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from traffic_helpers import FIXTURES, assert_pointers_resolve, external, read_all, records, shape, sniffed

from scanner.sources import otel

DIR = FIXTURES / "otel"
S0 = "/resourceSpans/0/scopeSpans/0/spans/0"
S1 = "/resourceSpans/0/scopeSpans/0/spans/1"


@pytest.mark.parametrize(
    "name", ["genai-current.json", "genai-legacy.jsonl", "genai-events-logs.json", "malformed.jsonl"]
)
def test_sniffed_without_a_flag(name: str) -> None:
    assert sniffed(DIR / name) == "otel"


def test_current_conventions() -> None:
    items = read_all(otel, DIR / "genai-current.json")
    kv = "/events/0/attributes/0/value/arrayValue/values/0/kvlistValue/values/1/value"
    assert shape(items) == [
        (
            "request",
            None,
            S0,
            [
                ("system", f"{S0}/attributes/6/value/stringValue#/0/content"),
                ("user", f"{S0}/attributes/7/value/stringValue#/0/parts/0/content"),
                ("tool_call", f"{S0}/attributes/7/value/stringValue#/1/parts/0/arguments/tfn"),
                ("tool", f"{S0}/attributes/7/value/stringValue#/2/parts/0/response"),
            ],
        ),
        ("response", None, S0, [("assistant", f"{S0}/attributes/8/value/stringValue#/0/parts/0/content")]),
        (
            "request",
            None,
            S1,
            [("user", f"{S1}{kv}/arrayValue/values/0/kvlistValue/values/1/value/stringValue")],
        ),
    ]
    first, _, second = items
    assert isinstance(first, otel.Record) and isinstance(second, otel.Record)
    assert first.unscanned_parts == 1  # the blob part
    assert (first.target, first.model, first.app) == ("https://api.openai.com", "gpt-4o-mini", "billing-bot")
    assert first.timestamp == "2025-11-24T16:00:00Z"
    # No server.address: the target comes from gen_ai.provider.name.
    assert second.target == "https://api.anthropic.com/v1"
    assert assert_pointers_resolve(DIR / "genai-current.json", items) == 6


def test_legacy_attributes_and_message_events() -> None:
    items = read_all(otel, DIR / "genai-legacy.jsonl")
    s2 = "/resourceSpans/0/scopeSpans/0/spans/2"
    assert shape(items) == [
        (
            "request",
            1,
            S0,
            [
                ("system", f"{S0}/attributes/3/value/stringValue"),
                ("user", f"{S0}/attributes/5/value/stringValue"),
            ],
        ),
        ("response", 1, S0, [("assistant", f"{S0}/attributes/7/value/stringValue")]),
        (
            "request",
            1,
            S1,
            [
                ("system", f"{S1}/events/0/attributes/0/value/stringValue"),
                ("user", f"{S1}/events/1/attributes/0/value/stringValue"),
                ("tool_call", f"{S1}/events/2/attributes/0/value/stringValue#/0/function/arguments#/tfn"),
                ("tool", f"{S1}/events/3/attributes/0/value/stringValue"),
            ],
        ),
        ("response", 1, S1, [("assistant", f"{S1}/events/4/attributes/2/value/stringValue#/content")]),
        ("skipped", 1, s2, "not a GenAI span (no gen_ai.* attributes or events)"),
        (
            "request",
            2,
            S0,
            [
                ("system", f"{S0}/attributes/3/value/stringValue"),
                ("user", f"{S0}/attributes/5/value/stringValue"),
            ],
        ),
        ("response", 2, S0, [("assistant", f"{S0}/attributes/7/value/stringValue")]),
    ]
    reqs = records(items)
    # gen_ai.system names the provider; server.address wins when present.
    assert [r.target for r in reqs] == [
        "https://api.anthropic.com/v1",
        "https://eu.api.openai.com",
        "https://api.anthropic.com/v1",
    ]
    assert assert_pointers_resolve(DIR / "genai-legacy.jsonl", items) == 11


def test_malformed_lines_and_spans_are_skipped() -> None:
    assert shape(read_all(otel, DIR / "malformed.jsonl", include_responses=False))[1:] == [
        ("skipped", 2, "", "malformed JSON at column 44"),
        ("skipped", 3, "", "not an OTLP trace or log export (no resourceSpans)"),
        ("skipped", 4, S0, "span is a string, not an object"),
    ]


def test_spans_built_from_the_normative_message_schema(tmp_path: Path) -> None:
    """Every part type the GenAI JSON schema defines is read or counted."""
    schema = json.loads(external("otel-genai-input-messages.schema.json").read_text())
    parts = schema["$defs"]["ChatMessage"]["properties"]["parts"]["items"]["anyOf"]
    kinds = sorted(p["$ref"].rsplit("/", 1)[-1] for p in parts)
    assert {"TextPart", "ToolCallRequestPart", "ToolCallResponsePart", "BlobPart"} <= set(kinds)
    messages = [
        {"role": "user", "parts": [{"type": "text", "content": "text part"}]},
        {
            "role": "assistant",
            "parts": [{"type": "tool_call", "id": "1", "name": "f", "arguments": {"q": "call arg"}}],
        },
        {"role": "tool", "parts": [{"type": "tool_call_response", "id": "1", "response": "call result"}]},
        {
            "role": "user",
            "parts": [
                {"type": "blob", "modality": "image", "content": "AAAA"},
                {"type": "uri", "uri": "s3://b/k"},
            ],
        },
        {"role": "assistant", "parts": [{"type": "reasoning", "content": "reasoning part"}]},
    ]
    jsonschema.validate(messages, schema)
    doc = {
        "resourceSpans": [
            {
                "scopeSpans": [
                    {
                        "spans": [
                            {
                                "name": "chat m",
                                "attributes": [
                                    {"key": "gen_ai.provider.name", "value": {"stringValue": "openai"}},
                                    {
                                        "key": "gen_ai.input.messages",
                                        "value": {"stringValue": json.dumps(messages)},
                                    },
                                ],
                            }
                        ]
                    }
                ]
            }
        ]
    }
    path = tmp_path / "trace.json"
    path.write_text(json.dumps(doc))
    (record,) = read_all(otel, path)
    assert isinstance(record, otel.Record)
    assert [(s.role, s.text) for s in record.segments] == [
        ("user", "text part"),
        ("tool_call", "call arg"),
        ("tool", "call result"),
        ("assistant", "reasoning part"),
    ]
    assert record.unscanned_parts == 2


def test_events_exported_as_log_records_group_into_one_call() -> None:
    items = read_all(otel, DIR / "genai-events-logs.json")
    lr = "/resourceLogs/0/scopeLogs/0/logRecords"
    body = "body/kvlistValue/values"
    assert shape(items) == [
        ("skipped", None, f"{lr}/5", "not a GenAI event"),
        (
            "request",
            None,
            f"{lr}/0",
            [
                ("system", f"{lr}/0/{body}/0/value/stringValue"),
                ("user", f"{lr}/1/{body}/0/value/stringValue"),
                (
                    "tool_call",
                    f"{lr}/2/{body}/0/value/arrayValue/values/0/kvlistValue/values/2/value/kvlistValue/values/1"
                    "/value/stringValue#/card",
                ),
                ("tool", f"{lr}/3/{body}/0/value/stringValue"),
            ],
        ),
        (
            "response",
            None,
            f"{lr}/0",
            [("assistant", f"{lr}/4/{body}/2/value/kvlistValue/values/0/value/stringValue")],
        ),
    ]
    request = records(items)[0]
    assert (request.target, request.app) == ("https://api.openai.com/v1", "payroll-bot")
    assert assert_pointers_resolve(DIR / "genai-events-logs.json", items) == 5
