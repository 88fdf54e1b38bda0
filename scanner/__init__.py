"""sovscan: data-sovereignty compliance scanner for AI traffic and AI application configs.

Public API: ``scan_paths()``, ``detect_text()`` and ``__version__``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from scanner.config import Settings
    from scanner.models import ScanResult

__all__ = ["__version__", "detect_text", "scan_paths"]


def scan_paths(paths: list[str], settings: Settings | None = None) -> ScanResult:
    """Scan files, directories or ``-`` (stdin) and return the result (no files written).

    Large scans run NER in worker processes (``Settings.jobs``, default: all cores), started with
    ``forkserver``: as with any multiprocessing code, call this from under
    ``if __name__ == "__main__":`` in a script, or pass ``Settings(jobs=1)``.
    """
    from scanner.config import Settings
    from scanner.pipeline import Scanner

    return Scanner(settings or Settings()).scan(paths)


def detect_text(texts: list[str], model: str | None = None) -> list[list[dict[str, Any]]]:
    """Detection only: spans (type, start, end, score) for each text, exactly as a scan finds them."""
    from scanner.catalog import load_catalog
    from scanner.detectors.pii import PiiDetector
    from scanner.redact import hash_key

    detector = PiiDetector(load_catalog(), model=model, hash_key=hash_key())
    return [
        [{"type": s.entity, "start": s.start, "end": s.end, "score": s.score} for s in spans]
        for spans in detector.analyze_texts(texts)
    ]
