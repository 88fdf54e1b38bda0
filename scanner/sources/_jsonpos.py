"""Line numbers of array elements inside a JSON document, for sources that parse whole documents.

Used by the HAR reader so that each entry's record carries the line where the entry starts
(code-scanning services and editors point at lines, not JSON pointers). A byte-level token scan:
strings are skipped whole with one regular expression, so cost stays linear in the file size and
the document is not parsed a second time into objects.
"""

from __future__ import annotations

import re

# Unrolled string pattern: fast on long strings (request bodies embedded in HAR entries).
_TOKEN = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"|[{}\[\]:,]')


def element_lines(data: bytes, path: tuple[str, ...]) -> dict[int, int]:
    """Index → 1-based line of each object/array element of the array at ``path`` (object keys).

    Elements that are scalars get no entry. Returns what it found so far if the document is cut short.
    """
    target = ["", *path]
    kinds: list[int] = []  # b"{"[0] or b"["[0] per open container
    keys: list[str] = []  # the key (or "#" for an array slot) each open container sits under
    last_string = b""
    pending_key: str | None = None
    index = 0
    found: dict[int, int] = {}
    line, scanned = 1, 0
    in_target = False
    for m in _TOKEN.finditer(data):
        tok = m.group()
        first = tok[0]
        if first == 0x22:  # '"'
            last_string = tok
            continue
        if first == 0x3A:  # ':'
            pending_key = last_string[1:-1].decode("utf-8", "replace")
            continue
        if in_target and len(kinds) == len(target):
            if first == 0x2C:  # ',' between elements of the target array
                index += 1
                continue
            if first in (0x7B, 0x5B):  # '{' or '[' opening an element
                line += data.count(b"\n", scanned, m.start())
                scanned = m.start()
                found[index] = line
        if first in (0x7B, 0x5B):
            parent = kinds[-1] if kinds else None
            key = pending_key if parent == 0x7B else ("#" if parent == 0x5B else "")
            kinds.append(first)
            keys.append(key or "")
            pending_key = None
            if first == 0x5B and keys == target:
                in_target = True
            continue
        if first in (0x7D, 0x5D):
            if in_target and len(kinds) == len(target):
                return found
            if kinds:
                kinds.pop()
                keys.pop()
            continue
        if first == 0x2C:
            pending_key = None
    return found
