"""Plain-data views of a ``ScanResult`` shared by the reporters (no formatting here)."""

from __future__ import annotations

import dataclasses
import uuid
from collections import Counter
from collections.abc import Iterable
from itertools import islice
from typing import Any, TextIO

import orjson

from scanner.models import SKIPPED_KEPT, Counts, Destination, Detection, Finding, ScanResult, Severity
from scanner.verdict import PackVerdict, control_outcome, overall, pack_verdicts

SCHEMA_VERSION = "1.1"
MAX_SKIPPED_LISTED = SKIPPED_KEPT


def destination_dict(d: Destination | None) -> dict[str, Any] | None:
    if d is None:
        return None
    return {
        "host": d.host,
        "provider": d.provider,
        "service": d.service,
        "region": d.region,
        "country": d.country,
        "jurisdictions": sorted(d.jurisdictions),
        "storage_jurisdictions": sorted(d.storage_jurisdictions),
        "hosting": d.hosting,
        "scheme": d.scheme,
        "endpoint_id": d.endpoint_id,
    }


def detection_dict(d: Detection) -> dict[str, Any]:
    return {
        "detector": d.detector,
        "entity": d.entity,
        "category": d.category,
        "pointer": d.pointer,
        "start": d.start,
        "end": d.end,
        "score": d.score,
        "preview": d.preview,
        "value_hash": d.value_hash,
    }


def finding_dict(f: Finding) -> dict[str, Any]:
    return {
        "control_id": f.control_id,
        "policy_id": f.policy_id,
        "severity": f.severity.value,
        "title": f.title,
        "message": f.message,
        "status": f.status,
        "status_reason": f.status_reason,
        "location": {
            "path": f.location.path,
            "line": f.location.line,
            "pointer": f.location.pointer,
            "record": f.location.record,
        },
        "destination": destination_dict(f.destination),
        "detections": [detection_dict(d) for d in f.detections],
        "fingerprint": f.fingerprint,
        "references": [{"citation": r.citation, "url": r.url} for r in f.references],
        "remediation": f.remediation,
        "timestamp": f.timestamp,
        "app": f.app,
    }


def control_counts(result: ScanResult) -> tuple[Counter[tuple[str, str]], Counter[tuple[str, str]]]:
    """Findings per (policy id, control id): open ones, and all of them."""
    opens: Counter[tuple[str, str]] = Counter()
    totals: Counter[tuple[str, str]] = Counter()
    for (policy_id, control_id, status, _), n in result.findings.tally().items():
        totals[policy_id, control_id] += n
        if status == "open":
            opens[policy_id, control_id] += n
    return opens, totals


def counts_dict(c: Counts) -> dict[str, Any]:
    return dataclasses.asdict(c)


def pack_dict(p: PackVerdict) -> dict[str, Any]:
    return {
        "policy_id": p.policy_id,
        "title": p.title,
        "verdict": p.verdict,
        "controls": p.controls,
        "open_at_or_above_fail_on": p.open_at_gate,
        "failed_controls": list(p.failed_controls),
        "not_assessed": [dataclasses.asdict(n) for n in p.not_assessed],
        "not_applicable": [dataclasses.asdict(n) for n in p.out_of_scope],
    }


def summary(result: ScanResult, packs: list[PackVerdict] | None = None) -> dict[str, Any]:
    packs = pack_verdicts(result) if packs is None else packs
    by_sev: Counter[str] = Counter()
    by_status: Counter[str] = Counter()
    for (_, _, status, severity), n in result.findings.tally().items():
        by_status[status] += n
        if status == "open":
            by_sev[severity.value] += n
    total, _ = result.findings.counts()
    return {
        "records": sum(i.records for i in result.inputs),
        "records_scanned": sum(i.scanned for i in result.inputs),
        "records_skipped": sum(i.skipped for i in result.inputs),
        "findings": len(result.findings),
        "open": by_status.get("open", 0),
        "by_severity": {s.value: by_sev.get(s.value, 0) for s in reversed(list(Severity))},
        "by_status": {k: by_status.get(k, 0) for k in ("open", "suppressed", "waived", "baselined")},
        "errors": len(result.errors),
        "fail_on": result.fail_on.value,
        "fail_on_not_assessed": result.fail_on_not_assessed,
        "verdict": overall(result, packs),
        "packs": [pack_dict(p) for p in packs],
        # Of the open findings: requests affected, distinct values and flows, first and last seen.
        "distinct": counts_dict(total),
    }


def to_dict(result: ScanResult) -> dict[str, Any]:
    """The JSON report as one object (``write_json`` streams the same document)."""
    return document(result, [finding_dict(f) for f in result.findings])


def document(result: ScanResult, findings: Any) -> dict[str, Any]:
    opens, _ = control_counts(result)
    _, per_control = result.findings.counts()
    return {
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": "sovscan", "version": result.tool_version, "model": result.model},
        "generated_at": result.generated_at,
        "command": result.command,
        "summary": summary(result),
        "policies": [
            {"id": p.id, "title": p.title, "version": p.version, "sha256": p.sha256} for p in result.policies
        ],
        "inputs": [
            {
                "path": i.path,
                "sha256": i.sha256,
                "format": i.format,
                "bytes": i.bytes,
                "records": i.records,
                "scanned": i.scanned,
                "skipped": i.skipped,
                "skipped_reasons": dict(sorted(i.skipped_reasons.items())),
                "unscanned_parts": i.unscanned_parts,
            }
            for i in result.inputs
        ],
        "controls": [
            {
                "policy_id": c.policy_id,
                "control_id": c.control_id,
                "title": c.title,
                "severity": c.severity.value,
                "evaluated": c.evaluated,
                "passed": c.passed,
                "failed": c.failed,
                "waived": c.waived,
                "suppressed": c.suppressed,
                "baselined": c.baselined,
                "unlocated": c.unlocated,
                "outcome": control_outcome(c, opens[c.policy_id, c.control_id]),
                "not_assessed": c.not_assessed or None,
                "out_of_scope": c.out_of_scope or None,
                "distinct": counts_dict(per_control.get((c.policy_id, c.control_id), Counts())),
            }
            for c in result.controls
        ],
        "destinations": [
            {
                **(destination_dict(d.destination) or {}),
                "records": d.records,
                "records_with_personal_data": d.records_with_detections,
                "categories": dict(sorted(d.categories.items())),
                "first_seen": d.first_seen,
                "last_seen": d.last_seen,
            }
            for d in result.destinations
        ],
        "findings": findings,
        "skipped": [
            {
                "path": s.location.path,
                "line": s.location.line,
                "pointer": s.location.pointer,
                "reason": s.reason,
            }
            for s in result.skipped[:MAX_SKIPPED_LISTED]
        ],
        "skipped_listed": min(len(result.skipped), MAX_SKIPPED_LISTED),
        "errors": [{"path": e.path, "position": e.position, "message": e.message} for e in result.errors],
        "warnings": [{"path": e.path, "position": e.position, "message": e.message} for e in result.warnings],
        "notices": list(result.notices),
        "waivers": [
            {
                "control_id": w.control_id,
                "owner": w.owner,
                "reason": w.reason,
                "expires": w.expires,
                "days_left": w.days_left,
                "expired": w.expired,
                "matched": w.matched,
                "scope": w.scope,
                "source": w.source,
            }
            for w in result.waivers
        ],
        "policy_adjustments": [
            {
                "policy_id": a.policy_id,
                "control_id": a.control_id,
                "action": a.action,
                "detail": a.detail,
                "reason": a.reason,
                "source": a.source,
            }
            for a in result.adjustments
        ],
        "baseline": baseline_dict(result),
    }


def baseline_dict(result: ScanResult) -> dict[str, Any] | None:
    """The comparison with ``--baseline``: counts, and the entries no longer found (fixed)."""
    b = result.baseline
    if b is None:
        return None
    return {
        "path": b.path,
        "entries": b.entries,
        "matched": b.matched,
        "new": b.new,
        "fixed": [
            {"fingerprint": e.fingerprint, "control_id": e.control_id, "path": e.path} for e in b.fixed
        ],
    }


def write_json(doc: dict[str, Any], items: Iterable[dict[str, Any]], out: TextIO, slot: str) -> None:
    """Write ``doc`` as the two-space-indented JSON that ``orjson.dumps(..., OPT_INDENT_2)`` makes,
    with the value ``slot`` (a string placed in ``doc``) replaced by the list of ``items``, streamed.

    The output is byte for byte what dumping the whole document would give, without holding it.
    """
    text = orjson.dumps(doc, option=orjson.OPT_INDENT_2).decode("utf-8")
    quoted = orjson.dumps(slot).decode("utf-8")
    at = text.index(quoted)
    line_start = text.rindex("\n", 0, at) + 1
    indent = len(text[line_start:at]) - len(text[line_start:at].lstrip(" "))
    pad = " " * (indent + 2)
    out.write(text[:at])
    it = iter(items)
    first = True
    while batch := list(islice(it, 256)):
        parts = [
            pad + orjson.dumps(item, option=orjson.OPT_INDENT_2).decode("utf-8").replace("\n", "\n" + pad)
            for item in batch
        ]
        out.write(("[\n" if first else ",\n") + ",\n".join(parts))
        first = False
    out.write("[]" if first else "\n" + " " * indent + "]")
    out.write(text[at + len(quoted) :] + "\n")


def slot_marker() -> str:
    """A placeholder no scanned value can equal."""
    return f"sovscan-slot-{uuid.uuid4().hex}"
