"""Shared fixtures: the repository root and one real scan of samples/ (real Presidio, real model)."""

from __future__ import annotations

from pathlib import Path

import pytest

from scanner.config import Settings
from scanner.models import ScanResult
from scanner.pipeline import Scanner

REPO_ROOT = Path(__file__).resolve().parents[1]
SAMPLES = REPO_ROOT / "samples"
SHARED = REPO_ROOT.parent / "shared"


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture(scope="session")
def scanner() -> Scanner:
    """A scanner with the au-privacy pack; its detector (and cache) is shared across tests."""
    return Scanner(Settings(policies=("au-privacy",)))


@pytest.fixture(scope="session")
def samples_result() -> ScanResult:
    return Scanner(Settings(policies=("au-privacy",))).scan([str(SAMPLES / "traffic")])
