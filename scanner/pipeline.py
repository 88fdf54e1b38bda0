"""Orchestrates one scan: paths → sources → (destinations, detectors) → engine → ``ScanResult``.

Records stream through in bounded chunks: memory does not grow with input size (apart from the
findings themselves). Per-file problems become ``ScanError`` values and the scan goes on.
"""

from __future__ import annotations

import hashlib
import io
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any, BinaryIO

from scanner import __version__
from scanner.catalog import Catalog, load_catalog
from scanner.config import Settings
from scanner.destinations import Classifier
from scanner.detectors.pii import PiiDetector
from scanner.engine import Engine
from scanner.errors import SourceError
from scanner.models import (
    Destination,
    DestinationStats,
    Finding,
    InputSummary,
    Record,
    ScanError,
    ScanResult,
    Skipped,
)
from scanner.policy import LoadedPolicy, load_policies
from scanner.redact import hash_key
from scanner.sources import FORMATS, ReadOptions, iter_files, sniff
from scanner.sources._io import describe_bytes, open_binary, peek_head, wrap_decompress


class _HashingReader(io.RawIOBase):
    """Wraps the raw file to compute sha256 and size of exactly the bytes read."""

    def __init__(self, raw: BinaryIO) -> None:
        self.raw = raw
        self.sha = hashlib.sha256()
        self.size = 0

    def readinto(self, buffer: Any) -> int:
        n = self.raw.readinto(buffer)  # type: ignore[attr-defined]
        if n:
            self.sha.update(memoryview(buffer)[:n])
            self.size += n
        return int(n or 0)

    def readable(self) -> bool:
        return True

    def close(self) -> None:
        self.raw.close()
        super().close()


@dataclass
class Scanner:
    """Holds what lives for one scan: catalog, policies, classifier, detector, engine, tallies."""

    settings: Settings
    catalog: Catalog = field(init=False)
    policies: list[LoadedPolicy] = field(init=False)
    classifier: Classifier = field(init=False)
    detector: PiiDetector = field(init=False)
    engine: Engine = field(init=False)

    def __post_init__(self) -> None:
        s = self.settings
        self.catalog = load_catalog()
        self.policies = load_policies(list(s.policies), list(s.policy_files))
        self.classifier = Classifier(self.catalog, s.internal_hosts)
        self.detector = PiiDetector(
            self.catalog,
            model=s.model,
            min_score=s.min_score,
            hash_key=hash_key(s.hash_key),
            cache_size=s.cache_size,
        )
        self.engine = Engine(self.policies, self.catalog, s.min_score, s.include_responses)
        self.findings: list[Finding] = []
        self.inputs: list[InputSummary] = []
        self.errors: list[ScanError] = []
        self.skipped: list[Skipped] = []
        self.destinations: dict[str, DestinationStats] = {}

    # -- files ------------------------------------------------------------------------------------
    def scan(self, paths: list[str]) -> ScanResult:
        started = time.perf_counter()
        for display, real, explicit in iter_files(paths):
            self._scan_file(display, real, explicit)
        return self.result(time.perf_counter() - started)

    def _open(self, real: str) -> tuple[BinaryIO, _HashingReader | None]:
        if real == "-":
            return open_binary("-"), None
        hashing = _HashingReader(open(real, "rb", buffering=0))  # noqa: SIM115 - closed in _scan_file
        return wrap_decompress(io.BufferedReader(hashing, buffer_size=1 << 20)), hashing

    def _scan_file(self, display: str, real: str, explicit: bool) -> None:
        summary = InputSummary(path=display, sha256=None, format=None)
        try:
            stream, hashing = self._open(real)
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
                if explicit or head:
                    tried = ", ".join(FORMATS)
                    self.errors.append(
                        ScanError(
                            display,
                            f"unknown format (tried {tried}; use --input-format): {describe_bytes(head)}",
                        )
                    )
                return
            summary.format = module.NAME
            self._read_records(module, stream, display, summary)
            if hashing is not None:
                # Hash the whole file even if the reader stopped early.
                while hashing.read(1 << 20):
                    pass  # the bytes only feed the digest
                summary.sha256 = hashing.sha.hexdigest()
                summary.bytes = hashing.size
            self.inputs.append(summary)
        finally:
            stream.close()

    def _pick_format(self, head: bytes, display: str) -> ModuleType | None:
        if self.settings.input_format:
            return FORMATS[self.settings.input_format]
        return sniff(head, display)

    def _read_records(
        self, module: ModuleType, stream: BinaryIO, display: str, summary: InputSummary
    ) -> None:
        options = ReadOptions(self.settings.max_line_bytes, self.settings.include_responses)
        chunk: list[Record] = []
        try:
            for item in module.read(stream, display, options):
                if isinstance(item, Skipped):
                    summary.skipped += 1
                    summary.skipped_reasons[_reason_kind(item.reason)] = (
                        summary.skipped_reasons.get(_reason_kind(item.reason), 0) + 1
                    )
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

    # -- records ----------------------------------------------------------------------------------
    def _process(self, records: list[Record], summary: InputSummary) -> None:
        segments = [seg for r in records for seg in r.segments]
        per_segment = self.detector.detect(segments) if segments else []
        pos = 0
        for record in records:
            n = len(record.segments)
            detections = [d for ds in per_segment[pos : pos + n] for d in ds]
            pos += n
            dest = self.classifier.classify(record.target, record.model, record.attributes)
            self.findings.extend(self.engine.evaluate(record, dest, detections))
            self._tally(record, dest, detections)
            summary.scanned += 1
            summary.unscanned_parts += record.unscanned_parts

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

    def result(self, elapsed: float) -> ScanResult:
        findings = sorted(
            self.findings,
            key=lambda f: (
                -f.severity.rank,
                f.policy_id,
                f.control_id,
                f.location.path,
                f.location.line or 0,
                f.location.pointer,
                f.fingerprint,
            ),
        )
        return ScanResult(
            tool_version=__version__,
            model=self.detector.model_name,
            policies=[lp.info for lp in self.policies],
            inputs=self.inputs,
            findings=findings,
            controls=list(self.engine.stats.values()),
            destinations=sorted(self.destinations.values(), key=lambda d: d.destination.host),
            errors=self.errors,
            skipped=self.skipped,
            fail_on=self.settings.fail_on,
            min_score=self.settings.min_score,
            include_responses=self.settings.include_responses,
            timings={"seconds": round(elapsed, 3), **{k: float(v) for k, v in self.detector.stats.items()}},
        )


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


def iter_records(paths: list[str], settings: Settings) -> Iterator[Record]:
    """Records only (no detection), e.g. for tooling and tests."""
    scanner = Scanner(settings)
    options = ReadOptions(settings.max_line_bytes, settings.include_responses)
    for display, real, _ in iter_files(paths):
        stream = open_binary(real)
        with stream:
            module = scanner._pick_format(peek_head(stream), display)
            if module is None:
                continue
            for item in module.read(stream, display, options):
                if isinstance(item, Record):
                    yield item
