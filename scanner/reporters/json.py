"""JSON report: the versioned machine-readable result (schema: scanner/schemas/findings.schema.json)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import orjson

from scanner.models import ScanResult
from scanner.reporters._data import to_dict

if TYPE_CHECKING:
    from scanner.reporters import RenderOptions


def render(result: ScanResult, options: RenderOptions | None = None) -> str:
    return orjson.dumps(to_dict(result), option=orjson.OPT_INDENT_2).decode("utf-8") + "\n"
