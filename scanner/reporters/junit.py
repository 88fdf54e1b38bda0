"""JUnit XML report, for CI test-report views (GitLab ``artifacts:reports:junit``, Jenkins, Azure).

A reporter: pure ``render(result, options) -> str``. One ``testsuite`` per policy pack (its
properties carry the pack's verdict and the distinct counts of its open findings) and one
``testcase`` per control, so passing controls show as passed tests:

* a control with open findings fails; the failure lists them (location, message, masked evidence);
* a control that could not be assessed is skipped, with what was missing (no register, named
  entities not detected, only unknown destinations), and so is one with nothing of its kind in the
  scan (no configuration scanned, responses not evaluated), marked not applicable;
* otherwise it passes; waived, suppressed and baselined findings are counted in ``system-out``.

Scan errors (unreadable inputs) become one extra suite, ``sovscan``, with an erroring test case.
No timestamps or durations: the output is deterministic.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections import defaultdict
from typing import TYPE_CHECKING

from scanner.models import ControlStats, Counts, Finding, ScanResult
from scanner.reporters._data import control_counts
from scanner.verdict import pack_verdicts

if TYPE_CHECKING:
    from scanner.reporters import RenderOptions

MAX_LISTED = 100
_INVALID_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _clean(text: str) -> str:
    return _INVALID_XML.sub("\ufffd", text)


def _where(f: Finding) -> str:
    loc = f.location
    out = f"{loc.path}:{loc.first_line}" if loc.first_line is not None else loc.path
    return f"{out}#{loc.pointer}" if loc.pointer else out


def _describe(f: Finding) -> str:
    evidence = ", ".join(f"{d.entity} {d.preview}" for d in f.detections[:5])
    line = f"{_where(f)}: {f.message}"
    if evidence:
        line += f" [evidence: {evidence}]"
    return line + f" (fingerprint {f.fingerprint})"


def _testcase(
    parent: ET.Element, c: ControlStats, open_n: int, listed: list[Finding], spread: Counts | None
) -> tuple[bool, bool]:
    """One control's test case; ``listed`` holds its first open findings (at most MAX_LISTED)."""
    case = ET.SubElement(
        parent, "testcase", {"classname": c.policy_id, "name": _clean(f"{c.control_id}: {c.title}")}
    )
    failed = skipped = False
    if open_n:
        failed = True
        lines = [_describe(f) for f in listed]
        if open_n > MAX_LISTED:
            lines.append(f"... and {open_n - MAX_LISTED} more")
        if c.remediation:
            lines.append(f"Remediation: {c.remediation.strip()}")
        if c.reference:
            lines.append(f"Citation: {c.reference}")
        failure = ET.SubElement(
            case,
            "failure",
            {
                "message": _clean(f"{open_n} open finding(s){_spread(spread)}: {c.title}"),
                "type": c.severity.value,
            },
        )
        failure.text = _clean("\n".join(lines))
    elif c.not_assessed or c.out_of_scope or c.evaluated == 0:
        skipped = True
        message = (
            f"not assessed: {c.not_assessed}"
            if c.not_assessed
            else f"not applicable: {c.out_of_scope or 'no scanned record of a kind it applies to'}"
        )
        ET.SubElement(case, "skipped", {"message": _clean(message)})
    out = ET.SubElement(case, "system-out")
    out.text = (
        f"severity {c.severity.value}; evaluated {c.evaluated}, passed {c.passed}, failed {c.failed}, "
        f"open {open_n}, waived {c.waived}, suppressed {c.suppressed}, baselined {c.baselined}"
    )
    return failed, skipped


def _spread(c: Counts | None) -> str:
    return f" in {c.requests} request(s), {c.values} distinct value(s)" if c is not None else ""


def to_xml(result: ScanResult) -> ET.Element:
    open_by_control, _ = control_counts(result)
    per_pack: dict[str, list[ControlStats]] = defaultdict(list)
    for c in result.controls:
        per_pack[c.policy_id].append(c)

    root = ET.Element("testsuites", {"name": "sovscan"})
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    versions = {p.id: p.version for p in result.policies}
    verdicts = {p.policy_id: p.verdict for p in pack_verdicts(result)}
    _, distinct = result.findings.counts(by="policy")
    _, per_control = result.findings.counts()
    for pack_id, controls in per_pack.items():
        suite = ET.SubElement(root, "testsuite", {"name": pack_id})
        props = ET.SubElement(suite, "properties")
        ET.SubElement(props, "property", {"name": "policy.version", "value": versions.get(pack_id, "")})
        ET.SubElement(props, "property", {"name": "sovscan.version", "value": result.tool_version})
        ET.SubElement(props, "property", {"name": "model", "value": result.model or ""})
        ET.SubElement(props, "property", {"name": "verdict", "value": verdicts.get(pack_id, "")})
        mine = distinct.get((pack_id, ""))
        for name in ("findings", "requests", "values", "flows"):
            value = getattr(mine, name) if mine else 0
            ET.SubElement(props, "property", {"name": f"open.{name}", "value": str(value)})
        failures = skips = 0
        for c in controls:
            control_key = (c.policy_id, c.control_id)
            open_n = open_by_control[control_key]
            listed = (
                list(result.findings.select(status="open", control=control_key, limit=MAX_LISTED))
                if open_n
                else []
            )
            failed, skipped = _testcase(suite, c, open_n, listed, per_control.get(control_key))
            failures += failed
            skips += skipped
        counts = {"tests": len(controls), "failures": failures, "errors": 0, "skipped": skips}
        for key, value in counts.items():
            suite.set(key, str(value))
            totals[key] += value
    if result.errors:
        suite = ET.SubElement(
            root,
            "testsuite",
            {"name": "sovscan", "tests": "1", "failures": "0", "errors": "1", "skipped": "0"},
        )
        case = ET.SubElement(suite, "testcase", {"classname": "sovscan", "name": "inputs are readable"})
        error = ET.SubElement(case, "error", {"message": f"{len(result.errors)} input error(s)"})
        error.text = _clean("\n".join(e.one_line() for e in result.errors))
        totals["tests"] += 1
        totals["errors"] += 1
    for key, value in totals.items():
        root.set(key, str(value))
    return root


def render(result: ScanResult, options: RenderOptions | None = None) -> str:
    root = to_xml(result)
    ET.indent(root, space="  ")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
