"""``.env`` files (``.env``, ``.env.example``, ``.env.production``, ``app.env``…): one config record
per well-known AI variable (rules/env_vars.yaml) or AI-provider credential.

Commented assignments (``# OPENAI_BASE_URL=…``, how example files list alternatives) become
records flagged ``commented`` so reports can show them without treating them as active.
``${VAR}`` references are resolved from the file's own assignments first, then from the
``.env`` beside it.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterator
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, BinaryIO

from scanner.models import Record, Skipped
from scanner.sources._settings import build_all, env_found, make_context, parse_env_text
from scanner.sources._text import read_text

if TYPE_CHECKING:
    from scanner.sources import ReadOptions

NAME = "dotenv"
KIND = "config"
PATTERNS = (".env", ".env.*", "*.env", "*.env.*", "env.example", "*.env.example")
_OTHER_FORMATS = (".json", ".yaml", ".yml", ".toml", ".ini", ".py", ".js", ".ts", ".sh")


def sniff(head: bytes, name: str) -> bool:
    base = PurePosixPath(name.replace("\\", "/")).name.lower()
    for suffix in (".gz", ".zst", ".zstd"):
        base = base.removesuffix(suffix)
    if base.endswith(_OTHER_FORMATS):
        # "settings.env.json" is JSON, not a dotenv variant.
        return False
    return any(fnmatch.fnmatchcase(base, p) for p in PATTERNS)


def read(stream: BinaryIO, path: str, options: ReadOptions) -> Iterator[Record | Skipped]:
    text, problem = read_text(stream, path)
    if problem is not None:
        yield problem
        return
    lines = parse_env_text(text)
    own = {e.name: e.value for e in lines if not e.commented}
    ctx = make_context(path, text, NAME)
    # The file's own assignments win over the .env found beside it (it may be that file).
    ctx.env = {**ctx.env, **own}
    found = []
    for entry in lines:
        f = env_found(entry.name, entry.value, entry.line, entry.name, ctx, commented=entry.commented)
        if f is None:
            continue
        if entry.unterminated:
            f.extra["unterminated_quote"] = True
        found.append(f)
    yield from build_all(found, ctx)
