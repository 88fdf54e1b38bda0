"""GitHub Actions output: workflow-command annotations and a Markdown job summary.

Pure functions over a ``ScanResult``; the CLI prints the annotations when ``GITHUB_ACTIONS=true``
and appends the summary to ``$GITHUB_STEP_SUMMARY``.

* Annotations: one ``::error``/``::warning``/``::notice`` per open finding (critical and high →
  error, medium → warning, low and info → notice). GitHub shows only 10 annotations of each level
  per step (50 per job), so at most ``PER_LEVEL`` of each are printed, most severe first, followed by
  one notice counting the rest; SARIF and the summary carry everything. Values are escaped as the
  workflow-command syntax requires (``%``, CR, LF in the message; also ``:`` and ``,`` in properties).
* Summary: the verdict, counts, baseline comparison and the open findings table, kept well under
  GitHub's 1 MiB per-step limit.
"""

from __future__ import annotations

from collections import Counter

from scanner.models import Finding, ScanResult, Severity
from scanner.reporters._data import summary
from scanner.verdict import LABELS, pack_verdicts

PER_LEVEL = 10
SUMMARY_ROWS = 50
SUMMARY_BUDGET = 900_000

COMMANDS = {
    Severity.CRITICAL: "error",
    Severity.HIGH: "error",
    Severity.MEDIUM: "warning",
    Severity.LOW: "notice",
    Severity.INFO: "notice",
}


def escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def annotation(f: Finding) -> str:
    props = [f"file={escape_property(f.location.path)}"]
    line = f.location.first_line
    compressed = f.location.compressed
    if line is not None and not compressed:
        props.append(f"line={line}")
    props.append(f"title={escape_property(f'{f.control_id} ({f.severity.value}): {f.title}')}")
    evidence = ", ".join(f"{d.entity} {d.preview}" for d in f.detections[:3])
    where = f" at {f.location.pointer}" if f.location.pointer else ""
    if line is not None and compressed:
        where += f" (line {line} of the decompressed file)"
    message = f"{f.message}{where}" + (f". Evidence (masked): {evidence}" if evidence else "")
    if f.remediation:
        message += f"\nRemediation: {' '.join(f.remediation.split())}"
    return f"::{COMMANDS[f.severity]} {','.join(props)}::{escape_data(message)}"


def render_annotations(result: ScanResult, per_level: int = PER_LEVEL) -> str:
    lines: list[str] = []
    shown: Counter[str] = Counter()
    hidden = 0
    # Report order is most severe first already; each severity reads only what its level can show.
    for severity in sorted(Severity, key=lambda s: -s.rank):
        level = COMMANDS[severity]
        total = result.findings.count(status="open", severity=severity)
        room = max(per_level - shown[level], 0)
        for f in result.findings.select(status="open", severity=severity, limit=min(room, total)):
            shown[level] += 1
            lines.append(annotation(f))
        hidden += max(total - room, 0)
    if hidden:
        lines.append(
            f"::notice title=sovscan::{hidden} more open finding(s) not annotated "
            "(GitHub shows 10 annotations per level per step); see the job summary or the SARIF report"
        )
    return "".join(line + "\n" for line in lines)


def _cell(text: str) -> str:
    return " ".join(text.replace("|", "\\|").split())


def _where(f: Finding) -> str:
    loc = f.location
    out = f"{loc.path}:{loc.first_line}" if loc.first_line is not None else loc.path
    return f"{out}#{loc.pointer}" if loc.pointer else out


def render_summary(result: ScanResult) -> str:
    packs = pack_verdicts(result)
    s = summary(result, packs)
    by_sev, by_status, open_n, verdict = s["by_severity"], s["by_status"], s["open"], s["verdict"]
    gate = result.count_open(result.fail_on)
    total, per_control = result.findings.counts()
    icon = {"pass": "✅", "fail": "❌", "error": "⚠️", "not_assessed": "⚠️"}[verdict]
    out = [
        f"## {icon} sovscan: {LABELS[verdict].upper()}",
        "",
        f"{gate} open finding(s) at or above **{result.fail_on.value}** "
        f"({open_n} open in all, in {total.requests} request(s): {total.values} distinct value(s), "
        f"{total.flows} flow(s)); "
        f"{sum(i.scanned for i in result.inputs)} records scanned in {len(result.inputs)} file(s), "
        f"{sum(i.skipped for i in result.inputs)} skipped; {len(result.errors)} error(s).",
        "",
        "| Policy pack | Verdict | Why |",
        "|---|---|---|",
        *(f"| `{p.policy_id}` | {p.label} | {_cell(p.explain(result.fail_on.value))} |" for p in packs),
        "",
        "| Severity | Open |",
        "|---|---|",
        *(f"| {sev} | {n} |" for sev, n in by_sev.items()),
        "",
        "Status: " + ", ".join(f"{k} {n}" for k, n in by_status.items()),
        "",
    ]
    if per_control:
        out += ["| Control | Open findings | Requests | Distinct values | Flows |", "|---|---|---|---|---|"]
        for (_, control_id), c in sorted(per_control.items(), key=lambda kv: (-kv[1].findings, kv[0])):
            out.append(f"| `{control_id}` | {c.findings} | {c.requests} | {c.values} | {c.flows} |")
        out.append("")
    b = result.baseline
    if b is not None:
        out += [
            f"Baseline `{b.path}`: {b.entries} entries, {b.matched} matched in the scanned files, "
            f"{b.new} new open finding(s), {len(b.fixed)} fixed.",
            "",
        ]
        if b.fixed:
            out += ["<details><summary>Fixed since the baseline</summary>", ""]
            out += [f"- `{e.control_id}` in `{e.path}` ({e.fingerprint})" for e in b.fixed[:SUMMARY_ROWS]]
            out += ["", "</details>", ""]
    if open_n:
        out += ["| Severity | Control | Where | Finding |", "|---|---|---|---|"]
        for f in result.findings.select(status="open", limit=SUMMARY_ROWS):
            out.append(
                f"| {f.severity.value} | `{f.control_id}` | `{_cell(_where(f))}` | {_cell(f.message)} |"
            )
        if open_n > SUMMARY_ROWS:
            out.append(f"\n… and {open_n - SUMMARY_ROWS} more (see the SARIF or JSON report).")
        out.append("")
    for e in result.errors:
        out.append(f"- error: `{_cell(e.one_line())}`")
    text = "\n".join(out).rstrip() + "\n"
    if len(text.encode("utf-8")) > SUMMARY_BUDGET:
        text = text.encode("utf-8")[:SUMMARY_BUDGET].decode("utf-8", "ignore") + "\n\n(truncated)\n"
    return text
