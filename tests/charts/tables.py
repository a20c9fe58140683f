"""Hand-made releasable indicator tables for the chart tests (columns as docs/architecture.md).

Small on purpose: 12 clusters (one of them, ``dundee-4``, is the report's cluster), its 4
practices pseudonymised as the disclosure step would ("Member practice A"...), hscp, hb and
Scotland rows, one total period and 24 month rows per cluster and practice, for three
indicators (a rate where low is good, a proportion where high is good, and a rate with no
judgement). Values are deterministic, so tests can state what a chart must show.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

CLUSTER = "dundee-4"
CLUSTER_NAME = "Dundee 4"
TOTAL_PERIOD = "2025-10..2026-09"
MONTHS = [str(p) for p in pd.period_range("2024-10", "2026-09", freq="M")]
PRACTICES = ["Member practice A", "Member practice B", "Member practice C", "Member practice D"]
BANDS = ["2,500-4,999", "5,000-7,499", "7,500-9,999", "5,000-7,499"]
BAND_MIDS = [3750.0, 6250.0, 8750.0, 6250.0]
OTHER_CLUSTERS = [f"Cluster {c}" for c in "EFGHIJKLMNO"]


@dataclass(frozen=True)
class Definition:
    """The fields of an Indicator the charts read (as load_catalogue() gives them)."""

    id: str
    title: str
    unit: str
    multiplier: float
    low_is_good: bool | None
    kind: str
    change_ideas: list = field(default_factory=list)


INDICATORS = {
    "abx": Definition("abx", "Antibacterial items per 1,000 patients per day",
                      "items per 1,000 patients per day", 1000, True, "rate"),
    "ppi": Definition("ppi", "Omeprazole as a share of PPI items", "% of PPI items", 100,
                      False, "proportion"),
    "gaba": Definition("gaba", "Gabapentinoid items per 1,000 patients", "items per 1,000 patients",
                       1000, None, "rate"),
}
SCOTLAND = {"abx": 1.0, "ppi": 60.0, "gaba": 20.0}
# the report cluster's value and its comparisons (total period)
CLUSTER_VALUE = {"abx": 1.4, "ppi": 55.0, "gaba": 24.0}
CLUSTER_VS = {"abx": "worse", "ppi": "similar", "gaba": "higher"}


def _row(**kw):
    base = dict(
        hscp_code="S37000017", hb_code="S08000030", cluster_id=None, period_type="total",
        period=TOTAL_PERIOD, numerator=np.nan, denominator=np.nan, value=np.nan,
        lower_95=np.nan, upper_95=np.nan, lower_998=np.nan, upper_998=np.nan,
        scotland_value=np.nan, funnel_95=None, funnel_998=None, funnel_95_unadjusted=None,
        funnel_998_unadjusted=None, phi=np.nan, tau2=np.nan, rest_of_cluster_value=np.nan,
        vs_rest_of_cluster=None, rest_of_hscp_value=np.nan, vs_rest_of_hscp=None,
        rest_of_hb_value=np.nan, vs_rest_of_hb=None, rest_of_scotland_value=np.nan,
        vs_rest_of_scotland=None, reliability=np.nan, interpretation=None, spc_chart=None,
        cl=np.nan, lcl=np.nan, ucl=np.nan, spc_signal=None, spc_flag=None, spc_rule=None,
        run_signal=None, qualifier=None, denominator_band=None, plot_size=np.nan,
    )
    base.update(kw)
    return base


def _interval(value, size):
    half = 1.96 * value / np.sqrt(max(size * value / 1000.0, 1.0))
    return value - half, value + half


def make_table(releasable: bool = True, audience: str = "cluster") -> pd.DataFrame:
    """The table, marked as apply_disclosure marks a releasable one (attrs) unless told not to."""
    rows = []
    for ind, scot in SCOTLAND.items():
        rows.append(_row(indicator_id=ind, level="scotland", area_id="S92000003",
                         area_name="Scotland", value=scot, scotland_value=scot,
                         denominator=5_400_000.0))
        rows.append(_row(indicator_id=ind, level="hb", area_id="S08000030", area_name="Tayside",
                         value=scot * 1.05, scotland_value=scot, denominator=400_000.0))
        rows.append(_row(indicator_id=ind, level="hscp", area_id="S37000017",
                         area_name="Dundee City", value=scot * 1.1, scotland_value=scot,
                         denominator=150_000.0))
        # clusters: the report's cluster plus 11 others, spread around Scotland
        spread = np.linspace(0.7, 1.3, len(OTHER_CLUSTERS))
        names = [CLUSTER_NAME, *OTHER_CLUSTERS]
        ids = [CLUSTER, *[n.lower().replace(" ", "-") for n in OTHER_CLUSTERS]]
        values = [CLUSTER_VALUE[ind], *(scot * spread)]
        for k, (cid, name, value) in enumerate(zip(ids, names, values)):
            size = 20_000.0 + 5_000.0 * k
            lo, hi = _interval(value, size)
            flag = "high" if value > scot * 1.25 else "low" if value < scot * 0.75 else "within"
            own = cid == CLUSTER
            rows.append(_row(
                indicator_id=ind, level="cluster", area_id=cid, area_name=name, cluster_id=cid,
                numerator=value * size / 1000, denominator=size, value=value, lower_95=lo,
                upper_95=hi, lower_998=lo * 0.95, upper_998=hi * 1.05, scotland_value=scot,
                funnel_95=flag, funnel_998=flag, funnel_95_unadjusted=flag,
                funnel_998_unadjusted=flag, phi=1.8, tau2=0.01, plot_size=size,
                rest_of_scotland_value=scot,
                vs_rest_of_scotland=CLUSTER_VS[ind] if own else "similar",
                rest_of_hscp_value=scot * 1.1 if own else np.nan,
                rest_of_hb_value=scot * 1.05 if own else np.nan,
                interpretation=f"{'higher' if value > scot else 'lower'} than the rest of "
                               "Scotland; within the 99.8% limits after allowing for "
                               "over-dispersion",
            ))
        # the report cluster's practices (pseudonymised, banded sizes)
        for k, (name, band, mid) in enumerate(zip(PRACTICES, BANDS, BAND_MIDS)):
            value = CLUSTER_VALUE[ind] * (0.8 + 0.15 * k)
            suppressed = ind == "gaba" and k == 3
            lo, hi = _interval(value, mid)
            rows.append(_row(
                indicator_id=ind, level="practice", area_id=f"member-{'abcd'[k]}",
                area_name=name, cluster_id=CLUSTER, value=np.nan if suppressed else value,
                lower_95=np.nan if suppressed else lo, upper_95=np.nan if suppressed else hi,
                scotland_value=scot, funnel_998="within", funnel_95="within",
                qualifier="c" if suppressed else None, denominator_band=band, plot_size=mid,
                vs_rest_of_scotland=None if suppressed else ["better", "similar", "similar",
                                                             "worse"][k],
                vs_rest_of_cluster=None if suppressed else "similar",
                rest_of_cluster_value=CLUSTER_VALUE[ind], rest_of_scotland_value=scot,
                interpretation=None if suppressed else "similar to the rest of the cluster",
            ))
        # month rows: the cluster and its practices; a step up in the last 8 months
        for m, month in enumerate(MONTHS):
            step = 1.3 if m >= 16 else 1.0
            value = CLUSTER_VALUE[ind] * step * (1 + 0.03 * np.sin(m))
            signal = m >= 17
            rows.append(_row(
                indicator_id=ind, level="cluster", area_id=CLUSTER, area_name=CLUSTER_NAME,
                cluster_id=CLUSTER, period_type="month", period=month, value=value,
                denominator=30_000.0, rest_of_hscp_value=scot * 1.1,
                rest_of_hb_value=scot * 1.05, rest_of_scotland_value=scot, spc_chart="u",
                cl=CLUSTER_VALUE[ind], lcl=CLUSTER_VALUE[ind] * 0.85,
                ucl=CLUSTER_VALUE[ind] * 1.15, spc_signal=signal,
                spc_flag=("concern" if ind == "abx" else "improvement" if ind == "ppi"
                          else "neutral") if signal else None,
                spc_rule="point outside the limits" if signal else None, run_signal=True,
            ))
            for k, name in enumerate(PRACTICES):
                rows.append(_row(
                    indicator_id=ind, level="practice", area_id=f"member-{'abcd'[k]}",
                    area_name=name, cluster_id=CLUSTER, period_type="month", period=month,
                    value=value * (0.8 + 0.15 * k), rest_of_scotland_value=scot,
                    rest_of_cluster_value=value, denominator_band=BANDS[k],
                ))
    table = pd.DataFrame(rows)
    table.attrs["releasable"] = releasable
    table.attrs["audience"] = audience
    return table
