"""Baselines (qicharts2 ``freeze``) and phases (``part`` / NHSRplotthedots ``rebase``) on every chart."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clusterqi.stats import p_chart, p_prime_chart, u_chart, u_prime_chart, xmr_chart
from clusterqi.stats.spc import check_baseline, check_phases

EXAMPLES = settings(max_examples=60, deadline=None)
RNG = np.random.default_rng(11)
COUNTS = RNG.binomial(200, np.r_[np.full(12, 0.2), np.full(12, 0.35)]).astype(float)
SIZES = np.full(24, 200.0)


def _charts(**options):
    return {
        "p": p_chart(COUNTS, SIZES, **options),
        "p_prime": p_prime_chart(COUNTS, SIZES, **options),
        "u": u_chart(COUNTS, SIZES, **options),
        "u_prime": u_prime_chart(COUNTS, SIZES, **options),
        "xmr": xmr_chart(COUNTS / SIZES, **options),
    }


@pytest.mark.parametrize("name", ["p", "p_prime", "u", "u_prime", "xmr"])
def test_baseline_sets_limits_from_the_first_points_only(name):
    frozen = _charts(baseline=12)[name]
    alone = _charts()[name].iloc[:0]  # same columns
    first_twelve = {
        "p": p_chart(COUNTS[:12], SIZES[:12]),
        "p_prime": p_prime_chart(COUNTS[:12], SIZES[:12]),
        "u": u_chart(COUNTS[:12], SIZES[:12]),
        "u_prime": u_prime_chart(COUNTS[:12], SIZES[:12]),
        "xmr": xmr_chart(COUNTS[:12] / SIZES[:12]),
    }[name]
    assert list(frozen.columns) == list(alone.columns)
    np.testing.assert_allclose(frozen.cl.iloc[:12], first_twelve.cl)
    np.testing.assert_allclose(frozen.ucl.iloc[:12], first_twelve.ucl)
    assert frozen.cl.nunique() == 1
    assert frozen.baseline.tolist() == [True] * 12 + [False] * 12
    # the later, higher points are judged against the baseline: a shift above it
    assert frozen["shift"].iloc[12:].all() or frozen["outside_limits"].iloc[12:].sum() >= 6


def test_a_boolean_baseline_mask_equals_the_same_points_given_as_a_number():
    mask = np.arange(24) < 12
    for name, chart in _charts(baseline=mask).items():
        np.testing.assert_allclose(chart.ucl, _charts(baseline=12)[name].ucl, err_msg=name)


@pytest.mark.parametrize("name", ["p", "p_prime", "u", "u_prime", "xmr"])
def test_each_phase_gets_the_limits_of_its_own_points(name):
    phased = _charts(phases=[12])[name]
    halves = {
        "p": [p_chart(COUNTS[s], SIZES[s]) for s in (slice(0, 12), slice(12, 24))],
        "p_prime": [p_prime_chart(COUNTS[s], SIZES[s]) for s in (slice(0, 12), slice(12, 24))],
        "u": [u_chart(COUNTS[s], SIZES[s]) for s in (slice(0, 12), slice(12, 24))],
        "u_prime": [u_prime_chart(COUNTS[s], SIZES[s]) for s in (slice(0, 12), slice(12, 24))],
        "xmr": [xmr_chart(COUNTS[s] / SIZES[s]) for s in (slice(0, 12), slice(12, 24))],
    }[name]
    assert phased.phase.tolist() == [0] * 12 + [1] * 12
    for k, half in enumerate(halves):
        part = phased[phased.phase == k]
        for column in ("cl", "lcl", "ucl", "signal", "rule", "run_signal"):
            assert part[column].tolist() == pytest.approx(half[column].tolist(), nan_ok=True) \
                if column in ("cl", "lcl", "ucl") else part[column].tolist() == half[column].tolist()


def test_a_shift_never_spans_two_phases():
    values = np.r_[np.tile([10.0, 12.0], 5), 13.0, 13.5, 13.2, 13.8, 13.1, 13.6, 13.3, 13.4]
    whole = xmr_chart(values)
    assert whole["shift"].iloc[10:].all()
    split = xmr_chart(values, phases=[14])
    assert not split["shift"].any()
    assert np.isnan(split.moving_range.iloc[14]) and np.isnan(split.moving_range.iloc[0])


def test_baseline_freezes_the_first_phase_and_later_phases_use_their_own_points():
    chart = xmr_chart(COUNTS / SIZES, baseline=6, phases=[12])
    assert chart.baseline.tolist() == [True] * 6 + [False] * 6 + [True] * 12
    assert chart.cl.iloc[0] == pytest.approx(np.mean(COUNTS[:6] / SIZES[:6]))
    assert chart.cl.iloc[12] == pytest.approx(np.mean(COUNTS[12:] / SIZES[12:]))


def test_attrs_hold_the_run_analysis_of_every_phase_and_the_last_as_anhoej():
    chart = p_prime_chart(COUNTS, SIZES, phases=[12])
    assert len(chart.attrs["anhoej_phases"]) == 2
    assert chart.attrs["anhoej"] is chart.attrs["anhoej_phases"][-1]


@pytest.mark.parametrize("bad, message", [
    (0, "expected a whole number of points from 1 to 24"),
    (2.5, "expected a whole number of points"),
    (np.ones(5, bool), "expected 24 booleans"),
    (np.zeros(24, bool), "selects no point"),
    (True, "expected a number of points or one boolean per point"),
])
def test_bad_baselines_are_refused_with_the_value(bad, message):
    with pytest.raises(ValueError, match=message):
        check_baseline(bad, 24)


@pytest.mark.parametrize("bad, message", [
    ([0], "not a 0-based position in 1..23"),
    ([24], "not a 0-based position in 1..23"),
    ([12, 6], "strictly increasing"),
])
def test_bad_phases_are_refused_with_the_value(bad, message):
    with pytest.raises(ValueError, match=message):
        check_phases(bad, 24)


def test_fix_after_n_and_baseline_together_are_refused():
    with pytest.raises(ValueError, match="give one"):
        xmr_chart(COUNTS, fix_after_n=6, baseline=6)


@EXAMPLES
@given(st.lists(st.floats(-50, 50, allow_nan=False), min_size=6, max_size=40), st.data())
def test_phased_xmr_limits_bracket_each_phase_centre(values, data):
    n = len(values)
    starts = sorted(data.draw(st.sets(st.integers(2, n - 2), max_size=2)))
    starts = [s for i, s in enumerate(starts) if i == 0 or s - starts[i - 1] >= 2]
    chart = xmr_chart(values, phases=starts or None, baseline=data.draw(st.integers(2, n)))
    # a phase with a single limit-setting point has no moving range, so no limits (NaN)
    shown = chart[chart.ucl.notna()]
    assert (shown.lcl <= shown.cl + 1e-9).all() and (shown.cl <= shown.ucl + 1e-9).all()
    assert chart.phase.nunique() == len(starts) + 1
