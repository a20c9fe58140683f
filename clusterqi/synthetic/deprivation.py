"""Deprivation in synthetic Scotland: Data Zones, a SIMD file, and a planted deprivation gradient.

Every synthetic practice's premises sit in an invented 2011 Data Zone (``S019xxxxx``: a range
real codes do not use) with an invented SIMD 2020v2 rank. Deprivation is clustered
geographically, as in Scotland: each HSCP has a deprivation tilt; each cluster is deprived
(its practices mostly in quintiles 1-2), affluent (mostly 4-5) or mixed (spread over the
quintiles around a mean that leans with its HSCP), deprived clusters being likelier in deprived
HSCPs (:func:`assign_deprivation`). So HSCPs and clusters have distinct profiles: a few clusters
are almost all in the most deprived fifth of Scotland, a few almost all in the least deprived,
most are mixed. A practice's rank is drawn within its quintile, and its national decile and
quintile follow from the rank (:func:`clusterqi.loaders.simd.decile_of_rank`).

:func:`write_simd` writes ``simd2020v2_22062020.csv`` with PHS's column names (a plausible subset
of its columns) covering the practices' zones, so :func:`clusterqi.loaders.load_dataset` reads
it as it reads PHS's file.

**The planted gradient** (:data:`DEPRIVATION_GRADIENT`): for the deprivation-linked groups
(:data:`DEPRIVATION_GROUPS`: opioids, gabapentinoids, hypnotics and anxiolytics, and dosulepin,
the antidepressant the catalogue measures) a practice in SIMD quintile q prescribes
``1.30 ** (5 - q)`` times what a practice in quintile 5 (least deprived) does, other things being
equal: quintile 1 is 1.30^4 = 2.86 times quintile 5. All factors are divided by one constant (the
list-size-weighted mean factor of Scotland's practices) so Scotland's rate stays the code
table. A unit with an outlier or step-change plant has no gradient on the plant's indicator (it
sits at Scotland's average, as its other random effects are zeroed), so a plant's size stays its
distance from Scotland. The random spread of the linked groups between practices and clusters is
smaller than other groups' (:mod:`clusterqi.synthetic.codes`): deprivation now explains much of
it. The most deprived clusters are therefore called "worse" against the rest of Scotland on
these indicators (and the most affluent "better"), as real ones are: that is the point, and why
peer comparisons ("clusters like ours", :mod:`clusterqi.peers`) exist. Clusters
whose deprivation alone puts them :data:`GRADIENT_TRUTH_RATIO` or more from Scotland are listed
in ``ground_truth.csv`` as ``deprivation_gradient`` rows (direction high / low, size the
expected relative difference), so a scorecard does not count them as ordinary clusters.

Deterministic: drawn from its own random stream of the world's seed, so the geography and the
plants are those the seed gave before deprivation existed (the month-to-month noise is not: the
Poisson draws depend on the means the gradient moves).

Example usage::

    simd = assign_deprivation(world.practices, seed=42)
    write_simd(folder / SIMD_FILE, simd, world.practices)
    factor = gradient_factors(simd, world.practices)   # practice_code -> multiplier
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from clusterqi.loaders.practices import cluster_slug, is_placeholder
from clusterqi.loaders.simd import SIMD_FILE, SIMD_ZONES, decile_of_rank, quintile_of_rank
from clusterqi.synthetic.plants import Plant

__all__ = [
    "DEPRIVATION_GRADIENT",
    "DEPRIVATION_GROUPS",
    "DEPRIVATION_INDICATORS",
    "GRADIENT_TRUTH_RATIO",
    "EXTREME_CLUSTER_SHARE",
    "HSCP_TILT",
    "DEPRIVED_PROFILE",
    "MIXED_HSCP_SHIFT",
    "MIXED_CLUSTER_SD",
    "MIXED_SPREAD",
    "SIMD_FILE",
    "SIMD_COLUMNS_WRITTEN",
    "assign_deprivation",
    "gradient_factors",
    "gradient_plants",
    "write_simd",
]

#: Prescribing multiplier per SIMD quintile step towards the most deprived, for the
#: deprivation-linked groups: quintile 5 (least deprived) x1, quintile 4 x1.30, ...,
#: quintile 1 (most deprived) x1.30^4 = x2.86 (before the one Scotland-wide normalising
#: constant that keeps Scotland's rate at the code table's).
DEPRIVATION_GRADIENT = 1.30
#: Prescribing groups (:data:`clusterqi.synthetic.codes.GROUPS` names) the gradient applies to.
DEPRIVATION_GROUPS = ("opioid", "gabapentinoid", "hypnotic", "dosulepin")
#: The catalogue indicators those groups make up (ground-truth rows name them).
DEPRIVATION_INDICATORS = ("opioid_ome_per_1000_per_day", "gabapentinoid_ddd_per_1000_per_day",
                          "hypnotics_anxiolytics_adq_per_1000_per_day",
                          "dosulepin_items_per_1000_per_day")
#: A cluster whose expected gradient factor is at least this ratio above (or below) Scotland's
#: is recorded as a ``deprivation_gradient`` unit in the ground truth.
GRADIENT_TRUTH_RATIO = 1.3
#: Clusters are deprived (mostly quintiles 1-2), affluent (mostly 4-5) or mixed. An HSCP with
#: deprivation tilt t (standard normal) has a share ``EXTREME_CLUSTER_SHARE x sigmoid(HSCP_TILT
#: x t)`` of deprived clusters and ``EXTREME_CLUSTER_SHARE x sigmoid(-HSCP_TILT x t)`` of
#: affluent ones (7.5% each at t = 0; up to 15% of one kind in the most tilted HSCPs).
EXTREME_CLUSTER_SHARE = 0.15
HSCP_TILT = 1.5
#: Quintile probabilities (1..5) of a practice in a deprived cluster (an affluent cluster's
#: are the mirror image: 5..1).
DEPRIVED_PROFILE = (0.6, 0.3, 0.1, 0.0, 0.0)
#: A mixed cluster's mean quintile: 3, minus MIXED_HSCP_SHIFT x its HSCP's tilt (a deprived
#: HSCP's mixed clusters lean deprived too), plus a draw of sd MIXED_CLUSTER_SD. Kept modest: the
#: spread of the gradient between ordinary clusters widens every cluster's funnel.
MIXED_HSCP_SHIFT = 0.3
MIXED_CLUSTER_SD = 0.15
#: Spread (sd, in quintiles) of a mixed cluster's practices around its mean.
MIXED_SPREAD = 1.3
#: Draws tried to bring a mixed cluster's weighted mean quintile close to its target.
_MIXED_TRIES = 30
#: Second seed word of the deprivation's own random stream.
_STREAM = 2
#: Synthetic Data Zone numbers start here (``S01900000``); real ones run S01006506..S01013481.
_ZONE_BASE = 900000
#: Columns of the synthetic SIMD file (a subset of PHS's ``simd2020v2_22062020.csv``).
SIMD_COLUMNS_WRITTEN = ["DataZone", "IntZone", "HB", "HSCP", "SIMD2020V2Rank",
                        "SIMD2020V2CountryDecile", "SIMD2020V2CountryQuintile"]


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def _mixed_quintiles(sizes: np.ndarray, target: float, rng: np.random.Generator) -> np.ndarray:
    """Quintiles for a mixed cluster whose list-size-weighted mean should be ``target``: of
    :data:`_MIXED_TRIES` draws (each practice's quintile from a spread of sd
    :data:`MIXED_SPREAD` around the target), the one whose weighted mean is closest to it."""
    levels = np.arange(1, 6)
    probs = np.exp(-0.5 * ((levels - target) / MIXED_SPREAD) ** 2)
    probs = probs / probs.sum()
    weights = sizes if sizes.sum() > 0 else np.ones(len(sizes))
    best, gap = None, np.inf
    for _ in range(_MIXED_TRIES):
        draw = rng.choice(levels, size=len(sizes), p=probs)
        mean = float((draw * weights).sum() / weights.sum())
        if abs(mean - target) < gap:
            best, gap = draw, abs(mean - target)
    return best


def assign_deprivation(practices: pd.DataFrame, seed: int) -> pd.DataFrame:
    """practice_code, data_zone, simd_rank, simd_decile, simd_quintile for every practice.

    ``practices``: practice_code, cluster_name, hscp_code, list_size (one row per practice).
    Each HSCP gets a deprivation tilt; each cluster is deprived, affluent or mixed, the first
    two likelier in HSCPs tilted their way (:data:`EXTREME_CLUSTER_SHARE`); a practice's
    quintile is drawn from its cluster's profile (:data:`DEPRIVED_PROFILE`, its mirror for
    affluent clusters; a mixed cluster spreads its practices over the quintiles around a mean
    of 3, moved by :data:`MIXED_HSCP_SHIFT` x the HSCP's tilt and a cluster draw of sd
    :data:`MIXED_CLUSTER_SD`). Each practice then gets a distinct rank drawn uniformly within
    its quintile, and its own Data Zone.
    """
    rng = np.random.default_rng([seed, _STREAM])
    table = practices[["practice_code", "cluster_name", "hscp_code", "list_size"]].sort_values(
        "practice_code", ignore_index=True)
    hscps = sorted(table["hscp_code"].unique())
    tilt = dict(zip(hscps, rng.normal(0, 1, len(hscps))))
    quintile = np.zeros(len(table), dtype=np.int64)
    for name in sorted(table["cluster_name"].unique()):
        rows = np.flatnonzero(table["cluster_name"].to_numpy() == name)
        h = tilt[table["hscp_code"].iloc[rows[0]]]
        deprived = EXTREME_CLUSTER_SHARE * _sigmoid(HSCP_TILT * h)
        affluent = EXTREME_CLUSTER_SHARE * _sigmoid(-HSCP_TILT * h)
        draw = rng.random()
        if draw < deprived:
            quintile[rows] = rng.choice(5, size=len(rows), p=DEPRIVED_PROFILE) + 1
        elif draw < deprived + affluent:
            quintile[rows] = 5 - rng.choice(5, size=len(rows), p=DEPRIVED_PROFILE)
        else:
            sizes = table["list_size"].to_numpy(dtype=float)[rows]
            target = float(np.clip(3 - MIXED_HSCP_SHIFT * h + rng.normal(0, MIXED_CLUSTER_SD), 1.5, 4.5))
            quintile[rows] = _mixed_quintiles(sizes, target, rng)
    ranks = np.zeros(len(table), dtype=np.int64)
    everything = np.arange(1, SIMD_ZONES + 1)
    for q in range(1, 6):
        rows = np.flatnonzero(quintile == q)
        pool = everything[quintile_of_rank(everything) == q]
        ranks[rows] = rng.choice(pool, size=len(rows), replace=False)
    numbers = rng.choice(SIMD_ZONES, size=len(table), replace=False) + _ZONE_BASE
    rank = pd.Series(ranks)
    return pd.DataFrame({
        "practice_code": table["practice_code"],
        "data_zone": [f"S01{n:06d}" for n in numbers],
        "simd_rank": rank,
        "simd_decile": decile_of_rank(rank),
        "simd_quintile": quintile_of_rank(rank),
    })


def write_simd(path: Path, simd: pd.DataFrame, practices: pd.DataFrame) -> None:
    """Write ``simd2020v2_22062020.csv`` (PHS column names, CRLF) for the practices' zones.

    ``simd`` from :func:`assign_deprivation`; ``practices`` gives each zone's board and HSCP.
    Rows are in Data Zone order, as PHS's file is.
    """
    where = practices.set_index("practice_code")
    rows = simd.sort_values("data_zone", ignore_index=True)
    frame = pd.DataFrame({
        "DataZone": rows["data_zone"],
        "IntZone": [f"S02{int(z[3:]) // 5:06d}" for z in rows["data_zone"]],
        "HB": where.loc[rows["practice_code"], "hb_code"].to_numpy(),
        "HSCP": where.loc[rows["practice_code"], "hscp_code"].to_numpy(),
        "SIMD2020V2Rank": rows["simd_rank"],
        "SIMD2020V2CountryDecile": rows["simd_decile"],
        "SIMD2020V2CountryQuintile": rows["simd_quintile"],
    })
    Path(path).write_bytes(frame[SIMD_COLUMNS_WRITTEN].to_csv(index=False, lineterminator="\r\n")
                           .encode("utf-8"))


def gradient_factors(simd: pd.DataFrame, practices: pd.DataFrame) -> pd.Series:
    """practice_code -> the gradient's multiplier for the deprivation-linked groups.

    ``DEPRIVATION_GRADIENT ** (5 - quintile)``, divided by its list-size-weighted mean over
    ``practices`` (practice_code, list_size), so Scotland as a whole is unchanged.
    """
    raw = DEPRIVATION_GRADIENT ** (5 - simd.set_index("practice_code")["simd_quintile"].astype(float))
    sizes = practices.set_index("practice_code")["list_size"].astype(float).reindex(raw.index).fillna(0)
    return raw / float((raw * sizes).sum() / sizes.sum())


def gradient_plants(simd: pd.DataFrame, practices: pd.DataFrame, plants: list[Plant],
                    catalogue) -> list[Plant]:
    """``deprivation_gradient`` ground-truth rows: clusters the gradient alone puts at least
    :data:`GRADIENT_TRUTH_RATIO` from Scotland, per deprivation-linked indicator the catalogue has
    (not where the cluster carries an outlier plant on it, which sets its gradient to Scotland's).

    ``size`` is the cluster's expected relative difference from Scotland (list-size weighted).
    """
    factor = gradient_factors(simd, practices)
    table = practices[["practice_code", "cluster_name", "list_size"]].assign(
        factor=lambda t: t["practice_code"].map(factor))
    table = table[~table["cluster_name"].map(is_placeholder)]
    weighted = table.assign(w=table["factor"] * table["list_size"]).groupby("cluster_name")[
        ["w", "list_size"]].sum()
    cluster_factor = (weighted["w"] / weighted["list_size"]).sort_index()
    outliers = {(p.unit_id, p.indicator_id) for p in plants if p.kind == "cluster_outlier"}
    out = []
    for name, value in cluster_factor.items():
        if GRADIENT_TRUTH_RATIO ** -1 < value < GRADIENT_TRUTH_RATIO:
            continue
        unit = cluster_slug(name)
        for indicator in DEPRIVATION_INDICATORS:
            if indicator in catalogue and (unit, indicator) not in outliers:
                out.append(Plant("deprivation_gradient", unit, indicator,
                                 direction="high" if value > 1 else "low",
                                 size=round(float(value) - 1, 3),
                                 practices=tuple(table.loc[table["cluster_name"] == name,
                                                           "practice_code"])))
    return out
