"""The ``clusterqi`` command.

Each sub-command is declared by one ``_add_<name>(subparsers)`` function below, which adds its
arguments and sets ``func`` to a handler returning the exit code. Handlers import the library
lazily so that ``clusterqi --help`` stays fast. Logic lives in the library modules; the handlers
only parse, call and print.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from clusterqi import DataError, __version__

__all__ = ["main", "build_parser"]

_REGISTRY: list[Callable[[argparse._SubParsersAction], None]] = []


def command(add: Callable[[argparse._SubParsersAction], None]):
    """Register a function that adds one sub-command to the parser."""
    _REGISTRY.append(add)
    return add


# --- sub-commands ---------------------------------------------------------------------------
# Each block: one @command function adding a sub-parser, and its handler `_run_<name>(args) -> int`.


@command
def _add_indicators(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "indicators",
        help="list the indicator catalogue (id, title, unit, direction)",
        description=(
            "List the indicator catalogue: the shipped definitions in "
            "clusterqi/indicators/definitions/, or those in --folder. With --markdown, print the "
            "catalogue page (docs/indicators.md is generated this way)."
        ),
    )
    p.add_argument("--folder", metavar="DIR", help="a folder of indicator YAML files")
    p.add_argument("--markdown", action="store_true", help="print the Markdown catalogue page")
    p.set_defaults(func=_run_indicators)


def _run_indicators(args: argparse.Namespace) -> int:
    from clusterqi.indicators.catalogue import catalogue_markdown, load_catalogue

    catalogue = load_catalogue(args.folder)
    if args.markdown:
        sys.stdout.write(catalogue_markdown(catalogue))
        return 0
    directions = {True: "lower is better", False: "higher is better", None: "no judgement"}
    rows = [("id", "title", "unit", "direction", "theme")] + [
        (i.id, i.title, i.unit, directions[i.low_is_good], i.theme) for i in catalogue.values()
    ]
    widths = [max(len(r[k]) for r in rows) for k in range(4)]
    for row in rows:
        print("  ".join(v.ljust(w) for v, w in zip(row[:4], widths)) + "  " + row[4])
    return 0


@command
def _add_validate(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "validate",
        help="load a folder of PHS files and report what was found",
        description=(
            "Load every PHS file under DATA_DIR (practice details and populations releases, "
            "monthly pitcYYYYMM.csv prescribing, board and HSCP lookups) through clusterqi's "
            "loaders, then print a summary (files, releases, practices, clusters, months, rows) "
            "and the warnings (findings that are not errors). Exit code 0 when everything loads, "
            "1 when a file cannot be used (the message names the file, row, column and value)."
        ),
    )
    p.add_argument("data_dir", metavar="DATA_DIR", help="a folder laid out as PHS publishes its files")
    p.set_defaults(func=_run_validate)


def _run_validate(args: argparse.Namespace) -> int:
    from clusterqi.loaders import dataset_summary, load_dataset

    sys.stdout.write(dataset_summary(load_dataset(args.data_dir)))
    return 0


@command
def _add_synth(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "synth",
        help="write synthetic Scotland in PHS file layouts",
        description=(
            "Write synthetic Scotland (about 900 invented practices in 150 clusters) as PHS "
            "open-data files: quarterly practice details and populations, one pitcYYYYMM.csv "
            "per month, the board and HSCP lookups, and ground_truth.csv listing the planted "
            "effects. With --practices and --populations, attach synthetic prescribing to the "
            "real PHS practice files instead."
        ),
    )
    p.add_argument("--out", required=True, metavar="DIR", help="folder to write (created)")
    p.add_argument("--seed", type=int, default=42, help="random seed (default 42)")
    p.add_argument("--months", type=int, default=24, help="months of prescribing (default 24)")
    p.add_argument("--period-end", default="2026-09", metavar="YYYY-MM",
                   help="last month (default 2026-09)")
    p.add_argument("--scale", choices=["default", "real"], default="default",
                   help="default: under ~50,000 rows a month; real: ~1.4 million (benchmarks)")
    p.add_argument("--practices", metavar="PATH", help="real practice_contactdetails_*.csv")
    p.add_argument("--populations", metavar="PATH", help="real practice_listsizes_*.csv")
    p.add_argument("--lookups", metavar="DIR", help="folder with hb14_hb19.csv, hscp16_hscp19.csv")
    p.set_defaults(func=_run_synth)


def _run_synth(args: argparse.Namespace) -> int:
    from clusterqi.synthetic import write_synthetic

    out = write_synthetic(
        args.out, seed=args.seed, months=args.months, period_end=args.period_end,
        scale=args.scale, practices=args.practices, populations=args.populations,
        lookups=args.lookups, progress=args.scale == "real" or sys.stderr.isatty(),
    )
    files = sorted(out.iterdir())
    total = sum(f.stat().st_size for f in files)
    print(f"wrote {len(files)} files ({total / 1e6:.1f} MB) to {out}:")
    for f in files:
        print(f"  {f.name}  ({f.stat().st_size / 1e3:,.0f} kB)")
    return 0


@command
def _add_fetch(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "fetch",
        help="download the latest PHS files from the PHS open data portal",
        description=(
            "Download the latest GP practice details and populations releases, the last N months "
            "of prescriber-location prescribing (pitcYYYYMM.csv), the board and HSCP lookups "
            "and the Scottish Index of Multiple Deprivation by Data Zone (simd2020v2_22062020.csv, "
            "for each cluster's context and peer clusters) from the PHS open data portal into DATA_DIR, skipping files already there and "
            "unchanged, and record every file in DATA_DIR/fetch.json. Then run "
            "`clusterqi validate DATA_DIR`, or point a batch run file's `data:` at DATA_DIR. "
            "Exit code 1 when the portal cannot give a file (the message names the dataset and "
            "quotes the portal)."
        ),
    )
    p.add_argument("--out", required=True, metavar="DATA_DIR", help="folder to download into (created if missing)")
    p.add_argument("--months", type=int, default=12, metavar="N",
                   help="months of prescribing to fetch, newest first (default: 12)")
    p.add_argument("--portal", metavar="URL",
                   help="portal address (default: $CLUSTERQI_PORTAL or https://www.opendata.nhs.scot)")
    p.set_defaults(func=_run_fetch)


def _run_fetch(args: argparse.Namespace) -> int:
    from clusterqi.fetch import FetchError, fetch_latest

    try:
        result = fetch_latest(args.out, months=args.months, portal=args.portal, progress=sys.stderr.isatty())
    except FetchError as exc:
        print(f"clusterqi: error: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:  # the data folder cannot be written (permissions, a full disk)
        print(f"clusterqi: error: cannot write to {args.out}: {exc}", file=sys.stderr)
        return 1
    for verb, records in (("fetched", result.fetched), ("unchanged, skipped", result.skipped)):
        print(f"{verb}: {len(records)} file(s)")
        for r in records:
            print(f"  {r.file}  ({r.dataset}{', ' + r.period if r.period else ''}; {r.size / 1e6:,.2f} MB)")
    if result.left_in_place:
        print(f"left in place from an earlier fetch (not in this selection): {', '.join(result.left_in_place)}")
    for warning in result.warnings:
        print(f"warning: {warning}")
    print(f"fetch.json: {result.manifest}")
    return 0


@command
def _add_batch(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "batch",
        help="render one report per cluster from a run file, with an index page and a manifest",
        description=(
            "Render the report notebook for every cluster a run file selects (parameters/*.yaml): "
            "the file is validated first and every problem listed; the indicator table is "
            "calculated once; reports run in parallel, each with a timeout, and a failure never "
            "stops the others. Writes <output>/<cluster_id>.html, index.html and manifest.json, "
            "prints a summary, and exits 1 if any report failed."
        ),
    )
    p.add_argument("run_file", metavar="PARAMS.yaml", help="the run file, e.g. parameters/demo.yaml")
    p.add_argument("--resume", action="store_true",
                   help="re-run only reports that are missing, failed, or whose inputs changed")
    p.add_argument("--only", nargs="+", metavar="ID", help="run only these cluster ids")
    p.add_argument("--dry-run", action="store_true", help="validate and list what would run")
    p.add_argument("--workers", type=int, metavar="N", help="parallel workers (default: run file, else cores)")
    p.add_argument("--executor", choices=["local", "dask"], default="local",
                   help="local process pool (default) or a Dask distributed cluster")
    p.add_argument("--scheduler", metavar="ADDRESS", help="Dask scheduler address, e.g. tcp://host:8786")
    p.set_defaults(func=_run_batch)


def _run_batch(args: argparse.Namespace) -> int:
    from clusterqi.batch import run_batch

    if args.executor == "dask" and not args.scheduler:
        print("clusterqi: error: --executor dask needs --scheduler ADDRESS", file=sys.stderr)
        return 2
    summary = run_batch(
        args.run_file,
        resume=args.resume,
        only=args.only,
        dry_run=args.dry_run,
        workers=args.workers,
        executor=args.executor,
        scheduler=args.scheduler,
    )
    if not summary.dry_run:
        print(summary.table())
    return summary.exit_code


@command
def _add_demo(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "demo",
        help="synthetic Scotland -> every cluster's report -> index.html (what `make demo` runs)",
        description=(
            "Generate synthetic Scotland (once; cached), render every cluster's report with "
            "parameters/demo.yaml and print where index.html is."
        ),
    )
    p.add_argument("--out", metavar="DIR", default="reports/demo", help="output folder (default reports/demo)")
    p.add_argument("--workers", type=int, metavar="N", help="parallel workers (default: cores)")
    p.set_defaults(func=_run_demo)


def _run_demo(args: argparse.Namespace) -> int:
    from clusterqi.batch import demo_run, run_batch

    summary = run_batch(demo_run(args.out), workers=args.workers)
    print(summary.table())
    print(f"Open {summary.index.resolve()} in a browser.")
    return summary.exit_code


# --- end of sub-commands ---------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="clusterqi",
        description=(
            "Analyst workbench for Scotland's GP clusters: load PHS open data, calculate "
            "indicators with validated statistics, apply disclosure control and render one "
            "self-contained interactive HTML report per cluster."
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"clusterqi {__version__}")
    sub = parser.add_subparsers(title="commands", metavar="COMMAND")
    for add in _REGISTRY:
        add(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "func"):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except DataError as exc:
        print(f"clusterqi: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("clusterqi: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
