"""Benchmark: do the verdicts and SPC signals mean something on a realistic synthetic Scotland?

Writes (or reuses) a synthetic Scotland, calculates every indicator through the real loaders, and
prints :func:`clusterqi.evaluation.signal_scorecard` per indicator and level (practice,
cluster): the share of ordinary units called better / worse, the share of planted outliers found
in their direction, the share of ordinary monthly series with any special-cause point in the last
12 months, and the share of planted step changes signalled after the step. The verdicts and SPC
are also scored the old way (the interval test, ``vs_rest_of_scotland_unadjusted``) so the
change is visible in one run.

Goals (issue 12, at cluster level): ordinary cluster x indicator pairs called better or worse
<= 3%; planted outliers found in their direction >= 80%; ordinary cluster series with a signal in
the last 12 months <= 15% for every indicator; planted step changes signalled >= 80%.

Example usage::

    .venv/bin/python benchmarks/signals.py                       # the demo world (seed 42)
    .venv/bin/python benchmarks/signals.py --seed 7 --markdown   # another world, as a table
    .venv/bin/python benchmarks/signals.py --practices PRACTICES.csv --populations POPS.csv \\
        --lookups LOOKUPS/                                        # on the real practice list
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

PERIOD_END = "2026-09"
GOALS = {"unplanted_called": ("<=", 0.03), "planted_found": (">=", 0.80),
         "unplanted_series_signalled": ("<=", 0.15), "steps_signalled": (">=", 0.80)}


def _markdown(frame: pd.DataFrame) -> str:
    head = "| " + " | ".join(frame.columns) + " |"
    rule = "|" + "---|" * len(frame.columns)
    body = ["| " + " | ".join("" if pd.isna(v) else (f"{v:.1%}" if isinstance(v, float) else str(v))
                              for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join([head, rule, *body])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--practices", help="real practice contact details file (attach mode)")
    parser.add_argument("--populations", help="real practice populations file (attach mode)")
    parser.add_argument("--lookups", help="folder with hb14_hb19.csv and hscp16_hscp19.csv")
    parser.add_argument("--markdown", action="store_true", help="print Markdown tables")
    args = parser.parse_args(argv)

    from clusterqi.evaluation import signal_scorecard
    from clusterqi.indicators import calculate_indicators, load_catalogue
    from clusterqi.loaders import load_dataset
    from clusterqi.synthetic import ensure_synthetic, write_synthetic

    start = time.perf_counter()
    if args.practices:
        folder = Path(tempfile.mkdtemp(prefix="clusterqi-signals-"))
        write_synthetic(folder, seed=args.seed, practices=args.practices,
                        populations=args.populations, lookups=args.lookups)
    else:
        folder = ensure_synthetic(seed=args.seed)
    dataset = load_dataset(folder)
    table = calculate_indicators(dataset, load_catalogue(), PERIOD_END, months=12)
    truth = pd.read_csv(folder / "ground_truth.csv", dtype=str, keep_default_na=False)
    card = signal_scorecard(table, truth, dataset.practices)
    old = signal_scorecard(table.assign(vs_rest_of_scotland=table["vs_rest_of_scotland_unadjusted"]),
                           truth, dataset.practices)
    card.insert(4, "unplanted_called_unadjusted", old["unplanted_called"])
    seconds = time.perf_counter() - start

    print(f"# Signal scorecard: seed {args.seed}, "
          f"{'real practice list' if args.practices else 'synthetic geography'}, "
          f"{dataset.practices['practice_code'].nunique()} practices, period to {PERIOD_END}")
    show = card.copy()
    for level in ("cluster", "practice"):
        part = show[show["level"] == level].drop(columns="level")
        print(f"\n## {level}\n")
        print(_markdown(part) if args.markdown else part.round(3).to_string(index=False))
    print("\n## goals (issue 12, cluster level)\n")
    clusters = card[card["level"] == "cluster"]

    def pooled(frame: pd.DataFrame, share: str, count: str) -> float:
        weight = frame[count].where(frame[share].notna(), 0)
        return float((frame[share].fillna(0) * weight).sum() / max(weight.sum(), 1))

    results = {
        "unplanted_called": (pooled(clusters, "unplanted_called", "unplanted_units"),
                             "pooled over indicators"),
        "planted_found": (pooled(clusters, "planted_found", "planted_outliers"),
                          f"pooled, {int(clusters['planted_outliers'].sum())} planted"),
        "unplanted_series_signalled": (float(clusters["unplanted_series_signalled"].max()),
                                       "worst indicator"),
        "steps_signalled": (pooled(card, "steps_signalled", "planted_steps"),
                            f"pooled over both levels, {int(card['planted_steps'].sum())} planted"),
    }
    for key, (op, goal) in GOALS.items():
        got, how = results[key]
        ok = got <= goal if op == "<=" else got >= goal
        print(f"- {key} ({how}): {got:.1%} (goal {op} {goal:.0%}) {'met' if ok else 'NOT met'}")
    practices = card[card["level"] == "practice"]
    print(f"- for information, practices: ordinary called "
          f"{pooled(practices, 'unplanted_called', 'unplanted_units'):.1%}, planted found "
          f"{pooled(practices, 'planted_found', 'planted_outliers'):.1%} (a practice's own "
          "spread is wider, so only outliers far beyond it are called)")
    print(f"\n({seconds:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
