"""SPC: Anhøj thresholds, run charts, p/u/XmR charts and their special-cause rules."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clusterqi.stats import anhoej_thresholds, p_chart, run_chart, u_chart, xmr_chart

EXAMPLES = settings(max_examples=100, deadline=None)
RULES = ["outside_limits", "shift", "trend", "two_of_three"]


def binomial_quantile(probability: float, size: int) -> int:
    """Smallest c with P(Binomial(size, 1/2) <= c) >= probability, by direct summation."""
    total = 0.0
    for c in range(size + 1):
        total += math.comb(size, c) / 2**size
        if total >= probability:
            return c
    return size


@pytest.mark.parametrize("n", range(10, 101))
def test_anhoej_thresholds_match_the_formula(n):
    longest, crossings = anhoej_thresholds(n)
    assert longest[0] == round(math.log2(n)) + 3
    assert crossings[0] == binomial_quantile(0.05, n - 1)


def test_run_chart_with_fewer_than_ten_useful_points_gives_no_analysis_and_says_so():
    chart = run_chart([1, 2, 3, 4, 5, 6, 7, 8, 9])
    assert chart.attrs["anhoej"]["longest_run"] is None
    assert not chart["signal"].any()
    assert "fewer than 10" in chart["note"].iloc[0]
    assert chart["longest_run"].isna().all()


def test_run_chart_ignores_points_on_the_median():
    values = [5, 1, 9, 5, 2, 8, 5, 3, 7, 5, 1, 9, 2, 8]
    chart = run_chart(values)
    assert chart["cl"].iloc[0] == 5
    assert chart.attrs["anhoej"]["n_useful"] == 10


def test_run_chart_signals_a_step_change_by_a_long_run():
    values = [3, 4, 3, 5, 4, 3, 4, 5, 3, 4, 8, 9, 8, 9, 8, 9, 8, 9, 9, 8]
    chart = run_chart(values)
    analysis = chart.attrs["anhoej"]
    assert analysis["signal"] and analysis["longest_run"] > analysis["longest_run_max"]
    assert chart["signal"].all()


@EXAMPLES
@given(st.lists(st.floats(min_value=-100, max_value=100, allow_nan=False), min_size=10, max_size=60))
def test_run_analysis_counts_are_consistent(values):
    analysis = run_chart(values).attrs["anhoej"]
    if analysis["longest_run"] is not None:
        assert 1 <= analysis["longest_run"] <= analysis["n_useful"]
        assert 0 <= analysis["crossings"] <= analysis["n_useful"] - 1


def test_xmr_limits_are_mean_plus_minus_266_mean_moving_range():
    values = [10, 12, 11, 13, 12, 11, 10, 12, 13, 11]
    chart = xmr_chart(values, screen_outliers=False)
    mean_mr = np.mean(np.abs(np.diff(values)))
    assert chart["cl"].iloc[0] == pytest.approx(np.mean(values))
    assert chart["ucl"].iloc[0] == pytest.approx(np.mean(values) + 2.66 * mean_mr)
    assert chart["lcl"].iloc[0] == pytest.approx(np.mean(values) - 2.66 * mean_mr)


def test_xmr_screening_drops_large_moving_ranges():
    values = [10, 11, 10, 11, 10, 11, 10, 11, 10, 40, 10, 11]
    assert xmr_chart(values, screen_outliers=True)["ucl"].iloc[0] < xmr_chart(values, screen_outliers=False)["ucl"].iloc[0]


def test_xmr_fix_after_n_sets_limits_from_the_baseline_only():
    values = [10, 11, 10, 11, 10, 11, 30, 31, 30, 31]
    chart = xmr_chart(values, fix_after_n=6)
    assert chart["cl"].iloc[0] == pytest.approx(10.5)
    assert chart["baseline"].tolist() == [True] * 6 + [False] * 4
    assert chart["outside_limits"].iloc[6:].all()


def test_shift_of_seven_points_is_flagged_with_direction():
    values = [10, 12, 9, 11, 10, 12, 9, 11, 10, 12, 13, 13.5, 12.5, 13, 12.8, 13.2, 12.6]
    chart = xmr_chart(values, improvement="decrease")
    shifted = chart["shift"].to_numpy()
    assert shifted[-7:].all() and not shifted[:9].any()
    assert set(chart.loc[chart["shift"], "flag"]) == {"concern"}
    assert "shift" in chart["rule"].iloc[-1]


def test_trend_of_seven_rising_points_is_flagged_on_all_seven():
    values = [5, 6, 5, 6, 5, 6, 5, 1, 2, 3, 4, 5, 6, 7, 5, 6]
    chart = xmr_chart(values, improvement="increase")
    assert chart["trend"].tolist() == [False] * 7 + [True] * 7 + [False] * 2
    trend_only = chart["rule"] == "trend (7 points rising or falling)"
    assert trend_only.any() and set(chart.loc[trend_only, "flag"]) == {"improvement"}


def test_point_outside_limits_is_flagged_neutral_without_a_direction():
    values = [10, 11, 10, 11, 10, 11, 10, 11, 10, 30, 10, 11]
    chart = xmr_chart(values, fix_after_n=9)
    assert chart["outside_limits"].tolist() == [False] * 9 + [True] + [False] * 2
    assert chart["flag"].iloc[9] == "neutral" and pd.isna(chart["flag"].iloc[0])
    assert chart["rule"].iloc[9] == "point outside the limits"


def test_two_of_three_points_near_the_upper_limit_are_flagged():
    base = [10, 11, 9, 10, 11, 9, 10, 11, 9, 10]
    chart = xmr_chart(base + [12.6, 10.5, 12.6, 9], fix_after_n=10)
    assert chart["ucl"].iloc[0] > 12.6 > chart["cl"].iloc[0] + (2 / 3) * (chart["ucl"].iloc[0] - chart["cl"].iloc[0])
    assert chart["two_of_three"].tolist()[-4:] == [True, False, True, False]
    assert chart["signal"].iloc[-2]


@EXAMPLES
@given(st.lists(st.floats(min_value=0, max_value=1000, allow_nan=False), min_size=2, max_size=40))
def test_signal_is_the_union_of_the_rules_and_flag_is_set_exactly_on_signals(values):
    chart = xmr_chart(values, improvement="increase")
    assert (chart["signal"] == chart[RULES].any(axis=1)).all()
    assert (chart["flag"].notna() == chart["signal"]).all()
    assert (chart["lcl"] <= chart["cl"]).all() and (chart["cl"] <= chart["ucl"]).all()


def test_p_chart_limits_are_clipped_to_zero_and_one():
    chart = p_chart([0, 1, 2, 1, 0, 2, 1, 0, 1, 2, 1, 9], [10] * 12)
    assert (chart["lcl"] >= 0).all() and (chart["ucl"] <= 1).all()
    assert chart["lcl"].iloc[0] == 0


def test_p_chart_excluded_points_do_not_set_the_centre_line_but_are_flagged():
    counts = [10, 11, 9, 10, 40, 10, 11, 9, 10, 10]
    chart = p_chart(counts, [100] * 10, exclude=[4])
    assert chart["cl"].iloc[0] == pytest.approx(90 / 900)
    assert chart["excluded"].tolist() == [False] * 4 + [True] + [False] * 5
    assert chart["outside_limits"].iloc[4]
    assert chart.attrs["anhoej"]["n_obs"] == 9


def test_u_chart_scales_values_and_limits_by_the_multiplier():
    chart = u_chart([20, 25, 18, 22], [1000, 1100, 900, 1000], multiplier=1000)
    assert chart["cl"].iloc[0] == pytest.approx(85 / 4000 * 1000)
    assert chart["value"].iloc[0] == pytest.approx(20.0)
    assert (chart["lcl"] >= 0).all()
    assert chart["ucl"].iloc[0] == pytest.approx(1000 * (85 / 4000 + 3 * np.sqrt(85 / 4000 / 1000)))


def test_chart_keeps_the_index_of_a_series():
    months = pd.Series([3.0, 4, 5, 4, 3, 4], index=pd.date_range("2025-01-01", periods=6, freq="MS"))
    assert xmr_chart(months).index.equals(months.index)


@pytest.mark.parametrize(("call", "argument"), [
    (lambda: xmr_chart([1, 2, 3], improvement="up"), "improvement"),
    (lambda: xmr_chart([1, 2, 3], fix_after_n=1), "fix_after_n"),
    (lambda: p_chart([1, 2], [10, 10], exclude=[5]), "exclude"),
    (lambda: p_chart([11, 2], [10, 10]), "counts"),
    (lambda: u_chart([1, 2], [0, 10]), "exposures"),
])
def test_invalid_chart_input_raises_value_error_naming_the_argument(call, argument):
    with pytest.raises(ValueError, match=argument):
        call()
