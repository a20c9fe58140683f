"""PHS geography lookups: health board and HSCP names and codes.

PHS publishes ``hb14_hb19.csv`` (health boards) and ``hscp16_hscp19.csv`` (HSCPs with their
boards). Both keep archived codes (boards and HSCPs replaced in 2018 and 2019) with a
``*DateArchived`` date; only current rows are kept.

Example usage::

    lookups = load_lookups("../shared/data/phs/lookups")
    lookups["hb"]      # hb_code, hb_name
    lookups["hscp"]    # hscp_code, hscp_name, hb_code
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from clusterqi.errors import DataError
from clusterqi.loaders.reading import read_text_table, require_columns

__all__ = ["HB_FILE", "HSCP_FILE", "HB_COLUMNS", "HSCP_COLUMNS", "load_lookups", "read_lookup"]

HB_FILE = "hb14_hb19.csv"
HSCP_FILE = "hscp16_hscp19.csv"
#: Raw PHS column -> canonical name.
HB_COLUMNS = {"HB": "hb_code", "HBName": "hb_name"}
HSCP_COLUMNS = {"HSCP": "hscp_code", "HSCPName": "hscp_name", "HB": "hb_code"}


def read_lookup(path: Path, columns: dict[str, str]) -> pd.DataFrame:
    """Read one lookup file, drop rows with any ``*DateArchived`` set, keep ``columns`` renamed.

    Raises DataError for a missing column or a code listed twice among current rows.
    """
    path = Path(path)
    frame = read_text_table(path)
    require_columns(frame.columns, list(columns), path, "a PHS lookup")
    archived = [name for name in frame.columns if name.endswith("DateArchived")]
    current = pd.Series(True, index=frame.index)
    for name in archived:
        current &= frame[name].str.strip().eq("")
    table = frame.loc[current, list(columns)].rename(columns=columns)
    table = table.apply(lambda col: col.str.strip()).reset_index(drop=True)
    key_raw, key = next(iter(columns.items()))
    duplicated = table[key].duplicated()
    if duplicated.any():
        code = table.loc[duplicated, key].iloc[0]
        raise DataError(
            f"{path.name}, column {key_raw}: code {code!r} appears more than once among current "
            "(not archived) rows; expected one current row per code"
        )
    return table


def load_lookups(folder: Path) -> dict[str, pd.DataFrame]:
    """Health board and HSCP lookups from a folder holding PHS's lookup files.

    The files are searched for anywhere under ``folder`` (recursively).

    Returns ``{"hb": DataFrame[hb_code, hb_name], "hscp": DataFrame[hscp_code, hscp_name,
    hb_code]}``, current codes only.

    Example usage::

        lookups = load_lookups(phs_dir / "lookups")
        dict(lookups["hb"].values)["S08000030"]   # 'NHS Tayside'
    """
    folder = Path(folder)
    found = {}
    for name in (HB_FILE, HSCP_FILE):
        matches = sorted(folder.rglob(name))
        if not matches:
            raise DataError(f"{folder}: no {name} found (searched sub-folders too); expected PHS's {name} lookup")
        found[name] = matches[0]
    return {
        "hb": read_lookup(found[HB_FILE], HB_COLUMNS),
        "hscp": read_lookup(found[HSCP_FILE], HSCP_COLUMNS),
    }
