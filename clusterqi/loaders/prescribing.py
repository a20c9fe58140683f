"""Prescribing per practice, month and BNF code, from PHS "Prescriptions in the Community".

Each monthly ``pitcYYYYMM.csv`` holds about 1.4 million rows (150+ MB). The loader reads only the
six columns it needs straight into Arrow with narrow types (the two code columns dictionary-encoded,
so no Python string per row), one month at a time, drops the non-practice codes 99996-99999
(community pharmacy, unallocated, hospital, dental), and sums items, quantity and cost per
practice x month x BNF code. A file that does not fit those types (a blank or unparseable number,
a negative count, a bad month, codes that pandas would have read as numbers other than plain
integers) is read again with pandas' pyarrow engine, which gives the same table or the DataError
naming the cell. Each file's result is cached as Parquet in ``clusterqi.paths.cache_dir("prescribing")``
under the SHA-256 of the file's content, so a second load reads only the small Parquet files (never
written beside the inputs, which may be read-only).

Peak memory of a cold load is the result plus about 230 MB, of which the interpreter, pandas and
Arrow take ~110 MB (or, for a short set, one month's read: about 490 MB in all for a national
month). The result takes about 39 bytes a row (36 before the two description columns, whose
codes add one to four bytes): 12 synthetic national months (17.3 million rows) take about
650 MB, and ``benchmarks/ingest.py`` measured their cold load at 896 MB peak RSS (830 MB
without the description columns). All months
are read and cached first, handing the memory each read freed back to the system; only then is the
result allocated in its final dtypes and filled from the caches a batch of rows at a time; and the
combined cache file is written from the result's own buffers, without a copy.

Header variants accepted (DESIGN.md section 3): with or without ``DMDCode``/``PrescribedType``, and
``PaidDateMonth`` (``YYYYMM``) or, in some older files, ``PaidDate`` (``YYYYMM`` or ``YYYYMMDD``).
Columns may come in any order; extra columns are ignored.

Result columns: ``practice_code`` and ``bnf_code`` (categoricals of strings, to keep 12+ months
of national data small), ``month`` (datetime64, first day of the month), ``items`` (int64),
``quantity``, ``cost`` (float64), and PHS's own ``description`` (``BNFItemDescription``: the
presentation's name, whose strength and form dose-based indicators read) and ``dmd_code``
(``DMDCode``), both categoricals of strings, all-null where a file lacks the column (the file
still loads). Both describe the presentation, so each BNF code of a file takes the first
non-blank value its rows give (rows are summed per practice, month and BNF code).

Why one module of this size: reading PITC is one concept with many awkward corners (encodings,
layouts, month checks, the content-keyed cache); splitting the corners from the reader would hide
why each exists.

Example usage::

    prescribing = load_prescribing(sorted(folder.glob("pitc*.csv")))
    prescribing[prescribing["bnf_code"].str.startswith("0501")].groupby("month")["items"].sum()
"""

from __future__ import annotations

import ctypes
import ctypes.util
import hashlib
import os
import re
import warnings
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.feather as feather
import pyarrow.parquet as pq

from clusterqi.errors import DataError
from clusterqi.loaders.reading import (
    ENCODINGS,
    HEADER_PROBE_BYTES,
    MAX_COUNT,
    check_file_end,
    file_sha256,
    read_header,
    require_columns,
    spreadsheet_row,
)
from clusterqi.paths import cache_dir, replacing

__all__ = [
    "PRESCRIBING_FILE_PATTERN",
    "PRESCRIBING_COLUMNS",
    "DESCRIPTION_COLUMNS",
    "NON_PRACTICE_CODES",
    "MONTH_COLUMNS",
    "CACHE_VERSION",
    "COMBINED_KEEP",
    "prescribing_files",
    "month_from_name",
    "read_prescribing_file",
    "check_month_matches_name",
    "load_prescribing",
]

#: Monthly practice-level files only (not ``disp_pitc*`` dispenser or ``hb_pitc*`` board files).
PRESCRIBING_FILE_PATTERN = re.compile(r"^pitc(?P<year>\d{4})(?P<month>\d{2})\.csv$", re.IGNORECASE)
PRESCRIBING_COLUMNS = ["practice_code", "month", "bnf_code", "items", "quantity", "cost", "description",
                       "dmd_code"]
#: PHS columns kept when a file has them -> result column (all-null when a file lacks one).
DESCRIPTION_COLUMNS = {"BNFItemDescription": "description", "DMDCode": "dmd_code"}
#: GPPractice codes that are not GP practices: community pharmacy, unallocated, hospital, dental.
NON_PRACTICE_CODES = ("99996", "99997", "99998", "99999")
#: Raw PHS column -> canonical name for the measures.
MEASURE_COLUMNS = {"NumberOfPaidItems": "items", "PaidQuantity": "quantity", "GrossIngredientCost": "cost"}
#: The month column, newest spelling first.
MONTH_COLUMNS = ("PaidDateMonth", "PaidDate")
#: Bump when the cached table's layout or meaning changes (old cache files are then ignored).
CACHE_VERSION = 2  # 2: description and dmd_code columns
#: Per-month cache files: small on disk. No column statistics: nothing reads them, and computing
#: them took about 40% of the write.
PARQUET_OPTIONS = {"compression": "snappy", "write_statistics": False}
#: The combined table of a set of months is also kept as one uncompressed Arrow IPC (Feather v2)
#: file: memory-mapped, it converts to pandas without decoding or copying the numbers, which is
#: what keeps a cached reload of 12 national months under 1 s (Parquet must decode: ~4x slower).
COMBINED_SUFFIX = ".arrow"
#: Combined files kept: the most recently used. One for 12 national months is ~600 MB, and each
#: new set of months (a month added, a file corrected) makes a new one, so older sets are removed
#: (their per-month Parquet files stay: reassembling a set from them takes seconds).
COMBINED_KEEP = 3
#: Resolution of the ``month`` column (the same as pandas gives for parsed dates).
MONTH_UNIT = "us"
#: ``PaidDate`` values above this are YYYYMMDD rather than YYYYMM.
_YYYYMM_MAX = 999_999
#: Bytes of CSV parsed per block: small blocks keep the parser's buffers small (16 MB blocks cost
#: about 140 MB more peak memory a month, for no gain in speed).
CSV_BLOCK_BYTES = 1 << 20
#: The strings pandas' ``read_csv`` reads as missing by default (its documented ``na_values``), so the
#: direct Arrow read sees a blank exactly where the pandas read would.
_NA_STRINGS = ("", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN",
               "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null")
_CODES = pa.dictionary(pa.int32(), pa.string())
#: Description columns are read as bytes and only their distinct values decoded (UTF-8, else
#: Windows-1252, as :data:`clusterqi.loaders.reading.ENCODINGS`), so a file's encoding never
#: sends a well-formed file down the slow path.
_TEXT_CODES = pa.dictionary(pa.int32(), pa.binary())


def _load_libc():
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return libc if hasattr(libc, "malloc_trim") else None
    except OSError:
        return None


#: glibc's ``malloc_trim`` where there is one (Linux), to hand freed heap pages back to the system.
_LIBC = _load_libc()


def _release_memory() -> None:
    """Give back to the system the freed memory that Arrow's pool and malloc keep for reuse.

    Called after each month's read and each month's assembly, so what one month left behind is
    not still held when the result is filled in: on 12 national months this lowered the cold peak
    from about 840 to 815 MB.
    """
    pa.default_memory_pool().release_unused()
    if _LIBC is not None:
        _LIBC.malloc_trim(0)


def month_from_name(path: Path) -> pd.Timestamp | None:
    """The month a ``pitcYYYYMM.csv`` file name states, or None for other names (and for an
    impossible month such as ``pitc202413.csv``, whose rows then say what is wrong)."""
    match = PRESCRIBING_FILE_PATTERN.match(Path(path).name)
    if not match or not 1 <= int(match["month"]) <= 12:
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
    for raw in ("NumberOfPaidItems", "PaidQuantity", "GrossIngredientCost"):
        huge = frame[raw].abs() > MAX_COUNT
        if huge.any():
            i = int(huge.to_numpy().nonzero()[0][0])
            raise DataError(
                f"{Path(path).name}, row {spreadsheet_row(i)} (GPPractice {codes.iloc[i]}), column "
                f"{raw}: value {frame[raw].iloc[i]:.17g} is impossibly large; expected at most "
                f"{MAX_COUNT:,} (a cell beyond that would wrap around in a 64-bit column)")
    negative = frame["NumberOfPaidItems"] < 0
    if negative.any():
        i = int(negative.to_numpy().nonzero()[0][0])
        raise DataError(
            f"{Path(path).name}, row {spreadsheet_row(i)} (GPPractice {codes.iloc[i]}), column NumberOfPaidItems: "
            f"value {frame['NumberOfPaidItems'].iloc[i]} is a negative count; expected a whole number of items >= 0"
        )


def _parse_months(numbers: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, pd.Series]:
    """YYYYMM (or YYYYMMDD) integers as YYYYMM, codes into their distinct values, and those values'
    first days (NaT where a value is not a month)."""
    numbers = np.where(numbers > _YYYYMM_MAX, numbers // 100, numbers)
    codes, uniques = pd.factorize(numbers)
    starts = pd.to_datetime(pd.Series(uniques).astype("str"), format="%Y%m", errors="coerce")
    return numbers, codes, uniques, starts


def _month_starts(numbers: np.ndarray, frame: pd.DataFrame, path: Path, column: str) -> tuple[np.ndarray, pd.DatetimeIndex]:
    """Codes into, and the first days of, the distinct months of YYYYMM (or YYYYMMDD) integers."""
    numbers, codes, uniques, starts = _parse_months(numbers)
    if starts.isna().any():
        bad = uniques[starts.isna().to_numpy()][0]
        i = int((numbers == bad).nonzero()[0][0])
        raise DataError(
            f"{Path(path).name}, row {spreadsheet_row(i)} (GPPractice {frame['GPPractice'].iloc[i]}), column {column}: "
            f"value {frame[column].iloc[i]} is not a month; expected YYYYMM such as 202410"
        )
    return codes, pd.DatetimeIndex(starts).as_unit(MONTH_UNIT)


def _codes_and_names(values, keep: np.ndarray) -> tuple[np.ndarray, pd.Index]:
    """Integer codes of the kept rows and their distinct names as trimmed strings (values that
    differ only by spaces share a code)."""
    codes, uniques = pd.factorize(values[keep])
    merge, names = pd.factorize(pd.Index(uniques).astype("str").str.strip())
    return merge[codes], pd.Index(names, dtype="str")


def _per_code(bnf_codes: np.ndarray, n_codes: int, codes: np.ndarray | None) -> np.ndarray:
    """For each BNF code number, the first non-missing (>= 0) value of ``codes`` on its rows; -1 if none."""
    out = np.full(n_codes, -1, dtype=np.int64)
    if codes is None:
        return out
    present = codes >= 0
    rows_codes, rows_values = bnf_codes[present], codes[present]
    out[rows_codes[::-1]] = rows_values[::-1]  # the last write wins: reversed, the first row does
    return out


def _described(table: pd.DataFrame, bnf_of_group: np.ndarray, n_codes: int, bnf_codes: np.ndarray,
               described: dict[str, tuple[np.ndarray, pd.Index]] | None) -> pd.DataFrame:
    """Add ``description`` and ``dmd_code`` (categoricals; -1 codes where missing) to grouped rows."""
    for name in DESCRIPTION_COLUMNS.values():
        if described and name in described:
            row_codes, names = described[name]
            first = _per_code(bnf_codes, n_codes, row_codes)[bnf_of_group]
        else:
            names, first = pd.Index([], dtype="str"), np.full(len(bnf_of_group), -1, dtype=np.int64)
        table[name] = pd.Categorical.from_codes(first, categories=names, validate=False)
    return table


def _sum_groups(practice_codes: np.ndarray, practices: pd.Index, bnf_codes: np.ndarray, bnf_names: pd.Index,
                month_codes: np.ndarray, months: pd.DatetimeIndex, measures: dict[str, np.ndarray],
                described: dict[str, tuple[np.ndarray, pd.Index]] | None = None) -> pd.DataFrame:
    """Sum the measures (float64 arrays, one value a row) per practice x month x BNF code.

    ``practices`` and ``bnf_names`` must be distinct (codes differing only by spaces merged first).
    ``described``: result column -> (per-row codes, -1 where blank; distinct names) for the
    description columns a file has; each BNF code takes the first non-blank value of its rows.

    One integer key per row and ``numpy.bincount``: several times faster than a pandas group-by
    over strings. Groups come in the order of their first row; each sum adds its rows in file order.
    """
    key = (practice_codes.astype("int64") * len(bnf_names) + bnf_codes) * len(months) + month_codes
    groups, group_keys = pd.factorize(key)
    del key
    sums = {name: np.bincount(groups, weights=weights, minlength=len(group_keys)) for name, weights in measures.items()}
    del groups
    month_index = group_keys % len(months)
    rest = group_keys // len(months)
    table = pd.DataFrame({
        "practice_code": pd.Categorical.from_codes(rest // len(bnf_names), categories=practices),
        "month": months[month_index],
        "bnf_code": pd.Categorical.from_codes(rest % len(bnf_names), categories=bnf_names),
        "items": np.rint(sums["items"]).astype("int64"),
        "quantity": sums["quantity"],
        "cost": sums["cost"],
    }, copy=False)  # fresh arrays: no need to copy them into 2-D blocks
    table = _described(table, rest % len(bnf_names), len(bnf_names), bnf_codes, described)
    return table[PRESCRIBING_COLUMNS]


def _text_codes(values: pd.Series, keep: np.ndarray) -> tuple[np.ndarray, pd.Index]:
    """Per kept row, codes into the distinct trimmed non-blank texts of a description column
    (-1 where blank)."""
    text = values[keep].astype("str").str.strip()
    blank = values[keep].isna().to_numpy() | (text == "").to_numpy()
    codes, names = pd.factorize(text.where(~blank))
    return codes.astype(np.int64), pd.Index(names, dtype="str")


def _read_with_pandas(path: Path, needed: list[str], month_column: str) -> pd.DataFrame:
    """Any readable PITC file, or the DataError naming its first bad cell.

    Used only for files :func:`_read_with_arrow` declines: for a national month it peaks at about
    730 MB (with the imports), against about 490 MB for the Arrow read.
    """
    optional = [name for name in DESCRIPTION_COLUMNS if name in read_header(path)]
    try:
        try:
            frame = pd.read_csv(path, engine="pyarrow", usecols=needed + optional,
                                dtype={name: "str" for name in optional})
        except (UnicodeDecodeError, pa.ArrowInvalid):
            if not optional:
                raise
            frame = pd.read_csv(path, engine="pyarrow", usecols=needed + optional,
                                dtype={name: "str" for name in optional}, encoding=ENCODINGS[-1])
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
    measures = {name: frame[raw].to_numpy(dtype="float64")[keep] for raw, name in MEASURE_COLUMNS.items()}
    described = {DESCRIPTION_COLUMNS[raw]: _text_codes(frame[raw], keep) for raw in optional}
    return _sum_groups(practice_codes, practices, bnf_codes, bnf_names, month_codes[keep], months, measures,
                       described)


def _pandas_names(dictionary: pa.Array) -> pd.Index | None:
    """The names pandas' read gives a code column whose distinct raw values are ``dictionary``.

    pandas lets Arrow infer each column's type from all its values: text gives trimmed strings, a
    column of whole numbers gives ``str(int)`` (``" 10002"`` -> ``"10002"``, ``"010002"`` ->
    ``"10002"``). The distinct values decide that type just as all the rows do, so the same
    inference is run on them. None for other inferred types (floats, dates: never PHS codes).
    """
    values = pd.Series(dictionary.to_numpy(zero_copy_only=False), dtype="object")
    quoted = '"' + values.str.replace('"', '""', regex=False) + '"'
    try:
        probe = pacsv.read_csv(
            pa.BufferReader(("x\n" + "\n".join(quoted) + "\n").encode()),
            convert_options=pacsv.ConvertOptions(null_values=list(_NA_STRINGS), strings_can_be_null=True),
        ).column(0)
    except pa.ArrowException:
        return None
    if pa.types.is_string(probe.type) or pa.types.is_large_string(probe.type):
        return pd.Index(values.str.strip(), dtype="str")
    if pa.types.is_integer(probe.type):
        return pd.Index(probe.to_numpy().astype("str"), dtype="str")
    return None


def _merged_codes(column: pa.ChunkedArray) -> tuple[np.ndarray, pd.Index] | None:
    """Per-row codes into the column's distinct names (raw values that differ only by spaces share
    a name), or None if pandas would not have read the column as text or whole numbers."""
    column = column.combine_chunks()  # one dictionary for all the file's blocks
    names = _pandas_names(column.dictionary)
    if names is None:
        return None
    merge, distinct = pd.factorize(names)
    return merge[column.indices.to_numpy()], pd.Index(distinct, dtype="str")


def _compact(codes: np.ndarray, names: pd.Index) -> tuple[np.ndarray, pd.Index]:
    """Drop the names no code uses (such as the non-practice codes once their rows are dropped)."""
    used = np.zeros(len(names), dtype=bool)
    used[codes] = True
    if used.all():
        return codes, names
    return (np.cumsum(used) - 1)[codes], names[used]


def _read_with_arrow(path: Path, needed: list[str], month_column: str) -> pd.DataFrame | None:
    """The table of a well-formed PITC file read straight into Arrow, or None if the file does not
    fit the narrow types (then :func:`_read_with_pandas` gives the table or the exact error).

    Codes are read dictionary-encoded, so a row costs a few integers rather than Python strings;
    small parse blocks keep the parser's buffers small.
    """
    optional = [name for name in DESCRIPTION_COLUMNS if name in read_header(path)]
    types = {"GPPractice": _CODES, "BNFItemCode": _CODES, "NumberOfPaidItems": pa.int64(),
             "PaidQuantity": pa.float64(), "GrossIngredientCost": pa.float64(), month_column: pa.int64(),
             **{name: _TEXT_CODES for name in optional}}
    try:
        table = pacsv.read_csv(
            path,
            read_options=pacsv.ReadOptions(block_size=CSV_BLOCK_BYTES),
            convert_options=pacsv.ConvertOptions(include_columns=needed + optional, column_types=types,
                                                 null_values=list(_NA_STRINGS), strings_can_be_null=True),
        )
    except (pa.ArrowException, ValueError):
        return None
    if table.num_rows == 0 or any(table.column(name).null_count for name in needed):
        return None
    items = table.column("NumberOfPaidItems").to_numpy()
    if (items < 0).any() or (items > MAX_COUNT).any():
        return None
    if any(np.nanmax(np.abs(table.column(raw).to_numpy()), initial=0) > MAX_COUNT
           for raw in ("PaidQuantity", "GrossIngredientCost")):
        return None
    _, month_codes, _, starts = _parse_months(table.column(month_column).to_numpy())
    if starts.isna().any():
        return None
    months = pd.DatetimeIndex(starts).as_unit(MONTH_UNIT)
    practice, bnf = _merged_codes(table.column("GPPractice")), _merged_codes(table.column("BNFItemCode"))
    if practice is None or bnf is None:
        return None
    (practice_codes, practices), (bnf_codes, bnf_names) = practice, bnf
    keep = ~np.isin(practices, NON_PRACTICE_CODES)[practice_codes]
    everything = bool(keep.all())

    def kept(values: np.ndarray) -> np.ndarray:
        return values if everything else values[keep]

    practice_codes, practices = _compact(kept(practice_codes), practices)
    bnf_codes, bnf_names = _compact(kept(bnf_codes), bnf_names)
    measures = {"items": kept(items.astype("float64"))}
    for raw, name in MEASURE_COLUMNS.items():
        if name != "items":
            measures[name] = kept(table.column(raw).to_numpy())
    described = {DESCRIPTION_COLUMNS[raw]: _dictionary_codes(table.column(raw), kept) for raw in optional}
    del table, items
    return _sum_groups(practice_codes, practices, bnf_codes, bnf_names, kept(month_codes), months, measures,
                       described)


def _decode(raw: bytes | str | None) -> str:
    """One description's bytes as text: UTF-8, else Windows-1252 (which decodes any byte but five)."""
    if raw is None:
        return ""
    if isinstance(raw, str):
        return raw
    for encoding in ENCODINGS:
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    return raw.decode("utf-8", errors="replace")


def _dictionary_codes(column: pa.ChunkedArray, kept) -> tuple[np.ndarray, pd.Index]:
    """Per kept row, codes into the distinct trimmed non-blank texts of a dictionary-read description
    column (-1 where blank or missing)."""
    column = column.combine_chunks()
    names = pd.Index([_decode(raw) for raw in column.dictionary.to_pylist()], dtype="str").str.strip()
    merge, distinct = pd.factorize(names.where(names != ""))
    merge = np.append(merge.astype(np.int64), -1)  # the last slot: missing
    indices = column.indices.fill_null(len(names)).to_numpy().astype(np.int64)
    return kept(merge[indices]), pd.Index(distinct, dtype="str")


def read_prescribing_file(path: Path) -> pd.DataFrame:
    """Read and aggregate one monthly PITC file (no cache). See :func:`load_prescribing`.

    Well-formed files are read straight into Arrow with narrow types; any other file is read with
    pandas, which gives the same table or the DataError naming the first bad cell.
    """
    path = Path(path)
    if path.stat().st_size == 0:
        raise DataError(f"{path.name}: the file is empty; expected a PHS prescribing CSV with a header line")
    header = read_header(path)
    month_column = next((name for name in MONTH_COLUMNS if name in header), MONTH_COLUMNS[0])
    needed = ["GPPractice", "BNFItemCode", *MEASURE_COLUMNS, month_column]
    require_columns(header, needed, path, "PHS prescribing (PaidDate is accepted for PaidDateMonth)")
    check_file_end(path)
    table = _read_with_arrow(path, needed, month_column)
    table = table if table is not None else _read_with_pandas(path, needed, month_column)
    named = month_from_name(path)
    if named is not None and len(table) and (table["month"] != named).any():
        _refuse_other_month(path, named, month_column)
    return table


def _month_of(value: str) -> pd.Timestamp | None:
    digits = value.strip().strip('"')[:6]
    try:
        return pd.Timestamp(f"{digits[:4]}-{digits[4:6]}-01")
    except ValueError:
        return None


def _refuse_other_month(path: Path, named: pd.Timestamp, month_column: str) -> None:
    """Raise the DataError for a file holding a month its name does not: at its first such row."""
    header = read_header(path)
    position = header.index(month_column)
    with open(path, "rb") as handle:
        handle.readline()
        for i, line in enumerate(handle):
            cells = line.decode("utf-8", errors="replace").rstrip("\r\n").split(",")
            if len(cells) != len(header):
                continue   # a quoted comma in a description: the month is judged on other rows
            month = _month_of(cells[position])
            if month is not None and month != named:
                raise DataError(
                    f"{path.name}, row {spreadsheet_row(i)}, column {month_column}: value "
                    f"{cells[position].strip()} is {month:%Y-%m}, but the file name says "
                    f"{named:%Y-%m}; expected every row of a PHS monthly file to be its month "
                    "(a renamed or mislabelled file would count a month twice and lose another)")
    raise DataError(f"{path.name}: holds months other than {named:%Y-%m}, the month its name says")


def check_month_matches_name(path: Path) -> None:
    """The first data row's month against the file's name: cheap enough for every load.

    The whole file is checked when it is first read (and cached by content); this catches a
    cached file that was renamed since, e.g. August's data saved as ``pitc202607.csv``.
    """
    path = Path(path)
    named = month_from_name(path)
    if named is None:
        return
    header = read_header(path)
    month_column = next((name for name in MONTH_COLUMNS if name in header), None)
    if month_column is None:
        return
    with open(path, "rb") as handle:
        head = handle.read(HEADER_PROBE_BYTES).split(b"\n")
    if len(head) < 3:   # no complete data row in the probe: the full read decides
        return
    cells = head[1].decode("utf-8", errors="replace").rstrip("\r").split(",")
    if len(cells) == len(header):
        month = _month_of(cells[header.index(month_column)])
        if month is not None and month != named:
            _refuse_other_month(path, named, month_column)


def _cache_path(path: Path) -> Path:
    return cache_dir("prescribing") / f"{file_sha256(path)}-v{CACHE_VERSION}.parquet"


def _ensure_cached(path: Path) -> Path:
    """The Parquet cache file of one PITC file, built first if missing (atomic write)."""
    target = _cache_path(path)
    if target.is_file():
        try:
            pq.ParquetFile(target).metadata   # the footer: a cut or garbled file fails here
        except (OSError, ValueError, pa.ArrowException) as exc:
            warnings.warn(f"the cached copy of {path.name} could not be read ({exc}); it is "
                          "discarded and read again from the CSV", stacklevel=3)
            target.unlink(missing_ok=True)
    if not target.is_file():
        table = pa.Table.from_pandas(read_prescribing_file(path), preserve_index=False)
        with replacing(target) as tmp:
            pq.write_table(table, tmp, **PARQUET_OPTIONS)
        del table
        _release_memory()
    return target


#: The categorical columns (the description columns may hold missing values).
CODE_COLUMNS = ("practice_code", "bnf_code", "description", "dmd_code")


#: Rows of a cached month converted at a time while assembling, on one thread: this bounds what a
#: month adds to the result's memory (reading whole months, threaded, peaked ~65 MB higher on 12
#: national months, and was no faster).
ASSEMBLY_BATCH_ROWS = 1 << 16


def _as_dictionary(column: pa.Array) -> pa.DictionaryArray:
    """A cached code column as a dictionary array (the cache stores it so; older files may not)."""
    return column if pa.types.is_dictionary(column.type) else column.dictionary_encode()


def _names(dictionary: pa.Array) -> pd.Index:
    return pd.Index(dictionary.to_numpy(zero_copy_only=False), dtype="str")


def _code_dtype(count: int) -> np.dtype:
    """The integer type pandas gives the codes of a categorical of ``count`` categories."""
    for dtype in (np.int8, np.int16, np.int32):
        if count < np.iinfo(dtype).max:
            return np.dtype(dtype)
    return np.dtype(np.int64)


class _Recoder:
    """Writes one code column of cached batches into the result's codes of the set's categories."""

    def __init__(self, categories: pd.Index, out: np.ndarray):
        self.categories, self.out = categories, out
        self.dictionary: pa.Array | None = None
        self.mapping = np.empty(0, dtype=out.dtype)

    def write(self, column: pa.Array, offset: int) -> None:
        column = _as_dictionary(column)
        if self.dictionary is None or not column.dictionary.equals(self.dictionary):  # batches share one
            self.dictionary = column.dictionary
            mapping = self.categories.get_indexer(_names(column.dictionary))
            self.mapping = np.append(mapping, -1).astype(self.out.dtype)  # last slot: missing
        indices = column.indices
        if indices.null_count:
            indices = indices.fill_null(len(self.mapping) - 1)
        np.take(self.mapping, indices.to_numpy(zero_copy_only=False),
                out=self.out[offset:offset + len(column)])


def _assemble(parquet_files: list[Path]) -> pd.DataFrame:
    """Concatenate cached months into arrays of the result's final types, filled in place.

    A first pass reads only the code columns, for the sorted categories of the whole set (so each
    month's codes go straight into the result's int8/int16 code arrays); the second converts the
    months a batch of rows at a time, adding a few tens of MB to the result at the peak.
    """
    total = 0
    categories = {name: pd.Index([], dtype="str") for name in CODE_COLUMNS}
    for path in parquet_files:
        table = pq.read_table(path, columns=list(CODE_COLUMNS), use_threads=False)
        total += table.num_rows
        for name in CODE_COLUMNS:
            for chunk in table.column(name).chunks:
                categories[name] = categories[name].union(_names(_as_dictionary(chunk).dictionary))
        del table
    categories = {name: index.sort_values() for name, index in categories.items()}
    codes = {name: np.empty(total, dtype=_code_dtype(len(categories[name]))) for name in CODE_COLUMNS}
    recoders = {name: _Recoder(categories[name], codes[name]) for name in CODE_COLUMNS}
    month = np.empty(total, dtype=f"datetime64[{MONTH_UNIT}]")
    values = {name: np.empty(total, dtype="int64" if name == "items" else "float64") for name in MEASURE_COLUMNS.values()}
    offset = 0
    for path in parquet_files:
        for batch in pq.ParquetFile(path).iter_batches(batch_size=ASSEMBLY_BATCH_ROWS, use_threads=False):
            end = offset + batch.num_rows
            for name, recoder in recoders.items():
                recoder.write(batch.column(name), offset)
            month[offset:end] = batch.column("month").to_numpy()
            for name, array in values.items():
                array[offset:end] = batch.column(name).to_numpy()
            offset = end
        _release_memory()
    # every code is valid by construction: skip from_codes' checks (temporaries the size of the codes)
    columns = {name: pd.Categorical.from_codes(codes[name], categories=categories[name], validate=False)
               for name in CODE_COLUMNS}
    frame = pd.DataFrame({"practice_code": columns["practice_code"], "month": month,
                          "bnf_code": columns["bnf_code"], **values,
                          "description": columns["description"], "dmd_code": columns["dmd_code"]}, copy=False)
    return frame[PRESCRIBING_COLUMNS]


def _arrow_table(frame: pd.DataFrame) -> pa.Table:
    """The result as an Arrow table over its own buffers: numbers, dates and category codes are
    wrapped, not copied (``Table.from_pandas`` also builds a null mask per categorical column).

    Reading it back (``to_pandas``) gives the same columns, dtypes and values.
    """
    columns = {}
    for name in PRESCRIBING_COLUMNS:
        series = frame[name]
        if isinstance(series.dtype, pd.CategoricalDtype):
            codes = series.array.codes
            mask = codes < 0
            columns[name] = pa.DictionaryArray.from_arrays(
                pa.array(codes, mask=mask if mask.any() else None),
                pa.array(series.array.categories, type=pa.large_string()))
        else:
            columns[name] = pa.array(series.to_numpy())
    return pa.table(columns)


def load_prescribing(paths: Path | Iterable[Path]) -> pd.DataFrame:
    """Load PHS monthly prescribing files into ``practice_code, month, bnf_code, items, quantity, cost``.

    ``paths``: a list of ``pitcYYYYMM.csv`` files, one such file, or a folder (searched recursively
    for ``pitcYYYYMM.csv``). Files are read one at a time and each file's aggregate is cached as
    Parquet keyed by the SHA-256 of its content; only then is the result assembled from those
    caches (peak memory: the result plus about 230 MB, imports included). The combined table of
    a set of several files is cached too (keyed by their digests, in order), so reloading the
    same months is one fast read; only the :data:`COMBINED_KEEP` most recently used sets are kept.

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
    for path in files:
        check_month_matches_name(path)
    digests = [file_sha256(path) for path in files]
    combined = cache_dir("prescribing") / (
        "set-" + hashlib.sha256("\n".join(digests).encode()).hexdigest() + f"-v{CACHE_VERSION}{COMBINED_SUFFIX}")
    if combined.is_file():
        try:
            table = feather.read_table(combined, memory_map=True)
        except (OSError, ValueError, pa.ArrowException) as exc:
            warnings.warn(f"the cached set of {len(files)} prescribing month(s) could not be read "
                          f"({exc}); it is discarded and built again", stacklevel=2)
            combined.unlink(missing_ok=True)
        else:
            _touch(combined)
            return table.to_pandas(split_blocks=True, self_destruct=True)[PRESCRIBING_COLUMNS]
    cached = [_ensure_cached(path) for path in files]  # every CSV read is over before the result exists
    frame = _assemble(cached)
    if len(files) > 1:
        table = _arrow_table(frame)
        with replacing(combined) as tmp:
            feather.write_feather(table, tmp, compression="uncompressed", chunksize=max(len(frame), 1))
        del table
        _prune_combined(combined.parent, keep=COMBINED_KEEP)
    return frame


def _touch(path: Path) -> None:
    """Mark a cache file as just used (its modification time orders the pruning)."""
    try:
        os.utime(path)
    except OSError:  # a read-only cache still reads
        pass


def _prune_combined(folder: Path, keep: int) -> list[Path]:
    """Remove all but the ``keep`` most recently used combined files in ``folder``; return those removed.

    A removed file another process still has memory-mapped stays readable to it until it is
    unmapped (POSIX); where the system refuses to remove a file in use, it is left for next time.
    """
    def used(path: Path) -> float:
        try:
            return path.stat().st_mtime
        except OSError:
            return 0.0

    files = sorted(folder.glob(f"set-*{COMBINED_SUFFIX}"), key=used, reverse=True)
    removed = []
    for path in files[keep:]:
        try:
            path.unlink()
            removed.append(path)
        except OSError:
            pass
    return removed
