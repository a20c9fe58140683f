"""A readable summary of a loaded :class:`~clusterqi.loaders.Dataset` (what ``clusterqi validate`` prints).

Example usage::

    print(dataset_summary(load_dataset(folder)))
"""

from __future__ import annotations

import pandas as pd

from clusterqi.loaders.dataset import Dataset

__all__ = ["dataset_summary", "WARNINGS_SHOWN_PER_KIND"]

#: Warnings printed one by one for each kind before the rest are counted.
WARNINGS_SHOWN_PER_KIND = 10


def _span(values: pd.Series) -> str:
    values = pd.Series(values).dropna()
    if values.empty:
        return "none"
    low, high = values.min(), values.max()
    return f"{low:%Y-%m}" if low == high else f"{low:%Y-%m} to {high:%Y-%m}"


def _warning_line(row: pd.Series) -> str:
    where = [str(row["file"])] if pd.notna(row["file"]) else []
    if pd.notna(row["row"]):
        where.append(f"row {row['row']}")
    if pd.notna(row["practice_code"]):
        where.append(f"practice {row['practice_code']}")
    if pd.notna(row["column"]):
        where.append(f"column {row['column']}")
    if pd.notna(row["value"]):
        where.append(f"value {row['value']}")
    return f"    {', '.join(where)}: {row['message']}"


def dataset_summary(data: Dataset) -> str:
    """Files, releases, practices, clusters, months, rows and the warnings of a Dataset, as text."""
    p = data.practices
    clusters = p.loc[p["in_cluster"], "cluster_name"].nunique()
    placeholders = p.loc[~p["in_cluster"], "cluster_name"].nunique()
    latest = data.list_sizes["date"].max() if not data.list_sizes.empty else None
    open_now = data.list_sizes[data.list_sizes["date"] == latest]
    releases = sorted(data.list_sizes["date"].unique())
    kinds = data.sources["kind"].value_counts()
    lines = [
        f"Files read: {len(data.sources)} ("
        + ", ".join(f"{kinds.get(k, 0)} {k}" for k in ("practices", "populations", "prescribing"))
        + ", lookups" + (", deprivation (SIMD)" if getattr(data, "simd", None) is not None else "")
        + ")",
        f"Practice releases: {len(releases)} (" + ", ".join(f"{d:%Y-%m-%d}" for d in releases) + ")",
        f"Practices: {len(p):,} seen, {len(open_now):,} in the latest release; "
        f"list size {int(open_now['list_size'].sum()):,}",
        f"Clusters: {clusters:,} (+ {placeholders} '<Board> Undefined' placeholders); "
        f"HSCPs: {p['hscp_code'].nunique()}; boards: {p['hb_code'].nunique()}",
        f"Population rows: {len(data.populations):,} ({_span(data.populations['date'])}); "
        f"patients {int(data.populations['patients'].sum()):,}",
        f"Prescribing: {len(data.prescribing):,} practice x month x BNF rows, "
        f"{data.prescribing['month'].nunique()} months ({_span(data.prescribing['month'])}), "
        f"{int(data.prescribing['items'].sum()):,} items",
    ]
    w = data.warnings
    lines.append(f"Warnings: {len(w):,}" + (" (findings, not errors)" if len(w) else ""))
    for kind, group in w.groupby("kind", sort=True):
        lines.append(f"  {kind}: {len(group):,}")
        lines.extend(_warning_line(row) for _, row in group.head(WARNINGS_SHOWN_PER_KIND).iterrows())
        if len(group) > WARNINGS_SHOWN_PER_KIND:
            lines.append(f"    ... and {len(group) - WARNINGS_SHOWN_PER_KIND:,} more")
    return "\n".join(lines) + "\n"
