"""Audiences: what a releasable table keeps for whom, and the guard before anything is drawn.

For audiences that pseudonymise (:mod:`clusterqi.vocabulary`): other clusters' practices are
dropped, the cluster's own practices get pseudonyms and banded sizes, a cluster of fewer than
:data:`MIN_PRACTICES_FOR_PSEUDONYMS` practices has its practice rows withheld.
:func:`require_releasable` is what every chart and report calls before drawing a table.

Example usage::

    require_releasable(releasable, "cluster")      # passes silently
    require_releasable(indicator_table, "cluster") # NotReleasableError
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from clusterqi.disclosure.counts import (
    _floats,
    _replace_rows,
    _round_significant_array,
    size_band,
)
from clusterqi.disclosure.log import _summary_row
from clusterqi.disclosure.policy import (
    ITEMS_COLUMN,
    MIN_PRACTICES_FOR_PSEUDONYMS,
    PSEUDONYM_PREFIX,
    RELEASED_SIGNIFICANT_FIGURES,
    DisclosurePolicy,
    DisclosurePolicyError,
    NotReleasableError,
    banded_rounded,
    banded_withheld,
    pseudonym_withheld,
)
from clusterqi.disclosure.pseudonyms import _cluster_members
from clusterqi.vocabulary import AUDIENCES, CLUSTER, PRACTICE
from clusterqi.vocabulary import audience as _audience

__all__ = [
    "require_releasable",
    "coarsening_note",
]

def _check_policy_against(table: pd.DataFrame, policy: DisclosurePolicy) -> None:
    if not policy.record.releasable:
        return
    known = set(table.loc[table["level"] == CLUSTER, "area_id"].dropna().unique()) | set(
        table.loc[table["level"] == PRACTICE, "cluster_id"].dropna().unique())
    if policy.cluster_id not in known:
        raise DisclosurePolicyError(
            f"DisclosurePolicy.cluster_id: {policy.cluster_id!r} is not a cluster in the indicator "
            f"table; expected one of its cluster_id values (e.g. {sorted(known)[:3]})"
        )
    if policy.reveal_practice is not None:
        members = _cluster_members(table, policy.cluster_id)
        if policy.reveal_practice not in members:
            raise DisclosurePolicyError(
                f"DisclosurePolicy.reveal_practice: {policy.reveal_practice!r} is not a practice of "
                f"cluster {policy.cluster_id!r}; expected one of {members}"
            )


def _unseen_practices(table: pd.DataFrame, cluster_id: str | None) -> np.ndarray:
    """Rows an audience never sees and on which no cell it sees depends: left out up front.

    Practice rows of other clusters with two or more practices. Their suppression cannot reach a
    row that is kept: a practice row belongs only to its cluster's group (where a secondary
    suppression picks a sibling practice before the cluster total whenever the cluster has
    another practice) and to its own months group. Unclustered practices stay (they are in
    their HSCP's and board's groups), and so do single-practice clusters. The result equals
    running the whole table; it just does not spend time on rows that are then dropped.
    """
    practice = (table["level"] == PRACTICE).to_numpy()
    cluster = table["cluster_id"].astype("string")
    sizes = table.loc[practice, "area_id"].groupby(cluster[practice], dropna=True).nunique()
    shared = cluster.map(sizes).fillna(0).to_numpy() >= 2
    other = cluster.ne(cluster_id).fillna(False).to_numpy()
    return practice & other & shared


def _apply_audience(
    table: pd.DataFrame, original: pd.DataFrame, policy: DisclosurePolicy, pseudonymised: pd.DataFrame
) -> tuple[pd.DataFrame, list[pd.DataFrame]]:
    logs: list[pd.DataFrame] = []
    table = table.assign(_row=np.arange(len(table)))
    practice = table["level"] == PRACTICE
    own = practice & (table["cluster_id"] == policy.cluster_id)
    others = practice & ~own
    in_original = original["level"] == PRACTICE
    n_other = int(original.loc[in_original & (original["cluster_id"] != policy.cluster_id)
                               .fillna(True), "area_id"].nunique())
    table = table.loc[~others].copy()
    logs.append(_summary_row(
        "practice rows", "every practice outside the cluster", f"audience {policy.audience}",
        f"{n_other} practices of other clusters or of no cluster withheld: other clusters appear "
        "only at cluster level",
    ))

    practices_per_cluster = (original.loc[original["level"] == PRACTICE, ["cluster_id", "area_id"]]
                             .groupby("cluster_id")["area_id"].nunique())
    members = _cluster_members(original, policy.cluster_id)
    own = (table["level"] == PRACTICE) & (table["cluster_id"] == policy.cluster_id)
    if len(members) < MIN_PRACTICES_FOR_PSEUDONYMS and policy.withhold_small_cluster:
        table = table.loc[~own].copy()
        logs.append(_summary_row(
            "practice rows", f"cluster {policy.cluster_id}", "small cluster",
            f"the cluster has {len(members)} practice(s), fewer than "
            f"{MIN_PRACTICES_FOR_PSEUDONYMS}: pseudonyms protect nothing when each member can "
            "identify the others, so practice-level figures are withheld",
        ))
        own = pd.Series(False, index=table.index)

    mapping = pseudonymised.set_index("practice_code")
    home = (original.loc[original["level"] == CLUSTER, ["area_id", "hscp_code", "hb_code"]]
            .drop_duplicates("area_id").set_index("area_id"))
    revealed = own & (table["area_id"] == policy.reveal_practice)
    hidden = own & ~revealed
    codes = table.loc[hidden, "area_id"].astype(str)
    table.loc[hidden, "area_name"] = codes.map(mapping["area_name"]).to_numpy()
    table.loc[hidden, "area_id"] = codes.map(mapping["area_id"]).to_numpy()
    if policy.cluster_id in home.index:
        # a member's own HSCP could single it out in a cluster spanning two HSCPs
        table.loc[own, "hscp_code"] = home.loc[policy.cluster_id, "hscp_code"]
        table.loc[own, "hb_code"] = home.loc[policy.cluster_id, "hb_code"]
    if hidden.any():
        logs.append(_summary_row(
            "practice names and codes", f"cluster {policy.cluster_id}", "pseudonymised",
            f"{int(codes.nunique())} member practices shown as '{PSEUDONYM_PREFIX} A', 'B'... in "
            "an order keyed by the run's salt (neither list size nor value)",
        ))

    small_clusters = set(practices_per_cluster[practices_per_cluster < MIN_PRACTICES_FOR_PSEUDONYMS].index)
    small = ((table["level"] == CLUSTER) & table["area_id"].isin(small_clusters)).to_numpy()
    hidden = hidden.to_numpy()
    if hidden.any():
        withheld = _coarsen(table, hidden, pseudonymised=True, threshold=policy.threshold)
        logs.extend(_coarsening_log(
            "pseudonymised practices", shared_band=True, values_withheld=withheld,
            reason="a practice's exact size or count, or figures that fix them (exact Wilson "
                   "and Poisson / Byar's limits, SPC limits, reliability, the rest of its "
                   "cluster), identify it through the public practice list"))
    if small.any():
        withheld = _coarsen(table, small, pseudonymised=False, threshold=policy.threshold)
        logs.extend(_coarsening_log(
            f"clusters of fewer than {_WORDS[MIN_PRACTICES_FOR_PSEUDONYMS]} practices", shared_band=False,
            values_withheld=withheld,
            reason="such a cluster's figures are one or two practices' figures: its exact counts "
                   "would be those practices' counts"))
    return table, logs


def coarsening_note(policy: DisclosurePolicy) -> str:
    """One plain sentence for the page saying what is coarsened for ``policy``'s audience, and why.

    Empty for an audience that sees every practice as it is (the analyst).

    Example usage::

        coarsening_note(DisclosurePolicy(cluster_id="dundee-4"))
        # "Member practices' figures are rounded and shown without intervals, ..."
    """
    if not policy.record.pseudonymises:
        return ""
    others = "The other member practices'" if policy.record.reveals_practice else "Member practices'"
    return (f"{others} figures are rounded and shown without intervals, and their sizes only in "
            "bands shared with other member practices, so that no practice can be identified "
            "from them; their colours and verdicts use the exact figures.")


#: Numbers in the log's words are spelt out: a digit there could be mistaken for (or be) a count.
_WORDS = {1: "one", 2: "two", 3: "three", 4: "four", 5: "five", 6: "six"}


def _coarsening_log(who: str, shared_band: bool, values_withheld: int, reason: str) -> list[pd.DataFrame]:
    size = ("size shown only as a band shared by each practice's size group (at least "
            f"{_WORDS[MIN_PRACTICES_FOR_PSEUDONYMS]} practices, or all of them), placed in its "
            "middle" if shared_band else "size shown only as a band, placed at its midpoint")
    withheld = ", ".join(banded_withheld() + (pseudonym_withheld() if shared_band else ()))
    return [
        _summary_row("numerator, numerator_items, denominator", who, "banded size",
                     f"{size}: {reason}"),
        _summary_row(f"value and comparator values{'' if shared_band else ', SPC lines'}", who,
                     f"rounded to {_WORDS[RELEASED_SIGNIFICANT_FIGURES]} significant figures, or one",
                     "a rounded value with a banded size is consistent with many numerators and "
                     f"denominators (at least {_WORDS[MIN_CONSISTENT_NUMERATORS]} numerators"
                     + (", and every practice of the size group" if shared_band else "")
                     + "); one figure where two would say more, and the value withheld where "
                     "one would" + (" (some values here)" if values_withheld else "")
                     + "; verdicts, colours and SPC signals use the exact figures"),
        _summary_row(withheld, who, "withheld",
                     "these figures depend on the exact count or size and would give them back"),
    ]


def _size_groups(table: pd.DataFrame, rows: np.ndarray) -> pd.Series:
    """Pseudonymised practice (``area_id``) -> size group: practices ordered by their typical
    size (mean rank of denominator within each cell), split into consecutive groups of at least
    :data:`MIN_PRACTICES_FOR_PSEUDONYMS` (all of them when there are fewer than twice that).

    One grouping for every indicator and month, so that a practice's bands in different cells
    always span the same practices and intersecting them narrows nothing down.
    """
    part = table.loc[rows, ["indicator_id", "period_type", "period", "area_id", "denominator"]]
    rank = (pd.to_numeric(part["denominator"], errors="coerce")
            .groupby([part["indicator_id"], part["period_type"], part["period"]]).rank(pct=True))
    typical = rank.groupby(part["area_id"].astype(str)).mean().fillna(0.5)
    order = sorted(typical.index, key=lambda a: (typical[a], a))
    n = len(order)
    n_groups = max(1, n // MIN_PRACTICES_FOR_PSEUDONYMS)
    return pd.Series((np.arange(n) * n_groups) // n, index=order)


def _shared_bands(table: pd.DataFrame, rows: np.ndarray) -> pd.DataFrame:
    """Band per row of pseudonymised practices: in each cell (indicator, period), the span from the
    lowest to the highest standard band (:func:`size_band`) of the row's size group, placed at the
    midpoint of the standard band in the middle of the span; withheld where fewer than two of the
    group's practices have a row in the cell."""
    part = table.loc[rows, ["indicator_id", "period_type", "period", "area_id", "denominator"]]
    group = part["area_id"].astype(str).map(_size_groups(table, rows))
    own = size_band(part["denominator"])
    keys = [part["indicator_id"].to_numpy(), part["period_type"].to_numpy(), part["period"].to_numpy(),
            group.to_numpy()]
    frame = pd.DataFrame({"k0": keys[0], "k1": keys[1], "k2": keys[2], "k3": keys[3],
                          "lower": own["lower"].to_numpy(), "upper": own["upper"].to_numpy()})
    by = frame.groupby(["k0", "k1", "k2", "k3"], dropna=False)
    lower = by["lower"].transform("min").to_numpy()
    upper = by["upper"].transform("max").to_numpy()
    present = by["lower"].transform("count").to_numpy()
    ok = (present >= 2) & np.isfinite(lower) & np.isfinite(upper)
    label = np.array([f"{lo:,.0f}-{hi - 1:,.0f}" if good else None
                      for lo, hi, good in zip(lower, upper, ok)], dtype=object)
    zero = ok & (upper <= 1)
    label[zero] = "0"
    # placed at the midpoint of the standard band in the middle of the span (a standard band
    # midpoint like any other banded size; the same for every practice of the group)
    middle = size_band(np.where(ok, (lower + upper) / 2, np.nan))["midpoint"].to_numpy()
    midpoint = np.where(ok, np.where(zero, 0.0, middle), np.nan)
    return pd.DataFrame({"band": label, "midpoint": midpoint, "lower": np.where(ok, lower, np.nan),
                         "upper": np.where(ok, upper, np.nan), "group": group.to_numpy()})


def _coarsen(table: pd.DataFrame, rows: np.ndarray, pseudonymised: bool, threshold: int) -> int:
    """Release only what cannot fix a row's counts: sizes as bands, values rounded by
    :func:`_released_values`, count-dependent figures withheld. Returns how many values were
    withheld.

    ``pseudonymised`` rows (member practices) share their size group's band; other banded rows
    (clusters of fewer than 3 practices, named anyway) get their own standard band and keep
    their SPC lines, rounded, for the cluster's SPC chart.
    """
    band = _shared_bands(table, rows) if pseudonymised else size_band(table.loc[rows, "denominator"])
    if pseudonymised:
        group = pd.Series(band["group"].to_numpy())
    else:  # a cluster is its own group
        group = pd.Series(np.arange(int(rows.sum())))
    value = _released_values(table.loc[rows], band, group, threshold)
    _replace_rows(table, rows, "denominator_band", band["band"].to_numpy())
    _replace_rows(table, rows, "plot_size", band["midpoint"].to_numpy())
    for column in ("numerator", ITEMS_COLUMN, "denominator"):
        if column in table.columns:
            _replace_rows(table, rows, column, np.nan)
    withheld = banded_withheld() + (pseudonym_withheld() if pseudonymised else ())
    for column in withheld:
        if column in table.columns:
            _replace_rows(table, rows, column, np.nan)
    for column in banded_rounded():
        if column in table.columns and column not in withheld and column != "value":
            values = _floats(table[column])[rows]
            _replace_rows(table, rows, column,
                          _round_significant_array(values, RELEASED_SIGNIFICANT_FIGURES))
    shown = np.isfinite(_floats(table["value"])[rows])
    _replace_rows(table, rows, "value", value)
    return int((shown & np.isnan(value)).sum())


#: A count a row's printed value must leave open: at least this many numerators fit it.
MIN_CONSISTENT_NUMERATORS = 3
_WINDOW = 64


def _half_unit(printed: np.ndarray, figures: int) -> np.ndarray:
    """Half a unit in the last place of ``printed`` shown to ``figures`` significant figures."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return 0.5 * 10.0 ** (np.floor(np.log10(np.abs(printed))) - figures + 1)


def _released_values(rows: pd.DataFrame, band: pd.DataFrame, group: pd.Series,
                     threshold: int) -> np.ndarray:
    """The value each banded row releases: rounded to :data:`RELEASED_SIGNIFICANT_FIGURES`
    significant figures, or to 1 where 2 would be too precise, or withheld where even 1 is.

    A printed value v (half-unit tol) with the size only in the band [L, H] is consistent with
    the pairs (x, n): n a whole number in the band, x a whole number from ``threshold`` up
    (smaller counts are suppressed, so a shown value has at least that many) with
    |x / n * m - v| <= tol. A precision is used only where (a) at least
    :data:`MIN_CONSISTENT_NUMERATORS` numerators fit the band and (b) every practice of the row's
    size group present in the cell could have given the printed value with its own exact
    denominator, so the value narrows the group down no further than the band does. Values of
    0 (a zero count) stay 0. Only count numerators are checked (a dose or cost numerator is not
    a whole number of anything); their values are rounded to 2 figures.
    """
    value = _floats(rows["value"])
    x = _floats(rows["numerator"])
    n = _floats(rows["denominator"])
    items = _floats(rows[ITEMS_COLUMN]) if ITEMS_COLUMN in rows.columns else x
    counted = (x == items) & (x > 0) & np.isfinite(n) & (n > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        m = np.where(counted, value * n / x, np.nan)
    low, high = band["lower"].to_numpy(dtype=float), band["upper"].to_numpy(dtype=float) - 1
    keys = pd.DataFrame({"i": rows["indicator_id"].to_numpy(), "t": rows["period_type"].to_numpy(),
                         "p": rows["period"].to_numpy(), "g": group.to_numpy()})
    cell = keys.groupby(["i", "t", "p", "g"], dropna=False, sort=False).ngroup().to_numpy()
    out = np.full(len(value), np.nan)
    pending = np.isfinite(value)
    out[pending & (value == 0)] = 0.0
    pending &= value != 0
    for figures in range(RELEASED_SIGNIFICANT_FIGURES, 0, -1):
        printed = _round_significant_array(value, figures)
        tol = _half_unit(printed, figures) * (1 - 1e-9)
        with np.errstate(divide="ignore", invalid="ignore"):
            lo, hi = (printed - tol) / m, (printed + tol) / m
        ok = ~counted | (_enough_numerators(lo, hi, low, high, threshold)
                         & _every_member_fits(lo, hi, n, cell, threshold))
        take = pending & ok
        out[take] = printed[take]
        pending &= ~take
    return out


def _enough_numerators(lo, hi, low, high, threshold: int) -> np.ndarray:
    """(a): at least MIN_CONSISTENT_NUMERATORS whole x >= threshold with a whole n in [low, high],
    n >= x, x / n in [lo, hi] (checked over a window of x from the smallest possible)."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        first = np.maximum(threshold, np.ceil(low * lo))
        first = np.where(np.isfinite(first), first, 0.0)
        xs = first[:, None] + np.arange(_WINDOW)[None, :]
        n_min = np.maximum(np.maximum(np.ceil(xs / hi[:, None]), low[:, None]), xs)
        n_max = np.minimum(np.floor(xs / lo[:, None]), high[:, None])
        fits = (n_min <= n_max) & np.isfinite(n_min) & np.isfinite(n_max)
    return fits.sum(axis=1) >= MIN_CONSISTENT_NUMERATORS


def _every_member_fits(lo, hi, n, cell: np.ndarray, threshold: int) -> np.ndarray:
    """(b): for each row, every row of its cell (its size group's practices) has a whole
    x >= threshold, x <= n_j, with x / n_j in [lo, hi] of the row's printed value. A cell of one
    row, or with no row of known size, leaves its rows as they are.

    Checked for every pair of a row and a member of its cell at once (cells hold a size group's
    practices, a handful, so the pairs are few)."""
    order = np.argsort(cell, kind="stable")
    bounds = np.flatnonzero(np.r_[True, np.diff(cell[order]) != 0, True])
    starts, sizes = bounds[:-1], np.diff(bounds)
    # each row (in cell order) paired with every member of its cell
    per_row = np.repeat(sizes, sizes)
    row = np.repeat(order, per_row)
    first = np.repeat(np.repeat(starts, sizes), per_row)
    offset = np.arange(len(row)) - np.repeat(np.cumsum(per_row) - per_row, per_row)
    member = order[first + offset]
    known = np.isfinite(n[member]) & (np.repeat(per_row, per_row) >= 2)
    row, member = row[known], member[known]
    with np.errstate(divide="ignore", invalid="ignore"):
        x_low = np.maximum(threshold, np.ceil(n[member] * lo[row]))
        x_high = np.minimum(np.floor(n[member] * hi[row]), n[member])
    ok = np.ones(len(n), dtype=bool)
    ok[row[~(x_low <= x_high)]] = False
    return ok


def require_releasable(table: pd.DataFrame, audience: str) -> None:
    """Refuse a table that has not passed disclosure control for ``audience``.

    Audience "analyst" may use any table. For "cluster" and "practice" the table must come from
    :func:`apply_disclosure` with a policy for that same audience; otherwise
    :class:`NotReleasableError` says what to do.

    Example usage::

        require_releasable(releasable, "cluster")      # passes silently
        require_releasable(indicator_table, "cluster") # NotReleasableError
    """
    if audience not in AUDIENCES:
        raise DisclosurePolicyError(
            f"audience: {audience!r} is not valid; expected one of {', '.join(AUDIENCES)}")
    if not _audience(audience).releasable:
        return
    attrs: Mapping = getattr(table, "attrs", {}) or {}
    if attrs.get("releasable") is not True:
        raise NotReleasableError(
            f"this table is not releasable to audience {audience!r}: it has not passed "
            "clusterqi.disclosure.apply_disclosure (or was made for the analyst audience). "
            f"Run apply_disclosure(table, DisclosurePolicy(audience={audience!r}, cluster_id=...)) "
            "first."
        )
    if attrs.get("audience") != audience:
        raise NotReleasableError(
            f"this table was made releasable for audience {attrs.get('audience')!r}, not "
            f"{audience!r}; apply disclosure control with a policy for {audience!r}."
        )
