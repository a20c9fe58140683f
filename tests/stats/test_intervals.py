"""Intervals: ordering, widening with confidence, edge cases and errors for people."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clusterqi.stats import byars_ci, mean_ci, poisson_exact_ci, rate_ci, wilson_ci

EXAMPLES = settings(max_examples=100, deadline=None)
counts = st.integers(min_value=0, max_value=100_000)


@EXAMPLES
@given(data=st.data())
def test_wilson_lower_le_value_le_upper_and_wider_at_998(data):
    n = data.draw(st.integers(min_value=1, max_value=100_000))
    x = data.draw(st.integers(min_value=0, max_value=n))
    narrow = wilson_ci(x, n, 0.95).iloc[0]
    wide = wilson_ci(x, n, 0.998).iloc[0]
    assert 0 <= narrow["lower"] <= narrow["value"] <= narrow["upper"] <= 1
    assert wide["lower"] <= narrow["lower"] and wide["upper"] >= narrow["upper"]


@EXAMPLES
@given(x=counts, n=st.floats(min_value=1, max_value=1e7))
def test_rate_ci_contains_rate_and_widens_with_confidence(x, n):
    narrow = rate_ci(x, n, multiplier=1000, confidence=0.95).iloc[0]
    wide = rate_ci(x, n, multiplier=1000, confidence=0.998).iloc[0]
    assert narrow["lower"] <= narrow["value"] <= narrow["upper"]
    assert wide["lower"] <= narrow["lower"] + 1e-12 and wide["upper"] >= narrow["upper"]


@EXAMPLES
@given(x=counts)
def test_count_intervals_contain_the_count(x):
    for frame in (byars_ci(x), poisson_exact_ci(x)):
        assert 0 <= frame["lower"].iloc[0] <= x <= frame["upper"].iloc[0]


def test_rate_ci_switches_from_exact_to_byars_at_ten_events():
    assert rate_ci([9, 10], [1000, 1000])["method"].tolist() == ["Exact", "Byars"]


def test_zero_counts_have_zero_lower_limits():
    assert wilson_ci(0, 50)["lower"].iloc[0] == 0
    assert byars_ci(0)["lower"].iloc[0] == 0
    assert poisson_exact_ci(0)["lower"].iloc[0] == 0
    assert poisson_exact_ci(0)["upper"].iloc[0] == pytest.approx(3.6889, abs=1e-4)  # -ln(0.025)


def test_numerator_equal_to_denominator_has_upper_limit_one():
    row = wilson_ci(40, 40).iloc[0]
    assert row["value"] == 1 and row["upper"] == pytest.approx(1.0) and row["lower"] < 1


def test_missing_inputs_give_missing_outputs_and_keep_the_series_index():
    x = pd.Series([5, np.nan], index=["a", "b"])
    out = rate_ci(x, 100)
    assert out.index.tolist() == ["a", "b"]
    assert out.loc["b", ["value", "lower", "upper"]].isna().all()
    assert out.loc["a", "method"] == "Exact"


@pytest.mark.parametrize(("call", "argument"), [
    (lambda: wilson_ci(-1, 10), "numerator"),
    (lambda: wilson_ci(11, 10), "numerator"),
    (lambda: wilson_ci(1, 0), "denominator"),
    (lambda: rate_ci(1, -5), "denominator"),
    (lambda: byars_ci(-2), "count"),
    (lambda: wilson_ci(1, 10, confidence=95), "confidence"),
    (lambda: wilson_ci(1, 10, confidence=0.8), "confidence"),
    (lambda: wilson_ci(1, 10, confidence=1.0), "confidence"),
    (lambda: wilson_ci([1, 2], [10, 10, 10]), "same length"),
])
def test_invalid_input_raises_value_error_naming_the_argument(call, argument):
    with pytest.raises(ValueError, match=argument):
        call()


def test_mean_ci_uses_student_t():
    row = mean_ci([2.0, 4.0, 6.0]).iloc[0]
    assert row["value"] == 4
    assert row["upper"] - row["value"] == pytest.approx(4.302653 * 2 / np.sqrt(3), rel=1e-6)


def test_mean_ci_of_one_value_or_with_a_missing_value_has_no_interval():
    assert mean_ci([5.0])[["lower", "upper"]].isna().all(axis=None)
    assert mean_ci([5.0, np.nan, 3.0]).isna().all(axis=None)
