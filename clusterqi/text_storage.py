"""How a report holds its text: in pandas' Python string storage rather than Arrow.

pandas 3 keeps text columns (the ``str`` dtype) in Arrow arrays by default. A report makes
hundreds of small selections of its table of ~5,500 rows (each chart's rows, each card's groups,
~55 columns, 31 of them text) and builds hundreds of small frames for its charts. Arrow carries
a fixed cost for each column taken or made, which on a few dozen rows outweighs the work itself.
The same ``str`` dtype with Python storage (``pd.StringDtype("python", na_value=np.nan)``: the
same values, missing values NaN, the same methods and results) is taken by NumPy.

So a report's table holds its text that way (:func:`python_text`, in
:func:`clusterqi.report.build_report`), and the report's own steps run with Python storage as
pandas' default for new text (the :func:`python_strings` decorator); outside them pandas'
default is untouched. Six reports took 8-20% less CPU time so (three pairs of runs). A run's
large tables keep Arrow text whoever reads them (:func:`arrow_strings`, on
:func:`clusterqi.run_tables.run_for` and :func:`clusterqi.report.released_table`): in Python
strings they take far more memory. This only changes how text is stored: the reports, their
tables, CSVs and chart specs are the same (a sort that must keep ties in table order asks for
a stable sort, as Arrow's always is and NumPy's default is not).

Example usage::

    from clusterqi.text_storage import python_strings, python_text

    @python_strings
    def show_section(report): ...

    table = python_text(table)
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np
import pandas as pd

__all__ = ["PYTHON_TEXT", "arrow_strings", "python_strings", "python_text"]

#: The ``str`` dtype with Python storage (missing values NaN, as pandas' default ``str``).
PYTHON_TEXT = pd.StringDtype("python", na_value=np.nan)

_STORAGE_OPTION = "mode.string_storage"
_F = TypeVar("_F", bound=Callable[..., Any])


def python_text(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with its text columns (pandas' ``str`` dtype, any storage) in Python storage;
    other columns as they are. The frame itself if it has no Arrow text."""
    text = {name: PYTHON_TEXT for name, kind in frame.dtypes.items()
            if isinstance(kind, pd.StringDtype) and kind.storage != "python"
            and kind.na_value is not pd.NA}  # "string" (missing as pd.NA) is another dtype
    return frame.astype(text) if text else frame


def _with_default_storage(func: _F, storage: str) -> _F:
    """``func`` run with ``storage`` as pandas' default for new text, restored after it (and on
    an error)."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with pd.option_context(_STORAGE_OPTION, storage):
            return func(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def arrow_strings(func: _F) -> _F:
    """Run ``func`` with Arrow storage as pandas' default for new text, whoever calls it: for
    reading and choosing from a run's large tables (hundreds of thousands of rows), which a
    report's steps may do under :func:`python_strings` (its "since the last report" reads the
    earlier period's run): read in Python strings, it took a kernel from 901 MB to 1,219 MB
    over three reports of synthetic Scotland (Arrow: 910 MB)."""
    return _with_default_storage(func, "pyarrow")


def python_strings(func: _F) -> _F:
    """Run ``func`` with Python storage as pandas' default for new text (restored after it,
    and on an error)."""
    return _with_default_storage(func, "python")
