"""Console report: findings grouped by control with counts, then inputs, destinations and errors.

Colour only when asked (the CLI asks when stdout is a terminal).
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

from rich.console import Console
from rich.table import Table
from rich.text import Text

from scanner.models import Finding, ScanResult
from scanner.reporters._data import control_counts, summary
from scanner.verdict import LABELS, control_outcome, pack_verdicts

if TYPE_CHECKING:
    from scanner.reporters import RenderOptions

_SEV_STYLE = {"critical": "bold red", "high": "red", "medium": "yellow", "low": "cyan", "info": "dim"}
_EXAMPLES = 3
_VERDICT_STYLE = {"fail": "bold red", "not_assessed": "bold yellow", "pass": "bold green"}


def _where(f: Finding) -> str:
    loc = f.location
    out = loc.path
    if loc.line is not None:
        out += f":{loc.line}"
    elif loc.pointer:
        out += f"#{loc.pointer}"
    return out


def render(result: ScanResult, options: RenderOptions | None = None) -> str:
    color = bool(options and options.color)
    width = options.width if options else 120
    buf = io.StringIO()
    console = Console(file=buf, force_terminal=color, no_color=not color, width=width, highlight=False)
    packs = pack_verdicts(result)
    s = summary(result, packs)
    total, per_control = result.findings.counts()

    console.print(
        Text(
            f"sovscan {result.tool_version} · model {result.model} · policies "
            + ", ".join(f"{p.id}@{p.version}" for p in result.policies),
            style="bold",
        )
    )

    opens, totals = control_counts(result)
    if totals:
        table = Table(title="Findings by control (open: requests, distinct values)", expand=False)
        for col in ("Severity", "Control", "Title", "Requests", "Values", "Open", "Other", "Examples"):
            table.add_column(col, overflow="fold")
        for key in result.findings.controls():
            items = list(result.findings.select(control=key, limit=_EXAMPLES))
            first = items[0]
            open_n = opens[key]
            other = totals[key] - open_n
            examples = "\n".join(
                f"{_where(f)} → {f.message}" + (f" ({f.status})" if f.status != "open" else "") for f in items
            )
            if totals[key] > _EXAMPLES:
                examples += f"\n… and {totals[key] - _EXAMPLES} more"
            distinct = per_control.get(key)
            table.add_row(
                Text(first.severity.value, style=_SEV_STYLE[first.severity.value]),
                key[1],
                first.title,
                str(distinct.requests) if distinct else "",
                str(distinct.values) if distinct else "",
                str(open_n),
                str(other) if other else "",
                examples,
            )
        console.print(table)
    else:
        console.print("No findings.")

    verdicts = Table(title="Policy packs", expand=False)
    for col in ("Pack", "Verdict", "Why"):
        verdicts.add_column(col, overflow="fold")
    for p in packs:
        verdicts.add_row(
            p.policy_id, Text(p.label.upper(), style=_VERDICT_STYLE[p.verdict]), p.explain(s["fail_on"])
        )
    console.print(verdicts)

    controls = Table(title="Controls", expand=False)
    for col in (
        "Policy",
        "Control",
        "Outcome",
        "Evaluated",
        "Passed",
        "Failed",
        "Waived",
        "Suppressed",
        "Baselined",
    ):
        controls.add_column(col)
    for c in result.controls:
        controls.add_row(
            c.policy_id,
            c.control_id,
            LABELS[control_outcome(c, opens[c.policy_id, c.control_id])],
            str(c.evaluated),
            str(c.passed),
            str(c.failed),
            str(c.waived),
            str(c.suppressed),
            str(c.baselined),
        )
    console.print(controls)

    if result.adjustments:
        adjusted = Table(title="Policy adjustments", expand=False)
        for col in ("Control", "Change", "Reason", "Where"):
            adjusted.add_column(col, overflow="fold")
        for a in result.adjustments:
            change = "disabled" if a.action == "disabled" else f"severity {a.detail}"
            adjusted.add_row(a.control_id, change, a.reason, a.source)
        console.print(adjusted)
    if result.waivers:
        waivers = Table(title="Waivers", expand=False)
        for col in ("Control", "Owner", "Expires", "Days left", "Matched", "Reason"):
            waivers.add_column(col, overflow="fold")
        for w in result.waivers:
            waivers.add_row(
                w.control_id,
                w.owner,
                w.expires + (" (expired)" if w.expired else ""),
                str(w.days_left),
                str(w.matched),
                w.reason,
            )
        console.print(waivers)
    for notice in result.notices:
        console.print(Text(f"notice: {notice}", style="yellow"))

    inputs = Table(title="Inputs", expand=False)
    for col in ("File", "Format", "Records", "Scanned", "Skipped", "Not scanned parts"):
        inputs.add_column(col, overflow="fold")
    for i in result.inputs:
        reasons = ", ".join(f"{k}: {v}" for k, v in sorted(i.skipped_reasons.items()))
        inputs.add_row(
            i.path,
            i.format or "-",
            str(i.records),
            str(i.scanned),
            f"{i.skipped} ({reasons})" if reasons else str(i.skipped),
            str(i.unscanned_parts),
        )
    console.print(inputs)

    if result.destinations:
        dests = Table(title="Destinations", expand=False)
        for col in (
            "Host",
            "Provider",
            "Region",
            "Jurisdictions",
            "Hosting",
            "Records",
            "With personal data",
        ):
            dests.add_column(col, overflow="fold")
        for d in result.destinations:
            dd = d.destination
            dests.add_row(
                dd.host or "-",
                dd.provider,
                dd.region or "-",
                ", ".join(sorted(dd.jurisdictions)) or ("internal" if not dd.external else "unknown"),
                dd.hosting,
                str(d.records),
                str(d.records_with_detections),
            )
        console.print(dests)

    if result.baseline is not None:
        b = result.baseline
        console.print(
            f"baseline {b.path}: {b.entries} entries, {b.matched} matched in the scanned files, "
            f"{b.new} new open findings, {len(b.fixed)} fixed"
        )
        for entry in b.fixed:
            console.print(f"  fixed: {entry.control_id} in {entry.path} ({entry.fingerprint})")
    for e in result.errors:
        console.print(Text(f"error: {e.one_line()}", style="bold red"))
    for warning in result.warnings:
        console.print(Text(f"warning: {warning.one_line()}", style="yellow"))
    sev = ", ".join(f"{k} {v}" for k, v in s["by_severity"].items() if v)
    spread = (
        f" in {total.requests} requests, {total.values} distinct values, {total.flows} flows"
        if total.findings
        else ""
    )
    console.print(
        Text(
            f"{s['records_scanned']} records scanned, {s['records_skipped']} skipped; "
            f"{s['open']} open findings ({sev or 'none'}){spread}; {s['errors']} errors; "
            f"verdict: {LABELS[s['verdict']].upper()} (fail-on {s['fail_on']})",
            style="bold",
        ),
        soft_wrap=True,
    )
    return buf.getvalue()
