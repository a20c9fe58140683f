"""Practice populations by sex and age band, from PHS "GP Practice Populations".

Returns ``practice_code, date, sex, age_band, age_min, age_max, patients``: one row per practice,
release date, sex (``Male``/``Female``) and age band. Age bands are read from the header, whatever
set the release uses (``Ages0to4`` ... ``Ages85plus``, or 5-year ``Ages00to04`` ...): labels
``"0-4"``, ``"85+"`` with ``age_min``/``age_max`` (missing for an open band).

PHS's ``Sex=All`` row is a derived total (``SexQF=d``): it is checked against Male + Female and
not kept (it would double count). PHS suppresses some cells itself (blank, qualifier ``c``): a
practice whose Male/Female cells are suppressed keeps one row ``sex="All"``, ``age_band="all"``
with its published total (``age_min`` 0, ``age_max`` missing), so patients still sum to the list
size. Suppressed blanks load as missing, never as errors.

Example usage::

    populations = load_populations("practice_listsizes_oct2024-open-data.csv")
    populations.groupby("age_band", sort=False)["patients"].sum()
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from clusterqi.errors import DataError
from clusterqi.loaders.reading import (
    parse_counts,
    read_text_table,
    require_columns,
    spreadsheet_row,
    warning_row,
    warnings_frame,
)

__all__ = [
    "POPULATION_FILE_PATTERN",
    "AGE_COLUMN_PATTERN",
    "POPULATION_COLUMNS",
    "REQUIRED_POPULATION_COLUMNS",
    "SEXES",
    "ALL_SEXES",
    "ALL_AGES_BAND",
    "age_bands_from_header",
    "load_populations",
    "read_populations",
]

#: File names of population releases (``practice_listsizes_oct2024-open-data.csv``, or dated).
POPULATION_FILE_PATTERN = re.compile(
    r"^practice_?list_?sizes_(?:[a-z]{3}\d{4}|\d{8})[-_]?open-?data\.csv$", re.IGNORECASE
)
#: Count columns of age bands: ``Ages0to4``, ``Ages00to04``, ``Ages85plus`` (flags end in ``QF``).
AGE_COLUMN_PATTERN = re.compile(r"^Ages(?P<min>\d{1,3})(?:to(?P<max>\d{1,3})|plus)$", re.IGNORECASE)
REQUIRED_POPULATION_COLUMNS = ["Date", "PracticeCode", "Sex", "AllAges"]
POPULATION_COLUMNS = ["practice_code", "date", "sex", "age_band", "age_min", "age_max", "patients"]
SEXES = ("Male", "Female")
#: PHS's derived all-sexes row, and the band label used where only that total is published.
ALL_SEXES = "All"
ALL_AGES_BAND = "all"
#: PHS qualifier of a cell it suppressed.
SUPPRESSED = "c"


def age_bands_from_header(columns: list[str]) -> list[tuple[str, str, int, int | None]]:
    """(column, label, age_min, age_max) for each age-band count column, in header order."""
    bands = []
    for name in columns:
        match = AGE_COLUMN_PATTERN.match(name)
        if match:
            low = int(match["min"])
            high = int(match["max"]) if match["max"] is not None else None
            bands.append((name, f"{low}-{high}" if high is not None else f"{low}+", low, high))
    return bands


def _qualifier_column(columns: list[str], column: str) -> str | None:
    """The ``...QF`` flag column of a count column (PHS spells ``to`` as ``To`` in flags)."""
    wanted = f"{column}QF".lower()
    return next((name for name in columns if name.lower() == wanted), None)


def read_populations(path: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Load one population file; returns (populations, warnings). See :func:`load_populations`."""
    path = Path(path)
    frame = read_text_table(path)
    require_columns(frame.columns, REQUIRED_POPULATION_COLUMNS, path, "GP practice populations")
    bands = age_bands_from_header(list(frame.columns))
    if not bands:
        raise DataError(
            f"{path.name}: no age-band columns in the header; expected columns such as Ages0to4 ... "
            f"Ages85plus or Ages00to04 ... (found: {', '.join(frame.columns)})"
        )
    frame["PracticeCode"] = frame["PracticeCode"].str.strip()
    sex = frame["Sex"].str.strip()
    bad_sex = ~sex.isin([*SEXES, ALL_SEXES])
    if bad_sex.any():
        i = int(bad_sex.to_numpy().nonzero()[0][0])
        raise DataError(
            f"{path.name}, row {spreadsheet_row(i)} (PracticeCode {frame['PracticeCode'].iloc[i]}), column Sex: "
            f"value {sex.iloc[i]!r} is not a sex PHS publishes; expected Male, Female or All"
        )
    duplicated = (frame["PracticeCode"] + "|" + sex).duplicated()
    if duplicated.any():
        i = int(duplicated.to_numpy().nonzero()[0][0])
        raise DataError(
            f"{path.name}, row {spreadsheet_row(i)}, column PracticeCode: duplicate practice "
            f"{frame['PracticeCode'].iloc[i]!r} with Sex {sex.iloc[i]!r}; expected one row per practice and sex"
        )
    dates = pd.to_datetime(frame["Date"].str.strip(), format="%Y%m%d", errors="coerce")
    if dates.isna().any():
        i = int(dates.isna().to_numpy().nonzero()[0][0])
        raise DataError(
            f"{path.name}, row {spreadsheet_row(i)} (PracticeCode {frame['PracticeCode'].iloc[i]}), column Date: "
            f"value {frame['Date'].iloc[i]!r} is not a date; expected YYYYMMDD such as 20241001"
        )
    count_columns = ["AllAges", *(band[0] for band in bands)]
    counts = pd.DataFrame({name: parse_counts(frame, name, path, allow_blank=True) for name in count_columns})
    warnings = []
    for name in count_columns:
        flag = _qualifier_column(list(frame.columns), name)
        blank = counts[name].isna()
        if flag is not None:
            unflagged = blank & frame[flag].str.strip().ne(SUPPRESSED)
        else:
            unflagged = blank
        for i in unflagged.to_numpy().nonzero()[0]:
            warnings.append(warning_row(
                "blank_without_qualifier", f"blank {name} cell without PHS's suppression flag 'c'; loaded as missing",
                file=path.name, row=spreadsheet_row(i), column=name, practice_code=frame["PracticeCode"].iloc[i]))

    key = pd.DataFrame({"practice_code": frame["PracticeCode"], "date": dates, "sex": sex})
    is_sexed = sex.isin(SEXES).to_numpy()
    band_cols = [band[0] for band in bands]
    complete = counts[band_cols].notna().all(axis=1) & counts["AllAges"].notna()
    # A practice is published by sex only when both its Male and Female rows are complete.
    sexed = key[is_sexed].assign(_complete=complete[is_sexed].to_numpy())
    by_sex = sexed.groupby(["practice_code", "date"])["_complete"].agg(["all", "size"])
    full = set(by_sex.index[(by_sex["all"]) & (by_sex["size"] == len(SEXES))])

    # Check the derived All row against Male + Female for fully published practices.
    totals = counts.assign(**key)
    sums = totals[is_sexed].groupby(["practice_code", "date"])[count_columns].sum()
    all_rows = totals[sex.eq(ALL_SEXES).to_numpy()]
    all_rows = all_rows[[idx in full for idx in zip(all_rows["practice_code"], all_rows["date"])]]
    if not all_rows.empty:
        expected = sums.loc[list(zip(all_rows["practice_code"], all_rows["date"]))]
        published = all_rows[count_columns].to_numpy(dtype="float64", na_value=float("nan"))
        derived = expected[count_columns].to_numpy(dtype="float64")
        differs = ~pd.isna(published) & (published != derived)
        if differs.any():
            r, c = (int(v[0]) for v in differs.nonzero())
            i = int(all_rows.index[r])
            name = count_columns[c]
            raise DataError(
                f"{path.name}, row {spreadsheet_row(i)} (PracticeCode {all_rows['practice_code'].iloc[r]}), "
                f"column {name}: Sex=All value {published[r, c]:g} differs from Male + Female = "
                f"{derived[r, c]:g}; expected the derived total to equal the sum"
            )

    pieces = []
    sexed_rows = totals[is_sexed]
    sexed_rows = sexed_rows[[idx in full for idx in zip(sexed_rows["practice_code"], sexed_rows["date"])]]
    if not sexed_rows.empty:
        long = sexed_rows.melt(id_vars=["practice_code", "date", "sex"], value_vars=band_cols,
                               var_name="column", value_name="patients")
        meta = pd.DataFrame(bands, columns=["column", "age_band", "age_min", "age_max"])
        long = long.merge(meta, on="column", how="left").drop(columns="column")
        pieces.append(long)
    # Practices published only as a total (PHS suppressed their Male/Female cells).
    practice_dates = set(zip(key["practice_code"], key["date"]))
    for code, date in sorted(practice_dates - full):
        mask = (key["practice_code"] == code) & (key["date"] == date)
        all_mask = mask & sex.eq(ALL_SEXES)
        if all_mask.any():
            total = counts.loc[all_mask, "AllAges"].iloc[0]
        else:
            parts = counts.loc[mask & sex.isin(SEXES), "AllAges"]
            total = parts.sum() if parts.notna().all() and len(parts) == len(SEXES) else pd.NA
        i = int(mask.to_numpy().nonzero()[0][0])
        if pd.isna(total):
            raise DataError(
                f"{path.name}, row {spreadsheet_row(i)} (PracticeCode {code}), column AllAges: no total "
                "published for this practice; expected Male and Female counts or a Sex=All total"
            )
        warnings.append(warning_row(
            "suppressed_population", "Male/Female cells suppressed by PHS; kept as one all-ages total",
            file=path.name, row=spreadsheet_row(i), column="AllAges", practice_code=code, value=total))
        pieces.append(pd.DataFrame({
            "practice_code": [code], "date": [date], "sex": [ALL_SEXES], "patients": [total],
            "age_band": [ALL_AGES_BAND], "age_min": [0], "age_max": [pd.NA],
        }))
    table = pd.concat(pieces, ignore_index=True)
    table["age_min"] = table["age_min"].astype("Int64")
    table["age_max"] = table["age_max"].astype("Int64")
    table["patients"] = table["patients"].astype("Int64")
    table["sex"] = table["sex"].astype("str")
    table["age_band"] = table["age_band"].astype("str")
    table = table.sort_values(["date", "practice_code", "sex"], kind="stable", ignore_index=True)
    return table[POPULATION_COLUMNS], warnings_frame(warnings)


def load_populations(path: Path) -> pd.DataFrame:
    """Load one PHS practice populations file into ``practice_code, date, sex, age_band, age_min,
    age_max, patients``.

    Constraints: columns ``Date, PracticeCode, Sex, AllAges`` and at least one age band; one row per
    practice and sex; counts whole numbers >= 0 (blank allowed: PHS suppression); the ``Sex=All``
    total equal to Male + Female. Raises DataError otherwise. Findings (suppressed practices) are
    available from :func:`read_populations` and in ``Dataset.warnings``.

    Example usage::

        populations = load_populations(folder / "practice_listsizes_oct2024-open-data.csv")
        populations["patients"].sum()   # 6,018,624 for October 2024
    """
    return read_populations(path)[0]
