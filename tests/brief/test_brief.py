"""clusterqi.brief: which indicators a cluster's meeting should discuss, in which order, and why."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from clusterqi.brief import (
    MOVE_SHARE,
    SUSTAINED_SHIFT,
    numbers_for_download,
    period_words,
    trend_months,
    what_to_discuss,
)

CLUSTER = "dundee-4"
MONTHS = [str(p) for p in pd.period_range("2024-10", "2026-09", freq="M")]


def _ind(ident, low_is_good=True):
    return SimpleNamespace(id=ident, title=f"Title of {ident}", unit="items per 1,000",
                           low_is_good=low_is_good)


def _table(spec: dict) -> pd.DataFrame:
    """Rows of one cluster: per indicator a total row (verdicts) and 24 month rows (SPC, values)."""
    rows = []
    for ident, s in spec.items():
        total = {"indicator_id": ident, "level": "cluster", "area_id": CLUSTER, "area_name": "Dundee 4",
                 "period_type": "total", "period": "2025-10..2026-09", "value": s.get("value", 10.0),
                 "qualifier": s.get("qualifier"), "scotland_value": 10.0,
                 "rest_of_scotland_value": 10.0, "rest_of_hscp_value": 9.0, "rest_of_hb_value": 11.0,
                 "vs_rest_of_scotland": s.get("scot", "similar"), "vs_rest_of_hscp": s.get("hscp", "similar"),
                 "vs_rest_of_hb": "similar"}
        rows.append(total)
        values = s.get("months", [10.0] * 24)
        rules = s.get("rules", [None] * 24)
        for month, value, rule in zip(MONTHS, values, rules):
            rows.append({"indicator_id": ident, "level": "cluster", "area_id": CLUSTER,
                         "area_name": "Dundee 4", "period_type": "month", "period": month,
                         "value": value, "denominator": 1000.0, "numerator_items": value * 100,
                         "cl": 10.0, "lcl": 8.0, "ucl": 12.0, "spc_signal": rule is not None,
                         "spc_rule": rule})
    return pd.DataFrame(rows)


def test_verdicts_lead_worse_first_then_spc_then_moves():
    outside = [None] * 23 + ["point outside the limits"]
    moving = [10.0] * 12 + [13.0] * 12
    spec = {
        "a_move": {"months": moving},
        "b_spc": {"months": [10.0] * 23 + [13.0], "rules": outside},
        "c_better": {"value": 8.0, "scot": "better"},
        "d_worse": {"value": 13.0, "hscp": "worse"},
        "e_quiet": {},
    }
    catalogue = {k: _ind(k) for k in spec}
    items = what_to_discuss(_table(spec), CLUSTER, catalogue)
    assert items["indicator_id"].tolist() == ["d_worse", "c_better", "b_spc", "a_move"]
    assert items["rank"].tolist() == [1, 2, 3, 4]
    assert items["reason"].tolist() == ["verdict", "verdict", "spc", "move"]
    worse, better, spc, move = items["sentence"]
    assert worse.startswith("Title of d_worse: 13 items per 1,000") and "worse" in worse
    assert "higher than the rest of its HSCP (9)" in worse
    assert "lower than the rest of Scotland (10): better" in better
    assert "1 month of the last 12 was above the control limits (worse)" in spc
    assert "up 30% (worse), from 10 to 13" in move


def test_a_lone_run_rule_signal_does_not_lead_but_a_sustained_shift_does():
    lone = [None] * 20 + ["trend (7 points rising or falling)"] * 4
    ended = [None] * 5 + ["shift (7 points on one side)"] * 10 + [None] * 9
    short = [None] * (24 - SUSTAINED_SHIFT + 1) + ["shift (7 points on one side)"] * (SUSTAINED_SHIFT - 1)
    sustained = [None] * (24 - SUSTAINED_SHIFT) + ["shift (7 points on one side)"] * SUSTAINED_SHIFT
    below = [10.0] * (24 - SUSTAINED_SHIFT) + [9.0] * SUSTAINED_SHIFT
    spec = {"lone": {"rules": lone}, "ended": {"rules": ended}, "short": {"rules": short},
            "sustained": {"rules": sustained, "months": below}}
    items = what_to_discuss(_table(spec), CLUSTER, {k: _ind(k) for k in spec})
    assert items["indicator_id"].tolist() == ["sustained"]
    assert "below the cluster's usual level (a sustained shift) (better)" in items["sentence"][0]


def test_an_old_point_outside_the_limits_does_not_lead():
    old = ["point outside the limits"] + [None] * 23
    items = what_to_discuss(_table({"old": {"rules": old}}), CLUSTER, {"old": _ind("old")})
    assert items.empty


def test_moves_need_the_threshold_and_more_than_chance_and_rank_by_size():
    small = [10.0] * 12 + [10.0 * (1 + MOVE_SHARE / 2)] * 12
    big = [10.0] * 12 + [7.0] * 12
    mid = [10.0] * 12 + [12.0] * 12
    spec = {"small": {"months": small}, "big": {"months": big}, "mid": {"months": mid}}
    table = _table(spec)
    items = what_to_discuss(table, CLUSTER, {k: _ind(k) for k in spec})
    assert items["indicator_id"].tolist() == ["big", "mid"]
    assert items["direction"].tolist() == ["down", "up"]
    assert "down 30% (better)" in items["sentence"][0]
    # the same relative change on a handful of items is what chance does: not a move
    few = table.assign(numerator_items=table["numerator_items"] / 500)
    assert what_to_discuss(few, CLUSTER, {k: _ind(k) for k in spec}).empty


def test_no_judgement_indicators_say_higher_or_lower_without_better_or_worse():
    spec = {"n": {"value": 13.0, "scot": "higher", "months": [10.0] * 12 + [13.0] * 12}}
    items = what_to_discuss(_table(spec), CLUSTER, {"n": _ind("n", low_is_good=None)})
    assert items["direction"].tolist() == ["higher"]
    assert "higher than the rest of Scotland (10)" in items["sentence"][0]
    assert "better" not in items["sentence"][0] and "worse" not in items["sentence"][0]


def test_suppressed_totals_are_never_ranked_and_the_limit_holds():
    spec = {f"w{i}": {"value": 13.0, "scot": "worse"} for i in range(8)}
    spec["w0"]["qualifier"] = "c"
    spec["w0"]["value"] = np.nan
    items = what_to_discuss(_table(spec), CLUSTER, {k: _ind(k) for k in spec}, limit=3)
    assert len(items) == 3 and "w0" not in set(items["indicator_id"])
    assert len(what_to_discuss(_table(spec), CLUSTER, {k: _ind(k) for k in spec}, limit=None)) == 7


def test_other_clusters_rows_are_ignored_and_an_empty_result_has_the_columns():
    table = _table({"x": {"value": 13.0, "scot": "worse"}}).assign(area_id="somewhere-else")
    items = what_to_discuss(table, CLUSTER, {"x": _ind("x")})
    assert items.empty and {"rank", "reason", "sentence"} <= set(items.columns)


def test_period_words_and_trend_months():
    assert period_words("2025-10..2026-09") == "12 months to Sep 2026"
    assert period_words("2026-09") == "Sep 2026"
    assert trend_months(_table({"x": {}}), CLUSTER) == 24


def test_numbers_for_download_puts_title_and_unit_beside_the_id_and_keeps_columns():
    rows = pd.DataFrame({"indicator_id": ["a", "zz"], "level": ["cluster", "cluster"], "value": [1.0, 2.0]})
    out = numbers_for_download(rows, {"a": _ind("a")})
    assert out.columns.tolist() == ["indicator_id", "indicator_title", "indicator_unit", "level", "value"]
    assert out["indicator_title"].tolist() == ["Title of a", "zz"]
    assert out["indicator_unit"].tolist() == ["items per 1,000", ""]
    assert rows.columns.tolist() == ["indicator_id", "level", "value"]
