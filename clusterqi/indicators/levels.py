"""Areas and levels: from practice counts to practice, cluster, HSCP, board and Scotland rows.

Values above practice level are always sum(numerator) / sum(denominator) over the member
practices, never a mean of ratios. Practices outside any cluster (the ``<Board> Undefined``
placeholders) count in HSCP, board and Scotland rows but have no cluster. A cluster row carries
its home HSCP and board (those holding most of its patients); a practice keeps its own HSCP and
board, and HSCP and board totals are built from each practice's own codes, so a cluster that
spans two HSCPs contributes to both.

Example usage::

    from clusterqi.indicators.levels import practice_attributes, aggregate_levels
    attrs = practice_attributes(dataset.practices)
    rows = aggregate_levels(practice_rows, attrs, dataset.lookups)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd

from clusterqi import vocabulary

__all__ = [
    "LEVELS",
    "SCOTLAND_CODE",
    "SCOTLAND_NAME",
    "KEY_COLUMNS",
    "practice_attributes",
    "aggregate_levels",
]

#: The levels of the indicator table, smallest first.
LEVELS = tuple(vocabulary.LEVELS)
#: ONS/GSS code for Scotland, used as the Scotland row's ``area_id``.
SCOTLAND_CODE = "S92000003"
SCOTLAND_NAME = "Scotland"

#: Key columns of the indicator table (docs/architecture.md, "Indicator table").
KEY_COLUMNS = [
    "indicator_id",
    "level",
    "area_id",
    "area_name",
    "cluster_id",
    "hscp_code",
    "hb_code",
    "period_type",
    "period",
]

_GROUP = ["indicator_id", "period_type", "period"]
_SUMS = ["numerator", "denominator"]


def practice_attributes(practices: pd.DataFrame) -> pd.DataFrame:
    """One row per practice: its names, cluster (null outside clusters), own and home codes.

    ``home_hscp_code`` / ``home_hb_code`` are the practice's cluster's home HSCP and board; when
    the practices table lacks them they are derived as the HSCP / board holding most of the
    cluster's listed patients.
    """
    p = practices.copy()
    p["practice_code"] = p["practice_code"].astype("str")
    if "in_cluster" in p.columns:
        in_cluster = p["in_cluster"].fillna(False).astype(bool)
        p["cluster_id"] = p["cluster_id"].where(in_cluster)
        p["cluster_name"] = p["cluster_name"].where(in_cluster)
    for own, home in (("hscp_code", "home_hscp_code"), ("hb_code", "home_hb_code")):
        if home not in p.columns or p[home].isna().all():
            size = p.get("list_size", pd.Series(1.0, index=p.index)).fillna(0)
            share = (
                p.assign(_size=size)
                .groupby(["cluster_id", own], observed=True)["_size"]
                .sum()
                .reset_index()
                .sort_values("_size", ascending=False)
                .drop_duplicates("cluster_id")
                .set_index("cluster_id")[own]
            )
            p[home] = p["cluster_id"].map(share)
        p[home] = p[home].where(p["cluster_id"].notna())
    columns = [
        "practice_code", "practice_name", "cluster_id", "cluster_name",
        "hscp_code", "hscp_name", "hb_code", "hb_name", "home_hscp_code", "home_hb_code",
    ]
    for column in columns:
        if column not in p.columns:
            p[column] = pd.NA
    return p[columns].drop_duplicates("practice_code").reset_index(drop=True)


def _names(attributes: pd.DataFrame, lookups: Mapping | None) -> tuple[dict, dict, dict, dict]:
    clusters = (
        attributes.dropna(subset=["cluster_id"])
        .drop_duplicates("cluster_id")
        .set_index("cluster_id")
    )
    hscp_names = attributes.dropna(subset=["hscp_code"]).drop_duplicates("hscp_code")
    hscp_name = dict(zip(hscp_names["hscp_code"], hscp_names["hscp_name"]))
    hscp_board = dict(zip(hscp_names["hscp_code"], hscp_names["hb_code"]))
    hb_names = attributes.dropna(subset=["hb_code"]).drop_duplicates("hb_code")
    hb_name = dict(zip(hb_names["hb_code"], hb_names["hb_name"]))
    lookups = lookups or {}
    if "hscp" in lookups and lookups["hscp"] is not None:
        lk = lookups["hscp"]
        hscp_name.update(dict(zip(lk["hscp_code"], lk["hscp_name"])))
        if "hb_code" in lk.columns:
            hscp_board.update(dict(zip(lk["hscp_code"], lk["hb_code"])))
    if "hb" in lookups and lookups["hb"] is not None:
        lk = lookups["hb"]
        hb_name.update(dict(zip(lk["hb_code"], lk["hb_name"])))
    return clusters, hscp_name, hscp_board, hb_name


def aggregate_levels(
    practice_rows: pd.DataFrame,
    attributes: pd.DataFrame,
    lookups: Mapping | None = None,
    levels: Sequence[str] = LEVELS,
) -> pd.DataFrame:
    """Sum practice rows up to the requested levels; returns the key columns plus sums.

    ``practice_rows`` has ``indicator_id, practice_code, period_type, period, numerator,
    denominator``; ``attributes`` comes from :func:`practice_attributes`. Practice codes
    missing from ``attributes`` are dropped.
    """
    unknown = sorted(set(levels) - set(LEVELS))
    if unknown:
        raise ValueError(f"levels {unknown} are not among {list(LEVELS)}")
    base = practice_rows.merge(attributes, on="practice_code", how="inner", validate="m:1")
    clusters, hscp_name, hscp_board, hb_name = _names(attributes, lookups)
    out = []
    if "practice" in levels:
        out.append(
            base[_GROUP + _SUMS].assign(
                level="practice",
                area_id=base["practice_code"],
                area_name=base["practice_name"],
                cluster_id=base["cluster_id"],
                hscp_code=base["hscp_code"],
                hb_code=base["hb_code"],
            )
        )
    if "cluster" in levels:
        g = (
            base.dropna(subset=["cluster_id"])
            .groupby(_GROUP + ["cluster_id"], observed=True, sort=False)[_SUMS]
            .sum()
            .reset_index()
        )
        out.append(
            g.assign(
                level="cluster",
                area_id=g["cluster_id"],
                area_name=g["cluster_id"].map(clusters["cluster_name"]),
                hscp_code=g["cluster_id"].map(clusters["home_hscp_code"]),
                hb_code=g["cluster_id"].map(clusters["home_hb_code"]),
            )
        )
    if "hscp" in levels:
        g = (
            base.dropna(subset=["hscp_code"])
            .groupby(_GROUP + ["hscp_code"], observed=True, sort=False)[_SUMS]
            .sum()
            .reset_index()
        )
        out.append(
            g.assign(
                level="hscp",
                area_id=g["hscp_code"],
                area_name=g["hscp_code"].map(hscp_name),
                cluster_id=pd.NA,
                hb_code=g["hscp_code"].map(hscp_board),
            )
        )
    if "hb" in levels:
        g = (
            base.dropna(subset=["hb_code"])
            .groupby(_GROUP + ["hb_code"], observed=True, sort=False)[_SUMS]
            .sum()
            .reset_index()
        )
        out.append(
            g.assign(
                level="hb",
                area_id=g["hb_code"],
                area_name=g["hb_code"].map(hb_name),
                cluster_id=pd.NA,
                hscp_code=pd.NA,
            )
        )
    if "scotland" in levels:
        g = base.groupby(_GROUP, observed=True, sort=False)[_SUMS].sum().reset_index()
        out.append(
            g.assign(
                level="scotland",
                area_id=SCOTLAND_CODE,
                area_name=SCOTLAND_NAME,
                cluster_id=pd.NA,
                hscp_code=pd.NA,
                hb_code=pd.NA,
            )
        )
    table = pd.concat(out, ignore_index=True)
    for column in KEY_COLUMNS:
        if column not in ("indicator_id", "period_type", "period"):
            table[column] = table[column].astype("str").where(table[column].notna())
    table[_SUMS] = table[_SUMS].astype(float)
    return table[KEY_COLUMNS + _SUMS]
