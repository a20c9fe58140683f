"""Cluster releases disclose nothing: every cluster of synthetic Scotland, and the real smallest
cluster (Coll, Colonsay & Tiree) and the 17-patient practice (Edinburgh South East - North) on the
real PHS practice list with synthetic prescribing attached."""

from __future__ import annotations

import copy
import re

import pandas as pd
import pytest

from clusterqi.disclosure import DEFAULT_THRESHOLD, DisclosurePolicy, apply_disclosure
from tests.disclosure.leaks import Identifiers

#: Months per cluster release in the every-cluster test (with the total period): keeps it fast.
MONTHS_PER_RELEASE = 2


def _allowed_texts(table: pd.DataFrame) -> set[str]:
    """Names and ids of clusters, HSCPs, boards and Scotland: meant to be shown."""
    areas = table[table["level"] != "practice"]
    return set(areas["area_name"].dropna()) | set(areas["area_id"].dropna()) | set(
        table["cluster_id"].dropna())


def test_every_synthetic_cluster_release_names_no_practice_and_shows_no_size_or_small_count(
        synthetic_dir, synthetic_dataset, synthetic_indicators):
    table = synthetic_indicators
    months = sorted(table.loc[table["period_type"] == "month", "period"].unique())[-MONTHS_PER_RELEASE:]
    keep = (table["period_type"] == "total") | table["period"].isin(months)
    indicators = sorted(table["indicator_id"].unique())
    # each cluster gets one indicator in turn, so every indicator is exercised across clusters
    slices = {i: table[keep & (table["indicator_id"] == i)] for i in indicators}
    ids = Identifiers(synthetic_dir / "practice_contactdetails_oct2024-open-data.csv"
                      if (synthetic_dir / "practice_contactdetails_oct2024-open-data.csv").exists()
                      else next(synthetic_dir.glob("practice_contactdetails*.csv")),
                      synthetic_dataset.list_sizes["list_size"], _allowed_texts(table),
                      table.loc[table["level"] == "practice", "denominator"])
    clusters = sorted(table.loc[table["level"] == "cluster", "area_id"].dropna().unique())
    assert len(clusters) > 100
    problems = {}
    for n, cluster in enumerate(clusters):
        part = slices[indicators[n % len(indicators)]]
        released, log = apply_disclosure(part, DisclosurePolicy(cluster_id=cluster, salt="leak"))
        found = ids.problems(released, DEFAULT_THRESHOLD) + ids.problems(
            log.assign(numerator=float("nan")), DEFAULT_THRESHOLD)
        if found:
            problems[cluster] = found[:3]
    assert not problems, problems


@pytest.fixture(scope="module")
def real_attached(phs_dir, tmp_path_factory):
    from clusterqi.indicators import calculate_indicators, load_catalogue
    from clusterqi.loaders import load_dataset
    from clusterqi.synthetic import write_synthetic

    out = write_synthetic(
        tmp_path_factory.mktemp("real-attached"), months=6, period_end="2026-09",
        practices=phs_dir / "practices" / "practice_contactdetails_oct2024-open-data.csv",
        populations=phs_dir / "practices" / "practice_listsizes_oct2024-open-data.csv",
        lookups=phs_dir / "lookups")
    dataset = load_dataset(out)
    table = calculate_indicators(dataset, load_catalogue(), "2026-09", months=3)
    ids = Identifiers(phs_dir / "practices" / "practice_contactdetails_oct2024-open-data.csv",
                      dataset.list_sizes["list_size"], _allowed_texts(table),
                      table.loc[table["level"] == "practice", "denominator"])
    return table, ids


@pytest.mark.parametrize("cluster, practice, list_size", [
    ("coll-colonsay-tiree", "84129", 136),
    ("edinburgh-south-east-north", "71171", 17),
])
@pytest.mark.parametrize("audience", ["cluster", "practice"])
def test_real_small_cluster_and_tiny_practice_disclose_nothing(real_attached, cluster, practice,
                                                                list_size, audience):
    table, ids = real_attached
    members = sorted(table.loc[(table["level"] == "practice") & (table["cluster_id"] == cluster),
                               "area_id"].unique())
    assert practice in members
    reveal = None
    if audience == "practice":  # reveal another member: the small one must stay hidden
        reveal = next(m for m in members if m != practice)
    released, log = apply_disclosure(table, DisclosurePolicy(
        audience=audience, cluster_id=cluster, reveal_practice=reveal, salt="real"))
    if reveal is not None:
        # the revealed practice is meant to be named: check the rest
        released = released[released["area_id"] != reveal]
        ids = _without(ids, reveal, table)
    assert ids.problems(released, DEFAULT_THRESHOLD) == []
    assert ids.problems(log.assign(numerator=float("nan")), DEFAULT_THRESHOLD) == []
    hidden = released[released["level"] == "practice"]
    assert len(hidden) > 0 and hidden["denominator"].isna().all()
    sizes = hidden[["numerator", "denominator", "plot_size"]].to_numpy(dtype=float).ravel()
    assert list_size not in set(sizes) and list_size * 30 not in set(sizes)


def _without(ids: Identifiers, code: str, table: pd.DataFrame) -> Identifiers:
    other = copy.copy(ids)
    name = table.loc[(table["level"] == "practice") & (table["area_id"] == code), "area_name"].iloc[0]
    other.codes = ids.codes - {code}
    other.whole = ids.whole - {name.lower()}
    other.phrases = {p for p in ids.phrases if p.strip() != " ".join(
        re.findall(r"[0-9a-z]+", name.lower()))}
    return other


def test_real_cluster_of_three_keeps_pseudonymised_practice_rows(real_attached):
    table, _ = real_attached
    released, log = apply_disclosure(table, DisclosurePolicy(cluster_id="coll-colonsay-tiree"))
    names = set(released.loc[released["level"] == "practice", "area_name"])
    assert names == {"Member practice A", "Member practice B", "Member practice C"}
    assert "small cluster" not in set(log["rule"])
