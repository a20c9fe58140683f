"""The choke point: :func:`apply_disclosure` makes an indicator table releasable for one audience.

The steps, in order (see :mod:`clusterqi.disclosure` for the rules): primary and secondary
suppression (:mod:`.suppression`), rounding of visible numerators (:mod:`.counts`), the
audience's rows, pseudonyms and bands (:mod:`.audiences`, :mod:`.pseudonyms`), text scrubbing
(:mod:`.scrub`); and a log of what was hidden and why.

Example usage::

    releasable, log = apply_disclosure(table, DisclosurePolicy(cluster_id="dundee-4"))
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from clusterqi.disclosure.audiences import _apply_audience, _check_policy_against, _unseen_practices
from clusterqi.disclosure.counts import _replace_rows, round_counts, size_band
from clusterqi.disclosure.log import LOG_COLUMNS, _log_rows, _summary_row
from clusterqi.disclosure.policy import (
    SUPPRESSED_QUALIFIER,
    SUPPRESSED_TEXT,
    DisclosurePolicy,
    numerator_derived,
    unrounded_giveaways,
)
from clusterqi.disclosure.pseudonyms import pseudonyms
from clusterqi.disclosure.scrub import _scrub_practice_mentions
from clusterqi.disclosure.suppression import (
    _check_table,
    _given_marks,
    _withhold_hidden_denominators,
    _withhold_suppressed_comparators,
    suppress_cells,
)
from clusterqi.vocabulary import PRACTICE

__all__ = [
    "NOTE_COLUMNS",
    "release_findings",
    "apply_disclosure",
]

def apply_disclosure(
    indicator_table: pd.DataFrame, policy: DisclosurePolicy, *, suppression: pd.DataFrame | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Make an indicator table releasable for the policy's audience; return (table, log).

    The table keeps the indicator table's columns plus ``qualifier``, ``denominator_band`` and
    ``plot_size``, with ``attrs["releasable"]`` (False for audience "analyst"). The log is a
    tidy frame (indicator_id, level, area_id, period, what, where, rule, reason) naming areas as
    the released table does and never holding a suppressed value. See the module docstring for
    the rules, in the order applied.

    ``suppression`` (optional) is what :func:`suppress_cells` returned for a *whole* indicator
    table, with this policy's threshold and secondary setting, when ``indicator_table`` is a
    part of that table with its index labels kept (a report's rows, say). Suppression is then
    taken from the whole table instead of being worked out again, so a run suppresses once and
    releases many parts quickly. The part must still hold every unit row its rows compare with
    (its cluster, HSCP, board and Scotland rows for the same cell), so that comparator values
    are withheld where those rows are suppressed. The marks are checked against the rows'
    numerators; marks from another table or threshold raise :class:`DisclosurePolicyError`.

    Example usage::

        releasable, log = apply_disclosure(table, DisclosurePolicy(cluster_id="dundee-4"))
        log.groupby("rule").size()

        marks = suppress_cells(whole, threshold=5)          # once per run
        part = whole[whole["indicator_id"] == "antibiotics"]
        releasable, log = apply_disclosure(part, policy, suppression=marks)
    """
    _check_table(indicator_table)
    _check_policy_against(indicator_table, policy)
    given = None
    if suppression is not None and policy.record.releasable:
        given = _given_marks(indicator_table, suppression, policy)
    table = indicator_table.reset_index(drop=True)
    if policy.record.releasable:
        seen = ~_unseen_practices(table, policy.cluster_id)
        table = table[seen].reset_index(drop=True)
        if given is not None:
            given = given[seen].reset_index(drop=True)
    table = table.copy()
    band = size_band(table["denominator"])
    table["qualifier"] = pd.Series([None] * len(table), dtype="str")
    table["denominator_band"] = pd.Series(band["band"].to_numpy(), dtype="str")
    table["plot_size"] = pd.to_numeric(table["denominator"], errors="coerce").astype(float)
    if not policy.record.releasable:
        log = _summary_row(
            "nothing", "whole table", f"audience {policy.audience}",
            f"{policy.audience} audience: nothing hidden; the table is not releasable",
        )
        return _finish(table, policy), log[list(LOG_COLUMNS)]

    logs: list[pd.DataFrame] = []
    # 1-2. primary and secondary suppression, on the whole table before any row is dropped
    marks = given if given is not None else suppress_cells(table, policy.threshold, policy.secondary)
    primary = (marks["suppression"] == "primary").to_numpy()
    suppressed = marks["suppression"].notna().to_numpy()
    derived = [c for c in numerator_derived() if c in table.columns]
    _replace_rows(table, suppressed, "numerator", np.nan)
    for column in derived:
        _replace_rows(table, suppressed, column, None)
    table.loc[suppressed, "qualifier"] = SUPPRESSED_QUALIFIER
    if "interpretation" in table.columns:
        table.loc[suppressed, "interpretation"] = SUPPRESSED_TEXT
    _withhold_suppressed_comparators(table, suppressed)
    _withhold_hidden_denominators(table, marks)
    reasons = np.where(
        primary[suppressed],
        f"numerator between 1 and {policy.threshold - 1} (threshold {policy.threshold})",
        ("protects the only other hidden cell among " + marks["group"].fillna("")
         + ", which one subtraction would otherwise recover").to_numpy()[suppressed],
    )
    rules = np.where(primary[suppressed], "primary suppression", "secondary suppression")
    sup_log = _log_rows(table.loc[suppressed], "numerator and the figures derived from it",
                        "", reasons)
    sup_log["rule"] = rules
    sup_log["_row"] = np.flatnonzero(suppressed)
    logs.append(sup_log)

    # 3. rounding of visible numerators
    if policy.rounding != "none":
        _apply_rounding(table, ~suppressed, policy.rounding)
        logs.append(_summary_row(
            "numerators; intervals, comparator values, SPC limits and reliability", "whole table",
            f"rounding {policy.rounding}",
            "numerators rounded after suppression and values recomputed from them; figures that "
            "would give the unrounded numerator back are withheld",
        ))

    # 4. audience
    mapping = pseudonyms(indicator_table, policy)
    table, audience_logs = _apply_audience(table, indicator_table, policy, mapping)
    logs.extend(audience_logs)
    kept_rows = set(table["_row"].tolist())
    logs[0] = logs[0][logs[0]["_row"].isin(kept_rows)]
    # name suppressed rows in the log as the released table names them
    labels = table.set_index("_row")[["area_id", "area_name"]]
    logs[0] = logs[0].assign(
        area_id=logs[0]["_row"].map(labels["area_id"]),
        where=(logs[0]["level"].astype(str) + " " + logs[0]["_row"].map(labels["area_name"]).astype(str)
               + ", " + logs[0]["period"].astype(str)),
    ).drop(columns="_row")
    table = table.drop(columns="_row")
    table = _scrub_practice_mentions(table, indicator_table, policy, mapping)
    log = pd.concat([frame[list(LOG_COLUMNS)] for frame in logs], ignore_index=True)
    return _finish(table, policy), log


def _finish(table: pd.DataFrame, policy: DisclosurePolicy) -> pd.DataFrame:
    table = table.reset_index(drop=True)
    table.attrs = {
        "releasable": policy.releasable,
        "audience": policy.audience,
        "cluster_id": policy.cluster_id,
        "threshold": int(policy.threshold),
        "rounding": policy.rounding,
    }
    return table


def _apply_rounding(table: pd.DataFrame, visible: np.ndarray, rule: str) -> None:
    numerator = pd.to_numeric(table["numerator"], errors="coerce").astype(float)
    denominator = pd.to_numeric(table["denominator"], errors="coerce").astype(float)
    value = pd.to_numeric(table["value"], errors="coerce").astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        multiplier = value * denominator / numerator
        rounded = pd.Series(round_counts(numerator, rule), index=table.index)
        recomputed = rounded / denominator * multiplier
    recomputed = recomputed.where(numerator != 0, value)  # 0 stays 0; no multiplier needed
    table.loc[visible, "numerator"] = rounded[visible]
    table.loc[visible, "value"] = recomputed[visible]
    for column in unrounded_giveaways():
        if column in table.columns:
            table.loc[visible, column] = np.nan


#: Columns of the notes :func:`release_findings` returns.
NOTE_COLUMNS = ["level", "area_id", "area_name", "indicator_id", "month", "flag", "note"]


def release_findings(findings: pd.DataFrame, releasable: pd.DataFrame,
                     indicator_table: pd.DataFrame, policy: DisclosurePolicy) -> pd.DataFrame:
    """Data-quality findings named as a releasable table names its units; only units it shows.

    ``findings`` are :func:`clusterqi.quality.flag_indicator_table`'s (real codes, an analyst
    ``reason`` and a generic ``note``); ``releasable`` is what :func:`apply_disclosure` made of
    ``indicator_table`` under ``policy``. An audience that pseudonymises gets the generic note and
    the practices' pseudonyms (the same letters as the table: :func:`pseudonyms` of the same
    policy); the analyst gets the detailed reason. Findings about units the table does not show
    are left out. Returns :data:`NOTE_COLUMNS`.

    Example usage::

        notes = release_findings(findings, releasable, table, policy)
    """
    found = findings
    if policy.record.pseudonymises:
        mapping = pseudonyms(indicator_table, policy).set_index("practice_code")
        practice = (found["level"] == PRACTICE).to_numpy()
        known = found["area_id"].isin(mapping.index).to_numpy()
        found = found[~practice | known].copy()
        practice = (found["level"] == PRACTICE).to_numpy()
        codes = found.loc[practice, "area_id"]
        found.loc[practice, "area_name"] = codes.map(mapping["area_name"]).to_numpy()
        found.loc[practice, "area_id"] = codes.map(mapping["area_id"]).to_numpy()
        note = found["note"]
    else:
        note = found["reason"]
    shown = set(zip(releasable["level"].to_numpy(), releasable["area_id"].to_numpy()))
    keep = np.fromiter(((lv, a) in shown for lv, a in zip(found["level"], found["area_id"])),
                       dtype=bool, count=len(found))
    notes = found.assign(note=note)[keep].reset_index(drop=True)
    for column in ("level", "area_id", "area_name", "indicator_id", "flag", "note"):
        notes[column] = notes[column].astype("str")
    return notes[NOTE_COLUMNS]
