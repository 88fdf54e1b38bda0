"""Orchestrates one scan: paths → sources → (destinations, detectors) → engine → ``ScanResult``.

Records stream through in bounded chunks: memory does not grow with input size (apart from the
findings themselves). Per-file problems become ``ScanError`` values and the scan goes on.
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import io
import os
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from types import ModuleType
from typing import Any, BinaryIO

from scanner import __version__
from scanner.catalog import Catalog, load_catalog
from scanner.config import Settings
from scanner.destinations import Classifier
from scanner.detectors.pii import Pending, PiiDetector
from scanner.engine import Engine
from scanner.errors import SourceError
from scanner.models import (
    SKIPPED_KEPT,
    Destination,
    DestinationStats,
    Finding,
    InputSummary,
    Record,
    ScanError,
    ScanResult,
    Segment,
    Skipped,
)
from scanner.orgpolicy import PolicySet, build_policy_set, load_org_policy
from scanner.policy import LoadedPolicy
from scanner.redact import hash_key
from scanner.sources import FORMATS, ReadOptions, iter_files, sniff
from scanner.sources._io import describe_bytes, open_binary, peek_head, wrap_decompress
from scanner.store import FindingStore, count_statuses
from scanner.suppressions import apply as apply_suppressions
from scanner.suppressions import parse as parse_suppressions


class _HashingReader(io.RawIOBase):
    """Wraps the raw file to compute sha256 and size of exactly the bytes read (at most ``limit``)."""

    def __init__(self, raw: BinaryIO, limit: int | None = None) -> None:
        self.raw = raw
        self.sha = hashlib.sha256()
        self.size = 0
        self.limit = limit

    def readinto(self, buffer: Any) -> int:
        if self.limit is not None:
            buffer = memoryview(buffer)[: max(0, self.limit - self.size)]
            if not len(buffer):
                return 0
        n = self.raw.readinto(buffer)  # type: ignore[attr-defined]
        if n:
            self.sha.update(memoryview(buffer)[:n])
            self.size += n
        return int(n or 0)

    def readable(self) -> bool:
        return True

    def drain_into(self, summary: InputSummary) -> None:
        """Hash what the reader left unread (it may stop early) and record digest and size."""
        while self.read(1 << 20):
            pass  # the bytes only feed the digest
        summary.sha256 = self.sha.hexdigest()
        summary.bytes = self.size

    def close(self) -> None:
        self.raw.close()
        super().close()


@dataclass
class Partial:
    """What scanning one part of the input (a file, or a byte range of one) produced, for a driver
    that merges parts scanned elsewhere (``scanner.distributed``). ``controls`` holds each control's
    (evaluated, passed, failed, unlocated), ``kinds`` the records evaluated by kind, ``waivers``
    each waiver's matched count, in policy-set order."""

    findings: list[Finding]
    inputs: list[InputSummary]
    errors: list[ScanError]
    warnings: list[ScanError]
    skipped: list[Skipped]
    destinations: dict[str, DestinationStats]
    controls: dict[tuple[str, str], tuple[int, int, int, int]]
    kinds: dict[str, int]
    waivers: list[int]
    detector: dict[str, int]


@dataclass
class Scanner:
    """Holds what lives for one scan: catalog, policies, classifier, detector, engine, tallies."""

    settings: Settings
    # Called after each chunk with (records scanned so far, input bytes read so far).
    on_progress: Callable[[int, int], None] | None = None
    catalog: Catalog = field(init=False)
    policies: list[LoadedPolicy] = field(init=False)
    classifier: Classifier = field(init=False)
    detector: PiiDetector = field(init=False)
    engine: Engine = field(init=False)

    def __post_init__(self) -> None:
        s = self.settings
        self.catalog = load_catalog()
        org = load_org_policy(s.config_file) if s.config_file else None
        self.policy_set: PolicySet = build_policy_set(list(s.policies), list(s.policy_files), org, s.today)
        self.policies = self.policy_set.policies
        self.classifier = Classifier(self.catalog, (*s.internal_hosts, *self.policy_set.internal_hosts))
        self.detector = PiiDetector(
            self.catalog,
            model=s.model,
            min_score=s.min_score,
            hash_key=hash_key(s.hash_key),
            cache_size=s.cache_size,
            jobs=s.jobs,
        )
        self.engine = Engine(
            self.policies, self.catalog, s.min_score, s.include_responses, register=self.policy_set.register
        )
        # Findings wait here until a chunk's worth (or a file's end) is written to the store; a
        # config file's stay until its inline suppressions are applied.
        self.findings: list[Finding] = []
        self.store = FindingStore()
        self._holding = False
        self.inputs: list[InputSummary] = []
        self.errors: list[ScanError] = []
        self.skipped: list[Skipped] = []
        self.destinations: dict[str, DestinationStats] = {}
        self._pending: list[tuple[list[Record], list[Destination], list[Segment], Pending, InputSummary]] = []
        self.warnings: list[ScanError] = []
        self._scanned = 0
        self._hashing: _HashingReader | None = None
        self._frozen = False

    # -- files ------------------------------------------------------------------------------------
    def scan(self, paths: list[str]) -> ScanResult:
        started = time.perf_counter()
        if self.settings.pii_mode != "patterns" and self._input_bytes(paths) >= _EARLY_POOL_BYTES:
            # A large scan will need the NER workers: let them load their models meanwhile.
            self.detector.ner.start()
        try:
            for display, real, explicit in self.iter_inputs(paths):
                self._scan_file(display, real, explicit)
        finally:
            if self._frozen:
                gc.unfreeze()
                self._frozen = False
            self.detector.close()
        return self.result(time.perf_counter() - started)

    def iter_inputs(self, paths: list[str]) -> Iterator[tuple[str, str, bool]]:
        """The files a scan of ``paths`` reads, in scan order: (display path, real path, explicit)."""
        excluded = {os.path.realpath(p) for p in self.settings.exclude_files}
        for display, real, explicit in iter_files(paths):
            if excluded and not explicit and os.path.realpath(real) in excluded:
                continue  # sovscan's own baseline and report files found while walking
            yield display, real, explicit

    # -- parts (scale-out: scanner.distributed) ---------------------------------------------------
    def scan_part(
        self,
        display: str,
        real: str,
        explicit: bool = True,
        *,
        fmt: str | None = None,
        start: int = 0,
        end: int | None = None,
        first_line: int = 1,
    ) -> Partial:
        """Scan one file — or, with ``end``, the lines in bytes [start, end) of an uncompressed file
        read as format ``fmt``, numbered from ``first_line`` — and hand back what it produced.

        The scanner keeps its detector (model, caches) and starts the next part empty. Record
        indexes in a range count from 0; the merge shifts them.
        """
        if end is None:
            self._scan_file(display, real, explicit)
        elif fmt is None:
            raise ValueError("a byte range is read as a given format: pass fmt")
        else:
            self._scan_range(display, real, fmt, start, end, first_line)
        return self.take_partial()

    def _scan_range(self, display: str, real: str, fmt: str, start: int, end: int, first_line: int) -> None:
        summary = InputSummary(path=display, sha256=None, format=fmt)
        try:
            raw = open(real, "rb", buffering=0)  # noqa: SIM115 - closed with the stream below
        except OSError as exc:
            self.errors.append(ScanError(display, f"cannot open: {exc.strerror or type(exc).__name__}"))
            return
        raw.seek(start)
        hashing = _HashingReader(raw, limit=end - start)
        stream = io.BufferedReader(hashing, buffer_size=1 << 20)
        self._hashing = hashing
        try:
            self._read_records(FORMATS[fmt], stream, display, summary, first_line)
            hashing.drain_into(summary)
            self.inputs.append(summary)
        finally:
            self._hashing = None
            stream.close()

    def take_partial(self) -> Partial:
        """What was scanned since the last call; the tallies start again from zero."""
        self.store_findings()
        part = Partial(
            findings=list(self.store.in_order_found()),
            inputs=self.inputs,
            errors=self.errors,
            warnings=self.warnings,
            skipped=self.skipped,
            destinations=self.destinations,
            controls={
                k: (s.evaluated, s.passed, s.failed, s.unlocated) for k, s in self.engine.stats.items()
            },
            kinds=dict(self.engine.kinds),
            waivers=[w.matched for w in self.policy_set.waivers],
            detector=dict(self.detector.stats),
        )
        self.inputs, self.errors, self.warnings, self.skipped = [], [], [], []
        self.store.close()
        self.store = FindingStore()
        self.destinations = {}
        self.engine.kinds.clear()
        for stats in self.engine.stats.values():
            stats.evaluated = stats.passed = stats.failed = stats.unlocated = 0
            stats.waived = stats.suppressed = stats.baselined = 0
        for waiver in self.policy_set.waivers:
            waiver.matched = 0
        for key in self.detector.stats:
            self.detector.stats[key] = 0
        return part

    @staticmethod
    def _input_bytes(paths: list[str]) -> int:
        total = 0
        for _, real, _ in iter_files(paths):
            if real != "-":
                with contextlib.suppress(OSError):
                    total += os.path.getsize(real)
        return total

    def _open(self, real: str) -> tuple[BinaryIO, _HashingReader | None]:
        if real == "-":
            return open_binary("-"), None
        hashing = _HashingReader(open(real, "rb", buffering=0))  # noqa: SIM115 - closed in _scan_file
        return wrap_decompress(io.BufferedReader(hashing, buffer_size=1 << 20)), hashing

    def _scan_file(self, display: str, real: str, explicit: bool) -> None:
        summary = InputSummary(path=display, sha256=None, format=None)
        try:
            stream, hashing = self._open(real)
            self._hashing = hashing
        except OSError as exc:
            self.errors.append(ScanError(display, f"cannot open: {exc.strerror or type(exc).__name__}"))
            return
        try:
            try:
                head = peek_head(stream)
            except (OSError, EOFError, zlib.error) as exc:
                self.errors.append(ScanError(display, _decompress_problem(exc), "byte 0"))
                self.inputs.append(summary)
                return
            module = self._pick_format(head, display)
            if module is None:
                self.inputs.append(summary)
                if (explicit or head) and not self.settings.ignore_unknown:
                    tried = ", ".join(FORMATS)
                    self.errors.append(
                        ScanError(
                            display,
                            f"unknown format (tried {tried}; use --input-format): {describe_bytes(head)}",
                        )
                    )
                return
            summary.format = module.NAME
            first = len(self.findings)
            self._holding = module.KIND == "config"
            self._read_records(module, stream, display, summary)
            if module.KIND == "config" and real != "-":
                self._suppress(real, display, first)
            self._holding = False
            self.store_findings()
            if hashing is not None:
                hashing.drain_into(summary)
            self.inputs.append(summary)
        finally:
            self._hashing = None
            stream.close()

    def _suppress(self, real: str, display: str, first: int) -> None:
        """Inline ``sovscan: ignore[...]`` comments of a config file, applied to its findings."""
        try:
            with open(real, "rb") as fh:
                text = fh.read().decode("utf-8", "replace")
        except OSError:
            return
        known = {c.id for lp in self.policies for c in lp.pack.controls}
        aliases = {a: c.id for lp in self.policies for c in lp.pack.controls for a in c.aliases}
        if "ignore[" in text:
            # A control of a shipped pack this scan did not select is known, not a typo.
            known |= _shipped_control_ids()
        suppressions, problems = parse_suppressions(text, display, known | set(aliases))
        self.warnings.extend(problems)
        if suppressions:
            apply_suppressions(self.findings[first:], suppressions, self.engine.stats, aliases)

    def _pick_format(self, head: bytes, display: str) -> ModuleType | None:
        if self.settings.input_format:
            return FORMATS[self.settings.input_format]
        return sniff(head, display)

    def _read_records(
        self, module: ModuleType, stream: BinaryIO, display: str, summary: InputSummary, first_line: int = 1
    ) -> None:
        options = ReadOptions(self.settings.max_line_bytes, self.settings.include_responses, first_line)
        chunk: list[Record] = []
        try:
            for item in module.read(stream, display, options):
                if isinstance(item, Skipped):
                    summary.skipped += 1
                    summary.skipped_reasons[_reason_kind(item.reason)] = (
                        summary.skipped_reasons.get(_reason_kind(item.reason), 0) + 1
                    )
                    if len(self.skipped) < SKIPPED_KEPT:
                        self.skipped.append(item)
                    continue
                summary.records += 1
                chunk.append(item)
                if len(chunk) >= self.settings.batch_records:
                    self._process(chunk, summary)
                    chunk = []
        except SourceError as exc:
            self.errors.append(ScanError(display, exc.message, exc.position))
        except (EOFError, zlib.error, OSError) as exc:
            where = f"after record {summary.records + summary.skipped}"
            self.errors.append(ScanError(display, _decompress_problem(exc), where))
        finally:
            if chunk:
                self._process(chunk, summary)
            self._flush()

    # -- records ----------------------------------------------------------------------------------
    def _process(self, records: list[Record], summary: InputSummary) -> None:
        """Stage one for a chunk: destinations, the pattern pass, the NER decision, NER started.

        The chunk is finished (``_finish``) after the next chunk has been read and pattern-scanned,
        so that with ``--jobs`` > 1 the NER workers and the main process run at the same time.
        """
        if not self._frozen:
            # The analyzer, recognizers, catalog and policies live for the whole scan: built
            # before the first chunk and frozen out of the cyclic garbage collector, whose full
            # passes would otherwise walk them again and again while records stream through (a
            # sixth of a patterns-only scan). A scan that reads no record never loads them.
            self.detector.prepare()
            gc.freeze()
            self._frozen = True
        segments = [seg for r in records for seg in r.segments]
        dests = [self.classifier.classify(r.target, r.model, r.attributes) for r in records]
        mode = self.settings.pii_mode
        flags: list[bool] | bool
        if mode == "auto" and segments:
            first = self.detector.detect(segments, ner=False)
            flags = []
            pos = 0
            for record, dest in zip(records, dests, strict=True):
                n = len(record.segments)
                found = [d for ds in first[pos : pos + n] for d in ds]
                pos += n
                flags.extend([self.engine.needs_ner(record, dest, found)] * n)
        else:
            flags = mode == "full"
        pending = self.detector.submit([s.text for s in segments], flags, [s.key for s in segments])
        self._pending.append((records, dests, segments, pending, summary))
        while len(self._pending) > 1:
            self._finish(*self._pending.pop(0))

    def _report_progress(self) -> None:
        if self.on_progress is not None:
            done = sum(i.bytes for i in self.inputs) + (self._hashing.size if self._hashing else 0)
            self.on_progress(self._scanned, done)

    def _flush(self) -> None:
        while self._pending:
            self._finish(*self._pending.pop(0))

    def _finish(
        self,
        records: list[Record],
        dests: list[Destination],
        segments: list[Segment],
        pending: Pending,
        summary: InputSummary,
    ) -> None:
        per_segment = self.detector.detections(segments, self.detector.collect(pending))
        pos = 0
        for record, dest in zip(records, dests, strict=True):
            n = len(record.segments)
            detections = [d for ds in per_segment[pos : pos + n] for d in ds]
            pos += n
            self.findings.extend(self.policy_set.apply(self.engine.evaluate(record, dest, detections)))
            if record.kind != "config" or dest.host or dest.jurisdictions:
                # A config setting with no destination (a key, a flag) is not a place data goes.
                self._tally(record, dest, detections)
            summary.scanned += 1
            self._scanned += 1
            summary.unscanned_parts += record.unscanned_parts
        if len(self.findings) >= _STORE_AT and not self._holding:
            self.store_findings()
        self._report_progress()

    def store_findings(self) -> None:
        """Move the findings waiting in memory to the store."""
        self.store.add(self.findings)
        self.findings = []

    def _tally(self, record: Record, dest: Destination, detections: list) -> None:  # type: ignore[type-arg]
        key = f"{dest.host}|{dest.region}|{','.join(sorted(dest.jurisdictions))}"
        stats = self.destinations.get(key)
        if stats is None:
            stats = self.destinations[key] = DestinationStats(destination=dest)
        stats.records += 1
        personal = [
            d
            for d in detections
            if self.catalog.categories.get(d.category) is not None
            and self.catalog.categories[d.category].personal
            and d.score >= self.settings.min_score
        ]
        if personal:
            stats.records_with_detections += 1
        for cat in sorted({d.category for d in personal}):
            stats.categories[cat] = stats.categories.get(cat, 0) + 1
        if record.timestamp:
            if stats.first_seen is None or record.timestamp < stats.first_seen:
                stats.first_seen = record.timestamp
            if stats.last_seen is None or record.timestamp > stats.last_seen:
                stats.last_seen = record.timestamp

    def _register_notice(self) -> list[str]:
        if self.engine.register.entries or not self.engine.register_controls:
            return []
        return [
            "no approved-provider register is configured (organisation policy `register:`), so "
            f"{len(self.engine.register_controls)} controls that judge providers by it were not applied: "
            + ", ".join(self.engine.register_controls)
        ]

    def result(self, elapsed: float) -> ScanResult:
        self.store_findings()
        findings, self.store = self.store, FindingStore()
        count_statuses(findings, self.engine.stats.values())
        self.engine.assess(self.settings.pii_mode)
        return ScanResult(
            tool_version=__version__,
            model=self.detector.model_name,
            policies=[lp.info for lp in self.policies],
            inputs=self.inputs,
            findings=findings,
            controls=list(self.engine.stats.values()),
            destinations=sorted(self.destinations.values(), key=lambda d: d.destination.host),
            errors=self.errors,
            warnings=self.warnings,
            skipped=self.skipped,
            fail_on=self.settings.fail_on,
            min_score=self.settings.min_score,
            include_responses=self.settings.include_responses,
            fail_on_not_assessed=self.settings.fail_on_not_assessed or self.policy_set.fail_on_not_assessed,
            timings={
                "seconds": round(elapsed, 3),
                **{k: float(v) for k, v in self.detector.stats.items()},
                "ner_worker_peak_rss_mb": round(self.detector.ner.worker_peak_rss_mb, 1),
            },
            notices=self.policy_set.notices() + self._register_notice(),
            waivers=self.policy_set.summaries(),
            adjustments=list(self.policy_set.adjustments),
        )


@lru_cache(maxsize=1)
def _shipped_control_ids() -> frozenset[str]:
    """Every control id and alias of the shipped packs."""
    from scanner.policy import load_policies

    return frozenset(name for lp in load_policies() for c in lp.pack.controls for name in (c.id, *c.aliases))


_EARLY_POOL_BYTES = 4 * 1024 * 1024
# Findings held in memory before they are written to the store together.
_STORE_AT = 2048


def _reason_kind(reason: str) -> str:
    """Group skip reasons for summaries ("malformed JSON at column 7" → "malformed JSON")."""
    for marker in (" at ", " (", " longer than"):
        if marker in reason:
            return reason.split(marker, 1)[0] if marker != " longer than" else "line too long"
    return reason


def _decompress_problem(exc: BaseException) -> str:
    if isinstance(exc, EOFError):
        return "truncated compressed stream (unexpected end of data)"
    if isinstance(exc, zlib.error):
        return "corrupt compressed data"
    if type(exc).__name__ in {"BadGzipFile", "ZstdError"}:
        return f"corrupt compressed data ({type(exc).__name__})"
    return f"read error ({type(exc).__name__})"
