"""Benchmark: monthly PITC CSVs -> practice x month x BNF code totals, clusterqi against DuckDB.

Measures, each in its own subprocess (so peak RSS is that job's alone):

1. ``clusterqi cold``: :func:`clusterqi.loaders.load_prescribing` with an empty cache (reads every
   CSV month by month, hashes it, writes the Parquet cache);
2. ``clusterqi cached``: the same call again (reads the memory-mapped combined ``.arrow`` cache);
3. ``duckdb``: one DuckDB query doing the same aggregation over the same CSVs (non-practice codes
   99996-99999 dropped, items / quantity / cost summed per practice, month, BNF code), fetched into
   pandas.

Goals (issue 2): clusterqi cold at most 0.8 x DuckDB's wall time, peak RSS at most 1 GB, cached
reload under 1 s.

Data: by default 12 synthetic months at ``--scale real`` (about 1.44 million rows, 160 MB each) from
``clusterqi.synthetic.write_synthetic``, written to a temporary folder and deleted afterwards; or
``--data DIR``, a folder of existing ``pitcYYYYMM.csv`` files (the last ``--months`` of them). It
writes ~1.9 GB and uses both cores: run it once, not in a loop, on a shared machine. To rerun
without generating again, write the data once with ``--out DIR`` and pass ``--data DIR`` after.

Example usage::

    .venv/bin/python benchmarks/ingest.py                     # 12 synthetic months
    .venv/bin/python benchmarks/ingest.py --months 2          # a quick look
    .venv/bin/python benchmarks/ingest.py --data /data/pitc   # real PHS files
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

#: Goals from issue 2.
MAX_RATIO_TO_DUCKDB = 0.8
MAX_PEAK_RSS_MB = 1024
MAX_CACHED_SECONDS = 1.0
DEFAULT_MONTHS = 12
DEFAULT_SEED = 42
NON_PRACTICE_CODES = ("99996", "99997", "99998", "99999")


def _peak_rss_mb() -> float:
    """This process's own peak resident memory, in MB.

    ``VmHWM`` from ``/proc/self/status`` where there is one (Linux), not ``ru_maxrss``: Linux keeps
    ``ru_maxrss`` across ``exec``, so a worker started by a parent holding 2.5 GB (after generating
    the synthetic months) reported 2.5 GB whatever it used itself.
    """
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024  # kB
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: kilobytes


def _run_clusterqi(files: list[str]) -> dict:
    from clusterqi.loaders import load_prescribing

    start = time.perf_counter()
    table = load_prescribing([Path(f) for f in files])
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "rows": len(table), "items": int(table["items"].sum())}


def _run_duckdb(files: list[str]) -> dict:
    import duckdb

    codes = ", ".join(f"'{c}'" for c in NON_PRACTICE_CODES)
    start = time.perf_counter()
    con = duckdb.connect()
    frame = con.execute(
        f"""
        SELECT CAST(GPPractice AS VARCHAR) AS practice_code,
               CAST(PaidDateMonth AS BIGINT) AS month,
               BNFItemCode AS bnf_code,
               SUM(NumberOfPaidItems) AS items,
               SUM(PaidQuantity) AS quantity,
               SUM(GrossIngredientCost) AS cost
        FROM read_csv(?, union_by_name = true)
        WHERE CAST(GPPractice AS VARCHAR) NOT IN ({codes})
        GROUP BY ALL
        """,
        [files],
    ).df()
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "rows": len(frame), "items": int(frame["items"].sum())}


def _worker(kind: str, files: list[str]) -> None:
    result = _run_duckdb(files) if kind == "duckdb" else _run_clusterqi(files)
    result["peak_rss_mb"] = _peak_rss_mb()
    print(json.dumps(result))


def _measure(kind: str, files: list[str], cache: Path) -> dict:
    env = {**os.environ, "CLUSTERQI_CACHE": str(cache)}
    out = subprocess.run(
        [sys.executable, __file__, "--worker", kind, *files],
        env=env, check=True, capture_output=True, text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def _synthetic_files(out: Path, months: int, seed: int) -> list[str]:
    try:
        from clusterqi.synthetic import write_synthetic
    except ImportError as exc:
        sys.exit(f"ingest.py: clusterqi.synthetic is not available ({exc}); pass --data DIR of pitcYYYYMM.csv files")
    write_synthetic(out, seed=seed, months=months, scale="real")
    return _pitc_files(out)


def _pitc_files(folder: Path) -> list[str]:
    from clusterqi.loaders.prescribing import prescribing_files

    return [str(p) for p in prescribing_files(folder)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, help="folder of existing pitcYYYYMM.csv files (skips generation)")
    parser.add_argument("--out", type=Path, help="where to write synthetic data (default: a temporary folder)")
    parser.add_argument("--months", type=int, default=DEFAULT_MONTHS, help="months to use (default 12)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--worker", choices=["clusterqi", "duckdb"], help=argparse.SUPPRESS)
    parser.add_argument("files", nargs="*", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        _worker(args.worker, args.files)
        return 0

    with tempfile.TemporaryDirectory(prefix="clusterqi-bench-") as tmp:
        tmp = Path(tmp)
        if args.data:
            files = _pitc_files(args.data)[-args.months:]
        else:
            generated = args.out or tmp / "synthetic"
            start = time.perf_counter()
            files = _synthetic_files(generated, args.months, args.seed)[-args.months:]
            print(f"generated {len(files)} months in {time.perf_counter() - start:.1f} s")
        if not files:
            sys.exit("ingest.py: no pitcYYYYMM.csv files found")
        size_mb = sum(Path(f).stat().st_size for f in files) / 2**20
        print(f"{len(files)} files, {size_mb:,.0f} MB: {Path(files[0]).name} .. {Path(files[-1]).name}")
        cache = tmp / "cache"
        duck = _measure("duckdb", files, cache)
        cold = _measure("clusterqi", files, cache)
        cached = _measure("clusterqi", files, cache)

    rows = [("clusterqi (cold, builds cache)", cold), ("clusterqi (cached reload)", cached), ("duckdb (one query)", duck)]
    print(f"\n{'job':32} {'wall s':>8} {'peak RSS MB':>12} {'rows':>12} {'items':>14}")
    for name, r in rows:
        print(f"{name:32} {r['seconds']:8.2f} {r['peak_rss_mb']:12,.0f} {r['rows']:12,} {r['items']:14,}")
    ratio = cold["seconds"] / duck["seconds"]
    agree = cold["rows"] == duck["rows"] and cold["items"] == duck["items"]
    print(f"\nclusterqi / duckdb wall time: {ratio:.2f} (goal <= {MAX_RATIO_TO_DUCKDB})")
    print(f"clusterqi peak RSS: {cold['peak_rss_mb']:,.0f} MB (goal <= {MAX_PEAK_RSS_MB})")
    print(f"cached reload: {cached['seconds']:.2f} s (goal < {MAX_CACHED_SECONDS})")
    print(f"same totals as duckdb: {'yes' if agree else 'NO'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
