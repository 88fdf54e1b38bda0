"""JSONL envelope and HAR readers: body shapes, segments with roles and pointers, nothing lost."""

from __future__ import annotations

import gzip
import io
import json
from pathlib import Path

import pytest
from conftest import SAMPLES

from scanner.models import Record, Skipped
from scanner.sources import ReadOptions, har, jsonl, sniff
from scanner.sources._io import open_binary, peek_head
from scanner.sources.bodies import parse_body


def read_all(module, data: bytes, max_line: int = 1 << 20) -> list[Record | Skipped]:
    return list(module.read(io.BufferedReader(io.BytesIO(data)), "t", ReadOptions(max_line_bytes=max_line)))


def segs(body: object) -> list[tuple[str, str]]:
    return [(s.role, s.pointer) for s in parse_body(body, "/body").segments]


def test_openai_chat_shape() -> None:
    body = {
        "model": "gpt-4o",
        "user": "u-1",
        "messages": [
            {"role": "developer", "content": "sys"},
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "hi"},
                    {"type": "image_url", "image_url": {"url": "data:x"}},
                ],
            },
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "c1",
                        "type": "function",
                        "function": {"name": "f", "arguments": json.dumps({"a": {"b": "v"}})},
                    }
                ],
            },
            {"role": "tool", "tool_call_id": "c1", "content": "result"},
        ],
    }
    parsed = parse_body(body, "/body")
    assert parsed.api == "openai.chat_completions"
    assert [(s.role, s.pointer) for s in parsed.segments] == [
        ("system", "/body/messages/0/content"),
        ("user", "/body/messages/1/content/0/text"),
        ("tool_call", "/body/messages/2/tool_calls/0/function/arguments#/a/b"),
        ("tool", "/body/messages/3/content"),
        ("metadata", "/body/user"),
    ]
    assert parsed.unscanned_parts == 1
    assert parsed.attributes["store"] is False and parsed.attributes["store_explicit"] is False


def test_openai_responses_shape_defaults_to_stored() -> None:
    body = {
        "model": "gpt-4.1",
        "instructions": "be brief",
        "input": [
            {
                "role": "user",
                "content": [
                    {"type": "input_text", "text": "q"},
                    {"type": "input_file", "filename": "cv.pdf", "file_data": "…"},
                ],
            },
            {"type": "function_call", "call_id": "c", "name": "f", "arguments": '{"x": "y"}'},
            {"type": "function_call_output", "call_id": "c", "output": "out"},
        ],
        "tools": [{"type": "mcp", "server_url": "https://mcp.example.net/sse", "server_label": "x"}],
    }
    parsed = parse_body(body, "/body")
    assert parsed.api == "openai.responses"
    assert [(s.role, s.pointer) for s in parsed.segments] == [
        ("system", "/body/instructions"),
        ("user", "/body/input/0/content/0/text"),
        ("user", "/body/input/0/content/1/filename"),
        ("tool_call", "/body/input/1/arguments#/x"),
        ("tool", "/body/input/2/output"),
    ]
    assert parsed.unscanned_parts == 1
    assert parsed.attributes["store"] is True
    assert parsed.attributes["third_party_hosts"] == ["https://mcp.example.net/sse"]
    assert segs({"input": "plain"}) == [("user", "/body/input")]


def test_anthropic_shape() -> None:
    body = {
        "model": "claude",
        "max_tokens": 10,
        "system": [{"type": "text", "text": "sys"}],
        "metadata": {"user_id": "u"},
        "messages": [
            {"role": "user", "content": "q"},
            {
                "role": "assistant",
                "content": [{"type": "tool_use", "id": "t", "name": "n", "input": {"k": "v", "n": 3}}],
            },
            {
                "role": "user",
                "content": [
                    {"type": "tool_result", "tool_use_id": "t", "content": [{"type": "text", "text": "r"}]},
                    {"type": "image", "source": {"type": "base64", "data": "…"}},
                ],
            },
        ],
        "inference_geo": "us",
    }
    parsed = parse_body(body, "/body")
    assert parsed.api == "anthropic.messages"
    assert [(s.role, s.pointer) for s in parsed.segments] == [
        ("system", "/body/system/0/text"),
        ("user", "/body/messages/0/content"),
        ("tool_call", "/body/messages/1/content/0/input/k"),
        ("tool", "/body/messages/2/content/0/content/0/text"),
        ("metadata", "/body/metadata/user_id"),
    ]
    assert parsed.unscanned_parts == 1
    assert parsed.attributes["inference_geo"] == "us"


def test_gemini_and_converse_shapes() -> None:
    gemini = {
        "systemInstruction": {"parts": [{"text": "sys"}]},
        "contents": [
            {
                "role": "user",
                "parts": [{"text": "q"}, {"inlineData": {"mimeType": "image/png", "data": "…"}}],
            },
            {"role": "model", "parts": [{"functionCall": {"name": "f", "args": {"city": "Perth"}}}]},
        ],
    }
    parsed = parse_body(gemini, "/body")
    assert parsed.api == "gemini.generate_content"
    assert [(s.role, s.pointer) for s in parsed.segments] == [
        ("system", "/body/systemInstruction/parts/0/text"),
        ("user", "/body/contents/0/parts/0/text"),
        ("tool_call", "/body/contents/1/parts/0/functionCall/args/city"),
    ]
    assert parsed.unscanned_parts == 1
    converse = {
        "system": [{"text": "s"}],
        "messages": [{"role": "user", "content": [{"text": "q"}]}],
        "inferenceConfig": {"maxTokens": 5},
    }
    parsed = parse_body(converse, "/body")
    assert parsed.api == "bedrock.converse"
    assert [(s.role, s.pointer) for s in parsed.segments] == [
        ("system", "/body/system/0/text"),
        ("user", "/body/messages/0/content/0/text"),
    ]


def test_unknown_body_shape_is_scanned_not_dropped() -> None:
    assert segs({"query": "who is x", "options": {"note": "n"}, "model": "m"}) == [
        ("unknown", "/body/query"),
        ("unknown", "/body/options/note"),
    ]
    assert segs("plain text body") == [("user", "/body")]
    assert segs(json.dumps({"messages": [{"role": "user", "content": "q"}]})) == [
        ("user", "/body#/messages/0/content")
    ]


def test_jsonl_malformed_lines_are_reported_and_the_rest_scanned() -> None:
    good = json.dumps(
        {
            "url": "https://api.openai.com/v1/chat/completions",
            "body": {"messages": [{"role": "user", "content": "hi"}]},
        }
    )
    data = (
        "\n".join(
            [
                good,
                '{"url": "https://x", "body": {"messages": [',  # truncated JSON
                "[1, 2]",
                json.dumps({"body": {}}),
                json.dumps({"url": "https://api.openai.com"}),
                "",
                good,
            ]
        ).encode()
        + b"\n"
        + b'{"url": "https://a", "body": "\xff\xfe"}\n'
        + good.encode()
        + b"\n"
    )
    items = read_all(jsonl, data)
    records = [i for i in items if isinstance(i, Record)]
    skipped = [i for i in items if isinstance(i, Skipped)]
    assert [r.location.line for r in records] == [1, 7, 9]
    assert [r.location.record for r in records] == [0, 1, 2]
    assert [(s.location.line, s.reason.split(" at ")[0]) for s in skipped] == [
        (2, "malformed JSON"),
        (3, "not a JSON object"),
        (4, "no url or host"),
        (5, "no body"),
        (8, "invalid UTF-8"),
    ]


def test_jsonl_line_over_limit_is_skipped_without_loading_it() -> None:
    good = json.dumps({"url": "https://h", "body": {"input": "x"}}).encode()
    big = b'{"url": "https://h", "body": {"input": "' + b"a" * 5000 + b'"}}'
    items = read_all(jsonl, good + b"\n" + big + b"\n" + good + b"\n", max_line=2048)
    assert [type(i).__name__ for i in items] == ["Record", "Skipped", "Record"]
    assert isinstance(items[1], Skipped) and "longer than 2048" in items[1].reason
    assert items[2].location.line == 3


def test_har_entries_and_pointers() -> None:
    items = list(har.read(open_binary(SAMPLES / "traffic" / "browser-session.har"), "s.har", ReadOptions()))
    assert isinstance(items[0], Skipped) and items[0].location.pointer == "/log/entries/0"
    rec = items[1]
    assert isinstance(rec, Record)
    assert rec.target == "https://api.openai.com/v1/chat/completions"
    assert rec.timestamp == "2026-11-07T12:00:05.000Z"
    assert [(s.role, s.pointer) for s in rec.segments] == [
        ("user", "/log/entries/1/request/postData/text#/messages/0/content")
    ]


def test_sniffing(tmp_path: Path) -> None:
    har_head = peek_head(open_binary(SAMPLES / "traffic" / "browser-session.har"))
    assert sniff(har_head, "x").NAME == "har"
    gz = peek_head(open_binary(SAMPLES / "traffic" / "archive" / "bedrock-2026-11-06.jsonl.gz"))
    assert sniff(gz, "x").NAME == "jsonl"
    assert sniff(b"hello world\n", "x") is None
    assert sniff(b'{"foo": 1}\n', "x") is None


def test_real_mitmproxy_har_export_reads(repo_root: Path) -> None:
    sample = repo_root.parent / "shared" / "external-samples" / "har-mitmproxy-successful-log.har"
    if not sample.exists():
        pytest.skip("external samples not present")
    items = list(har.read(open_binary(sample), "m.har", ReadOptions()))
    assert isinstance(items[0], Skipped) and items[0].reason == "no request body (GET)"
    post = items[1]
    assert isinstance(post, Record) and post.target == "https://httpbin.org/post"
    assert [(s.role, s.pointer) for s in post.segments] == [
        ("user", "/log/entries/1/request/postData/params/0/value"),
        ("user", "/log/entries/1/request/postData/params/1/value"),
    ]


def test_gzip_and_zstd_are_read_by_magic(tmp_path: Path) -> None:
    import zstandard

    line = json.dumps({"url": "https://api.openai.com", "body": {"input": "hello"}}).encode() + b"\n"
    (tmp_path / "a.log").write_bytes(gzip.compress(line * 3))
    (tmp_path / "b.data").write_bytes(zstandard.ZstdCompressor().compress(line * 2))
    for name, count in (("a.log", 3), ("b.data", 2)):
        stream = open_binary(tmp_path / name)
        assert sniff(peek_head(stream), name).NAME == "jsonl"
        assert len([i for i in jsonl.read(stream, name, ReadOptions()) if isinstance(i, Record)]) == count
