"""Command line (typer): the only place that prints, writes files or exits.

Exit codes: 0 nothing open at or above ``--fail-on``; 1 open findings at or above it (or, with
``--fail-on-not-assessed``, a selected pack not assessed: ``scanner.verdict``); 2 usage, input or
policy error (the scan still runs over every readable input first).
Heavy modules (spaCy, Presidio) are imported inside the commands that need them.
"""

from __future__ import annotations

import dataclasses
import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from scanner import __version__
from scanner.config import Settings
from scanner.errors import ScannerError
from scanner.models import Severity

EXIT_OK, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2

app = typer.Typer(
    name="sovscan",
    help="Data-sovereignty compliance scanner for AI traffic logs and AI application configs.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
policy_app = typer.Typer(
    help="List, show, explain and validate policy packs and organisation policies.", no_args_is_help=True
)
app.add_typer(policy_app, name="policy")


def _err(message: str) -> None:
    typer.echo(f"sovscan: {message}", err=True)


def _fail(message: str) -> typer.Exit:
    _err(message)
    return typer.Exit(EXIT_ERROR)


def _parse_reports(specs: list[str]) -> list[tuple[str, str | None]]:
    from scanner.reporters import REPORTERS

    out: list[tuple[str, str | None]] = []
    for spec in specs or ["console"]:
        fmt, _, path = spec.partition(":")
        fmt = fmt.strip().lower()
        if fmt not in REPORTERS:
            raise _fail(f"--report {spec}: unknown format {fmt!r} (choose from {', '.join(REPORTERS)})")
        out.append((fmt, path or None))
    return out


# Options that every scanning command spells the same way.
PolicyFileOption = Annotated[
    list[Path], typer.Option("--policy-file", help="Policy pack or organisation policy file (repeatable).")
]
ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config",
        help="Organisation policy file (default: ./sovscan.yaml, else tool.sovscan in ./pyproject.toml).",
    ),
]


@app.command()
def scan(
    paths: Annotated[list[str], typer.Argument(help="Files, directories (recursive) or - for stdin.")],
    policy: Annotated[
        list[str], typer.Option("--policy", "-p", help="Shipped policy pack id (repeatable; default: all).")
    ] = [],  # noqa: B006
    policy_file: PolicyFileOption = [],  # noqa: B006
    config: ConfigOption = None,
    report: Annotated[
        list[str],
        typer.Option(
            "--report",
            "-r",
            help="FMT[:PATH], repeatable: console, json, sarif, junit, html, markdown, csv. No PATH: stdout.",
        ),
    ] = [],  # noqa: B006
    fail_on: Annotated[
        Severity, typer.Option("--fail-on", help="Exit 1 when an open finding is at least this severe.")
    ] = Settings.fail_on,
    input_format: Annotated[
        str | None, typer.Option("--input-format", help="Skip sniffing and read every input as this format.")
    ] = None,
    include_responses: Annotated[
        bool, typer.Option("--include-responses", help="Evaluate logged responses too.")
    ] = False,
    internal_host: Annotated[
        list[str],
        typer.Option("--internal-host", help="Host glob under the organisation's control (repeatable)."),
    ] = [],  # noqa: B006
    model: Annotated[
        str | None,
        typer.Option("--model", help="spaCy model package to use (default: best installed English model)."),
    ] = None,
    min_score: Annotated[
        float, typer.Option("--min-score", min=0.0, max=1.0, help="Minimum detection score.")
    ] = Settings.min_score,
    max_line_bytes: Annotated[
        int, typer.Option("--max-line-bytes", min=1024, help="Longer lines are skipped and reported.")
    ] = Settings.max_line_bytes,
    pii: Annotated[
        str,
        typer.Option("--pii", help="auto: NER where policies need it; full; patterns: no NER."),
    ] = "auto",
    inventory: Annotated[
        bool, typer.Option("--inventory", help="Full detection, for a complete data-flow inventory.")
    ] = False,
    jobs: Annotated[
        int | None, typer.Option("--jobs", "-j", min=1, help="Processes for NER (default: all cores).")
    ] = None,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks for internal errors.")] = False,
    baseline: Annotated[
        Path | None,
        typer.Option("--baseline", help="Baseline file: its known findings are reported as baselined."),
    ] = None,
    fail_on_not_assessed: Annotated[
        bool,
        typer.Option(
            "--fail-on-not-assessed",
            help="Exit 1 also when a selected policy pack could not be assessed (a register, records or "
            "a detector it needs is missing).",
        ),
    ] = False,
    fail_on_new_only: Annotated[
        bool,
        typer.Option("--fail-on-new-only", help="Only findings not in --baseline count (needs --baseline)."),
    ] = False,
    since: Annotated[
        str | None,
        typer.Option("--since", help="Scan only files changed since this git ref (plus untracked files)."),
    ] = None,
    ignore_unknown: Annotated[
        bool,
        typer.Option("--ignore-unknown", help="Files no input format recognises are not errors (for hooks)."),
    ] = False,
    ray: Annotated[
        bool,
        typer.Option("--ray", help=r"Scan on a local Ray runtime (all cores; needs sovscan\[ray])."),
    ] = False,
    ray_address: Annotated[
        str | None,
        typer.Option("--ray-address", help="Join the Ray cluster at ADDR (auto, HOST:PORT); implies --ray."),
    ] = None,
    ray_workers: Annotated[
        int | None,
        typer.Option("--ray-workers", min=1, help="Ray workers (default: one per CPU of the runtime)."),
    ] = None,
    shard_mb: Annotated[
        float,
        typer.Option("--shard-mb", min=0.0001, help="With --ray: split JSONL files into ~N MB shards."),
    ] = 64.0,
) -> None:
    """Scan AI traffic logs against policy packs and report findings."""
    reports = _parse_reports(report)
    if pii not in ("auto", "full", "patterns"):
        raise _fail(f"--pii {pii}: choose auto, full or patterns")
    if fail_on_new_only and baseline is None:
        raise _fail("--fail-on-new-only needs --baseline FILE (the findings that are not new)")
    known = _run(lambda: _load_baseline(baseline), debug) if baseline is not None else None
    # sovscan's own files are never inputs: the baseline and the reports this run writes.
    outputs = [Path(out) for _, out in reports if out and out != "-"]
    own_files = tuple(str(p) for p in [baseline, *outputs] if p is not None)
    if since is not None:
        paths = _run(lambda: _since(paths, since, own_files), debug)
    settings = _settings(
        debug,
        policy=policy,
        policy_file=policy_file,
        config=config,
        input_format=input_format,
        fail_on=fail_on,
        fail_on_not_assessed=fail_on_not_assessed,
        include_responses=include_responses,
        internal_hosts=tuple(internal_host),
        model=model,
        min_score=min_score,
        max_line_bytes=max_line_bytes,
        pii_mode="full" if inventory else pii,
        ignore_unknown=ignore_unknown,
        exclude_files=own_files,
    )
    if jobs:
        settings = dataclasses.replace(settings, jobs=jobs)
    distributed = (
        {"address": ray_address, "workers": ray_workers, "shard_mb": shard_mb} if ray or ray_address else None
    )
    result = _run(lambda: _scan(paths, settings, distributed), debug)
    if known is not None and baseline is not None:
        from scanner.baseline import apply

        apply(result, known, baseline.as_posix())
    _write_reports(result, reports)
    _github(result, reports)
    for error in result.errors:
        _err(error.one_line())
    for warning in result.warnings:
        _err(f"warning: {warning.one_line()}")
    if result.errors:
        raise typer.Exit(EXIT_ERROR)
    from scanner.verdict import gate_fails

    raise typer.Exit(EXIT_FINDINGS if gate_fails(result) else EXIT_OK)


def _load_baseline(path: Path) -> Any:
    from scanner.baseline import load

    return load(path)


def _since(paths: list[str], ref: str, skip: tuple[str, ...]) -> list[str]:
    from scanner.gitdiff import changed_files, select

    chosen = select(paths, changed_files(ref), skip=skip)
    if not chosen:
        _err(f"--since {ref}: no changed files to scan among {' '.join(paths)}")
    return chosen


def _github(result: Any, reports: list[tuple[str, str | None]]) -> None:
    """Inside GitHub Actions: annotations for open findings, and the job summary if asked for."""
    from scanner.reporters.github import render_annotations, render_summary

    if os.environ.get("GITHUB_ACTIONS") == "true":
        text = render_annotations(result)
        # A machine-readable report on stdout must stay parseable; the runner reads both streams.
        machine_stdout = any(fmt != "console" and path in (None, "-") for fmt, path in reports)
        stream = sys.stderr if machine_stdout else sys.stdout
        stream.write(text)
        stream.flush()
    summary_path = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary_path:
        try:
            with open(summary_path, "a", encoding="utf-8") as fh:
                fh.write(render_summary(result))
        except OSError as exc:
            _err(f"cannot write the job summary {summary_path}: {exc.strerror}")


def _settings(
    debug: bool,
    *,
    policy: list[str],
    policy_file: list[Path],
    config: Path | None,
    input_format: str | None,
    **options: Any,
) -> Settings:
    """The one way every scanning command turns its options into ``Settings``: the organisation
    policy file (``--config``, an organisation file among ``--policy-file``, else ./sovscan.yaml or
    ``[tool.sovscan]`` in ./pyproject.toml), the packs, the input format; the rest as given."""
    from scanner.sources import FORMATS

    packs, config = _run(lambda: _split_policy_files(policy_file, config), debug)
    if input_format is not None and input_format not in FORMATS:
        raise _fail(f"--input-format {input_format}: unknown format (choose from {', '.join(FORMATS)})")
    return Settings(
        policies=tuple(policy),
        policy_files=tuple(packs),
        config_file=config,
        input_format=input_format,
        **options,
    )


def _split_policy_files(files: list[Path], config: Path | None) -> tuple[list[Path], Path | None]:
    """Pack files vs the organisation policy file (``--config``, an org file given to --policy-file,
    or the one found in the current directory)."""
    from scanner.errors import PolicyError
    from scanner.orgpolicy import find_config, is_org_file

    packs: list[Path] = []
    for f in files:
        if not f.is_file():
            raise PolicyError(f"{f}: no such policy file")
        if is_org_file(f):
            if config is not None and config != f:
                raise PolicyError(f"{f}: only one organisation policy file per scan (already {config})")
            config = f
        else:
            packs.append(f)
    if config is not None and not config.is_file():
        raise PolicyError(f"{config}: no such organisation policy file")
    if config is None:
        found = find_config(Path.cwd())
        config = Path(found.name) if found else None  # shown relative in reports and errors
    return packs, config


def _scan(paths: list[str], settings: Any, distributed: dict[str, Any] | None = None) -> Any:
    from scanner.pipeline import Scanner
    from scanner.redact import mask_argv

    def run(on_progress: Any = None) -> Any:
        if distributed is not None:
            from scanner.distributed import scan_on_ray

            return scan_on_ray(paths, settings, on_progress=on_progress, **distributed)
        return Scanner(settings, on_progress=on_progress).scan(paths)

    interactive = sys.stderr.isatty() and not os.environ.get("CI")
    result = _scan_with_progress(paths, run) if interactive else run()
    result.generated_at = datetime.now(UTC).replace(microsecond=0).isoformat()
    result.command = mask_argv(["sovscan", *sys.argv[1:]])
    return result


def _scan_with_progress(paths: list[str], run: Any) -> Any:
    """A progress bar on stderr (records, MB/s, ETA) for interactive scans; never in CI or pipes."""
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        Progress,
        TaskProgressColumn,
        TextColumn,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    from scanner.sources import iter_files

    total = sum(os.path.getsize(real) for _, real, _ in iter_files(paths) if real != "-")
    columns = (
        TextColumn("scanning"),
        BarColumn(),
        TaskProgressColumn(),
        TextColumn("{task.fields[records]} records"),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=Console(stderr=True), transient=True) as progress:
        task = progress.add_task("scan", total=total or None, records=0)

        def update(records: int, done: int) -> None:
            progress.update(task, completed=done, records=records)

        return run(update)


def _run(fn: Any, debug: bool) -> Any:
    try:
        return fn()
    except ScannerError as exc:
        raise _fail(str(exc).replace("\n", "\n  ")) from None
    except KeyboardInterrupt:
        raise _fail("interrupted") from None
    except Exception as exc:
        if debug:
            raise
        # The message of an unexpected error could quote input; name the type only.
        raise _fail(f"internal error ({type(exc).__name__}); re-run with --debug for a traceback") from None


def _write_reports(result: Any, reports: list[tuple[str, str | None]]) -> None:
    from scanner.reporters import RenderOptions, write

    for fmt, path in reports:
        to_terminal = path is None and sys.stdout.isatty()
        color = to_terminal and "NO_COLOR" not in os.environ
        width = (
            160 if path else (typer.get_terminal_size()[0] if hasattr(typer, "get_terminal_size") else 120)
        )
        options = RenderOptions(color=color, width=max(width, 100))
        if path is None or path == "-":
            write(fmt, result, sys.stdout, options)
            sys.stdout.flush()
        else:
            try:
                Path(path).parent.mkdir(parents=True, exist_ok=True)
                with open(path, "w", encoding="utf-8", newline="") as out:
                    write(fmt, result, out, options)
            except OSError as exc:
                raise _fail(f"cannot write report {path}: {exc.strerror}") from None


@app.command()
def detect(
    source: Annotated[str, typer.Argument(help='Plain text or JSONL {"text": ...} lines; - for stdin.')],
    model: Annotated[str | None, typer.Option("--model", help="spaCy model package to use.")] = None,
    min_score: Annotated[float, typer.Option("--min-score", min=0.0, max=1.0)] = Settings.min_score,
    debug: Annotated[bool, typer.Option("--debug")] = False,
) -> None:
    """Detection only: one JSON line of spans per input line, in order."""
    import orjson

    from scanner.catalog import load_catalog
    from scanner.detectors.pii import PiiDetector, detect_lines
    from scanner.redact import hash_key
    from scanner.sources._io import iter_lines, open_binary

    def texts(stream: Any) -> Any:
        for number, line in iter_lines(stream):
            if line is None:
                _err(f"{source}:{number}: line too long; empty result written")
                yield ""
                continue
            raw = line.rstrip(b"\r\n")
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                _err(f"{source}:{number}: invalid UTF-8 at byte {exc.start}; decoded with replacement")
                text = raw.decode("utf-8", "replace")
            if text.lstrip().startswith("{"):
                try:
                    obj = orjson.loads(text)
                except orjson.JSONDecodeError:
                    obj = None
                if isinstance(obj, dict) and isinstance(obj.get("text"), str):
                    text = obj["text"]
            yield text

    def run() -> None:
        detector = PiiDetector(load_catalog(), model=model, min_score=min_score, hash_key=hash_key())
        try:
            stream = open_binary(source)
        except OSError as exc:
            raise _fail(f"{source}: cannot open: {exc.strerror}") from None
        with stream:
            out = sys.stdout
            for spans in detect_lines(detector, texts(stream)):
                line = {
                    "spans": [
                        {"type": s.entity, "start": s.start, "end": s.end, "score": s.score} for s in spans
                    ]
                }
                out.write(orjson.dumps(line).decode() + "\n")
        _err(f"model: {detector.model_name}")

    _run(run, debug)


@policy_app.command("list")
def policy_list() -> None:
    """List shipped policy packs and their controls."""
    from scanner.policy import load_policies

    for lp in _run(load_policies, False):
        typer.echo(f"{lp.pack.id}  {lp.pack.version}  {lp.pack.title}  ({len(lp.pack.controls)} controls)")
        for c in lp.pack.controls:
            typer.echo(f"  {c.id:<14} {c.severity.value:<8} {c.title}")


@policy_app.command("show")
def policy_show(
    pack_id: Annotated[str, typer.Argument(metavar="ID", help="Pack id (or a control id).")],
) -> None:
    """Show a pack: sources, review date, parameters and controls with citations."""
    from scanner.policytools import show_pack

    typer.echo(_run(lambda: show_pack(pack_id), False), nl=False)


@policy_app.command("explain")
def policy_explain(control_id: Annotated[str, typer.Argument(metavar="CONTROL-ID")]) -> None:
    """What a control checks, its citation and source, and an example failing and passing record."""
    from scanner.policytools import explain

    typer.echo(_run(lambda: explain(control_id), False), nl=False)


@policy_app.command("validate")
def policy_validate(
    files: Annotated[
        list[Path] | None,
        typer.Argument(
            help="Pack or organisation policy files (default: shipped packs and ./sovscan.yaml if present)."
        ),
    ] = None,
) -> None:
    """Validate packs and organisation files: schema and cross-references, errors name file:line and field."""
    from scanner.catalog import load_catalog
    from scanner.orgpolicy import find_config
    from scanner.policytools import validate

    def run() -> int:
        targets = list(files or [])
        if not targets:
            found = find_config(Path.cwd())
            targets = [found] if found else []
        problems, summary = validate(targets, load_catalog())
        for p in problems:
            _err(p)
        if not problems:
            typer.echo(summary)
        return len(problems)

    if _run(run, False):
        raise typer.Exit(EXIT_ERROR)


baseline_app = typer.Typer(help="Record known findings so CI fails only on new ones.", no_args_is_help=True)
app.add_typer(baseline_app, name="baseline")


@baseline_app.command("create")
def baseline_create(
    paths: Annotated[list[str], typer.Argument(help="Files or directories, as the CI scan names them.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Baseline file to write.")] = Path(
        ".sovscan-baseline.json"
    ),
    policy: Annotated[list[str], typer.Option("--policy", "-p", help="Shipped policy pack id.")] = [],  # noqa: B006
    policy_file: PolicyFileOption = [],  # noqa: B006
    config: ConfigOption = None,
    input_format: Annotated[
        str | None, typer.Option("--input-format", help="Read every input as this format.")
    ] = None,
    include_responses: Annotated[
        bool, typer.Option("--include-responses", help="Evaluate logged responses too.")
    ] = False,
    internal_host: Annotated[
        list[str], typer.Option("--internal-host", help="Host glob under the organisation's control.")
    ] = [],  # noqa: B006
    model: Annotated[str | None, typer.Option("--model", help="spaCy model package to use.")] = None,
    min_score: Annotated[
        float, typer.Option("--min-score", min=0.0, max=1.0, help="Minimum detection score.")
    ] = Settings.min_score,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks for internal errors.")] = False,
) -> None:
    """Scan PATHS and write every open finding's fingerprint to a baseline file (sorted, no raw values).

    The scan is the one ``sovscan scan`` makes with the same options, organisation policy included:
    waived and disabled findings are not recorded as open."""
    from scanner.baseline import create, dumps

    settings = _settings(
        debug,
        policy=policy,
        policy_file=policy_file,
        config=config,
        input_format=input_format,
        include_responses=include_responses,
        internal_hosts=tuple(internal_host),
        model=model,
        min_score=min_score,
        exclude_files=(str(output),),
    )
    result = _run(lambda: _scan(paths, settings), debug)
    for error in result.errors:
        _err(error.one_line())
    if result.errors:
        raise _fail(f"baseline not written to {output}: fix the input errors above first")
    known = create(result)
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(dumps(known), encoding="utf-8")
    except OSError as exc:
        raise _fail(f"cannot write baseline {output}: {exc.strerror}") from None
    typer.echo(f"wrote {output}: {len(known.entries)} finding(s) from {len(result.inputs)} file(s)")


@policy_app.command("schema")
def policy_schema(
    kind: Annotated[str, typer.Argument(help="pack, organisation, cases or register-attributes.")] = "pack",
) -> None:
    """Print the JSON Schema of a policy file kind (for editor completion and validation)."""
    from scanner.policytools import SCHEMAS, schema

    if kind not in SCHEMAS:
        raise _fail(f"unknown schema {kind!r} (choose from {', '.join(SCHEMAS)})")
    typer.echo(schema(kind), nl=False)


@app.command()
def version() -> None:
    """Print the version."""
    typer.echo(f"sovscan {__version__}")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
