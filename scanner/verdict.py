"""Verdicts: one per selected policy pack and one overall, never "pass" for what was not assessed.

A pack *fails* when it has an open finding at or above the failure threshold (``--fail-on``). Else
it is *not assessed* when any of its controls could not be assessed (``ControlStats.not_assessed``
says why: no approved-provider register, named entities not detected, only unknown destinations),
or when none of its controls applied to anything scanned. Else it *passes*. A control with nothing
of its kind in the scan (no configuration scanned, responses not evaluated) is *not applicable*
(``ControlStats.out_of_scope``): the scope of a scan is the inputs and options chosen for it, and
the reports say what each control did not cover.

The overall verdict is the worst of: ``error`` (an input or policy error made the result
incomplete), ``fail`` (a pack failed), ``not_assessed`` (a pack was not assessed), ``pass``.
The exit code follows the gate: open findings at or above the threshold fail it, and, with
``--fail-on-not-assessed`` (or ``fail_on_not_assessed: true`` in sovscan.yaml), so does a pack not
assessed. Verdicts are computed from the result at report time, so a baseline applied after the
scan is taken into account.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Literal

from scanner.models import ControlStats, ScanResult

PackOutcome = Literal["fail", "not_assessed", "pass"]
Overall = Literal["error", "fail", "not_assessed", "pass"]
ControlOutcome = Literal["fail", "not_assessed", "not_applicable", "pass"]

LABELS: dict[str, str] = {
    "error": "error",
    "fail": "fail",
    "not_assessed": "not assessed",
    "not_applicable": "not applicable",
    "pass": "pass",
}
NOTHING_APPLIED = "none of its controls applied to anything scanned"


@dataclass(frozen=True, slots=True)
class NotAssessed:
    control_id: str
    reason: str


@dataclass(frozen=True, slots=True)
class PackVerdict:
    policy_id: str
    title: str
    verdict: PackOutcome
    controls: int
    # Open findings at or above the threshold, and the controls they belong to.
    open_at_gate: int
    failed_controls: tuple[str, ...]
    not_assessed: tuple[NotAssessed, ...]
    # Controls with nothing of their kind in this scan (see the module docstring).
    out_of_scope: tuple[NotAssessed, ...] = ()

    @property
    def label(self) -> str:
        return LABELS[self.verdict]

    def explain(self, fail_on: str) -> str:
        """Why the pack has its verdict, in one line (controls sharing a reason named together)."""
        if self.verdict == "fail":
            return f"{self.open_at_gate} open finding(s) at or above {fail_on}: " + ", ".join(
                self.failed_controls
            )
        if not self.not_assessed:
            return "every control assessed"
        if self.not_assessed[0].control_id == "*":
            return f"not assessed: {NOTHING_APPLIED}"
        by_reason: dict[str, list[str]] = {}
        for n in self.not_assessed:
            by_reason.setdefault(n.reason, []).append(n.control_id)
        return "; ".join(f"{', '.join(ids)} not assessed: {reason}" for reason, ids in by_reason.items())


def control_outcome(stats: ControlStats, open_findings: int) -> ControlOutcome:
    """A control's own outcome: open findings fail it; else it is not assessed when it could not be."""
    if open_findings:
        return "fail"
    if stats.not_assessed:
        return "not_assessed"
    return "not_applicable" if stats.out_of_scope else "pass"


def pack_verdicts(result: ScanResult) -> list[PackVerdict]:
    at_gate: Counter[tuple[str, str]] = Counter()
    for (policy_id, control_id, status, severity), n in result.findings.tally().items():
        if status == "open" and severity.rank >= result.fail_on.rank:
            at_gate[policy_id, control_id] += n
    by_pack: dict[str, list[ControlStats]] = {}
    for c in result.controls:
        by_pack.setdefault(c.policy_id, []).append(c)
    out = []
    for p in result.policies:
        controls = by_pack.get(p.id, [])
        failed = tuple(c.control_id for c in controls if at_gate[p.id, c.control_id])
        missing = tuple(NotAssessed(c.control_id, c.not_assessed) for c in controls if c.not_assessed)
        scoped = tuple(NotAssessed(c.control_id, c.out_of_scope) for c in controls if c.out_of_scope)
        if not missing and controls and len(scoped) == len(controls):
            missing = (NotAssessed("*", NOTHING_APPLIED),)
        verdict: PackOutcome = "fail" if failed else ("not_assessed" if missing else "pass")
        out.append(
            PackVerdict(
                policy_id=p.id,
                title=p.title,
                verdict=verdict,
                controls=len(controls),
                open_at_gate=sum(at_gate[p.id, c] for c in failed),
                failed_controls=failed,
                not_assessed=missing,
                out_of_scope=scoped,
            )
        )
    return out


def overall(result: ScanResult, packs: list[PackVerdict] | None = None) -> Overall:
    if result.errors:
        return "error"
    packs = pack_verdicts(result) if packs is None else packs
    if result.count_open(result.fail_on) or any(p.verdict == "fail" for p in packs):
        return "fail"
    if any(p.verdict == "not_assessed" for p in packs):
        return "not_assessed"
    return "pass"


def gate_fails(result: ScanResult) -> bool:
    """Whether the findings gate fails (exit 1): open findings at or above the threshold, or, when
    the result asks for it, a pack not assessed."""
    if result.count_open(result.fail_on):
        return True
    return result.fail_on_not_assessed and any(p.verdict == "not_assessed" for p in pack_verdicts(result))


def verdict_sentence(result: ScanResult, packs: list[PackVerdict] | None = None) -> str:
    """One line for the top of a human report."""
    packs = pack_verdicts(result) if packs is None else packs
    verdict = overall(result, packs)
    fail_on = result.fail_on.value
    if verdict == "error":
        return f"{len(result.errors)} input or policy error(s): the result is incomplete."
    if verdict == "fail":
        gate = result.count_open(result.fail_on)
        unassessed = sum(1 for p in packs if p.verdict == "not_assessed")
        return f"{gate} open finding(s) at or above {fail_on} severity (the failure threshold)." + (
            f" {unassessed} other pack(s) could not be assessed." if unassessed else ""
        )
    if verdict == "not_assessed":
        names = ", ".join(p.policy_id for p in packs if p.verdict == "not_assessed")
        return (
            f"No open finding at or above {fail_on} severity, but pack(s) {names} could not be "
            "assessed in full: this is not a pass."
        )
    return f"No open finding at or above {fail_on} severity (the failure threshold)."
