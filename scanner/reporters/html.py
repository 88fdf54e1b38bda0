"""HTML audit report: one self-contained page for risk teams and auditors.

Rendered with Jinja2 (autoescaping on) from ``templates/audit.html.j2``, shipped inside the package.
Everything is inline (CSS, SVG charts); a Content-Security-Policy forbids the browser from fetching
anything, so the file can be archived, e-mailed and opened offline. Print CSS puts each section on
its own page. The content comes from ``_audit.build`` and is the same as the Markdown report's.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

import jinja2

from scanner.models import ScanResult
from scanner.reporters import _audit

if TYPE_CHECKING:
    from scanner.reporters import RenderOptions

TEMPLATE = "audit.html.j2"
SECTIONS = ("summary", "scope", "flows", "coverage", "findings", "exceptions", "methodology", "trend")


@lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("scanner.reporters", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=False,
        lstrip_blocks=False,
        keep_trailing_newline=True,
    )


def render(result: ScanResult, options: RenderOptions | None = None) -> str:
    view = _audit.build(result)
    return _environment().get_template(TEMPLATE).render(v=view)
