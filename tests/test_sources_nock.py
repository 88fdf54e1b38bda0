"""nock-back recordings: JSON arrays of {scope, method, path, body, response}."""

from __future__ import annotations

from traffic_helpers import FIXTURES, assert_pointers_resolve, external, read_all, records, shape, sniffed

from scanner.models import Skipped
from scanner.sources import nock

DIR = FIXTURES / "nock"


def test_sniffed_without_a_flag() -> None:
    assert sniffed(DIR / "openai-recordings.json") == "nock"
    assert sniffed(DIR / "malformed.json") == "nock"


def test_recordings() -> None:
    items = read_all(nock, DIR / "openai-recordings.json")
    assert shape(items) == [
        ("request", None, "/0", [("system", "/0/body/instructions"), ("user", "/0/body/input/0/content")]),
        ("response", None, "/0/response", [("assistant", "/0/response/output/0/content/0/text")]),
        ("request", None, "/1", [("user", "/1/body/messages/0/content")]),
        ("response", None, "/1/response", [("assistant", "/1/response#/*/choices/0/delta/content")]),
        ("skipped", None, "/2", "no request body (GET)"),
    ]
    first, _ = records(items)
    assert first.target == "https://api.openai.com:443/v1/responses"
    assert first.attributes["third_party_hosts"] == ["https://calendar-mcp.example.net/sse"]
    # SSE chunks recorded as an array of strings are joined and their deltas reassembled.
    assert [s.text for s in records(items, "response")[1].segments] == [
        "Your card is 4111 1111 1111 1111, Noah."
    ]
    assert assert_pointers_resolve(DIR / "openai-recordings.json", items) == 4


def test_malformed_entries_are_skipped() -> None:
    assert shape(read_all(nock, DIR / "malformed.json", include_responses=False))[1:] == [
        ("skipped", None, "/1", "recording is a string, not an object"),
        ("skipped", None, "/2", "no scope"),
    ]


def test_real_recording_parses() -> None:
    path = external("nock-openai-responses-mcp.json")
    assert sniffed(path) == "nock"
    items = read_all(nock, path)
    assert not [i for i in items if isinstance(i, Skipped)]
    (request,) = records(items)
    assert request.attributes["third_party_hosts"] == ["https://dmcp-server.deno.dev/sse"]
    assert request.attributes["store"] is True
    assert ("user", "/0/body/input/0/content") in [(s.role, s.pointer) for s in request.segments]
    assert assert_pointers_resolve(path, items) > 0
