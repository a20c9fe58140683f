"""Small hand-made indicator tables with the columns of docs/architecture.md, for disclosure tests.

``build_table`` takes practices (code, name, cluster, HSCP, board, list size) and a numerator per
practice and month, and adds up cluster, HSCP, board and Scotland rows and the total period the
way clusterqi.indicators does, so that totals are exact sums of their parts (what an attacker
subtracting cells would rely on).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

MULTIPLIER = 1000.0
DAYS = 30


@dataclass(frozen=True)
class Practice:
    code: str
    name: str
    cluster_id: str | None
    hscp_code: str
    hb_code: str
    list_size: int


def standard_practices() -> list[Practice]:
    """Two boards, three HSCPs, four clusters (5, 3, 2 and 4 practices) and one unclustered practice."""
    rows = [
        ("10002", "Muirhead Medical Centre", "north-1", "S37000001", "S08000001", 8330),
        ("10017", "The Blue Practice", "north-1", "S37000001", "S08000001", 7463),
        ("10021", "Practice B", "north-1", "S37000001", "S08000001", 4120),
        ("10036", "Harbour Surgery", "north-1", "S37000001", "S08000001", 12004),
        ("10040", "Dr C O'Neill", "north-1", "S37000002", "S08000001", 175),
        ("20001", "Glen Health Centre", "north-2", "S37000002", "S08000001", 6010),
        ("20015", "Loch Road Practice", "north-2", "S37000002", "S08000001", 3100),
        ("20029", "Mill Lane Surgery", "north-2", "S37000002", "S08000001", 9950),
        ("30004", "Islay Medical Practice", "isles", "S37000002", "S08000001", 3454),
        ("30018", "Jura Medical Practice", "isles", "S37000002", "S08000001", 231),
        ("40007", "Townhead Medical Practice", "south-1", "S37000003", "S08000002", 16690),
        ("40011", "Parade Group Practice", "south-1", "S37000003", "S08000002", 19889),
        ("40026", "Portland Surgery", "south-1", "S37000003", "S08000002", 7857),
        ("40030", "Templehill Surgery", "south-1", "S37000003", "S08000002", 10651),
        ("49999", "Challenging Behaviour Service", None, "S37000003", "S08000002", 32),
    ]
    return [Practice(*r) for r in rows]


def build_table(
    practices: list[Practice],
    numerators: dict[tuple[str, str], float],
    months: list[str],
    indicator_id: str = "test_indicator",
    interpretation_names: bool = False,
) -> pd.DataFrame:
    """An indicator table: practice x month numerators given, everything else summed up.

    Denominators are list size x DAYS; value = numerator / denominator x MULTIPLIER. With
    ``interpretation_names`` the practice rows' interpretation mentions the practice's name and
    code (the contract says it should not; disclosure must scrub it anyway).
    """
    by_code = {p.code: p for p in practices}
    cluster_home = {}
    for p in practices:
        if p.cluster_id is not None:
            cluster_home.setdefault(p.cluster_id, (p.hscp_code, p.hb_code))
    cells = []
    for p in practices:
        for m in months:
            cells.append({"code": p.code, "month": m, "num": float(numerators.get((p.code, m), 0)),
                          "den": float(p.list_size * DAYS)})
    cell = pd.DataFrame(cells)
    cell["cluster_id"] = cell["code"].map(lambda c: by_code[c].cluster_id)
    cell["hscp"] = cell["code"].map(lambda c: by_code[c].hscp_code)
    cell["hb"] = cell["code"].map(lambda c: by_code[c].hb_code)
    total_period = f"{months[0]}..{months[-1]}"
    rows = []

    def add(level, area_id, area_name, cluster_id, hscp, hb, frame):
        for m, part in frame.groupby("month"):
            rows.append((level, area_id, area_name, cluster_id, hscp, hb, "month", m,
                         part["num"].sum(), part["den"].sum()))
        rows.append((level, area_id, area_name, cluster_id, hscp, hb, "total", total_period,
                     frame["num"].sum(), frame["den"].sum()))

    for p in practices:
        add("practice", p.code, p.name, p.cluster_id, p.hscp_code, p.hb_code,
            cell[cell["code"] == p.code])
    for cid, part in cell[cell["cluster_id"].notna()].groupby("cluster_id"):
        hscp, hb = cluster_home[cid]
        add("cluster", cid, f"Cluster {cid}", cid, hscp, hb, part)
    for hscp, part in cell.groupby("hscp"):
        add("hscp", hscp, f"HSCP {hscp}", None, hscp, part["hb"].iloc[0], part)
    for hb, part in cell.groupby("hb"):
        add("hb", hb, f"Board {hb}", None, None, hb, part)
    add("scotland", "S92000003", "Scotland", None, None, None, cell)

    table = pd.DataFrame(rows, columns=[
        "level", "area_id", "area_name", "cluster_id", "hscp_code", "hb_code", "period_type",
        "period", "numerator", "denominator"])
    table.insert(0, "indicator_id", indicator_id)
    table["value"] = table["numerator"] / table["denominator"] * MULTIPLIER
    spread = 1.96 * np.sqrt(table["numerator"].clip(lower=1)) / table["denominator"] * MULTIPLIER
    table["lower_95"] = (table["value"] - spread).clip(lower=0)
    table["upper_95"] = table["value"] + spread
    table["lower_998"] = (table["value"] - 1.6 * spread).clip(lower=0)
    table["upper_998"] = table["value"] + 1.6 * spread
    scot = table[table["level"] == "scotland"].set_index("period")["value"]
    table["scotland_value"] = table["period"].map(scot)
    table["funnel_95"] = np.where(table["value"] > table["scotland_value"], "high", "within")
    table["funnel_998"] = "within"
    table["rest_of_cluster_value"] = np.where(table["level"] == "practice", table["scotland_value"], np.nan)
    table["vs_rest_of_cluster"] = np.where(table["level"] == "practice", "similar", None)
    table["rest_of_scotland_value"] = np.where(table["level"].isin(["practice", "cluster"]),
                                               table["scotland_value"], np.nan)
    table["vs_rest_of_scotland"] = np.where(table["level"].isin(["practice", "cluster"]),
                                            np.where(table["value"] > table["scotland_value"],
                                                     "worse", "better"), None)
    table["reliability"] = 0.8
    table["interpretation"] = np.where(table["value"] > table["scotland_value"],
                                       "higher than the rest of Scotland", "similar to the rest of Scotland")
    if interpretation_names:
        names = table["area_name"] + " (" + table["area_id"] + ") is " + table["interpretation"]
        table["interpretation"] = np.where(table["level"] == "practice", names, table["interpretation"])
    for column in ("level", "area_id", "area_name", "cluster_id", "hscp_code", "hb_code",
                   "period_type", "period", "funnel_95", "funnel_998", "vs_rest_of_cluster",
                   "vs_rest_of_scotland", "interpretation", "indicator_id"):
        table[column] = table[column].astype("str")
    return table


def standard_table(months=("2025-07", "2025-08", "2025-09"), seed: int = 1, **kwargs) -> pd.DataFrame:
    """build_table over standard_practices with numerators roughly proportional to list size."""
    rng = np.random.default_rng(seed)
    practices = standard_practices()
    numerators = {(p.code, m): float(rng.poisson(p.list_size / 300)) for p in practices for m in months}
    return build_table(practices, numerators, list(months), **kwargs)


def groups(table: pd.DataFrame) -> list[tuple[int, list[int]]]:
    """(parent row, child rows) for each additive group the issue lists, from the table's structure."""
    t = table.reset_index(drop=True)
    records = t[["indicator_id", "level", "area_id", "cluster_id", "hscp_code", "hb_code",
                 "period_type", "period"]].to_dict("records")
    children: dict[tuple, list[int]] = {}
    parents: dict[tuple, int] = {}
    for i, r in enumerate(records):
        cell = (r["indicator_id"], r["period_type"], r["period"])
        level, clustered = r["level"], isinstance(r["cluster_id"], str)
        if level == "practice" and clustered:
            children.setdefault(("cluster", *cell, r["cluster_id"]), []).append(i)
        if level == "cluster" or (level == "practice" and not clustered):
            children.setdefault(("hscp", *cell, r["hscp_code"]), []).append(i)
            children.setdefault(("hb", *cell, r["hb_code"]), []).append(i)
        if level in ("cluster", "hscp", "hb"):
            parents[(level, *cell, r["area_id"])] = i
        series = ("months", r["indicator_id"], r["level"], r["area_id"])
        if r["period_type"] == "total":
            parents[series] = i
        else:
            children.setdefault(series, []).append(i)
    return [(parents[key], kids) for key, kids in children.items() if key in parents]
