"""Diff mode (``scan --since REF``): narrow the scan paths to files changed since a git ref.

Runs before the pipeline: it turns the user's paths into the changed files among them, named the
way a full scan names them (so fingerprints, and therefore baselines, match a full scan).

"Changed since REF" means: tracked files whose content differs between REF and the working tree
(committed, staged or not; ``git diff --name-only REF``, deleted files excluded) plus untracked
files that are not ignored (``git ls-files --others --exclude-standard``): exactly what a pull
request or a pre-commit run would add. Files under a directory argument are taken only if some
input format claims their name (as when walking a directory); a file named explicitly is taken if
it changed. Only local git commands run; nothing is fetched.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from scanner.errors import ConfigError
from scanner.sources import _SKIP_DIRS, is_candidate


def _git(args: list[str], cwd: Path) -> str:
    try:
        proc = subprocess.run(
            ["git", *args], cwd=cwd, capture_output=True, text=True, check=False, timeout=120
        )
    except FileNotFoundError:
        raise ConfigError("--since needs git, and git is not installed") from None
    except subprocess.TimeoutExpired:
        raise ConfigError(f"--since: git {args[0]} timed out") from None
    if proc.returncode != 0:
        first = (proc.stderr.strip().splitlines() or ["failed"])[0]
        raise ConfigError(f"--since: git {args[0]}: {first}")
    return proc.stdout


def repository_root(cwd: Path) -> Path:
    try:
        return Path(_git(["rev-parse", "--show-toplevel"], cwd).strip()).resolve()
    except ConfigError:
        raise ConfigError(f"--since: {cwd} is not inside a git repository") from None


def changed_files(ref: str, cwd: Path | None = None) -> set[Path]:
    """Absolute, resolved paths of files changed since ``ref`` (see the module docstring)."""
    here = (cwd or Path.cwd()).resolve()
    root = repository_root(here)
    if ref.startswith("-"):
        raise ConfigError(f"--since {ref}: not a git ref")
    try:
        _git(["rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"], root)
    except ConfigError:
        raise ConfigError(f"--since {ref}: unknown git ref") from None
    diff = _git(["diff", "--name-only", "-z", "--no-renames", "--diff-filter=d", ref, "--"], root)
    untracked = _git(["ls-files", "-z", "--others", "--exclude-standard"], root)
    names = [n for n in (diff + untracked).split("\0") if n]
    return {(root / n).resolve() for n in names}


def select(
    paths: list[str], changed: set[Path], cwd: Path | None = None, skip: tuple[str, ...] = ()
) -> list[str]:
    """The changed files among ``paths``, each named as a full scan of ``paths`` would name it.

    ``skip`` names files never to select (sovscan's own baseline and report files).
    """
    here = (cwd or Path.cwd()).resolve()
    out: list[str] = []
    seen: set[Path] = {(here / p).resolve() for p in skip}
    for raw in paths:
        if raw == "-":
            continue  # stdin has no history; a diff-mode scan leaves it out
        arg = Path(raw)
        full = (here / arg).resolve() if not arg.is_absolute() else arg.resolve()
        if full.is_dir():
            for target in sorted(changed):
                if target in seen or not target.is_file():
                    continue
                try:
                    rel = target.relative_to(full)
                except ValueError:
                    continue
                if any(part in _SKIP_DIRS for part in rel.parts[:-1]) or not is_candidate(target.name):
                    continue
                seen.add(target)
                out.append((arg / rel).as_posix())
        elif full in changed and full not in seen:
            seen.add(full)
            out.append(arg.as_posix())
    return out
