"""Scale-out on Ray: the scan ``pipeline.Scanner`` runs, split into shards, run by long-lived Ray
actors and merged into the ``ScanResult`` a single-machine scan of the same paths produces.

Where it sits: beside ``pipeline``, which it drives. The driver builds one ``Scanner`` (policies,
waivers, the merged tallies and ``Scanner.result()``); each actor builds one ``Scanner`` with
``jobs=1`` whose detector (spaCy model, caches) serves every shard the actor is given.

* Shards: every input file is one shard, except an uncompressed JSONL file larger than the shard
  size, which is cut just after newlines into byte ranges that each know the number of their first
  line. Compressed and whole-document formats (HAR, OTLP JSON, configs…) stay whole: their readers
  need the whole stream.
* Identical findings: a finding depends only on its own record, so records can be scanned anywhere.
  What a scan depends on beyond its records is fixed by the driver and sent to the workers: the
  spaCy model, the hash key, the waiver clock and the working directory (relative paths; a config
  file's ``.env`` beside it). Partials are merged in shard order, so the result does not depend on
  which worker finished first; only timings differ.
* Offline: Ray's usage-stats reporting is switched off before Ray is imported and a local runtime
  starts without its dashboard. Ray's processes talk only to each other.

Ray is imported only here and only when used: sovscan works without it (``sovscan[ray]``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import logging
import os
import socket
import time
from collections.abc import Callable, Generator, Iterable
from dataclasses import dataclass, field
from typing import Any, BinaryIO, NamedTuple

from scanner.config import Settings
from scanner.errors import ConfigError, ScannerError
from scanner.models import SKIPPED_KEPT, DestinationStats, InputSummary, ScanError, ScanResult, Skipped
from scanner.pipeline import Partial, Scanner
from scanner.redact import hash_key
from scanner.sources import FORMATS, sniff
from scanner.sources._io import GZIP_MAGIC, HEAD_BYTES, ZSTD_MAGIC

DEFAULT_SHARD_MB = 64
# Formats whose reader is one independent record per line, numbered from the stream's first line.
SPLITTABLE = frozenset({"jsonl"})
_BLOCK = 1 << 20
INSTALL_HINT = "install sovscan[ray]"


class Range(NamedTuple):
    """Bytes [start, end) of a file: whole lines, the first of them numbered ``first_line``."""

    start: int
    end: int
    first_line: int
    sha256: str


@dataclass(frozen=True, slots=True)
class Shard:
    """One unit of work: a whole file (``end`` is None), or a line-aligned byte range of one."""

    index: int
    file: int
    display: str
    real: str
    explicit: bool
    fmt: str | None = None
    start: int = 0
    end: int | None = None
    first_line: int = 1
    # What the driver read there: a worker that reads other bytes reports an error.
    sha256: str | None = None
    size: int = 0


@dataclass(slots=True)
class FilePlan:
    """One input file: its whole-file digest and size (as the driver read them) and its shards."""

    display: str
    sha256: str | None
    size: int
    shards: list[Shard] = field(default_factory=list)

    @property
    def split(self) -> bool:
        return self.shards[0].end is not None


# -- planning -------------------------------------------------------------------------------------
def cut_ranges(stream: BinaryIO, shard_bytes: int | None) -> tuple[str, int, list[Range]]:
    """Read ``stream`` once: (sha256, size, ranges). With ``shard_bytes``, the ranges cover the
    stream end to end; each but the last ends just after the first newline at or past
    ``shard_bytes`` from its start (so a line is never cut, and CRLF stays whole). Without it,
    no ranges. ``first_line`` counts lines as ``_io.iter_lines`` does (a last line without a
    newline is a line)."""
    whole = hashlib.sha256()
    part = hashlib.sha256()
    ranges: list[Range] = []
    pos = start = 0  # offset of the current block; start of the current range
    line = 1  # number of the current range's first line
    newlines = 0  # newlines in the current range so far
    while block := stream.read(_BLOCK):
        whole.update(block)
        if shard_bytes is not None:
            at = 0
            while True:
                # The range may end after a newline at offset >= start + shard_bytes - 1.
                search = max(start + shard_bytes - 1 - pos, at)
                nl = block.find(b"\n", search) if search < len(block) else -1
                if nl < 0:
                    break
                cut = nl + 1
                part.update(memoryview(block)[at:cut])
                newlines += block.count(b"\n", at, cut)
                ranges.append(Range(start, pos + cut, line, part.hexdigest()))
                line += newlines
                newlines = 0
                part = hashlib.sha256()
                start = pos + cut
                at = cut
            part.update(memoryview(block)[at:])
            newlines += block.count(b"\n", at)
        pos += len(block)
    if shard_bytes is not None and (start < pos or not ranges):
        ranges.append(Range(start, pos, line, part.hexdigest()))
    return whole.hexdigest(), pos, ranges


def splittable(head: bytes, display: str, input_format: str | None = None) -> str | None:
    """The format name if a file with this head may be split into line ranges, else None."""
    if head[:2] == GZIP_MAGIC or head[:4] == ZSTD_MAGIC:
        return None
    module = FORMATS.get(input_format) if input_format else sniff(head, display)
    return module.NAME if module is not None and module.NAME in SPLITTABLE else None


def plan(
    files: Iterable[tuple[str, str, bool]], shard_bytes: int, input_format: str | None = None
) -> list[FilePlan]:
    """Shards for the files (display path, real path, explicit) in scan order, numbered in order."""
    if shard_bytes < 1:
        raise ConfigError("the shard size must be at least one byte")
    plans: list[FilePlan] = []
    index = 0
    for number, (display, real, explicit) in enumerate(files):
        if real == "-":
            raise ConfigError("standard input (-) cannot be scanned on Ray: write it to a file first")
        try:
            with open(real, "rb") as fh:
                head = fh.read(HEAD_BYTES)
                fmt = splittable(head, display, input_format)
                fh.seek(0)
                big = fmt is not None and os.fstat(fh.fileno()).st_size > shard_bytes
                sha, size, ranges = cut_ranges(fh, shard_bytes if big else None)
        except OSError:
            # The worker meets the same problem and reports it as a single-machine scan does.
            plans.append(FilePlan(display, None, 0, [Shard(index, number, display, real, explicit)]))
            index += 1
            continue
        if len(ranges) > 1:
            shards = [
                Shard(
                    index + i,
                    number,
                    display,
                    real,
                    explicit,
                    fmt,
                    r.start,
                    r.end,
                    r.first_line,
                    r.sha256,
                    r.end - r.start,
                )
                for i, r in enumerate(ranges)
            ]
        else:
            shards = [Shard(index, number, display, real, explicit, sha256=sha, size=size)]
        plans.append(FilePlan(display, sha, size, shards))
        index += len(shards)
    return plans


# -- workers --------------------------------------------------------------------------------------
class ShardWorker:
    """The body of a Ray actor: one ``Scanner`` (and one loaded model) for every shard it scans."""

    def __init__(self, settings: Settings, cwd: str) -> None:
        self.problem: str | None = None
        try:
            os.chdir(cwd)  # relative input paths and the files beside them, as the driver sees them
        except OSError:
            self.problem = (
                f"{socket.gethostname()}: no directory {cwd} (the scan's working directory); "
                "inputs must be at the same paths on every node"
            )
            return
        try:
            self.scanner = Scanner(settings)
            if settings.pii_mode != "patterns":
                self.scanner.detector.warm_up()
        except ScannerError as exc:
            self.problem = f"{socket.gethostname()}: {exc}"

    def ready(self) -> str | None:
        """None, or why this worker cannot scan."""
        return self.problem

    def scan(self, shard: Shard) -> Partial:
        part = self.scanner.scan_part(
            shard.display,
            shard.real,
            shard.explicit,
            fmt=shard.fmt,
            start=shard.start,
            end=shard.end,
            first_line=shard.first_line,
        )
        read = part.inputs[0].sha256 if part.inputs else None
        if shard.sha256 is not None and read is not None and read != shard.sha256:
            where = f"bytes {shard.start}-{shard.end}" if shard.end is not None else None
            part.errors.append(
                ScanError(
                    shard.display,
                    "a worker read other bytes than the driver (the file changed during the scan, "
                    "or is not the same file at this path on every node)",
                    where,
                )
            )
        return part

    def close(self) -> None:
        self.scanner.detector.close()


Results = Generator[tuple[Shard, Partial], None, None]
# A runner scans shards with the workers' settings and yields (shard, partial) in any order.
Runner = Callable[[Settings, list[Shard]], Results]


def run_in_process(settings: Settings, shards: list[Shard]) -> Results:
    """Every shard in this process, in order: the sharded scan without Ray (tests, debugging)."""
    worker = ShardWorker(settings, os.getcwd())
    if worker.problem:
        raise ConfigError(worker.problem)
    try:
        for shard in shards:
            yield shard, worker.scan(shard)
    finally:
        worker.close()


# -- merging --------------------------------------------------------------------------------------
class Merger:
    """Merges partials into the driver in file and shard order as they arrive in any order.

    A partial waits only until the ones before it have come, then its findings go to the driver's
    store: with shards handed out largest first, few wait, and the driver's memory does not grow
    with the number of findings.
    """

    def __init__(self, driver: Scanner, plans: list[FilePlan]) -> None:
        self.driver = driver
        self.order = [(fplan, shard) for fplan in plans for shard in fplan.shards]
        self.next = 0
        self.waiting: dict[int, Partial] = {}
        self.summary: InputSummary | None = None
        self.records = 0  # records of the file's earlier shards: a range counts its records from 0

    def add(self, index: int, part: Partial) -> None:
        self.waiting[index] = part
        while self.next < len(self.order) and self.order[self.next][1].index in self.waiting:
            fplan, shard = self.order[self.next]
            self._merge(fplan, shard, self.waiting.pop(shard.index))
            self.next += 1

    def finish(self) -> None:
        if self.next != len(self.order):
            missing = [shard.index for _, shard in self.order[self.next :]]
            raise RuntimeError(f"shards never merged: {missing[:10]}")

    def _merge(self, fplan: FilePlan, shard: Shard, part: Partial) -> None:
        driver = self.driver
        if self.records:
            _shift_records(part, self.records)
        driver.findings.extend(part.findings)
        driver.store_findings()
        driver.errors.extend(part.errors)
        driver.warnings.extend(part.warnings)
        driver.skipped.extend(part.skipped[: SKIPPED_KEPT - len(driver.skipped)])
        for dest_key, stats in part.destinations.items():
            _merge_destination(driver.destinations, dest_key, stats)
        for control_key, (evaluated, passed, failed, unlocated) in part.controls.items():
            control = driver.engine.stats[control_key]
            control.evaluated += evaluated
            control.passed += passed
            control.failed += failed
            control.unlocated += unlocated
        driver.engine.kinds.update(part.kinds)
        for waiver, matched in zip(driver.policy_set.waivers, part.waivers, strict=True):
            waiver.matched += matched
        for name, count in part.detector.items():
            driver.detector.stats[name] = driver.detector.stats.get(name, 0) + count
        if shard.end is None:
            driver.inputs.extend(part.inputs)
            return
        for piece in part.inputs:
            self.records += piece.records
            self.summary = piece if self.summary is None else _add_summary(self.summary, piece)
        if shard is fplan.shards[-1]:
            if self.summary is not None:
                # Each range hashed its own bytes; the file's digest and size are the driver's.
                self.summary.sha256, self.summary.bytes = fplan.sha256, fplan.size
                driver.inputs.append(self.summary)
            self.summary, self.records = None, 0


def _shift_records(part: Partial, offset: int) -> None:
    for f in part.findings:
        if f.location.record is not None:
            f.location = dataclasses.replace(f.location, record=f.location.record + offset)
    part.skipped = [
        Skipped(dataclasses.replace(s.location, record=s.location.record + offset), s.reason)
        if s.location.record is not None
        else s
        for s in part.skipped
    ]


def _add_summary(into: InputSummary, piece: InputSummary) -> InputSummary:
    into.records += piece.records
    into.scanned += piece.scanned
    into.skipped += piece.skipped
    into.unscanned_parts += piece.unscanned_parts
    for reason, count in piece.skipped_reasons.items():
        into.skipped_reasons[reason] = into.skipped_reasons.get(reason, 0) + count
    return into


def _merge_destination(into: dict[str, DestinationStats], key: str, stats: DestinationStats) -> None:
    mine = into.get(key)
    if mine is None:
        into[key] = stats
        return
    mine.records += stats.records
    mine.records_with_detections += stats.records_with_detections
    for category, count in stats.categories.items():
        mine.categories[category] = mine.categories.get(category, 0) + count
    if stats.first_seen is not None and (mine.first_seen is None or stats.first_seen < mine.first_seen):
        mine.first_seen = stats.first_seen
    if stats.last_seen is not None and (mine.last_seen is None or stats.last_seen > mine.last_seen):
        mine.last_seen = stats.last_seen


# -- the scan -------------------------------------------------------------------------------------
def worker_settings(driver: Scanner) -> Settings:
    """The driver's settings with everything a node could resolve differently fixed by the driver."""
    s = driver.settings
    return dataclasses.replace(
        s,
        jobs=1,
        model=driver.detector.model_name,
        hash_key=hash_key(s.hash_key).decode("utf-8"),
        today=driver.policy_set.today,
    )


def scan_sharded(
    paths: list[str],
    settings: Settings,
    run: Runner = run_in_process,
    shard_bytes: int = DEFAULT_SHARD_MB << 20,
    on_progress: Callable[[int, int], None] | None = None,
) -> ScanResult:
    """Plan shards, scan them with ``run`` and merge: the ``ScanResult`` of ``Scanner.scan(paths)``."""
    started = time.perf_counter()
    driver = Scanner(settings)  # policies and settings fail here, before any worker starts
    try:
        plans = plan(driver.iter_inputs(paths), shard_bytes, settings.input_format)
        shards = [s for p in plans for s in p.shards]
        merger = Merger(driver, plans)
        records = done = 0
        if shards:
            with contextlib.closing(run(worker_settings(driver), shards)) as results:
                for shard, part in results:
                    records += sum(i.records for i in part.inputs)
                    done += shard.size
                    merger.add(shard.index, part)
                    if on_progress is not None:
                        on_progress(records, done)
        merger.finish()
    finally:
        driver.detector.close()
    result = driver.result(time.perf_counter() - started)
    result.timings["shards"] = float(len(shards))
    return result


# -- Ray ------------------------------------------------------------------------------------------
def import_ray() -> Any:
    """The ray module, with its usage-stats reporting switched off; a one-line error without it."""
    # Read by Ray when a runtime starts: no usage report is collected or sent.
    os.environ["RAY_USAGE_STATS_ENABLED"] = "0"
    try:
        import ray
    except ImportError:
        raise ConfigError(f"--ray needs Ray, which is not installed: {INSTALL_HINT}") from None
    return ray


def connect(address: str | None = None, num_cpus: int | None = None) -> tuple[Any, bool]:
    """Start a local Ray runtime (or join the cluster at ``address``) with usage-stats reporting
    off and no dashboard. Returns (the ray module, whether this call started the runtime)."""
    ray = import_ray()
    if ray.is_initialized():
        return ray, False
    try:
        if address:
            ray.init(address=address, logging_level=logging.WARNING, log_to_driver=False)
        else:
            ray.init(
                num_cpus=num_cpus or os.cpu_count() or 1,
                include_dashboard=False,
                logging_level=logging.WARNING,
                log_to_driver=False,
            )
    except (ConnectionError, RuntimeError, ValueError) as exc:
        where = f"the Ray cluster at {address}" if address else "a local Ray runtime"
        raise ConfigError(f"cannot start or join {where}: {exc}") from None
    return ray, True


def ray_runner(address: str | None = None, workers: int | None = None) -> Runner:
    """Scan shards on Ray actors: ``workers`` of them (default: one per CPU of the runtime), each
    given the next shard as soon as it is free, largest shards first (a short tail). The runtime
    is started (or joined) only when there is work, and shut down after if this started it."""

    def run(settings: Settings, shards: list[Shard]) -> Results:
        ray, started = connect(address, workers)
        try:
            yield from _run_actors(ray, settings, shards, workers)
        finally:
            if started:
                ray.shutdown()

    return run


def _run_actors(ray: Any, settings: Settings, shards: list[Shard], workers: int | None) -> Results:
    cpus = max(1, int(ray.cluster_resources().get("CPU", 1)))
    count = max(1, min(workers or cpus, len(shards)))
    # A shard's result depends only on its bytes: a crashed actor is restarted and the shard rerun.
    remote = ray.remote(num_cpus=1, max_restarts=2, max_task_retries=2)(ShardWorker)
    actors = [remote.remote(settings, os.getcwd()) for _ in range(count)]
    try:
        try:
            problems = ray.get([a.ready.remote() for a in actors])
        except ray.exceptions.RayError as exc:
            raise ConfigError(
                f"Ray workers could not start ({type(exc).__name__}); is sovscan installed on every node?"
            ) from None
        for problem in problems:
            if problem:
                raise ConfigError(f"Ray worker {problem}")
        queue = sorted(shards, key=lambda s: -s.size)
        idle = list(actors)
        running: dict[Any, tuple[Shard, Any]] = {}
        while queue or running:
            while idle and queue:
                actor, shard = idle.pop(), queue.pop(0)
                running[actor.scan.remote(shard)] = (shard, actor)
            ready, _ = ray.wait(list(running), num_returns=1)
            for ref in ready:
                shard, actor = running.pop(ref)
                idle.append(actor)
                yield shard, ray.get(ref)
    finally:
        for actor in actors:
            ray.kill(actor)


def scan_on_ray(
    paths: list[str],
    settings: Settings,
    *,
    address: str | None = None,
    workers: int | None = None,
    shard_mb: float = DEFAULT_SHARD_MB,
    on_progress: Callable[[int, int], None] | None = None,
) -> ScanResult:
    """``Scanner(settings).scan(paths)`` on Ray: a local runtime with ``workers`` CPUs (default:
    all cores), or the cluster at ``address``; JSONL files larger than ``shard_mb`` are split."""
    shard_bytes = max(1, int(shard_mb * (1 << 20)))
    import_ray()  # no Ray: say so before reading any input
    return scan_sharded(paths, settings, ray_runner(address, workers), shard_bytes, on_progress)
