"""Clusters like ours: each cluster's peer group of the Scottish clusters most like it.

A cluster in a deprived town is not fairly compared with Scotland as a whole on opioids or
hypnotics, nor an old rural cluster on statins. Its **peers** are the :data:`DEFAULT_PEERS`
clusters nearest to it on three measures of the population it serves
(:func:`clusterqi.context.cluster_context`), each standardised (z-scored) across the clusters
that have all three, with equal weights:

- ``mean_simd_rank``: the list-size-weighted mean SIMD 2020v2 rank of the practices' premises.
  Chosen over the share of patients in the most deprived quintile because it uses every
  practice's deprivation: the quintile-1 share is 0 for about half of Scotland's clusters, so it
  could not tell a mixed cluster from an affluent one, and a cut at 20% makes a practice at rank
  1,396 count fully and one at 1,397 not at all;
- ``share_65_plus`` and ``share_under_15``: the shares of patients aged 65+ and under 15.

Distance is Euclidean on the z-scores; the cluster itself is never its own peer; ties are broken
by ``cluster_id`` (so the result is the same on every run and machine). A cluster missing any
measure (no SIMD rank for any of its practices, or no age bands) is left out of peer selection,
both as a focal cluster and as a candidate peer, and listed in ``attrs["left_out"]`` (a
DataFrame: cluster_id, reason).

Limits (docs/statistics.md, "Clusters like ours"): the deprivation is that of the practices'
premises, not of the patients' homes; SIMD describes areas, and not every deprived person lives
in a deprived area (an ecological measure); peers are alike on these three measures only.

Example usage::

    from clusterqi.context import cluster_context
    from clusterqi.peers import peer_groups

    context = cluster_context(data.practices, data.populations)
    peers = peer_groups(context)                         # 15 peers per cluster
    peers[peers["cluster_id"] == "dundee-4"]
    peers.attrs["left_out"]                              # clusters with no usable measures
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["NO_PEERS", "DEFAULT_PEERS", "PEER_MEASURES", "PEER_COLUMNS", "PEER_METHOD",
           "peer_groups", "standardised_measures"]

#: Peers per cluster.
DEFAULT_PEERS = 15
#: cluster_context columns the distance is measured on, equally weighted after z-scoring.
PEER_MEASURES = ("mean_simd_rank", "share_65_plus", "share_under_15")
#: Columns of :func:`peer_groups`.
PEER_COLUMNS = ["cluster_id", "peer_cluster_id", "distance", "rank"]
#: The method in one plain-English paragraph, for reports.
PEER_METHOD = (
    f"Clusters like ours are the {DEFAULT_PEERS} Scottish GP clusters whose patients are most like this "
    "cluster's on three measures, given equal weight: the deprivation of the areas its practices "
    "are in (the average Scottish Index of Multiple Deprivation 2020 rank of each practice's "
    "Data Zone, weighted by list size), the share of patients aged 65 and over, and the share "
    "aged under 15. Deprivation describes where the practices are, not where each patient lives."
)
#: What a report says when the data had no deprivation file (no peers, no deprivation context).
NO_PEERS = ("No comparison with clusters like ours: the data have no Scottish Index of Multiple "
            "Deprivation file, which context and peer clusters need (clusterqi fetch downloads it).")
#: Distances are rounded to this many decimals (and compared so), so floating-point noise never
#: beats the cluster_id tie-break.
_DECIMALS = 12


def standardised_measures(context: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(z-scores of :data:`PEER_MEASURES` indexed by cluster_id, left-out clusters with reasons).

    z = (value - mean) / standard deviation over the usable clusters (population sd, ddof 0); a
    measure with no spread contributes 0 for every cluster.
    """
    missing = [c for c in ("cluster_id", *PEER_MEASURES) if c not in context.columns]
    if missing:
        raise ValueError(f"context lacks column(s) {missing}; expected clusterqi.context.cluster_context output")
    table = context.dropna(subset=["cluster_id"]).drop_duplicates("cluster_id").set_index("cluster_id")
    values = table[list(PEER_MEASURES)].apply(pd.to_numeric, errors="coerce").astype("float64")
    reasons = []
    for cluster_id, row in values.iterrows():
        absent = [m for m in PEER_MEASURES if not np.isfinite(row[m])]
        if absent:
            why = ("no SIMD rank for any of its practices" if "mean_simd_rank" in absent else
                   "no age bands in its practices' populations")
            reasons.append({"cluster_id": cluster_id, "reason": f"{why} (missing: {', '.join(absent)})"})
    left_out = pd.DataFrame(reasons, columns=["cluster_id", "reason"]).sort_values(
        "cluster_id", ignore_index=True)
    usable = values.drop(index=list(left_out["cluster_id"])).sort_index()
    spread = usable.std(ddof=0)
    z = (usable - usable.mean()) / spread.where(spread > 0)
    return z.fillna(0.0), left_out


def peer_groups(context: pd.DataFrame, n_peers: int = DEFAULT_PEERS) -> pd.DataFrame:
    """The ``n_peers`` nearest clusters of every usable cluster: cluster_id, peer_cluster_id,
    distance, rank.

    ``context``: :func:`clusterqi.context.cluster_context` (at least ``cluster_id`` and
    :data:`PEER_MEASURES`). ``rank`` 1 is the nearest peer; ``distance`` is Euclidean on the
    z-scores (:func:`standardised_measures`), rounded to 12 decimals. Fewer than ``n_peers`` rows for a cluster only
    when fewer other usable clusters exist. Sorted by cluster_id then rank;
    ``attrs["left_out"]`` lists the clusters left out and why, ``attrs["method"]`` is
    :data:`PEER_METHOD`. Raises ValueError for ``n_peers`` < 1 or missing columns.

    Example usage::

        peers = peer_groups(cluster_context(data.practices, data.populations), n_peers=10)
        peers.groupby("cluster_id")["peer_cluster_id"].apply(list)
    """
    if isinstance(n_peers, bool) or not isinstance(n_peers, (int, np.integer)) or n_peers < 1:
        raise ValueError(f"n_peers={n_peers!r}: expected a whole number of peers >= 1")
    z, left_out = standardised_measures(context)
    ids = z.index.to_numpy(dtype=object)
    points = z.to_numpy(dtype=float)
    rows = []
    for i, cluster_id in enumerate(ids):
        distance = np.sqrt(((points - points[i]) ** 2).sum(axis=1))
        order = sorted((round(float(d), _DECIMALS), str(other))
                       for j, (d, other) in enumerate(zip(distance, ids)) if j != i)
        for rank, (d, other) in enumerate(order[:int(n_peers)], start=1):
            rows.append((cluster_id, other, d, rank))
    result = pd.DataFrame(rows, columns=PEER_COLUMNS)
    result["cluster_id"] = result["cluster_id"].astype("str")
    result["peer_cluster_id"] = result["peer_cluster_id"].astype("str")
    result["distance"] = result["distance"].astype("float64")
    result["rank"] = result["rank"].astype("int64")
    result.attrs["left_out"] = left_out
    result.attrs["method"] = PEER_METHOD
    return result
