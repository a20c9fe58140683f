"""Laney p' and u' charts: the formula, and properties (widening, ordering, scale invariance)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from clusterqi.stats import laney_sigma_z, p_chart, p_prime_chart, u_chart, u_prime_chart

EXAMPLES = settings(max_examples=100, deadline=None)


def test_sigma_z_is_the_mean_moving_range_of_z_over_1128():
    assert laney_sigma_z([0.5, -1.0, 2.0]) == pytest.approx((1.5 + 3.0) / 2 / 1.128)
    # a missing z drops both ranges it takes part in, as diff() then na.rm does in qicharts2
    assert laney_sigma_z([0.0, np.nan, 1.0, 3.0]) == pytest.approx(2.0 / 1.128)


def test_p_prime_limits_follow_laney_by_hand():
    counts = np.array([30, 42, 25, 38, 50, 28, 33, 45, 29, 40.0])
    sizes = np.array([100, 120, 90, 110, 130, 95, 100, 125, 90, 115.0])
    centre = counts.sum() / sizes.sum()
    sd = np.sqrt(centre * (1 - centre) / sizes)
    z = (counts / sizes - centre) / sd
    sigma_z = np.abs(np.diff(z)).mean() / 1.128
    chart = p_prime_chart(counts, sizes)
    np.testing.assert_allclose(chart.cl, centre)
    np.testing.assert_allclose(chart.ucl, centre + 3 * sd * sigma_z)
    np.testing.assert_allclose(chart.lcl, centre - 3 * sd * sigma_z)
    np.testing.assert_allclose(chart.sigma_z, sigma_z)


def test_u_prime_limits_follow_laney_by_hand_with_a_multiplier():
    counts = np.array([120, 150, 98, 170, 130, 160, 110, 140, 155, 125.0])
    days = np.array([9000, 9500, 8800, 9900, 9100, 9700, 8900, 9300, 9600, 9200.0])
    centre = counts.sum() / days.sum()
    sd = np.sqrt(centre / days)
    sigma_z = np.abs(np.diff((counts / days - centre) / sd)).mean() / 1.128
    chart = u_prime_chart(counts, days, multiplier=1000)
    np.testing.assert_allclose(chart.cl, centre * 1000)
    np.testing.assert_allclose(chart.ucl, (centre + 3 * sd * sigma_z) * 1000)
    np.testing.assert_allclose(chart.lcl, np.maximum(centre - 3 * sd * sigma_z, 0) * 1000)
    assert chart.attrs["chart"] == "u_prime"


def test_over_dispersed_large_denominators_signal_on_p_but_not_on_p_prime():
    rng = np.random.default_rng(3)
    sizes = rng.integers(20_000, 30_000, 24).astype(float)
    rate = 0.3 * rng.normal(1, 0.08, 24)          # +-8% month to month: over-dispersed
    counts = rng.binomial(sizes.astype(int), rate).astype(float)
    assert p_chart(counts, sizes)["outside_limits"].sum() >= 12
    assert p_prime_chart(counts, sizes)["outside_limits"].sum() <= 1


@st.composite
def over_dispersed(draw, proportion: bool):
    n = draw(st.integers(8, 30))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    sizes = rng.integers(2_000, 50_000, n).astype(float)
    base = draw(st.floats(0.05, 0.6))
    spread = draw(st.floats(0.05, 0.3))
    rate = np.clip(base * rng.normal(1, spread, n), 0.001, 0.95)
    counts = (rng.binomial(sizes.astype(int), rate) if proportion
              else rng.poisson(sizes * rate)).astype(float)
    return counts, sizes


@EXAMPLES
@given(over_dispersed(proportion=True))
def test_p_prime_limits_are_wider_than_p_limits_when_over_dispersed(data):
    counts, sizes = data
    p, prime = p_chart(counts, sizes), p_prime_chart(counts, sizes)
    assume(prime["sigma_z"].iloc[0] > 1)
    assert ((prime.ucl >= p.ucl - 1e-12) & (prime.lcl <= p.lcl + 1e-12)).all()
    assert ((prime.ucl - prime.lcl) > (p.ucl - p.lcl)).any()


@EXAMPLES
@given(over_dispersed(proportion=True), st.booleans())
def test_p_prime_orders_lcl_cl_ucl_within_0_and_1(data, screen):
    chart = p_prime_chart(*data, screen_outliers=screen)
    assert (chart.lcl <= chart.cl).all() and (chart.cl <= chart.ucl).all()
    assert (chart.lcl >= 0).all() and (chart.ucl <= 1).all()


@EXAMPLES
@given(over_dispersed(proportion=False))
def test_u_prime_orders_lcl_cl_ucl_and_widens_when_over_dispersed(data):
    counts, exposures = data
    u, prime = u_chart(counts, exposures), u_prime_chart(counts, exposures)
    assert (prime.lcl <= prime.cl).all() and (prime.cl <= prime.ucl).all()
    if prime["sigma_z"].iloc[0] > 1:
        assert (prime.ucl >= u.ucl - 1e-12).all()


@EXAMPLES
@given(over_dispersed(proportion=False), st.sampled_from([0.001, 10.0, 1000.0]))
def test_u_prime_is_invariant_to_the_unit_of_exposure(data, factor):
    counts, exposures = data
    a = u_prime_chart(counts, exposures, multiplier=1000)
    b = u_prime_chart(counts, exposures * factor, multiplier=1000 * factor)
    for column in ("value", "cl", "lcl", "ucl"):
        np.testing.assert_allclose(a[column], b[column], rtol=1e-9, atol=1e-12)
    assert a["signal"].tolist() == b["signal"].tolist()


@EXAMPLES
@given(over_dispersed(proportion=True), st.integers(2, 50))
def test_p_prime_sigma_z_is_invariant_to_scaling_counts_and_sizes(data, factor):
    """Scaling every denominator by k scales each sigma_i by 1/sqrt(k) and each z by sqrt(k),
    so sigma_z x sigma_i (the limits) is unchanged: Laney's limits do not narrow as the
    denominators grow, unlike the p chart's."""
    counts, sizes = data
    a = p_prime_chart(counts, sizes)
    b = p_prime_chart(counts * factor, sizes * factor)
    for column in ("cl", "lcl", "ucl"):
        np.testing.assert_allclose(a[column], b[column], rtol=1e-9, atol=1e-12)
