"""How much disclosure control hides, before and after issue 17, and what the audit costs.

Prints, for the synthetic run (``cached_run_tables("synthetic", "2026-09", 12)``) and, when
``../shared`` exists, the real practice list with synthetic prescribing attached, the share of
cells (rows of the run's indicator table) suppressed as primary and secondary per level, for:

- ``before``: the rule before issue 17 (numerators only, one indicator at a time; secondary by
  one subtraction in practices -> cluster, clusters -> home HSCP and board, boards -> Scotland,
  months -> total), imported from the git history (commit BEFORE);
- ``after``: :func:`clusterqi.disclosure.suppress_cells` (count cells: numerators, proportions'
  denominators and complements, shared counts; one-subtraction groups);
- ``after+audit``: the same with the linear-programming audit (``audit=True``), and the share of
  the audit's primary cells left unprotected by each rule (:func:`audit_suppression`).

The marks are the same for the cluster and practice audiences (suppression is worked out once
per run; the audiences differ in which rows they see); the analyst audience sees nothing hidden.
Timings are wall-clock seconds on this machine.

Run: .venv/bin/python benchmarks/disclosure.py [--table PATH_TO_indicators.parquet ...] [--no-audit]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
import types
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from clusterqi.disclosure import suppress_cells  # noqa: E402
from clusterqi.disclosure.suppression import audit_suppression  # noqa: E402

#: The commit whose suppression.py is "before" (the last one before issue 17's count cells).
BEFORE = "e0497d0"
SHARED = ROOT.parent / "shared"


def old_suppress_cells():
    """``suppress_cells`` as it was at :data:`BEFORE`, loaded from the git history."""
    source = subprocess.run(["git", "show", f"{BEFORE}:clusterqi/disclosure/suppression.py"],
                            cwd=ROOT, check=True, capture_output=True, text=True).stdout
    module = types.ModuleType("suppression_before")
    exec(compile(source, "suppression_before.py", "exec"), module.__dict__)
    return module.suppress_cells


def shares(table: pd.DataFrame, marks: pd.DataFrame) -> pd.DataFrame:
    kind = marks["suppression"].fillna("shown")
    out = pd.crosstab(table["level"], kind, normalize="index") * 100
    for column in ("primary", "secondary"):
        if column not in out.columns:
            out[column] = 0.0
    out["all"] = out["primary"] + out["secondary"]
    total = kind.value_counts(normalize=True) * 100
    out.loc["(all rows)"] = [total.get(c, 0.0) for c in out.columns[:-1]] + [
        total.get("primary", 0.0) + total.get("secondary", 0.0)]
    return out[["primary", "secondary", "all"]].round(2)


def timed(label: str, function):
    start = time.perf_counter()
    result = function()
    print(f"  {label}: {time.perf_counter() - start:.1f} s", flush=True)
    return result


def bench(name: str, path: Path, with_audit: bool) -> None:
    table = pd.read_parquet(path)
    print(f"\n== {name}: {path} ({len(table):,} rows) ==", flush=True)
    before = timed("before (old rule)", lambda: old_suppress_cells()(table, 5))
    after = timed("after (count cells, one subtraction)", lambda: suppress_cells(table, 5))
    results = {"before": before, "after": after}
    if with_audit:
        results["after+audit"] = timed("after + LP audit (suppression and audit together)",
                                       lambda: suppress_cells(table, 5, audit=True))
    for label, marks in results.items():
        print(f"\n-- {label}: % of rows suppressed, by level (cluster and practice audiences)")
        print(shares(table, marks).to_string())
    if with_audit:
        print("\n-- audit of each rule (cluster audience of the whole run): primary cells "
              "the LP finds recoverable (range not reaching 0 and 5)")
        for label, marks in results.items():
            found = timed(f"audit of {label}", lambda m=marks: audit_suppression(table, m, 5))
            bad = found[~found["protected"]]
            print(f"    {label}: {len(bad)} of {len(found)} primary cells unprotected"
                  + (f"; by level: {bad['level'].fillna('complement/piece').value_counts().to_dict()}"
                     if len(bad) else ""))


def real_geography_table() -> Path | None:
    if not (SHARED / "data" / "phs").is_dir():
        return None
    from clusterqi.run_tables import prepare_run_tables
    from clusterqi.synthetic import write_synthetic

    phs = SHARED / "data" / "phs"
    out = ROOT / ".cache" / "benchmarks" / "real-attached"
    table = out / "run" / "indicators.parquet"
    if not table.is_file():
        data = write_synthetic(
            out / "data", months=12, period_end="2026-09",
            practices=phs / "practices" / "practice_contactdetails_oct2024-open-data.csv",
            populations=phs / "practices" / "practice_listsizes_oct2024-open-data.csv",
            lookups=phs / "lookups")
        prepare_run_tables(data, "2026-09", 12, out / "run")
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--table", action="append", type=Path,
                        help="run tables (indicators.parquet) to measure instead of the defaults")
    parser.add_argument("--no-audit", action="store_true", help="skip the LP audit")
    args = parser.parse_args()
    if args.table:
        tables = [(p.parent.name, p) for p in args.table]
    else:
        from clusterqi.run_tables import cached_run_tables

        tables = [("synthetic", cached_run_tables("synthetic", "2026-09", 12))]
        real = real_geography_table()
        if real is not None:
            tables.append(("real geography, synthetic prescribing", real))
    for name, path in tables:
        bench(name, path, not args.no_audit)


if __name__ == "__main__":
    main()
