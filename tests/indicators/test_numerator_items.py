"""Dose and cost indicators on a hand-made Scotland: DDDs from descriptions, the items behind every
numerator, intervals scaled from the item count, findings, and suppression on items."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clusterqi import stats
from clusterqi.disclosure import DisclosurePolicy, apply_disclosure, suppress_cells
from clusterqi.indicators import calculate_indicators, load_catalogue
from clusterqi.indicators.calculate import add_values
from clusterqi.indicators.doses import findings_frame
from tests.indicators import handmade

CATALOGUE = load_catalogue()
GABA = "gabapentinoid_ddd_per_1000_per_day"
LIDO = "lidocaine_plaster_cost_per_1000_per_day"
PPI = "high_dose_ppi_share"

# (code, description, quantity per item, cost per item)
PREGABALIN_75 = ("0408010AEAAACAC", "PREGABALIN 75MG CAPSULES", 56, 3.0)
GABAPENTIN_300 = ("0408010G0AAABAB", "GABAPENTIN 300MG CAPSULES", 100, 2.0)
GABAPENTIN_MIX = ("0408010G0AAAXAX", "GABAPENTIN 600MG TABLETS AND GABAPENTIN 300MG CAPSULES", 10, 1.0)
LIDOCAINE = ("1502010J0AAELEL", "LIDOCAINE 5% MEDICATED PLASTERS", 30, 70.0)
LANSO_15 = ("0103050L0AAABAB", "LANSOPRAZOLE 15MG GASTRO-RESISTANT CAPSULES", 28, 1.0)
LANSO_30 = ("0103050L0AAAAAA", "LANSOPRAZOLE 30MG GASTRO-RESISTANT CAPSULES", 28, 1.0)
LANSO_LIQUID = ("0103050L0AAAJAJ", "LANSOPRAZOLE 30MG/5ML ORAL SOLUTION", 100, 40.0)
# practice: items of each presentation per month
ITEMS = {
    "P1": {PREGABALIN_75: 10, GABAPENTIN_300: 5, GABAPENTIN_MIX: 2, LIDOCAINE: 3, LANSO_15: 4,
           LANSO_30: 6, LANSO_LIQUID: 9},
    "P2": {PREGABALIN_75: 20, LIDOCAINE: 1, LANSO_30: 10},
    "P4": {GABAPENTIN_300: 8, LIDOCAINE: 12, LANSO_15: 10},
}


def _dataset(with_descriptions: bool = True):
    base = handmade.dataset()
    rows = []
    for month in handmade.MONTHS:
        for practice, items in ITEMS.items():
            for (code, description, quantity, cost), n in items.items():
                rows.append((practice, month, code, n, n * quantity, n * cost,
                             description if with_descriptions else None))
    rx = pd.DataFrame(rows, columns=["practice_code", "month", "bnf_code", "items", "quantity",
                                     "cost", "description"])
    rx["dmd_code"] = None
    for column in ("practice_code", "bnf_code", "description", "dmd_code"):
        rx[column] = rx[column].astype("category")
    return dataclasses.replace(base, prescribing=rx)


@pytest.fixture(scope="module")
def table():
    catalogue = {i: CATALOGUE[i] for i in (GABA, LIDO, PPI)}
    return calculate_indicators(_dataset(), catalogue, "2025-02", months=2)


def _row(table, indicator, level, area, period="2025-01..2025-02"):
    hit = table[(table.indicator_id == indicator) & (table.level == level)
                & (table.area_id == area) & (table.period == period)]
    assert len(hit) == 1
    return hit.iloc[0]


def test_ddd_numerator_is_quantity_times_strength_over_ddd(table):
    p1 = _row(table, GABA, "practice", "P1")
    # per month: pregabalin 10 items x 56 x 75 mg / 300 + gabapentin 5 x 100 x 300 / 1800
    month = 10 * 56 * 75 / 300 + 5 * 100 * 300 / 1800
    assert p1.numerator == pytest.approx(2 * month)
    # the mixed pack's strength cannot be read: counted nowhere, not even in the items
    assert p1.numerator_items == 2 * (10 + 5)
    assert p1.value == pytest.approx(p1.numerator / p1.denominator * 1000)


def test_items_behind_numerators_are_summed_at_every_level(table):
    c1 = _row(table, GABA, "cluster", "c1")  # P1, P2, P3 (P3 prescribes none)
    assert c1.numerator_items == 2 * (15 + 20)
    scot = _row(table, GABA, "scotland", "S92000003")
    assert scot.numerator_items == 2 * (15 + 20 + 8)
    jan = _row(table, LIDO, "practice", "P4", "2025-01")
    assert (jan.numerator, jan.numerator_items) == (12 * 70.0, 12)


def test_items_measures_carry_their_own_count(table):
    ppi = table[table.indicator_id == PPI]
    assert (ppi["numerator_items"].fillna(-1) == ppi["numerator"].fillna(-1)).all()
    p1 = _row(table, PPI, "practice", "P1")
    # lansoprazole 30 mg in the numerator; 15 mg and 30 mg (not the liquid) in the denominator
    assert (p1.numerator, p1.denominator) == (2 * 6, 2 * (4 + 6))


def test_intervals_of_dose_and_cost_indicators_scale_the_item_interval(table):
    p4 = _row(table, LIDO, "practice", "P4")
    items, den = p4.numerator_items, p4.denominator
    ci = stats.rate_ci(items, den, multiplier=1, confidence=0.95)
    per_item = p4.numerator / items
    assert p4.lower_95 == pytest.approx(ci["lower"].iloc[0] * per_item * 1000)
    assert p4.upper_95 == pytest.approx(ci["upper"].iloc[0] * per_item * 1000)
    assert p4.lower_95 <= p4.value <= p4.upper_95


def test_add_values_without_items_leaves_upper_limits_of_dose_rates_unknown():
    rows = pd.DataFrame({"indicator_id": ["d", "d", "i"], "numerator": [0.0, 50.0, 0.0],
                         "numerator_items": [0.0, 5.0, 0.0], "denominator": [1e4, 1e4, 1e4]})
    out = add_values(rows, {"d": "rate", "i": "rate"}, {"d": 1000.0, "i": 1000.0},
                     {"d": "ddd", "i": "items"})
    assert out["lower_95"].iloc[0] == 0 and np.isnan(out["upper_95"].iloc[0])
    assert out["upper_95"].iloc[2] > 0  # an items rate: exact Poisson upper limit for 0
    assert out["value"].iloc[1] == pytest.approx(5.0)


def test_unreadable_strengths_are_listed_once_per_presentation(table):
    findings = findings_frame(table)
    gaba = findings[findings["indicator_id"] == GABA]
    assert gaba["bnf_code"].tolist() == ["0408010G0AAAXAX"]
    assert "cannot be read" in gaba["reason"].iloc[0]
    assert any("counted nowhere" in w for w in table.attrs["warnings"])


def test_without_descriptions_dose_indicators_cannot_be_computed():
    catalogue = {i: CATALOGUE[i] for i in (GABA, LIDO)}
    table = calculate_indicators(_dataset(with_descriptions=False), catalogue, "2025-02", months=2)
    gaba = table[table.indicator_id == GABA]
    assert gaba["numerator"].isna().all() and gaba["value"].isna().all()
    assert any(GABA in w and "cannot be computed" in w for w in table.attrs["warnings"])
    lido = table[(table.indicator_id == LIDO) & table.numerator.notna()]
    assert len(lido) and (lido["value"] > 0).any()  # cost needs no description


def test_disclosure_suppresses_few_items_whatever_their_cost(table):
    marks = suppress_cells(table, threshold=5)
    lido_p2 = ((table.indicator_id == LIDO) & (table.area_id == "P2")
               & (table.period == "2025-01")).to_numpy()
    # P2: one lidocaine plaster item a month (70 pounds): suppressed on its item count
    assert (marks.loc[lido_p2, "suppression"] == "primary").all()
    releasable, _ = apply_disclosure(table, DisclosurePolicy(audience="analyst"))
    assert releasable.attrs["releasable"] is False
    policy = DisclosurePolicy(audience="cluster", cluster_id="c2")
    released, _ = apply_disclosure(table, policy)
    hidden = released[released.qualifier == "c"]
    assert hidden["numerator_items"].isna().all() and hidden["numerator"].isna().all()


@settings(max_examples=150, deadline=None)
@given(st.integers(0, 5000), st.floats(0.01, 500), st.floats(1e3, 1e8))
def test_scaled_intervals_hold_the_value_and_widen_with_confidence(items, per_item, den):
    """Property: for a dose or cost rate, lower_998 <= lower_95 <= value <= upper_95 <= upper_998,
    and the interval is the item interval times the dose per item."""
    rows = pd.DataFrame({"indicator_id": ["d"], "numerator": [items * per_item],
                         "numerator_items": [float(items)], "denominator": [den]})
    out = add_values(rows, {"d": "rate"}, {"d": 1000.0}, {"d": "cost"}).iloc[0]
    assert out.lower_998 <= out.lower_95 <= out.value * (1 + 1e-9)
    if items:
        assert out.value <= out.upper_95 * (1 + 1e-9) <= out.upper_998 * (1 + 1e-9)
        item_ci = stats.rate_ci(items, den, multiplier=1000, confidence=0.95)
        assert out.upper_95 == pytest.approx(item_ci["upper"].iloc[0] * per_item)


def test_items_follow_their_rows_even_if_level_sums_come_back_reordered(monkeypatch):
    import clusterqi.indicators.calculate as calculate

    catalogue = {i: CATALOGUE[i] for i in (GABA, LIDO)}
    expected = calculate_indicators(_dataset(), catalogue, "2025-02", months=2)
    real = calculate.aggregate_levels

    def shuffled(*args, **kwargs):
        out = real(*args, **kwargs)
        return out.sample(frac=1.0, random_state=3).reset_index(drop=True)

    monkeypatch.setattr(calculate, "aggregate_levels", shuffled)
    again = calculate_indicators(_dataset(), catalogue, "2025-02", months=2)
    keys = ["indicator_id", "level", "area_id", "period"]
    left = expected.set_index(keys)[["numerator", "numerator_items"]].sort_index()
    right = again.set_index(keys)[["numerator", "numerator_items"]].sort_index()
    pd.testing.assert_frame_equal(left, right)
