"""Synthetic Scotland's places: boards, HSCPs, clusters, practices, list sizes and age/sex mix.

Everything here is invented but shaped like the real thing (DESIGN.md section 3): about 14
boards, 31 HSCPs, 150 clusters and 900 practices; list sizes from a few hundred to 20,000+ with
a long right tail; clusters of 1 to 15 practices; one cluster spanning two HSCPs; one
``<Board> Undefined`` placeholder practice per chosen board. Codes follow PHS formats but use
ranges PHS does not (boards ``S081000nn``, HSCPs ``S371000nn``), so they cannot be mistaken for
real ones.

Example usage::

    geo = build_geography(np.random.default_rng(42))
    geo.practices.head()
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from clusterqi.loaders.practices import cluster_slug  # one slug rule: ground truth ids match

__all__ = [
    "Geography",
    "build_geography",
    "BROAD_BANDS",
    "cluster_slug",
    "band_shares",
    "TARGET_PRACTICES",
]

#: Board names: plausible, clearly invented.
BOARD_NAMES = (
    "Glenmorven", "Ardcraig", "Strathallan", "Kilbrannan", "Lochaber Vale", "Inverdarroch",
    "Balmerino", "Dunmore Firth", "Carrick Moss", "Torrance", "Eilean Siar Beag", "Ballinluig",
    "Auchenbrae", "Rossholm",
)
#: How many HSCPs each board has (sums to 31, as in Scotland).
HSCPS_PER_BOARD = (6, 4, 3, 3, 2, 2, 2, 2, 2, 1, 1, 1, 1, 1)
#: Compass-and-landscape words for HSCP names.
HSCP_WORDS = (
    "North", "South", "East", "West", "Central", "Coast", "Glens", "Valley", "Islands", "Moor",
    "Firth", "Braes",
)
TARGET_PRACTICES = 900
TARGET_CLUSTERS = 150
#: Median and log-sd of list sizes (real: median ~5,500, a long tail past 20,000).
LIST_SIZE_MEDIAN = 5600
LIST_SIZE_LOG_SD = 0.55
LIST_SIZE_MIN, LIST_SIZE_MAX = 350, 26000
#: Share of patients aged 65+: mean and spread between practices.
OLD_SHARE_MEAN, OLD_SHARE_SD = 0.20, 0.045
#: PHS broad age bands (the October 2024 release): column stem, age_min, age_max.
BROAD_BANDS = (
    ("0to4", 0, 4), ("5to14", 5, 14), ("15to24", 15, 24), ("25to44", 25, 44),
    ("45to64", 45, 64), ("65to74", 65, 74), ("75to84", 75, 84), ("85plus", 85, None),
)
#: Scotland-like age profile (shares of the under-65s, and of the 65+).
_YOUNG_PROFILE = np.array([0.050, 0.108, 0.115, 0.262, 0.265]) / 0.800
_OLD_PROFILE = np.array([0.105, 0.070, 0.025]) / 0.200
#: Share of females by band (more women at older ages).
_FEMALE_SHARE = np.array([0.488, 0.487, 0.495, 0.505, 0.510, 0.520, 0.545, 0.640])


@dataclass(frozen=True)
class Geography:
    """Boards, HSCPs and practices (one row each), with each practice's cluster and mix."""

    boards: pd.DataFrame      # hb_code, hb_name, short_name
    hscps: pd.DataFrame       # hscp_code, hscp_name, hb_code
    practices: pd.DataFrame   # practice_code, practice_name, cluster_name, hscp_code, hb_code,
    #                           list_size, old_share, practice_type
    spare_codes: tuple[str, ...]  # unused practice codes (for a practice that opens later)


def band_shares(old_share: float) -> np.ndarray:
    """Shares of the eight broad bands for a practice with ``old_share`` patients aged 65+."""
    return np.concatenate([_YOUNG_PROFILE * (1 - old_share), _OLD_PROFILE * old_share])


def female_shares() -> np.ndarray:
    """Share of females in each broad band."""
    return _FEMALE_SHARE.copy()


def _split(total: int, parts: int, rng: np.random.Generator, low: int = 1) -> np.ndarray:
    """Split ``total`` into ``parts`` positive integers, uneven like real groupings."""
    weights = rng.gamma(2.0, 1.0, parts)
    raw = low + (total - low * parts) * weights / weights.sum()
    out = np.floor(raw).astype(int)
    out[np.argsort(raw - out)[::-1][: total - out.sum()]] += 1
    return out


def build_geography(rng: np.random.Generator, n_practices: int = TARGET_PRACTICES,
                    n_clusters: int = TARGET_CLUSTERS) -> Geography:
    """Invent boards, HSCPs, clusters and practices, deterministically for ``rng``."""
    boards = pd.DataFrame({
        "hb_code": [f"S08{100001 + i}" for i in range(len(BOARD_NAMES))],
        "short_name": list(BOARD_NAMES),
        "hb_name": [f"NHS {n}" for n in BOARD_NAMES],
    })
    hscp_rows = []
    for b, (hb_code, short) in enumerate(zip(boards["hb_code"], boards["short_name"])):
        k = HSCPS_PER_BOARD[b]
        for j in range(k):
            name = short if k == 1 else f"{short} {HSCP_WORDS[j]}"
            hscp_rows.append((f"S37{100001 + len(hscp_rows)}", name, hb_code))
    hscps = pd.DataFrame(hscp_rows, columns=["hscp_code", "hscp_name", "hb_code"])

    # clusters per HSCP, then practices per cluster (1..15, median about 5-6)
    clusters_per_hscp = _split(n_clusters, len(hscps), rng)
    cluster_rows = []
    for (hscp_code, hscp_name, hb_code), k in zip(hscps.itertuples(index=False), clusters_per_hscp):
        for j in range(k):
            cluster_rows.append((f"{hscp_name} {j + 1}", hscp_code, hb_code))
    sizes = np.clip(np.round(rng.gamma(5.0, 1.2, len(cluster_rows))), 3, 15).astype(int)
    # scale to the target number of practices while keeping 3..15
    while sizes.sum() != n_practices:
        i = rng.integers(len(sizes))
        step = 1 if sizes.sum() < n_practices else -1
        if 3 <= sizes[i] + step <= 15:
            sizes[i] += step

    codes = np.sort(rng.choice(np.arange(10000, 89990), size=n_practices + 8, replace=False))
    rows = []
    n = 0
    for (cluster_name, hscp_code, hb_code), size in zip(cluster_rows, sizes):
        for _ in range(size):
            rows.append({"cluster_name": cluster_name, "hscp_code": hscp_code, "hb_code": hb_code})
            n += 1
    practices = pd.DataFrame(rows)
    order = rng.permutation(len(practices))  # codes are not in cluster order, as in PHS files
    practices["practice_code"] = [str(c) for c in codes[: len(practices)][np.argsort(order)]]
    list_size = np.exp(rng.normal(np.log(LIST_SIZE_MEDIAN), LIST_SIZE_LOG_SD, len(practices)))
    practices["list_size"] = np.clip(np.round(list_size), LIST_SIZE_MIN, LIST_SIZE_MAX).astype(int)
    practices["old_share"] = np.clip(rng.normal(OLD_SHARE_MEAN, OLD_SHARE_SD, len(practices)),
                                     0.07, 0.36)
    practices["practice_type"] = np.where(rng.random(len(practices)) < 0.1, "17C", "17J")
    practices = practices.sort_values("practice_code", ignore_index=True)
    practices["practice_name"] = [
        _practice_name(i, rng) for i in range(len(practices))
    ]
    spare = tuple(str(c) for c in codes[len(practices):])
    return Geography(boards=boards, hscps=hscps, practices=practices, spare_codes=spare)


_NAME_FIRST = ("Burnside", "Kirkgate", "Millbrae", "Hawthorn", "Riverside", "Station Road",
               "Heatherbank", "Castle View", "Glebe", "Market Street", "Orchard", "Braeside",
               "Harbour", "Westfield", "Parkhead", "Rowan", "Ashgrove", "Links", "Muirend",
               "Beechwood")
_NAME_LAST = ("Medical Practice", "Surgery", "Health Centre", "Medical Group", "Family Practice")


def _practice_name(i: int, rng: np.random.Generator) -> str:
    first = _NAME_FIRST[int(rng.integers(len(_NAME_FIRST)))]
    last = _NAME_LAST[int(rng.integers(len(_NAME_LAST)))]
    return f"{first} {last} (synthetic {i + 1})"
