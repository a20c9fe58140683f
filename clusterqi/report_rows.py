"""Which rows of the indicator table one cluster's report shows: decided here and nowhere else.

A report shows (:func:`report_rows`): the cluster's own rows (cluster and practices, every month
and the total); the total rows of every other practice and cluster (funnel plots and the
at-a-glance chart place the cluster among them); Scotland; and the cluster's home HSCP and board.
Other clusters' monthly rows are not drawn anywhere, so they are left out: a report never carries
more than it shows. Within those, :func:`numbers_rows` is what the "download the numbers" CSV
carries, :func:`unit_rows` what one section draws, and :func:`own_notes` the data-quality notes
about the cluster and its practices.

The rows disclosure control must *see* to release these (the comparator areas of every row,
suppression worked out over all of Scotland) are :meth:`clusterqi.run_tables.Run.scope`.

Example usage::

    rows = report_rows(releasable, "dundee-4")
    unit_rows(rows, "dundee-4", "antibiotics_items", "cluster", "total")
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from clusterqi.vocabulary import CLUSTER, HB, HSCP, PRACTICE, SCOTLAND, UNIT_LEVELS

__all__ = ["report_mask", "report_rows", "numbers_rows", "unit_rows", "own_rows", "own_mask",
           "own_notes", "logged_in"]


def report_mask(table: pd.DataFrame, cluster_id: str) -> np.ndarray:
    """Which rows :func:`report_rows` keeps (a boolean array)."""
    def column(name: str) -> np.ndarray:
        return table[name].to_numpy(dtype=object)

    level, cluster, area = column("level"), column("cluster_id"), column("area_id")
    total = column("period_type") == "total"
    unit = np.isin(level, UNIT_LEVELS)
    own = unit & (cluster == cluster_id)
    keep = own | (total & unit) | (level == SCOTLAND)
    home = own & (level == CLUSTER)
    hscps = {str(c) for c in column("hscp_code")[home] if isinstance(c, str)}
    boards = {str(c) for c in column("hb_code")[home] if isinstance(c, str)}
    keep |= (level == HSCP) & np.isin(area.astype(str), list(hscps))
    keep |= (level == HB) & np.isin(area.astype(str), list(boards))
    return keep


def report_rows(table: pd.DataFrame, cluster_id: str) -> pd.DataFrame:
    """The rows of a (releasable) indicator table that one cluster's report shows.

    Example usage::

        rows = report_rows(releasable, "dundee-4")
    """
    return table[report_mask(table, cluster_id)].reset_index(drop=True)


def own_mask(table: pd.DataFrame, cluster_id: str) -> pd.Series:
    """Which rows are the cluster's own: the cluster itself and its member practices."""
    return table["cluster_id"].astype("string").eq(cluster_id).fillna(False)


def numbers_rows(rows: pd.DataFrame, cluster_id: str, columns) -> pd.DataFrame:
    """The cluster's own rows, its member practices (as released) and its comparator areas, in
    ``columns`` (those present). ``rows`` are a report's rows, so its HSCP and board rows are
    already the cluster's home ones."""
    own = rows[own_mask(rows, cluster_id) & rows["level"].isin(list(UNIT_LEVELS))]
    areas = rows[rows["level"].isin([HSCP, HB, SCOTLAND])]
    out = pd.concat([own, areas], ignore_index=True)
    return out[[c for c in columns if c in out.columns]]


def unit_rows(rows: pd.DataFrame, cluster_id: str, indicator_id: str, level: str,
              period_type: str, own: bool = True) -> pd.DataFrame:
    """One indicator's rows at one level and period type; only the cluster's own unless
    ``own=False`` (e.g. every cluster's total, for a funnel)."""
    keep = ((rows["indicator_id"] == indicator_id) & (rows["level"] == level)
            & (rows["period_type"] == period_type))
    if own:
        keep &= own_mask(rows, cluster_id)
    return rows[keep]


def own_rows(rows: pd.DataFrame, cluster_id: str) -> pd.DataFrame:
    """The rows of the cluster itself and of its member practices."""
    return rows[own_mask(rows, cluster_id)]


def own_notes(notes: pd.DataFrame, rows: pd.DataFrame, cluster_id: str) -> pd.DataFrame:
    """The released data-quality notes about the cluster itself and its own practices."""
    if not len(notes):
        return notes
    practices = rows[own_mask(rows, cluster_id) & rows["level"].eq(PRACTICE)]
    mine = set(practices["area_id"].astype(str)) | {cluster_id}
    return notes[notes["area_id"].astype(str).isin(mine)].reset_index(drop=True)


def logged_in(log: pd.DataFrame, rows: pd.DataFrame) -> pd.DataFrame:
    """The disclosure log's entries about ``rows`` (a report's rows), and its summary entries."""
    key = ["indicator_id", "level", "area_id", "period"]
    summary = log["area_id"].isna().to_numpy()
    if summary.all():
        return log.reset_index(drop=True)
    shown = set(zip(*(rows[c].to_numpy(dtype=object) for c in key)))
    entries = zip(*(log[c].to_numpy(dtype=object) for c in key))
    keep = summary | np.fromiter((entry in shown for entry in entries), bool, count=len(log))
    return log[keep].reset_index(drop=True)
