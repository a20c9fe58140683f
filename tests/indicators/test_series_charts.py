"""The grouped SPC's chart kinds (ratio to Scotland, p', u'), baselines, phases, short series."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from clusterqi import stats
from clusterqi.indicators.series import (
    FEW_ITEMS_NOTE,
    MIN_POINTS_FOR_LIMITS,
    SHORT_SERIES_NOTE,
    add_spc,
    chart_type,
    spc_explanation,
    spc_frame,
)

IMPROVEMENT = {1.0: "increase", -1.0: "decrease", 0.0: None}
LENGTHS = [8, 24, 24, 30, 12, 24]


def _indicator(kind="rate", measure="items", seasonal=None, multiplier=1000.0, low_is_good=True):
    ind = SimpleNamespace(kind=kind, multiplier=multiplier, low_is_good=low_is_good,
                          numerator=SimpleNamespace(measure=measure))
    if seasonal is not None:
        ind.seasonal = seasonal
    return ind


def test_chart_type_follows_the_documented_choice():
    for kind in ("proportion", "rate"):
        for measure in ("items", "quantity", "cost", "ddd", "ome", "adq"):
            assert chart_type(_indicator(kind, measure=measure)) == "ratio_prime"
    assert chart_type(_indicator("rate", seasonal=True)) == "ratio_prime"
    local = SimpleNamespace(kind="rate", multiplier=100.0, low_is_good=False)
    assert chart_type(local) == "u_prime"
    assert chart_type(SimpleNamespace(kind="proportion")) == "p_prime"


def test_each_chart_kind_has_a_plain_sentence():
    assert "Scotland's rate that month" in spc_explanation(_indicator())
    assert "national trends" in spc_explanation(_indicator("proportion"))
    assert "own average" in spc_explanation(SimpleNamespace(kind="rate"))
    assert "own average" in spc_explanation(_indicator(), chart="p_prime")
    with pytest.raises(ValueError, match="chart 'pp'; expected one of"):
        spc_explanation(_indicator(), chart="pp")


def _series(rng, n, proportion):
    den = rng.integers(2_000, 9_000, n).astype(float)
    rate = 0.2 * rng.normal(1, 0.06, n) * np.where(np.arange(n) >= n // 2,
                                                   rng.choice([1.0, 1.4]), 1.0)
    if proportion:
        num = rng.binomial(den.astype(int), np.clip(rate, 0, 1)).astype(float)
    else:
        num = rng.poisson(den * rate).astype(float)
    return num, den


@pytest.mark.parametrize("chart", ["p_prime", "u_prime", "ratio_prime", "ratio_xmr"])
@pytest.mark.parametrize("baseline", [None, 6])
def test_grouped_spc_matches_stats_charts_series_by_series(chart, baseline):
    rng = np.random.default_rng(17)
    nums, dens, refs, ids, dirs, limits = [], [], [], [], [], []
    for i, n in enumerate(LENGTHS):
        num, den = _series(rng, n, chart == "p_prime")
        nums.append(num)
        dens.append(den)
        refs.append(20.0 * rng.normal(1, 0.1, n))       # Scotland's value each month
        ids.append(np.full(n, i))
        dirs.append(np.full(n, [1.0, -1.0, 0.0][i % 3]))
        limits.append(np.arange(n) < (baseline or n))
    num, den, ref, series, direction, limit = map(np.concatenate,
                                                  (nums, dens, refs, ids, dirs, limits))
    mult = 100.0
    y = num / den * mult
    got = spc_frame(y, num, den, np.full(len(y), chart, dtype=object), series,
                    np.full(len(y), mult), direction, limit_points=limit, reference=ref)
    start = 0
    for i, n in enumerate(LENGTHS):
        part = got.iloc[start:start + n]
        improvement = IMPROVEMENT[float(dirs[i][0])]
        scale = 1.0
        if chart == "p_prime":
            ref_chart = stats.p_prime_chart(nums[i], dens[i], improvement=improvement,
                                            baseline=baseline)
            scale = mult
        elif chart == "u_prime":
            ref_chart = stats.u_prime_chart(nums[i], dens[i], improvement=improvement,
                                            multiplier=mult, baseline=baseline)
        elif chart == "ratio_prime":
            # observed against expected = denominator x Scotland's rate that month
            expected_exposure = dens[i] * refs[i] / mult
            ref_chart = stats.u_prime_chart(nums[i], expected_exposure, improvement=improvement,
                                            baseline=baseline)
            scale = refs[i]
        else:
            ratio = nums[i] / dens[i] * mult / refs[i]
            ref_chart = stats.xmr_chart(ratio, improvement=improvement, baseline=baseline)
            ref_chart["lcl"] = ref_chart["lcl"].clip(lower=0)
            scale = refs[i]
        np.testing.assert_allclose(part.cl, ref_chart.cl * scale, rtol=1e-10)
        np.testing.assert_allclose(part.lcl, ref_chart.lcl * scale, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(part.ucl, ref_chart.ucl * scale, rtol=1e-10)
        assert part.spc_signal.tolist() == ref_chart.signal.tolist()
        assert part.spc_flag.tolist() == ref_chart.flag.tolist()
        assert part.spc_rule.tolist() == ref_chart.rule.tolist()
        assert part.run_signal.tolist() == ref_chart.run_signal.tolist()
        start += n


def _table(months=24, areas=("a-1", "a-2"), scot=None, seasonal_factor=None, seed=5):
    """Cluster month rows of one rate indicator: items follow Scotland's month effect."""
    rng = np.random.default_rng(seed)
    periods = pd.period_range("2024-10", periods=months, freq="M").strftime("%Y-%m")
    factor = (np.ones(months) if seasonal_factor is None else np.asarray(seasonal_factor))
    rows = []
    for area in areas:
        days = 10_000.0 * 30
        items = rng.poisson(days * 0.002 * factor * rng.normal(1, 0.02, months))
        for k, period in enumerate(periods):
            rows.append({"indicator_id": "rate", "level": "cluster", "area_id": area,
                         "period_type": "month", "period": period, "numerator": float(items[k]),
                         "denominator": days,
                         "value": items[k] / days * 1000,
                         "scotland_value": 2.0 * factor[k] if scot is None else scot[k]})
    return pd.DataFrame(rows)


def test_ratio_chart_divides_out_a_season_every_unit_shares():
    months = np.arange(24)
    season = 1 + 0.35 * np.cos(2 * np.pi * months / 12)     # a strong winter peak
    table = _table(seasonal_factor=season)
    catalogue = {"rate": _indicator()}
    out = add_spc(table, catalogue)
    assert set(out.spc_chart) == {"ratio_prime"}
    assert not out.spc_signal.any()
    xmr = add_spc(table, catalogue, charts={"rate": "ratio_xmr"})
    assert set(xmr.spc_chart) == {"ratio_xmr"} and not xmr.spc_signal.any()
    # limits in the indicator's units follow Scotland's season month by month; on the ratio
    # scale the half-width is sigma_z sqrt(CL / expected): wider in months expecting fewer items
    expected = out.denominator * out.scotland_value / 1000
    half = (out.ucl - out.cl) / out.scotland_value * np.sqrt(expected)
    assert half.round(9).nunique() == len(table.area_id.unique())
    ratio_limits = xmr.ucl / xmr.scotland_value
    assert ratio_limits.round(9).nunique() == len(table.area_id.unique())
    # the same data on a u chart flag the season
    u = stats.u_chart(table.numerator[:24], table.denominator[:24], multiplier=1000)
    assert u.signal.sum() >= 12


def test_short_series_get_no_limits_no_signal_and_a_note():
    table = _table(months=MIN_POINTS_FOR_LIMITS - 1)
    out = add_spc(table, {"rate": _indicator()})
    assert out[["cl", "lcl", "ucl"]].isna().all().all()
    assert not out.spc_signal.any() and not out.run_signal.any()
    assert (out.spc_rule == SHORT_SERIES_NOTE).all()
    assert (out.spc_chart == "ratio_prime").all()
    long = add_spc(_table(months=MIN_POINTS_FOR_LIMITS), {"rate": _indicator()})
    assert long.ucl.notna().all()


def test_months_without_a_scotland_value_do_not_count_as_useful():
    scot = np.full(24, 2.0)
    scot[:13] = np.nan
    out = add_spc(_table(scot=scot), {"rate": _indicator()})
    assert (out.spc_rule == SHORT_SERIES_NOTE).all()


def test_baseline_months_and_phases_reach_the_grouped_charts():
    table = _table()
    catalogue = {"rate": _indicator()}
    out = add_spc(table, catalogue, baseline_months=12, phases={"a-2": ["2025-10"]},
                  charts={"rate": "ratio_xmr"})
    a1 = out[out.area_id == "a-1"]
    ratio = (a1.value / a1.scotland_value).to_numpy()
    frozen = stats.xmr_chart(ratio, baseline=12)
    np.testing.assert_allclose(a1.ucl / a1.scotland_value, frozen.ucl)
    assert a1.spc_phase.tolist() == [0] * 24
    a2 = out[out.area_id == "a-2"]
    assert a2.spc_phase.tolist() == [0] * 12 + [1] * 12
    ratio2 = (a2.value / a2.scotland_value).to_numpy()
    phased = stats.xmr_chart(ratio2, baseline=12, phases=[12])
    np.testing.assert_allclose(a2.cl / a2.scotland_value, phased.cl)
    keyed = add_spc(table, catalogue, phases={("rate", "a-1"): ["2025-04"]})
    assert keyed[keyed.area_id == "a-1"].spc_phase.max() == 1
    assert keyed[keyed.area_id == "a-2"].spc_phase.max() == 0


def test_baseline_period_sets_limits_from_those_months():
    out = add_spc(_table(), {"rate": _indicator()}, baseline_period=(None, "2025-03"),
                  charts={"rate": "ratio_xmr"})
    a1 = out[out.area_id == "a-1"]
    ratio = (a1.value / a1.scotland_value).to_numpy()
    np.testing.assert_allclose(a1.cl / a1.scotland_value, np.mean(ratio[:6]))


@pytest.mark.parametrize("options, message", [
    ({"baseline_months": 1}, "baseline_months: 1; expected a whole number of months >= 2"),
    ({"baseline_period": ("2025-13", None)}, "'2025-13' is not a month"),
    ({"phases": {"a-1": ["spring"]}}, "'spring' is not a month"),
    ({"charts": {"rate": "pp"}}, r"charts\['rate'\]: 'pp'; expected one of"),
])
def test_bad_options_are_refused_naming_the_value(options, message):
    with pytest.raises(ValueError, match=message):
        add_spc(_table(), {"rate": _indicator()}, **options)


def test_a_planted_40_percent_step_is_signalled_after_the_step():
    """Power: 40 clusters with a +40% step at month 13 (ratio to Scotland, noise 3% a month)."""
    areas = [f"c-{k}" for k in range(40)]
    table = _table(areas=areas, seed=9)
    after = table.period >= "2025-10"
    table.loc[after, "numerator"] *= 1.4
    table["value"] = table.numerator / table.denominator * 1000
    out = add_spc(table, {"rate": _indicator(low_is_good=True)})
    found = out[after & out.spc_signal.fillna(False)].groupby("area_id").spc_flag.first()
    assert len(found) >= 0.8 * len(areas)
    assert set(found) == {"concern"}


def test_count_series_with_too_few_items_a_month_get_no_limits_and_a_note():
    table = _table()
    table["numerator"] = np.tile(np.r_[np.zeros(13), np.full(11, 6.0)], 2)
    table["value"] = table.numerator / table.denominator * 1000
    out = add_spc(table, {"rate": _indicator()})
    assert (out.spc_rule == FEW_ITEMS_NOTE).all() and not out.spc_signal.any()
    assert out.ucl.isna().all()
    # cost is not a count of items: the rule does not apply
    cost = add_spc(table, {"rate": _indicator(measure="cost")})
    assert cost.ucl.notna().any()


def test_the_ratio_chart_allows_for_a_national_trend_in_a_share():
    """A share rising 1.5% a month everywhere (DOAC uptake): no signal on the ratio chart."""
    months = 24
    trend = 0.5 * 1.015 ** np.arange(months)
    rng = np.random.default_rng(8)
    rows = []
    periods = pd.period_range("2024-10", periods=months, freq="M").strftime("%Y-%m")
    for area in ("a-1", "a-2", "a-3"):
        den = rng.integers(900, 1100, months).astype(float)
        num = rng.binomial(den.astype(int), trend).astype(float)
        rows += [{"indicator_id": "share", "level": "cluster", "area_id": area,
                  "period_type": "month", "period": p, "numerator": n, "denominator": d,
                  "value": n / d * 100, "scotland_value": t * 100}
                 for p, n, d, t in zip(periods, num, den, trend)]
    table = pd.DataFrame(rows)
    share = {"share": _indicator("proportion", multiplier=100.0)}
    assert not add_spc(table, share).spc_signal.any()
    assert add_spc(table, share, charts={"share": "p_prime"}).spc_signal.any()


def test_the_items_behind_a_cost_numerator_decide_when_there_are_too_few():
    table = _table()
    table["numerator_items"] = 3.0            # a few expensive items a month
    out = add_spc(table, {"rate": _indicator(measure="cost")})
    assert (out.spc_rule == FEW_ITEMS_NOTE).all()
    table["numerator_items"] = 40.0
    assert add_spc(table, {"rate": _indicator(measure="cost")}).ucl.notna().all()
