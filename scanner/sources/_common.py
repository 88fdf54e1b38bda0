"""Helpers shared by the log-format sources: reading "JSON document or JSON lines" files, turning
parsed bodies into records, and small value coercions.

Many tools write the same object either as one pretty-printed JSON document, as a JSON array of
objects, or one object per line. ``iter_json`` accepts all three and says where each item sits:
a line number for JSON lines, a JSON pointer (``/3``) for array elements, ``""`` for a document.
Malformed lines become ``Skipped`` with their line number; a malformed whole document is a
``SourceError`` naming line and column.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, BinaryIO

import orjson

from scanner.errors import SourceError
from scanner.models import Location, Record, RecordKind, Skipped
from scanner.sources._io import iter_lines
from scanner.sources.bodies import ParsedBody, decode_json_string

if TYPE_CHECKING:
    from scanner.sources import ReadOptions


@dataclass(frozen=True, slots=True)
class Item:
    """One JSON value read from a file, with where it sits."""

    value: Any
    line: int | None
    pointer: str

    def location(self, path: str, pointer: str | None = None, record: int | None = None) -> Location:
        return Location(
            path=path, line=self.line, pointer=self.pointer if pointer is None else pointer, record=record
        )


def first_json_line(head: bytes) -> Any | None:
    """The first non-blank line of ``head`` parsed as JSON, or ``None``."""
    for line in head.splitlines()[:20]:
        line = line.strip()
        if not line:
            continue
        try:
            return orjson.loads(line)
        except orjson.JSONDecodeError:
            return None
    return None


def head_text(head: bytes, limit: int = 8192) -> bytes:
    return head.lstrip()[:limit]


def _decode(line: bytes) -> tuple[Any, str | None]:
    try:
        return orjson.loads(line), None
    except orjson.JSONDecodeError as exc:
        try:
            line.decode("utf-8")
        except UnicodeDecodeError as ue:
            return None, f"invalid UTF-8 at byte {ue.start}"
        return None, f"malformed JSON at column {exc.colno}"


def _looks_like_lines(data: bytes) -> bool:
    """Does any of the first lines parse on its own as a JSON object (i.e. JSON lines)?"""
    seen = 0
    for line in data.splitlines():
        line = line.strip()
        if not line:
            continue
        seen += 1
        if seen > 20:
            break
        if line.startswith(b"{") and line.endswith(b"}"):
            try:
                if isinstance(orjson.loads(line), dict):
                    return True
            except orjson.JSONDecodeError:
                continue
    return False


EntryRecords = Callable[[Any, Item, str, str, int, "ReadOptions"], Iterator[Record | Skipped]]


def read_entries(
    stream: BinaryIO,
    path: str,
    options: ReadOptions,
    entries: Callable[[Item], Iterable[tuple[str, Any]]],
    records: EntryRecords,
    *,
    strip_prefix: bool = False,
) -> Iterator[Record | Skipped]:
    """The read loop of the JSON export formats: each item of the file, the entries
    ``entries(item)`` finds in it as (pointer, value), and the records ``records(value, item,
    pointer, path, index, options)`` makes of each, numbered across the file."""
    index = 0
    for item in iter_json(stream, path, options, strip_prefix=strip_prefix):
        if isinstance(item, Skipped):
            yield item
            continue
        for where, value in entries(item):
            for out in records(value, item, where, path, index, options):
                if isinstance(out, Record):
                    index += 1
                yield out


def paged(wrapper: str, marker: str) -> Callable[[Item], Iterator[tuple[str, Any]]]:
    """Entries of an export that may come as API pages: the item itself, or the elements of its
    ``wrapper`` list (``{"runs": [...]}``) when the item is not itself an entry (no ``marker``)."""

    def entries(item: Item) -> Iterator[tuple[str, Any]]:
        value = item.value
        if isinstance(value, dict) and isinstance(value.get(wrapper), list) and marker not in value:
            for i, entry in enumerate(value[wrapper]):
                yield f"{item.pointer}/{wrapper}/{i}", entry
        else:
            yield item.pointer, value

    return entries


def iter_json(
    stream: BinaryIO,
    path: str,
    options: ReadOptions,
    *,
    split_arrays: bool = True,
    strip_prefix: bool = False,
) -> Iterator[Item | Skipped]:
    """Items of a JSON document, a JSON array (one item per element) or JSON lines.

    ``strip_prefix`` drops a leading ``<timestamp> `` before a line's JSON (CloudWatch Logs
    exports to S3 write ``2025-01-09T18:49:23.000Z {...}``).
    """
    first = stream.peek(1 << 16)[: 1 << 16] if hasattr(stream, "peek") else b""
    first_line = first.lstrip().split(b"\n", 1)[0].strip()
    if strip_prefix:
        first_line = _strip_timestamp(first_line)
    line_mode = False
    if first_line:
        try:
            orjson.loads(first_line)
            line_mode = True
        except orjson.JSONDecodeError:
            line_mode = False
    if not line_mode:
        data = stream.read()
        try:
            doc = orjson.loads(data)
        except orjson.JSONDecodeError as exc:
            if not _looks_like_lines(data):
                try:
                    data.decode("utf-8")
                except UnicodeDecodeError as ue:
                    raise SourceError(f"invalid UTF-8 at byte {ue.start}", f"byte {ue.start}") from None
                raise SourceError(
                    f"malformed JSON at line {exc.lineno}, column {exc.colno}", f"line {exc.lineno}"
                ) from None
            # JSON lines whose first line is damaged: read them line by line after all.
            import io

            yield from _iter_lines(io.BytesIO(data), path, options, strip_prefix, split_arrays)
            return
        if split_arrays and isinstance(doc, list):
            for i, value in enumerate(doc):
                yield Item(value, None, f"/{i}")
        else:
            yield Item(doc, None, "")
        return
    yield from _iter_lines(stream, path, options, strip_prefix, split_arrays)


def _strip_timestamp(line: bytes) -> bytes:
    if line[:1].isdigit():
        space = line.find(b" ")
        if 0 < space < 40 and line[space + 1 : space + 2] in (b"{", b"["):
            return line[space + 1 :]
    return line


def _iter_lines(
    stream: BinaryIO, path: str, options: ReadOptions, strip_prefix: bool, split_arrays: bool
) -> Iterator[Item | Skipped]:
    for number, line in iter_lines(stream, options.max_line_bytes):
        if line is None:
            yield Skipped(
                Location(path=path, line=number), f"line longer than {options.max_line_bytes} bytes"
            )
            continue
        line = line.strip()
        if not line:
            continue
        if strip_prefix:
            line = _strip_timestamp(line)
        value, problem = _decode(line)
        if problem:
            yield Skipped(Location(path=path, line=number), problem)
            continue
        if split_arrays and isinstance(value, list):
            for i, element in enumerate(value):
                yield Item(element, number, f"/{i}")
            continue
        yield Item(value, number, "")


def record_from(
    parsed: ParsedBody,
    location: Location,
    kind: RecordKind,
    target: str | None,
    **fields: Any,
) -> Record:
    """A record carrying a parsed body's segments, model, api, attributes and media count."""
    attributes = dict(parsed.attributes)
    attributes.update(fields.pop("attributes", None) or {})
    model = fields.pop("model", None) or parsed.model
    return Record(
        location=location,
        kind=kind,
        target=target,
        segments=parsed.segments,
        model=model,
        api=fields.pop("api", None) or parsed.api,
        attributes=attributes,
        unscanned_parts=parsed.unscanned_parts,
        **fields,
    )


def text(value: Any) -> str | None:
    """A string field, or a number rendered as a string; anything else is ``None``."""
    if isinstance(value, str):
        return value or None
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return str(value)
    return None


def maybe_json(value: Any) -> Any:
    """A value that may be JSON held in a string (Azure ``properties``, Langfuse ``input``)."""
    if isinstance(value, str):
        nested = decode_json_string(value)
        if nested is not None:
            return nested
    return value


def type_name(value: Any) -> str:
    return {dict: "an object", list: "an array", str: "a string", bool: "a boolean"}.get(
        type(value), "a number" if isinstance(value, int | float) else "null"
    )


def parse_messages(messages: list[Any], pointer: str) -> ParsedBody:
    """A bare list of chat messages (any provider's shape) found at ``pointer``."""
    from scanner.models import Segment
    from scanner.sources.bodies import parse_body

    parsed = parse_body({"messages": messages}, "")
    parsed.segments = [
        Segment(pointer + seg.pointer[len("/messages") :], seg.role, seg.text)
        if seg.pointer.startswith("/messages")
        else seg
        for seg in parsed.segments
    ]
    return parsed


def parse_payload(value: Any, pointer: str) -> ParsedBody:
    """A logged input of unknown shape: a request body, a message list, a prompt string, or JSON
    held in a string (the pointer then gets its ``#``)."""
    from scanner.sources.bodies import parse_body

    decoded = maybe_json(value)
    if decoded is not value:
        pointer += "#"
    if isinstance(decoded, list) and any(
        isinstance(m, dict) and ("role" in m or "content" in m) for m in decoded
    ):
        return parse_messages(decoded, pointer)
    if isinstance(decoded, dict):
        return parse_body(decoded, pointer)
    parsed = ParsedBody(api="text")
    parsed.strings(pointer, "user", decoded)
    return parsed


def obj(value: Any) -> dict[str, Any]:
    """``value`` if it is a JSON object, else an empty one (for optional nested objects)."""
    return value if isinstance(value, dict) else {}


_LABEL = re.compile(r"^[A-Za-z0-9_.:/+-]{1,40}$")


def label(value: Any, default: str = "unrecognised") -> str:
    """A log's own short identifier (a method, type or category) fit to quote in a skip reason.

    Anything else could be free text, and skip reasons must never carry input content.
    """
    return value if isinstance(value, str) and _LABEL.match(value) else default


_REQUEST_ID_HEADERS = ("x-request-id", "request-id", "x-amzn-requestid", "apim-request-id", "x-ms-request-id")


def request_id_from(*headers: dict[str, str]) -> str | None:
    """The provider's request id from lower-cased response (or request) headers, if recorded."""
    for table in headers:
        for name in _REQUEST_ID_HEADERS:
            if table.get(name):
                return table[name]
    return None
