"""JSON report: the versioned machine-readable result (schema: scanner/schemas/findings.schema.json)."""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, TextIO

from scanner.models import ScanResult
from scanner.reporters._data import document, finding_dict, slot_marker, write_json

if TYPE_CHECKING:
    from scanner.reporters import RenderOptions


def write(result: ScanResult, out: TextIO, options: RenderOptions | None = None) -> None:
    """Stream the report to ``out``: findings are read from the store as they are written."""
    slot = slot_marker()
    write_json(document(result, slot), (finding_dict(f) for f in result.findings), out, slot)


def render(result: ScanResult, options: RenderOptions | None = None) -> str:
    buf = io.StringIO()
    write(result, buf, options)
    return buf.getvalue()
