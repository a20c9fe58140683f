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

import hashlib
import os
import re
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.feather as feather
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
#: Per-month cache files: small on disk.
PARQUET_OPTIONS = {"compression": "snappy"}
#: The combined table of a set of months is also kept as one uncompressed Arrow IPC (Feather v2)
#: file: memory-mapped, it converts to pandas without decoding or copying the numbers, which is
#: what keeps a cached reload of 12 national months under 1 s (Parquet must decode: ~4x slower).
COMBINED_SUFFIX = ".arrow"
#: Resolution of the ``month`` column (the same as pandas gives for parsed dates).
MONTH_UNIT = "us"
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


def _month_starts(numbers: np.ndarray, frame: pd.DataFrame, path: Path, column: str) -> tuple[np.ndarray, pd.DatetimeIndex]:
    """Codes into, and the first days of, the distinct months of YYYYMM (or YYYYMMDD) integers."""
    numbers = np.where(numbers > _YYYYMM_MAX, numbers // 100, numbers)
    codes, uniques = pd.factorize(numbers)
    starts = pd.to_datetime(pd.Series(uniques).astype("str"), format="%Y%m", errors="coerce")
    if starts.isna().any():
        bad = uniques[starts.isna().to_numpy()][0]
        i = int((numbers == bad).nonzero()[0][0])
        raise DataError(
            f"{Path(path).name}, row {spreadsheet_row(i)} (GPPractice {frame['GPPractice'].iloc[i]}), column {column}: "
            f"value {frame[column].iloc[i]} is not a month; expected YYYYMM such as 202410"
        )
    return codes, pd.DatetimeIndex(starts).as_unit(MONTH_UNIT)


def _codes_and_names(values, keep: np.ndarray) -> tuple[np.ndarray, pd.Index]:
    """Integer codes of the kept rows and their distinct names as trimmed strings."""
    codes, uniques = pd.factorize(values[keep])
    return codes, pd.Index(uniques).astype("str").str.strip()


def read_prescribing_file(path: Path) -> pd.DataFrame:
    """Read and aggregate one monthly PITC file (no cache). See :func:`load_prescribing`.

    The sums use one integer key per practice x month x BNF code and ``numpy.bincount``, which is
    several times faster than a pandas group-by over strings.
    """
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
    _check_numeric(frame, path, month_column)
    raw_codes = frame["GPPractice"]
    if pd.api.types.is_integer_dtype(raw_codes):
        practice_values = raw_codes.to_numpy()
        keep = ~np.isin(practice_values, [int(code) for code in NON_PRACTICE_CODES])
    else:
        practice_values = raw_codes.astype("str").str.strip().to_numpy()
        keep = ~np.isin(practice_values, NON_PRACTICE_CODES)
    month_codes, months = _month_starts(frame[month_column].to_numpy().astype("int64"), frame, path, month_column)
    practice_codes, practices = _codes_and_names(practice_values, keep)
    bnf_codes, bnf_names = _codes_and_names(frame["BNFItemCode"].array, keep)
    month_codes = month_codes[keep]
    key = (practice_codes.astype("int64") * len(bnf_names) + bnf_codes) * len(months) + month_codes
    groups, group_keys = pd.factorize(key)
    sums = {
        name: np.bincount(groups, weights=frame[raw].to_numpy(dtype="float64")[keep], minlength=len(group_keys))
        for raw, name in MEASURE_COLUMNS.items()
    }
    month_index = group_keys % len(months)
    rest = group_keys // len(months)
    table = pd.DataFrame({
        "practice_code": pd.Categorical.from_codes(rest // len(bnf_names), categories=practices),
        "month": months[month_index],
        "bnf_code": pd.Categorical.from_codes(rest % len(bnf_names), categories=bnf_names),
        "items": np.rint(sums["items"]).astype("int64"),
        "quantity": sums["quantity"],
        "cost": sums["cost"],
    })
    if practices.has_duplicates or bnf_names.has_duplicates:  # codes that differ only by spaces
        table = (table.astype({"practice_code": "str", "bnf_code": "str"})
                 .groupby(["practice_code", "month", "bnf_code"], as_index=False, sort=False).sum()
                 .astype({"practice_code": "category", "bnf_code": "category"}))
    return table[PRESCRIBING_COLUMNS]


def _cache_path(path: Path) -> Path:
    return cache_dir("prescribing") / f"{file_sha256(path)}-v{CACHE_VERSION}.parquet"


def _ensure_cached(path: Path) -> Path:
    """The Parquet cache file of one PITC file, built first if missing (atomic write)."""
    target = _cache_path(path)
    if not target.is_file():
        table = pa.Table.from_pandas(read_prescribing_file(path), preserve_index=False)
        tmp = target.with_name(f"{target.name}.{os.getpid()}.tmp")
        pq.write_table(table, tmp, **PARQUET_OPTIONS)
        os.replace(tmp, target)
    return target


def _assemble(parquet_files: list[Path]) -> pd.DataFrame:
    """Concatenate cached months into preallocated arrays (peak memory: the result + one month)."""
    total = sum(pq.read_metadata(p).num_rows for p in parquet_files)
    month = np.empty(total, dtype=f"datetime64[{MONTH_UNIT}]")
    values = {name: np.empty(total, dtype="int64" if name == "items" else "float64") for name in MEASURE_COLUMNS.values()}
    local = {name: np.empty(total, dtype="int32") for name in ("practice_code", "bnf_code")}
    names: dict[str, list[pd.Index]] = {"practice_code": [], "bnf_code": []}
    spans = []
    offset = 0
    for path in parquet_files:
        table = pq.read_table(path)
        end = offset + table.num_rows
        for name in local:
            column = table.column(name).combine_chunks()
            if not pa.types.is_dictionary(column.type):
                column = column.dictionary_encode()
            local[name][offset:end] = column.indices.to_numpy(zero_copy_only=False)
            names[name].append(pd.Index(column.dictionary.to_numpy(zero_copy_only=False), dtype="str"))
        month[offset:end] = table.column("month").to_numpy().astype(month.dtype)
        for name, array in values.items():
            array[offset:end] = table.column(name).to_numpy()
        spans.append((offset, end))
        offset = end
        del table
    columns = {}
    for name, codes in local.items():
        categories = pd.Index([], dtype="str")
        for dictionary in names[name]:
            categories = categories.union(dictionary)
        categories = categories.sort_values()
        for (start, end), dictionary in zip(spans, names[name]):
            mapping = categories.get_indexer(dictionary).astype("int32")
            codes[start:end] = mapping[codes[start:end]]
        columns[name] = pd.Categorical.from_codes(codes, categories=categories)
    frame = pd.DataFrame({"practice_code": columns["practice_code"], "month": month,
                          "bnf_code": columns["bnf_code"], **values}, copy=False)
    return frame[PRESCRIBING_COLUMNS]


def load_prescribing(paths: Path | Iterable[Path]) -> pd.DataFrame:
    """Load PHS monthly prescribing files into ``practice_code, month, bnf_code, items, quantity, cost``.

    ``paths``: a list of ``pitcYYYYMM.csv`` files, one such file, or a folder (searched recursively
    for ``pitcYYYYMM.csv``). Files are read one at a time (peak memory is about the result plus one
    month), and each file's aggregate is cached as Parquet keyed by the SHA-256 of its content; the
    combined table of a set of several files is cached too (keyed by their digests, in order), so
    reloading the same months is one fast read.

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
    digests = [file_sha256(path) for path in files]
    combined = cache_dir("prescribing") / (
        "set-" + hashlib.sha256("\n".join(digests).encode()).hexdigest() + f"-v{CACHE_VERSION}{COMBINED_SUFFIX}")
    if combined.is_file():
        table = feather.read_table(combined, memory_map=True)
        return table.to_pandas(split_blocks=True, self_destruct=True)[PRESCRIBING_COLUMNS]
    frame = _assemble([_ensure_cached(path) for path in files])
    if len(files) > 1:
        tmp = combined.with_name(f"{combined.name}.{os.getpid()}.tmp")
        table = pa.Table.from_pandas(frame, preserve_index=False).combine_chunks()
        feather.write_feather(table, tmp, compression="uncompressed", chunksize=max(len(frame), 1))
        del table
        os.replace(tmp, combined)
    return frame
