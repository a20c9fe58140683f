"""The explorer's widgets drive the charts: set .value as an analyst would click, check what shows."""

from __future__ import annotations

import json

import pytest

from clusterqi.explore import COMPARISONS, Explorer


@pytest.fixture(scope="module")
def explorer(synthetic_dir):
    return Explorer(data="synthetic", period_end="2026-09", months=12)


def _shown(explorer) -> str:
    [output] = explorer.chart_output.outputs
    return output["data"]["text/html"]


def _spec(explorer) -> str:
    return json.dumps(explorer.current_chart.to_dict())


def test_the_cluster_list_follows_the_board_and_the_chart_shows_the_chosen_cluster(explorer):
    first_board, other_board = explorer.board.options[0][1], explorer.board.options[-1][1]
    explorer.board.value = first_board
    expected = explorer.clusters.query("hb_code == @other_board")
    explorer.board.value = other_board
    assert [value for _, value in explorer.cluster.options] == expected["cluster_id"].tolist()
    name, cluster_id = explorer.cluster.options[-1]
    before = _shown(explorer)
    explorer.cluster.value = cluster_id
    assert _shown(explorer) != before
    assert name in explorer.summary.value.replace("&#x27;", "'")
    assert name in _spec(explorer)


def test_each_comparison_draws_its_own_chart(explorer):
    seen = {}
    explorer.audience.value = "cluster"
    hscps = explorer.clusters.groupby("hb_code")["hscp_code"].nunique()
    board = hscps[hscps > 1].index[0]  # a board of several HSCPs: its funnel differs from the HSCP's
    explorer.board.value = board
    for choice in COMPARISONS:
        explorer.comparison.value = choice
        seen[choice] = _spec(explorer) if explorer.current_chart is not None else None
    drawn = [spec for spec in seen.values() if spec]
    assert len(set(drawn)) == len(drawn) >= 3
    assert '"comparator"' in seen["Rest of Scotland"]  # the trend's comparator dropdown
    assert '"unit_highlight"' in seen["Clusters in the HSCP"]


def test_the_clusters_in_the_hscp_funnel_holds_only_that_hscps_clusters(explorer):
    explorer.comparison.value = "Clusters in the HSCP"
    cluster_id = explorer.cluster.value
    directory = explorer.clusters.set_index("cluster_id")
    others = directory[directory["hscp_code"] != directory.loc[cluster_id, "hscp_code"]]["cluster_name"]
    spec = _spec(explorer)
    assert directory.loc[cluster_id, "cluster_name"] in spec
    assert not [name for name in others if f'"{name}"' in spec]


def test_indicator_and_audience_changes_redraw_and_the_cluster_preview_hides_practice_codes(
    explorer, synthetic_dataset
):
    explorer.comparison.value = "Practices in the cluster"
    big = explorer.clusters.merge(
        synthetic_dataset.practices.groupby("cluster_id").size().rename("n").reset_index(), on="cluster_id"
    ).query("n >= 4").iloc[0]
    explorer.board.value = big["hb_code"]
    explorer.cluster.value = big["cluster_id"]
    before = _spec(explorer)
    explorer.indicator.value = explorer.indicator.options[-1][1]
    assert _spec(explorer) != before
    assert explorer.catalogue[explorer.indicator.value].title.split(",")[0] in _spec(explorer)
    codes = synthetic_dataset.practices.loc[synthetic_dataset.practices["cluster_id"] == big["cluster_id"], "practice_code"]
    explorer.audience.value = "cluster"
    cluster_view = _spec(explorer)
    assert "Member practice" in cluster_view
    assert not [code for code in codes if f'"{code}"' in cluster_view]
    explorer.audience.value = "analyst"
    assert "Member practice" not in _spec(explorer)  # the analyst view names practices
    assert explorer.last_update_seconds is not None


def test_a_second_explorer_on_the_same_data_reuses_the_calculated_tables(explorer):
    from pathlib import Path

    path = Path(explorer._table_path(12))
    written = path.stat().st_mtime_ns
    again = Explorer(data="synthetic", period_end="2026-09", months=12)
    assert Path(again._table_path(12)) == path
    assert path.stat().st_mtime_ns == written


def test_plain_words_a_banner_for_the_analyst_view_and_the_cluster_named_once(explorer):
    from clusterqi.explore import ANALYST_BANNER, CALCULATING, WITHHELD_PRACTICES

    seen = []
    explorer.audience.value = "cluster"
    explorer.status.observe(lambda change: seen.append(change["new"]), names="value")
    explorer.audience.value = "analyst"
    assert explorer.banner.value == ANALYST_BANNER and "not for release" in explorer.banner.value
    assert CALCULATING in seen and explorer.status.value == ""  # shown while drawing, then cleared
    explorer.audience.value = "cluster"
    assert explorer.banner.value == ""
    name = str(explorer._cluster_rows[explorer.cluster.value]["cluster_name"])
    assert explorer.summary.value.replace("&#x27;", "'").count(name) == 1
    # a cluster whose practices are withheld: a plain sentence, not the error's text
    explorer.comparison.value = next(k for k, v in COMPARISONS.items() if v == "practice")
    small = [c for c in explorer.clusters["cluster_id"] if c in _two_practice_clusters(explorer)]
    assert small, "synthetic Scotland has a cluster of fewer than 3 practices"
    row = explorer.clusters.set_index("cluster_id").loc[small[0]]
    explorer.board.value = row["hb_code"]
    explorer.cluster.value = small[0]
    assert WITHHELD_PRACTICES in explorer.summary.value.replace("&#x27;", "'")
    assert explorer.chart_output.outputs == ()


def _two_practice_clusters(explorer) -> set[str]:
    import pandas as pd

    table = pd.read_parquet(explorer._table_path(explorer.months.value),
                            columns=["level", "area_id", "cluster_id"])
    practices = table[table["level"] == "practice"].drop_duplicates("area_id")
    counts = practices.groupby("cluster_id")["area_id"].nunique()
    return set(counts[counts < 3].index)


def test_the_explorer_shows_who_the_cluster_serves_and_its_peers(explorer):
    explorer.audience.value = "cluster"
    shown = explorer.context.value
    assert "Patients registered" in shown and "Aged 65 and over" in shown
    assert "Clusters like ours" in shown
    assert explorer.report().peers["cluster_name"].iloc[0] in shown.replace("&#x27;", "'")
