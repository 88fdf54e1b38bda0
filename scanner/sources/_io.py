"""Byte-level input handling shared by every source: decompression, stdin, bounded line reads.

Compression is recognised by magic bytes, not file names (gzip ``1f 8b``, zstd ``28 b5 2f fd``),
so ``.gz``/``.zst`` work anywhere and a mislabelled file still opens.
"""

from __future__ import annotations

import gzip
import io
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

from scanner.config import Settings

GZIP_MAGIC = b"\x1f\x8b"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
HEAD_BYTES = 64 * 1024
DEFAULT_MAX_LINE = Settings.max_line_bytes


def open_binary(path: str | Path) -> BinaryIO:
    """Open a file (or ``-`` for stdin) for reading, transparently decompressing it."""
    raw: Any
    if str(path) == "-":
        raw = io.BufferedReader(sys.stdin.buffer, buffer_size=1 << 20)
    else:
        raw = open(path, "rb", buffering=1 << 20)  # noqa: SIM115 - returned to the caller
    return wrap_decompress(raw)


class _Read1(io.RawIOBase):
    """Raw adapter over ``GzipFile.read1``: data decoded before a truncation point is delivered,
    and the EOFError comes only on the read after it (``GzipFile.read`` would lose the last chunk)."""

    def __init__(self, inner: gzip.GzipFile) -> None:
        self.inner = inner

    def readinto(self, buffer: Any) -> int:
        data = self.inner.read1(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def readable(self) -> bool:
        return True

    def close(self) -> None:
        self.inner.close()
        super().close()


def wrap_decompress(raw: Any) -> BinaryIO:
    peekable: Any = raw if hasattr(raw, "peek") else io.BufferedReader(raw)
    magic = peekable.peek(4)[:4]
    if magic[:2] == GZIP_MAGIC:
        return io.BufferedReader(_Read1(gzip.GzipFile(fileobj=peekable)), buffer_size=1 << 20)
    if magic == ZSTD_MAGIC:
        import zstandard

        reader = zstandard.ZstdDecompressor().stream_reader(peekable, read_across_frames=True)
        return io.BufferedReader(reader, buffer_size=1 << 20)
    result: BinaryIO = peekable
    return result


def peek_head(stream: BinaryIO, size: int = HEAD_BYTES) -> bytes:
    """The first ``size`` decompressed bytes, without consuming them."""
    peek = getattr(stream, "peek", None)
    if peek is None:
        return b""
    data: bytes = peek(size)
    return data[:size]


def iter_lines(
    stream: BinaryIO, max_line: int = DEFAULT_MAX_LINE, first: int = 1
) -> Iterator[tuple[int, bytes | None]]:
    """Yield (1-based line number, line bytes) — or ``None`` for a line longer than ``max_line``.

    An over-long line is consumed in pieces and never held in memory whole. ``first`` is the
    number of the stream's first line (a shard of a file that starts mid-file).
    """
    number = first - 1
    readline = stream.readline
    while True:
        line = readline(max_line + 1)
        if not line:
            return
        number += 1
        if len(line) > max_line and not line.endswith(b"\n"):
            while True:
                rest = readline(1 << 20)
                if not rest or rest.endswith(b"\n"):
                    break
            yield number, None
            continue
        yield number, line


def describe_bytes(head: bytes) -> str:
    """Describe the start of a file without printing its content (for unknown-format errors)."""
    if not head:
        return "the file is empty"
    sample = head[:512]
    printable = sum(32 <= b < 127 or b in (9, 10, 13) for b in sample)
    try:
        sample.decode("utf-8")
        utf8 = "valid UTF-8"
    except UnicodeDecodeError as exc:
        utf8 = "valid UTF-8" if exc.start > len(sample) - 4 else f"not UTF-8 (bad byte at offset {exc.start})"
    first = next((chr(b) for b in sample if not chr(b).isspace()), "")
    shape = {
        "{": "starts with '{' (JSON object?)",
        "[": "starts with '[' (JSON array?)",
        "<": "starts with '<' (XML/HTML?)",
    }.get(first, "starts with a letter or digit" if first.isalnum() else "starts with a symbol")
    return (
        f"{len(head)} bytes read; {printable * 100 // max(len(sample), 1)}% printable; "
        f"{utf8}; {shape}; first bytes hex {sample[:8].hex(' ')}"
    )
