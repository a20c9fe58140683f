"""Monthly prescribing counts for synthetic Scotland.

Items of presentation c (in group g) at practice p in month m are Poisson with mean

    rate_c / 1000 x patients_p,m x DAYS_PER_MONTH x workdays_m x age_p,g
        x exp(u_p,g + v_k,g + w_p,c) x D_p,g x season_g,m x trend_g,m x G_p,g,m x e_p,m x plant_p,c,m

where ``rate`` is items per 1,000 patients per day (:mod:`clusterqi.synthetic.codes`),
``patients`` the list size in effect, ``workdays`` the month's Scottish working days over the
average month (:mod:`clusterqi.synthetic.calendar`), ``age`` a gradient in the practice's share
of patients aged 65+, ``D`` the planted deprivation gradient (1.30 per SIMD quintile step
towards the most deprived, for the deprivation-linked groups only, normalised so Scotland is
unchanged: :mod:`clusterqi.synthetic.deprivation`; 1 without SIMD), ``u`` and ``v`` normal practice and cluster effects per group (log-sd
``Group.practice_sd``, ``Group.cluster_sd``, truncated at :data:`EFFECT_CLIP` sd), ``w`` a
practice's preference between the presentations of a group, ``season`` a yearly cosine
(``Group.season``, peaking in ``Group.peak``), ``trend`` a gradual national change
(``Group.trend`` a year, centred on the middle of the period), ``G`` a gamma multiplier with
mean 1 and shape ``Group.dispersion`` drawn afresh each month (repeat prescribing is lumpy:
a practice's monthly items have variance mu + mu^2 / k, several times the mean), ``e`` a small
practice-wide month effect, and ``plant`` the planted effects (:mod:`clusterqi.synthetic.plants`;
a planted outlier's own random, age and deprivation effects on the indicator's presentations are set to zero,
and a step change's unit has no deprivation effect on them
so that the plant's size is its distance from Scotland).

Quantity is items x pack sizes drawn per item (``codes.PACKS``), cost quantity x unit cost.

Example usage::

    for month, frame in monthly_prescribing(world, codes, catalogue, months, rng):
        ...
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd

from clusterqi.indicators.catalogue import Indicator, PrescribingDenominator
from clusterqi.synthetic.calendar import working_day_factor
from clusterqi.synthetic.codes import AVERAGE_MONTH_DAYS, PACKS, group_table
from clusterqi.synthetic.deprivation import DEPRIVATION_GROUPS
from clusterqi.synthetic.geography import OLD_SHARE_MEAN
from clusterqi.synthetic.layouts import NON_PRACTICE_CODES
from clusterqi.synthetic.world import World

__all__ = ["monthly_prescribing", "expected_shares", "season_factors", "trend_factors",
           "pack_quantities", "PACK_CLASSES", "DAYS_PER_MONTH", "EFFECT_CLIP", "MONTH_SD",
           "CODE_SD", "NON_PRACTICE_ITEMS"]

#: Calendar days in an average month (365.25 / 12).
DAYS_PER_MONTH = AVERAGE_MONTH_DAYS
#: Log-sd of a practice's preference between presentations of one group.
CODE_SD = 0.25
#: Random effects are truncated at this many standard deviations (the planted outliers, not
#: chance draws, are the most extreme units).
EFFECT_CLIP = 2.5
#: Log-sd of a practice-wide month effect (all groups together).
MONTH_SD = 0.02
#: Items a month at each non-practice code (pharmacy, unallocated, hospital, dental) per code.
NON_PRACTICE_ITEMS = 40


def season_factors(groups: list, months: pd.DatetimeIndex) -> np.ndarray:
    """Month x group seasonal multipliers: 1 + season x cos(2 pi (month - peak) / 12).

    Over any 12 consecutive months each group's factors average exactly 1.

    Example usage::

        season_factors([GROUPS[0]], pd.date_range("2026-01-01", periods=12, freq="MS"))
    """
    month_no = np.array([m.month for m in months], dtype=float)
    amp = np.array([g.season for g in groups])
    peak = np.array([g.peak for g in groups], dtype=float)
    return 1 + amp[None, :] * np.cos(2 * np.pi * (month_no[:, None] - peak[None, :]) / 12)


def trend_factors(groups: list, months: pd.DatetimeIndex) -> np.ndarray:
    """Month x group trend multipliers exp(trend x years from the middle of the period).

    Example usage::

        trend_factors([GROUPS[0]], months)[-1] / trend_factors([GROUPS[0]], months)[0]
        # exp(trend x (len(months) - 1) / 12)
    """
    years = (np.arange(len(months)) - (len(months) - 1) / 2) / 12
    slope = np.array([g.trend for g in groups])
    return np.exp(years[:, None] * slope[None, :])


def _touched(ind: Indicator, bnf: pd.Series) -> np.ndarray:
    """Codes counted anywhere by an indicator (numerator or prescribing denominator)."""
    hit = np.asarray(ind.numerator.bnf_codes.matches(bnf), dtype=bool)
    if isinstance(ind.denominator, PrescribingDenominator):
        hit = hit | np.asarray(ind.denominator.bnf_codes.matches(bnf), dtype=bool)
    return hit


def expected_shares(codes: pd.DataFrame, catalogue: dict[str, Indicator]) -> dict[str, float]:
    """Scotland's expected share (0-1) of each proportion indicator, from the code rates."""
    bnf = codes["bnf_code"]
    rate = codes["rate"].to_numpy()
    out = {}
    for ind in catalogue.values():
        if isinstance(ind.denominator, PrescribingDenominator):
            num = np.asarray(ind.numerator.bnf_codes.matches(bnf), dtype=bool)
            den = np.asarray(ind.denominator.bnf_codes.matches(bnf), dtype=bool)
            total = rate[den].sum()
            out[ind.id] = float(rate[num & den].sum() / total) if total > 0 else 0.0
    return out


def _plant_arrays(world: World, codes: pd.DataFrame, catalogue: dict[str, Indicator],
                  months: pd.DatetimeIndex, p_index: dict[str, int]):
    """Multipliers (practice -> [(codes hit, from month, factor)]), codes whose random effects
    are zeroed per practice, missing months, and coding changes."""
    mult: dict[int, list[tuple[np.ndarray, int, float]]] = {}
    neutral: dict[int, np.ndarray] = {}
    missing: dict[int, set[int]] = {}
    coding: list[tuple[int, int, int, int]] = []   # practice, from_code, to_code, month index
    month_pos = {f"{m.year}-{m.month:02d}": i for i, m in enumerate(months)}
    bnf = codes["bnf_code"]
    for plant in world.plants:
        if plant.kind in {"practice_outlier", "cluster_outlier", "step_change"}:
            ind = catalogue[plant.indicator_id]
            hit = np.asarray(ind.numerator.bnf_codes.matches(bnf), dtype=bool)
            start = month_pos.get(plant.month, 0) if plant.kind == "step_change" else 0
            touched = _touched(ind, bnf)
            for code in plant.practices:
                p = p_index[code]
                mult.setdefault(p, []).append((hit, start, 1.0 + plant.size))
                if plant.kind != "step_change":
                    neutral[p] = neutral.get(p, np.zeros(len(codes), dtype=bool)) | touched
        elif plant.kind == "missing_months":
            missing.setdefault(month_pos[plant.month], set()).add(p_index[plant.unit_id])
        elif plant.kind == "coding_change":
            a, b = _coding_pair(codes, catalogue[plant.indicator_id])
            coding.append((p_index[plant.unit_id], a, b, month_pos[plant.month]))
    return mult, neutral, missing, coding


def _gradient_effect(world: World, codes: pd.DataFrame, catalogue: dict[str, Indicator],
                     gradient: pd.Series, p_index: dict[str, int], group_of: np.ndarray) -> np.ndarray:
    """Practice x code log multipliers of the deprivation gradient: the practice's log factor on
    the deprivation-linked groups' codes, 0 elsewhere and on the codes an outlier or step-change
    plant of the practice touches (a planted unit sits at Scotland's deprivation, so its plant
    is measured alone)."""
    codes_of = world.practices["practice_code"].tolist()
    log_dep = np.log(gradient.reindex(codes_of).fillna(1.0).to_numpy(dtype=float))
    linked = np.isin(group_of, DEPRIVATION_GROUPS)
    effect = np.zeros((len(p_index), len(codes)))
    rows = np.array([p_index[c] for c in codes_of])
    effect[np.ix_(rows, np.flatnonzero(linked))] = log_dep[:, None]
    bnf = codes["bnf_code"]
    for plant in world.plants:
        if plant.kind in {"practice_outlier", "cluster_outlier", "step_change"}:
            touched = _touched(catalogue[plant.indicator_id], bnf)
            for code in plant.practices:
                effect[p_index[code], touched] = 0.0
    return effect


def _coding_pair(codes: pd.DataFrame, ind: Indicator) -> tuple[int, int]:
    """Two numerator presentations: the commonest, and the next one most like it (same
    chemical and strength, else same chemical, else the next commonest), so that a coding
    switch moves items between codes without changing doses."""
    inside = np.flatnonzero(np.asarray(ind.numerator.bnf_codes.matches(codes["bnf_code"]),
                                       dtype=bool))
    order = inside[np.argsort(-codes["rate"].to_numpy()[inside], kind="stable")]
    a = int(order[0])
    chem = codes["bnf_code"].str[:9].to_numpy()
    strength = codes["strength"].to_numpy(dtype=float) if "strength" in codes else \
        np.full(len(codes), np.nan)
    same_dose = [int(i) for i in order[1:] if chem[i] == chem[a] and strength[i] == strength[a]]
    same_chem = [int(i) for i in order[1:] if chem[i] == chem[a]]
    return a, (same_dose or same_chem or [int(order[1])])[0]


#: Pack classes in the order ``pack_class`` numbers them.
PACK_CLASSES = tuple(PACKS)


def pack_quantities(items: np.ndarray, pack_class: np.ndarray,
                    rng: np.random.Generator) -> np.ndarray:
    """Quantity of each row: each of its items gets a pack size drawn from its class
    (``pack_class``: positions in :data:`clusterqi.synthetic.codes.PACKS`), as the multinomial
    split of the items between the class's sizes.

    Example usage::

        pack_quantities(np.array([3]), np.array([0]), rng)   # e.g. [112]: 28 + 28 + 56
    """
    quantity = np.zeros(len(items), dtype=np.int64)
    present = np.bincount(pack_class, minlength=len(PACK_CLASSES))
    for k in np.flatnonzero(present):
        rows = np.flatnonzero(pack_class == k)
        sizes, probs = PACKS[PACK_CLASSES[k]]
        if len(sizes) == 1:
            quantity[rows] = items[rows] * sizes[0]
            continue
        counts = rng.multinomial(items[rows], probs)
        quantity[rows] = counts @ np.asarray(sizes, dtype=np.int64)
    return quantity


def monthly_prescribing(world: World, codes: pd.DataFrame, catalogue: dict[str, Indicator],
                        months: pd.DatetimeIndex, rng: np.random.Generator,
                        gradient: pd.Series | None = None
                        ) -> Iterator[tuple[pd.Timestamp, pd.DataFrame]]:
    """Yield (month, rows) with hbt, practice_code, bnf_code, description, dmd_code, items,
    quantity, cost: only rows with items > 0, practices in code order, then non-practice rows.

    ``gradient``: practice_code -> the deprivation multiplier of the deprivation-linked groups
    (:func:`clusterqi.synthetic.deprivation.gradient_factors`); None (attach mode) for none. It
    draws no random numbers, so the rest of the world is the same with or without it."""
    prac = world.practices.reset_index(drop=True)
    n_p, n_c = len(prac), len(codes)
    p_index = {c: i for i, c in enumerate(prac["practice_code"])}
    group_of = codes["group"].to_numpy()
    group_names = sorted(set(group_of))
    groups = [group_table(group_names)[g] for g in group_names]
    g_idx = np.array([group_names.index(g) for g in group_of])
    clusters = prac["cluster_name"].astype("category").cat.codes.to_numpy()

    def effects(rows: int, sds: np.ndarray) -> np.ndarray:
        z = np.clip(rng.normal(0, 1, (rows, len(groups))), -EFFECT_CLIP, EFFECT_CLIP)
        return z * sds[None, :]

    u = effects(n_p, np.array([g.practice_sd for g in groups]))
    v = effects(int(clusters.max()) + 1, np.array([g.cluster_sd for g in groups]))
    w = np.clip(rng.normal(0, 1, (n_p, n_c)), -EFFECT_CLIP, EFFECT_CLIP) * CODE_SD
    beta = np.array([g.age for g in groups])
    log_age = np.log(prac["old_share"].to_numpy() / OLD_SHARE_MEAN)[:, None] * beta[None, :]
    log_effect = (u + v[clusters])[:, g_idx] + w + log_age[:, g_idx]
    if gradient is not None:
        log_effect += _gradient_effect(world, codes, catalogue, gradient, p_index, group_of)
    mult, neutral, missing, coding = _plant_arrays(world, codes, catalogue, months, p_index)
    for p, mask in neutral.items():
        log_effect[p, mask] = 0.0          # a planted unit sits at Scotland x its plant
    rate = codes["rate"].to_numpy() / 1000.0 * DAYS_PER_MONTH
    season = season_factors(groups, months)
    trend = trend_factors(groups, months)
    workdays = working_day_factor(months)
    shape = np.array([g.dispersion for g in groups])

    sizes = world.list_sizes.pivot(index="practice_code", columns="release", values="list_size")
    sizes = sizes.reindex(prac["practice_code"])
    active = world.active.set_index("practice_code").reindex(prac["practice_code"])
    hbt = prac["hb_code"].to_numpy()
    pcodes = prac["practice_code"].to_numpy()
    bnf = codes["bnf_code"].to_numpy()
    desc = codes["description"].to_numpy()
    dmd = codes["dmd_code"].to_numpy()
    solid_pack = np.array([g.solid_pack for g in groups], dtype=object)[g_idx]
    form = codes["form_class"].to_numpy()
    pack_class = np.array([PACK_CLASSES.index(c) for c in
                           np.where(form == "solid", solid_pack, form)], dtype=np.int64)
    unit_cost = codes["unit_cost"].to_numpy()
    # text columns as categoricals (codes into small tables): fast to build and to write
    desc_codes, desc_names = pd.factorize(desc)
    dmd_codes, dmd_names = pd.factorize(dmd)
    hb_codes, hb_names = pd.factorize(hbt)
    all_codes = np.concatenate([pcodes, np.asarray(NON_PRACTICE_CODES, dtype=object)])

    def categorical(codes_: np.ndarray, names) -> pd.Categorical:
        return pd.Categorical.from_codes(codes_, categories=pd.Index(names, dtype=object))

    for m_i, month in enumerate(months):
        in_effect = [r for r in sizes.columns if r <= month] or [sizes.columns[0]]
        patients = sizes[in_effect].ffill(axis=1).iloc[:, -1].to_numpy(dtype=float)
        patients = np.nan_to_num(patients)
        open_now = ((active["first_month"] <= month) & (active["last_month"] >= month)).to_numpy()
        patients = np.where(open_now, patients, 0.0)
        lumpy = rng.gamma(shape[None, :], 1.0 / shape[None, :], (n_p, len(groups)))
        month_effect = np.exp(rng.normal(0, MONTH_SD, n_p))[:, None]
        national = (season[m_i] * trend[m_i])[g_idx] * workdays[m_i]
        mu = (patients[:, None] * month_effect) * (rate * national)[None, :] \
            * np.exp(log_effect) * lumpy[:, g_idx]
        for p, effects_of_p in mult.items():
            for hit, start, factor in effects_of_p:
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
        # prescribing not attributable to a practice (the loaders must drop it)
        k = min(5, n_c)
        extra_cols = np.concatenate([(np.arange(k) + j) % n_c
                                     for j in range(len(NON_PRACTICE_CODES))])
        extra_rows = np.repeat(np.arange(len(NON_PRACTICE_CODES)), k)
        extra_items = rng.poisson(NON_PRACTICE_ITEMS, len(extra_cols)) + 1
        cols = np.concatenate([cols, extra_cols])
        who = np.concatenate([rows, n_p + extra_rows])
        board = np.concatenate([hb_codes[rows], hb_codes[extra_rows % n_p]])
        n = np.concatenate([n, extra_items])
        quantity = pack_quantities(n, pack_class[cols], rng)
        frame = pd.DataFrame({
            "hbt": categorical(board, hb_names),
            "practice_code": categorical(who, all_codes),
            "bnf_code": categorical(cols, bnf),
            "description": categorical(desc_codes[cols], desc_names),
            "dmd_code": categorical(dmd_codes[cols], dmd_names),
            "items": n, "quantity": quantity,
            "cost": np.round(quantity * unit_cost[cols], 2),
        })
        yield month, frame
