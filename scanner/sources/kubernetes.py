"""Kubernetes manifests (multi-document YAML): container ``env`` (``value``, and ``valueFrom``
references resolved against ConfigMaps and Secrets in the same file), ConfigMap ``data``,
Secret ``data`` (base64-decoded) and ``stringData``. Secret values are always treated as
secrets: scanned by the credential recognizers, never shown. A ConfigMap entry that holds a
whole LiteLLM ``config.yaml`` is read as one, with line numbers of this file.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterator
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, BinaryIO

from scanner.models import Record, Skipped
from scanner.sources._settings import Context, Found, build_all, env_found, key_found, make_context
from scanner.sources._tree import Mapping, Node, Scalar, Sequence, escape, parse_yaml, read_yaml, walk

if TYPE_CHECKING:
    from scanner.sources import ReadOptions

NAME = "kubernetes"
KIND = "config"
PATTERNS = ("*.yaml", "*.yml")
_API = re.compile(rb"(?m)^apiVersion:\s*\S+")
_KIND = re.compile(rb"(?m)^kind:\s*[A-Z]\w+")


def sniff(head: bytes, name: str) -> bool:
    base = PurePosixPath(name.replace("\\", "/")).name.lower()
    return base.endswith((".yml", ".yaml")) and bool(_API.search(head) and _KIND.search(head))


def read(stream: BinaryIO, path: str, options: ReadOptions) -> Iterator[Record | Skipped]:
    loaded = read_yaml(stream, path)
    if isinstance(loaded, Skipped):
        yield loaded
        return
    text, docs = loaded
    ctx = make_context(path, text, NAME)
    maps, secrets = _objects(docs)
    found: list[Found] = []
    extra: list[Record] = []
    skipped: list[Skipped] = []
    for i, doc in enumerate(docs):
        if not isinstance(doc, Mapping):
            continue
        base = "" if len(docs) == 1 else f"/{i}"
        kind = doc.scalar("kind") or ""
        if kind == "Secret":
            found.extend(_secret(doc, ctx, base, skipped))
        elif kind == "ConfigMap":
            data = doc.get("data")
            if isinstance(data, Mapping):
                for key, key_line, child in data.items:
                    if not isinstance(child, Scalar) or child.value is None:
                        continue
                    p = f"{base}/data/{escape(key)}"
                    if key.endswith((".yaml", ".yml")) and "\n" in child.value:
                        extra.extend(_embedded(child, key_line, text, ctx, p))
                        continue
                    f = key_found(key, child.value, child.line, p, ctx)
                    if f is not None:
                        found.append(f)
        else:
            found.extend(_workload(doc, ctx, base, maps, secrets))
    yield from skipped
    records = build_all(found, ctx) + extra
    records.sort(key=lambda r: (r.location.line or 0, r.location.pointer))
    yield from records


def _objects(docs: list[Node]) -> tuple[dict[str, dict[str, str]], dict[str, dict[str, str]]]:
    maps: dict[str, dict[str, str]] = {}
    secrets: dict[str, dict[str, str]] = {}
    for doc in docs:
        if not isinstance(doc, Mapping):
            continue
        meta = doc.get("metadata")
        name = meta.scalar("name") if isinstance(meta, Mapping) else None
        if not name:
            continue
        kind = doc.scalar("kind")
        if kind == "ConfigMap":
            data = doc.get("data")
            if isinstance(data, Mapping):
                maps[name] = {k: v.value for k, _, v in data.items if isinstance(v, Scalar) and v.value}
        elif kind == "Secret":
            values: dict[str, str] = {}
            for section, decode in (("data", True), ("stringData", False)):
                data = doc.get(section)
                if isinstance(data, Mapping):
                    for k, _, v in data.items:
                        if isinstance(v, Scalar) and v.value:
                            decoded = _b64(v.value) if decode else v.value
                            if decoded is not None:
                                values[k] = decoded
            secrets[name] = values
    return maps, secrets


def _b64(value: str) -> str | None:
    try:
        return base64.b64decode("".join(value.split()), validate=True).decode("utf-8")
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return None


def _secret(doc: Mapping, ctx: Context, base: str, skipped: list[Skipped]) -> Iterator[Found]:
    from scanner.models import Location

    for section, decode in (("data", True), ("stringData", False)):
        data = doc.get(section)
        if not isinstance(data, Mapping):
            continue
        for key, _, child in data.items:
            if not isinstance(child, Scalar) or not child.value:
                continue
            p = f"{base}/{section}/{escape(key)}"
            value = _b64(child.value) if decode else child.value
            if value is None:
                skipped.append(
                    Skipped(Location(ctx.path, child.line, p), "Secret value is not valid base64 text")
                )
                continue
            f = env_found(key, value, child.line, p, ctx) or key_found(key, value, child.line, p, ctx)
            if f is None:
                continue
            f.secret = True
            if decode:
                f.extra["base64"] = True
            yield f


def _workload(
    doc: Mapping, ctx: Context, base: str, maps: dict[str, dict[str, str]], secrets: dict[str, dict[str, str]]
) -> Iterator[Found]:
    """Container env entries anywhere in a workload; valueFrom resolved within the file."""
    handled: set[str] = set()
    for pointer, node in _env_entries(doc, base):
        name = node.scalar("name")
        ref = node.get("valueFrom")
        if not name or not isinstance(ref, Mapping):
            continue
        for kind, table in (("configMapKeyRef", maps), ("secretKeyRef", secrets)):
            sel = ref.get(kind)
            if not isinstance(sel, Mapping):
                continue
            obj, key = sel.scalar("name"), sel.scalar("key")
            value = table.get(obj or "", {}).get(key or "")
            f = env_found(name, value, node.line, f"{pointer}/valueFrom", ctx)
            if f is None:
                continue
            handled.add(pointer)
            if f.setting == "api_key":
                # A reference to a key: the Secret's own record reports any hard-coded value.
                continue
            f.secret = False
            f.extra["value_from"] = f"{kind}:{obj}/{key}"
            if value is None:
                f.extra["unresolved"] = [f"{kind}:{obj}/{key}"]
            yield f
    yield from walk(doc, ctx, base, frozenset(handled))


def _env_entries(node: Node, pointer: str) -> Iterator[tuple[str, Mapping]]:
    if isinstance(node, Mapping):
        for key, _, child in node.items:
            p = f"{pointer}/{escape(key)}"
            if key == "env" and isinstance(child, Sequence):
                for i, item in enumerate(child.items):
                    if isinstance(item, Mapping):
                        yield f"{p}/{i}", item
            else:
                yield from _env_entries(child, p)
    elif isinstance(node, Sequence):
        for i, item in enumerate(node.items):
            yield from _env_entries(item, f"{pointer}/{i}")


def _embedded(node: Scalar, key_line: int, text: str, ctx: Context, pointer: str) -> list[Record]:
    """A config file held in a ConfigMap (``config.yaml: |``): read it with this file's lines."""
    from scanner.sources import litellm_config, structured

    body = node.value or ""
    # A block scalar's content starts on the line after its key.
    offset = key_line
    try:
        docs = parse_yaml(body, line_offset=offset)
    except Exception:
        return []
    sub = Context(path=ctx.path, env=ctx.env, env_file=ctx.env_file, text=body, source=ctx.source)
    if docs and isinstance(docs[0], Mapping) and docs[0].get("model_list") is not None:
        return litellm_config.records_for(docs[0], sub, prefix=f"{pointer}#")
    return structured.documents_found(docs, sub)
