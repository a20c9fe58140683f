"""build_report's quick path (suppression once per run, then only the report's rows) gives exactly
what disclosure control of the whole table followed by the report's rows gives."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

from clusterqi.disclosure import DisclosurePolicy, apply_disclosure, release_findings, suppress_cells
from clusterqi.errors import DataError
from clusterqi.report import QUALITY_FILE, RUN_FILE, build_report, report_rows
from clusterqi.report_rows import own_notes, report_mask
from clusterqi.run_tables import Run, run_for
from clusterqi.text_storage import python_text
from tests.conftest import SYNTHETIC_PERIOD_END
from tests.report.conftest import MONTHS


_AUDITED: dict[tuple, pd.DataFrame] = {}


def _audited_marks(path: Path, table: pd.DataFrame, threshold: int) -> pd.DataFrame:
    """The whole table's suppression with the LP audit, worked out from scratch (once a threshold)."""
    key = (str(path), threshold)
    if key not in _AUDITED:
        _AUDITED[key] = suppress_cells(table, threshold, True, audit=True)
    return _AUDITED[key]


def _reference(path: Path, cluster_id: str, audience: str = "cluster", reveal: str | None = None,
               threshold: int = 5, rounding: str = "none") -> tuple[pd.DataFrame, pd.DataFrame]:
    """The slow, obvious way: control the whole table (suppression with the run's audit, worked
    out afresh), take the report's rows, attach quality."""
    table = pd.read_parquet(path)
    findings = pd.read_parquet(path.with_name(QUALITY_FILE))
    salt = json.loads(path.with_name(RUN_FILE).read_text(encoding="utf-8"))["salt"]
    policy = DisclosurePolicy(audience=audience, cluster_id=cluster_id, reveal_practice=reveal,
                              threshold=threshold, rounding=rounding, salt=salt)
    marks = _audited_marks(path, table, threshold) if audience != "analyst" else None
    releasable, _ = apply_disclosure(table, policy, suppression=marks)
    rows = python_text(report_rows(releasable, cluster_id))  # as a report holds its text
    return rows, own_notes(release_findings(findings, rows, table, policy), rows, cluster_id)


def _cluster_of(table: pd.DataFrame, practice_code: str) -> str:
    rows = table[(table["level"] == "practice") & (table["area_id"] == practice_code)]
    return str(rows["cluster_id"].dropna().iloc[0])


@pytest.fixture(scope="module")
def awkward_clusters(analyst_table, ground_truth, two_practice_cluster, suppressed_cluster,
                     normal_cluster) -> dict[str, str]:
    """Clusters where a shortcut could go wrong: small, suppressed, changing, cross-boundary."""
    one = ground_truth[(ground_truth["kind"] == "small_cluster") & (ground_truth["size"] == "1")]
    practices = analyst_table[analyst_table["level"] == "practice"]
    hscps = practices.groupby("cluster_id")["hscp_code"].nunique()
    chosen = {
        "normal": normal_cluster,
        "two practices": two_practice_cluster,
        "one practice": str(one["unit_id"].iloc[0]),
        "suppressed": suppressed_cluster[0],
        "practice closes": _cluster_of(analyst_table, ground_truth.loc[
            ground_truth["kind"] == "practice_closes", "unit_id"].iloc[0]),
        "practice opens": _cluster_of(analyst_table, ground_truth.loc[
            ground_truth["kind"] == "practice_opens", "unit_id"].iloc[0]),
        "cross-boundary": str(hscps[hscps > 1].index[0]),
    }
    assert len(set(chosen.values())) >= 6, chosen
    return chosen


@pytest.mark.parametrize("which", ["normal", "two practices", "one practice", "suppressed",
                                   "practice closes", "practice opens", "cross-boundary"])
def test_a_cluster_report_equals_controlling_the_whole_table(run_tables, awkward_clusters, which):
    cluster_id = awkward_clusters[which]
    built = build_report(cluster_id=cluster_id, period_end=SYNTHETIC_PERIOD_END, months=MONTHS,
                         indicator_table=str(run_tables))
    table, notes = _reference(run_tables, cluster_id)
    assert_frame_equal(built.table, table)
    assert_frame_equal(built.quality_notes, notes)


@pytest.mark.parametrize("audience, threshold, rounding", [
    ("practice", 5, "none"), ("analyst", 5, "none"), ("cluster", 10, "nearest-5"),
])
def test_other_audiences_thresholds_and_rounding_equal_the_whole_table_too(
        run_tables, analyst_table, suppressed_cluster, audience, threshold, rounding):
    cluster_id = suppressed_cluster[0]
    members = sorted(analyst_table.loc[(analyst_table["level"] == "practice")
                                       & (analyst_table["cluster_id"] == cluster_id), "area_id"])
    reveal = members[0] if audience == "practice" else None
    built = build_report(cluster_id=cluster_id, period_end=SYNTHETIC_PERIOD_END, months=MONTHS,
                         indicator_table=str(run_tables), audience=audience,
                         reveal_practice=reveal, threshold=threshold, rounding=rounding)
    table, notes = _reference(run_tables, cluster_id, audience, reveal, threshold, rounding)
    assert_frame_equal(built.table, table)
    assert_frame_equal(built.quality_notes, notes)


def _scope_mask(table: pd.DataFrame, cluster_id: str) -> np.ndarray:
    """The report's rows, every HSCP and board total, every row of an HSCP or board that the
    cluster's own rows (its practices' too) name, and its peer clusters' rows: the obvious,
    slow way."""
    own = (table["cluster_id"].eq(cluster_id).fillna(False)
           & table["level"].isin(["cluster", "practice"]))
    named = table[own]
    areas = ((table["level"].eq("hscp") & table["area_id"].isin(set(named["hscp_code"].dropna())))
             | (table["level"].eq("hb") & table["area_id"].isin(set(named["hb_code"].dropna()))))
    totals = table["period_type"].eq("total") & table["level"].isin(["hscp", "hb"])
    listed = table.loc[table["level"].eq("cluster") & table["area_id"].eq(cluster_id), "peer_ids"]
    peers = set(str(listed.dropna().iloc[0]).split(";")) if listed.notna().any() else set()
    peer_rows = table["level"].eq("cluster") & table["area_id"].isin(peers)
    return (report_mask(table, cluster_id) | (areas | totals | peer_rows).to_numpy())


def test_the_scope_holds_the_report_rows_and_the_areas_they_compare_with(run_tables, awkward_clusters):
    run = run_for(None, SYNTHETIC_PERIOD_END, MONTHS, str(run_tables))
    for cluster_id in awkward_clusters.values():
        expected = np.flatnonzero(_scope_mask(run.table, cluster_id))
        np.testing.assert_array_equal(run.scope(cluster_id), expected)
        lean = run.scope(cluster_id, every_practice=False)
        level, cluster = run.table["level"].to_numpy(), run.table["cluster_id"].to_numpy()
        other = (level == "practice") & (cluster != cluster_id)
        np.testing.assert_array_equal(lean[~other[lean]], expected[~other[expected]])
        rows = run.rows(lean)
        others = rows[(rows["level"] == "practice") & (rows["cluster_id"] != cluster_id)]
        assert others["area_id"].is_unique  # one row for each other practice
        everyone = run.table.loc[run.table["level"] == "practice", "area_id"]
        assert set(rows.loc[rows["level"] == "practice", "area_id"]) == set(everyone)


def test_the_disclosure_log_is_about_the_rows_the_report_shows(run_tables, suppressed_cluster):
    built = build_report(cluster_id=suppressed_cluster[0], period_end=SYNTHETIC_PERIOD_END,
                         months=MONTHS, indicator_table=str(run_tables))
    key = ["indicator_id", "level", "area_id", "period"]
    shown = set(built.table[key].itertuples(index=False, name=None))
    about_rows = built.disclosure_log[built.disclosure_log["area_id"].notna()]
    assert len(about_rows)
    assert set(about_rows[key].itertuples(index=False, name=None)) <= shown
    hidden = built.table[built.table["qualifier"] == "c"]
    logged = set(about_rows.loc[about_rows["rule"].str.contains("suppression"), key]
                 .itertuples(index=False, name=None))
    assert set(hidden[key].itertuples(index=False, name=None)) <= logged
    assert built.disclosure_log["area_id"].isna().any()  # the summary entries stay


def test_a_run_table_is_read_once_and_again_when_its_files_change(run_tables, tmp_path):
    import shutil

    folder = tmp_path / "run"
    shutil.copytree(run_tables.parent, folder)
    path = folder / run_tables.name
    first = run_for(None, SYNTHETIC_PERIOD_END, MONTHS, str(path))
    assert run_for(None, SYNTHETIC_PERIOD_END, MONTHS, str(path)) is first
    facts = json.loads((folder / RUN_FILE).read_text(encoding="utf-8"))
    (folder / RUN_FILE).write_text(json.dumps({**facts, "months": MONTHS + 1}), encoding="utf-8")
    later = time.time() + 5
    os.utime(folder / RUN_FILE, (later, later))  # a rewrite within the clock's resolution
    with pytest.raises(DataError, match=f"calculated for {MONTHS + 1} months"):
        run_for(None, SYNTHETIC_PERIOD_END, MONTHS, str(path))


def test_changing_a_report_never_changes_the_next_one(run_tables, normal_cluster):
    first = build_report(cluster_id=normal_cluster, period_end=SYNTHETIC_PERIOD_END, months=MONTHS,
                         indicator_table=str(run_tables))
    expected = first.table.copy()
    first.table.loc[:, "value"] = -1.0  # what a notebook cell might do to its own report
    again = build_report(cluster_id=normal_cluster, period_end=SYNTHETIC_PERIOD_END, months=MONTHS,
                         indicator_table=str(run_tables))
    assert_frame_equal(again.table, expected)


def test_since_is_made_from_the_report_itself_so_its_discussion_is_worked_out_once(
        run_tables, normal_cluster, monkeypatch):
    """"Since the last report" reads the report's discussion (what_to_discuss, ~0.1 s); made
    from a copy of the report, it worked the discussion out a second time for every report."""
    import clusterqi.since as since_module

    made_from = []
    monkeypatch.setattr(since_module, "since_last_report",
                        lambda params, current: made_from.append(current) or "made")
    report = build_report(cluster_id=normal_cluster, period_end=SYNTHETIC_PERIOD_END, months=MONTHS,
                          indicator_table=str(run_tables))
    assert report.since == "made"
    assert made_from == [report] and made_from[0] is report


def test_comparators_are_withheld_from_the_hscp_of_a_cross_boundary_practice():
    """Practice 10040 of cluster north-1 is in another HSCP than its cluster's home one. Where
    that HSCP's month is suppressed, the practice's rest-of-HSCP value must go, also when only
    the report's rows are controlled (the rows the quick path keeps must include that HSCP)."""
    from clusterqi.disclosure import pseudonyms, suppress_cells
    from tests.disclosure.builders import standard_table

    table = standard_table(seed=3)
    hscp = table[table["level"] == "hscp"].set_index(["period", "area_id"])["value"]
    for unit in ("hscp", "hb"):
        column = f"{unit}_code"
        keyed = pd.MultiIndex.from_arrays([table["period"], table[column]])
        values = (hscp if unit == "hscp" else table[table["level"] == "hb"]
                  .set_index(["period", "area_id"])["value"])
        table[f"rest_of_{unit}_value"] = np.where(
            table["level"].isin(["practice", "cluster"]), values.reindex(keyed).to_numpy(), np.nan)
        table[f"vs_rest_of_{unit}"] = pd.Series(
            np.where(table["level"].isin(["practice", "cluster"]), "similar", None), dtype="str")
    threshold = 100  # HSCP months of ~80 items are then suppressed
    policy = DisclosurePolicy(audience="cluster", cluster_id="north-1", threshold=threshold,
                              salt="fixed")
    run = Run(table, pd.DataFrame(), {})
    marks = suppress_cells(table, threshold)
    quick, _ = apply_disclosure(table.iloc[run.scope("north-1", every_practice=False)], policy,
                                suppression=marks)
    whole, _ = apply_disclosure(table, policy)
    assert_frame_equal(report_rows(quick, "north-1"), report_rows(whole, "north-1"))
    hidden = set(table.loc[(table["level"] == "hscp") & marks["suppression"].notna()
                           & (table["area_id"] == "S37000002"), "period"])
    assert hidden, "the away HSCP has suppressed months at this threshold"
    member = pseudonyms(table, policy).set_index("practice_code").loc["10040", "area_id"]
    rows = quick[(quick["area_id"] == member) & quick["period"].isin(hidden)]
    assert len(rows) and rows["rest_of_hscp_value"].isna().all()


@pytest.mark.parametrize("which", ["normal", "two practices", "one practice", "suppressed",
                                   "cross-boundary"])
@pytest.mark.parametrize("audience, rounding", [("cluster", "none"), ("practice", "none"),
                                                ("cluster", "nearest-5")])
def test_released_table_is_the_reports_own_cluster_rows(run_tables, analyst_table, awkward_clusters,
                                                         which, audience, rounding):
    """"Since the last report" compares the earlier period's released_table (disclosure
    control on Run.own_scope, the rows they depend on): it must equal the full report's own cluster rows."""
    from clusterqi.report import released_table

    cluster_id = awkward_clusters[which]
    members = sorted(analyst_table.loc[(analyst_table["level"] == "practice")
                                       & (analyst_table["cluster_id"] == cluster_id), "area_id"])
    values = dict(cluster_id=cluster_id, period_end=SYNTHETIC_PERIOD_END, months=MONTHS,
                  indicator_table=str(run_tables), audience=audience, rounding=rounding,
                  reveal_practice=members[0] if audience == "practice" else None)
    full = build_report(**values).table
    own = full[(full["level"] == "cluster") & (full["area_id"] == cluster_id)].reset_index(drop=True)
    assert len(own)
    assert_frame_equal(released_table(**values), own)


def test_significant_figures_round_as_python_rounds_each_value():
    """The CSV's rounding to significant figures, worked in bulk, gives exactly what round()
    gives each NumPy value: halves (2.675 to two places is 2.68: NumPy rounds the scaled value
    267.5, half to even), negative values, values rounded to tens and more, zero, missing and
    infinite."""
    import numpy as np
    import pandas as pd

    from clusterqi.report import _significant

    rng = np.random.default_rng(7)
    values = np.concatenate([
        [2.675, 0.0125, 1234.5, -0.00098765, 987654321.0, 0.0, -0.0, np.nan, np.inf, 12.5, 1e-12],
        (rng.integers(0, 100_000, 2_000) + 0.5) / 10.0 ** rng.integers(0, 6, 2_000),
        np.sign(rng.standard_normal(5_000)) * 10 ** rng.uniform(-8, 9, 5_000),
    ])
    for figures in (1, 2, 4):
        digits = [figures - 1 - int(np.floor(np.log10(abs(v)))) if np.isfinite(v) and v else 0
                  for v in values]
        expected = [round(np.float64(v), d) if np.isfinite(v) else v
                    for v, d in zip(values, digits)]
        got = _significant(pd.Series(values), figures).to_numpy()
        np.testing.assert_array_equal(got, np.array(expected))
    assert _significant(pd.Series([2.675, 1234.5, 0.0125]), 3).tolist() == [2.68, 1230.0, 0.0125]
    assert _significant(pd.Series([0.125, 0.375]), 2).tolist() == [0.12, 0.38]  # exact halves


def test_a_reports_rows_by_group_equal_filtering_its_table(run_tables, awkward_clusters):
    """ClusterReport.rows (positions found once per report) gives what filtering the table
    gives (report_rows.unit_rows), in table order; only the asked columns the table has with
    ``columns``; ``count`` is how many rows there are, for the cluster's own rows and all."""
    from clusterqi.report_rows import unit_rows
    from clusterqi.vocabulary import LEVELS

    cluster_id = awkward_clusters["cross-boundary"]
    report = build_report(cluster_id=cluster_id, period_end=SYNTHETIC_PERIOD_END, months=MONTHS,
                          indicator_table=str(run_tables), audience="cluster")
    table = report.table
    checked = 0
    for indicator_id in list(report.catalogue)[:3]:
        for level in LEVELS:
            for period_type in ("total", "month"):
                for own in (True, False):
                    expected = unit_rows(table, cluster_id, indicator_id, level, period_type, own)
                    got = report.rows(indicator_id, level, period_type, own)
                    assert_frame_equal(got, expected)
                    assert report.count(indicator_id, level, period_type, own) == len(expected)
                    few = report.rows(indicator_id, level, period_type, own,
                                      columns=["area_name", "no_such_column", "value"])
                    assert_frame_equal(few, expected[["area_name", "value"]])
                    checked += len(expected)
    assert checked > 100
