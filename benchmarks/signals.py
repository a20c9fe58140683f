"""Benchmark: do the verdicts and SPC signals mean something on a realistic synthetic Scotland?

Writes (or reuses) a synthetic Scotland, calculates every indicator through the real loaders, and
prints :func:`clusterqi.evaluation.signal_scorecard` per indicator and level (practice,
cluster): the share of ordinary units called better / worse, the share of planted outliers found
in their direction, the share of ordinary monthly series with any special-cause point in the last
12 months, and the share of planted step changes signalled after the step. The verdicts and SPC
are also scored the old way (the interval test, ``vs_rest_of_scotland_unadjusted``) so the
change is visible in one run.

Goals (issue 12): ordinary clusters called better or worse <= 3%; planted outliers found >= 80%;
ordinary cluster series with a signal in the last 12 months <= 15% for every indicator; planted
step changes signalled >= 80%.

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
    print("\n## goals (cluster level; steps and outliers pooled over both levels)\n")
    clusters = card[card["level"] == "cluster"]
    pooled = {
        "unplanted_called": clusters["unplanted_called"].max(),
        "planted_found": (card["planted_found"] * card["planted_outliers"]).sum()
        / max(card["planted_outliers"].sum(), 1),
        "unplanted_series_signalled": clusters["unplanted_series_signalled"].max(),
        "steps_signalled": (card["steps_signalled"].fillna(0) * card["planted_steps"]).sum()
        / max(card["planted_steps"].sum(), 1),
    }
    worst = {"unplanted_called": "worst indicator", "planted_found": "pooled",
             "unplanted_series_signalled": "worst indicator", "steps_signalled": "pooled"}
    for key, (op, goal) in GOALS.items():
        got = pooled[key]
        ok = got <= goal if op == "<=" else got >= goal
        print(f"- {key} ({worst[key]}): {got:.1%} (goal {op} {goal:.0%}) {'met' if ok else 'NOT met'}")
    print(f"\n({seconds:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
