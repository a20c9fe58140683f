"""Monthly prescribing counts for synthetic Scotland.

Items of presentation c at practice p in month m are Poisson with mean

    rate_c / 1000 x patients_p,m x age_p,g x exp(u_p,g + v_k,g + w_p,c + e_p,m) x season_g,m
        x plant_p,c,m

where ``patients`` is the list size in effect (patients aged 65+ for the anticholinergic group),
``age`` a mild age-mix gradient, ``u`` and ``v`` lognormal practice and cluster effects per
group of presentations (the over-dispersion: moderate, so planted outliers stand clear and fewer
than 2% of unplanted units leave 99.8% limits once over-dispersion is allowed for), ``w`` a
practice's preference between presentations, ``e`` month-to-month noise, ``season`` a winter peak
for antibiotics, and ``plant`` the planted effects (:mod:`clusterqi.synthetic.plants`).

Example usage::

    for month, frame in monthly_prescribing(world, codes, catalogue, months, rng):
        ...
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator

import numpy as np
import pandas as pd

from clusterqi.indicators.catalogue import Indicator
from clusterqi.synthetic.geography import OLD_SHARE_MEAN
from clusterqi.synthetic.layouts import NON_PRACTICE_CODES
from clusterqi.synthetic.world import World

__all__ = ["monthly_prescribing", "PRACTICE_SD", "CLUSTER_SD", "CODE_SD", "MONTH_SD", "EFFECT_CLIP",
           "WINTER_PEAK", "AGE_GRADIENT"]

#: Log-sd of practice effects per group of presentations.
PRACTICE_SD = 0.05
#: Log-sd of cluster effects per group.
CLUSTER_SD = 0.04
#: Log-sd of a practice's preference between presentations of a group.
CODE_SD = 0.06
#: Random effects are truncated at this many standard deviations (light tails: the planted
#: outliers, not chance draws, are the extreme units).
EFFECT_CLIP = 2.0
#: Log-sd of month-to-month noise per practice.
MONTH_SD = 0.03
#: Relative amplitude of the antibiotic winter peak (highest in January).
WINTER_PEAK = 0.20
#: Elasticity of each group's rate to the practice's share of patients aged 65+.
AGE_GRADIENT = {"antibacterial": 0.15, "4c": 0.15, "ppi": 0.35, "ppi_high": 0.35, "nsaid": 0.15,
                "nsaid_pref": 0.15, "gabapentinoid": 0.25, "acb": 0.0, "hypnotic": 0.3,
                "strong_opioid": 0.35, "excluded": 0.3, "background": 0.4}
_SEASONAL = ("antibacterial", "4c")
#: Items a month at each non-practice code (pharmacy, unallocated, hospital, dental) per code.
NON_PRACTICE_ITEMS = 40


def _dmd_code(bnf_code: str) -> str:
    """A stable, dm+d-like identifier for a synthetic presentation."""
    return f"{(zlib.crc32(bnf_code.encode()) % 90_000_000) + 10_000_000}1000001"


def _plant_arrays(world: World, codes: pd.DataFrame, catalogue: dict[str, Indicator],
                  months: pd.DatetimeIndex, p_index: dict[str, int]):
    """Multipliers (practice x code x month), missing months, and coding changes."""
    mult = {}
    missing: dict[int, set[int]] = {}
    coding: list[tuple[int, int, int, int]] = []   # practice, from_code, to_code, month index
    month_pos = {f"{m.year}-{m.month:02d}": i for i, m in enumerate(months)}
    code_list = codes["bnf_code"].tolist()
    for plant in world.plants:
        if plant.kind in {"practice_outlier", "cluster_outlier", "step_change"}:
            hit = catalogue[plant.indicator_id].numerator.bnf_codes.matches(codes["bnf_code"])
            start = month_pos.get(plant.month, 0) if plant.kind == "step_change" else 0
            for code in plant.practices:
                mult[p_index[code]] = (hit.to_numpy(), start, 1.0 + plant.size)
        elif plant.kind == "missing_months":
            missing.setdefault(month_pos[plant.month], set()).add(p_index[plant.unit_id])
        elif plant.kind == "coding_change":
            num = catalogue[plant.indicator_id].numerator.bnf_codes
            inside = [c for c in code_list if num.matches_code(c)]
            # two presentations of the indicator's group: the first's volume moves to the second
            a, b = inside[0], inside[1]
            coding.append((p_index[plant.unit_id], code_list.index(a), code_list.index(b),
                           month_pos[plant.month]))
    return mult, missing, coding


def monthly_prescribing(world: World, codes: pd.DataFrame, catalogue: dict[str, Indicator],
                        months: pd.DatetimeIndex, rng: np.random.Generator
                        ) -> Iterator[tuple[pd.Timestamp, pd.DataFrame]]:
    """Yield (month, rows) with hbt, practice_code, bnf_code, description, dmd_code, items,
    quantity, cost: only rows with items > 0, practices in code order, then non-practice rows."""
    prac = world.practices.reset_index(drop=True)
    n_p, n_c = len(prac), len(codes)
    p_index = {c: i for i, c in enumerate(prac["practice_code"])}
    groups = codes["group"].to_numpy()
    group_names = sorted(set(groups))
    g_idx = np.array([group_names.index(g) for g in groups])
    clusters = prac["cluster_name"].astype("category").cat.codes.to_numpy()

    # effects truncated at EFFECT_CLIP sd: unplanted units vary, but only plants are extreme
    u = np.clip(rng.normal(0, 1, (n_p, len(group_names))), -EFFECT_CLIP, EFFECT_CLIP) * PRACTICE_SD
    v = np.clip(rng.normal(0, 1, (clusters.max() + 1, len(group_names))), -EFFECT_CLIP,
                EFFECT_CLIP) * CLUSTER_SD
    w = np.clip(rng.normal(0, 1, (n_p, n_c)), -EFFECT_CLIP, EFFECT_CLIP) * CODE_SD
    beta = np.array([AGE_GRADIENT.get(g, 0.3) for g in group_names])
    age = np.exp(np.log(prac["old_share"].to_numpy() / OLD_SHARE_MEAN)[:, None] * beta[None, :])
    log_effect = (u + v[clusters])[:, g_idx] + w + np.log(age)[:, g_idx]
    rate = codes["rate"].to_numpy() / 1000.0
    old = (groups == "acb")
    seasonal = np.isin(groups, _SEASONAL)
    mult, missing, coding = _plant_arrays(world, codes, catalogue, months, p_index)

    sizes = world.list_sizes.pivot(index="practice_code", columns="release", values="list_size")
    sizes = sizes.reindex(prac["practice_code"])
    active = world.active.set_index("practice_code").reindex(prac["practice_code"])
    hbt = prac["hb_code"].to_numpy()
    pcodes = prac["practice_code"].to_numpy()
    bnf = codes["bnf_code"].to_numpy()
    desc = codes["description"].to_numpy()
    dmd = np.array([_dmd_code(c) for c in bnf])
    pack = codes["pack"].to_numpy()
    unit_cost = codes["unit_cost"].to_numpy()
    old_share = prac["old_share"].to_numpy()

    for m_i, month in enumerate(months):
        in_effect = [r for r in sizes.columns if r <= month] or [sizes.columns[0]]
        patients = sizes[in_effect].ffill(axis=1).iloc[:, -1].to_numpy(dtype=float)
        patients = np.nan_to_num(patients)
        open_now = ((active["first_month"] <= month) & (active["last_month"] >= month)).to_numpy()
        patients = np.where(open_now, patients, 0.0)
        base = np.where(old[None, :], (patients * old_share)[:, None], patients[:, None])
        season = np.where(seasonal, 1 + WINTER_PEAK * np.cos(2 * np.pi * (month.month - 1) / 12), 1.0)
        noise = rng.normal(0, MONTH_SD, n_p)[:, None]
        mu = base * rate[None, :] * np.exp(log_effect + noise) * season[None, :]
        for p, (hit, start, factor) in mult.items():
            if m_i >= start:
                mu[p, hit] *= factor
        for p, a, b, start in coding:
            if m_i >= start:
                mu[p, b] += mu[p, a]
                mu[p, a] = 0.0
        for p in missing.get(m_i, ()):
            mu[p, :] = 0.0
        items = rng.poisson(mu)
        rows, cols = np.nonzero(items)
        n = items[rows, cols]
        quantity = n * pack[cols]
        frame = pd.DataFrame({
            "hbt": hbt[rows], "practice_code": pcodes[rows], "bnf_code": bnf[cols],
            "description": desc[cols], "dmd_code": dmd[cols], "items": n, "quantity": quantity,
            "cost": np.round(quantity * unit_cost[cols], 2),
        })
        # prescribing not attributable to a practice (the loaders must drop it)
        k = min(5, n_c)
        extra = []
        for j, npc in enumerate(NON_PRACTICE_CODES):
            c = np.arange(k) + j
            q = rng.poisson(NON_PRACTICE_ITEMS, k) + 1
            extra.append(pd.DataFrame({
                "hbt": hbt[j % n_p], "practice_code": npc, "bnf_code": bnf[c],
                "description": desc[c], "dmd_code": dmd[c], "items": q,
                "quantity": q * pack[c], "cost": np.round(q * pack[c] * unit_cost[c], 2),
            }))
        yield month, pd.concat([frame, *extra], ignore_index=True)
