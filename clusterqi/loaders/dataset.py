"""A whole PHS folder as one :class:`Dataset`: practices, populations, list sizes, prescribing.

:func:`load_dataset` finds the files anywhere under a folder laid out as PHS publishes them, by
name (``practice_contactdetails_oct2024-open-data.csv``, ``practice_contact_details_20250115_opendata.csv``,
``practice_listsizes_oct2024-open-data.csv``, ``pitcYYYYMM.csv``, ``hb14_hb19.csv``,
``hscp16_hscp19.csv``, and the SIMD file ``simd2020v2_22062020.csv`` or ``simd2020v2_dz11.csv``)
and checks each header. Only files named as PHS names them are read: any
other CSV (a copy such as ``pitc202609 - Copy.csv``, a renamed file) is listed in the warnings as
``unrecognised_file``, saying when its header is a PHS one. A ``fetch.json`` (written by the
fetcher) is not needed.

Several quarterly releases may sit side by side: ``practices`` has one row per practice seen in any
release (attributes from the latest release holding it), ``list_sizes`` keeps every release, and
:meth:`Dataset.list_size_in_effect` gives the list size each month should use.

Deprivation context: with a SIMD 2020v2 file in the folder (:mod:`clusterqi.loaders.simd`),
``Dataset.simd`` holds it and every practice gets ``simd_rank``, ``simd_decile`` and
``simd_quintile`` of the Data Zone of its premises (``data_zone``; nullable ``Int64``, missing
when the zone is not in the file: never a made-up decile). Practices whose zone is not found are
listed in one ``practice_not_in_simd`` warning. Without a SIMD file everything else loads as
before, ``Dataset.simd`` is None and one ``no_simd_file`` warning says that cluster context and
peer comparisons ("clusters like ours") need it.

Why one module of this size: a Dataset is assembled from every file of a folder (finding and
classifying them, combining releases, checking populations and prescribing against each other,
attaching SIMD), and these steps read each other's frames; each file format is read in its own
module.

Example usage::

    data = load_dataset("../shared/data/phs")
    data.practices.groupby("cluster_name")["list_size"].sum()
    data.list_size_in_effect(["2024-10", "2024-11"])
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
import re
from pathlib import Path

import pandas as pd

from clusterqi.errors import DataError
from clusterqi.loaders.lookups import HB_COLUMNS, HB_FILE, HSCP_COLUMNS, HSCP_FILE, read_lookup
from clusterqi.loaders.populations import (
    POPULATION_FILE_PATTERN,
    REQUIRED_POPULATION_COLUMNS,
    read_populations,
)
from clusterqi.loaders.practices import (
    PRACTICE_COLUMNS,
    PRACTICE_FILE_PATTERN,
    PRACTICE_OUTPUT_COLUMNS,
    REQUIRED_PRACTICE_COLUMNS,
    assign_cluster_homes,
    load_practices,
    release_date_from_name,
)
from clusterqi.loaders.prescribing import (
    MEASURE_COLUMNS,
    MONTH_COLUMNS,
    PRESCRIBING_FILE_PATTERN,
    load_prescribing,
    month_from_name,
)
from clusterqi.loaders.simd import (
    REQUIRED_SIMD_COLUMNS,
    SIMD_FILE,
    is_simd_file,
    load_simd,
)
from clusterqi.loaders.reading import (
    WARNING_COLUMNS,
    file_sha256,
    read_header,
    warning_row,
    warnings_frame,
)

__all__ = ["Dataset", "SOURCE_COLUMNS", "SIMD_PRACTICE_COLUMNS", "discover_files", "load_dataset"]

#: Columns of ``Dataset.sources``: the files read.
SOURCE_COLUMNS = ["file", "kind", "sha256", "period"]
#: Header columns that mark a prescribing file whatever its name.
_PRESCRIBING_HEADER = {"GPPractice", "BNFItemCode", *MEASURE_COLUMNS}
#: Columns a SIMD file adds to ``Dataset.practices`` (nullable Int64; missing without one).
SIMD_PRACTICE_COLUMNS = ["simd_rank", "simd_decile", "simd_quintile"]


@dataclass(frozen=True)
class Dataset:
    """Everything loaded from one PHS folder (see docs/architecture.md for every column).

    - ``practices``: one row per practice seen in any release.
    - ``populations``: practice_code, date, sex, age_band, age_min, age_max, patients.
    - ``list_sizes``: practice_code, date (release date), list_size, for every release.
    - ``prescribing``: practice_code, month, bnf_code, items, quantity, cost.
    - ``lookups``: ``{"hb": ..., "hscp": ...}``.
    - ``warnings``: kind, file, row, column, practice_code, value, message.
    - ``sources``: file, kind, sha256, period.
    - ``simd``: data_zone, simd_rank, simd_decile, simd_quintile (:func:`clusterqi.loaders.load_simd`),
      or None when the folder has no SIMD file.

    ``practices`` from :func:`load_dataset` also has ``data_zone`` (the premises' 2011 Data Zone)
    and, with a SIMD file, ``simd_rank``, ``simd_decile``, ``simd_quintile`` (nullable Int64).

    Example usage::

        data = load_dataset(folder)
        sizes = data.list_size_in_effect(data.prescribing["month"].unique())
        data.practices.groupby("cluster_id")["simd_quintile"].mean()
    """

    practices: pd.DataFrame
    populations: pd.DataFrame
    list_sizes: pd.DataFrame
    prescribing: pd.DataFrame
    lookups: dict[str, pd.DataFrame]
    warnings: pd.DataFrame
    sources: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=SOURCE_COLUMNS))
    simd: pd.DataFrame | None = None

    def __post_init__(self) -> None:
        missing = [c for c in PRACTICE_COLUMNS if c not in self.practices.columns]
        if missing:
            raise DataError(f"Dataset.practices lacks column(s) {missing}; expected {PRACTICE_COLUMNS}")
        missing = [c for c in WARNING_COLUMNS if c not in self.warnings.columns]
        if missing:
            raise DataError(f"Dataset.warnings lacks column(s) {missing}; expected {WARNING_COLUMNS}")

    def list_size_in_effect(self, months: Iterable) -> pd.DataFrame:
        """practice_code x month -> list_size from the release in effect in each month.

        The release in effect is the latest one dated in or before the month (a release dated
        15 January 2025 applies from January 2025); months before the first release use the
        earliest release. A practice absent from the release in effect (closed, or not yet
        open) has no row for that month.

        ``months``: anything ``pd.to_datetime`` reads (``"2024-10"``, Timestamps, datetime64).

        Example usage::

            data.list_size_in_effect(["2024-10", "2024-11"])   # practice_code, month, list_size
        """
        wanted = pd.to_datetime(pd.Series(list(months)).astype("str").str.slice(0, 7), format="%Y-%m")
        wanted = pd.Series(wanted.unique()).sort_values(ignore_index=True)
        releases = pd.Series(self.list_sizes["date"].unique()).sort_values(ignore_index=True)
        if releases.empty or wanted.empty:
            return pd.DataFrame({"practice_code": pd.Series(dtype="str"),
                                 "month": pd.Series(dtype="datetime64[us]"),
                                 "list_size": pd.Series(dtype="Int64")})
        starts = releases.dt.to_period("M").dt.to_timestamp()
        chosen = []
        for month in wanted:
            eligible = releases[starts <= month]
            chosen.append(eligible.iloc[-1] if not eligible.empty else releases.iloc[0])
        plan = pd.DataFrame({"month": wanted, "date": chosen})
        table = plan.merge(self.list_sizes, on="date", how="inner")
        return table[["practice_code", "month", "list_size"]].sort_values(
            ["month", "practice_code"], ignore_index=True)


#: Files that may sit in a data folder and are known not to be needed: the synthetic generator's
#: answer key, and PHS lookups clusterqi does not use. They are skipped without a warning.
KNOWN_UNUSED_FILES = re.compile(
    r"^(ground_truth|ca11_ca19|special-health-boards_\d+|statisticalqualifiers\d+)\.csv$", re.I)


def _classify(path: Path) -> str | None:
    """The kind of PHS file ``path`` holds, by its name only; None if the name is not PHS's.

    A copy ("pitc202609 - Copy.csv") or a renamed file is never read as data: reading it would
    count its months twice or under another month.
    """
    name = path.name
    if PRACTICE_FILE_PATTERN.match(name):
        return "practices"
    if POPULATION_FILE_PATTERN.match(name):
        return "populations"
    if PRESCRIBING_FILE_PATTERN.match(name):
        return "prescribing"
    if name.lower() == HB_FILE:
        return "hb_lookup"
    if name.lower() == HSCP_FILE:
        return "hscp_lookup"
    if is_simd_file(path):
        return "simd"
    return None


def _looks_like(path: Path) -> str | None:
    """The PHS layout an unrecognised file's header has, for the warning ("prescribing")."""
    try:
        header = set(read_header(path))
    except (DataError, OSError):
        return None
    if set(REQUIRED_POPULATION_COLUMNS) <= header:
        return "populations"
    if _PRESCRIBING_HEADER <= header and header & set(MONTH_COLUMNS):
        return "prescribing"
    if set(REQUIRED_PRACTICE_COLUMNS) <= header:
        return "practices"
    if set(REQUIRED_SIMD_COLUMNS) <= header:
        return "SIMD"
    return None


def discover_files(folder: Path) -> tuple[dict[str, list[Path]], pd.DataFrame]:
    """PHS files under ``folder`` by kind, and warnings for CSV files of no known kind."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(f"{folder}: not a folder; expected a folder of PHS open data files")
    found: dict[str, list[Path]] = {k: [] for k in ("practices", "populations", "prescribing",
                                                   "hb_lookup", "hscp_lookup", "simd")}
    warnings = []
    for path in sorted(folder.rglob("*")):
        if not path.is_file() or path.name.startswith("."):
            continue
        if path.suffix.lower() != ".csv":
            continue
        if KNOWN_UNUSED_FILES.match(path.name):
            continue
        kind = _classify(path)
        if kind is None:
            layout = _looks_like(path)
            message = ("CSV file whose name is not a PHS file name; not read" if layout is None else
                       f"has a PHS {layout} header but its name is not a PHS file name (a copy or "
                       "a renamed file?); not read, so no month is counted twice: rename it as "
                       "PHS names it if it is the only copy")
            warnings.append(warning_row("unrecognised_file", message,
                                        file=str(path.relative_to(folder))))
            continue
        found[kind].append(path)
    return found, warnings_frame(warnings)


def _combine_practices(releases: list[pd.DataFrame]) -> pd.DataFrame:
    """One row per practice: its latest release, with first/last release dates, homes recomputed."""
    stacked = pd.concat(releases, ignore_index=True).sort_values(["practice_code", "last_release"])
    spans = stacked.groupby("practice_code").agg(first_release=("first_release", "min"),
                                                  last_release=("last_release", "max"))
    latest = stacked.drop_duplicates("practice_code", keep="last").drop(columns=["first_release", "last_release"])
    latest = latest.merge(spans, on="practice_code", how="left")
    # A cluster's home comes from the latest release holding it.
    homes = []
    for release in releases:
        homed = assign_cluster_homes(release)
        homes.append(homed[homed["in_cluster"]][["cluster_name", "home_hscp_code", "home_hb_code", "last_release"]])
    home = (pd.concat(homes).sort_values("last_release").drop_duplicates("cluster_name", keep="last")
            .set_index("cluster_name"))
    for column in ("home_hscp_code", "home_hb_code"):
        mapped = latest["cluster_name"].map(home[column])
        own = latest["hscp_code"] if column == "home_hscp_code" else latest["hb_code"]
        latest[column] = mapped.where(latest["in_cluster"], own).astype("str")
    return latest[PRACTICE_OUTPUT_COLUMNS].sort_values("practice_code", ignore_index=True)


def _source(path: Path, folder: Path, kind: str, period) -> dict:
    return {"file": str(path.relative_to(folder)), "kind": kind, "sha256": file_sha256(path),
            "period": str(period)}


def _unique_releases(paths: list[Path], key, kind: str) -> None:
    seen: dict = {}
    for path in paths:
        value = key(path)
        if value in seen:
            raise DataError(
                f"{path.name}: a second {kind} file for {value:%Y-%m-%d} (the other is {seen[value].name}); "
                "expected one file per release"
            )
        seen[value] = path


#: Relative difference between a practice's population total and its list size (same release)
#: beyond which its per-patient figures are not trusted (PHS's two files agree exactly).
POPULATION_TOLERANCE = 0.10
#: Items of one presentation at one practice in one month beyond any real practice's.
IMPLAUSIBLE_ITEMS = 50_000


def _population_warnings(populations: pd.DataFrame, list_sizes: pd.DataFrame) -> list[dict]:
    """Practices with no population in a release that has populations, or a population total
    far from their list size: their per-patient denominators cannot be trusted."""
    rows: list[dict] = []
    if populations.empty:
        return rows
    split = populations[populations["sex"] != "All"]
    totals = split.groupby(["practice_code", "date"])["patients"].sum()
    totals = totals.combine_first(
        populations[populations["sex"] == "All"].groupby(["practice_code", "date"])["patients"].sum())
    sizes = list_sizes[list_sizes["date"].isin(set(populations["date"]))]
    merged = sizes.merge(totals.rename("population").reset_index(), on=["practice_code", "date"],
                         how="left")
    for r in merged.itertuples(index=False):
        if pd.isna(r.list_size) or r.list_size == 0:
            continue
        if pd.isna(r.population):
            rows.append(warning_row(
                "missing_population",
                f"practice listed in the {r.date:%Y-%m-%d} release has no population rows for "
                "that date: its per-patient figures have no denominator and are left out of its "
                "cluster's totals", column="PracticeCode", practice_code=r.practice_code,
                value=f"{r.date:%Y-%m-%d}"))
        elif abs(float(r.population) / float(r.list_size) - 1) > POPULATION_TOLERANCE:
            rows.append(warning_row(
                "population_mismatch",
                f"population total {int(r.population):,} differs from the list size "
                f"{int(r.list_size):,} of the same release ({r.date:%Y-%m-%d}) by more than "
                f"{POPULATION_TOLERANCE:.0%}: its per-patient figures are not trusted",
                column="AllAges", practice_code=r.practice_code, value=int(r.population)))
    return rows


def _prescribing_warnings(prescribing: pd.DataFrame, practices: pd.DataFrame, dataset_sizes) -> list[dict]:
    """Unknown practice codes and practices with no prescribing in a month."""
    rows = []
    if prescribing.empty:
        return rows
    big = prescribing[prescribing["items"] > IMPLAUSIBLE_ITEMS]
    for r in big.head(100).itertuples(index=False):
        rows.append(warning_row(
            "implausible_items",
            f"{int(r.items):,} items of one presentation in one month is beyond any real "
            f"practice's; check the file for {r.month:%Y-%m}",
            column="NumberOfPaidItems", practice_code=str(r.practice_code), value=int(r.items)))
    per = prescribing.groupby(["practice_code", "month"], observed=True)["items"].sum().reset_index()
    per["practice_code"] = per["practice_code"].astype("str")
    known = set(practices["practice_code"])
    unknown = per[~per["practice_code"].isin(known)]
    for code, group in unknown.groupby("practice_code"):
        rows.append(warning_row(
            "unknown_practice",
            f"practice code in prescribing but not in any practice list (closed practice?): "
            f"{len(group)} month(s), {int(group['items'].sum()):,} items; not attributed to a cluster",
            column="GPPractice", practice_code=code, value=code))
    expected = dataset_sizes(per["month"].unique())
    present = set(zip(per["practice_code"], per["month"]))
    for code, month in zip(expected["practice_code"], expected["month"]):
        if (code, month) not in present:
            rows.append(warning_row(
                "missing_month", f"practice listed in the release in effect has no prescribing in {month:%Y-%m}",
                column="GPPractice", practice_code=code, value=f"{month:%Y-%m}"))
    return rows


def _read_simd(paths: list[Path], folder: Path) -> tuple[pd.DataFrame | None, list[dict]]:
    """The SIMD table of the folder (None without a SIMD file) and the sources read.

    Both accepted files may sit side by side (PHS's file and the four-column subset): they must
    then give every Data Zone they share the same rank; PHS's file is used (its deciles and
    quintiles are population-weighted, the subset's may be equal shares of the zones).
    """
    if not paths:
        return None, []
    paths = sorted(paths, key=lambda p: (p.name.lower() != SIMD_FILE, str(p)))
    tables = [load_simd(p) for p in paths]
    first = tables[0].set_index("data_zone")
    for path, table in zip(paths[1:], tables[1:]):
        other = table.set_index("data_zone")
        shared = first.index.intersection(other.index)
        differ = first.loc[shared, "simd_rank"] != other.loc[shared, "simd_rank"]
        if differ.any():
            zone = differ[differ].index[0]
            raise DataError(
                f"{path.name}: Data Zone {zone} has SIMD rank {int(other.at[zone, 'simd_rank'])} but "
                f"{paths[0].name} gives it {int(first.at[zone, 'simd_rank'])}; expected one SIMD "
                "2020v2: remove the file that is not PHS's")
    return tables[0], [_source(p, folder, "simd", "2020v2") for p in paths]


def _attach_simd(practices: pd.DataFrame, simd: pd.DataFrame | None, simd_file: str | None
                 ) -> tuple[pd.DataFrame, list[dict]]:
    """Practices with the SIMD rank, decile and quintile of their premises' Data Zone, and the
    warning (``no_simd_file`` or ``practice_not_in_simd``) that goes with them."""
    table = practices.copy()
    if simd is None:
        for column in SIMD_PRACTICE_COLUMNS:
            table[column] = pd.Series(pd.NA, index=table.index, dtype="Int64")
        return table, [warning_row(
            "no_simd_file",
            f"no SIMD file found (PHS's {SIMD_FILE}, dataset 'Scottish Index of Multiple "
            "Deprivation'; `clusterqi fetch` downloads it): practices have no deprivation "
            "context, and cluster context and peer comparisons ('clusters like ours') need it; "
            "everything else works without it")]
    lookup = simd.set_index("data_zone")
    for column in SIMD_PRACTICE_COLUMNS:
        table[column] = table["data_zone"].map(lookup[column]).astype("Int64")
    missing = table[table["simd_rank"].isna()].sort_values("practice_code")
    rows = []
    if not missing.empty:
        codes = list(missing["practice_code"])
        zones = ", ".join(f"{c} ({z if isinstance(z, str) else 'no Data Zone'})"
                          for c, z in zip(codes, missing["data_zone"]))
        rows.append(warning_row(
            "practice_not_in_simd",
            f"{len(codes)} practice(s) whose premises' Data Zone is not in the SIMD file have no "
            f"SIMD rank, decile or quintile (left missing, never guessed): {zones}",
            file=simd_file, column="DataZone", value=",".join(codes)))
    return table, rows


def load_dataset(folder: Path) -> Dataset:
    """Load every PHS file under ``folder`` into a :class:`Dataset`.

    Reads every practice details and population release, every ``pitcYYYYMM.csv`` month (cached)
    the board / HSCP lookups and, when present, the SIMD file (see the module docstring for what
    it adds to ``practices``). Raises DataError for unusable files (see each loader); findings
    that are not errors (list size 0, suppressed populations, unknown practice codes in
    prescribing, a practice without prescribing in a month, unrecognised files, no SIMD file,
    practices whose Data Zone is not in it) are rows of ``Dataset.warnings``.

    Example usage::

        data = load_dataset("../shared/data/phs")
        len(data.practices), data.practices["list_size"].sum()   # (888, 6018624)
    """
    folder = Path(folder)
    found, unrecognised = discover_files(folder)
    if not found["practices"]:
        raise DataError(
            f"{folder}: no GP practice details file found; expected a file named like "
            "practice_contactdetails_oct2024-open-data.csv (searched sub-folders too)"
        )
    for kind in ("hb_lookup", "hscp_lookup"):
        if not found[kind]:
            name = HB_FILE if kind == "hb_lookup" else HSCP_FILE
            raise DataError(f"{folder}: no {name} found (searched sub-folders too); expected PHS's {name} lookup")
    lookups = {"hb": read_lookup(found["hb_lookup"][0], HB_COLUMNS),
               "hscp": read_lookup(found["hscp_lookup"][0], HSCP_COLUMNS)}
    sources = [_source(found["hb_lookup"][0], folder, "hb_lookup", ""),
               _source(found["hscp_lookup"][0], folder, "hscp_lookup", "")]
    warnings = [unrecognised]

    _unique_releases(found["practices"], release_date_from_name, "practice details")
    releases = []
    for path in found["practices"]:
        release = load_practices(path, lookups=lookups)
        releases.append(release)
        date = release["last_release"].iloc[0]
        sources.append(_source(path, folder, "practices", f"{date:%Y-%m-%d}"))
        rows = [warning_row("zero_list_size", "practice list size is 0", file=path.name, column="PracticeListSize",
                            practice_code=code, value=0)
                for code in release.loc[release["list_size"].eq(0), "practice_code"]]
        for column, table, key in (("HSCP", lookups["hscp"], "hscp_code"), ("HB", lookups["hb"], "hb_code")):
            for code in sorted(set(release[key]) - set(table[key])):
                rows.append(warning_row("unknown_area", f"{column} code not among current codes in the lookups",
                                        file=path.name, column=column, value=code))
        warnings.append(warnings_frame(rows))
    list_sizes = pd.concat(
        [r[["practice_code", "last_release", "list_size"]].rename(columns={"last_release": "date"}) for r in releases],
        ignore_index=True,
    )
    practices = _combine_practices(releases)
    simd, simd_sources = _read_simd(found["simd"], folder)
    sources.extend(simd_sources)
    practices, simd_warnings = _attach_simd(
        practices, simd, simd_sources[0]["file"] if simd_sources else None)
    warnings.append(warnings_frame(simd_warnings))

    populations = []
    for path in found["populations"]:
        table, found_warnings = read_populations(path)
        populations.append(table)
        warnings.append(found_warnings)
        dates = sorted(table["date"].unique())
        sources.append(_source(path, folder, "populations", ",".join(f"{d:%Y-%m-%d}" for d in dates)))
    if populations:
        populations = pd.concat(populations, ignore_index=True)
        clash = populations.duplicated(["practice_code", "date", "sex", "age_band"])
        if clash.any():
            row = populations[clash].iloc[0]
            raise DataError(
                f"{folder.name}: practice {row['practice_code']} has population for {row['date']:%Y-%m-%d} in "
                "two files; expected one population file per release date"
            )
    else:
        populations = pd.DataFrame(columns=["practice_code", "date", "sex", "age_band", "age_min", "age_max",
                                            "patients"])

    pitc = found["prescribing"]
    named = [p for p in pitc if month_from_name(p) is not None]
    _unique_releases(named, month_from_name, "prescribing")
    prescribing = load_prescribing(pitc)
    for path in pitc:
        month = month_from_name(path)
        sources.append(_source(path, folder, "prescribing", f"{month:%Y-%m}" if month is not None else ""))

    warnings.append(warnings_frame(_population_warnings(populations, list_sizes)))
    sizes_for = Dataset(practices, populations, list_sizes, prescribing, lookups, warnings_frame([])).list_size_in_effect
    warnings.append(warnings_frame(_prescribing_warnings(prescribing, practices, sizes_for)))
    all_warnings = pd.concat([w for w in warnings if not w.empty] or [warnings_frame([])], ignore_index=True)
    return Dataset(
        practices=practices,
        populations=populations,
        list_sizes=list_sizes.sort_values(["date", "practice_code"], ignore_index=True),
        prescribing=prescribing,
        lookups=lookups,
        warnings=all_warnings,
        sources=pd.DataFrame(sources, columns=SOURCE_COLUMNS),
        simd=simd,
    )
