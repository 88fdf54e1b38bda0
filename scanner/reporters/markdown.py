"""Markdown audit report: the HTML report's content, compact enough for a PR comment or a wiki page.

Same eight sections and numbers as the HTML report (both come from ``_audit.build``), with the
findings list capped per control. Every value from the scan is escaped: Markdown renderers such
as GitHub's accept inline HTML, so a hostile host name or file path must not become markup.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from scanner.models import ScanResult
from scanner.reporters import _audit

if TYPE_CHECKING:
    from scanner.reporters import RenderOptions

FINDINGS_PER_CONTROL = 10
_SPECIAL = re.compile(r"([\\`*_\[\]|~])")


def text(value: object) -> str:
    """Escape a value for Markdown prose or a table cell (no markup, no HTML, no line breaks)."""
    s = " ".join(str(value).split())
    s = s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _SPECIAL.sub(r"\\\1", s)


def code(value: object) -> str:
    """A code span; backticks inside are replaced so the span cannot be closed early."""
    s = " ".join(str(value).split()).replace("`", "ʹ").replace("|", "\\|")
    return f"`{s}`" if s else ""


def _table(header: list[str], rows: list[list[str]], right: set[int] | None = None) -> list[str]:
    right = right or set()
    out = ["| " + " | ".join(header) + " |"]
    out.append("| " + " | ".join("---:" if i in right else "---" for i in range(len(header))) + " |")
    out += ["| " + " | ".join(cell or " " for cell in row) + " |" for row in rows]
    return [*out, ""]


def render(result: ScanResult, options: RenderOptions | None = None) -> str:
    v = _audit.build(result)
    s = v.summary
    out: list[str] = []
    add = out.append

    add("# AI traffic data-sovereignty audit report")
    add("")
    packs = ", ".join(code(f"{p['id']}@{p['version']}") for p in v.policies) or "none"
    add(f"Generated {text(v.generated_at)} by sovscan {text(v.tool_version)} · policy packs {packs}")
    add("")

    add("## 1. Executive summary")
    add("")
    add(f"**Verdict: {v.verdict_label.upper()}** — {text(v.verdict_text)}")
    add("")
    d = v.distinct
    add(
        f"- Open findings affect **{d['requests']}** request(s), with **{d['values']}** distinct "
        f"value(s) in **{d['flows']}** flow(s) (data category × destination), seen from "
        f"{text(d['first_seen'])} to {text(d['last_seen'])}"
    )
    sev = ", ".join(f"{r['severity']} {r['count']}" for r in v.severity_rows)
    add(
        f"- Open findings: **{s['open']}** ({sev}); {s['findings']} in total: "
        f"{s['by_status']['waived']} waived, {s['by_status']['suppressed']} suppressed, "
        f"{s['by_status']['baselined']} baselined"
    )
    add(
        f"- Records: {v.records_scanned} scanned, {v.records_skipped} skipped, in {v.files} file(s); "
        f"time range {text(v.time_first)} → {text(v.time_last)}"
    )
    add(f"- Waivers in force: {v.waivers_in_force}")
    if v.errors:
        add(f"- Errors: {len(v.errors)} (the result is incomplete)")
    add("")
    out += _table(
        ["Policy pack", "Verdict", "Why"],
        [
            [
                code(p["id"]),
                text(p["verdict_label"]),
                text(p["why"]),
            ]
            for p in v.packs
            if p["id"] != "other"
        ],
    )
    if v.top_controls:
        add("Top controls violated:")
        add("")
        out += _table(
            ["Severity", "Control", "Title", "Requests", "Distinct values", "Open findings"],
            [
                [c.severity, code(c.control_id), text(c.title), str(c.requests), str(c.values), str(c.open)]
                for c in v.top_controls
            ],
            {3, 4, 5},
        )

    add("## 2. Scope and provenance")
    add("")
    add(f"- Scan time: {text(v.generated_at)}")
    add(f"- Tool: sovscan {text(v.tool_version)}; model {code(v.model)}; minimum score {text(v.min_score)}")
    add(f"- Responses evaluated: {'yes' if v.include_responses else 'no (requests only)'}")
    add(f"- Command line (secret-looking arguments masked): {code(v.command)}")
    add("")
    out += _table(
        ["Policy pack", "Version", "SHA-256"],
        [[code(p["id"]), text(p["version"]), code(p["sha256"])] for p in v.policies],
    )
    out += _table(
        ["Input", "Format", "Records", "Scanned", "Skipped", "SHA-256"],
        [
            [
                code(i["path"]) + (f" (skipped: {text(i['reasons'])})" if i["reasons"] else ""),
                text(i["format"]),
                str(i["records"]),
                str(i["scanned"]),
                str(i["skipped"]),
                code(i["sha256"]),
            ]
            for i in v.inputs
        ],
        {2, 3, 4},
    )
    for e in v.errors:
        add(f"- Error: {text(e)}")
    if v.errors:
        add("")

    add("## 3. Data flows")
    add("")
    if v.flows:
        add("Records carrying each category of personal data, by destination:")
        add("")
        cats = [text(c) for c in v.categories]
        out += _table(
            [
                "Destination",
                "Provider",
                "Region",
                "Jurisdiction",
                "Hosting",
                *cats,
                "Records",
                "With personal data",
                "First seen",
                "Last seen",
            ],
            [
                [
                    code(d["host"]),
                    text(d["provider"]),
                    text(d["region"]),
                    text(d["jurisdictions"]),
                    text(d["hosting"]),
                    *[str(n) if n else "·" for n in d["cells"]],
                    str(d["records"]),
                    str(d["personal"]),
                    text(d["first_seen"]),
                    text(d["last_seen"]),
                ]
                for d in v.flows
            ],
            set(range(5, 5 + len(cats) + 2)),
        )
    else:
        add("No records reached a destination.")
        add("")

    add("## 4. Control coverage")
    add("")
    rows = [
        [
            code(c.policy_id),
            code(c.control_id),
            c.severity,
            str(c.evaluated),
            str(c.passed),
            str(c.failed),
            str(c.open),
            str(c.waived),
            str(c.suppressed),
            str(c.baselined),
            str(c.not_applicable),
            c.status_label
            + (f": {text(c.not_assessed or c.out_of_scope)}" if c.not_assessed or c.out_of_scope else ""),
        ]
        for c in v.controls
    ]
    out += _table(
        [
            "Pack",
            "Control",
            "Severity",
            "Evaluated",
            "Passed",
            "Failed",
            "Open",
            "Waived",
            "Suppressed",
            "Baselined",
            "Not applicable",
            "Status",
        ],
        rows,
        set(range(3, 11)),
    )

    add("## 5. Findings")
    add("")
    if not v.groups:
        add("No findings.")
        add("")
    for g in v.groups:
        c = g.control
        add(f"### {c.severity.upper()} {text(c.control_id)}: {text(c.title)}")
        add("")
        add(
            f"{c.open} open finding(s) in {c.requests} request(s), {c.values} distinct value(s), "
            f"{c.flows} flow(s); {g.total} finding(s) in all. Citation: {text(c.citation) or '—'}."
        )
        if c.url:
            add(
                f"Source: <{c.url}>"
                if re.fullmatch(r"https?://[^\s<>]+", c.url)
                else f"Source: {text(c.url)}"
            )
        if c.remediation:
            add(f"Remediation: {text(c.remediation)}")
        add("")
        shown = g.shown[:FINDINGS_PER_CONTROL]
        out += _table(
            ["Status", "Location", "Destination", "When", "App", "Masked evidence"],
            [
                [
                    f.status + (f" ({text(f.status_reason)})" if f.status_reason else ""),
                    code(f.location)
                    + (
                        f" and {f.repeats - 1} more request(s), last {code(f.last_location)}"
                        if f.repeats > 1
                        else ""
                    ),
                    code(f.host) + (f" ({text(f.jurisdictions)})" if f.jurisdictions else ""),
                    text(f.timestamp) + (f" → {text(f.last_timestamp)}" if f.repeats > 1 else ""),
                    text(f.app),
                    ", ".join(f"{text(e.entity)} {code(e.preview)}" for e in f.evidence),
                ]
                for f in shown
            ],
        )
        rest = g.total - sum(f.repeats for f in shown)
        if rest > 0:
            add(f"… and {rest} more; the CSV report lists every finding.")
            add("")

    add("## 6. Exceptions")
    add("")
    if v.waivers:
        out += _table(
            ["Control", "Scope", "Owner", "Reason", "Expires", "Days left", "Matched"],
            [
                [
                    code(w["control_id"]),
                    text(w["scope"]),
                    text(w["owner"]),
                    text(w["reason"]),
                    text(w["expires"]),
                    "expired" if w["expired"] else ("—" if w["days_left"] is None else str(w["days_left"])),
                    "—" if w["matched"] is None else str(w["matched"]),
                ]
                for w in v.waivers
            ],
        )
    else:
        add("- Waivers: none configured.")
    exceptional = v.waived + v.suppressed + v.baselined
    if exceptional:
        add("")
        out += _table(
            ["Status", "Control", "Location", "Reason"],
            [[f.status, code(f.control_id), code(f.location), text(f.status_reason)] for f in exceptional],
        )
        exceptions = sum(v.summary["by_status"][k] for k in ("waived", "suppressed", "baselined"))
        unlisted = exceptions - len(exceptional)
        if unlisted:
            add(f"… and {unlisted} more; the CSV report lists every finding.")
    else:
        add("- Suppressed or baselined findings: none.")
    if v.baseline:
        b = v.baseline
        add(
            f"- Baseline {code(b['path'])}: {b['entries']} known, {b['matched']} matched, "
            f"{b['new']} new, {b['fixed']} no longer present."
        )
    for a in v.adjustments:
        add(
            f"- Adjustment: {code(a['control_id'])} {text(a['action'])} {text(a['detail'])}: "
            f"{text(a['reason'])}"
        )
    add("")

    add("## 7. Methodology and limitations")
    add("")
    add(
        f"Presidio pattern recognizers (checksum-validated where defined) and spaCy NER model "
        f"{code(v.model)}, offline; minimum score {text(v.min_score)}. Detectors in the evidence: "
        + (", ".join(f"{text(name)} ({n})" for name, n in v.detectors) or "none")
        + "."
    )
    if v.entities:
        add(
            "Entities: "
            + ", ".join(f"{code(e['entity'])} ({text(e['category'])}) {e['count']}" for e in v.entities)
            + "."
        )
    add("")
    for line in v.limitations:
        add(f"- {text(line)}")
    add("")

    add("## 8. Trend")
    add("")
    days = [d for d in v.trend.days if d["total"]]
    if days:
        out += _table(
            ["Day (UTC)", "Critical", "High", "Medium", "Low", "Info", "Total"],
            [[d["date"], *[str(d["counts"][sv]) for sv in _audit.SEVERITIES], str(d["total"])] for d in days],
            set(range(1, 7)),
        )
    else:
        add("No finding carries a record timestamp.")
        add("")
    if v.trend.undated:
        add(f"{v.trend.undated} finding(s) without a record timestamp.")
        add("")
    return "\n".join(out).rstrip("\n") + "\n"
