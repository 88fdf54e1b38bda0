"""Reading a whole (small) config or source file as text; undecodable files become a skip.

Config files are read whole: they are small, and exact line numbers need the full text.
"""

from __future__ import annotations

from typing import BinaryIO

from scanner.models import Location, Skipped

MAX_CONFIG_BYTES = 8 * 1024 * 1024


def read_text(stream: BinaryIO, path: str) -> tuple[str, Skipped | None]:
    data = stream.read(MAX_CONFIG_BYTES + 1)
    if len(data) > MAX_CONFIG_BYTES:
        return "", Skipped(Location(path), f"config file larger than {MAX_CONFIG_BYTES} bytes")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        return "", Skipped(Location(path, pointer=f"byte {exc.start}"), f"invalid UTF-8 at byte {exc.start}")
    return text, None
