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
    RELEASED_RELIABILITY_DECIMALS,
    RELEASED_SIGNIFICANT_FIGURES,
    DisclosurePolicy,
    DisclosurePolicyError,
    NotReleasableError,
    banded_rounded,
)
from clusterqi.disclosure.pseudonyms import _cluster_members
from clusterqi.vocabulary import AUDIENCES, CLUSTER, PRACTICE
from clusterqi.vocabulary import audience as _audience

__all__ = [
    "require_releasable",
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
    small = (table["level"] == CLUSTER) & table["area_id"].isin(small_clusters)
    banded = hidden | small
    if banded.any():
        _band_sizes(table, banded.to_numpy())
        logs.append(_summary_row(
            "numerator, denominator; values rounded to "
            f"{RELEASED_SIGNIFICANT_FIGURES} significant figures",
            "pseudonymised practices and clusters of fewer than "
            f"{MIN_PRACTICES_FOR_PSEUDONYMS} practices", "banded size",
            "an exact size identifies a practice: sizes shown only as bands, placed at the band "
            "midpoint",
        ))
    return table, logs


def _band_sizes(table: pd.DataFrame, banded: np.ndarray) -> None:
    band = size_band(table.loc[banded, "denominator"])
    _replace_rows(table, banded, "plot_size", band["midpoint"].to_numpy())
    _replace_rows(table, banded, "numerator", np.nan)
    if ITEMS_COLUMN in table.columns:
        _replace_rows(table, banded, ITEMS_COLUMN, np.nan)
    _replace_rows(table, banded, "denominator", np.nan)
    for column in banded_rounded():
        if column in table.columns:
            values = _floats(table[column])[banded]
            _replace_rows(table, banded, column,
                          _round_significant_array(values, RELEASED_SIGNIFICANT_FIGURES))
    if "reliability" in table.columns:
        values = _floats(table["reliability"])[banded]
        _replace_rows(table, banded, "reliability", np.round(values, RELEASED_RELIABILITY_DECIMALS))


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
