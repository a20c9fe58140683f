"""How well the statistics find what a synthetic world planted: the signal scorecard.

A synthetic Scotland (:mod:`clusterqi.synthetic`) writes ``ground_truth.csv``: the units given an
outlier or a step change, and the units made odd on purpose (missing months, a coding change, a
tiny practice...). :func:`signal_scorecard` reads an indicator table calculated on that world
against its ground truth and answers, per indicator and level (practice, cluster):

- ``unplanted_called``: the share of ordinary units whose verdict against the rest of Scotland
  (``vs_rest_of_scotland``) is better / worse (or higher / lower). Ordinary means no plant of
  any kind on the unit for this indicator, none on its cluster (for a practice) and none on any
  of its practices (for a cluster). Goal: 3% or fewer.
- ``planted_found``: the share of planted outliers called in their planted direction
  (the verdict's side of the rest of Scotland). Goal: 80% or more.
- ``unplanted_series_signalled``: the share of ordinary units' monthly series with any
  special-cause point (``spc_signal``) in the last :data:`LAST_MONTHS` months. An in-control
  24-point series under the "Making Data Count" rules signals there about 9-11% of the time.
  Goal: 15% or fewer.
- ``steps_signalled``: the share of planted step changes with a special-cause point at or after
  the step month on the side of the centre line the step moved to. Goal: 80% or more.

Counts sit beside each share so a reader sees how many units a share is made of.

Example usage::

    truth = pd.read_csv(folder / "ground_truth.csv", dtype=str, keep_default_na=False)
    card = signal_scorecard(table, truth, dataset.practices)
    card[card.level == "cluster"]
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from clusterqi import vocabulary

__all__ = ["LAST_MONTHS", "SCORECARD_COLUMNS", "OUTLIER_KINDS", "signal_scorecard"]

#: SPC signals are counted in this many most recent months of each series.
LAST_MONTHS = 12
#: Ground-truth kinds that are outliers, by the level they are planted at.
OUTLIER_KINDS = {"practice": "practice_outlier", "cluster": "cluster_outlier"}
#: Ground-truth kind of a step change (practices or clusters).
STEP_KIND = "step_change"
SCORECARD_COLUMNS = [
    "indicator_id", "level",
    "unplanted_units", "unplanted_called",
    "planted_outliers", "planted_found",
    "unplanted_series", "unplanted_series_signalled",
    "planted_steps", "steps_signalled",
]
_CALLED = {"better", "worse", "higher", "lower"}
#: The comparator whose verdict the scorecard judges (the funnel's, against the rest of Scotland).
_HEADLINE = vocabulary.headline()


def _touched(truth: pd.DataFrame, practices: pd.DataFrame) -> dict[str, tuple[set, set]]:
    """indicator id ("" for every indicator) -> (practice codes, cluster ids) a plant touches."""
    cluster_of = dict(zip(practices["practice_code"].astype(str), practices["cluster_id"]))
    members: dict[str, set] = {}
    for code, cluster in cluster_of.items():
        if isinstance(cluster, str):
            members.setdefault(cluster, set()).add(code)
    out: dict[str, tuple[set, set]] = {}
    for row in truth.itertuples(index=False):
        codes, clusters = out.setdefault(str(row.indicator_id or ""), (set(), set()))
        unit = str(row.unit_id)
        if unit in cluster_of:
            codes.add(unit)
            if isinstance(cluster_of[unit], str):
                clusters.add(cluster_of[unit])
        else:
            clusters.add(unit)
            codes.update(members.get(unit, set()))
    return out


def _share(hits: np.ndarray) -> float:
    return float(np.mean(hits)) if len(hits) else float("nan")


def _side(verdict: str, value: float, benchmark: float) -> str | None:
    if verdict not in _CALLED or not np.isfinite(value) or not np.isfinite(benchmark):
        return None
    return "high" if value > benchmark else "low"


def signal_scorecard(table: pd.DataFrame, truth: pd.DataFrame,
                     practices: pd.DataFrame) -> pd.DataFrame:
    """One row per indicator x level (practice, cluster): the shares described in the module.

    ``table`` from :func:`clusterqi.indicators.calculate_indicators` (month rows for the whole
    series, total rows for the verdicts); ``truth`` the world's ``ground_truth.csv`` (``kind,
    indicator_id, unit_id, month, direction``; read it as text); ``practices`` the dataset's
    practices (``practice_code, cluster_id``).

    Returns :data:`SCORECARD_COLUMNS`; a share is NaN where it is made of no unit.
    """
    missing = {"kind", "indicator_id", "unit_id", "month", "direction"} - set(truth.columns)
    if missing:
        raise ValueError(f"ground truth lacks column(s) {sorted(missing)}")
    truth = truth.fillna("")
    touched = _touched(truth, practices)
    every = touched.get("", (set(), set()))
    months = sorted(table.loc[table["period_type"] == "month", "period"].unique())
    recent = set(months[-LAST_MONTHS:])
    rows = []
    for indicator_id in pd.unique(table["indicator_id"]):
        mine = touched.get(indicator_id, (set(), set()))
        for level, position in (("practice", 0), ("cluster", 1)):
            planted_units = mine[position] | every[position]
            ind = table[(table["indicator_id"] == indicator_id) & (table["level"] == level)]
            total = ind[ind["period_type"] == "total"]
            ordinary = total[~total["area_id"].isin(planted_units)]
            called = ordinary[_HEADLINE.verdict_column].isin(_CALLED).to_numpy()

            outliers = truth[(truth["kind"] == OUTLIER_KINDS[level])
                             & (truth["indicator_id"] == indicator_id)]
            by_area = total.set_index("area_id")
            found = [
                u in by_area.index and _side(
                    str(by_area.at[u, _HEADLINE.verdict_column]),
                    float(by_area.at[u, "value"]),
                    float(by_area.at[u, _HEADLINE.value_column])) == d
                for u, d in zip(outliers["unit_id"], outliers["direction"])
            ]

            month_rows = ind[(ind["period_type"] == "month") & ind["period"].isin(recent)]
            ordinary_months = month_rows[~month_rows["area_id"].isin(planted_units)]
            signalled = (ordinary_months.groupby("area_id")["spc_signal"]
                         .agg(lambda s: bool(s.fillna(False).any())).to_numpy(bool))

            steps = truth[(truth["kind"] == STEP_KIND) & (truth["indicator_id"] == indicator_id)]
            step_hits = []
            for unit, month, direction in zip(steps["unit_id"], steps["month"],
                                              steps["direction"]):
                series = ind[(ind["period_type"] == "month") & (ind["area_id"] == unit)]
                if series.empty:
                    continue  # planted at the other level
                after = series[series["period"] >= month]
                side = (after["value"] > after["cl"]) if direction == "high" else (
                    after["value"] < after["cl"])
                step_hits.append(bool((after["spc_signal"].fillna(False) & side).any()))

            rows.append({
                "indicator_id": indicator_id, "level": level,
                "unplanted_units": len(ordinary), "unplanted_called": _share(called),
                "planted_outliers": len(found), "planted_found": _share(np.array(found)),
                "unplanted_series": len(signalled),
                "unplanted_series_signalled": _share(signalled),
                "planted_steps": len(step_hits), "steps_signalled": _share(np.array(step_hits)),
            })
    return pd.DataFrame(rows, columns=SCORECARD_COLUMNS)
