"""The Scottish Index of Multiple Deprivation 2020v2 (SIMD) by 2011 Data Zone.

SIMD ranks Scotland's 6,976 Data Zones (small areas of 500-1,000 residents) from 1, the most
deprived, to 6,976, the least deprived, and cuts the ranking into national deciles and quintiles
(1 = the most deprived tenth / fifth). clusterqi reads it to give each practice the deprivation
of the Data Zone its **premises** are in (PHS's practice details file names that zone in its
``DataZone`` column): a proxy for the deprivation of the practice population, never a measure
of where its patients live.

Two files are accepted, both with PHS's column names:

- ``simd2020v2_22062020.csv``: PHS's open-data file (dataset "Scottish Index of Multiple
  Deprivation"); it carries many more columns (intermediate zone, board, HSCP, council area,
  population-weighted deciles and quintiles...), which are ignored;
- ``simd2020v2_dz11.csv``: a subset with only ``DataZone``, ``SIMD2020V2Rank``,
  ``SIMD2020V2CountryDecile`` and ``SIMD2020V2CountryQuintile``.

:func:`load_simd` returns ``data_zone`` (``"S01007129"``), ``simd_rank`` (1..6,976),
``simd_decile`` (1..10) and ``simd_quintile`` (1..5), one row per Data Zone in file order, the
decile and quintile as the file gives them. PHS's data dictionary calls its national deciles and
quintiles population-weighted; the subset file's are equal shares of the 6,976 zones
(:func:`decile_of_rank`, :func:`quintile_of_rank`). Either way they rise with the rank, so a file
in which a less deprived zone (higher rank) sits in a more deprived decile or quintile than a
more deprived zone is refused as inconsistent.

Example usage::

    from clusterqi.loaders import load_simd
    simd = load_simd("../shared/data/simd/simd2020v2_dz11.csv")
    simd.set_index("data_zone").loc["S01007129", "simd_quintile"]
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from clusterqi.errors import DataError
from clusterqi.loaders.reading import parse_counts, read_text_table, require_columns, spreadsheet_row

__all__ = [
    "SIMD_FILE",
    "SIMD_FILES",
    "SIMD_ZONES",
    "REQUIRED_SIMD_COLUMNS",
    "SIMD_COLUMNS",
    "DATA_ZONE_PATTERN",
    "decile_of_rank",
    "quintile_of_rank",
    "is_simd_file",
    "load_simd",
]

#: PHS's open-data SIMD 2020v2 file (dataset "Scottish Index of Multiple Deprivation").
SIMD_FILE = "simd2020v2_22062020.csv"
#: File names read as SIMD: PHS's file, and the four-column subset of it.
SIMD_FILES = (SIMD_FILE, "simd2020v2_dz11.csv")
#: 2011 Data Zones in Scotland: the ranks run 1..SIMD_ZONES.
SIMD_ZONES = 6976
#: PHS column -> canonical name.
REQUIRED_SIMD_COLUMNS = {
    "DataZone": "data_zone",
    "SIMD2020V2Rank": "simd_rank",
    "SIMD2020V2CountryDecile": "simd_decile",
    "SIMD2020V2CountryQuintile": "simd_quintile",
}
#: Columns of the table :func:`load_simd` returns.
SIMD_COLUMNS = list(REQUIRED_SIMD_COLUMNS.values())
#: A 2011 Data Zone code: ``S01`` and six digits.
DATA_ZONE_PATTERN = re.compile(r"S01\d{6}")


def decile_of_rank(rank):
    """Decile (1 = most deprived 10% of zones) of a rank 1..6,976 in equal shares of the zones,
    as the subset file and synthetic Scotland give it (scalar or Series)."""
    return (rank - 1) * 10 // SIMD_ZONES + 1


def quintile_of_rank(rank):
    """Quintile (1 = most deprived 20% of zones) of a rank 1..6,976 in equal shares of the
    zones (scalar or Series)."""
    return (rank - 1) * 5 // SIMD_ZONES + 1


def is_simd_file(path: Path) -> bool:
    """True when ``path`` is named as one of :data:`SIMD_FILES` (case-insensitive)."""
    return Path(path).name.lower() in SIMD_FILES


def _fail(path: Path, frame: pd.DataFrame, index: int, column: str, message: str) -> DataError:
    zone = frame["DataZone"].iloc[index].strip()
    key = f" (DataZone {zone})" if zone and column != "DataZone" else ""
    return DataError(f"{Path(path).name}, row {spreadsheet_row(index)}{key}, column {column}: {message}")


def _first(mask: pd.Series) -> int | None:
    hits = mask.to_numpy().nonzero()[0]
    return int(hits[0]) if len(hits) else None


def load_simd(path: Path) -> pd.DataFrame:
    """Read a SIMD 2020v2 file into ``data_zone, simd_rank, simd_decile, simd_quintile``.

    Accepts PHS's ``simd2020v2_22062020.csv`` (extra columns ignored) and the subset
    ``simd2020v2_dz11.csv``, in UTF-8 (with or without BOM) or Windows-1252, with CRLF or LF line
    ends and columns in any order. The rank, decile and quintile are ``int64``.

    Raises DataError naming the file, row (the header is row 1), column and value for: a missing
    column; a ``DataZone`` that is not a 2011 Data Zone code (``S01`` and six digits); a blank or
    non-integer rank, decile or quintile; a rank outside 1..6,976; a decile outside 1..10 or a
    quintile outside 1..5; a decile or quintile inconsistent with the rank (a zone with a higher,
    less deprived rank in a lower, more deprived decile or quintile than another zone); a Data
    Zone listed twice.

    Example usage::

        simd = load_simd("simd2020v2_22062020.csv")
        simd["simd_quintile"].value_counts().sort_index()   # about 1,395 zones each
    """
    path = Path(path)
    frame = read_text_table(path)
    require_columns(frame.columns, list(REQUIRED_SIMD_COLUMNS), path, "SIMD 2020v2 by Data Zone")
    zones = frame["DataZone"].str.strip()
    bad = _first(~zones.str.fullmatch(DATA_ZONE_PATTERN.pattern))
    if bad is not None:
        raise _fail(path, frame, bad, "DataZone",
                    f"value {zones.iloc[bad]!r} is not a 2011 Data Zone code; expected 'S01' and six "
                    "digits, e.g. 'S01007129'")
    dup = _first(zones.duplicated())
    if dup is not None:
        first = int(zones.eq(zones.iloc[dup]).to_numpy().nonzero()[0][0])
        raise _fail(path, frame, dup, "DataZone",
                    f"duplicate Data Zone {zones.iloc[dup]!r} (first at row {spreadsheet_row(first)}); "
                    "expected each Data Zone once")
    values = {}
    for column in ("SIMD2020V2Rank", "SIMD2020V2CountryDecile", "SIMD2020V2CountryQuintile"):
        values[column] = parse_counts(frame, column, path, key_column="DataZone").astype("int64")
    rank = values["SIMD2020V2Rank"]
    for column, high in (("SIMD2020V2Rank", SIMD_ZONES), ("SIMD2020V2CountryDecile", 10),
                         ("SIMD2020V2CountryQuintile", 5)):
        outside = _first(~values[column].between(1, high))
        if outside is not None:
            raise _fail(path, frame, outside, column,
                        f"value {frame[column].iloc[outside].strip()!r} is outside 1..{high:,}; "
                        f"expected a whole number from 1 to {high:,}")
    order = np.argsort(rank.to_numpy(), kind="stable")
    for column, what in (("SIMD2020V2CountryDecile", "decile"), ("SIMD2020V2CountryQuintile", "quintile")):
        ordered = values[column].to_numpy()[order]
        highest = np.maximum.accumulate(ordered)
        wrong = np.flatnonzero(ordered < highest)
        if len(wrong):
            i = int(order[wrong[0]])
            j = int(order[int(np.argmax(ordered[: wrong[0]] == highest[wrong[0]]))])
            raise _fail(path, frame, i, column,
                        f"value {frame[column].iloc[i].strip()!r} is inconsistent with rank "
                        f"{int(rank.iloc[i])}: DataZone {zones.iloc[j]} at row {spreadsheet_row(j)} is "
                        f"more deprived (rank {int(rank.iloc[j])}) but in {what} {int(highest[wrong[0]])}; "
                        f"expected the {what} to rise with the rank (1 = most deprived)")
    return pd.DataFrame({
        "data_zone": zones.astype("str"),
        "simd_rank": rank,
        "simd_decile": values["SIMD2020V2CountryDecile"],
        "simd_quintile": values["SIMD2020V2CountryQuintile"],
    }).reset_index(drop=True)
