"""GP practices and their clusters, from PHS "GP Practice Contact Details and List Sizes".

One row per practice: ``practice_code, practice_name, cluster_name, cluster_id, in_cluster,
hscp_code, hscp_name, hb_code, hb_name, home_hscp_code, home_hb_code, list_size,
first_release, last_release, data_zone``.

- ``cluster_name`` is PHS's ``GPCluster`` verbatim; ``cluster_id`` its readable slug
  (``"Dundee 4"`` -> ``"dundee-4"``), null for the ``<Board> Undefined`` placeholders, which hold
  board-run practices that belong to no cluster (``in_cluster`` False).
- Clusters are kept whole even where they span two HSCPs or boards: each practice keeps its own
  ``hscp_code``/``hb_code``; the cluster's home (``home_hscp_code``, ``home_hb_code``) is the
  HSCP / board holding most of its patients (ties: the lower code).
- ``data_zone`` is PHS's ``DataZone``: the 2011 Data Zone of the practice's premises (not of its
  patients), missing where the file has no such column or the cell is blank. It links a practice
  to the Scottish Index of Multiple Deprivation (:mod:`clusterqi.loaders.simd`).
- The file has no date column: the release date comes from the file name
  (``practice_contactdetails_oct2024-open-data.csv`` -> 2024-10-01,
  ``practice_contact_details_20250115_opendata.csv`` -> 2025-01-15).

Example usage::

    practices = load_practices(folder / "practice_contactdetails_oct2024-open-data.csv",
                               lookups=load_lookups(folder))
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from pathlib import Path

import pandas as pd

from clusterqi.errors import DataError
from clusterqi.loaders.reading import parse_counts, read_text_table, require_columns, spreadsheet_row

__all__ = [
    "PRACTICE_FILE_PATTERN",
    "PRACTICE_COLUMNS",
    "PRACTICE_OUTPUT_COLUMNS",
    "REQUIRED_PRACTICE_COLUMNS",
    "UNDEFINED_SUFFIX",
    "MAX_SLUG_LENGTH",
    "is_placeholder",
    "cluster_slug",
    "release_date_from_name",
    "assign_cluster_homes",
    "load_practices",
]

#: File names of practice details releases: old ``<mon><yyyy>`` and, since 2025, ``<yyyymmdd>``.
PRACTICE_FILE_PATTERN = re.compile(
    r"^practice_?contact_?details_(?:(?P<mon>[a-z]{3})(?P<year>\d{4})|(?P<ymd>\d{8}))[-_]?open-?data\.csv$",
    re.IGNORECASE,
)
#: Raw PHS column -> canonical name (other columns, such as addresses, are not kept).
REQUIRED_PRACTICE_COLUMNS = {
    "PracticeCode": "practice_code",
    "GPPracticeName": "practice_name",
    "PracticeListSize": "list_size",
    "HB": "hb_code",
    "HSCP": "hscp_code",
    "GPCluster": "cluster_name",
}
#: Column order of the practices table (docs/architecture.md).
PRACTICE_COLUMNS = [
    "practice_code", "practice_name", "cluster_name", "cluster_id", "in_cluster", "hscp_code",
    "hscp_name", "hb_code", "hb_name", "home_hscp_code", "home_hb_code", "list_size",
    "first_release", "last_release",
]
#: Columns :func:`load_practices` returns: the contract columns (:data:`PRACTICE_COLUMNS`, which
#: every ``Dataset.practices`` has) and the premises' Data Zone (optional in a hand-made Dataset).
PRACTICE_OUTPUT_COLUMNS = [*PRACTICE_COLUMNS, "data_zone"]
#: PHS names the placeholder "clusters" of board-run practices ``<Board> Undefined``.
UNDEFINED_SUFFIX = " Undefined"
_PLACEHOLDER = re.compile(r"\S.* Undefined")
#: Longest cluster_id; a longer name's id is cut and ends in a short hash of the whole name, so
#: it stays unique and a report's file name stays well under file-system limits.
MAX_SLUG_LENGTH = 80
_SLUG_HASH_LENGTH = 8


def is_placeholder(name: str) -> bool:
    """True for PHS's ``<Board> Undefined`` placeholder names (board-run practices).

    Only that pattern: a name that merely contains "Undefined", or a name cut short in a broken
    file ("Torrance Undef"), is a cluster like any other.
    """
    return bool(_PLACEHOLDER.fullmatch(name.strip()))


def _name_hash(name: str) -> str:
    return hashlib.sha256(name.encode("utf-8")).hexdigest()[:_SLUG_HASH_LENGTH]


def cluster_slug(name: str) -> str | None:
    """Readable, stable id of a ``GPCluster`` name; None for ``<Board> Undefined`` placeholders.

    Lower case; accents are transliterated ("Sùil" -> "suil"); letters of other scripts are
    kept ("Αθήνα Κέντρο" -> "αθήνα-κέντρο"); anything else becomes "-". A name with no letter
    or digit at all gets "cluster-" and a short hash of the name; a name whose id would be
    longer than :data:`MAX_SLUG_LENGTH` is cut and ends in that hash. Every real cluster thus
    gets an id, and different names get different ids.

    Example usage::

        cluster_slug("Bothwell, Uddingston & Viewpark")  # 'bothwell-uddingston-viewpark'
        cluster_slug("Fife Undefined")                   # None
    """
    if is_placeholder(name):
        return None
    ascii_folded = "".join(
        ch for ch in unicodedata.normalize("NFKD", name.strip()) if not unicodedata.combining(ch))
    slug = re.sub(r"[\W_]+", "-", ascii_folded.lower()).strip("-")
    if not slug:
        return f"cluster-{_name_hash(name)}"
    if len(slug) > MAX_SLUG_LENGTH:
        slug = slug[:MAX_SLUG_LENGTH - _SLUG_HASH_LENGTH - 1].rstrip("-") + "-" + _name_hash(name)
    return slug


def release_date_from_name(path: Path) -> pd.Timestamp:
    """Release date of a practice details file, from its name (the file holds no date column)."""
    match = PRACTICE_FILE_PATTERN.match(Path(path).name)
    if not match:
        raise DataError(
            f"{Path(path).name}: cannot tell the release date from the file name; expected "
            "practice_contactdetails_<mon><yyyy>-open-data.csv or practice_contact_details_<yyyymmdd>_opendata.csv"
        )
    if match["ymd"]:
        return pd.to_datetime(match["ymd"], format="%Y%m%d")
    return pd.to_datetime(f"01{match['mon'].title()}{match['year']}", format="%d%b%Y")


def assign_cluster_homes(practices: pd.DataFrame) -> pd.DataFrame:
    """Add ``home_hscp_code`` / ``home_hb_code``: the HSCP / board with most of the cluster's patients.

    Placeholder practices (no cluster) get their own HSCP and board.
    """
    table = practices.copy()
    sizes = table["list_size"].fillna(0)
    for area, home in (("hscp_code", "home_hscp_code"), ("hb_code", "home_hb_code")):
        totals = (
            table.assign(_size=sizes)
            .groupby(["cluster_name", area], as_index=False)["_size"].sum()
            .sort_values(["cluster_name", "_size", area], ascending=[True, False, True])
            .drop_duplicates("cluster_name")
        )
        table[home] = table["cluster_name"].map(dict(zip(totals["cluster_name"], totals[area])))
        table[home] = table[home].where(table["in_cluster"], table[area])
    return table


def _check_unique_practices(frame: pd.DataFrame, path: Path) -> None:
    codes = frame["PracticeCode"].str.strip()
    duplicated = codes.duplicated()
    if duplicated.any():
        i = int(duplicated.to_numpy().nonzero()[0][0])
        first = int(codes.eq(codes.iloc[i]).to_numpy().nonzero()[0][0])
        raise DataError(
            f"{Path(path).name}, row {spreadsheet_row(i)}, column PracticeCode: duplicate practice "
            f"{codes.iloc[i]!r} (first at row {spreadsheet_row(first)}); expected each practice once"
        )
    blank = codes.eq("")
    if blank.any():
        i = int(blank.to_numpy().nonzero()[0][0])
        raise DataError(
            f"{Path(path).name}, row {spreadsheet_row(i)}, column PracticeCode: value is blank; "
            "expected a practice code such as '10002'"
        )


def load_practices(path: Path, lookups: dict[str, pd.DataFrame] | None = None,
                   release: pd.Timestamp | None = None) -> pd.DataFrame:
    """Load one PHS practice details release into the practices table.

    ``lookups`` (from :func:`clusterqi.loaders.load_lookups`) fills ``hscp_name`` and ``hb_name``;
    without it they are missing. ``release`` overrides the date read from the file name.

    Constraints: every practice once; ``PracticeListSize`` a whole number >= 0; ``GPCluster``
    non-blank. Extra columns and any column order are accepted. Raises DataError otherwise.

    Example usage::

        practices = load_practices("practice_contactdetails_oct2024-open-data.csv")
        practices.groupby("cluster_name")["list_size"].sum()
    """
    path = Path(path)
    release = release_date_from_name(path) if release is None else pd.Timestamp(release)
    frame = read_text_table(path)
    require_columns(frame.columns, list(REQUIRED_PRACTICE_COLUMNS), path, "GP practice details")
    _check_unique_practices(frame, path)
    clusters = frame["GPCluster"].str.strip()
    blank = clusters.eq("")
    if blank.any():
        i = int(blank.to_numpy().nonzero()[0][0])
        raise DataError(
            f"{path.name}, row {spreadsheet_row(i)} (PracticeCode {frame['PracticeCode'].iloc[i].strip()}), "
            "column GPCluster: value is blank; expected the practice's GP cluster name "
            "(or '<Board> Undefined')"
        )
    table = pd.DataFrame({
        "practice_code": frame["PracticeCode"].str.strip(),
        "practice_name": frame["GPPracticeName"].str.strip(),
        "cluster_name": clusters,
        "hscp_code": frame["HSCP"].str.strip(),
        "hb_code": frame["HB"].str.strip(),
        "list_size": parse_counts(frame, "PracticeListSize", path),
    })
    table["cluster_id"] = table["cluster_name"].map(cluster_slug).astype("str")
    table["in_cluster"] = table["cluster_id"].notna()
    slugs = table.dropna(subset=["cluster_id"]).drop_duplicates("cluster_name")
    clash = slugs["cluster_id"].duplicated(keep=False)
    if clash.any():
        names = sorted(slugs.loc[clash, "cluster_name"])
        raise DataError(
            f"{path.name}, column GPCluster: cluster names {names} give the same cluster_id "
            f"{slugs.loc[clash, 'cluster_id'].iloc[0]!r}; expected names that differ in letters or digits"
        )
    hscp_names = hb_names = {}
    if lookups is not None:
        hscp_names = dict(zip(lookups["hscp"]["hscp_code"], lookups["hscp"]["hscp_name"]))
        hb_names = dict(zip(lookups["hb"]["hb_code"], lookups["hb"]["hb_name"]))
    table["hscp_name"] = table["hscp_code"].map(hscp_names).astype("str")
    table["hb_name"] = table["hb_code"].map(hb_names).astype("str")
    table = assign_cluster_homes(table)
    table["first_release"] = release
    table["last_release"] = release
    zones = frame["DataZone"].str.strip() if "DataZone" in frame.columns else pd.Series("", index=frame.index)
    table["data_zone"] = zones.where(zones.ne(""), None).astype("str")
    return table[PRACTICE_OUTPUT_COLUMNS]
