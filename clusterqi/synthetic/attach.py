"""Attach mode: synthetic prescribing for Scotland's real practices.

Reads just enough of the real PHS practice and population files (codes, clusters, HSCP and
board, list size, share aged 65+) to generate prescribing for the real practices, and copies
the real files into the output folder unchanged, so the loaders read real practices and
synthetic prescribing together.

Example usage::

    geography, release = real_geography(practices_csv, populations_csv, lookups_dir)
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pandas as pd

from clusterqi.errors import DataError
from clusterqi.synthetic.geography import OLD_SHARE_MEAN, Geography

__all__ = ["real_geography", "copy_real_files"]

_RELEASE = re.compile(r"_(?P<mon>[a-z]{3})(?P<year>\d{4})-open-data\.csv$", re.IGNORECASE)
_BAND = re.compile(r"^Ages(?P<min>\d+)(?:to\d+|plus)$", re.IGNORECASE)
#: Age from which patients count in the anticholinergic (65+) denominator.
OLD_AGE = 65
LOOKUP_FILES = ("hb14_hb19.csv", "hscp16_hscp19.csv")


def _read(path: Path) -> pd.DataFrame:
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("cp1252")
    from io import StringIO

    return pd.read_csv(StringIO(text), dtype=str, keep_default_na=False)


def real_geography(practices: Path, populations: Path,
                   lookups: str | Path | None = None) -> tuple[Geography, pd.Timestamp]:
    """The real practices as a :class:`Geography`, and the release date of the files."""
    for path in (practices, populations):
        if not path.is_file():
            raise DataError(f"{path.name}: file not found at {path}")
    details = _read(practices)
    needed = ["PracticeCode", "GPPracticeName", "PracticeListSize", "HB", "HSCP", "GPCluster"]
    missing = [c for c in needed if c not in details.columns]
    if missing:
        raise DataError(f"{practices.name}: missing column(s) {missing}; expected the PHS "
                        "practice contact details layout")
    pops = _read(populations)
    bands = [c for c in pops.columns if _BAND.match(c)]
    old_cols = [c for c in bands if int(_BAND.match(c)["min"]) >= OLD_AGE]
    every = pops[pops["Sex"] == "All"].copy()
    for c in [*old_cols, "AllAges"]:
        every[c] = pd.to_numeric(every[c], errors="coerce")
    share = (every[old_cols].sum(axis=1, min_count=1) / every["AllAges"]).rename("old_share")
    share.index = every["PracticeCode"]
    frame = pd.DataFrame({
        "practice_code": details["PracticeCode"].str.strip(),
        "practice_name": details["GPPracticeName"],
        "cluster_name": details["GPCluster"],
        "hscp_code": details["HSCP"],
        "hb_code": details["HB"],
        "list_size": pd.to_numeric(details["PracticeListSize"], errors="coerce").fillna(0).astype(int),
        "practice_type": details.get("PracticeType", "17J"),
    })
    frame["old_share"] = frame["practice_code"].map(share).fillna(OLD_SHARE_MEAN).clip(0.02, 0.6)
    frame = frame.sort_values("practice_code", ignore_index=True)
    boards = pd.DataFrame({"hb_code": sorted(frame["hb_code"].unique())})
    boards["hb_name"] = boards["hb_code"]
    boards["short_name"] = boards["hb_code"]
    hscps = frame[["hscp_code", "hb_code"]].drop_duplicates("hscp_code").assign(
        hscp_name=lambda f: f["hscp_code"])
    match = _RELEASE.search(practices.name)
    if match:
        release = pd.to_datetime(f"01{match['mon'].title()}{match['year']}", format="%d%b%Y")
    else:
        release = pd.to_datetime(pops["Date"].iloc[0], format="%Y%m%d")
    geo = Geography(boards=boards, hscps=hscps[["hscp_code", "hscp_name", "hb_code"]],
                    practices=frame, spare_codes=())
    return geo, release


def copy_real_files(out: Path, practices: Path, populations: Path,
                    lookups: str | Path | None) -> None:
    """Copy the real PHS files into ``out`` unchanged (the lookups too, when given)."""
    shutil.copyfile(practices, out / practices.name)
    shutil.copyfile(populations, out / populations.name)
    if lookups is not None:
        folder = Path(lookups)
        for name in LOOKUP_FILES:
            found = sorted(folder.rglob(name))
            if not found:
                raise DataError(f"{name}: not found under the lookups folder {folder}")
            shutil.copyfile(found[0], out / name)
