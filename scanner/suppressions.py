"""Inline suppressions in configuration and source files, applied after ``engine.evaluate``.

Syntax (any of ``#``, ``//`` or ``;`` starts the comment)::

    OPENAI_BASE_URL=https://api.openai.com/v1  # sovscan: ignore[APP8-C01] approved under contract X
    # sovscan: ignore[APP8-C01] approved under contract X
    OPENAI_BASE_URL=https://api.openai.com/v1

A suppression covers the named control(s) on its own line and on the next line. It must name a
control that a loaded policy defines and give a reason; otherwise it suppresses nothing and a
warning names the file and line. Suppressed findings stay in every report with status
``suppressed`` and the reason. Only configuration and source files are read for suppressions:
text inside traffic logs (prompts) can never suppress a finding.
"""

from __future__ import annotations

import io
import re
import tokenize
from collections.abc import Iterable
from dataclasses import dataclass

from scanner.models import ControlStats, Finding, ScanError

_MARK = re.compile(
    r"(?:#|//|;|<!--|/\*)\s*sovscan\s*:\s*ignore\b(?P<ids>\[[^\]]*\])?(?P<reason>.*)$", re.IGNORECASE
)
_ID = re.compile(r"^[A-Z][A-Z0-9]*(?:-[A-Z0-9]+)+$")


@dataclass(frozen=True, slots=True)
class Suppression:
    line: int
    controls: frozenset[str]
    reason: str


def parse(text: str, path: str, known: Iterable[str]) -> tuple[list[Suppression], list[ScanError]]:
    """Valid suppressions of one file, and a warning for each invalid one."""
    known_ids = set(known)
    found: list[Suppression] = []
    problems: list[ScanError] = []
    comments = _python_comment_lines(text) if path.endswith(".py") else None
    for number, line in enumerate(text.split("\n"), start=1):
        if "sovscan" not in line.lower():
            continue
        if comments is not None and number not in comments:
            # In Python, only real comments count (not the same text inside a string).
            continue
        m = _MARK.search(line)
        if not m:
            continue
        where = f"line {number}"
        ids = [i.strip() for i in (m.group("ids") or "[]")[1:-1].split(",") if i.strip()]
        reason = m.group("reason").strip().rstrip("*/->").strip().lstrip(":-—– ").strip()
        if not ids:
            problems.append(
                ScanError(path, "suppression ignored: name a control, e.g. ignore[APP8-C01]", where)
            )
            continue
        bad = [i for i in ids if not _ID.match(i) or i not in known_ids]
        if bad:
            names = ", ".join(i if _ID.match(i) else "(malformed id)" for i in bad)
            problems.append(ScanError(path, f"suppression ignored: unknown control {names}", where))
            continue
        if not reason:
            problems.append(ScanError(path, "suppression ignored: give a reason after ignore[...]", where))
            continue
        found.append(Suppression(number, frozenset(ids), reason[:200]))
    return found, problems


def _python_comment_lines(text: str) -> set[int] | None:
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(text).readline))
    except (tokenize.TokenError, SyntaxError):
        return None
    return {t.start[0] for t in tokens if t.type == tokenize.COMMENT}


def apply(
    findings: Iterable[Finding],
    suppressions: list[Suppression],
    stats: dict[tuple[str, str], ControlStats],
    aliases: dict[str, str] | None = None,
) -> int:
    """Mark open findings covered by a suppression; returns how many were suppressed."""
    by_line: dict[int, list[Suppression]] = {}
    for s in suppressions:
        by_line.setdefault(s.line, []).append(s)
        by_line.setdefault(s.line + 1, []).append(s)
    aliases = aliases or {}
    count = 0
    for f in findings:
        if f.status != "open" or f.location.line is None:
            continue
        for s in by_line.get(f.location.line, []):
            ids = {aliases.get(i, i) for i in s.controls}
            if f.control_id in ids:
                f.status = "suppressed"
                f.status_reason = s.reason
                cs = stats.get((f.policy_id, f.control_id))
                if cs is not None:
                    cs.suppressed += 1
                count += 1
                break
    return count
