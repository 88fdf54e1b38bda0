"""Scale-out (scanner.distributed): the shard planner without Ray, then real Ray in local mode with
the real model — a sharded scan must report exactly what the single-machine scan reports."""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import importlib.util
import io
import itertools
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import REPO_ROOT, SAMPLES
from typer.testing import CliRunner

from scanner.cli import app
from scanner.config import Settings
from scanner.distributed import (
    Merger,
    Results,
    Shard,
    cut_ranges,
    plan,
    run_in_process,
    scan_on_ray,
    scan_sharded,
    worker_settings,
)
from scanner.errors import ConfigError
from scanner.models import ScanResult
from scanner.pipeline import Scanner
from scanner.reporters import REPORTERS, RenderOptions
from scanner.sources._io import iter_lines

OPENAI = "https://api.openai.com/v1/chat/completions"
# CRLF lines, blank lines (LF and CRLF), a malformed line and a last line without a newline.
TRICKY = b'{"a":1}\n\n\r\n{"b":2}\r\nnot json\n{"c":3}\r\n\n{"d":4}'


# -- the planner (no Ray) -------------------------------------------------------------------------
class _Trickle(io.RawIOBase):
    """A stream that returns at most ``step`` bytes a read: ranges must be found across blocks."""

    def __init__(self, data: bytes, step: int) -> None:
        self.data = io.BytesIO(data)
        self.step = step

    def read(self, size: int = -1) -> bytes:
        return self.data.read(self.step if size < 0 else min(size, self.step))


def _lines(data: bytes, first: int = 1) -> list[tuple[int, bytes | None]]:
    return list(iter_lines(io.BytesIO(data), first=first))


@pytest.mark.parametrize(
    "data", [TRICKY, TRICKY + b"\n", b"\n\n\n", b"x", b"a\r\nb\r\n", b'{"x":1}\n' * 5 + b'{"y":2}']
)
@pytest.mark.parametrize("step", [1, 3, 1 << 20])
def test_ranges_never_lose_duplicate_or_renumber_a_line(data: bytes, step: int) -> None:
    expected = _lines(data)
    for size in range(1, len(data) + 2):
        sha, total, ranges = cut_ranges(_Trickle(data, step), size)
        assert (sha, total) == (hashlib.sha256(data).hexdigest(), len(data))
        assert ranges[0].start == 0 and ranges[-1].end == len(data)
        assert all(a.end == b.start for a, b in itertools.pairwise(ranges))
        seen: list[tuple[int, bytes | None]] = []
        for r in ranges:
            piece = data[r.start : r.end]
            assert piece and r.sha256 == hashlib.sha256(piece).hexdigest()
            if r is not ranges[-1]:
                # Cut just after the first newline at or past the shard size: never inside a line.
                assert piece.endswith(b"\n") and b"\n" not in piece[size - 1 : -1]
            seen.extend(_lines(piece, r.first_line))
        assert seen == expected, size


def test_a_last_line_without_newline_stays_in_the_last_range() -> None:
    data = b'{"a":1}\n{"b":2}'  # a boundary right after line 1; line 2 ends at EOF
    _, _, ranges = cut_ranges(io.BytesIO(data), 8)
    assert [(r.start, r.end, r.first_line) for r in ranges] == [(0, 8, 1), (8, 15, 2)]
    _, _, ranges = cut_ranges(io.BytesIO(data), 9)  # the size reaches into the unterminated line
    assert [(r.start, r.end, r.first_line) for r in ranges] == [(0, 15, 1)]


def test_cut_ranges_without_a_size_only_hashes() -> None:
    assert cut_ranges(io.BytesIO(TRICKY), None) == (hashlib.sha256(TRICKY).hexdigest(), len(TRICKY), [])


def _envelope(i: int, content: str) -> bytes:
    body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": content}]}
    return json.dumps({"request_id": f"r{i}", "url": OPENAI, "body": body}).encode() + b"\n"


def test_plan_splits_only_large_uncompressed_jsonl(tmp_path: Path) -> None:
    data = b"".join(_envelope(i, f"message {i}") for i in range(20))
    (tmp_path / "a.jsonl").write_bytes(data)
    (tmp_path / "b.jsonl.gz").write_bytes(gzip.compress(data))
    (tmp_path / "small.jsonl").write_bytes(_envelope(0, "hello"))
    files = [(str(p), str(p), True) for p in sorted(tmp_path.iterdir())]
    har_path = str(SAMPLES / "traffic/browser-session.har")
    files.append((har_path, har_path, True))
    plans = plan(files, 300)
    split, gz, small, har = plans
    assert split.split and len(split.shards) > 3 and split.size == len(data)
    assert split.sha256 == hashlib.sha256(data).hexdigest()
    assert {s.fmt for s in split.shards} == {"jsonl"}
    for s in split.shards:  # every shard starts at its line: lines are 1 + newlines before it
        assert s.first_line == 1 + data[: s.start].count(b"\n")
    for whole in (gz, small, har):  # compressed, small, whole-document: one shard, read as usual
        assert not whole.split and len(whole.shards) == 1 and whole.shards[0].end is None
        assert whole.shards[0].sha256 == whole.sha256
    assert [s.index for p in plans for s in p.shards] == list(range(sum(len(p.shards) for p in plans)))
    # --input-format decides as it does for the scan: read as HAR, the file is not split.
    (forced,) = plan([files[0]], 300, input_format="har")
    assert not forced.split


def test_plan_refuses_stdin_and_leaves_unreadable_files_to_the_worker(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="standard input"):
        plan([("-", "-", True)], 100)
    missing = str(tmp_path / "missing.jsonl")
    (only,) = plan([(missing, missing, True)], 100)
    assert only.sha256 is None and only.shards[0].end is None


# -- comparing results ----------------------------------------------------------------------------
def _comparable(result: ScanResult) -> dict[str, Any]:
    """Everything a scan reports except its timings, field by field."""
    return {
        "findings": [
            (
                f.fingerprint,
                f.location.path,
                f.location.line,
                f.location.pointer,
                f.location.record,
                f.status,
                f.severity,
                f.control_id,
                f.policy_id,
                f.status_reason,
                [(d.entity, d.pointer, d.start, d.end, d.score, d.value_hash) for d in f.detections],
            )
            for f in result.findings
        ],
        "controls": [dataclasses.asdict(c) for c in result.controls],
        "destinations": [dataclasses.asdict(d) for d in result.destinations],
        "inputs": [dataclasses.asdict(i) for i in result.inputs],
        "skipped": [(s.location, s.reason) for s in result.skipped],
        "errors": result.errors,
        "warnings": result.warnings,
        "notices": result.notices,
        "waivers": [dataclasses.asdict(w) for w in result.waivers],
        "model": result.model,
        "policies": result.policies,
    }


def _json_report(result: ScanResult) -> str:
    return REPORTERS["json"](dataclasses.replace(result, timings={}), RenderOptions())


def assert_same(single: ScanResult, sharded: ScanResult) -> None:
    a, b = _comparable(single), _comparable(sharded)
    for key in a:
        assert a[key] == b[key], key
    assert _json_report(single) == _json_report(sharded)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Generated chat traffic with planted PII, plus a malformed line, blank lines, CRLF lines and
    a last line without a newline."""
    spec = importlib.util.spec_from_file_location("gen_chat_corpus", REPO_ROOT / "bench/gen_chat_corpus.py")
    assert spec and spec.loader
    gen = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = gen  # its dataclasses look their module up
    spec.loader.exec_module(gen)
    folder = tmp_path_factory.mktemp("corpus")
    raw = folder / "raw.jsonl"
    gen.generate(36, raw, seed=7, pii_rate=0.4)
    lines = raw.read_bytes().splitlines(keepends=True)
    lines.insert(5, b'{"url": "https://api.openai.com/v1/chat/completions", "body": {"messages": [\n')
    lines.insert(9, b"\n")
    lines.insert(14, b"   \r\n")
    lines = [line[:-1] + b"\r\n" if i % 3 == 0 and line.strip() else line for i, line in enumerate(lines)]
    lines.append(
        _envelope(99, "Last one, no newline: mail jo.bloggs@example.com, TFN 123 456 782").rstrip(b"\n")
    )
    out = folder / "traffic.jsonl"
    out.write_bytes(b"".join(lines))
    return out


def test_sharded_scan_in_process_matches_for_every_shard_size(corpus: Path) -> None:
    """The merge alone (no Ray): tiny, mid-sized and no shards give the single-machine result."""
    settings = Settings(policies=("au-privacy",), pii_mode="patterns", jobs=1)
    single = Scanner(settings).scan([str(corpus)])
    assert single.skipped and single.findings and single.inputs[0].records > 30
    for shard_bytes in (1, 700, 9000, 1 << 30):
        assert_same(single, scan_sharded([str(corpus)], settings, shard_bytes=shard_bytes))


def test_partials_arriving_out_of_order_merge_as_they_can(corpus: Path) -> None:
    """Shards finish in any order (Ray hands out the largest first): each partial waits only for
    the ones before it, and the result is the single-machine one."""
    settings = Settings(policies=("au-privacy",), pii_mode="patterns", jobs=1)
    single = Scanner(settings).scan([str(corpus)])
    yielded: list[int] = []

    def backwards(worker_settings: Settings, shards: list[Shard]) -> Results:
        done = list(run_in_process(worker_settings, shards))
        for shard, part in reversed(done):
            yielded.append(shard.index)
            yield shard, part

    assert_same(single, scan_sharded([str(corpus)], settings, run=backwards, shard_bytes=700))
    assert len(yielded) > 5 and yielded == sorted(yielded, reverse=True)

    # In order, nothing waits: each partial is merged (its findings stored) as it arrives.
    driver = Scanner(settings)
    plans = plan(driver.iter_inputs([str(corpus)]), 700)
    merger = Merger(driver, plans)
    parts = list(run_in_process(worker_settings(driver), [s for p in plans for s in p.shards]))
    for shard, part in parts:
        merger.add(shard.index, part)
        assert not merger.waiting and not driver.findings
    merger.finish()
    assert len(driver.store) == len(single.findings)
    # Backwards, each waits for the first shard (only the waiting is checked: the parts were merged above).
    merger = Merger(Scanner(settings), plans)
    for n, (shard, part) in enumerate(reversed(parts[1:]), start=1):
        merger.add(shard.index, part)
        assert len(merger.waiting) == n
    merger.add(parts[0][0].index, parts[0][1])
    assert not merger.waiting


# -- on Ray ---------------------------------------------------------------------------------------
ORG = """\
extends: [au-privacy]
waivers:
  - control: APP8-001
    scope: {apps: ["claims-assistant"]}
    reason: Pilot approved by the privacy officer.
    owner: privacy-officer@example.com
    expires: 2999-12-31
register:
  - name: Internal gateway
    hosts: ["llm-gateway.example.internal"]
"""


@pytest.fixture(scope="module")
def ray_runtime() -> Iterator[Any]:
    """One local Ray runtime for the module (2 CPUs), started the way sovscan starts it."""
    from scanner.distributed import connect

    ray, started = connect(num_cpus=2)
    yield ray
    if started:
        ray.shutdown()


@pytest.mark.slow
def test_ray_scan_of_samples_matches_single_machine(
    ray_runtime: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Relative paths, as a user types them: workers resolve them (and each config's .env) alike.
    monkeypatch.chdir(REPO_ROOT)
    settings = Settings(policies=("au-privacy",))
    single = Scanner(settings).scan(["samples"])
    assert single.findings and single.skipped and len(single.inputs) > 10
    distributed = scan_on_ray(["samples"], settings, shard_mb=600 / (1 << 20))
    assert distributed.timings["shards"] > len(single.inputs)  # the JSONL samples were split
    assert_same(single, distributed)


@pytest.mark.slow
def test_ray_scan_of_split_jsonl_matches_single_machine(
    ray_runtime: Any, corpus: Path, tmp_path: Path
) -> None:
    """Every line its own shard (two actors, each scanning many shards with one detector): same
    findings, lines, records, skipped lines, control and destination stats, waivers."""
    org = tmp_path / "sovscan.yaml"
    org.write_text(ORG, encoding="utf-8")
    settings = Settings(policies=("au-privacy",), config_file=org, jobs=1)
    single = Scanner(settings).scan([str(corpus)])
    assert {s.reason.split(" at ")[0] for s in single.skipped} == {"malformed JSON"}
    assert any(f.status == "waived" for f in single.findings)
    assert any(f.location.line and f.location.line > 30 for f in single.findings)
    distributed = scan_on_ray([str(corpus)], settings, shard_mb=1 / (1 << 20), workers=2)
    assert distributed.timings["shards"] > 3
    assert_same(single, distributed)


@pytest.mark.slow
def test_cli_scan_with_ray_writes_the_same_json_report(
    ray_runtime: Any, corpus: Path, tmp_path: Path
) -> None:
    runner = CliRunner()
    reports = {}
    for name, extra in (("single", ["--jobs", "1"]), ("ray", ["--ray", "--shard-mb", "0.01"])):
        out = tmp_path / f"{name}.json"
        args = ["scan", str(corpus), "--policy", "au-privacy", "--report", f"json:{out}", *extra]
        result = runner.invoke(app, args)
        assert result.exit_code == 1, result.output  # open findings: the same exit code
        report = json.loads(out.read_text(encoding="utf-8"))
        for volatile in ("generated_at", "command", "timings"):
            report.pop(volatile, None)
        reports[name] = report
    assert reports["single"] == reports["ray"]


def test_help_does_not_import_ray() -> None:
    code = (
        "import sys\n"
        "from typer.testing import CliRunner\n"
        "from scanner.cli import app\n"
        "for args in (['--help'], ['scan', '--help']):\n"
        "    assert CliRunner().invoke(app, args).exit_code == 0\n"
        "print(sorted(m for m in sys.modules if m == 'ray' or m.startswith('ray.')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_ray_option_without_ray_installed_is_one_line_error(tmp_path: Path) -> None:
    log = tmp_path / "t.jsonl"
    log.write_bytes(_envelope(0, "hello"))
    code = (
        "import sys\n"
        "sys.modules['ray'] = None  # import ray fails as if it were not installed\n"
        "from scanner.cli import main\n"
        f"sys.argv = ['sovscan', 'scan', '--ray', {str(log)!r}]\n"
        "main()\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert out.returncode == 2
    assert out.stderr.strip().splitlines() == [
        "sovscan: --ray needs Ray, which is not installed: install sovscan[ray]"
    ]
