"""Input formats. Each module has ``NAME``, ``KIND``, ``PATTERNS``, ``sniff(head, name)`` and
``read(stream, path, options) -> Iterator[Record | Skipped]``; a new format is one module plus one
line in ``FORMATS``. Sniffing tries the formats in ``FORMATS`` order; ``--input-format`` skips it.
"""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import BinaryIO

from scanner.models import COMPRESSED_SUFFIXES, Record, Skipped
from scanner.sources import (
    azure,
    bedrock,
    compose,
    dotenv,
    har,
    js_code,
    jsonl,
    kubernetes,
    langfuse,
    langsmith,
    litellm,
    litellm_config,
    mitm,
    nock,
    otel,
    python_code,
    structured,
    terraform,
    vcr,
)
from scanner.sources._io import DEFAULT_MAX_LINE

# Order matters: specific shapes before generic ones (``jsonl`` is the generic envelope; HAR's
# sniff is loose). Langfuse generations may embed LiteLLM metadata, so Langfuse comes first.
FORMATS: dict[str, ModuleType] = {
    mitm.NAME: mitm,
    vcr.NAME: vcr,
    nock.NAME: nock,
    otel.NAME: otel,
    bedrock.NAME: bedrock,
    azure.NAME: azure,
    langfuse.NAME: langfuse,
    langsmith.NAME: langsmith,
    litellm.NAME: litellm,
    har.NAME: har,
    jsonl.NAME: jsonl,
    # Configuration and source code (after every traffic format; generic structured files last).
    dotenv.NAME: dotenv,
    compose.NAME: compose,
    kubernetes.NAME: kubernetes,
    litellm_config.NAME: litellm_config,
    terraform.NAME: terraform,
    python_code.NAME: python_code,
    js_code.NAME: js_code,
    structured.NAME: structured,
}

_SKIP_DIRS = {
    ".git",
    ".hg",
    ".svn",
    "node_modules",
    ".venv",
    "venv",
    "__pycache__",
    ".mypy_cache",
    ".pytest_cache",
    ".ruff_cache",
    ".tox",
}


@dataclass(frozen=True, slots=True)
class ReadOptions:
    max_line_bytes: int = DEFAULT_MAX_LINE
    include_responses: bool = False
    # Number of the stream's first line: 1, or more for a shard of a file (scanner.distributed).
    first_line: int = 1


def sniff(head: bytes, name: str) -> ModuleType | None:
    for module in FORMATS.values():
        if module.sniff(head, name):
            return module
    return None


def is_candidate(name: str) -> bool:
    """Would any format read a file of this name? Used when walking directories."""
    base = name.lower()
    for suffix in COMPRESSED_SUFFIXES:
        if base.endswith(suffix):
            base = base[: -len(suffix)]
            break
    return any(fnmatch.fnmatchcase(base, pattern) for m in FORMATS.values() for pattern in m.PATTERNS)


def iter_files(paths: list[str]) -> Iterator[tuple[str, str, bool]]:
    """(display path, real path, explicitly named). Directories are walked recursively and sorted;
    files found by walking are taken only if some format claims their name."""
    for raw in paths:
        if raw == "-":
            yield "-", "-", True
            continue
        p = Path(raw)
        if p.is_dir():
            for root, dirs, files in os.walk(p):
                dirs[:] = sorted(d for d in dirs if d not in _SKIP_DIRS)
                for fname in sorted(files):
                    full = Path(root) / fname
                    if is_candidate(fname):
                        yield full.as_posix(), str(full), False
        else:
            yield p.as_posix(), str(p), True


def read(module: ModuleType, stream: BinaryIO, path: str, options: ReadOptions) -> Iterator[Record | Skipped]:
    reader: Iterator[Record | Skipped] = module.read(stream, path, options)
    return reader
