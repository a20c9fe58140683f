"""Benchmark: are "clusters like ours" fairer than the rest of Scotland on deprivation-linked prescribing?

Not a test. Synthetic Scotland plants a deprivation gradient (x1.30 per SIMD quintile towards the
most deprived, :data:`clusterqi.synthetic.deprivation.DEPRIVATION_GRADIENT`) in the
deprivation-linked indicators, on top of random variation and a few planted outliers. A fair
comparator should call deprived clusters "worse" on those indicators no more often than it calls
any ordinary cluster worse: their excess is their population, not their prescribing.

For each deprivation-linked indicator it prints, among *ordinary* clusters (no planted outlier or
step on that indicator):

- the share of the most deprived clusters (the most deprived fifth by list-size-weighted mean
  SIMD rank) called worse against the rest of Scotland, and against their peers;
- the unplanted rate: the share of ordinary clusters called worse on the indicators with no
  gradient (against the rest of Scotland), the false-call rate a reader should expect;

and, for every indicator, how many planted cluster outliers each comparator finds. Goal (issue
16): the deprived share against peers within 2 percentage points of the unplanted rate.

Usage::

    .venv/bin/python benchmarks/peers.py
"""

from __future__ import annotations

import argparse
import sys

import pandas as pd

from clusterqi import vocabulary
from clusterqi.run_tables import cached_run_tables, data_folder, load_run
from clusterqi.synthetic.deprivation import DEPRIVATION_GRADIENT, DEPRIVATION_INDICATORS

PERIOD_END = "2026-09"
#: The most deprived share of clusters whose verdicts are compared.
DEPRIVED_SHARE = 0.2
_WORSE = {"worse", "higher"}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--months", type=int, default=12)
    args = parser.parse_args(argv)
    run = load_run(cached_run_tables("synthetic", PERIOD_END, args.months))
    truth = pd.read_csv(data_folder("synthetic") / "ground_truth.csv", dtype=str)
    table, context = run.table, run.context
    totals = table[(table["level"] == vocabulary.CLUSTER) & (table["period_type"] == "total")]
    scotland = vocabulary.headline().verdict_column
    peers = vocabulary.comparator(vocabulary.PEERS).verdict_column
    ranked = context.dropna(subset=["mean_simd_rank"]).sort_values("mean_simd_rank")
    deprived = set(ranked["cluster_id"].head(round(len(ranked) * DEPRIVED_SHARE)))
    planted = truth[truth["kind"].isin(["cluster_outlier", "step_change"])]

    def ordinary(indicator_id: str) -> pd.DataFrame:
        rows = totals[totals["indicator_id"] == indicator_id]
        touched = set(planted.loc[planted["indicator_id"] == indicator_id, "unit_id"])
        return rows[~rows["area_id"].isin(touched) & rows[scotland].notna() & rows[peers].notna()]

    others = [i for i in totals["indicator_id"].unique() if i not in DEPRIVATION_INDICATORS]
    base = pd.concat([ordinary(i) for i in others])
    unplanted = base[scotland].isin(_WORSE).mean()
    print(f"Synthetic Scotland, 12 months to {PERIOD_END}: gradient x{DEPRIVATION_GRADIENT} per SIMD "
          f"quintile; {len(deprived)} most deprived clusters of {len(ranked)}")
    print(f"unplanted rate (ordinary clusters called worse, indicators without gradient): "
          f"{unplanted:.1%} of {len(base)}")
    print()
    print(f"{'indicator':<45} {'deprived worse vs rest of Scotland':>36} {'vs peers':>10}")
    results = []
    for indicator_id in DEPRIVATION_INDICATORS:
        rows = ordinary(indicator_id)
        mine = rows[rows["area_id"].isin(deprived)]
        vs_scotland = mine[scotland].isin(_WORSE).mean()
        vs_peers = mine[peers].isin(_WORSE).mean()
        results.append((indicator_id, len(mine), vs_scotland, vs_peers))
        print(f"{indicator_id:<45} {vs_scotland:>35.1%} {vs_peers:>10.1%}   (n={len(mine)})")
    pooled = pd.concat([ordinary(i)[lambda r: r["area_id"].isin(deprived)]
                        for i in DEPRIVATION_INDICATORS])
    all_scotland = pooled[scotland].isin(_WORSE).mean()
    all_peers = pooled[peers].isin(_WORSE).mean()
    print(f"{'all deprivation-linked indicators':<45} {all_scotland:>35.1%} {all_peers:>10.1%}   "
          f"(n={len(pooled)})")
    gap = abs(all_peers - unplanted) * 100
    print(f"\ngoal: deprived called worse against peers within 2 points of the unplanted rate: "
          f"{gap:.1f} points -> {'met' if gap <= 2 else 'NOT met'}")

    outliers = truth[truth["kind"] == "cluster_outlier"]
    found = {scotland: 0, peers: 0}
    for row in outliers.itertuples():
        unit = totals[(totals["indicator_id"] == row.indicator_id) & (totals["area_id"] == row.unit_id)]
        for column in found:
            found[column] += int(len(unit) and unit[column].iloc[0] in
                                 {"worse", "better", "higher", "lower"})
    print(f"planted cluster outliers called (of {len(outliers)}): rest of Scotland "
          f"{found[scotland]}, peers {found[peers]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
