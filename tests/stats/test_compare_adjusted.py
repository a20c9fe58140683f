"""The verdict: compare_adjusted judges a unit against a benchmark allowing for tau2.

Worked values by hand, and properties: it agrees with the adjusted funnel when the benchmark is
the funnel's centre, it is never bolder than the plain test, and more between-unit variance
never makes more units better or worse.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clusterqi.stats import Overdispersion, adjusted_z, compare_adjusted, overdispersion


def test_proportion_z_by_hand():
    od = Overdispersion(kind="proportion", phi=3.0, tau2=0.01, n=100, baseline=0.2)
    # (asin(sqrt(.3)) - asin(sqrt(.2))) / sqrt(1/(4*400) + .01) = 0.11599 / 0.10308 = 1.1253
    z = adjusted_z(120, 400, 0.2, od)
    assert z[0] == pytest.approx(1.1253, abs=1e-4)
    assert compare_adjusted(120, 400, 0.2, od, low_is_good=True) == "similar"
    # with no between-unit variance the same unit is far outside: 0.11599 / 0.025 = 4.640
    plain = Overdispersion(kind="proportion", phi=0.5, tau2=0.0, n=100, baseline=0.2)
    assert adjusted_z(120, 400, 0.2, plain)[0] == pytest.approx(4.640, abs=1e-3)
    assert compare_adjusted(120, 400, 0.2, plain, low_is_good=True) == "worse"
    assert compare_adjusted(120, 400, 0.2, plain, low_is_good=False) == "better"
    assert compare_adjusted(120, 400, 0.2, plain, low_is_good=None) == "higher"


def test_ratio_z_by_hand_and_benchmark_size():
    od = Overdispersion(kind="ratio", phi=2.0, tau2=0.004, n=150, baseline=1.0)
    # observed 1,300 against expected 1,000, benchmark ratio 1: (sqrt(1.3) - 1) /
    # sqrt(1/4000 + .004) = 0.14018 / 0.065192 = 2.1502
    assert adjusted_z(1300, 1000, 1.0, od)[0] == pytest.approx(2.1502, abs=1e-4)
    # the benchmark's own sampling error (500 expected) widens it: sqrt(1/4000 + .004 + 1/2000)
    assert adjusted_z(1300, 1000, 1.0, od, benchmark_size=500)[0] == pytest.approx(
        0.14018 / np.sqrt(0.00475), abs=1e-4)


def test_missing_or_empty_units_get_no_verdict():
    od = Overdispersion(kind="ratio", phi=2.0, tau2=0.004, n=150, baseline=1.0)
    got = compare_adjusted([10, 10, np.nan, 10], [0, 5, 5, 5], [1, np.nan, 1, 1], od, True)
    assert got.isna().tolist() == [True, True, True, False]


def test_confidence_sets_the_limit():
    od = Overdispersion(kind="proportion", phi=0.5, tau2=0.0, n=10, baseline=0.2)
    # z = 2.5: outside 95% (1.96), inside 99.8% (3.09)
    n = 400
    p = np.sin(np.arcsin(np.sqrt(0.2)) + 2.5 / (2 * np.sqrt(n))) ** 2
    assert compare_adjusted(p * n, n, 0.2, od, True) == "similar"
    assert compare_adjusted(p * n, n, 0.2, od, True, confidence=0.95) == "worse"


def test_bad_direction_is_refused():
    od = Overdispersion(kind="proportion", phi=0.5, tau2=0.0, n=10, baseline=0.2)
    with pytest.raises(ValueError, match="low_is_good"):
        compare_adjusted(1, 10, 0.2, od, low_is_good="yes")


@st.composite
def _units(draw):
    n_units = draw(st.integers(5, 40))
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.default_rng(seed)
    den = rng.integers(50, 20000, n_units).astype(float)
    p = np.clip(rng.normal(0.2, draw(st.floats(0.0, 0.08)), n_units), 0.01, 0.9)
    num = rng.binomial(den.astype(int), p).astype(float)
    return num, den


@settings(max_examples=60, deadline=None)
@given(_units())
def test_against_the_funnel_centre_the_verdict_is_the_adjusted_funnel_flag(units):
    num, den = units
    od = overdispersion(num, den, kind="proportion")
    if od.tau2 == 0:  # without tau2 the funnel uses the exact Wilson inversion, not z
        return
    flags = od.flag(num, den)["funnel_998"].to_numpy()
    verdict = compare_adjusted(num, den, od.baseline, od, low_is_good=None).to_numpy()
    expected = np.where(flags == "high", "higher", np.where(flags == "low", "lower", "similar"))
    assert (verdict == expected).all()


@settings(max_examples=60, deadline=None)
@given(_units(), st.floats(0.05, 0.5), st.floats(0.0, 0.05))
def test_more_between_unit_variance_never_makes_a_bolder_verdict(units, benchmark, tau2):
    num, den = units
    narrow = Overdispersion(kind="proportion", phi=1.0, tau2=0.0, n=len(num), baseline=benchmark)
    wide = Overdispersion(kind="proportion", phi=1.0, tau2=tau2, n=len(num), baseline=benchmark)
    z_narrow = adjusted_z(num, den, benchmark, narrow)
    z_wide = adjusted_z(num, den, benchmark, wide)
    assert np.all(np.abs(z_wide) <= np.abs(z_narrow) + 1e-12)
    assert np.all(np.sign(z_wide) == np.sign(z_narrow))
    judged_wide = compare_adjusted(num, den, benchmark, wide, True) != "similar"
    judged_narrow = compare_adjusted(num, den, benchmark, narrow, True) != "similar"
    assert not (judged_wide & ~judged_narrow).any()
