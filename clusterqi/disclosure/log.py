"""The disclosure log: what disclosure control hid, where, by which rule and why.

A tidy frame (:data:`LOG_COLUMNS`) with one row per hidden cell, plus summary rows (no area) for
what was done to whole groups of rows (pseudonyms, bands, rounding). It names areas as the
released table does and never holds a suppressed value.

Example usage::

    log = pd.concat([_summary_row("nothing", "whole table", "audience analyst", "...")])
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["LOG_COLUMNS"]

LOG_COLUMNS = ("indicator_id", "level", "area_id", "period", "what", "where", "rule", "reason")


def _log_rows(frame: pd.DataFrame, what: str, rule: str, reason) -> pd.DataFrame:
    where = (frame["level"].astype(str) + " " + frame["area_name"].astype(str) + ", "
             + frame["period"].astype(str))
    return pd.DataFrame({
        "indicator_id": frame["indicator_id"].to_numpy(),
        "level": frame["level"].to_numpy(),
        "area_id": frame["area_id"].to_numpy(),
        "period": frame["period"].to_numpy(),
        "what": what,
        "where": where.to_numpy(),
        "rule": rule,
        "reason": reason if isinstance(reason, str) else np.asarray(reason, dtype=object),
    })


def _summary_row(what: str, where: str, rule: str, reason: str) -> pd.DataFrame:
    return pd.DataFrame([{
        "indicator_id": None, "level": None, "area_id": None, "period": None,
        "what": what, "where": where, "rule": rule, "reason": reason,
    }])
