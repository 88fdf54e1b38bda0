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

if TYPE_CHECKING:
    from scanner.reporters import RenderOptions

_SEV_STYLE = {"critical": "bold red", "high": "red", "medium": "yellow", "low": "cyan", "info": "dim"}
_EXAMPLES = 3


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
    s = summary(result)

    console.print(
        Text(
            f"sovscan {result.tool_version} · model {result.model} · policies "
            + ", ".join(f"{p.id}@{p.version}" for p in result.policies),
            style="bold",
        )
    )

    opens, totals = control_counts(result)
    if totals:
        table = Table(title="Findings by control", show_lines=False, expand=False)
        for col in ("Severity", "Control", "Title", "Open", "Other", "Examples"):
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
            table.add_row(
                Text(first.severity.value, style=_SEV_STYLE[first.severity.value]),
                key[1],
                first.title,
                str(open_n),
                str(other) if other else "",
                examples,
            )
        console.print(table)
    else:
        console.print("No findings.")

    controls = Table(title="Controls", expand=False)
    for col in ("Policy", "Control", "Evaluated", "Passed", "Failed", "Waived", "Suppressed", "Baselined"):
        controls.add_column(col)
    for c in result.controls:
        controls.add_row(
            c.policy_id,
            c.control_id,
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
    console.print(
        Text(
            f"{s['records_scanned']} records scanned, {s['records_skipped']} skipped; "
            f"{s['open']} open findings ({sev or 'none'}); {s['errors']} errors; "
            f"verdict: {s['verdict'].upper()} (fail-on {s['fail_on']})",
            style="bold",
        ),
        soft_wrap=True,
    )
    return buf.getvalue()
