"""DSR and ISR: suppression, exact limits below 10 events, validation."""

from __future__ import annotations

import numpy as np
import pytest

from clusterqi.stats import dsr, isr, poisson_exact_ci

STANDARD = [5000, 5500, 5500]


def test_dsr_is_not_calculated_below_ten_events_and_says_why():
    row = dsr([3, 3, 3], [100, 200, 300], STANDARD).iloc[0]
    assert np.isnan(row["value"]) and "< 10" in row["method"]


def test_dsr_of_equal_band_rates_is_that_rate_and_within_its_limits():
    row = dsr([10, 20, 30], [1000, 2000, 3000], STANDARD, multiplier=1000).iloc[0]
    assert row["value"] == pytest.approx(10.0)
    assert row["lower"] < row["value"] < row["upper"]


def test_dsr_needs_one_value_per_band():
    with pytest.raises(ValueError, match="standardisation category"):
        dsr([1, 2], [10, 20, 30], STANDARD)


def test_dsr_rejects_zero_population():
    with pytest.raises(ValueError, match="populations"):
        dsr([10, 20, 30], [0, 20, 30], STANDARD)


def test_isr_uses_exact_limits_below_ten_observed():
    row = isr(4, 8.0).iloc[0]
    exact = poisson_exact_ci(4).iloc[0]
    assert row["method"] == "Exact"
    assert row["value"] == 0.5
    assert row["lower"] == pytest.approx(exact["lower"] / 8) and row["upper"] == pytest.approx(exact["upper"] / 8)


def test_isr_is_vectorised_and_rejects_zero_expected():
    assert len(isr([4, 40, 400], [5, 50, 500])) == 3
    with pytest.raises(ValueError, match="expected"):
        isr(4, 0)
