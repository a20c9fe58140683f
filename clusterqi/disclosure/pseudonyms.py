"""Pseudonyms: a cluster's practices as "Member practice A", "B"... in an order nobody can guess.

Letters follow a keyed hash (HMAC-SHA256) of the policy's salt, audience and revealed practice
with the practice code, so they are stable across indicators and months of one run, follow
neither list size nor value, and a practice report's letters do not line up with the cluster
report's.

Example usage::

    pseudonyms(table, DisclosurePolicy(cluster_id="dundee-4"))   # practice_code, area_id, area_name
"""

from __future__ import annotations

import hashlib
import hmac
import string

import numpy as np
import pandas as pd

from clusterqi.disclosure.policy import PSEUDONYM_ID_PREFIX, PSEUDONYM_PREFIX, DisclosurePolicy
from clusterqi.vocabulary import PRACTICE

__all__ = [
    "pseudonyms",
]

def _letters(n: int) -> list[str]:
    """A, B, ... Z, AA, AB, ... (spreadsheet column style)."""
    out = []
    for i in range(n):
        label, k = "", i
        while True:
            label = string.ascii_uppercase[k % 26] + label
            k = k // 26 - 1
            if k < 0:
                break
        out.append(label)
    return out


def _pseudonym_key(policy: DisclosurePolicy) -> bytes:
    # The audience and revealed practice are part of the key: letters in a practice report must
    # not line up with the cluster report of the same run (that would name the revealed one).
    return f"{policy.salt}|{policy.audience}|{policy.reveal_practice or ''}".encode()


def pseudonyms(indicator_table: pd.DataFrame, policy: DisclosurePolicy) -> pd.DataFrame:
    """The pseudonyms a policy gives its cluster's practices: practice_code, area_id, area_name.

    Analyst-side only (it links codes to pseudonyms: never release it). Letters follow the
    order of HMAC-SHA256(policy salt + audience + revealed practice, practice code), so the same
    policy gives the same letters for every indicator and month, and the order follows neither
    list size nor value. The revealed practice (audience "practice") keeps its own code and name.

    Example usage::

        pseudonyms(table, policy)   # 10002 -> member-c, "Member practice C", ...
    """
    if not policy.record.pseudonymises:
        return pd.DataFrame({"practice_code": [], "area_id": [], "area_name": []}, dtype="str")
    members = _cluster_members(indicator_table, policy.cluster_id)
    hidden = [code for code in members if code != policy.reveal_practice]
    key = _pseudonym_key(policy)
    order = sorted(hidden, key=lambda code: hmac.new(key, code.encode(), hashlib.sha256).digest())
    letters = _letters(len(order))
    rows = [
        (code, f"{PSEUDONYM_ID_PREFIX}{letter.lower()}", f"{PSEUDONYM_PREFIX} {letter}")
        for code, letter in zip(order, letters)
    ]
    if policy.reveal_practice is not None:
        names = _practice_names(indicator_table)
        rows.append((policy.reveal_practice, policy.reveal_practice, names.get(policy.reveal_practice, "")))
    return pd.DataFrame(rows, columns=["practice_code", "area_id", "area_name"], dtype="str")


def _cluster_members(table: pd.DataFrame, cluster_id: str | None) -> list[str]:
    codes = table.loc[(table["level"] == PRACTICE) & (table["cluster_id"] == cluster_id), "area_id"]
    return sorted(codes.astype(str).unique().tolist())


def _practice_names(table: pd.DataFrame) -> dict[str, str]:
    """Practice code -> name (the first row's), in the order the practices first appear."""
    practice = (table["level"] == PRACTICE).to_numpy()
    codes = table["area_id"].to_numpy(dtype=object)[practice].astype(str)
    names = table["area_name"].to_numpy(dtype=object)[practice].astype(str)
    _, first = np.unique(codes, return_index=True)
    first.sort()
    return dict(zip(codes[first].tolist(), names[first].tolist()))
