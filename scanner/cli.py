"""Command line (typer): the only place that prints, writes files or exits.

Exit codes: 0 nothing open at or above ``--fail-on``; 1 open findings at or above it;
2 usage, input or policy error (the scan still runs over every readable input first).
Heavy modules (spaCy, Presidio) are imported inside the commands that need them.
"""

from __future__ import annotations

import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from scanner import __version__
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
policy_app = typer.Typer(help="List, show and validate policy packs.", no_args_is_help=True)
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


@app.command()
def scan(
    paths: Annotated[list[str], typer.Argument(help="Files, directories (recursive) or - for stdin.")],
    policy: Annotated[
        list[str], typer.Option("--policy", "-p", help="Shipped policy pack id (repeatable; default: all).")
    ] = [],  # noqa: B006
    policy_file: Annotated[
        list[Path], typer.Option("--policy-file", help="A policy pack YAML file (repeatable).")
    ] = [],  # noqa: B006
    report: Annotated[
        list[str],
        typer.Option(
            "--report",
            "-r",
            help="FMT[:PATH], repeatable; formats: console, json, html, markdown, csv. No PATH: stdout.",
        ),
    ] = [],  # noqa: B006
    fail_on: Annotated[
        Severity, typer.Option("--fail-on", help="Exit 1 when an open finding is at least this severe.")
    ] = Severity.HIGH,
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
    ] = 0.4,
    max_line_bytes: Annotated[
        int, typer.Option("--max-line-bytes", min=1024, help="Longer lines are skipped and reported.")
    ] = 16 * 1024 * 1024,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks for internal errors.")] = False,
) -> None:
    """Scan AI traffic logs against policy packs and report findings."""
    from scanner.config import Settings
    from scanner.sources import FORMATS

    reports = _parse_reports(report)
    if input_format is not None and input_format not in FORMATS:
        raise _fail(f"--input-format {input_format}: unknown format (choose from {', '.join(FORMATS)})")
    settings = Settings(
        policies=tuple(policy),
        policy_files=tuple(policy_file),
        fail_on=fail_on,
        input_format=input_format,
        include_responses=include_responses,
        internal_hosts=tuple(internal_host),
        model=model,
        min_score=min_score,
        max_line_bytes=max_line_bytes,
    )
    result = _run(lambda: _scan(paths, settings), debug)
    _write_reports(result, reports)
    for error in result.errors:
        _err(error.one_line())
    if result.errors:
        raise typer.Exit(EXIT_ERROR)
    raise typer.Exit(EXIT_FINDINGS if result.open_findings(fail_on) else EXIT_OK)


def _scan(paths: list[str], settings: Any) -> Any:
    from scanner.pipeline import Scanner
    from scanner.redact import mask_argv

    result = Scanner(settings).scan(paths)
    result.generated_at = datetime.now(UTC).replace(microsecond=0).isoformat()
    result.command = mask_argv(["sovscan", *sys.argv[1:]])
    return result


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
    from scanner.reporters import REPORTERS, RenderOptions

    for fmt, path in reports:
        to_terminal = path is None and sys.stdout.isatty()
        color = to_terminal and "NO_COLOR" not in os.environ
        width = (
            160 if path else (typer.get_terminal_size()[0] if hasattr(typer, "get_terminal_size") else 120)
        )
        text = REPORTERS[fmt](result, RenderOptions(color=color, width=max(width, 100)))
        if path is None or path == "-":
            sys.stdout.write(text)
            sys.stdout.flush()
        else:
            try:
                Path(path).parent.mkdir(parents=True, exist_ok=True)
                Path(path).write_text(text, encoding="utf-8")
            except OSError as exc:
                raise _fail(f"cannot write report {path}: {exc.strerror}") from None


@app.command()
def detect(
    source: Annotated[str, typer.Argument(help='Plain text or JSONL {"text": ...} lines; - for stdin.')],
    model: Annotated[str | None, typer.Option("--model", help="spaCy model package to use.")] = None,
    min_score: Annotated[float, typer.Option("--min-score", min=0.0, max=1.0)] = 0.4,
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
        typer.echo(f"{lp.pack.id}  {lp.pack.version}  {lp.pack.title}")
        for c in lp.pack.controls:
            typer.echo(f"  {c.id:<14} {c.severity.value:<8} {c.title}")


@policy_app.command("validate")
def policy_validate(
    files: Annotated[
        list[Path] | None, typer.Argument(help="Pack files (default: the shipped packs).")
    ] = None,
) -> None:
    """Validate packs and cross-check them against rules/ (categories, jurisdictions, providers)."""
    from scanner.catalog import load_catalog
    from scanner.policy import cross_check, load_policies

    def run() -> int:
        catalog = load_catalog()
        policies = load_policies(files=list(files)) if files else load_policies()
        problems = cross_check(policies, catalog)
        for p in problems:
            _err(p)
        if not problems:
            n = sum(len(lp.pack.controls) for lp in policies)
            typer.echo(f"ok: {len(policies)} packs, {n} controls, {len(catalog.endpoints)} endpoint rules")
        return len(problems)

    if _run(run, False):
        raise typer.Exit(EXIT_ERROR)


@app.command()
def version() -> None:
    """Print the version."""
    typer.echo(f"sovscan {__version__}")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
