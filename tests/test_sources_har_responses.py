"""HAR captures hold responses too: read as response records (streams reassembled) when asked."""

from __future__ import annotations

import base64
import json
from pathlib import Path

from traffic_helpers import read_all, records, shape

from scanner.sources import har


def _entry(url: str, body: dict[str, object], content: dict[str, object]) -> dict[str, object]:
    return {
        "startedDateTime": "2026-11-07T01:00:00.000Z",
        "request": {
            "method": "POST",
            "url": url,
            "headers": [{"name": "content-type", "value": "application/json"}],
            "postData": {"mimeType": "application/json", "text": json.dumps(body)},
        },
        "response": {"status": 200, "headers": [], "content": content},
    }


def test_sse_and_base64_responses(tmp_path: Path) -> None:
    sse = "".join(
        "event: content_block_delta\ndata: "
        + json.dumps({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": t}})
        + "\n\n"
        for t in ("Card 4111 1111 ", "1111 1111 noted")
    )
    whole = {"choices": [{"index": 0, "message": {"role": "assistant", "content": "Hi Mia"}}]}
    doc = {
        "log": {
            "version": "1.2",
            "creator": {"name": "WebInspector", "version": "537.36"},
            "entries": [
                _entry(
                    "https://api.anthropic.com/v1/messages",
                    {
                        "model": "claude-3-5-haiku",
                        "max_tokens": 10,
                        "messages": [{"role": "user", "content": "x"}],
                    },
                    {"mimeType": "text/event-stream", "text": sse},
                ),
                _entry(
                    "https://api.openai.com/v1/chat/completions",
                    {"model": "gpt-4o", "messages": [{"role": "user", "content": "y"}]},
                    {
                        "mimeType": "application/json",
                        "encoding": "base64",
                        "text": base64.b64encode(json.dumps(whole).encode()).decode(),
                    },
                ),
            ],
        }
    }
    path = tmp_path / "session.har"
    path.write_text(json.dumps(doc))
    items = read_all(har, path)
    assert [s for s in shape(items) if s[0] == "response"] == [
        (
            "response",
            None,
            "/log/entries/0/response",
            [("assistant", "/log/entries/0/response/content/text#/*[0]/delta/text")],
        ),
        (
            "response",
            None,
            "/log/entries/1/response",
            [("assistant", "/log/entries/1/response/content/text#/choices/0/message/content")],
        ),
    ]
    assert records(items, "response")[0].segments[0].text == "Card 4111 1111 1111 1111 noted"
    assert not records(read_all(har, path, include_responses=False), "response")
