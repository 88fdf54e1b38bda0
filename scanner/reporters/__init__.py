"""Reporters: pure ``render(result, options) -> str`` functions, one module per format.

A new reporter is one module plus one line in ``REPORTERS``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

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

DEFAULT_EXTENSIONS = {
    "console": "txt",
    "json": "json",
    "sarif": "sarif",
    "junit": "junit.xml",
    "html": "html",
    "markdown": "md",
    "csv": "csv",
}
