"""Reporters: pure ``render(result, options) -> str`` functions, one module per format.

A new reporter is one module plus one line in ``REPORTERS``. The formats that list every finding
(JSON, SARIF, CSV) also have ``write(result, out, options)``, which streams the same text to a file
while reading the findings from the store, so that writing them needs no more memory than a small
scan's; ``write`` below picks it when there is one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TextIO

from scanner.models import ScanResult
from scanner.reporters import console, csv, html, json, junit, markdown, sarif


@dataclass(frozen=True)
class RenderOptions:
    color: bool = False
    width: int = 120


Renderer = Callable[[ScanResult, RenderOptions], str]

REPORTERS: dict[str, Renderer] = {
    "console": console.render,
    "json": json.render,
    "sarif": sarif.render,
    "junit": junit.render,
    "html": html.render,
    "markdown": markdown.render,
    "csv": csv.render,
}

Writer = Callable[[ScanResult, TextIO, RenderOptions], None]

WRITERS: dict[str, Writer] = {
    "json": json.write,
    "sarif": sarif.write,
    "csv": csv.write,
}


def write(fmt: str, result: ScanResult, out: TextIO, options: RenderOptions) -> None:
    """Write report ``fmt`` to ``out``: streamed where the format can be, else rendered whole."""
    writer = WRITERS.get(fmt)
    if writer is not None:
        writer(result, out, options)
    else:
        out.write(REPORTERS[fmt](result, options))


DEFAULT_EXTENSIONS = {
    "console": "txt",
    "json": "json",
    "sarif": "sarif",
    "junit": "junit.xml",
    "html": "html",
    "markdown": "md",
    "csv": "csv",
}
