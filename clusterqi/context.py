"""Context for fair comparisons: each cluster's size, age mix and deprivation, and where it sits.

Prescribing differs between clusters for reasons a cluster cannot change: older patients take
more statins and anticoagulants, deprived communities more opioids, gabapentinoids and
hypnotics. :func:`cluster_context` puts those reasons beside the indicators, one row per
cluster, and :func:`practice_context` does the same per practice for analysts (who may see a
practice's figures is the caller's decision: see :mod:`clusterqi.disclosure`). The context
also feeds "clusters like ours" (:func:`clusterqi.peers.peer_groups`).

Deprivation is the Scottish Index of Multiple Deprivation 2020v2 of the Data Zone of each
practice's **premises** (``Dataset.practices`` columns ``simd_rank``, ``simd_decile``,
``simd_quintile``; :mod:`clusterqi.loaders.simd`), a proxy for the deprivation of its patients,
not a measure of where they live. Age shares come from the practice populations file.

Only practices open in the latest practice release count (a practice that has closed is
Scotland's past, not its cluster's context), and only real clusters (not the
``<Board> Undefined`` placeholders).

``cluster_context`` columns:

- ``cluster_id``, ``cluster_name``, ``home_hscp_code``, ``home_hb_code``, ``practices``;
- ``list_size``: patients registered (sum of list sizes);
- ``share_65_plus``, ``share_under_15``: shares of patients aged 65+ / under 15, over the
  practices whose latest population has age bands (missing without a populations table);
- ``simd_q1_share`` ... ``simd_q5_share``: the **SIMD quintile mix**, the share of the cluster's
  patients (list-size weighted) registered with practices whose premises are in each national
  quintile (1 = most deprived fifth of Scotland), over the practices with a SIMD quintile. List
  size weighting is chosen over counting practices because a cluster's prescribing is its
  patients', and a 12,000-patient practice weighs twelve times a 1,000-patient one there too;
- ``mean_simd_rank``: list-size-weighted mean SIMD rank of the practices' Data Zones (1 = most
  deprived of 6,976; lower = more deprived);
- ``practices_with_simd``, ``practices_without_simd``: practices with / without a SIMD rank
  (no SIMD file, or a Data Zone not in it);
- for each measure in :data:`POSITION_MEASURES`: ``<measure>_rank_among_clusters`` (1 .. n,
  ties share the best place; the order is stated in :data:`POSITION_MEASURES`, e.g. 1 = the most
  deprived for ``mean_simd_rank``) and ``<measure>_clusters_ranked`` (n: the clusters with a
  value). Missing where the cluster has no value.

Example usage::

    from clusterqi.context import cluster_context, practice_context
    from clusterqi.loaders import load_dataset

    data = load_dataset("data/phs")
    context = cluster_context(data.practices, data.populations)
    context.sort_values("mean_simd_rank").head()            # the most deprived clusters
    practice_context(data.practices, data.populations)     # analyst view, one row a practice
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = [
    "POSITION_MEASURES",
    "CLUSTER_CONTEXT_COLUMNS",
    "PRACTICE_CONTEXT_COLUMNS",
    "QUINTILE_SHARE_COLUMNS",
    "age_shares",
    "cluster_context",
    "practice_context",
]

#: SIMD quintile mix columns (list-size-weighted shares of patients, quintile 1 = most deprived).
QUINTILE_SHARE_COLUMNS = [f"simd_q{q}_share" for q in range(1, 6)]
#: Measures ranked among Scotland's clusters, and which end is rank 1:
#: "high" = the largest value is 1, "low" = the smallest value is 1.
POSITION_MEASURES = {
    "list_size": "high",            # 1 = the most patients
    "share_65_plus": "high",        # 1 = the oldest population
    "share_under_15": "high",       # 1 = the most children
    "mean_simd_rank": "low",        # 1 = the most deprived (lowest mean SIMD rank)
    "simd_q1_share": "high",        # 1 = the largest share of patients in the most deprived quintile
}
_BASE_COLUMNS = [
    "cluster_id", "cluster_name", "home_hscp_code", "home_hb_code", "practices", "list_size",
    "share_65_plus", "share_under_15", *QUINTILE_SHARE_COLUMNS, "mean_simd_rank",
    "practices_with_simd", "practices_without_simd",
]
#: Columns of :func:`cluster_context`, in order.
CLUSTER_CONTEXT_COLUMNS = _BASE_COLUMNS + [
    f"{m}_{suffix}" for m in POSITION_MEASURES for suffix in ("rank_among_clusters", "clusters_ranked")]
#: Columns of :func:`practice_context`, in order.
PRACTICE_CONTEXT_COLUMNS = [
    "practice_code", "practice_name", "cluster_id", "cluster_name", "hscp_code", "list_size",
    "data_zone", "simd_rank", "simd_decile", "simd_quintile", "share_65_plus", "share_under_15",
]
_SIMD_COLUMNS = ("data_zone", "simd_rank", "simd_decile", "simd_quintile")


def _open_practices(practices: pd.DataFrame) -> pd.DataFrame:
    """Practices of the latest release (all rows when there is no ``last_release`` column)."""
    table = practices.copy()
    if "last_release" in table.columns and table["last_release"].notna().any():
        table = table[table["last_release"] == table["last_release"].max()]
    for column in _SIMD_COLUMNS:
        if column not in table.columns:
            table[column] = pd.Series(pd.NA, index=table.index,
                                      dtype="str" if column == "data_zone" else "Int64")
    return table.reset_index(drop=True)


def age_shares(populations: pd.DataFrame | None) -> pd.DataFrame:
    """practice_code, patients, share_65_plus, share_under_15 from each practice's latest population.

    Male and Female rows by age band are used; a practice published only as an all-ages total
    (PHS's suppressed small practices), with a suppressed cell, or with bands that straddle 15 or
    65 has the shares it cannot give left missing.

    Example usage::

        age_shares(data.populations).set_index("practice_code").loc["10002"]
    """
    columns = ["practice_code", "patients", "share_65_plus", "share_under_15"]
    if populations is None or populations.empty:
        return pd.DataFrame({c: pd.Series(dtype="str" if c == "practice_code" else "float64")
                             for c in columns})
    pop = populations.copy()
    pop["practice_code"] = pop["practice_code"].astype("str")
    latest = pop.groupby("practice_code")["date"].transform("max")
    pop = pop[pop["date"] == latest]
    banded = pop[pop["sex"] != "All"]
    low = pd.to_numeric(banded["age_min"], errors="coerce")
    high = pd.to_numeric(banded["age_max"], errors="coerce")
    patients = pd.to_numeric(banded["patients"], errors="coerce").astype("float64")
    frame = pd.DataFrame({
        "practice_code": banded["practice_code"],
        "patients": patients,
        "old": patients.where(low >= 65, 0.0),
        "young": patients.where(high.notna() & (high <= 14), 0.0),
        "suppressed": patients.isna(),
    })
    per = frame.groupby("practice_code").agg(
        patients=("patients", "sum"), old=("old", "sum"), young=("young", "sum"),
        suppressed=("suppressed", "any"))
    cut = _cuts(banded)
    total = per["patients"].where(per["patients"] > 0)
    usable = {age: ~per["suppressed"] & cut[age].reindex(per.index).fillna(False).astype(bool)
              for age in (15, 65)}
    out = pd.DataFrame({
        "practice_code": per.index.astype("str"),
        "patients": per["patients"].to_numpy(),
        "share_65_plus": (per["old"] / total).where(usable[65]).to_numpy(),
        "share_under_15": (per["young"] / total).where(usable[15]).to_numpy(),
    })
    # practices published only as an all-ages total: their patients, no shares
    totals = pop[(pop["sex"] == "All") & ~pop["practice_code"].isin(set(out["practice_code"]))]
    if not totals.empty:
        only = totals.groupby("practice_code")["patients"].sum(min_count=1).astype("float64")
        out = pd.concat([out, pd.DataFrame({"practice_code": only.index.astype("str"),
                                            "patients": only.to_numpy(),
                                            "share_65_plus": np.nan, "share_under_15": np.nan})],
                        ignore_index=True)
    out = out.sort_values("practice_code", ignore_index=True)
    return out[columns]


def _cuts(banded: pd.DataFrame) -> dict[int, pd.Series]:
    """practice_code -> True when its bands split exactly at the age (no band holds both sides)."""
    low = pd.to_numeric(banded["age_min"], errors="coerce")
    high = pd.to_numeric(banded["age_max"], errors="coerce")
    out = {}
    for age in (15, 65):
        crosses = (low < age) & (high.isna() | (high >= age))
        out[age] = (~crosses).groupby(banded["practice_code"]).all()
    return out


def practice_context(practices: pd.DataFrame, populations: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per practice open in the latest release: :data:`PRACTICE_CONTEXT_COLUMNS`.

    ``practices``: ``Dataset.practices`` (SIMD columns missing when the dataset has no SIMD
    file); ``populations``: ``Dataset.populations`` or None (age shares then missing). This
    names practices: the caller decides who may see it (analysts).

    Example usage::

        practice_context(data.practices, data.populations).sort_values("simd_rank").head()
    """
    table = _open_practices(practices)
    ages = age_shares(populations).drop(columns="patients")
    table["practice_code"] = table["practice_code"].astype("str")
    table = table.merge(ages, on="practice_code", how="left")
    for column in ("share_65_plus", "share_under_15"):
        table[column] = table[column].astype("float64")
    for column in ("simd_rank", "simd_decile", "simd_quintile", "list_size"):
        table[column] = table[column].astype("Int64")
    return table[PRACTICE_CONTEXT_COLUMNS].sort_values("practice_code", ignore_index=True)


def _weighted(values: pd.Series, weights: pd.Series) -> float:
    known = values.notna() & weights.notna()
    total = float(weights[known].sum())
    if not known.any() or total <= 0:
        return float("nan")
    return float((values[known].astype(float) * weights[known].astype(float)).sum() / total)


def cluster_context(practices: pd.DataFrame, populations: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per cluster: size, age mix, SIMD mix and its place among Scotland's clusters.

    ``practices``: ``Dataset.practices`` (``cluster_id`` null for placeholders, which are left
    out); ``populations``: ``Dataset.populations`` or None. Columns:
    :data:`CLUSTER_CONTEXT_COLUMNS` (see the module docstring). Age shares weight practices by
    their population, the SIMD measures by their list size; a practice without a SIMD rank is
    counted in ``practices_without_simd`` and left out of the SIMD measures (never guessed), so a
    cluster none of whose practices has one has missing SIMD measures.

    Example usage::

        context = cluster_context(data.practices, data.populations)
        context.loc[context["cluster_id"] == "dundee-4", ["mean_simd_rank",
            "mean_simd_rank_rank_among_clusters", "mean_simd_rank_clusters_ranked"]]
    """
    table = practice_context(practices, populations)
    extra = _open_practices(practices)[["practice_code", "home_hscp_code", "home_hb_code"]]
    extra["practice_code"] = extra["practice_code"].astype("str")
    table = table.merge(extra, on="practice_code", how="left")
    table = table[table["cluster_id"].notna()]
    ages = age_shares(populations).set_index("practice_code")["patients"]
    table["patients"] = table["practice_code"].map(ages).astype("float64")
    rows = []
    for cluster_id, group in table.groupby("cluster_id", sort=True):
        size = group["list_size"].astype("float64")
        with_simd = group["simd_rank"].notna()
        simd_size = size[with_simd].fillna(0)
        row = {
            "cluster_id": cluster_id,
            "cluster_name": group["cluster_name"].iloc[0],
            "home_hscp_code": group["home_hscp_code"].mode().iloc[0] if group["home_hscp_code"].notna().any() else None,
            "home_hb_code": group["home_hb_code"].mode().iloc[0] if group["home_hb_code"].notna().any() else None,
            "practices": len(group),
            "list_size": int(size.fillna(0).sum()),
            "share_65_plus": _weighted(group["share_65_plus"], group["patients"]),
            "share_under_15": _weighted(group["share_under_15"], group["patients"]),
            "mean_simd_rank": _weighted(group["simd_rank"].astype("float64"), size),
            "practices_with_simd": int(with_simd.sum()),
            "practices_without_simd": int((~with_simd).sum()),
        }
        total = float(simd_size.sum())
        quintiles = group.loc[with_simd, "simd_quintile"].astype(int)
        for q, column in enumerate(QUINTILE_SHARE_COLUMNS, start=1):
            row[column] = (float(simd_size[quintiles == q].sum()) / total) if total > 0 else float("nan")
        rows.append(row)
    context = pd.DataFrame(rows, columns=_BASE_COLUMNS)
    for measure, best in POSITION_MEASURES.items():
        values = context[measure].astype("float64")
        ranks = values.rank(method="min", ascending=(best == "low"))
        context[f"{measure}_rank_among_clusters"] = ranks.astype("Int64")
        context[f"{measure}_clusters_ranked"] = pd.Series(
            np.where(values.notna(), int(values.notna().sum()), pd.NA), dtype="Int64")
    for column in ("practices", "list_size", "practices_with_simd", "practices_without_simd"):
        context[column] = context[column].astype("int64")
    return context[CLUSTER_CONTEXT_COLUMNS]
