"""CSV report: one row per finding, for spreadsheets and GRC tools.

The column set is fixed and documented (``COLUMNS``, docs/reports.md); new columns are only ever
appended. Evidence is the masked preview only. Cells that a spreadsheet would read as a formula
(starting with ``=``, ``+``, ``-``, ``@``, tab or carriage return) are prefixed with ``'`` so that
opening the file cannot execute anything (CSV injection).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import TYPE_CHECKING, TextIO

from scanner.models import Counts, ScanResult
from scanner.reporters import _audit
from scanner.verdict import pack_verdicts

if TYPE_CHECKING:
    from scanner.reporters import RenderOptions

COLUMNS = (
    "fingerprint",
    "status",
    "status_reason",
    "severity",
    "policy_id",
    "control_id",
    "control_title",
    "citation",
    "reference_url",
    "path",
    "line",
    "pointer",
    "record",
    "timestamp",
    "app",
    "destination_host",
    "provider",
    "service",
    "region",
    "country",
    "jurisdictions",
    "hosting",
    "entities",
    "categories",
    "evidence",
    "max_score",
    "message",
    "remediation",
    # The finding's pack verdict, and its control's distinct counts over open findings.
    "pack_verdict",
    "control_open_findings",
    "control_requests",
    "control_distinct_values",
    "control_flows",
)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def cell(value: object) -> str:
    """A safe cell: text on one line, formula-looking text neutralised."""
    if value is None:
        return ""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    s = str(value).replace("\r\n", " ").replace("\n", " ").replace("\r", " ")
    if s.startswith(_FORMULA_START):
        s = "'" + s
    return s


def rows(result: ScanResult) -> Iterator[list[str]]:
    """One row per finding, in report order, read from the store as they are written."""
    verdicts = {p.policy_id: p.verdict for p in pack_verdicts(result)}
    _, per_control = result.findings.counts()
    for finding in result.findings:
        spread = per_control.get((finding.policy_id, finding.control_id), Counts())
        f = _audit.finding_view(finding)
        entities = sorted({e.entity for e in f.evidence})
        categories = sorted({e.category for e in f.evidence})
        evidence = "; ".join(f"{e.entity}: {e.preview}" for e in f.evidence)
        max_score = max((e.score for e in f.evidence), default=None)
        values: dict[str, object] = {
            "fingerprint": f.fingerprint,
            "status": f.status,
            "status_reason": f.status_reason,
            "severity": f.severity,
            "policy_id": f.policy_id,
            "control_id": f.control_id,
            "control_title": f.title,
            "citation": f.citation,
            "reference_url": f.url,
            "path": f.path,
            "line": f.line,
            "pointer": f.pointer,
            "record": f.record,
            "timestamp": f.timestamp_iso,
            "app": f.app,
            "destination_host": f.host,
            "provider": f.provider,
            "service": f.service,
            "region": f.region,
            "country": f.country,
            "jurisdictions": f.jurisdictions,
            "hosting": f.hosting,
            "entities": " ".join(entities),
            "categories": " ".join(categories),
            "evidence": evidence,
            "max_score": f"{max_score:.2f}" if max_score is not None else "",
            "message": f.message,
            "remediation": f.remediation,
            "pack_verdict": verdicts.get(f.policy_id, ""),
            "control_open_findings": spread.findings,
            "control_requests": spread.requests,
            "control_distinct_values": spread.values,
            "control_flows": spread.flows,
        }
        yield [cell(values[c]) for c in COLUMNS]


def write(result: ScanResult, out: TextIO, options: RenderOptions | None = None) -> None:
    writer = csv.writer(out, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(COLUMNS)
    writer.writerows(rows(result))


def render(result: ScanResult, options: RenderOptions | None = None) -> str:
    buf = io.StringIO()
    write(result, buf, options)
    return buf.getvalue()
