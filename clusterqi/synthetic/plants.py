"""Planted effects of synthetic Scotland and their ground truth.

A plant is something the statistics or the data-quality checks should find: an outlier
practice or cluster, a step change, missing months, a coding change, a list-size jump, and the
structural oddities of real PHS data (a tiny practice, 1- and 2-practice clusters, a
``<Board> Undefined`` placeholder, a practice that closes and one that opens). Each planted unit
carries one plant only. ``ground_truth.csv`` columns: ``kind, indicator_id, unit_id, month,
direction, size`` (``unit_id`` a practice code or a cluster id; ``month`` "YYYY-MM" where it
applies; ``size`` the relative effect on the indicator's numerator prescribing, e.g. 1.0 doubles
it and -0.5 halves it (for a proportion, the numerator factor that doubles or halves the share);
for ``list_size_jump`` the relative jump of the list size). Rows of kind ``deprivation_gradient``
(:mod:`clusterqi.synthetic.deprivation`) name the clusters the planted deprivation gradient alone
puts 30% or more from Scotland on a deprivation-linked indicator: not outliers to find, but
clusters that are not ordinary on that indicator.

Note for checks: the practices of a planted cluster carry the cluster's effect, and a cluster
holding a planted practice carries part of that practice's effect.

Example usage::

    truth = pd.read_csv(folder / "ground_truth.csv", dtype=str)
    truth[truth["kind"] == "practice_outlier"]
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

__all__ = [
    "GROUND_TRUTH_COLUMNS",
    "Plant",
    "PRACTICE_HIGH",
    "PRACTICE_LOW",
    "STEP_UP",
    "STEP_DOWN",
    "LIST_SIZE_JUMP",
    "TINY_LIST_SIZE",
    "ground_truth_frame",
]

GROUND_TRUTH_COLUMNS = ["kind", "indicator_id", "unit_id", "month", "direction", "size"]
#: Practice and cluster outliers: about double or half the Scotland rate (the unit's own
#: random effects on the indicator's presentations are set to zero, so the size is its
#: distance from Scotland; proportions get the numerator factor that doubles or halves the
#: share, see :func:`clusterqi.synthetic.world.build_world`).
PRACTICE_HIGH, PRACTICE_LOW = 1.0, -0.5
#: Step changes at a known month: +40%, or down by the same ratio (1 / 1.4 - 1).
STEP_UP, STEP_DOWN = 0.4, -0.286
#: Relative jump of one practice's list size between two releases (> 10%).
LIST_SIZE_JUMP = 0.25
#: List size of the tiny practice (PHS publishes such practices as an All-sexes total only).
TINY_LIST_SIZE = 140
#: Smallest and largest list sizes of practices chosen for outlier plants (clear signals).
PLANT_LIST_SIZE_RANGE = (4500, 16000)


@dataclass
class Plant:
    """One planted effect (a ground-truth row) and what the generator needs to apply it."""

    kind: str
    unit_id: str
    indicator_id: str = ""
    month: str = ""
    direction: str = ""
    size: float | None = None
    practices: tuple[str, ...] = field(default=())   # practices the effect applies to

    def row(self) -> dict:
        return {"kind": self.kind, "indicator_id": self.indicator_id, "unit_id": self.unit_id,
                "month": self.month, "direction": self.direction,
                "size": "" if self.size is None else f"{self.size:g}"}


def ground_truth_frame(plants: list[Plant]) -> pd.DataFrame:
    """The ground truth table, one row per plant, in a stable order."""
    frame = pd.DataFrame([p.row() for p in plants], columns=GROUND_TRUTH_COLUMNS)
    return frame.sort_values(["kind", "indicator_id", "unit_id", "month"], ignore_index=True)
