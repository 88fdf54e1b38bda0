"""One settings object, passed down as a value: defaults ← (later) sovscan.yaml ← CLI flags."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from scanner.models import Severity


@dataclass(frozen=True)
class Settings:
    policies: tuple[str, ...] = ()
    policy_files: tuple[Path, ...] = ()
    fail_on: Severity = Severity.HIGH
    # A selected policy pack that could not be assessed fails the gate (exit 1) too.
    fail_on_not_assessed: bool = False
    input_format: str | None = None
    include_responses: bool = False
    internal_hosts: tuple[str, ...] = ()
    model: str | None = None
    min_score: float = 0.4
    # Longer lines (JSONL records, config lines) are skipped and reported.
    max_line_bytes: int = 16 * 1024 * 1024
    hash_key: str | None = None
    batch_records: int = 512
    # Entries per content-hash cache: chats resend recent history, which a small cache holds (a
    # larger one found no more repeats on the benchmark corpora and only used more memory).
    cache_size: int = 25_000
    parameters: dict[str, object] = field(default_factory=dict)
    # "auto": patterns everywhere, NER where a policy could need it; "full": NER on every text
    # (--inventory: complete data-flow inventory); "patterns": no NER at all.
    pii_mode: str = "auto"
    jobs: int = field(default_factory=lambda: os.cpu_count() or 1)
    # Files no format recognises are listed as inputs but are not errors (hooks pass every file name).
    ignore_unknown: bool = False
    # Files a directory walk passes over: the baseline and the reports this run reads or writes.
    exclude_files: tuple[str, ...] = ()
    # Organisation policy file (sovscan.yaml, [tool.sovscan] in pyproject.toml, or --config).
    config_file: Path | None = None
    # The clock for waiver expiry (None: today); injected so results are reproducible.
    today: date | None = None
