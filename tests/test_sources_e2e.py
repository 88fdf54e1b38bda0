"""One scan over a directory that mixes every traffic log format, malformed variants and a
corrupt file: the corrupt file is an error, everything else is scanned, each format's records
produce findings, nothing is lost, and the CLI exits 2."""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path

import pytest
from traffic_helpers import FIXTURES
from typer.testing import CliRunner

from scanner.cli import app
from scanner.config import Settings
from scanner.models import ScanResult
from scanner.pipeline import Scanner
from scanner.sources import FORMATS

# Files that fail as a whole are checked on their own below.
_WHOLE_FILE_ERRORS = {"broken.yaml", "truncated.mitm"}
_PLANTED = [
    "123 456 782",
    "4111 1111 1111 1111",
    "olivia.bennett@example.com.au",
    "jack.thompson@example.com",
    "0412 345 678",
]


@pytest.fixture(scope="module")
def mixed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("mixed")
    for fmt_dir in sorted(FIXTURES.iterdir()):
        for src in sorted(fmt_dir.iterdir()):
            if src.name not in _WHOLE_FILE_ERRORS:
                (root / fmt_dir.name).mkdir(exist_ok=True)
                shutil.copy(src, root / fmt_dir.name / src.name)
    # A gzip archive cut off mid-stream, as an interrupted download leaves it.
    lines = (FIXTURES / "bedrock" / "invocations.jsonl").read_bytes() * 40
    whole = gzip.compress(lines, mtime=0)
    (root / "corrupt.jsonl.gz").write_bytes(whole[: len(whole) // 2])
    return root


@pytest.fixture(scope="module")
def result(mixed: Path) -> ScanResult:
    return Scanner(Settings()).scan([str(mixed)])


def _format_dir(path: str) -> str:
    return Path(path).parent.name


def test_only_the_corrupt_file_is_an_error(result: ScanResult) -> None:
    assert [(Path(e.path).name, e.message) for e in result.errors] == [
        ("corrupt.jsonl.gz", "truncated compressed stream (unexpected end of data)")
    ]
    assert result.errors[0].position is not None


def test_every_other_file_is_read_as_its_format_and_scanned(result: ScanResult) -> None:
    summaries = {
        f"{_format_dir(s.path)}/{Path(s.path).name}": s
        for s in result.inputs
        if Path(s.path).name != "corrupt.jsonl.gz"
    }
    expected = {
        f"{fmt_dir.name}/{src.name}": fmt_dir.name
        for fmt_dir in FIXTURES.iterdir()
        for src in fmt_dir.iterdir()
        if src.name not in _WHOLE_FILE_ERRORS
    }
    assert {name: s.format for name, s in summaries.items()} == expected
    for name, s in summaries.items():
        assert s.scanned == s.records > 0, name
        assert s.sha256 is not None and s.bytes > 0, name
        if "malformed" in name:
            assert s.skipped > 0 and sum(s.skipped_reasons.values()) == s.skipped, name


def test_each_format_produces_findings(result: ScanResult) -> None:
    by_path = {s.path: s.format for s in result.inputs}
    with_findings = {by_path[f.location.path] for f in result.findings}
    assert with_findings == {n for n, m in FORMATS.items() if m.KIND == "traffic"} - {"jsonl", "har"}


def test_skipped_records_are_all_reported_with_position(result: ScanResult) -> None:
    total = sum(s.skipped for s in result.inputs)
    assert total == len(result.skipped) > 0
    # Each names its file and a reason; line-oriented files also their line number.
    assert all(s.location.path and s.reason for s in result.skipped)
    assert all(s.location.line is not None for s in result.skipped if s.location.path.endswith(".jsonl"))


def test_region_hint_reaches_the_destination_inventory(result: ScanResult) -> None:
    regions = {(d.destination.host, d.destination.region) for d in result.destinations}
    assert ("acme-aoai-aue.openai.azure.com", "australiaeast") in regions
    assert ("acme-aoai-us.openai.azure.com", "eastus") in regions


def test_no_planted_value_in_any_finding_or_error(result: ScanResult) -> None:
    from scanner.reporters import REPORTERS, RenderOptions

    text = REPORTERS["json"](result, RenderOptions(color=False, width=120))
    assert json.loads(text)
    for value in _PLANTED:
        assert value not in text


def test_cli_exits_2_and_names_the_corrupt_file(mixed: Path) -> None:
    outcome = CliRunner().invoke(app, ["scan", str(mixed), "--report", "json"])
    assert outcome.exit_code == 2
    assert "corrupt.jsonl.gz" in outcome.stderr
    assert "truncated compressed stream" in outcome.stderr


@pytest.mark.parametrize("name", sorted(_WHOLE_FILE_ERRORS))
def test_whole_file_errors_name_file_and_position(name: str) -> None:
    path = next(FIXTURES.rglob(name))
    res = Scanner(Settings()).scan([str(path)])
    (error,) = res.errors
    assert error.path.endswith(name)
    assert error.position is not None and error.position.split()[0] in {"line", "byte"}
    # A truncated mitmproxy dump still yields the flows before the damage.
    assert res.inputs[0].scanned == (1 if name.endswith(".mitm") else 0)


TRAFFIC_FORMATS = {n for n, m in FORMATS.items() if m.KIND == "traffic"}


@pytest.mark.parametrize("name", sorted(TRAFFIC_FORMATS - {"jsonl", "har"}))
def test_input_format_flag_reads_each_format(name: str) -> None:
    src = sorted(p for p in (FIXTURES / name).iterdir() if p.name not in _WHOLE_FILE_ERRORS)[0]
    res = Scanner(Settings(input_format=name)).scan([str(src)])
    assert not res.errors
    assert res.inputs[0].format == name and res.inputs[0].scanned > 0


def test_forced_format_that_does_not_fit_is_an_error() -> None:
    # A Bedrock log read with --input-format bedrock; forced to another format it is an error.
    settings = Settings(input_format="bedrock")
    res = Scanner(settings).scan([str(FIXTURES / "bedrock" / "invocations.jsonl")])
    assert res.inputs[0].format == "bedrock" and res.inputs[0].scanned == 6
    res = Scanner(Settings(input_format="vcr")).scan([str(FIXTURES / "bedrock" / "invocations.jsonl")])
    assert [(e.message, e.position) for e in res.errors] == [("malformed JSON at line 2, column 1", "line 2")]


def test_unknown_format_lists_every_format_tried(tmp_path: Path) -> None:
    odd = tmp_path / "notes.json"
    odd.write_text('"hello world"\n')  # JSON, but neither a traffic log nor a configuration
    res = Scanner(Settings()).scan([str(odd)])
    (error,) = res.errors
    for name in FORMATS:
        assert name in error.message
    assert "hello" not in error.message
