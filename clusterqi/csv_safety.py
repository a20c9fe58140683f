"""CSV that a spreadsheet opens as data, never as formulas ("CSV injection").

Excel, LibreOffice Calc and Google Sheets run a cell whose text starts with ``=``, ``+``, ``-``
or ``@`` as a formula, and some treat a leading tab or carriage return the same way; a practice
or area name such as ``=HYPERLINK("http://x","y")`` in a released CSV would then run on the
reader's machine. Following OWASP's "CSV Injection" guidance, every *text* cell starting with one
of those characters is prefixed with a single quote ``'``, which spreadsheets show as text (the
quote is not displayed in Excel). Numbers in numeric columns (including negative numbers) are
left as numbers: only text is escaped, so ``-3.5`` in a float column stays ``-3.5``, while the
string ``"-3.5"`` in a text column becomes ``'-3.5`` (text that looks like a formula is still
text to a spreadsheet after the quote).

Reference: OWASP, "CSV Injection", https://owasp.org/www-community/attacks/CSV_Injection

Example usage::

    from clusterqi.csv_safety import safe_csv, escape_formula

    escape_formula('=HYPERLINK("http://x","y")')    # '\\'=HYPERLINK("http://x","y")'
    text = safe_csv(frame, index=False)              # DataFrame.to_csv with text cells escaped
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pandas as pd

__all__ = ["FORMULA_PREFIXES", "escape_formula", "escape_frame", "safe_csv", "write_safe_csv"]

#: Leading characters that make a spreadsheet treat a cell as a formula (OWASP).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def escape_formula(value: Any) -> Any:
    """``value`` with a leading ``'`` if it is text a spreadsheet would run as a formula.

    Anything that is not a string (numbers, missing values) is returned unchanged.

    Example usage::

        escape_formula("@SUM(1)")     # "'@SUM(1)"
        escape_formula("Dundee 4")    # "Dundee 4"
        escape_formula(-3)            # -3
    """
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def _is_text(series: pd.Series) -> bool:
    return not (pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series)
                or pd.api.types.is_datetime64_any_dtype(series)
                or pd.api.types.is_timedelta64_dtype(series))


def escape_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` with every text cell escaped (:func:`escape_formula`), column names
    and a text index included; numeric, boolean and datetime columns are untouched."""
    out = frame.copy()
    for column in out.columns:
        if _is_text(out[column]):
            out[column] = out[column].map(escape_formula, na_action="ignore")
    out.columns = [escape_formula(c) for c in out.columns]
    if _is_text(out.index.to_series()):
        out.index = out.index.map(escape_formula)
    return out


def safe_csv(frame: pd.DataFrame, **to_csv_kwargs: Any) -> str:
    """``frame.to_csv(**to_csv_kwargs)`` as text, with formula-like text cells escaped.

    Example usage::

        csv_text = safe_csv(report.numbers, index=False)
    """
    if "path_or_buf" in to_csv_kwargs:
        raise TypeError("safe_csv returns the text; use write_safe_csv to write a file")
    return escape_frame(frame).to_csv(**to_csv_kwargs)


def write_safe_csv(frame: pd.DataFrame, path: str | os.PathLike, **to_csv_kwargs: Any) -> Path:
    """Write :func:`safe_csv` of ``frame`` to ``path`` (UTF-8) and return the path."""
    path = Path(path)
    escape_frame(frame).to_csv(path, **to_csv_kwargs)
    return path
