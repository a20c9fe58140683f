"""clusterqi.since: which earlier period a report compares with, and what changed since, from
small hand-made released tables (as tests/brief ranks "What to discuss")."""

from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from clusterqi import DataError
from clusterqi import since as since_module
from clusterqi.indicators import catalogue_hash
from clusterqi.parameters import report_parameters
from clusterqi.report import ClusterReport
from clusterqi.since import (
    CHANGE_COLUMNS,
    KINDS,
    changes_since,
    compare_tables,
    definitions_changed,
    earlier_period_end,
    earlier_report,
    since_last_report,
)

CLUSTER = "dundee-4"


def _ind(ident, low_is_good=True):
    return SimpleNamespace(id=ident, title=f"Title of {ident}", unit="items per 1,000",
                           low_is_good=low_is_good)


def _table(spec: dict, end: str = "2026-09") -> pd.DataFrame:
    """One cluster's released rows: a 12-month total per indicator (value, verdicts, qualifier)
    and 24 quiet month rows (or the SPC rules given)."""
    last = pd.Period(end, freq="M")
    months = [str(p) for p in pd.period_range(last - 23, last, freq="M")]
    rows = []
    for ident, s in spec.items():
        rows.append({
            "indicator_id": ident, "level": "cluster", "area_id": CLUSTER, "area_name": "Dundee 4",
            "period_type": "total", "period": f"{last - 11}..{last}", "value": s.get("value", 10.0),
            "numerator_items": s.get("items", 10_000.0), "qualifier": s.get("qualifier"),
            "scotland_value": 10.0, "rest_of_scotland_value": 10.0, "rest_of_hscp_value": 9.0,
            "rest_of_hb_value": 11.0, "peer_value": 10.0,
            "vs_rest_of_scotland": s.get("scot", "similar"), "vs_rest_of_hscp": s.get("hscp", "similar"),
            "vs_rest_of_hb": "similar", "vs_peers": s.get("peers", "similar")})
        rules = s.get("rules", [None] * 24)
        for month, rule in zip(months, rules):
            rows.append({"indicator_id": ident, "level": "cluster", "area_id": CLUSTER,
                         "area_name": "Dundee 4", "period_type": "month", "period": month,
                         "value": 13.0 if rule else 10.0, "denominator": 1000.0,
                         "numerator_items": 1000.0, "cl": 10.0, "lcl": 8.0, "ucl": 12.0,
                         "spc_signal": rule is not None, "spc_rule": rule})
    return pd.DataFrame(rows)


OUTSIDE = [None] * 23 + ["point outside the limits"]


def test_earlier_period_is_a_quarter_back_unless_a_run_or_period_is_named(tmp_path):
    assert earlier_period_end("2026-09") == "2026-06"
    assert earlier_period_end("2026-02") == "2025-11"
    assert earlier_period_end("2026-09", previous_period_end="2026-03") == "2026-03"
    manifest = tmp_path / "manifest.json"
    manifest.write_text(json.dumps({"parameters": {"period_end": "2025-12"},
                                    "indicator_definitions_sha256": catalogue_hash()}))
    assert earlier_period_end("2026-09", previous_manifest=str(manifest)) == "2025-12"
    assert earlier_period_end("2026-09", previous_manifest=str(tmp_path)) == "2025-12"  # its folder
    assert definitions_changed(str(manifest)) is False
    manifest.write_text(json.dumps({"parameters": {"period_end": "2025-12"},
                                    "indicator_definitions_sha256": "0" * 64}))
    assert definitions_changed(str(manifest)) is True
    assert definitions_changed(None) is False
    (tmp_path / "bad.json").write_text("{}")
    with pytest.raises(DataError, match="previous_manifest .* names no period"):
        earlier_period_end("2026-09", previous_manifest=str(tmp_path / "bad.json"))
    with pytest.raises(DataError, match="previous_manifest .* cannot be read"):
        earlier_period_end("2026-09", previous_manifest=str(tmp_path / "none.json"))


def test_changes_are_ranked_new_then_verdicts_moved_then_resolved_then_moves():
    before = _table({
        "a_new": {},                                          # similar -> worse: a new signal
        "b_moved": {"scot": "worse", "hscp": "worse"},        # still worse; its HSCP verdict moved
        "c_resolved": {"scot": "worse", "value": 13.0},       # worse -> similar: resolved
        "d_spc_gone": {"rules": OUTSIDE},                     # an SPC signal that has ended
        "e_big_move": {"value": 10.0},
        "f_small_move": {"value": 10.0},
        "g_quiet": {},
    }, end="2026-06")
    now = _table({
        "a_new": {"scot": "worse", "value": 13.0},
        "b_moved": {"scot": "worse", "hscp": "similar"},
        "c_resolved": {"value": 10.5},
        "d_spc_gone": {},
        "e_big_move": {"value": 7.0},
        "f_small_move": {"value": 10.5},
        "g_quiet": {},
    })
    catalogue = {k: _ind(k) for k in sorted(set(before["indicator_id"]))}
    changes = compare_tables(now, before, CLUSTER, catalogue)
    assert list(changes.columns) == CHANGE_COLUMNS
    assert changes["indicator_id"].tolist() == ["a_new", "b_moved", "c_resolved", "d_spc_gone", "e_big_move"]
    assert changes["kind"].tolist() == ["new signal", "verdict moved", "resolved", "resolved", "value moved"]
    assert changes["rank"].tolist() == [1, 2, 3, 4, 5]
    assert set(changes["kind"]) <= set(KINDS)
    new, moved, resolved, spc_gone, move = changes["sentence"]
    assert new == "Title of a_new: now worse than the rest of Scotland (was similar)."
    assert moved == "Title of b_moved: now similar to the rest of its HSCP (was worse)."
    assert resolved == ("Title of c_resolved: now similar to the rest of Scotland (was worse); "
                        "no longer one to discuss.")
    assert spc_gone.startswith("Title of d_spc_gone: no longer stands out (last time: 1 month")
    assert move.startswith("Title of e_big_move: down 30% (better), from 10 to 7 items per 1,000")
    assert "12 months to Sep 2026 against 12 months to Jun 2026" in move
    assert changes.loc[4, "change"] == pytest.approx(-0.3)


def test_a_new_spc_signal_says_what_is_new_and_higher_is_worse_when_low_is_good():
    before = _table({"s": {}, "m": {"value": 10.0}}, end="2026-06")
    now = _table({"s": {"rules": OUTSIDE}, "m": {"value": 12.0}})
    changes = compare_tables(now, before, CLUSTER, {"s": _ind("s"), "m": _ind("m")})
    assert changes["kind"].tolist() == ["new signal", "value moved"]
    assert changes["sentence"][0].startswith(
        "Title of s: new to discuss: 1 month of the last 12 was above the control limits (worse)")
    assert "up 20% (worse)" in changes["sentence"][1]
    # no judgement: higher or lower, never better or worse
    neutral = compare_tables(now, before, CLUSTER, {"m": _ind("m", low_is_good=None)})
    assert "up 20%," in neutral["sentence"][0] and "worse" not in neutral["sentence"][0]


def test_suppressed_values_are_never_compared():
    before = _table({"x": {"qualifier": "c", "value": np.nan},
                     "y": {"scot": "worse", "value": 13.0}}, end="2026-06")
    now = _table({"x": {"scot": "worse", "value": 13.0},
                  "y": {"qualifier": "c", "value": np.nan, "scot": None}})
    assert compare_tables(now, before, CLUSTER, {"x": _ind("x"), "y": _ind("y")}).empty


def test_a_move_smaller_than_chance_or_than_the_threshold_is_not_listed():
    before = _table({"few": {"value": 10.0, "items": 20.0}, "tiny": {"value": 10.0}}, end="2026-06")
    now = _table({"few": {"value": 13.0, "items": 26.0}, "tiny": {"value": 10.9}})
    assert compare_tables(now, before, CLUSTER, {"few": _ind("few"), "tiny": _ind("tiny")}).empty


def _report(table: pd.DataFrame, catalogue) -> ClusterReport:
    return ClusterReport(cluster_id=CLUSTER, cluster_name="Dundee 4", parameters={}, audience="cluster",
                         policy=None, catalogue=catalogue, table=table, disclosure_log=pd.DataFrame(),
                         quality_notes=pd.DataFrame(), run={})


def test_changes_since_compares_the_two_reports_released_tables():
    catalogue = {"o": _ind("o")}
    earlier = _report(_table({"o": {}}, end="2026-06"), catalogue)
    current = _report(_table({"o": {"scot": "worse", "value": 13.0}}), catalogue)
    changes = changes_since(current, earlier)
    assert changes["sentence"].tolist() == ["Title of o: now worse than the rest of Scotland (was similar)."]
    assert changes_since(current, current).empty


def test_no_earlier_report_when_the_data_do_not_reach_back_with_the_reason(monkeypatch):
    months = {str(p) for p in pd.period_range("2025-10", "2026-09", freq="M")}
    monkeypatch.setattr(since_module, "_data_months", lambda params: months)

    def no_report(**values):
        raise AssertionError("the earlier report must not be built when the data stop short")

    monkeypatch.setattr("clusterqi.report.build_report", no_report)
    monkeypatch.setattr("clusterqi.report.released_table", no_report)
    params = report_parameters(cluster_id=CLUSTER, period_end="2026-09")
    assert earlier_report(params) is None
    current = _report(_table({"o": {}}), {"o": _ind("o")})
    since = since_last_report(params, current)
    assert since.compared is False and since.count is None
    assert since.period_end == "2026-06" and since.source == "same period one quarter earlier"
    assert "the data do not reach back far enough" in since.reason and "Jul 2025" in since.reason


def test_the_earlier_periods_released_rows_are_made_for_it_with_the_same_settings(monkeypatch):
    months = {str(p) for p in pd.period_range("2024-10", "2026-09", freq="M")}
    monkeypatch.setattr(since_module, "_data_months", lambda params: months)
    catalogue = {"o": _ind("o")}
    asked = []

    def released(**values):
        asked.append(values)
        return _table({"o": {}}, end=values["period_end"])

    monkeypatch.setattr("clusterqi.report.released_table", released)
    params = report_parameters(cluster_id=CLUSTER, period_end="2026-09", audience="cluster",
                               threshold=10, rounding="nearest-5", previous_period_end="2026-03",
                               indicator_table="/somewhere/indicators.parquet")
    current = _report(_table({"o": {"scot": "worse", "value": 13.0}}), catalogue)
    since = since_last_report(params, current)
    (values,) = asked
    assert values["period_end"] == "2026-03" and values["months"] == 12
    assert values["audience"] == "cluster" and values["threshold"] == 10 and values["rounding"] == "nearest-5"
    assert values["indicator_table"] is None and values["previous_period_end"] is None
    assert since.period == "2025-04..2026-03" and since.source == "previous period 2026-03"
    assert since.count == 1 and since.record()["changes"] == 1


def test_parameters_take_a_previous_run_or_period_checked():
    ok = report_parameters(cluster_id=CLUSTER, period_end="2026-09", previous_period_end="2026-06")
    assert ok.previous_period_end == "2026-06" and ok.previous_manifest is None
    with pytest.raises(DataError, match="previous_period_end .*not a month"):
        report_parameters(cluster_id=CLUSTER, period_end="2026-09", previous_period_end="2026-6")
    with pytest.raises(DataError, match="not before period_end"):
        report_parameters(cluster_id=CLUSTER, period_end="2026-09", previous_period_end="2026-09")
    with pytest.raises(DataError, match="both set"):
        report_parameters(cluster_id=CLUSTER, period_end="2026-09", previous_period_end="2026-06",
                          previous_manifest="m.json")


def test_a_reports_since_is_made_once_on_first_use_and_never_for_an_earlier_report(monkeypatch):
    from clusterqi.since import since_maker

    calls = []
    report = _report(_table({"o": {}}), {"o": _ind("o")})
    lazy = ClusterReport(**{**report.__dict__, "since_of": lambda: calls.append(1) or "made"})
    assert calls == []
    assert lazy.since == "made" and lazy.since == "made" and calls == [1]
    assert report.since is None
    params = report_parameters(cluster_id=CLUSTER, period_end="2026-09")
    assert callable(since_maker(params, report))
    token = since_module._MAKING_EARLIER.set(True)
    try:
        assert since_maker(params, report) is None
    finally:
        since_module._MAKING_EARLIER.reset(token)
