"""Prescribing per practice, month and BNF code, from PHS "Prescriptions in the Community".

Each monthly ``pitcYYYYMM.csv`` holds about 1.4 million rows (150+ MB). The loader reads only the
six columns it needs with pandas' pyarrow engine, one month at a time, drops the non-practice codes
99996-99999 (community pharmacy, unallocated, hospital, dental), and sums items, quantity and cost
per practice x month x BNF code. Each file's result is cached as Parquet in
``clusterqi.paths.cache_dir("prescribing")`` under the SHA-256 of the file's content, so a second
load reads only the small Parquet files (never written beside the inputs, which may be read-only).

Header variants accepted (DESIGN.md section 3): with or without ``DMDCode``/``PrescribedType``, and
``PaidDateMonth`` (``YYYYMM``) or, in some older files, ``PaidDate`` (``YYYYMM`` or ``YYYYMMDD``).
Columns may come in any order; extra columns are ignored.

Result columns: ``practice_code`` and ``bnf_code`` (categoricals of strings, to keep 12+ months
of national data small), ``month`` (datetime64, first day of the month), ``items`` (int64),
``quantity``, ``cost`` (float64).

Example usage::

    prescribing = load_prescribing(sorted(folder.glob("pitc*.csv")))
    prescribing[prescribing["bnf_code"].str.startswith("0501")].groupby("month")["items"].sum()
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from clusterqi.errors import DataError
from clusterqi.loaders.reading import file_sha256, read_header, require_columns, spreadsheet_row
from clusterqi.paths import cache_dir

__all__ = [
    "PRESCRIBING_FILE_PATTERN",
    "PRESCRIBING_COLUMNS",
    "NON_PRACTICE_CODES",
    "MONTH_COLUMNS",
    "CACHE_VERSION",
    "prescribing_files",
    "month_from_name",
    "read_prescribing_file",
    "load_prescribing",
]

#: Monthly practice-level files only (not ``disp_pitc*`` dispenser or ``hb_pitc*`` board files).
PRESCRIBING_FILE_PATTERN = re.compile(r"^pitc(?P<year>\d{4})(?P<month>\d{2})\.csv$", re.IGNORECASE)
PRESCRIBING_COLUMNS = ["practice_code", "month", "bnf_code", "items", "quantity", "cost"]
#: GPPractice codes that are not GP practices: community pharmacy, unallocated, hospital, dental.
NON_PRACTICE_CODES = ("99996", "99997", "99998", "99999")
#: Raw PHS column -> canonical name for the measures.
MEASURE_COLUMNS = {"NumberOfPaidItems": "items", "PaidQuantity": "quantity", "GrossIngredientCost": "cost"}
#: The month column, newest spelling first.
MONTH_COLUMNS = ("PaidDateMonth", "PaidDate")
#: Bump when the cached table's layout or meaning changes (old cache files are then ignored).
CACHE_VERSION = 1
#: ``PaidDate`` values above this are YYYYMMDD rather than YYYYMM.
_YYYYMM_MAX = 999_999


def month_from_name(path: Path) -> pd.Timestamp | None:
    """The month a ``pitcYYYYMM.csv`` file name states, or None for other names."""
    match = PRESCRIBING_FILE_PATTERN.match(Path(path).name)
    if not match:
        return None
    return pd.Timestamp(year=int(match["year"]), month=int(match["month"]), day=1)


def prescribing_files(folder: Path) -> list[Path]:
    """The ``pitcYYYYMM.csv`` files anywhere under ``folder``, in month order."""
    files = [p for p in Path(folder).rglob("*") if p.is_file() and PRESCRIBING_FILE_PATTERN.match(p.name)]
    return sorted(files, key=lambda p: (p.name.lower(), str(p)))


def _first_bad(values: pd.Series, path: Path, raw_column: str, codes: pd.Series, expected: str,
               integer: bool) -> None:
    """Raise DataError at the first value of ``values`` that is blank or not a number."""
    text = values.astype("str")
    numbers = pd.to_numeric(values, errors="coerce")
    bad = numbers.isna()
    if integer:
        bad |= numbers.notna() & (numbers % 1 != 0)
    if bad.any():
        i = int(bad.to_numpy().nonzero()[0][0])
        shown = "blank" if values.isna().iloc[i] or text.iloc[i].strip() in {"", "nan"} else repr(text.iloc[i])
        raise DataError(
            f"{Path(path).name}, row {spreadsheet_row(i)} (GPPractice {codes.iloc[i]}), column {raw_column}: "
            f"value {shown} is not {'a whole number' if integer else 'a number'}; {expected}"
        )


def _check_numeric(frame: pd.DataFrame, path: Path, month_column: str) -> None:
    codes = frame["GPPractice"]
    for raw, integer, expected in (
        ("NumberOfPaidItems", True, "expected a whole number of items >= 0"),
        ("PaidQuantity", False, "expected a number"),
        ("GrossIngredientCost", False, "expected a cost in pounds such as 12.34"),
        (month_column, True, "expected a month as YYYYMM such as 202410"),
    ):
        column = frame[raw]
        if not pd.api.types.is_numeric_dtype(column) or column.isna().any():
            _first_bad(column, path, raw, codes, expected, integer)
        if integer and pd.api.types.is_float_dtype(column) and (column % 1 != 0).any():
            _first_bad(column, path, raw, codes, expected, integer)
    negative = frame["NumberOfPaidItems"] < 0
    if negative.any():
        i = int(negative.to_numpy().nonzero()[0][0])
        raise DataError(
            f"{Path(path).name}, row {spreadsheet_row(i)} (GPPractice {codes.iloc[i]}), column NumberOfPaidItems: "
            f"value {frame['NumberOfPaidItems'].iloc[i]} is a negative count; expected a whole number of items >= 0"
        )


def _months(values: pd.Series, path: Path, column: str, codes: pd.Series) -> pd.Series:
    """YYYYMM (or YYYYMMDD) integers -> first day of the month."""
    numbers = values.astype("int64")
    numbers = numbers.where(numbers <= _YYYYMM_MAX, numbers // 100)
    unique = pd.Series(numbers.unique())
    converted = pd.to_datetime(unique.astype("str"), format="%Y%m", errors="coerce")
    if converted.isna().any():
        bad = unique[converted.isna()].iloc[0]
        i = int(numbers.eq(bad).to_numpy().nonzero()[0][0])
        raise DataError(
            f"{Path(path).name}, row {spreadsheet_row(i)} (GPPractice {codes.iloc[i]}), column {column}: "
            f"value {values.iloc[i]} is not a month; expected YYYYMM such as 202410"
        )
    return numbers.map(dict(zip(unique, converted)))


def read_prescribing_file(path: Path) -> pd.DataFrame:
    """Read and aggregate one monthly PITC file (no cache). See :func:`load_prescribing`."""
    path = Path(path)
    if path.stat().st_size == 0:
        raise DataError(f"{path.name}: the file is empty; expected a PHS prescribing CSV with a header line")
    header = read_header(path)
    month_column = next((name for name in MONTH_COLUMNS if name in header), MONTH_COLUMNS[0])
    needed = ["GPPractice", "BNFItemCode", *MEASURE_COLUMNS, month_column]
    require_columns(header, needed, path, "PHS prescribing (PaidDate is accepted for PaidDateMonth)")
    try:
        frame = pd.read_csv(path, engine="pyarrow", usecols=needed)
    except (ValueError, pa.ArrowException) as exc:
        raise DataError(f"{path.name}: not a readable CSV file ({exc}); expected PHS prescribing data") from None
    if frame.empty:
        raise DataError(f"{path.name}: the file has a header but no data rows; expected at least one row of data")
    codes = frame["GPPractice"].astype("str").str.strip()
    frame["GPPractice"] = codes
    _check_numeric(frame, path, month_column)
    frame = frame[~codes.isin(NON_PRACTICE_CODES)]
    months = _months(frame[month_column], path, month_column, frame["GPPractice"])
    frame = pd.DataFrame({
        "practice_code": frame["GPPractice"].astype("category"),
        "month": months,
        "bnf_code": frame["BNFItemCode"].astype("str").str.strip().astype("category"),
        **{name: frame[raw] for raw, name in MEASURE_COLUMNS.items()},
    })
    table = (
        frame.groupby(["practice_code", "month", "bnf_code"], observed=True, sort=True)[["items", "quantity", "cost"]]
        .sum()
        .reset_index()
    )
    table["items"] = table["items"].astype("int64")
    table["quantity"] = table["quantity"].astype("float64")
    table["cost"] = table["cost"].astype("float64")
    for name in ("practice_code", "bnf_code"):
        table[name] = table[name].cat.remove_unused_categories()
    return table[PRESCRIBING_COLUMNS]


def _cached(path: Path) -> tuple[Path, str]:
    digest = file_sha256(path)
    return cache_dir("prescribing") / f"{digest}-v{CACHE_VERSION}.parquet", digest


def _read_or_build(path: Path) -> pa.Table:
    target, _ = _cached(path)
    if target.is_file():
        return pq.read_table(target)
    table = pa.Table.from_pandas(read_prescribing_file(path), preserve_index=False)
    tmp = target.with_name(f"{target.name}.{os.getpid()}.tmp")
    pq.write_table(table, tmp)
    os.replace(tmp, target)
    return table


def load_prescribing(paths: Path | Iterable[Path]) -> pd.DataFrame:
    """Load PHS monthly prescribing files into ``practice_code, month, bnf_code, items, quantity, cost``.

    ``paths``: a list of ``pitcYYYYMM.csv`` files, one such file, or a folder (searched recursively
    for ``pitcYYYYMM.csv``). Files are read one at a time (peak memory is about one month), and
    each file's aggregate is cached as Parquet keyed by the SHA-256 of its content.

    Constraints: columns ``GPPractice, BNFItemCode, NumberOfPaidItems, PaidQuantity,
    GrossIngredientCost`` and ``PaidDateMonth`` (or ``PaidDate``); numbers parseable;
    ``NumberOfPaidItems`` a whole number >= 0. Raises DataError otherwise, naming the file, row,
    practice, PHS column, value and what was expected. Practice codes are not checked against a
    practice list here (see :func:`clusterqi.loaders.load_dataset`, which reports unknown codes
    as warnings).

    Example usage::

        prescribing = load_prescribing(Path("data/phs/prescribing"))
        prescribing.groupby(["practice_code", "month"], observed=True)["items"].sum()
    """
    if isinstance(paths, (str, os.PathLike)):
        paths = Path(paths)
        files = prescribing_files(paths) if paths.is_dir() else [paths]
    else:
        files = [Path(p) for p in paths]
    tables = [_read_or_build(path) for path in files]
    if not tables:
        frame = pd.DataFrame({name: pd.Series(dtype=dtype) for name, dtype in (
            ("practice_code", "category"), ("month", "datetime64[ns]"), ("bnf_code", "category"),
            ("items", "int64"), ("quantity", "float64"), ("cost", "float64"))})
        return frame
    combined = pa.concat_tables(tables, promote_options="permissive")
    del tables
    frame = combined.to_pandas(self_destruct=True, split_blocks=True)
    return frame[PRESCRIBING_COLUMNS]
