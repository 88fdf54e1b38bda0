"""Line numbers for HAR entries (what SARIF regions and annotations point at)."""

from __future__ import annotations

import io
import json

import orjson
import pytest
from ci_support import REPO_ROOT, TRAFFIC

from scanner.models import Record, Skipped
from scanner.sources import ReadOptions, har
from scanner.sources._jsonpos import element_lines


def _opening_lines(text: str, count: int) -> list[int]:
    """Lines of the first ``count`` lines that open an entry, by independent means: the parser
    tells us each entry's ``startedDateTime``; the first line at or after the previous entry that
    contains it belongs to that entry, and the entry opened on the nearest preceding "{" line."""
    doc = json.loads(text)
    lines = text.splitlines()
    found = []
    start = 0
    for entry in doc["log"]["entries"][:count]:
        marker = json.dumps(entry["startedDateTime"])
        at = next(i for i in range(start, len(lines)) if marker in lines[i])
        opening = max(i for i in range(start, at + 1) if lines[i].strip() == "{")
        found.append(opening + 1)
        start = at + 1
    return found


def test_entry_lines_match_the_file() -> None:
    text = (TRAFFIC / "browser-session.har").read_text(encoding="utf-8")
    lines = element_lines(text.encode(), ("log", "entries"))
    assert list(lines) == [0, 1, 2, 3]
    assert list(lines.values()) == _opening_lines(text, 4)


def test_real_mitmproxy_export() -> None:
    sample = REPO_ROOT.parent / "shared" / "external-samples" / "har-mitmproxy-successful-log.har"
    if not sample.exists():
        pytest.skip("external samples not present")
    text = sample.read_text(encoding="utf-8")
    n = len(json.loads(text)["log"]["entries"])
    assert list(element_lines(text.encode(), ("log", "entries")).values()) == _opening_lines(text, n)


def test_strings_with_brackets_quotes_and_lookalike_keys_do_not_confuse_it() -> None:
    doc = (
        b'{"log": {"pages": [{"entries": [{"x": 1}]}],\n'
        b' "comment": "not [an] {entry}, \\"entries\\": [",\n'
        b' "entries": [\n'
        b'  {"request": {"postData": {"text": "{\\"messages\\": [{\\"a\\": \\"]}\\"}]}"}}},\n'
        b"  null,\n"
        b'  {"request": {}}\n'
        b"]}}\n"
    )
    assert orjson.loads(doc)  # the fixture is valid JSON
    assert element_lines(doc, ("log", "entries")) == {0: 4, 2: 6}


def test_truncated_document_returns_what_was_found() -> None:
    assert element_lines(b'{"log": {"entries": [\n{"a": 1},\n{"b": ', ("log", "entries")) == {0: 2, 1: 3}


def test_har_records_and_skips_carry_the_entry_line() -> None:
    data = (TRAFFIC / "browser-session.har").read_bytes()
    items = list(har.read(io.BytesIO(data), "s.har", ReadOptions()))
    expected = _opening_lines(data.decode(), 4)
    assert isinstance(items[0], Skipped) and items[0].location.start_line == expected[0]
    assert [i.location.start_line for i in items if isinstance(i, Record)] == expected[1:]
    assert all(i.location.line is None for i in items)  # not a line-oriented format
    compact = list(har.read(io.BytesIO(orjson.dumps(orjson.loads(data))), "s.har", ReadOptions()))
    assert {i.location.start_line for i in compact} == {1}
