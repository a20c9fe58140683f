"""Synthetic Scotland's practices over time, and its planted effects.

Builds, for a seed: the practice list of every quarterly release (with the special units real
PHS data has: a tiny practice, 1- and 2-practice clusters, a ``<Board> Undefined`` placeholder,
a practice that closes and one that opens), the age/sex populations of each release, and the
planted effects recorded in ``ground_truth.csv`` (see :mod:`clusterqi.synthetic.plants`).

Example usage::

    world = build_world(np.random.default_rng(42), load_catalogue(), months)
    world.releases            # release dates
    world.list_sizes          # practice_code, release, list_size
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from clusterqi.indicators.catalogue import Indicator
from clusterqi.synthetic.geography import (
    BROAD_BANDS,
    Geography,
    band_shares,
    build_geography,
    cluster_slug,
    female_shares,
)
from clusterqi.synthetic.plants import (
    LIST_SIZE_JUMP,
    PLANT_LIST_SIZE_RANGE,
    PRACTICE_HIGH,
    PRACTICE_LOW,
    STEP_DOWN,
    STEP_UP,
    TINY_LIST_SIZE,
    Plant,
)

__all__ = ["World", "build_world", "quarterly_releases", "populations_for", "plant_size",
           "MAX_SHARE_TO_DOUBLE", "CLUSTER_OUTLIERS"]

#: Quarter-on-quarter list-size drift (relative sd).
LIST_DRIFT_SD = 0.008
#: Months in which PHS publishes releases.
RELEASE_MONTHS = (1, 4, 7, 10)
#: A proportion gets a "high" (doubling) plant only when Scotland's share is at most this.
MAX_SHARE_TO_DOUBLE = 0.4
#: Planted cluster outliers (alternately high and low, over the indicators in turn).
CLUSTER_OUTLIERS = 8
#: Indicators preferred for step changes (population rates with no season, so a step stands
#: out); missing ones are replaced by other non-seasonal rates of the catalogue.
_STEP_INDICATORS = ("gabapentinoid_ddd_per_1000_per_day", "opioid_ome_per_1000_per_day",
                    "hypnotics_anxiolytics_adq_per_1000_per_day")
#: Seasonal indicators (never chosen for a step change).
_SEASONAL_INDICATORS = ("antibacterial_items_per_1000_per_day", "antibiotics_4c_share",
                        "saba_share_of_saba_ics")
#: Indicator preferred for the coding change (a practice's volume moves between two codes).
_CODING_INDICATORS = ("hypnotics_anxiolytics_adq_per_1000_per_day",)


@dataclass(frozen=True)
class World:
    """Practices, releases, list sizes and plants of one synthetic Scotland."""

    geography: Geography
    practices: pd.DataFrame    # one row per practice ever open (details of its last release)
    releases: tuple[pd.Timestamp, ...]
    list_sizes: pd.DataFrame   # practice_code, release, list_size (rows only while open)
    plants: tuple[Plant, ...]
    active: pd.DataFrame       # practice_code, first_month, last_month (prescribing span)


def quarterly_releases(months: pd.DatetimeIndex) -> tuple[pd.Timestamp, ...]:
    """Releases (Jan/Apr/Jul/Oct) from the one in effect at the first month to the last month."""
    first = months[0]
    start = pd.Timestamp(first.year, max(m for m in RELEASE_MONTHS if m <= first.month), 1)
    out = []
    current = start
    while current <= months[-1]:
        out.append(current)
        current = current + pd.DateOffset(months=3)
    return tuple(out)


def _ym(ts: pd.Timestamp) -> str:
    return f"{ts.year}-{ts.month:02d}"


def _pick(rng: np.random.Generator, pool: list[str], used: set[str]) -> str:
    choices = [p for p in pool if p not in used]
    code = choices[int(rng.integers(len(choices)))]
    used.add(code)
    return code


def build_world(rng: np.random.Generator, catalogue: dict[str, Indicator],
                months: pd.DatetimeIndex, plant: bool = True,
                geography: Geography | None = None,
                release: pd.Timestamp | None = None,
                shares: dict[str, float] | None = None) -> World:
    """Invent the geography (or take a real one, with its one ``release``), lay out releases
    and special units, and choose plants.

    ``shares``: Scotland's expected share (0-1) of each proportion indicator
    (:func:`clusterqi.synthetic.prescribing.expected_shares`), which sizes the proportion
    plants; indicators missing from it are treated as population rates."""
    geo = geography if geography is not None else build_geography(rng)
    practices = geo.practices.copy()
    releases = (release,) if release is not None else quarterly_releases(months)
    plants: list[Plant] = []
    used: set[str] = set()
    first_month = {c: months[0] for c in practices["practice_code"]}
    last_month = {c: months[-1] for c in practices["practice_code"]}
    jump: dict[str, pd.Timestamp] = {}
    opens_at: dict[str, pd.Timestamp] = {}   # first release holding a practice that opens

    practices["fixed_size"] = False
    if geography is None:
        practices, plants, used = _special_units(rng, geo, practices, releases, months,
                                                 first_month, last_month, jump, opens_at)
    if plant:
        plants += _effect_plants(rng, practices, catalogue, months, used, shares or {})

    # list sizes per release: drift, the planted jump, open/close
    base = practices.set_index("practice_code")["list_size"].astype(float)
    rows = []
    fixed = set(practices.loc[practices["fixed_size"], "practice_code"])
    level = base.copy()
    for k, release in enumerate(releases):
        if k:
            level = level * np.exp(rng.normal(0, LIST_DRIFT_SD, len(level)))
        for code, size in level.items():
            if release > last_month[code] or release < opens_at.get(code, releases[0]):
                continue
            value = size * (1 + LIST_SIZE_JUMP if code in jump and release >= jump[code] else 1)
            rows.append((code, release, int(base[code] if code in fixed else round(value))))
    list_sizes = pd.DataFrame(rows, columns=["practice_code", "release", "list_size"])
    active = pd.DataFrame({
        "practice_code": list(first_month),
        "first_month": list(first_month.values()),
        "last_month": [last_month[c] for c in first_month],
    })
    practices = practices.sort_values("practice_code", ignore_index=True)
    return World(geography=geo, practices=practices, releases=releases, list_sizes=list_sizes,
                 plants=tuple(plants), active=active)


def _special_units(rng, geo, practices, releases, months, first_month, last_month, jump,
                   opens_at):
    """The structural plants: tiny practice, small clusters, placeholder, closes/opens, jump."""
    plants: list[Plant] = []
    used: set[str] = set()
    practices = practices.copy()
    practices["fixed_size"] = False
    by_cluster = practices.groupby("cluster_name")["practice_code"].apply(list)
    big_clusters = [c for c, members in by_cluster.items() if len(members) >= 6]

    # a 1-practice and a 2-practice cluster: move practices out of big clusters into new ones
    for size, label in ((1, "Isle"), (2, "Glen")):
        donor = big_clusters[int(rng.integers(len(big_clusters)))]
        big_clusters.remove(donor)
        members = by_cluster[donor][:size]
        hscp = practices.loc[practices["practice_code"] == members[0], "hscp_code"].iloc[0]
        hscp_name = geo.hscps.set_index("hscp_code").loc[hscp, "hscp_name"]
        name = f"{hscp_name} {label} Cluster"
        practices.loc[practices["practice_code"].isin(members), "cluster_name"] = name
        used.update(members)
        plants.append(Plant("small_cluster", cluster_slug(name), size=float(size),
                            practices=tuple(members)))

    # a cluster spanning two HSCPs of one board (as three real clusters do)
    multi = geo.hscps.groupby("hb_code")["hscp_code"].apply(list)
    board = next(b for b, h in multi.items() if len(h) >= 2)
    cands = [c for c in big_clusters
             if practices.loc[practices["cluster_name"] == c, "hscp_code"].iloc[0] == multi[board][0]]
    if cands:
        cross = cands[0]
        big_clusters.remove(cross)
        last = practices.index[practices["cluster_name"] == cross][-1]
        practices.loc[last, "hscp_code"] = multi[board][1]

    # the <Board> Undefined placeholder: a board-run practice with a very small list
    board_row = geo.boards.iloc[int(rng.integers(len(geo.boards)))]
    hscp = geo.hscps.loc[geo.hscps["hb_code"] == board_row.hb_code, "hscp_code"].iloc[0]
    code = geo.spare_codes[0]
    practices = pd.concat([practices, pd.DataFrame([{
        "cluster_name": f"{board_row.short_name} Undefined", "hscp_code": hscp,
        "hb_code": board_row.hb_code, "practice_code": code, "list_size": 48,
        "old_share": 0.12, "practice_type": "2C", "fixed_size": True,
        "practice_name": "Synthetic Challenging Behaviour Service",
    }])], ignore_index=True)
    first_month[code], last_month[code] = months[0], months[-1]
    used.add(code)
    plants.append(Plant("placeholder", code, practices=(code,)))

    pool = [c for c in practices["practice_code"] if c not in used and
            practices.loc[practices["practice_code"] == c, "cluster_name"].iloc[0] in big_clusters]

    tiny = _pick(rng, pool, used)
    practices.loc[practices["practice_code"] == tiny, ["list_size", "fixed_size"]] = [TINY_LIST_SIZE, True]
    plants.append(Plant("tiny_practice", tiny, size=float(TINY_LIST_SIZE), practices=(tiny,)))

    # closes: present until a release in the middle; opens: a new code from a later release;
    # a list-size jump between two releases (each needs enough releases to be seen)
    if len(releases) >= 3:
        mid = releases[len(releases) // 2]
        closes = _pick(rng, pool, used)
        last_month[closes] = mid - pd.DateOffset(months=1)
        plants.append(Plant("practice_closes", closes, month=_ym(mid), practices=(closes,)))
        donor_row = practices.loc[practices["practice_code"] == closes].iloc[0].to_dict()
        opens = geo.spare_codes[1]
        donor_row.update(practice_code=opens, list_size=3200, fixed_size=False,
                         practice_name="Newbridge Medical Practice (synthetic, opened)")
        practices = pd.concat([practices, pd.DataFrame([donor_row])], ignore_index=True)
        open_release = releases[len(releases) // 2 + 1]
        first_month[opens], last_month[opens] = max(open_release, months[0]), months[-1]
        opens_at[opens] = open_release
        used.add(opens)
        plants.append(Plant("practice_opens", opens, month=_ym(open_release),
                            practices=(opens,)))
    if len(releases) >= 2:
        jumper = _pick(rng, pool, used)
        jump[jumper] = releases[max(1, len(releases) // 2 - 1)]
        plants.append(Plant("list_size_jump", jumper, month=_ym(jump[jumper]),
                            direction="high", size=LIST_SIZE_JUMP, practices=(jumper,)))
    return practices, plants, used


def plant_size(indicator_id: str, direction: str, shares: dict[str, float]) -> float | None:
    """Relative effect on the numerator that puts a unit at about double / half Scotland.

    Rates: double (+1.0) or half (-0.5). Proportions with Scotland share s: the numerator
    factor f that moves the share to 2s (only when s <= :data:`MAX_SHARE_TO_DOUBLE`) or s / 2,
    f = t (1 - s) / (s (1 - t)); None when no such plant fits.
    """
    high, low = PRACTICE_HIGH, PRACTICE_LOW
    if indicator_id not in shares:
        return high if direction == "high" else low
    s = shares[indicator_id]
    if not 0 < s < 1 or (direction == "high" and s > MAX_SHARE_TO_DOUBLE):
        return None
    target = s * (1 + high) if direction == "high" else s * (1 + low)
    factor = target * (1 - s) / (s * (1 - target))
    return round(float(f"{factor:.4g}") - 1, 6)   # 4 significant figures of the factor, even near 0


def _preferred(candidates: tuple[str, ...], catalogue: dict[str, Indicator],
               shares: dict[str, float], count: int) -> list[str]:
    """``count`` indicator ids: the candidates the catalogue has, then other population rates."""
    chosen = [c for c in candidates if c in catalogue]
    others = [i for i in catalogue if i not in chosen and i not in shares
              and i not in _SEASONAL_INDICATORS]
    return (chosen + others)[:count]


def _effect_plants(rng, practices, catalogue, months, used, shares) -> list[Plant]:
    """Outliers, step changes, missing months and a coding change (one plant per unit)."""
    plants: list[Plant] = []
    lo, hi = PLANT_LIST_SIZE_RANGE
    sizes = practices.groupby("cluster_name")["practice_code"].transform("size")
    ok = practices[(practices["list_size"].between(lo, hi)) & (sizes >= 5)
                   & ~practices["cluster_name"].str.endswith(" Undefined")]
    # clusters first, so planted practices are never inside a planted cluster
    members_of = practices.groupby("cluster_name")["practice_code"].apply(set)
    cluster_pool = [c for c in ok["cluster_name"].unique() if not members_of[c] & used]
    taken_clusters: set[str] = set()

    def take_cluster() -> tuple[str, tuple[str, ...]] | None:
        choices = [c for c in cluster_pool if c not in taken_clusters]
        if not choices:
            return None
        name = choices[int(rng.integers(len(choices)))]
        taken_clusters.add(name)
        members = tuple(practices.loc[practices["cluster_name"] == name, "practice_code"])
        used.update(members)
        return name, members

    # cluster outliers: alternate high / low over the indicators, as far as they allow
    ids = list(catalogue)
    pairs = [(ids[k % len(ids)], ("high", "low")[(k + k // len(ids)) % 2])
             for k in range(2 * len(ids))]
    pairs = [(i, d) for i, d in pairs if plant_size(i, d, shares) is not None]
    for ind, direction in pairs[:CLUSTER_OUTLIERS]:
        taken = take_cluster()
        if taken is None:
            break
        plants.append(Plant("cluster_outlier", cluster_slug(taken[0]), ind, direction=direction,
                            size=plant_size(ind, direction, shares), practices=taken[1]))
    step_month = months[(2 * len(months)) // 3]
    step_ids = _preferred(_STEP_INDICATORS, catalogue, shares, 3)
    for k, ind in enumerate(step_ids[:2]):
        taken = take_cluster()
        if taken is None:
            break
        direction, size = (("high", STEP_UP), ("low", STEP_DOWN))[k % 2]
        plants.append(Plant("step_change", cluster_slug(taken[0]), ind, month=_ym(step_month),
                            direction=direction, size=size, practices=taken[1]))

    # practice plants come from clusters with no plant at all, one planted practice per cluster
    cluster_of = dict(zip(practices["practice_code"], practices["cluster_name"]))
    pool = [c for c in ok["practice_code"] if c not in used and cluster_of[c] not in taken_clusters]
    planted_clusters: set[str] = set()

    def take_practice() -> str | None:
        choices = [c for c in pool if c not in used and cluster_of[c] not in planted_clusters]
        if not choices:
            return None
        code = choices[int(rng.integers(len(choices)))]
        used.add(code)
        planted_clusters.add(cluster_of[code])
        return code

    for ind in catalogue:
        for direction in ("high", "low"):
            size = plant_size(ind, direction, shares)
            code = take_practice() if size is not None else None
            if code is not None:
                plants.append(Plant("practice_outlier", code, ind, direction=direction,
                                    size=size, practices=(code,)))
    for k, ind in enumerate(step_ids):
        code = take_practice()
        if code is None:
            break
        direction, size = (("high", STEP_UP), ("low", STEP_DOWN))[k % 2]
        plants.append(Plant("step_change", code, ind, month=_ym(step_month), direction=direction,
                            size=size, practices=(code,)))
    gap = take_practice()
    if gap is not None:
        for m in months[len(months) // 2: len(months) // 2 + 2]:
            plants.append(Plant("missing_months", gap, month=_ym(m), practices=(gap,)))
    coder = take_practice()
    coded = _preferred(_CODING_INDICATORS, catalogue, shares, 1)
    if coder is not None and coded:
        plants.append(Plant("coding_change", coder, coded[0],
                            month=_ym(months[len(months) // 3]), practices=(coder,)))
    return plants


def populations_for(list_sizes: pd.DataFrame, practices: pd.DataFrame) -> pd.DataFrame:
    """Male/Female/All rows by broad band for every practice x release (see layouts).

    Vectorised over practice x release rows: band counts are the band shares of the list size
    rounded to add up to it (largest remainders first), females the rounded female share of
    each band, males the rest; lists under 200 patients are flagged suppressed.
    """
    info = practices.set_index("practice_code")
    stems = [s for s, _, _ in BROAD_BANDS]
    codes = list_sizes["practice_code"].to_numpy()
    totals = list_sizes["list_size"].to_numpy(dtype=np.int64)
    old = info["old_share"].reindex(codes).to_numpy(dtype=float)
    shares = np.stack([band_shares(o) for o in old]) if len(old) else np.zeros((0, len(stems)))
    bands = _round_to_total(shares * totals[:, None], totals)
    f = np.minimum(bands, np.round(bands * female_shares()[None, :]).astype(np.int64))
    m = bands - f
    base = pd.DataFrame({
        "date": list_sizes["release"].dt.strftime("%Y%m%d").to_numpy(),
        "practice_code": codes,
        "hb_code": info["hb_code"].reindex(codes).to_numpy(),
        "hscp_code": info["hscp_code"].reindex(codes).to_numpy(),
        "suppressed": totals < 200,
    })
    frames = []
    for order, (sex, counts) in enumerate((("Male", m), ("Female", f), ("All", bands))):
        frame = base.assign(sex=sex, total=counts.sum(axis=1),
                            **{stem: counts[:, k] for k, stem in enumerate(stems)})
        frame["_row"], frame["_sex"] = np.arange(len(frame)), order
        frames.append(frame)
    out = pd.concat(frames, ignore_index=True).sort_values(["_row", "_sex"], kind="stable")
    return out.drop(columns=["_row", "_sex"]).reset_index(drop=True)


def _round_to_total(values: np.ndarray, total: np.ndarray) -> np.ndarray:
    """Round each row of ``values`` down, then add 1 to its largest remainders until the row
    adds up to ``total``."""
    out = np.floor(values).astype(np.int64)
    short = np.asarray(total, dtype=np.int64) - out.sum(axis=1)
    order = np.argsort(-(values - out), axis=1, kind="stable")
    rank = np.empty_like(order)
    np.put_along_axis(rank, order, np.arange(values.shape[1])[None, :].repeat(len(values), 0), 1)
    return out + (rank < short[:, None])
