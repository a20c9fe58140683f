"""Altair's conversion of a chart into its Vega-Lite spec, with a short way for plain values.

Altair turns every value of a spec into JSON through ``altair.utils.schemapi._todict``, which
asks ten questions of each value (one a runtime protocol check) before it gives a string or a
number back unchanged; the chart data's records are most of a report's specs, so those
questions were ~10% of turning a report's charts into specs. :func:`plain_first` gives such
values, and plain lists and dicts of them, back at once and leaves everything else to Altair:
the spec is the same (``tests/report/test_offline.py`` checks it on a layered chart with data
of every kind the charts use).

Example usage::

    with plain_first():
        spec = chart.to_dict(validate=False)
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import altair as alt
from altair.utils import schemapi

__all__ = ["plain_first", "todict_plain_first"]

_PLAIN = frozenset({str, int, float, bool, type(None)})


def todict_plain_first(obj: Any, context: Any, np_opt: Any, pd_opt: Any) -> Any:
    """Altair's ``schemapi._todict`` with plain values, and plain lists and dicts of them,
    turned into a spec without its ten type checks each (one a runtime protocol check): the
    chart data's records are most of a spec. Exactly what Altair gives: its checks return these
    unchanged (a ``numpy`` number is none of these types), and anything else goes to Altair."""
    kind = type(obj)
    if kind in _PLAIN:
        return obj
    if kind is dict:
        return {k: todict_plain_first(v, context, np_opt, pd_opt) for k, v in obj.items()
                if v is not alt.Undefined}
    if kind is list or kind is tuple:
        return [todict_plain_first(v, context, np_opt, pd_opt) for v in obj]
    return _ALTAIR_TODICT(obj, context, np_opt, pd_opt)


_ALTAIR_TODICT = schemapi._todict


@contextlib.contextmanager
def plain_first() -> Iterator[None]:
    """Altair's spec conversion uses :func:`todict_plain_first` while the block runs (it
    finds ``_todict`` by name in its module at each call). ~10% of turning a report's charts
    into specs; ``tests/report/test_offline.py`` checks the specs are the same."""
    if schemapi._todict is not _ALTAIR_TODICT:  # already inside (or Altair changed it): as is
        yield
        return
    schemapi._todict = todict_plain_first
    try:
        yield
    finally:
        schemapi._todict = _ALTAIR_TODICT
