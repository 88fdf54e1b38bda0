"""The audit report's content as plain data, shared by the HTML, Markdown and CSV reporters.

One view of a ``ScanResult`` for risk and compliance readers: verdict, scope and provenance, data
flows, control coverage, findings, exceptions, methodology and trend. Building it once keeps the
three formats saying the same thing; the reporters only lay it out.

Determinism: the only clock is ``ScanResult.generated_at``; "days left" on a waiver counts from it.
Evidence is the detectors' masked preview only (``Detection.preview``); raw values never reach here.
Fields that other parts of the pipeline may or may not provide yet (waivers, baselines, policy
adjustments, control metadata) are read with ``getattr`` defaults so that the report renders either way.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from scanner.models import ControlStats, Counts, Destination, Finding, ScanResult, Severity
from scanner.reporters._data import control_counts, summary
from scanner.verdict import LABELS, pack_verdicts, verdict_sentence

SEVERITIES = [s.value for s in reversed(list(Severity))]  # critical first
SEVERITY_COLORS = {
    "critical": "#8e1b1b",
    "high": "#d1462f",
    "medium": "#e49b0f",
    "low": "#3b7dd8",
    "info": "#8a94a6",
}
# Categories a risk reader looks for first; anything else follows alphabetically.
CATEGORY_ORDER = ["health", "sensitive", "government_id", "financial", "credential", "contact", "personal"]
TOP_CONTROLS = 5
_ISO_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})")


def parse_timestamp(value: str | None) -> datetime | None:
    """Best-effort parse of a record timestamp (ISO 8601 or epoch seconds/milliseconds) to UTC."""
    if not value:
        return None
    text = value.strip()
    if re.fullmatch(r"\d{9,13}(\.\d+)?", text):
        seconds = float(text)
        if seconds > 1e11:  # milliseconds
            seconds /= 1000
        try:
            return datetime.fromtimestamp(seconds, UTC)
        except (OverflowError, OSError, ValueError):
            return None
    iso = text.replace("Z", "+00:00").replace("z", "+00:00")
    if " " in iso and "T" not in iso:
        iso = iso.replace(" ", "T", 1)
    try:
        parsed = datetime.fromisoformat(iso)
    except ValueError:
        match = _ISO_DATE.match(text)
        if not match:
            return None
        try:
            parsed = datetime(int(match[1]), int(match[2]), int(match[3]))
        except ValueError:
            return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def format_timestamp(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S UTC") if value else "—"


def where(f: Finding) -> str:
    """File and position of a finding: ``path:line`` or ``path#pointer``."""
    loc = f.location
    out = loc.path
    if loc.line is not None:
        out += f":{loc.line}"
    if loc.pointer:
        out += f"#{loc.pointer}"
    return out


def jurisdictions_text(d: Destination) -> str:
    if d.jurisdictions:
        return ", ".join(sorted(d.jurisdictions))
    return "internal" if not d.external else "unknown"


def destination_text(d: Destination | None) -> str:
    if d is None:
        return "—"
    parts = [d.provider]
    if d.region:
        parts.append(d.region)
    parts.append(jurisdictions_text(d))
    return f"{d.host or '—'} ({'; '.join(parts)})"


def _category_key(name: str) -> tuple[int, str]:
    return (CATEGORY_ORDER.index(name) if name in CATEGORY_ORDER else len(CATEGORY_ORDER), name)


@dataclass
class EvidenceView:
    entity: str
    category: str
    preview: str
    score: float
    detector: str


@dataclass
class FindingView:
    fingerprint: str
    severity: str
    status: str
    status_reason: str
    location: str
    path: str
    line: int | None
    pointer: str
    record: int | None
    destination: str
    host: str
    provider: str
    service: str
    region: str
    country: str
    jurisdictions: str
    hosting: str
    timestamp: str
    timestamp_iso: str
    app: str
    message: str
    evidence: list[EvidenceView]
    policy_id: str
    control_id: str
    title: str
    citation: str
    url: str
    remediation: str
    # Findings of the same control, status, destination and detected values (a chat resending its
    # history) are shown as one row: how many, and the last of them.
    repeats: int = 1
    last_location: str = ""
    last_timestamp: str = ""


@dataclass
class ControlView:
    policy_id: str
    control_id: str
    title: str
    severity: str
    evaluated: int
    passed: int
    failed: int
    open: int
    waived: int
    suppressed: int
    baselined: int
    not_applicable: int
    status: str  # compliant | open | accepted | not_assessed | not_applicable | not_evaluated
    status_label: str
    citation: str = ""
    url: str = ""
    remediation: str = ""
    not_assessed: str = ""
    out_of_scope: str = ""
    # Distinct counts of its open findings (scanner.models.Counts).
    requests: int = 0
    values: int = 0
    flows: int = 0


@dataclass
class FindingGroup:
    control: ControlView
    total: int
    # One row per distinct (status, destination, values); ``hidden`` findings are in no shown row.
    shown: list[FindingView]
    hidden: int


@dataclass
class Bar:
    x: float
    y: float
    width: float
    height: float
    color: str
    label: str


@dataclass
class TrendView:
    days: list[dict[str, Any]]
    bars: list[Bar]
    ticks: list[dict[str, Any]]
    x_labels: list[dict[str, Any]]
    undated: int
    width: int
    height: int
    plot_left: int
    plot_bottom: int
    max_count: int


@dataclass
class AuditView:
    tool_version: str
    model: str
    generated_at: str
    generated_display: str
    command: str
    fail_on: str
    verdict: str
    verdict_text: str
    summary: dict[str, Any]
    severity_rows: list[dict[str, Any]]
    top_controls: list[ControlView]
    records_total: int
    records_scanned: int
    records_skipped: int
    files: int
    time_first: str
    time_last: str
    days_covered: int
    inputs: list[dict[str, Any]]
    skipped_reasons: list[tuple[str, int]]
    errors: list[str]
    policies: list[dict[str, Any]]
    categories: list[str]
    flows: list[dict[str, Any]]
    flow_max: int
    destinations: list[dict[str, Any]]
    packs: list[dict[str, Any]]
    controls: list[ControlView]
    groups: list[FindingGroup]
    waivers: list[dict[str, Any]]
    waivers_in_force: int
    # The first ``finding_cap`` of each; ``summary["by_status"]`` counts them all.
    waived: list[FindingView]
    suppressed: list[FindingView]
    baselined: list[FindingView]
    baseline: dict[str, Any] | None
    adjustments: list[dict[str, Any]]
    notices: list[str]
    min_score: str
    include_responses: bool
    detectors: list[tuple[str, int]]
    entities: list[dict[str, Any]]
    unscanned_parts: int
    limitations: list[str]
    trend: TrendView
    severity_chart: list[dict[str, Any]] = field(default_factory=list)
    verdict_label: str = ""
    # Distinct counts of all open findings (requests, values, flows, first and last seen).
    distinct: dict[str, Any] = field(default_factory=dict)
    # Controls not assessed, with why: (pack, control, reason).
    not_assessed: list[tuple[str, str, str]] = field(default_factory=list)


def finding_view(f: Finding) -> FindingView:
    d = f.destination
    ref = f.references[0] if f.references else None
    ts = parse_timestamp(f.timestamp)
    return FindingView(
        fingerprint=f.fingerprint,
        severity=f.severity.value,
        status=f.status,
        status_reason=f.status_reason or "",
        location=where(f),
        path=f.location.path,
        line=f.location.line,
        pointer=f.location.pointer,
        record=f.location.record,
        destination=destination_text(d),
        host=d.host if d else "",
        provider=d.provider if d else "",
        service=d.service if d else "",
        region=(d.region or "") if d else "",
        country=(d.country or "") if d else "",
        jurisdictions=jurisdictions_text(d) if d else "",
        hosting=d.hosting if d else "",
        timestamp=format_timestamp(ts) if ts else (f.timestamp or ""),
        timestamp_iso=ts.strftime("%Y-%m-%dT%H:%M:%SZ") if ts else (f.timestamp or ""),
        app=f.app or "",
        message=f.message,
        evidence=[
            EvidenceView(x.entity, x.category, x.preview, round(x.score, 2), x.detector) for x in f.detections
        ],
        policy_id=f.policy_id,
        control_id=f.control_id,
        title=f.title,
        citation="; ".join(r.citation for r in f.references),
        url=ref.url or "" if ref else "",
        remediation=" ".join(f.remediation.split()),
    )


def _control_view(
    c: ControlStats, open_n: int, first: Finding | None, scanned: int, spread: Counts | None = None
) -> ControlView:
    not_applicable = getattr(c, "not_applicable", None)
    if not isinstance(not_applicable, int):
        not_applicable = max(scanned - c.evaluated, 0)
    if open_n:
        status, label = "open", "Open findings"
    elif c.not_assessed:
        status, label = "not_assessed", "Not assessed"
    elif c.out_of_scope:
        status, label = "not_applicable", "Not applicable"
    elif c.evaluated == 0:
        status, label = "not_evaluated", "Not evaluated"
    elif c.failed:
        status, label = "accepted", "Exceptions only"
    else:
        status, label = "compliant", "No violations"
    citation = getattr(c, "reference", "") or (
        "; ".join(r.citation for r in first.references) if first else ""
    )
    url = getattr(c, "source_url", None) or (
        first.references[0].url if first and first.references and first.references[0].url else ""
    )
    remediation = getattr(c, "remediation", "") or (first.remediation if first else "")
    return ControlView(
        policy_id=c.policy_id,
        control_id=c.control_id,
        title=c.title,
        severity=c.severity.value,
        evaluated=c.evaluated,
        passed=c.passed,
        failed=c.failed,
        open=open_n,
        waived=c.waived,
        suppressed=c.suppressed,
        baselined=c.baselined,
        not_applicable=not_applicable,
        status=status,
        status_label=label,
        citation=str(citation),
        url=str(url or ""),
        remediation=" ".join(str(remediation).split()),
        not_assessed=c.not_assessed,
        out_of_scope=c.out_of_scope,
        requests=spread.requests if spread else 0,
        values=spread.values if spread else 0,
        flows=spread.flows if spread else 0,
    )


def _repeat_key(f: Finding) -> tuple[Any, ...] | None:
    """What makes two findings of a control the same thing seen again (None: never grouped)."""
    values = frozenset(d.value_hash for d in f.detections if d.value_hash)
    if not values:
        return None
    return (f.status, f.destination.host if f.destination else "", values)


def _date_of(value: str | None) -> date | None:
    ts = parse_timestamp(value)
    return ts.date() if ts else None


def _waiver_dict(w: Any, today: date | None) -> dict[str, Any]:
    expires = getattr(w, "expires", None)
    expires_text = expires.isoformat() if isinstance(expires, date) else str(expires or "")
    days_left = getattr(w, "days_left", None)
    if not isinstance(days_left, int) and today is not None:
        end = _date_of(expires_text)
        days_left = (end - today).days if end else None
    expired = getattr(w, "expired", None)
    if not isinstance(expired, bool):
        expired = isinstance(days_left, int) and days_left < 0
    scope = getattr(w, "scope", None) or {}
    if isinstance(scope, dict):
        scope_text = "; ".join(
            f"{k}: {', '.join(map(str, v)) if isinstance(v, list | tuple) else v}"
            for k, v in sorted(scope.items())
        )
    else:
        scope_text = str(scope)
    return {
        "control_id": str(getattr(w, "control_id", None) or getattr(w, "control", "") or ""),
        "owner": str(getattr(w, "owner", "") or ""),
        "reason": " ".join(str(getattr(w, "reason", "") or "").split()),
        "expires": expires_text,
        "days_left": days_left if isinstance(days_left, int) else None,
        "expired": expired,
        "matched": getattr(w, "matched", None),
        "scope": scope_text or "all findings of the control",
        "source": str(getattr(w, "source", "") or ""),
    }


def _trend(per_day: dict[date, Counter[str]], undated: int) -> TrendView:
    width, height, left, top, bottom_pad = 760, 240, 44, 14, 34
    plot_bottom = height - bottom_pad
    plot_h = plot_bottom - top
    days: list[dict[str, Any]] = []
    if per_day:
        start, end = min(per_day), max(per_day)
        span = (end - start).days + 1
        for i in range(span):
            day = date.fromordinal(start.toordinal() + i)
            counts = per_day.get(day, Counter())
            days.append(
                {
                    "date": day.isoformat(),
                    "total": sum(counts.values()),
                    "counts": {s: counts.get(s, 0) for s in SEVERITIES},
                }
            )
    max_count = max((d["total"] for d in days), default=0)
    scale_max = _nice_ceiling(max_count)
    bars: list[Bar] = []
    x_labels: list[dict[str, Any]] = []
    if days:
        slot = (width - left - 8) / len(days)
        bar_w = max(min(slot * 0.7, 48.0), 1.0)
        label_every = max(1, round(len(days) / 10))
        for i, day_row in enumerate(days):
            x = left + i * slot + (slot - bar_w) / 2
            y = float(plot_bottom)
            for sev in reversed(SEVERITIES):  # least severe at the bottom
                n = day_row["counts"][sev]
                if not n:
                    continue
                h = plot_h * n / scale_max
                y -= h
                bars.append(
                    Bar(
                        round(x, 2),
                        round(y, 2),
                        round(bar_w, 2),
                        round(h, 2),
                        SEVERITY_COLORS[sev],
                        f"{day_row['date']}: {n} {sev}",
                    )
                )
            if i % label_every == 0:
                x_labels.append({"x": round(x + bar_w / 2, 2), "text": day_row["date"][5:]})
    ticks = []
    steps = 4 if scale_max >= 4 else max(scale_max, 1)
    for k in range(steps + 1):
        value = scale_max * k / steps
        ticks.append({"y": round(plot_bottom - plot_h * k / steps, 2), "text": f"{value:g}"})
    return TrendView(days, bars, ticks, x_labels, undated, width, height, left, plot_bottom, max_count)


def _nice_ceiling(n: int) -> int:
    """Axis maximum: n itself up to 4, else the smallest 4 × {1, 2, 5} × 10^k that holds n."""
    if n <= 4:
        return max(n, 1)
    base = 1
    while True:
        for mult in (1, 2, 5):
            top = 4 * mult * base
            if top >= n:
                return top
        base *= 10


def build(result: ScanResult, finding_cap: int = 250) -> AuditView:
    """The report's content, in one pass over the findings. ``finding_cap`` bounds how many findings
    each control, and each kind of exception, lists; the counts cover them all."""
    pack_list = pack_verdicts(result)
    s = summary(result, pack_list)
    scanned = sum(i.scanned for i in result.inputs)
    generated = parse_timestamp(result.generated_at)
    today = generated.date() if generated else None

    open_by_control, total_by_control = control_counts(result)

    # One streaming pass: what each control and exception list shows, the trend, the evidence.
    shown: dict[tuple[str, str], list[FindingView]] = {}
    first_of: dict[tuple[str, str], Finding] = {}
    exceptions: dict[str, list[FindingView]] = {"waived": [], "suppressed": [], "baselined": []}
    per_day: dict[date, Counter[str]] = defaultdict(Counter)
    undated = 0
    earliest: datetime | None = None
    latest: datetime | None = None
    detectors: Counter[str] = Counter()
    entity_rows: dict[str, dict[str, Any]] = {}
    repeats: dict[tuple[str, str], dict[tuple[Any, ...], FindingView]] = {}
    for f in result.findings:
        key = (f.policy_id, f.control_id)
        listed = shown.setdefault(key, [])
        first_of.setdefault(key, f)
        rkey = _repeat_key(f)
        seen_before = repeats.setdefault(key, {}).get(rkey) if rkey is not None else None
        view: FindingView | None = None
        if seen_before is not None:
            seen_before.repeats += 1
            seen_before.last_location = where(f)
            last_ts = parse_timestamp(f.timestamp)
            seen_before.last_timestamp = format_timestamp(last_ts) if last_ts else (f.timestamp or "")
        elif len(listed) < finding_cap:
            view = finding_view(f)
            listed.append(view)
            if rkey is not None:
                repeats[key][rkey] = view
        kept = exceptions.get(f.status)
        if kept is not None and len(kept) < finding_cap:
            kept.append(view or finding_view(f))
        ts = parse_timestamp(f.timestamp)
        if ts is None:
            undated += 1
        else:
            per_day[ts.date()][f.severity.value] += 1
            earliest = ts if earliest is None or ts < earliest else earliest
            latest = ts if latest is None or ts > latest else latest
        for x in f.detections:
            detectors[x.detector] += 1
            row = entity_rows.setdefault(
                x.entity, {"entity": x.entity, "category": x.category, "count": 0, "min_score": x.score}
            )
            row["count"] += 1
            row["min_score"] = round(min(row["min_score"], x.score), 2)

    total_distinct, per_control = result.findings.counts()

    def control_view(c: ControlStats) -> ControlView:
        key = (c.policy_id, c.control_id)
        return _control_view(c, open_by_control[key], first_of.get(key), scanned, per_control.get(key))

    controls = [control_view(c) for c in result.controls]
    known = {(c.policy_id, c.control_id) for c in controls}
    # Findings for a control without stats (should not happen) still get a coverage row.
    for key, f in first_of.items():
        if key not in known:
            known.add(key)
            stats = ControlStats(f.policy_id, f.control_id, f.title, f.severity)
            stats.failed = stats.evaluated = total_by_control[key]
            controls.append(control_view(stats))
    by_key = {(c.policy_id, c.control_id): c for c in controls}
    groups = [
        FindingGroup(
            by_key[key],
            total_by_control[key],
            items,
            max(total_by_control[key] - sum(i.repeats for i in items), 0),
        )
        for key, items in shown.items()
    ]

    top = sorted(
        (c for c in controls if c.open),
        key=lambda c: (-Severity(c.severity).rank, -c.open, c.policy_id, c.control_id),
    )[:TOP_CONTROLS]

    stamps = [parse_timestamp(d.first_seen) for d in result.destinations]
    stamps += [parse_timestamp(d.last_seen) for d in result.destinations]
    stamps += [earliest, latest]
    present = sorted(t for t in stamps if t is not None)
    first, last = (present[0], present[-1]) if present else (None, None)
    days_covered = (last.date() - first.date()).days + 1 if first and last else 0

    reasons: Counter[str] = Counter()
    for i in result.inputs:
        reasons.update(i.skipped_reasons)

    categories = sorted({c for d in result.destinations for c in d.categories}, key=_category_key)

    def seen(value: str | None) -> str:
        ts = parse_timestamp(value)
        return format_timestamp(ts) if ts else (value or "—")

    flows: list[dict[str, Any]] = []
    for d in result.destinations:
        dd = d.destination
        flows.append(
            {
                "host": dd.host or "—",
                "provider": dd.provider,
                "service": dd.service,
                "region": dd.region or "—",
                "country": dd.country or "—",
                "jurisdictions": jurisdictions_text(dd),
                "hosting": dd.hosting,
                "external": dd.external,
                "records": d.records,
                "personal": d.records_with_detections,
                "cells": [d.categories.get(c, 0) for c in categories],
                "first_seen": seen(d.first_seen),
                "last_seen": seen(d.last_seen),
            }
        )
    flow_max = max((n for row in flows for n in row["cells"]), default=0)

    verdicts = {pv.policy_id: pv for pv in pack_list}
    packs = []
    for p in result.policies:
        pv = verdicts.get(p.id)
        packs.append(
            {
                "id": p.id,
                "title": p.title,
                "version": p.version,
                "sha256": p.sha256,
                "controls": [c for c in controls if c.policy_id == p.id],
                "verdict": pv.verdict if pv else "pass",
                "verdict_label": pv.label if pv else LABELS["pass"],
                "open_at_gate": pv.open_at_gate if pv else 0,
                "not_assessed": [(n.control_id, n.reason) for n in pv.not_assessed] if pv else [],
                "why": pv.explain(s["fail_on"]) if pv else "",
            }
        )
    orphan = [c for c in controls if c.policy_id not in {p.id for p in result.policies}]
    if orphan:
        packs.append({"id": "other", "title": "", "version": "", "sha256": "", "controls": orphan})

    waivers = [_waiver_dict(w, today) for w in getattr(result, "waivers", None) or []]
    baseline_obj = getattr(result, "baseline", None)
    baseline = None
    if baseline_obj is not None:
        baseline = {
            "path": str(getattr(baseline_obj, "path", "") or ""),
            "entries": getattr(baseline_obj, "entries", None),
            "matched": getattr(baseline_obj, "matched", None),
            "new": getattr(baseline_obj, "new", None),
            "fixed": len(getattr(baseline_obj, "fixed", None) or []),
        }
    adjustments = [
        {
            "policy_id": str(getattr(a, "policy_id", "")),
            "control_id": str(getattr(a, "control_id", "")),
            "action": str(getattr(a, "action", "")),
            "detail": str(getattr(a, "detail", "")),
            "reason": " ".join(str(getattr(a, "reason", "")).split()),
        }
        for a in getattr(result, "adjustments", None) or []
    ]

    unscanned = sum(i.unscanned_parts for i in result.inputs)
    min_score = getattr(result, "min_score", None)
    include_responses = bool(getattr(result, "include_responses", False))

    limitations = [
        "Detection is heuristic: pattern recognizers (checksum-validated where the identifier has one) "
        "and a statistical named-entity model can miss values or flag look-alikes. A clean result is "
        "evidence for the records scanned, not proof that no personal information left.",
        f"Detections scoring below the minimum score ({min_score if min_score is not None else 'default'}) "
        "are ignored.",
        "Images, audio, files and other non-text message parts are not scanned"
        + (f" ({unscanned} such parts in this scan)." if unscanned else "."),
        "Model responses are "
        + (
            "evaluated in this scan (--include-responses)."
            if include_responses
            else "not evaluated by default (only outbound requests are); pass --include-responses "
            "to evaluate logged responses too."
        ),
        "Only the traffic present in the input files is assessed: calls that were not logged, or logs "
        "outside the scanned paths, are out of scope.",
        "Destinations are classified from the endpoint catalog; an endpoint of unknown jurisdiction is "
        "treated as outside every allowed jurisdiction.",
    ]
    if s["records_skipped"]:
        limitations.append(
            f"{s['records_skipped']} record(s) could not be scanned and are listed with their reasons "
            "in Scope and provenance."
        )
    if result.errors:
        limitations.append(f"{len(result.errors)} input or policy error(s) make this result incomplete.")

    fail_on = s["fail_on"]
    verdict_text = verdict_sentence(result, list(verdicts.values()))
    not_assessed = [(c.policy_id, c.control_id, c.not_assessed) for c in controls if c.not_assessed]
    if not_assessed:
        limitations.insert(
            0,
            f"{len(not_assessed)} control(s) could not be assessed and are not counted as passed: "
            + "; ".join(f"{cid} ({reason})" for _, cid, reason in not_assessed[:10])
            + ("; …" if len(not_assessed) > 10 else "")
            + ". See Control coverage.",
        )

    sev_max = max(s["by_severity"].values(), default=0)
    severity_rows = [
        {
            "severity": sev,
            "count": s["by_severity"][sev],
            "color": SEVERITY_COLORS[sev],
            "pct": round(100 * s["by_severity"][sev] / sev_max, 1) if sev_max else 0,
        }
        for sev in SEVERITIES
    ]

    return AuditView(
        tool_version=result.tool_version,
        model=result.model or "—",
        generated_at=result.generated_at or "—",
        generated_display=format_timestamp(generated) if generated else (result.generated_at or "—"),
        command=" ".join(_quote(a) for a in result.command) if result.command else "—",
        fail_on=fail_on,
        verdict=s["verdict"],
        verdict_text=verdict_text,
        summary=s,
        severity_rows=severity_rows,
        top_controls=top,
        records_total=s["records"],
        records_scanned=s["records_scanned"],
        records_skipped=s["records_skipped"],
        files=len(result.inputs),
        time_first=format_timestamp(first),
        time_last=format_timestamp(last),
        days_covered=days_covered,
        inputs=[
            {
                "path": i.path,
                "sha256": i.sha256 or "—",
                "format": i.format or "—",
                "bytes": i.bytes,
                "records": i.records,
                "scanned": i.scanned,
                "skipped": i.skipped,
                "reasons": ", ".join(f"{k}: {v}" for k, v in sorted(i.skipped_reasons.items())),
                "unscanned_parts": i.unscanned_parts,
            }
            for i in result.inputs
        ],
        skipped_reasons=sorted(reasons.items()),
        errors=[e.one_line() for e in result.errors],
        policies=[
            {"id": p.id, "title": p.title, "version": p.version, "sha256": p.sha256} for p in result.policies
        ],
        categories=categories,
        flows=flows,
        flow_max=flow_max,
        destinations=flows,
        packs=packs,
        controls=controls,
        groups=groups,
        waivers=waivers,
        waivers_in_force=sum(1 for w in waivers if not w["expired"]),
        waived=exceptions["waived"],
        suppressed=exceptions["suppressed"],
        baselined=exceptions["baselined"],
        baseline=baseline,
        adjustments=adjustments,
        notices=[str(n) for n in getattr(result, "notices", None) or []],
        min_score=f"{min_score:g}" if isinstance(min_score, float | int) else "not recorded",
        include_responses=include_responses,
        detectors=sorted(detectors.items()),
        entities=sorted(entity_rows.values(), key=lambda r: (_category_key(r["category"]), r["entity"])),
        unscanned_parts=unscanned,
        limitations=limitations,
        trend=_trend(per_day, undated),
        verdict_label=LABELS[s["verdict"]],
        distinct={
            "findings": total_distinct.findings,
            "requests": total_distinct.requests,
            "values": total_distinct.values,
            "flows": total_distinct.flows,
            "first_seen": seen(total_distinct.first_seen) if total_distinct.first_seen else "—",
            "last_seen": seen(total_distinct.last_seen) if total_distinct.last_seen else "—",
        },
        not_assessed=not_assessed,
    )


def _quote(arg: str) -> str:
    """Shell-style quoting for display (the argv is already masked)."""
    if arg and re.fullmatch(r"[A-Za-z0-9_@%+=:,./*-]+", arg):
        return arg
    return "'" + arg.replace("'", "'\"'\"'") + "'"
