"""Logged responses: whole bodies of each provider, and streamed ones reassembled from chunks."""

from __future__ import annotations

import base64
import json

import pytest

from scanner.sources.responses import parse_response, reassemble


def _texts(body: object) -> list[tuple[str, str, str]]:
    return [(s.role, s.pointer, s.text) for s in parse_response(body, "/r").segments]


def test_openai_chat_chunks_with_tool_call_deltas() -> None:
    events = [
        {
            "object": "chat.completion.chunk",
            "choices": [{"index": 0, "delta": {"content": "Card 4111 1111 "}}],
        },
        {"object": "chat.completion.chunk", "choices": [{"index": 0, "delta": {"content": "1111 1111"}}]},
        {
            "object": "chat.completion.chunk",
            "choices": [
                {
                    "index": 0,
                    "delta": {"tool_calls": [{"index": 0, "function": {"arguments": '{"tfn": "123 '}}]},
                }
            ],
        },
        {
            "object": "chat.completion.chunk",
            "choices": [
                {"index": 0, "delta": {"tool_calls": [{"index": 0, "function": {"arguments": '456 782"}'}}]}}
            ],
        },
    ]
    assert _texts(events) == [
        ("assistant", "/r/*/choices/0/delta/content", "Card 4111 1111 1111 1111"),
        ("tool_call", "/r/*/choices/0/delta/tool_calls/0/function/arguments", '{"tfn": "123 456 782"}'),
    ]


def test_anthropic_sse_text_with_event_lines() -> None:
    sse = (
        "event: message_start\n"
        'data: {"type":"message_start","message":{"id":"msg_1","role":"assistant","content":[]}}\n\n'
        "event: content_block_delta\n"
        'data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"olivia.ben"}}\n\n'
        "event: content_block_delta\n"
        'data: {"type":"content_block_delta","index":0,'
        '"delta":{"type":"text_delta","text":"nett@example.com.au"}}\n\n'
        "event: content_block_delta\n"
        'data: {"type":"content_block_delta","index":1,'
        '"delta":{"type":"input_json_delta","partial_json":"{\\"q\\": 1}"}}\n\n'
        "event: message_stop\n"
        'data: {"type":"message_stop"}\n\n'
    )
    assert _texts(sse) == [
        ("assistant", "/r#/*[0]/delta/text", "olivia.bennett@example.com.au"),
        ("tool_call", "/r#/*[1]/delta/partial_json", '{"q": 1}'),
    ]


def test_openai_responses_stream_events() -> None:
    events = [
        {"type": "response.created", "response": {"id": "resp_1"}},
        {"type": "response.output_text.delta", "output_index": 0, "delta": "Noah "},
        {"type": "response.output_text.delta", "output_index": 0, "delta": "Williams"},
        {"type": "response.function_call_arguments.delta", "output_index": 1, "delta": '{"a":'},
        {"type": "response.function_call_arguments.delta", "output_index": 1, "delta": "1}"},
    ]
    assert _texts(events) == [
        ("assistant", "/r/*[0]/delta", "Noah Williams"),
        ("tool_call", "/r/*[1]/delta", '{"a":1}'),
    ]


def test_bedrock_converse_stream_and_wire_chunks() -> None:
    converse = [
        {"messageStart": {"role": "assistant"}},
        {"contentBlockDelta": {"delta": {"text": "TFN 123 4"}, "contentBlockIndex": 0}},
        {"contentBlockDelta": {"delta": {"text": "56 782"}, "contentBlockIndex": 0}},
        {"messageStop": {"stopReason": "end_turn"}},
    ]
    assert _texts(converse) == [("assistant", "/r/*[0]/contentBlockDelta/delta/text", "TFN 123 456 782")]
    wire = [
        {"chunk": {"bytes": base64.b64encode(json.dumps(e).encode()).decode()}}
        for e in (
            {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Mia "}},
            {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Taylor"}},
        )
    ]
    assert _texts(wire) == [("assistant", "/r/*[0]/chunk/bytes#/delta/text", "Mia Taylor")]


@pytest.mark.parametrize(
    ("events", "expected"),
    [
        ([{"outputText": "Jack ", "index": 0}, {"outputText": "Thompson", "index": 0}], "/r/*/outputText"),
        ([{"generation": "Jack "}, {"generation": "Thompson"}], "/r/*/generation"),
        (
            [
                {"candidates": [{"content": {"parts": [{"text": "Jack "}]}}]},
                {"candidates": [{"content": {"parts": [{"text": "Thompson"}]}}]},
            ],
            "/r/*/candidates/0/content/parts/0/text",
        ),
    ],
)
def test_native_family_streams(events: list[object], expected: str) -> None:
    assert _texts(events) == [("assistant", expected, "Jack Thompson")]


def test_whole_responses_of_each_provider() -> None:
    assert _texts({"type": "message", "content": [{"type": "text", "text": "hi"}]}) == [
        ("assistant", "/r/content/0/text", "hi")
    ]
    assert _texts({"output": {"message": {"role": "assistant", "content": [{"text": "hi"}]}}}) == [
        ("assistant", "/r/output/message/content/0/text", "hi")
    ]
    assert _texts({"candidates": [{"content": {"parts": [{"text": "hi"}]}}]}) == [
        ("assistant", "/r/candidates/0/content/parts/0/text", "hi")
    ]
    assert _texts(
        {
            "output": [
                {"type": "function_call", "arguments": '{"x": "y"}'},
                {"type": "message", "content": [{"type": "output_text", "text": "hi"}]},
            ]
        }
    ) == [("tool_call", "/r/output/0/arguments#/x", "y"), ("assistant", "/r/output/1/content/0/text", "hi")]
    assert _texts('{"results": [{"outputText": "hi"}]}') == [("assistant", "/r#/results/0/outputText", "hi")]


def test_reassembly_marks_stream_attribute() -> None:
    assert reassemble([], "/r").attributes["stream"] is True
