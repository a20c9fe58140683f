"""Benchmark: every shipped indicator x every practice x 24 months on synthetic Scotland.

Loads synthetic Scotland (``clusterqi.synthetic.ensure_synthetic``, ~900 practices, 24 months,
cached on disk) through the real loaders, then times
:func:`clusterqi.indicators.calculate_indicators` for the whole catalogue with ``period_end`` the
last month (month rows for all 24 months, 12-month totals, comparisons and SPC). Reports wall
time of loading and of the calculation (best of ``--repeat`` runs), the table's size, and the
process's peak RSS (``resource.getrusage``; it includes the loaded dataset).

Goal (issue 4 brief): the whole calculation in a few seconds, since tests and every report
depend on it.

Example usage::

    .venv/bin/python benchmarks/indicators.py
    .venv/bin/python benchmarks/indicators.py --repeat 3 --json
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time

#: Synthetic Scotland used by the tests (tests/conftest.py).
SEED = 42
PERIOD_END = "2026-09"
#: The goal for the calculation's wall time, seconds.
GOAL_SECONDS = 5.0


def _peak_rss_mb() -> float:
    # ru_maxrss is in kilobytes on Linux
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=1, help="calculation runs (best is kept)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)

    from clusterqi.indicators import calculate_indicators, load_catalogue
    from clusterqi.loaders import load_dataset
    from clusterqi.synthetic import ensure_synthetic

    start = time.perf_counter()
    folder = ensure_synthetic(seed=SEED)
    dataset = load_dataset(folder)
    load_seconds = time.perf_counter() - start
    catalogue = load_catalogue()
    rss_after_load = _peak_rss_mb()

    times = []
    for _ in range(max(args.repeat, 1)):
        start = time.perf_counter()
        table = calculate_indicators(dataset, catalogue, PERIOD_END, months=12)
        times.append(time.perf_counter() - start)
    months = table.loc[table.period_type == "month", "period"].nunique()
    figures = {
        "indicators": len(catalogue),
        "practices": int(table.loc[table.level == "practice", "area_id"].nunique()),
        "months": int(months),
        "prescribing_rows": int(len(dataset.prescribing)),
        "table_rows": int(len(table)),
        "load_seconds": round(load_seconds, 2),
        "calculate_seconds": round(min(times), 2),
        "peak_rss_mb_after_load": round(rss_after_load),
        "peak_rss_mb": round(_peak_rss_mb()),
    }
    if args.json:
        print(json.dumps(figures, indent=2))
    else:
        print(f"calculate_indicators: {figures['indicators']} indicators x "
              f"{figures['practices']} practices x {figures['months']} months "
              f"({figures['prescribing_rows']:,} prescribing rows) -> {figures['table_rows']:,} rows")
        print(f"  load (synthetic, cached): {figures['load_seconds']} s")
        print(f"  calculation wall time:    {figures['calculate_seconds']} s "
              f"(goal {GOAL_SECONDS:g} s)")
        print(f"  peak RSS:                 {figures['peak_rss_mb']} MB "
              f"({figures['peak_rss_mb_after_load']} MB after loading)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
