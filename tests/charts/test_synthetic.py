"""Every chart on synthetic Scotland after disclosure (audience "cluster"): draws, small, no leaks."""

from __future__ import annotations

import json

import pytest

import clusterqi.charts as charts
from tests.charts.spec import embedded_strings, params

MAX_FUNNEL_BYTES = 45_000  # a cluster-level funnel holds every Scottish cluster
MAX_OTHER_BYTES = 45_000


@pytest.fixture(scope="module")
def releasable(synthetic_indicators):
    from clusterqi.disclosure import DisclosurePolicy, apply_disclosure

    table = synthetic_indicators
    sizes = (table[(table["level"] == "practice")].groupby("cluster_id")["area_id"].nunique())
    cluster_id = sizes[sizes >= 5].index[0]
    released, _log = apply_disclosure(
        table, DisclosurePolicy(audience="cluster", cluster_id=cluster_id, salt="charts-test"))
    practices = table[table["level"] == "practice"]
    secrets = set(practices["area_id"].astype(str)) | set(practices["area_name"].astype(str))
    return released, cluster_id, secrets


@pytest.fixture(scope="module")
def catalogue():
    from clusterqi.indicators import load_catalogue

    return load_catalogue()


def test_every_chart_builds_for_a_cluster_with_no_practice_name_or_code(releasable, catalogue):
    table, cluster_id, secrets = releasable
    indicator = next(iter(catalogue.values()))
    built = {
        "funnel cluster": charts.funnel_chart(table, indicator, "cluster", highlight=cluster_id),
        "funnel practice": charts.funnel_chart(table, indicator, "practice"),
        "spc": charts.spc_chart(table, indicator, cluster_id, "cluster"),
        "comparison": charts.comparison_chart(table, indicator, cluster_id),
        "practice": charts.practice_chart(table, indicator, cluster_id),
        "summary": charts.summary_chart(table, catalogue, cluster_id),
    }
    for name, chart in built.items():
        text = json.dumps(chart.to_dict(), allow_nan=False)
        limit = MAX_FUNNEL_BYTES if name.startswith("funnel") else MAX_OTHER_BYTES
        assert len(text) < limit, (name, len(text))
        assert not embedded_strings(chart) & secrets, name
    assert {"comparator", "practice_highlight"} <= set(params(built["comparison"]))
    assert {"show_unadjusted", "unit_highlight"} <= set(params(built["funnel cluster"]))


def test_summary_sentences_are_built_from_the_released_numbers(releasable, catalogue):
    table, cluster_id, _ = releasable
    indicator = next(iter(catalogue.values()))
    own = table[(table["indicator_id"] == indicator.id) & (table["level"] == "cluster")
                & (table["area_id"] == cluster_id) & (table["period_type"] == "total")]
    name = own["area_name"].iloc[0]
    text = charts.describe("funnel", table, indicator, "cluster", highlight=cluster_id)
    assert text.startswith(f"{name}: ")
    assert charts.inputs.format_value(own["value"].iloc[0]) in text
