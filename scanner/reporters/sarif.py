"""SARIF 2.1.0 report for code-scanning services (GitHub code scanning, Azure DevOps, IDE viewers).

A reporter: pure ``render(result, options) -> str`` over a ``ScanResult``. One run; one rule per
control (de-duplicated, in the result's control order); one result per finding. The output is
deterministic (no timestamps, paths exactly as scanned) so it can be golden-tested and diffed.

Mapping choices:
* ``level`` follows severity (critical/high → error, medium → warning, low/info → note), and the
  rule's ``properties["security-severity"]`` gives GitHub its critical/high/medium/low bands
  (GitHub reads it only when the rule's tags include ``security``).
* ``partialFingerprints["sovscanFingerprint/v1"]`` is our fingerprint, so alerts follow a finding
  across runs whatever lines move; the same value keys the baseline file.
* Traffic records and config settings get ``region.startLine`` when the source knows a line; lines
  inside compressed files do not exist in the repository's view of the file, so those get none.
  JSON pointers (the record and each piece of evidence) become ``logicalLocations``.
* Suppressed findings carry an ``inSource`` suppression; waived and baselined ones an ``external``
  one, each with its justification and status ``accepted``.

GitHub's documented hard limits are respected: at most 25,000 results per run (open findings
first, then by severity; the rest are counted in ``run.properties``), 20 tags per rule, and one
physical location per result.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, TextIO
from urllib.parse import quote

from scanner.models import ControlStats, Finding, ScanResult, Severity
from scanner.reporters._data import slot_marker, write_json
from scanner.verdict import overall, pack_verdicts

if TYPE_CHECKING:
    from scanner.reporters import RenderOptions

SARIF_SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
FINGERPRINT_KEY = "sovscanFingerprint/v1"
MAX_RESULTS = 25_000
MAX_TAGS = 20
MAX_EVIDENCE_LOCATIONS = 50

LEVELS = {
    Severity.CRITICAL: "error",
    Severity.HIGH: "error",
    Severity.MEDIUM: "warning",
    Severity.LOW: "note",
    Severity.INFO: "note",
}
# GitHub bands: over 9.0 critical, 7.0-8.9 high, 4.0-6.9 medium, 0.1-3.9 low.
SECURITY_SEVERITY = {
    Severity.CRITICAL: "9.5",
    Severity.HIGH: "8.0",
    Severity.MEDIUM: "5.5",
    Severity.LOW: "3.0",
    Severity.INFO: "0.0",
}


def artifact_uri(path: str) -> str:
    """Relative paths stay relative (GitHub resolves them from the repository root)."""
    posix = path.replace("\\", "/")
    if posix.startswith("/"):
        return "file://" + quote(posix, safe="/")
    return quote(posix, safe="/")


def _rule(c: ControlStats) -> dict[str, Any]:
    level = LEVELS[c.severity]
    tags = ["security", "privacy", "data-sovereignty", c.policy_id, *c.categories][:MAX_TAGS]
    citation = c.reference or "(no citation recorded)"
    source = f" ({c.source_url})" if c.source_url else ""
    text = (
        f"{c.title}\n\n{c.rationale.strip()}\n\nCitation: {citation}{source}\n\n"
        f"Remediation: {c.remediation.strip()}\n\nPolicy pack: {c.policy_id}; severity: {c.severity.value}"
    )
    cite_md = f"[{citation}]({c.source_url})" if c.source_url else citation
    markdown = (
        f"**{c.title}**\n\n{c.rationale.strip()}\n\n**Citation:** {cite_md}\n\n"
        f"**Remediation:** {c.remediation.strip()}\n\n"
        f"Policy pack `{c.policy_id}` · severity **{c.severity.value}**"
    )
    rule: dict[str, Any] = {
        "id": c.control_id,
        "name": "".join(part.capitalize() for part in c.control_id.split("-")),
        "shortDescription": {"text": c.title},
        "fullDescription": {"text": (c.rationale.strip() or c.title)},
        "help": {"text": text, "markdown": markdown},
        "defaultConfiguration": {"level": level},
        "properties": {
            "tags": tags,
            "security-severity": SECURITY_SEVERITY[c.severity],
            "precision": "medium",
            "severity": c.severity.value,
            "policy": c.policy_id,
        },
    }
    if c.source_url:
        rule["helpUri"] = c.source_url
    return rule


def _fallback_control(f: Finding) -> ControlStats:
    """A rule for a finding whose control is not in ``result.controls`` (never expected)."""
    ref = f.references[0] if f.references else None
    return ControlStats(
        policy_id=f.policy_id,
        control_id=f.control_id,
        title=f.title,
        severity=f.severity,
        reference=ref.citation if ref else "",
        source_url=ref.url if ref else None,
        remediation=f.remediation,
    )


def _location(f: Finding) -> dict[str, Any]:
    loc = f.location
    uri = artifact_uri(loc.path)
    artifact: dict[str, Any] = {"uri": uri}
    if not uri.startswith("file://"):
        artifact["uriBaseId"] = "%SRCROOT%"
    physical: dict[str, Any] = {"artifactLocation": artifact}
    line = loc.first_line
    if line is not None and line >= 1 and not loc.compressed:
        physical["region"] = {"startLine": line}
    logical: list[dict[str, Any]] = []
    if loc.pointer:
        logical.append({"fullyQualifiedName": loc.pointer, "kind": "object"})
    seen = {loc.pointer}
    for d in f.detections:
        if d.pointer in seen or len(logical) >= MAX_EVIDENCE_LOCATIONS:
            continue
        seen.add(d.pointer)
        logical.append({"fullyQualifiedName": d.pointer, "kind": "value"})
    out: dict[str, Any] = {"physicalLocation": physical}
    if logical:
        out["logicalLocations"] = logical
    return out


def _message(f: Finding) -> str:
    parts = [f"{f.title}: {f.message}."]
    if f.detections:
        shown = [f"{d.entity} {d.preview}" for d in f.detections[:5]]
        more = len(f.detections) - len(shown)
        parts.append("Evidence (masked): " + "; ".join(shown) + (f"; and {more} more." if more > 0 else "."))
    loc = f.location
    if loc.pointer:
        parts.append(f"Record at {loc.pointer}.")
    if loc.first_line is not None and loc.compressed:
        parts.append(f"Line {loc.first_line} of the decompressed file.")
    return " ".join(parts)


def _suppressions(f: Finding) -> list[dict[str, Any]] | None:
    if f.status == "open":
        return None
    default = {
        "suppressed": "suppressed by an inline sovscan ignore",
        "waived": "waived by the organisation policy",
        "baselined": "known finding recorded in the baseline",
    }[f.status]
    return [
        {
            "kind": "inSource" if f.status == "suppressed" else "external",
            "status": "accepted",
            "justification": f.status_reason or default,
        }
    ]


def _result(f: Finding, index: int) -> dict[str, Any]:
    out: dict[str, Any] = {
        "ruleId": f.control_id,
        "ruleIndex": index,
        "level": LEVELS[f.severity],
        "message": {"text": _message(f)},
        "locations": [_location(f)],
        "partialFingerprints": {FINGERPRINT_KEY: f.fingerprint},
        "properties": {
            "severity": f.severity.value,
            "policy": f.policy_id,
            "status": f.status,
            "destination": (
                {
                    "host": f.destination.host,
                    "provider": f.destination.provider,
                    "region": f.destination.region,
                    "jurisdictions": sorted(f.destination.jurisdictions),
                }
                if f.destination is not None
                else None
            ),
            "evidence": [
                {"entity": d.entity, "category": d.category, "preview": d.preview, "pointer": d.pointer}
                for d in f.detections
            ],
        },
    }
    suppressions = _suppressions(f)
    if suppressions:
        out["suppressions"] = suppressions
    return out


def _controls(result: ScanResult) -> dict[str, ControlStats]:
    controls: dict[str, ControlStats] = {}
    for c in result.controls:
        controls.setdefault(c.control_id, c)
    for policy_id, control_id, _, _ in result.findings.tally():
        if control_id not in controls:
            first = next(result.findings.select(control=(policy_id, control_id), limit=1))
            controls[control_id] = _fallback_control(first)
    return controls


def _quotas(result: ScanResult) -> dict[tuple[bool, Severity], int]:
    """How many findings of each (open?, severity) the run keeps: under GitHub's hard limit on
    results (over it the whole file is rejected), open findings first, then the most severe."""
    sizes: dict[tuple[bool, Severity], int] = {}
    for (_, _, status, severity), n in result.findings.tally().items():
        key = (status == "open", severity)
        sizes[key] = sizes.get(key, 0) + n
    room = MAX_RESULTS
    quotas = {}
    for key in sorted(sizes, key=lambda k: (not k[0], -k[1].rank)):
        quotas[key] = min(sizes[key], room)
        room -= quotas[key]
    return quotas


def _results(
    result: ScanResult, index: dict[str, int], quotas: dict[tuple[bool, Severity], int]
) -> Iterator[dict[str, Any]]:
    """The kept findings' results, in report order (within a group, the first ones are kept)."""
    left = dict(quotas)
    for f in result.findings:
        key = (f.status == "open", f.severity)
        if left[key] > 0:
            left[key] -= 1
            yield _result(f, index[f.control_id])


def _run_parts(result: ScanResult) -> tuple[dict[str, ControlStats], Iterator[dict[str, Any]], int]:
    """The rules' controls, the kept results (read lazily) and how many are kept."""
    controls = _controls(result)
    index = {cid: i for i, cid in enumerate(controls)}
    quotas = _quotas(result)
    return controls, _results(result, index, quotas), sum(quotas.values())


def to_sarif(result: ScanResult) -> dict[str, Any]:
    """The SARIF log as one object (``write`` streams the same document)."""
    controls, results, kept = _run_parts(result)
    return _document(result, controls, list(results), kept)


def write(result: ScanResult, out: TextIO, options: RenderOptions | None = None) -> None:
    """Stream the SARIF log to ``out``: results are read from the store as they are written."""
    controls, results, kept = _run_parts(result)
    slot = slot_marker()
    write_json(_document(result, controls, slot, kept), results, out, slot)


def _document(
    result: ScanResult, controls: dict[str, ControlStats], results: Any, kept: int
) -> dict[str, Any]:

    notifications = [
        {
            "level": "error",
            "message": {"text": e.one_line()},
            "locations": [{"physicalLocation": {"artifactLocation": {"uri": artifact_uri(e.path)}}}],
        }
        for e in result.errors
    ]
    packs = pack_verdicts(result)
    notifications += [
        {
            "level": "warning",
            "message": {"text": f"{p.policy_id}: {n.reason}"},
        }
        if n.control_id == "*"
        else {
            "level": "warning",
            "message": {"text": f"{n.control_id} ({p.policy_id}) not assessed: {n.reason}"},
            "associatedRule": {"id": n.control_id},
        }
        for p in packs
        for n in p.not_assessed
    ]
    total, _ = result.findings.counts()
    run_properties: dict[str, Any] = {
        "model": result.model,
        "policies": [{"id": p.id, "version": p.version, "sha256": p.sha256} for p in result.policies],
        "failOn": result.fail_on.value,
        "recordsScanned": sum(i.scanned for i in result.inputs),
        "recordsSkipped": sum(i.skipped for i in result.inputs),
        "resultsOmitted": len(result.findings) - kept,
        "verdict": overall(result, packs),
        "failOnNotAssessed": result.fail_on_not_assessed,
        "packs": [
            {
                "id": p.policy_id,
                "verdict": p.verdict,
                "failedControls": list(p.failed_controls),
                "notAssessed": [{"ruleId": n.control_id, "reason": n.reason} for n in p.not_assessed],
            }
            for p in packs
        ],
        "distinct": {
            "findings": total.findings,
            "requests": total.requests,
            "values": total.values,
            "flows": total.flows,
            "firstSeen": total.first_seen,
            "lastSeen": total.last_seen,
        },
    }
    if result.baseline is not None:
        b = result.baseline
        run_properties["baseline"] = {
            "path": b.path,
            "entries": b.entries,
            "matched": b.matched,
            "new": b.new,
            "fixed": [
                {"fingerprint": e.fingerprint, "ruleId": e.control_id, "path": e.path} for e in b.fixed
            ],
        }
    return {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "sovscan",
                        "version": result.tool_version,
                        "semanticVersion": result.tool_version,
                        "rules": [_rule(c) for c in controls.values()],
                    }
                },
                "invocations": [
                    {
                        "executionSuccessful": not result.errors,
                        "toolExecutionNotifications": notifications,
                    }
                ],
                "results": results,
                "properties": run_properties,
            }
        ],
    }


def render(result: ScanResult, options: RenderOptions | None = None) -> str:
    buf = io.StringIO()
    write(result, buf, options)
    return buf.getvalue()
