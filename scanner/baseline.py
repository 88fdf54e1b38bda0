"""Baselines: findings a team has accepted as known, so that CI fails only on new ones.

Place in the pipeline: after suppressions and waivers, before the result is reported
(``engine → suppressions → waivers → baseline → reporters``). Only findings still ``open`` become
``baselined``; a suppressed or waived finding keeps its status but still counts as a match, so its
baseline entry is not reported as fixed.

The file holds fingerprints only (see ``engine.fingerprint``: control, path, pointer shape,
destination host and keyed value hashes): no raw values, no timestamps, no line numbers. Entries are
de-duplicated and sorted, so regenerating a baseline after unrelated edits gives an empty diff::

    {
      "version": 1,
      "tool": "sovscan",
      "findings": [
        {"control_id": "APP8-001", "fingerprint": "05af…", "path": "logs/app.jsonl"}
      ]
    }

A baseline entry matches by fingerprint alone. ``ControlStats.baselined`` counts baselined
findings; like waived and suppressed ones they are a part of ``failed``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import orjson

from scanner.errors import ConfigError
from scanner.models import BaselineEntry, BaselineReport, ScanResult
from scanner.store import count_statuses

FORMAT_VERSION = 1


@dataclass(frozen=True)
class Baseline:
    entries: tuple[BaselineEntry, ...]
    version: int = FORMAT_VERSION

    @property
    def fingerprints(self) -> frozenset[str]:
        return frozenset(e.fingerprint for e in self.entries)


def _sorted(entries: list[BaselineEntry]) -> tuple[BaselineEntry, ...]:
    unique = {e.fingerprint: e for e in entries}
    return tuple(sorted(unique.values(), key=lambda e: (e.path, e.control_id, e.fingerprint)))


def create(result: ScanResult) -> Baseline:
    """A baseline of every open finding in ``result`` (suppressed and waived ones need no entry)."""
    return Baseline(
        _sorted(
            [
                BaselineEntry(fingerprint=f.fingerprint, control_id=f.control_id, path=f.location.path)
                for f in result.findings.select(status="open")
            ]
        )
    )


def dumps(baseline: Baseline) -> str:
    doc = {
        "version": baseline.version,
        "tool": "sovscan",
        "findings": [
            {"control_id": e.control_id, "fingerprint": e.fingerprint, "path": e.path}
            for e in _sorted(list(baseline.entries))
        ],
    }
    return orjson.dumps(doc, option=orjson.OPT_INDENT_2).decode("utf-8") + "\n"


def load(path: Path) -> Baseline:
    """Read a baseline file; problems raise ``ConfigError`` with a one-line message naming the file."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read baseline: {exc.strerror or type(exc).__name__}") from None
    try:
        doc = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise ConfigError(
            f"{path}: baseline is not valid JSON (line {exc.lineno}, column {exc.colno})"
        ) from None
    if not isinstance(doc, dict) or not isinstance(doc.get("findings"), list):
        raise ConfigError(f"{path}: not a sovscan baseline (expected an object with a findings list)")
    if doc.get("version") != FORMAT_VERSION:
        raise ConfigError(
            f"{path}: unsupported baseline version {doc.get('version')!r} "
            f"(this sovscan reads version {FORMAT_VERSION})"
        )
    entries = []
    for i, item in enumerate(doc["findings"]):
        if not isinstance(item, dict) or not isinstance(item.get("fingerprint"), str):
            raise ConfigError(f"{path}: findings[{i}]: expected an object with a fingerprint string")
        entries.append(
            BaselineEntry(
                fingerprint=item["fingerprint"],
                control_id=str(item.get("control_id", "")),
                path=str(item.get("path", "")),
            )
        )
    return Baseline(_sorted(entries))


def apply(result: ScanResult, baseline: Baseline, label: str) -> BaselineReport:
    """Mark open findings known to ``baseline`` as baselined and record the comparison on ``result``.

    An entry is *fixed* when no finding matched it and its file was among this scan's inputs;
    entries for files the scan did not read (e.g. with ``--since``) are neither matched nor fixed.
    """
    matched = result.findings.mark(baseline.fingerprints, "baselined", f"known in baseline {label}")
    count_statuses(result.findings, result.controls)
    scanned = {i.path for i in result.inputs}
    fixed = [e for e in baseline.entries if e.fingerprint not in matched and e.path in scanned]
    report = BaselineReport(
        path=label,
        entries=len(baseline.entries),
        matched=len(matched),
        new=result.findings.count(status="open"),
        fixed=fixed,
    )
    result.baseline = report
    return report
