"""The small error hierarchy. Per-file problems become ``ScanError`` values; these are for the rest."""

from __future__ import annotations


class ScannerError(Exception):
    """Base class: a problem the CLI reports in one line and exits 2 for."""


class ConfigError(ScannerError):
    """Settings, the rules catalog or the environment (e.g. no spaCy model) are unusable."""


class PolicyError(ScannerError):
    """A policy pack or organisation policy file is invalid."""


class SourceError(ScannerError):
    """An input file cannot be read as any (or the requested) format.

    ``position`` names where in the file (``line 3``, ``entry 2``, ``byte 512``).
    """

    def __init__(self, message: str, position: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.position = position
