"""Each data problem planted in synthetic Scotland is flagged with the right reason; flags attach
to a releasable table without naming a practice."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from clusterqi.disclosure import DisclosurePolicy, apply_disclosure, release_findings
from clusterqi.quality import FLAGS, QUALITY_NOTE, assess_quality, flag_indicator_table


def _flag_and_release(flags, table, policy):
    """Quality flags join the analyst table, then disclosure control releases table and notes."""
    flagged, findings = flag_indicator_table(table, flags)
    releasable, _ = apply_disclosure(flagged, policy)
    return releasable, release_findings(findings, releasable, flagged, policy)


@pytest.fixture(scope="module")
def truth(synthetic_dir):
    return pd.read_csv(synthetic_dir / "ground_truth.csv", dtype=str)


@pytest.fixture(scope="module")
def flags(synthetic_dataset, synthetic_indicators):
    return assess_quality(synthetic_dataset, synthetic_indicators)


def _planted(truth, kind):
    rows = truth[truth["kind"] == kind]
    assert len(rows) > 0, f"synthetic Scotland plants no {kind}"
    return rows


def test_flags_are_tidy(flags):
    assert list(flags.columns) == ["practice_code", "indicator_id", "month", "flag", "reason"]
    assert pd.api.types.is_datetime64_any_dtype(flags["month"])
    assert set(flags["flag"]) <= set(FLAGS)
    assert flags["reason"].str.len().gt(40).all()


def test_planted_missing_months_are_flagged_for_each_month(truth, flags):
    for row in _planted(truth, "missing_months").itertuples():
        hit = flags[(flags["practice_code"] == row.unit_id) & (flags["flag"] == "missing_month")
                    & (flags["month"] == pd.Timestamp(row.month + "-01"))]
        assert len(hit) > 0, row
        assert "No prescribing at all" in hit["reason"].iloc[0]


def test_planted_coding_change_is_flagged_at_its_month_for_its_indicator(truth, flags):
    for row in _planted(truth, "coding_change").itertuples():
        hit = flags[(flags["practice_code"] == row.unit_id) & (flags["flag"] == "coding_change")]
        assert hit["indicator_id"].tolist() == [row.indicator_id]
        assert hit["month"].iloc[0] == pd.Timestamp(row.month + "-01")
        assert "coding or product switch rather than a clinical change" in hit["reason"].iloc[0]
    # and it is the only one: noise in small practices is not mistaken for a coding change
    assert set(flags.loc[flags["flag"] == "coding_change", "practice_code"]) == set(
        _planted(truth, "coding_change")["unit_id"])


def test_planted_list_size_jump_is_flagged_at_its_release(truth, flags):
    for row in _planted(truth, "list_size_jump").itertuples():
        hit = flags[(flags["practice_code"] == row.unit_id) & (flags["flag"] == "list_size_jump")]
        assert len(hit) > 0
        assert set(hit["month"]) == {pd.Timestamp(row.month + "-01")}
        assert re.search(r"changed by \+2\d%", hit["reason"].iloc[0])


def test_planted_closing_and_opening_practices_are_flagged(truth, flags):
    for kind, flag, words in (("practice_closes", "practice_closes", "closed"),
                              ("practice_opens", "practice_opens", "opened")):
        for row in _planted(truth, kind).itertuples():
            hit = flags[(flags["practice_code"] == row.unit_id) & (flags["flag"] == flag)]
            assert len(hit) > 0, row
            assert hit["month"].isna().all()
            assert words in hit["reason"].iloc[0]
            assert f"{pd.Timestamp(row.month + '-01'):%B %Y}" in hit["reason"].iloc[0]


def test_tiny_practice_is_flagged_for_a_small_denominator(truth, flags):
    for row in _planted(truth, "tiny_practice").itertuples():
        hit = flags[(flags["practice_code"] == row.unit_id) & (flags["flag"] == "small_denominator")]
        assert len(hit) > 0


def test_unplanted_practices_are_rarely_flagged(truth, flags, synthetic_dataset):
    planted = set(truth["unit_id"])
    # a small denominator is a fact about the practice, not a suspicion: a low-volume share
    # (methotrexate 10 mg tablets) has one in many practices
    others = flags[~flags["practice_code"].isin(planted) & (flags["flag"] != "small_denominator")]
    assert others["practice_code"].nunique() <= 0.02 * len(synthetic_dataset.practices)


def test_flags_withhold_colouring_and_notes_name_no_practice(truth, flags, synthetic_indicators,
                                                             synthetic_dataset):
    gap = _planted(truth, "missing_months")["unit_id"].iloc[0]
    practices = synthetic_dataset.practices.set_index("practice_code")
    cluster = practices.at[gap, "cluster_id"]
    policy = DisclosurePolicy(cluster_id=cluster, salt="quality-test")
    flagged, notes = _flag_and_release(flags, synthetic_indicators, policy)
    assert flagged.attrs["releasable"] is True
    marked = flagged[flagged["quality_flag"] == QUALITY_NOTE]
    assert {"practice", "cluster"} <= set(marked["level"])
    assert marked["vs_rest_of_scotland"].isna().all()
    assert marked["value"].notna().any()  # the value stays
    unmarked = flagged[flagged["quality_flag"].isna() & (flagged["level"] == "cluster")
                       & (flagged["period_type"] == "total")]
    assert unmarked["vs_rest_of_scotland"].notna().any()
    assert "missing_month" in set(notes["flag"])
    codes = set(practices.index)
    names = set(practices["practice_name"])
    for text in (str(v) for v in notes.to_numpy().ravel() if pd.notna(v)):
        assert text not in codes and text not in names
        assert not (set(re.findall(r"[0-9]+", text)) & codes)
    assert notes["area_name"][notes["level"] == "practice"].str.match(r"^Member practice [A-Z]+$").all()


def test_a_report_with_no_finding_in_its_scope_gets_an_empty_note_table(synthetic_indicators,
                                                                        synthetic_dataset):
    """Real clusters mostly have no data-quality finding: no flag must not mean no report."""
    cluster = synthetic_dataset.practices["cluster_id"].dropna().iloc[0]
    policy = DisclosurePolicy(cluster_id=cluster, salt="quality-test")
    no_flags = pd.DataFrame({c: pd.Series(dtype="str") for c in
                             ("practice_code", "indicator_id", "month", "flag", "reason")})
    flagged, notes = _flag_and_release(no_flags, synthetic_indicators, policy)
    assert notes.empty
    assert list(notes.columns) == ["level", "area_id", "area_name", "indicator_id", "month",
                                   "flag", "note"]
    assert flagged["quality_flag"].isna().all()
    assert flagged["vs_rest_of_scotland"].notna().any()


def test_findings_outside_the_report_leave_its_rows_unmarked(flags, synthetic_indicators,
                                                             synthetic_dataset):
    """Flags about other clusters only: the marks exist but none is in the released rows."""
    practices = synthetic_dataset.practices
    flagged = flags[flags["flag"] != "small_denominator"]
    flagged_clusters = set(practices.loc[practices["practice_code"].isin(flagged["practice_code"]),
                                         "cluster_id"].dropna())
    clean = sorted(set(practices["cluster_id"].dropna()) - flagged_clusters)
    assert clean, "every synthetic cluster has a finding"
    policy = DisclosurePolicy(cluster_id=clean[0], salt="quality-test")
    table, notes = _flag_and_release(flagged, synthetic_indicators, policy)
    assert not notes["area_id"].isin(practices.loc[practices["cluster_id"] == clean[0],
                                                   "practice_code"]).any()
    assert (notes["level"] != "practice").all() or notes.empty


def test_a_practice_without_population_is_left_out_flagged_and_gets_no_verdict(
        synthetic_dataset, synthetic_indicators):
    """A denominator gap never makes a confident verdict: the practice's per-patient figures are
    withheld, its cluster's total leaves it out, and both carry a data-quality note."""
    import dataclasses

    from clusterqi.indicators import calculate_indicators, load_catalogue
    from clusterqi.loaders.reading import warning_row, warnings_frame

    ds = synthetic_dataset
    practice = ds.practices[ds.practices["in_cluster"]].iloc[5]
    code, cluster = practice["practice_code"], practice["cluster_id"]
    warning = warnings_frame([warning_row("missing_population", "no population rows",
                                          practice_code=code)])
    gap = dataclasses.replace(
        ds, populations=ds.populations[ds.populations["practice_code"] != code],
        warnings=pd.concat([ds.warnings, warning], ignore_index=True))
    rate = "gabapentinoid_ddd_per_1000_per_day"
    catalogue = {rate: load_catalogue()[rate]}
    table = calculate_indicators(gap, catalogue, "2026-09", months=12)
    totals = table[table["period_type"] == "total"].set_index(["level", "area_id"])
    assert pd.isna(totals.loc[("practice", code), "value"])
    assert "no population to divide by" in " ".join(table.attrs["warnings"])
    members = ds.practices.loc[ds.practices["cluster_id"] == cluster, "practice_code"]
    full = synthetic_indicators[(synthetic_indicators["indicator_id"] == rate)
                                & (synthetic_indicators["period_type"] == "total")
                                & (synthetic_indicators["level"] == "practice")
                                & synthetic_indicators["area_id"].isin(members)
                                & (synthetic_indicators["area_id"] != code)]
    # the cluster is the sum of its other practices: the gap's items are not in it
    assert totals.loc[("cluster", cluster), "numerator"] == pytest.approx(full["numerator"].sum())

    flags = assess_quality(gap, table, catalogue)
    hit = flags[(flags["practice_code"] == code) & (flags["flag"] == "denominator_gap")]
    assert list(hit["indicator_id"]) == [rate]
    policy = DisclosurePolicy(cluster_id=cluster, salt="quality-test")
    flagged, notes = _flag_and_release(flags, table, policy)
    cluster_note = notes[(notes["level"] == "cluster") & (notes["flag"] == "denominator_gap")]
    assert cluster_note["note"].str.startswith("A member practice:").all() and len(cluster_note)
    marked = flagged[(flagged["level"] == "cluster") & (flagged["period_type"] == "total")
                     & (flagged["area_id"] == cluster)]
    assert len(marked) == 1 and marked["vs_rest_of_scotland"].isna().all()
    assert (marked["quality_flag"] == QUALITY_NOTE).all()
