"""Reading PHS CSV files safely: encodings, byte-order marks, line ends, and errors for people.

PHS publishes most files as UTF-8, some with a byte-order mark, some as Windows-1252, some with
Windows (CRLF) line ends. :func:`read_text_table` reads any of these into a DataFrame of raw
strings (nothing guessed: every cell is text, blanks stay ``""``), so the loaders decide what each
column means and can say exactly which cell was wrong.

Row numbers in messages count the way a spreadsheet does: the header is row 1, the first data row
is row 2.

Example usage::

    frame = read_text_table(path)
    require_columns(frame, ["PracticeCode", "PracticeListSize"], path)
    sizes = parse_counts(frame, "PracticeListSize", path)
"""

from __future__ import annotations

import hashlib
import io
import json
import re
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from clusterqi.errors import DataError
from clusterqi.paths import cache_dir, replacing

__all__ = [
    "ENCODINGS",
    "HEADER_ROW",
    "WARNING_COLUMNS",
    "MAX_COUNT",
    "decode_text",
    "check_last_line",
    "check_file_end",
    "read_header",
    "read_text_table",
    "require_columns",
    "parse_counts",
    "spreadsheet_row",
    "describe_cell",
    "file_sha256",
    "warning_row",
    "warnings_frame",
]

#: Encodings tried in order: UTF-8 (a byte-order mark is dropped), then Windows-1252.
ENCODINGS = ("utf-8-sig", "cp1252")
#: Spreadsheet row number of the header line; data row ``i`` (0-based) is row ``i + 2``.
HEADER_ROW = 1
#: Columns of the tidy warnings table (see docs/architecture.md).
WARNING_COLUMNS = ["kind", "file", "row", "column", "practice_code", "value", "message"]
#: Bytes read from the start of a file to find its header line.
HEADER_PROBE_BYTES = 64 * 1024
#: The largest count any PHS file can hold (items, patients): beyond it a value is impossible
#: (and beyond 2**63 it would wrap around in a 64-bit column), so it is refused.
MAX_COUNT = 10**12
#: Block size for hashing large files.
HASH_BLOCK_BYTES = 8 * 1024 * 1024


_NOT_UTF8 = re.compile("[\udc80-\udcff]")
_UTF8_NON_ASCII = re.compile("[^\x00-\x7f\udc80-\udcff]")


def _line_of(text: str, position: int) -> int:
    """1-based line number of a character position (the header is line 1)."""
    return text.count("\n", 0, position) + 1


def decode_text(raw: bytes, path: Path) -> str:
    """Decode a PHS file's bytes: UTF-8 (with or without BOM), else a whole-file Windows-1252.

    A file is read as Windows-1252 only when it is consistently that encoding: no byte sequence
    in it is valid multi-byte UTF-8. A UTF-8 file with a stray Windows-1252 byte (one é saved
    by another program) is refused naming the line and byte, instead of garbling every accented
    name in the file.
    """
    name = Path(path).name
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    text = raw.decode("utf-8-sig", errors="surrogateescape")
    stray = _NOT_UTF8.search(text)
    utf8 = _UTF8_NON_ASCII.search(text)
    if utf8 is not None and stray is not None:
        byte = ord(stray.group()) - 0xDC00
        raise DataError(
            f"{name}, line {_line_of(text, stray.start())}: byte 0x{byte:02x} is not UTF-8, but "
            f"the rest of the file is UTF-8 (e.g. {utf8.group()!r} on line "
            f"{_line_of(text, utf8.start())}); expected one encoding for the whole file: re-save "
            "it as UTF-8"
        )
    try:
        return raw.decode("cp1252")
    except UnicodeDecodeError as exc:
        raise DataError(
            f"{name}, line {_line_of(raw.decode('latin-1'), exc.start)}: byte {exc.start} (value "
            f"0x{raw[exc.start]:02x}) is neither UTF-8 nor Windows-1252 text; expected a CSV file "
            "as PHS publishes it"
        ) from None


def check_last_line(raw: bytes, path: Path) -> None:
    """Refuse a file whose last line has no line ending: it may have been cut short.

    PHS files end every line, the last one included, with a line break; a copy or download that
    stopped half-way does not, and its last row may hold a cut value ("Torrance Undef").
    """
    if raw and not raw.endswith(b"\n"):
        lines = raw.count(b"\n") + 1
        tail = raw[raw.rfind(b"\n") + 1:][-60:].decode("utf-8", errors="replace")
        raise DataError(
            f"{Path(path).name}, line {lines}: the last line has no line ending, so the file may "
            f"have been cut short (it ends {tail!r}); expected a complete file: download or copy "
            "it again"
        )


def check_file_end(path: Path) -> None:
    """:func:`check_last_line` for a (large) file on disk, reading only its last byte."""
    with open(path, "rb") as handle:
        handle.seek(0, 2)
        size = handle.tell()
        if not size:
            return
        handle.seek(max(size - 4096, 0))
        tail = handle.read()
    if not tail.endswith(b"\n"):
        check_last_line(tail, path)


def read_header(path: Path) -> list[str]:
    """The column names of a CSV file, read from its first line only (cheap for large files).

    Raises DataError if the file is empty.
    """
    path = Path(path)
    with open(path, "rb") as handle:
        head = handle.read(HEADER_PROBE_BYTES)
    line = head.split(b"\n", 1)[0].rstrip(b"\r")
    text = decode_text(line, path).strip()
    if not text:
        raise DataError(f"{path.name}: the file is empty; expected a header line of PHS column names")
    return [name.strip().strip('"').strip() for name in text.split(",")]


def read_text_table(path: Path) -> pd.DataFrame:
    """Read a (small) PHS CSV file into a DataFrame of raw strings.

    Handles UTF-8 with or without BOM, Windows-1252, CRLF line ends, quoted fields; column names
    are stripped of spaces. Every cell is a ``str`` (blank cells are ``""``).

    Raises DataError for an empty file, a file with a header but no data rows, a malformed CSV,
    mixed encodings (:func:`decode_text`) or a last line without its line ending
    (:func:`check_last_line`).
    """
    path = Path(path)
    raw = path.read_bytes()
    text = decode_text(raw, path)
    if text.strip():
        check_last_line(raw, path)
    if not text.strip():
        raise DataError(f"{path.name}: the file is empty; expected a header line of PHS column names")
    try:
        frame = pd.read_csv(
            io.StringIO(text), dtype=str, keep_default_na=False, na_filter=False, skip_blank_lines=True
        )
    except (pd.errors.ParserError, ValueError) as exc:
        raise DataError(f"{path.name}: not a readable CSV file ({exc}); expected comma-separated PHS data") from None
    frame.columns = [str(name).strip() for name in frame.columns]
    if frame.empty:
        raise DataError(
            f"{path.name}: the file has a header but no data rows; expected at least one row of data"
        )
    return frame


def require_columns(columns: Iterable[str], required: Iterable[str], path: Path, what: str = "") -> None:
    """Raise DataError naming every required PHS column the file lacks."""
    present = set(columns)
    missing = [name for name in required if name not in present]
    if missing:
        kind = f" for {what}" if what else ""
        raise DataError(
            f"{Path(path).name}: missing required column(s) {', '.join(missing)}{kind}; "
            f"expected a header with {', '.join(required)} (found: {', '.join(columns)})"
        )


def spreadsheet_row(index: int) -> int:
    """Spreadsheet row number of the 0-based data row ``index`` (the header is row 1)."""
    return int(index) + HEADER_ROW + 1


def describe_cell(frame: pd.DataFrame, index: int, column: str, path: Path, key_column: str | None) -> str:
    """'file, row N (PracticeCode 10002), column X' for messages."""
    where = f"{Path(path).name}, row {spreadsheet_row(index)}"
    if key_column and key_column in frame.columns:
        where += f" ({key_column} {frame[key_column].iloc[index].strip()})"
    return f"{where}, column {column}"


def parse_counts(
    frame: pd.DataFrame,
    column: str,
    path: Path,
    *,
    key_column: str | None = "PracticeCode",
    allow_blank: bool = False,
) -> pd.Series:
    """Parse a column of whole, non-negative counts into a nullable ``Int64`` Series.

    Blank cells become missing when ``allow_blank`` (PHS suppressed cells), else an error.
    Raises DataError naming the file, row, key, PHS column, value and what was expected.
    """
    raw = frame[column].str.strip()
    blank = raw.eq("")
    expected = "expected a whole number >= 0"
    if blank.any() and not allow_blank:
        i = int(blank.to_numpy().nonzero()[0][0])
        raise DataError(f"{describe_cell(frame, i, column, path, key_column)}: value is blank; {expected}")
    numbers = pd.to_numeric(raw.where(~blank), errors="coerce")
    bad = (numbers.isna() & ~blank) | (numbers.notna() & (numbers % 1 != 0))
    if bad.any():
        i = int(bad.to_numpy().nonzero()[0][0])
        raise DataError(
            f"{describe_cell(frame, i, column, path, key_column)}: value {raw.iloc[i]!r} is not a "
            f"whole number; {expected}"
        )
    huge = numbers.abs() > MAX_COUNT
    if huge.any():
        i = int(huge.to_numpy().nonzero()[0][0])
        raise DataError(
            f"{describe_cell(frame, i, column, path, key_column)}: value {raw.iloc[i]!r} is "
            f"impossibly large; {expected} and at most {MAX_COUNT:,}"
        )
    negative = numbers < 0
    if negative.any():
        i = int(negative.to_numpy().nonzero()[0][0])
        raise DataError(
            f"{describe_cell(frame, i, column, path, key_column)}: value {raw.iloc[i]!r} is a "
            f"negative count; {expected}"
        )
    return numbers.astype("Int64")


def _hash_memo_path() -> Path:
    return cache_dir("hashes") / "sha256.json"


def file_sha256(path: Path) -> str:
    """SHA-256 of a file's content, remembered by (path, size, modification and change times, inode).

    The full content is hashed the first time a file is seen; later calls on the unchanged file
    reuse the digest, so a cached reload of 12 x 125 MB files does not re-read 1.5 GB. The key
    holds the inode change time (``st_ctime_ns``) as git's index does: an edit whose
    modification time was put back (``touch -d``, ``os.utime``) still changes it, so an edited
    file is always hashed again.
    """
    path = Path(path).resolve()
    stat = path.stat()
    stamp = [stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns, stat.st_ino]
    seen = _SEEN.get(str(path))
    if seen is not None and seen[0] == stamp:  # this process hashed or read it already
        return seen[1]
    memo_path = _hash_memo_path()
    try:
        memo = json.loads(memo_path.read_text())
    except (OSError, ValueError):
        memo = {}
    entry = memo.get(str(path))
    if entry and entry[:-1] == stamp:
        _SEEN[str(path)] = (stamp, entry[-1])
        return entry[-1]
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(HASH_BLOCK_BYTES):
            digest.update(block)
    value = digest.hexdigest()
    memo[str(path)] = [*stamp, value]
    with replacing(memo_path) as tmp:
        tmp.write_text(json.dumps(memo))
    _SEEN[str(path)] = (stamp, value)
    return value


# Digests this process has worked out or read, by path, with the file's stamp: a report asks
# for its run's key (every input file's digest) and reading the memo file for each file cost
# ~65 ms a report.
_SEEN: dict[str, tuple[list, str]] = {}


def warning_row(kind: str, message: str, *, file: str | None = None, row: int | None = None,
                column: str | None = None, practice_code: str | None = None,
                value: object = None) -> dict:
    """One row of the warnings table (a finding that is not an error)."""
    return {
        "kind": kind,
        "file": file,
        "row": row,
        "column": column,
        "practice_code": practice_code,
        "value": None if value is None else str(value),
        "message": message,
    }


def warnings_frame(rows: Iterable[dict]) -> pd.DataFrame:
    """The tidy warnings table: kind, file, row, column, practice_code, value, message."""
    frame = pd.DataFrame(list(rows), columns=WARNING_COLUMNS)
    frame["row"] = frame["row"].astype("Int64")
    for name in WARNING_COLUMNS:
        if name != "row":
            frame[name] = frame[name].astype("str")
    return frame
