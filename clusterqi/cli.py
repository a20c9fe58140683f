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
