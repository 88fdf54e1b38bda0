"""mitmproxy native flow dumps (tnetstring), read without mitmproxy installed."""

from __future__ import annotations

import pytest
from traffic_helpers import FIXTURES, assert_pointers_resolve, external, read_all, records, shape, sniffed

from scanner.errors import SourceError
from scanner.models import Record
from scanner.sources import mitm

DIR = FIXTURES / "mitm"


def test_sniffed_without_a_flag() -> None:
    assert sniffed(DIR / "openai.mitm") == "mitm"


def test_flows() -> None:
    items = read_all(mitm, DIR / "openai.mitm")
    assert shape(items) == [
        (
            "request",
            None,
            "/0",
            [
                ("system", "/0/request/content#/messages/0/content"),
                ("user", "/0/request/content#/messages/1/content"),
            ],
        ),
        ("response", None, "/0/response", [("assistant", "/0/response/content#/choices/0/message/content")]),
        ("skipped", None, "/1", "no request body (GET)"),
        ("skipped", None, "/2", "not an HTTP flow (tcp)"),
    ]
    request = records(items)[0]
    # The body was sent gzip-compressed (content-encoding: gzip) and is read decompressed.
    assert request.target == "https://api.openai.com/v1/chat/completions"
    assert request.request_id == "req_mitm_1"
    assert request.timestamp is not None and request.timestamp.startswith("2026-11-")
    assert assert_pointers_resolve(DIR / "openai.mitm", items) == 3


def test_truncated_dump_keeps_earlier_flows_then_fails_with_offset() -> None:
    seen: list[Record] = []
    with pytest.raises(SourceError) as err:
        from scanner.sources import ReadOptions
        from scanner.sources._io import open_binary

        with open_binary(DIR / "truncated.mitm") as stream:
            for item in mitm.read(stream, "truncated.mitm", ReadOptions()):
                if isinstance(item, Record):
                    seen.append(item)
    assert len(seen) == 1
    assert err.value.position is not None and err.value.position.startswith("byte ")


def test_real_flow_dump_matches_its_har_export() -> None:
    from scanner.sources import har

    dump = read_all(mitm, external("mitmproxy-flow-dump-successful-log.mitm"), include_responses=False)
    export = read_all(har, external("har-mitmproxy-successful-log.har"), include_responses=False)
    assert [(r.target, [s.text for s in r.segments]) for r in records(dump)] == [
        (r.target, [s.text for s in r.segments]) for r in records(export)
    ]
    assert len(dump) == len(export) == 2
