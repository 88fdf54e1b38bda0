"""docker-compose files: ``services.*.environment`` (list of ``KEY=value`` or a map) and
``env_file:``. ``${VAR}``, ``${VAR:-default}`` and ``${VAR-default}`` are interpolated the way
compose does it: from the ``.env`` beside the file; ``env_file`` entries add the container's
own variables.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, BinaryIO

from scanner.models import Record, Skipped
from scanner.sources._settings import Found, build_all, make_context, parse_env_text
from scanner.sources._tree import Mapping, Node, Scalar, Sequence, read_yaml, walk

if TYPE_CHECKING:
    from scanner.sources import ReadOptions

NAME = "compose"
KIND = "config"
PATTERNS = ("docker-compose*.yml", "docker-compose*.yaml", "compose*.yml", "compose*.yaml")
_SERVICES = re.compile(rb"(?m)^services:\s*(?:#.*)?$")


def sniff(head: bytes, name: str) -> bool:
    base = PurePosixPath(name.replace("\\", "/")).name.lower()
    if not base.endswith((".yml", ".yaml")):
        return False
    named = base.startswith(("docker-compose", "compose"))
    return named or bool(_SERVICES.search(head) and re.search(rb"(?m)^\s+(image|build):", head))


def read(stream: BinaryIO, path: str, options: ReadOptions) -> Iterator[Record | Skipped]:
    loaded = read_yaml(stream, path)
    if isinstance(loaded, Skipped):
        yield loaded
        return
    text, docs = loaded
    ctx = make_context(path, text, NAME, env=_env_files(docs, path))
    found: list[Found] = []
    for doc in docs:
        found.extend(walk(doc, ctx))
    yield from build_all(found, ctx)


def _env_files(docs: list[Node], path: str) -> dict[str, str]:
    """Variables from every service's ``env_file`` (relative to the compose file)."""
    out: dict[str, str] = {}
    if path == "-":
        return out
    base = Path(path).parent
    for doc in docs:
        services = doc.get("services") if isinstance(doc, Mapping) else None
        if not isinstance(services, Mapping):
            continue
        for _, _, service in services.items:
            if not isinstance(service, Mapping):
                continue
            node = service.get("env_file")
            names: list[str] = []
            if isinstance(node, Scalar) and node.value:
                names = [node.value]
            elif isinstance(node, Sequence):
                for item in node.items:
                    if isinstance(item, Scalar) and item.value:
                        names.append(item.value)
                    elif isinstance(item, Mapping) and item.scalar("path"):
                        names.append(str(item.scalar("path")))
            for name in names:
                candidate = base / name
                try:
                    text = candidate.read_text(encoding="utf-8", errors="replace")
                except OSError:
                    continue
                for e in parse_env_text(text, include_commented=False):
                    out.setdefault(e.name, e.value)
    return out
