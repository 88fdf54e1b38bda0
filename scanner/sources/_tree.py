"""Line-aware document trees for YAML, JSON, TOML and INI, and the generic walk that finds AI
settings in them.

Every node carries the 1-based line it starts on, so a setting's record points at the exact
line: YAML through ``yaml.compose`` node marks; JSON through a small position-tracking parser
(``json.JSONDecoder`` gives values, not positions); TOML and INI through ``tomllib`` /
``configparser`` plus a search of the key's line under its table or section header.
"""

from __future__ import annotations

import configparser
import json
import re
import tomllib
from bisect import bisect_right
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, BinaryIO

import yaml

from scanner.errors import SourceError
from scanner.models import Location, Skipped
from scanner.sources._settings import Context, Found, env_found, key_found
from scanner.sources._text import read_text


@dataclass
class Scalar:
    value: str | None
    line: int
    tag: str = "str"


@dataclass
class Mapping:
    items: list[tuple[str, int, Node]]
    line: int

    def get(self, key: str) -> Node | None:
        for k, _, v in self.items:
            if k == key:
                return v
        return None

    def scalar(self, key: str) -> str | None:
        node = self.get(key)
        return node.value if isinstance(node, Scalar) else None


@dataclass
class Sequence:
    items: list[Node]
    line: int


Node = Scalar | Mapping | Sequence


def escape(key: str) -> str:
    return key.replace("~", "~0").replace("/", "~1")


# -- YAML -----------------------------------------------------------------------------------------
def _from_yaml(node: yaml.Node, depth: int = 0) -> Node:
    line = node.start_mark.line + 1
    if depth > 200:
        return Scalar(None, line)
    if isinstance(node, yaml.MappingNode):
        items: list[tuple[str, int, Node]] = []
        for k, v in node.value:
            key = str(k.value) if isinstance(k, yaml.ScalarNode) else "?"
            if key == "<<" and isinstance(v, yaml.MappingNode | yaml.SequenceNode):
                # Merge keys: the merged mapping's entries count as this mapping's own.
                merged = _from_yaml(v, depth + 1)
                for m in merged.items if isinstance(merged, Sequence) else [merged]:
                    if isinstance(m, Mapping):
                        items.extend(m.items)
                continue
            items.append((key, k.start_mark.line + 1, _from_yaml(v, depth + 1)))
        return Mapping(items, line)
    if isinstance(node, yaml.SequenceNode):
        return Sequence([_from_yaml(v, depth + 1) for v in node.value], line)
    tag = str(node.tag).rsplit(":", 1)[-1]
    value = node.value if isinstance(node.value, str) else str(node.value)
    if tag == "null" or (
        tag in ("str", "null") and getattr(node, "style", None) is None and value in ("", "~", "null")
    ):
        return Scalar(None, line, "null")
    return Scalar(value, line, tag)


def parse_yaml(text: str, line_offset: int = 0) -> list[Node]:
    """All documents of a YAML stream; errors become ``SourceError`` naming line and column."""
    try:
        docs = [d for d in yaml.compose_all(text, Loader=yaml.SafeLoader) if d is not None]
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"line {mark.line + 1 + line_offset}, column {mark.column + 1}" if mark else None
        raise SourceError(f"invalid YAML: {exc.problem or exc.context}", where) from None
    except yaml.YAMLError as exc:
        raise SourceError(f"invalid YAML ({type(exc).__name__})") from None
    out = [_from_yaml(d) for d in docs]
    if line_offset:
        _shift(out, line_offset)
    return out


def read_yaml(stream: BinaryIO, path: str) -> tuple[str, list[Node]] | Skipped:
    """A config file's text and YAML documents, or the ``Skipped`` that says why not (undecodable
    text, an unrendered Helm/Go template). Other YAML errors raise ``SourceError``."""
    text, problem = read_text(stream, path)
    if problem is not None:
        return problem
    try:
        return text, parse_yaml(text)
    except SourceError as exc:
        skip = template_skip(exc, text, path)
        if skip is None:
            raise
        return skip


def template_skip(exc: SourceError, text: str, path: str) -> Skipped | None:
    """A YAML file that does not parse because it is a Go/Helm template (``{{ … }}``) is skipped
    with its position, not an input error: it only becomes YAML when rendered."""
    if "{{" not in text:
        return None
    line = None
    if exc.position and exc.position.startswith("line "):
        line = int(exc.position.split()[1].rstrip(","))
    return Skipped(Location(path, line), "templated YAML (Go/Helm template); render it to scan it")


def _shift(nodes: list[Node], offset: int) -> None:
    stack: list[Node] = list(nodes)
    while stack:
        n = stack.pop()
        n.line += offset
        if isinstance(n, Mapping):
            n.items = [(k, kl + offset, v) for k, kl, v in n.items]
            stack.extend(v for _, _, v in n.items)
        elif isinstance(n, Sequence):
            stack.extend(n.items)


# -- JSON -----------------------------------------------------------------------------------------
_WS = re.compile(r"[ \t\n\r]*")
_NUMBER = re.compile(r"-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][-+]?\d+)?")


@dataclass
class _JsonParser:
    text: str
    newlines: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.newlines = [m.start() for m in re.finditer("\n", self.text)]

    def line(self, pos: int) -> int:
        return bisect_right(self.newlines, pos - 1) + 1

    def fail(self, pos: int, what: str) -> SourceError:
        line = self.line(pos)
        col = pos - (self.newlines[line - 2] if line > 1 else -1)
        return SourceError(f"invalid JSON: {what}", f"line {line}, column {col}")

    def ws(self, pos: int) -> int:
        m = _WS.match(self.text, pos)
        return m.end() if m else pos

    def value(self, pos: int, depth: int = 0) -> tuple[Node, int]:
        pos = self.ws(pos)
        if depth > 500:
            raise self.fail(pos, "nesting too deep")
        if pos >= len(self.text):
            raise self.fail(pos, "unexpected end of data")
        c = self.text[pos]
        line = self.line(pos)
        if c == "{":
            items: list[tuple[str, int, Node]] = []
            pos = self.ws(pos + 1)
            if self.text[pos : pos + 1] == "}":
                return Mapping(items, line), pos + 1
            while True:
                pos = self.ws(pos)
                if self.text[pos : pos + 1] != '"':
                    raise self.fail(pos, "expected a string key")
                key, pos = self.string(pos)
                key_line = self.line(pos)
                pos = self.ws(pos)
                if self.text[pos : pos + 1] != ":":
                    raise self.fail(pos, "expected ':'")
                child, pos = self.value(pos + 1, depth + 1)
                items.append((key, key_line, child))
                pos = self.ws(pos)
                nxt = self.text[pos : pos + 1]
                if nxt == ",":
                    pos += 1
                    continue
                if nxt == "}":
                    return Mapping(items, line), pos + 1
                raise self.fail(pos, "expected ',' or '}'")
        if c == "[":
            seq: list[Node] = []
            pos = self.ws(pos + 1)
            if self.text[pos : pos + 1] == "]":
                return Sequence(seq, line), pos + 1
            while True:
                child, pos = self.value(pos, depth + 1)
                seq.append(child)
                pos = self.ws(pos)
                nxt = self.text[pos : pos + 1]
                if nxt == ",":
                    pos += 1
                    continue
                if nxt == "]":
                    return Sequence(seq, line), pos + 1
                raise self.fail(pos, "expected ',' or ']'")
        if c == '"':
            s, end = self.string(pos)
            return Scalar(s, line), end
        for word, tag, val in (("true", "bool", "true"), ("false", "bool", "false"), ("null", "null", None)):
            if self.text.startswith(word, pos):
                return Scalar(val, line, tag), pos + len(word)
        m = _NUMBER.match(self.text, pos)
        if m:
            return Scalar(m.group(0), line, "int"), m.end()
        raise self.fail(pos, "unexpected character")

    def string(self, pos: int) -> tuple[str, int]:
        try:
            return json.decoder.scanstring(self.text, pos + 1)  # type: ignore[attr-defined,no-any-return]
        except json.JSONDecodeError as exc:
            raise self.fail(exc.pos, "bad string") from None


def parse_json(text: str) -> Node:
    parser = _JsonParser(text)
    node, end = parser.value(0)
    if parser.ws(end) != len(text):
        raise parser.fail(parser.ws(end), "extra data after the document")
    return node


# -- TOML and INI ---------------------------------------------------------------------------------
def _header_line(lines: list[str], names: list[str]) -> int:
    """Line index of the [a.b] / [[a.b]] header of a table (0 = top of file)."""
    if not names:
        return 0
    wanted = ".".join(names)
    for i, raw in enumerate(lines):
        m = re.match(r"^\s*\[\[?\s*([^\]]+?)\s*\]\]?\s*(?:#.*)?$", raw)
        if m and m.group(1).replace('"', "").replace("'", "").replace(" ", "") == wanted:
            return i + 1
    return 0


def _key_line(lines: list[str], start: int, key: str, sep: str = "=") -> int:
    pattern = re.compile(r"^\s*(?:[\"']?)" + re.escape(key) + r"(?:[\"']?)\s*[" + sep + "]", re.IGNORECASE)
    for i in range(start, len(lines)):
        if i > start and re.match(r"^\s*\[", lines[i]):
            break
        if pattern.match(lines[i]):
            return i + 1
    return max(start, 1)


def _from_plain(value: Any, lines: list[str], tables: list[str], start: int, key: str) -> Node:
    if isinstance(value, dict):
        header = _header_line(lines, [*tables, key] if key else tables)
        own_start = header if header else start
        items = []
        for k, v in value.items():
            kl = (
                _key_line(lines, own_start, str(k))
                if not isinstance(v, dict)
                else (_header_line(lines, [*tables, key, str(k)] if key else [*tables, str(k)]) or own_start)
            )
            child_tables = [*tables, key] if key else tables
            items.append((str(k), kl, _from_plain(v, lines, child_tables, kl, str(k))))
        return Mapping(items, own_start or 1)
    if isinstance(value, list):
        return Sequence([_from_plain(v, lines, tables, start, "") for v in value], start or 1)
    if isinstance(value, bool):
        return Scalar("true" if value else "false", start or 1, "bool")
    if value is None:
        return Scalar(None, start or 1, "null")
    return Scalar(str(value), start or 1, "str" if isinstance(value, str) else "int")


def parse_toml(text: str) -> Node:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SourceError(f"invalid TOML: {exc}".split(" (at")[0], _toml_position(str(exc))) from None
    lines = text.split("\n")
    return _from_plain(data, lines, [], 0, "")


def _toml_position(message: str) -> str | None:
    m = re.search(r"at line (\d+), column (\d+)", message)
    return f"line {m.group(1)}, column {m.group(2)}" if m else None


def parse_ini(text: str) -> Node:
    parser = configparser.ConfigParser(interpolation=None, strict=False, allow_no_value=True)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    try:
        parser.read_string(text)
    except configparser.Error as exc:
        line = getattr(exc, "lineno", None)
        raise SourceError(f"invalid INI ({type(exc).__name__})", f"line {line}" if line else None) from None
    lines = text.split("\n")
    items: list[tuple[str, int, Node]] = []
    for section in parser.sections():
        header = _header_line(lines, [section])
        sub: list[tuple[str, int, Node]] = []
        for key, value in parser.items(section, raw=True):
            kl = _key_line(lines, header, key, "=:")
            sub.append((key, kl, Scalar(value, kl)))
        items.append((section, header or 1, Mapping(sub, header or 1)))
    return Mapping(items, 1)


# -- the generic walk -----------------------------------------------------------------------------
_ENV_KEYS = {"env", "environment", "envs", "env_vars", "environment_variables", "extraenv", "extra_env"}


def walk(node: Node, ctx: Context, pointer: str = "", skip: frozenset[str] = frozenset()) -> Iterator[Found]:
    """Every AI setting in a tree: known keys, env maps, ``{name, value}`` pairs, ``K=V`` lists."""
    if pointer in skip:
        return
    if isinstance(node, Mapping):
        name = node.scalar("name")
        value_node = node.get("value")
        if name is not None and isinstance(value_node, Scalar) and len(node.items) <= 3:
            # Kubernetes / Helm style env entry: {name: X, value: Y}.
            f = env_found(name, value_node.value, value_node.line, f"{pointer}/value", ctx)
            if f is not None:
                yield f
                return
        for key, key_line, child in node.items:
            p = f"{pointer}/{escape(key)}"
            if p in skip:
                continue
            if isinstance(child, Scalar):
                f = key_found(key, child.value, child.line or key_line, p, ctx)
                if f is not None:
                    yield f
            elif isinstance(child, Sequence) and key.lower() in _ENV_KEYS:
                yield from _env_list(child, ctx, p)
            else:
                yield from walk(child, ctx, p, skip)
    elif isinstance(node, Sequence):
        for i, item in enumerate(node.items):
            yield from walk(item, ctx, f"{pointer}/{i}", skip)


def _env_list(seq: Sequence, ctx: Context, pointer: str) -> Iterator[Found]:
    for i, item in enumerate(seq.items):
        p = f"{pointer}/{i}"
        if isinstance(item, Scalar) and item.value and "=" in item.value:
            name, _, value = item.value.partition("=")
            f = env_found(name.strip(), value.strip(), item.line, f"{pointer}/{escape(name.strip())}", ctx)
            if f is not None:
                yield f
        else:
            yield from walk(item, ctx, p)
