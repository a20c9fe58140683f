"""A hand-made nine-practice Scotland for the spec tests: small enough to check by hand.

Geography (codes are made up but shaped like PHS's)::

    board HB1 (S08000001): HSCP A (S37000001) and HSCP B (S37000002)
    board HB2 (S08000002): HSCP C (S37000003)
    cluster c1 (home A, HB1): P1 (A), P2 (A), P3 (B)      <- spans two HSCPs
    cluster c2 (home B, HB1): P4 (B), P5 (B)
    cluster c3 (home C, HB2): P6 (C), P7 (C)
    cluster c4 (home A, HB1): P9 (A)
    no cluster:               P8 (C)                       <- a board-run practice

Two months (2025-01, 2025-02) of prescribing of amoxicillin (numerator of nothing) and
co-amoxiclav; one populations release with patients aged 0-64 and 65+ by sex.
"""

from __future__ import annotations

import pandas as pd

from clusterqi.indicators.catalogue import Indicator
from clusterqi.loaders import Dataset

AMOXICILLIN = "0501013B0AAABAB"
CO_AMOXICLAV = "0501013K0AAAJAJ"

# practice: (hscp, hb, cluster, in_cluster, home_hscp, home_hb)
GEOGRAPHY = {
    "P1": ("S37000001", "S08000001", "c1", True, "S37000001", "S08000001"),
    "P2": ("S37000001", "S08000001", "c1", True, "S37000001", "S08000001"),
    "P3": ("S37000002", "S08000001", "c1", True, "S37000001", "S08000001"),
    "P4": ("S37000002", "S08000001", "c2", True, "S37000002", "S08000001"),
    "P5": ("S37000002", "S08000001", "c2", True, "S37000002", "S08000001"),
    "P6": ("S37000003", "S08000002", "c3", True, "S37000003", "S08000002"),
    "P7": ("S37000003", "S08000002", "c3", True, "S37000003", "S08000002"),
    "P8": ("S37000003", "S08000002", "hb2-undefined", False, None, None),
    "P9": ("S37000001", "S08000001", "c4", True, "S37000001", "S08000001"),
}
# practice: (co-amoxiclav items, amoxicillin items) in each of the two months
ITEMS = {
    "P1": (10, 90), "P2": (20, 80), "P3": (5, 45), "P4": (30, 70), "P5": (12, 88),
    "P6": (8, 92), "P7": (40, 60), "P8": (3, 7), "P9": (25, 75),
}
# practice: (patients aged 0-64, patients aged 65+), each split half male, half female
PATIENTS = {
    "P1": (4000, 1000), "P2": (3000, 1000), "P3": (2000, 500), "P4": (5000, 1000),
    "P5": (4000, 2000), "P6": (3000, 1000), "P7": (6000, 2000), "P8": (800, 200),
    "P9": (4000, 1000),
}
MONTHS = [pd.Timestamp("2025-01-01"), pd.Timestamp("2025-02-01")]

_COMMON = dict(
    theme="antimicrobials", sources=["OpenPrescribing"],
    description="A test indicator.", why_it_matters="Tests.",
    change_ideas=["Test."], references=[{"title": "test", "url": "https://example.org"}],
    authored_by="tests", checked_by="tests", date_reviewed="2026-01-01",
    next_review="2027-01-01",
)


def indicators() -> dict[str, Indicator]:
    """Three indicators: a proportion, a rate per 1,000 aged 65+ per day, a rate per 1,000 per day."""
    share = Indicator.model_validate(dict(
        _COMMON, id="coamox_share", title="Co-amoxiclav share",
        numerator={"measure": "items", "bnf_codes": ["0501013K0"]},
        denominator={"measure": "items", "bnf_codes": ["0501"]},
        unit="% of antibacterial items", multiplier=100, low_is_good=True, ci_method="wilson"))
    older = Indicator.model_validate(dict(
        _COMMON, id="abx_per_1000_65plus", title="Antibacterials per 1,000 aged 65+",
        numerator={"measure": "items", "bnf_codes": ["0501"]},
        denominator={"population": {"age_min": 65, "age_max": None}, "per_day": True},
        unit="items per 1,000 patients per day", multiplier=1000, low_is_good=None, ci_method="byars"))
    daily = Indicator.model_validate(dict(
        _COMMON, id="abx_per_1000_per_day", title="Antibacterials per 1,000 per day",
        numerator={"measure": "items", "bnf_codes": ["0501"]},
        denominator={"population": {"age_min": None, "age_max": None}, "per_day": True},
        unit="items per 1,000 patients per day", multiplier=1000, low_is_good=True, ci_method="byars"))
    return {i.id: i for i in (share, older, daily)}


def dataset() -> Dataset:
    """The nine-practice dataset."""
    practices = pd.DataFrame(
        [
            {
                "practice_code": code, "practice_name": f"Practice {code}",
                "cluster_name": cluster.upper(), "cluster_id": cluster, "in_cluster": in_cluster,
                "hscp_code": hscp, "hscp_name": f"HSCP {hscp[-1]}", "hb_code": hb,
                "hb_name": f"Board {hb[-1]}", "home_hscp_code": home_hscp,
                "home_hb_code": home_hb, "list_size": sum(PATIENTS[code]),
                "first_release": pd.Timestamp("2025-01-15"),
                "last_release": pd.Timestamp("2025-01-15"),
            }
            for code, (hscp, hb, cluster, in_cluster, home_hscp, home_hb) in GEOGRAPHY.items()
        ]
    )
    pops = []
    for code, (young, old) in PATIENTS.items():
        for sex in ("Male", "Female"):
            pops.append((code, sex, "0-64", 0, 64, young / 2))
            pops.append((code, sex, "65+", 65, None, old / 2))
    populations = pd.DataFrame(
        pops, columns=["practice_code", "sex", "age_band", "age_min", "age_max", "patients"])
    populations.insert(1, "date", pd.Timestamp("2025-01-15"))
    rx = []
    for month in MONTHS:
        for code, (coamox, amox) in ITEMS.items():
            rx.append((code, month, CO_AMOXICLAV, coamox, coamox * 21, coamox * 2.5))
            rx.append((code, month, AMOXICILLIN, amox, amox * 15, amox * 1.2))
    prescribing = pd.DataFrame(
        rx, columns=["practice_code", "month", "bnf_code", "items", "quantity", "cost"])
    list_sizes = practices[["practice_code", "list_size"]].assign(date=pd.Timestamp("2025-01-15"))
    lookups = {
        "hb": pd.DataFrame({"hb_code": ["S08000001", "S08000002"],
                            "hb_name": ["Board 1", "Board 2"]}),
        "hscp": pd.DataFrame({"hscp_code": ["S37000001", "S37000002", "S37000003"],
                              "hscp_name": ["HSCP A", "HSCP B", "HSCP C"],
                              "hb_code": ["S08000001", "S08000001", "S08000002"]}),
    }
    warnings = pd.DataFrame(
        columns=["kind", "file", "row", "column", "practice_code", "value", "message"])
    return Dataset(practices=practices, populations=populations, list_sizes=list_sizes,
                   prescribing=prescribing, lookups=lookups, warnings=warnings)
