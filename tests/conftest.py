"""Shared fixtures and the rule for missing prerequisites.

Under ``CI=true`` a test whose prerequisite is missing (the real PHS files in ../shared, or
Debian's chromium) fails; elsewhere it skips with the reason. Use :func:`require` for that.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"
PHS_DIR = SHARED / "data" / "phs"
REFERENCE_DIR = SHARED / "reference"
CHROMIUM = Path("/usr/bin/chromium")


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def require(condition: bool, reason: str) -> None:
    """Skip (or, under CI=true, fail) when a test's prerequisite is missing."""
    if condition:
        return
    if in_ci():
        pytest.fail(f"prerequisite missing under CI=true: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def phs_dir() -> Path:
    """The real PHS open data folder (../shared/data/phs)."""
    require(PHS_DIR.is_dir(), f"real PHS files not found at {PHS_DIR}")
    return PHS_DIR


@pytest.fixture(scope="session")
def reference_dir() -> Path:
    """Published reference values for the statistics (../shared/reference)."""
    require(REFERENCE_DIR.is_dir(), f"reference values not found at {REFERENCE_DIR}")
    return REFERENCE_DIR


# --- synthetic Scotland, generated once per test session (cached on disk by seed and size) ---

SYNTHETIC_SEED = 42
SYNTHETIC_PERIOD_END = "2026-09"


@pytest.fixture(scope="session")
def synthetic_dir() -> Path:
    """A synthetic Scotland folder in PHS layouts (clusterqi.synthetic.ensure_synthetic)."""
    from clusterqi.synthetic import ensure_synthetic

    return ensure_synthetic(seed=SYNTHETIC_SEED)


@pytest.fixture(scope="session")
def synthetic_dataset(synthetic_dir):
    """The synthetic folder loaded through the real loaders."""
    from clusterqi.loaders import load_dataset

    return load_dataset(synthetic_dir)


@pytest.fixture(scope="session")
def synthetic_indicators(synthetic_dataset):
    """Indicator table for every shipped indicator on synthetic Scotland, 12 months to 2026-09."""
    from clusterqi.indicators import calculate_indicators, load_catalogue

    return calculate_indicators(synthetic_dataset, load_catalogue(), SYNTHETIC_PERIOD_END, months=12)
