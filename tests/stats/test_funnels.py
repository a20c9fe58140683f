"""Funnel limits, over-dispersion, flags and reliability: properties and edge cases."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clusterqi.stats import (
    Overdispersion,
    funnel_limits_proportion,
    funnel_limits_ratio,
    overdispersion,
    reliability,
)

EXAMPLES = settings(max_examples=100, deadline=None)
LIMITS = ["lower_95", "upper_95", "lower_998", "upper_998"]


def overdispersed_practices(seed: int = 1, units: int = 400):
    """Practices whose true proportions vary around 0.3 far more than binomial noise."""
    rng = np.random.default_rng(seed)
    sizes = rng.integers(500, 20_000, units)
    truth = np.clip(rng.normal(0.3, 0.05, units), 0.01, 0.99)
    return rng.binomial(sizes, truth), sizes


@EXAMPLES
@given(p0=st.floats(min_value=0.01, max_value=0.99),
       sizes=st.lists(st.floats(min_value=1, max_value=1e6), min_size=2, max_size=20, unique=True))
def test_proportion_funnel_narrows_as_size_grows_and_contains_baseline(p0, sizes):
    sizes = sorted(sizes)
    limits = funnel_limits_proportion([p0 * 1e6], [1e6], sizes)
    assert (limits["lower_998"] <= limits["lower_95"]).all()
    assert (limits["lower_95"] <= limits["baseline"]).all() and (limits["baseline"] <= limits["upper_95"]).all()
    assert (limits["upper_95"] <= limits["upper_998"]).all()
    assert (np.diff(limits["upper_95"] - limits["lower_95"]) <= 1e-12).all()


@EXAMPLES
@given(sizes=st.lists(st.floats(min_value=0.5, max_value=1e5), min_size=2, max_size=20, unique=True))
def test_ratio_funnel_narrows_as_expected_grows_and_contains_target(sizes):
    limits = funnel_limits_ratio(sorted(sizes))
    assert (limits["lower_998"] <= limits["lower_95"]).all() and (limits["lower_95"] <= 1).all()
    assert (limits["upper_95"] >= 1).all() and (limits["upper_998"] >= limits["upper_95"]).all()
    assert (np.diff(limits["upper_95"] - limits["lower_95"]) <= 1e-9).all()


@EXAMPLES
@given(seed=st.integers(min_value=0, max_value=10_000), kind=st.sampled_from(["proportion", "ratio"]))
def test_overdispersion_does_not_depend_on_the_order_of_units(seed, kind):
    numerators, sizes = overdispersed_practices(seed, units=60)
    denominators = sizes if kind == "proportion" else sizes * 0.3
    order = np.random.default_rng(seed + 1).permutation(len(sizes))
    first = overdispersion(numerators, denominators, kind=kind)
    second = overdispersion(numerators[order], denominators[order], kind=kind)
    assert second.phi == pytest.approx(first.phi, rel=1e-9)
    assert second.tau2 == pytest.approx(first.tau2, rel=1e-9, abs=1e-15)


def test_overdispersed_practices_have_phi_above_one_and_wider_adjusted_limits():
    numerators, sizes = overdispersed_practices()
    od = overdispersion(numerators, sizes, kind="proportion")
    assert od.phi > 1 and od.tau2 > 0 and od.adjusted and od.n == len(sizes)
    adjusted = od.limits([1000, 10_000])
    plain = od.limits([1000, 10_000], adjusted=False)
    assert (adjusted["upper_998"] > plain["upper_998"]).all()
    assert (adjusted["lower_998"] < plain["lower_998"]).all()
    assert adjusted["adjusted"].all() and not plain["adjusted"].any()
    flags = od.flag(numerators, sizes)
    assert list(flags.columns) == ["funnel_95", "funnel_998", "funnel_95_unadjusted", "funnel_998_unadjusted"]
    # Allowing for over-dispersion flags fewer practices than binomial limits do.
    assert (flags["funnel_998"] != "within").sum() < (flags["funnel_998_unadjusted"] != "within").sum()


def test_identical_units_have_phi_zero_and_no_adjustment():
    od = overdispersion([30, 30, 30, 30], [100, 100, 100, 100])
    assert od.phi == 0 and od.tau2 == 0 and not od.adjusted
    assert od.flag([30], [100])["funnel_95"].tolist() == ["within"]


def test_one_unit_gives_no_adjustment():
    od = overdispersion([40], [50], kind="ratio")
    assert od.n == 1 and od.tau2 == 0


def test_without_overdispersion_adjusted_limits_equal_unadjusted_ones():
    od = overdispersion([10, 12, 8], [10.5, 11, 9], kind="ratio")
    assert od.tau2 == 0
    limits = od.limits([15, 20, 30])
    exact = funnel_limits_ratio([15, 20, 30])
    np.testing.assert_allclose(limits[LIMITS].to_numpy(), exact[LIMITS].to_numpy())


def test_ratio_overdispersion_flags_a_planted_high_unit():
    rng = np.random.default_rng(7)
    expected = rng.uniform(50, 500, 300)
    observed = rng.poisson(expected * np.exp(rng.normal(0, 0.15, 300))).astype(float)
    observed[0] = expected[0] * 3
    od = overdispersion(observed, expected, kind="ratio")
    assert od.tau2 > 0 and od.baseline == 1
    flags = od.flag(observed, expected)
    assert flags["funnel_998"].iloc[0] == "high"
    z = od.z_scores(observed, expected)
    assert z.iloc[0] > 3.090232


def test_winsorising_limits_the_pull_of_one_extreme_unit():
    numerators, sizes = overdispersed_practices(units=100)
    extreme = numerators.copy()
    extreme[0] = sizes[0]  # 100%
    untrimmed = overdispersion(extreme, sizes, trim=0.0)
    trimmed = overdispersion(extreme, sizes, trim=0.1)
    assert trimmed.phi < untrimmed.phi


def test_reliability_is_a_share_and_grows_with_size():
    numerators, sizes = overdispersed_practices()
    od = overdispersion(numerators, sizes)
    share = reliability([10, 100, 1000], [100, 1000, 10_000], dispersion=od)["reliability"]
    assert ((share > 0) & (share < 1)).all() and share.is_monotonic_increasing
    assert reliability([30, 30], [100, 100])["reliability"].tolist() == [0, 0]


def test_missing_units_are_left_out_and_flagged_as_missing():
    numerators, sizes = overdispersed_practices(units=50)
    with_gap = pd.Series(numerators, dtype=float)
    with_gap.iloc[3] = np.nan
    od = overdispersion(with_gap, sizes)
    assert od.n == 49
    assert pd.isna(od.flag(with_gap, sizes)["funnel_95"].iloc[3])


@pytest.mark.parametrize(("call", "argument"), [
    (lambda: overdispersion([1, 2], [10, 20], kind="rate"), "kind"),
    (lambda: overdispersion([1, 2], [10, 20], trim=0.6), "trim"),
    (lambda: overdispersion([11, 2], [10, 20]), "numerators"),
    (lambda: funnel_limits_ratio([0, 10]), "expected"),
    (lambda: funnel_limits_proportion([1], [10], sizes=[-5]), "sizes"),
    (lambda: Overdispersion(kind="proportion", phi=-1, tau2=0, n=3, baseline=0.2), "phi"),
])
def test_invalid_funnel_input_raises_value_error_naming_the_argument(call, argument):
    with pytest.raises(ValueError, match=argument):
        call()
