"""Generic YAML, JSON, TOML and INI configuration (Helm ``values.yaml`` included): every AI
setting found by key (``base_url``, ``api_key``, ``aws_region_name``…), by well-known variable
name (env maps), as a ``{name, value}`` env entry or a ``KEY=value`` list item.

The last of the formats: more specific readers (traffic logs, compose, Kubernetes, LiteLLM) are
tried first. Pointers are JSON pointers into the document (``/0/...`` for later YAML documents).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, BinaryIO

from scanner.errors import SourceError
from scanner.models import Record, Skipped
from scanner.sources._settings import Context, Found, build_all, make_context
from scanner.sources._text import read_text
from scanner.sources._tree import (
    Mapping,
    Node,
    Sequence,
    escape,
    parse_ini,
    parse_json,
    parse_toml,
    parse_yaml,
    template_skip,
    walk,
)

if TYPE_CHECKING:
    from scanner.sources import ReadOptions

NAME = "config"
KIND = "config"
PATTERNS = ("*.yaml", "*.yml", "*.json", "*.toml", "*.ini", "*.cfg")


def suffix(name: str) -> str:
    base = PurePosixPath(name.replace("\\", "/")).name.lower()
    for comp in (".gz", ".zst", ".zstd"):
        base = base.removesuffix(comp)
    return base.rsplit(".", 1)[-1] if "." in base else ""


def sniff(head: bytes, name: str) -> bool:
    kind = suffix(name)
    if kind not in {"yaml", "yml", "json", "toml", "ini", "cfg"} or b"\x00" in head:
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 4:  # not just a character cut at the end of the head
            return False
    return kind != "json" or head.lstrip()[:1] in (b"", b"{", b"[")


def parse(text: str, name: str) -> list[Node]:
    kind = suffix(name)
    if kind == "json":
        return [parse_json(text)]
    if kind == "toml":
        return [parse_toml(text)]
    if kind in ("ini", "cfg"):
        return [parse_ini(text)]
    return parse_yaml(text)


def documents_found(docs: list[Node], ctx: Context) -> list[Record]:
    from scanner.sources import litellm_config

    found: list[Found] = []
    embedded: list[Record] = []
    for i, doc in enumerate(docs):
        base = "" if len(docs) == 1 else f"/{i}"
        # A LiteLLM proxy config nested in Helm values (e.g. `proxy_config: {model_list: …}`)
        # is read as one, so routes get their provider defaults and callbacks their hosts.
        nested = dict(_litellm_configs(doc, base))
        for pointer, node in nested.items():
            embedded.extend(litellm_config.records_for(node, ctx, prefix=pointer))
        found.extend(walk(doc, ctx, base, frozenset(nested)))
    records = build_all(found, ctx) + embedded
    records.sort(key=lambda r: (r.location.line or 0, r.location.pointer))
    return records


def _litellm_configs(node: Node, pointer: str, depth: int = 0) -> Iterator[tuple[str, Mapping]]:
    if not isinstance(node, Mapping) or depth > 6:
        return
    if pointer and isinstance(node.get("model_list"), Sequence):
        yield pointer, node
        return
    for key, _, child in node.items:
        yield from _litellm_configs(child, f"{pointer}/{escape(key)}", depth + 1)


def read(stream: BinaryIO, path: str, options: ReadOptions) -> Iterator[Record | Skipped]:
    text, problem = read_text(stream, path)
    if problem is not None:
        yield problem
        return
    if not text.strip():
        return
    try:
        docs = parse(text, path)
    except SourceError as exc:
        skip = template_skip(exc, text, path) if suffix(path) in ("yaml", "yml") else None
        if skip is None:
            raise
        yield skip
        return
    yield from documents_found(docs, make_context(path, text, NAME))
