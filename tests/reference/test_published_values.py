"""clusterqi.stats reproduces the published test values in ../shared/reference.

Every row of cases.csv (except S1/S2, the disclosure module's), all 30 sizes x 4 limits of the
PHEindicatormethods funnel sample, and qicharts2's Montgomery p chart. Expected numbers are read
from the files, never retyped here; the tolerance is each row's own.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from clusterqi import stats
from tests.reference.r_random import r_rnorm

DISCLOSURE_CASES = {"S1", "S2"}
NUMBER = r"-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?"


def load_cases(reference_dir: Path) -> dict[str, dict[str, str]]:
    with open(reference_dir / "cases.csv", newline="", encoding="utf-8") as handle:
        return {row["id"]: row for row in csv.DictReader(handle)}


def pairs(text: str) -> dict[str, str]:
    """'a=1;b=2 (note)' -> {'a': '1', 'b': '2'} (parenthetical notes dropped)."""
    text = re.sub(r"\([^)]*\)", "", text)
    found = {}
    for part in text.split(";"):
        if "=" in part:
            key, value = part.split("=", 1)
            found[key.strip()] = value.strip()
    return found


def numbers(text: str) -> list[float]:
    return [float(v) for v in re.findall(NUMBER, text)]


def printed_tolerance(text: str) -> float:
    """Half a unit in the last printed decimal place (for values rounded when published)."""
    decimals = len(text.split(".")[1]) if "." in text else 0
    return 0.5 * 10.0**-decimals + 1e-12


def relative(case: dict[str, str]) -> float:
    return float(case["tolerance_note"])


def check_wilson(case):
    given = pairs(case["inputs"])
    expected = pairs(case["expected"])
    got = stats.wilson_ci(float(given["x"]), float(given["n"]), float(given["conf"])).iloc[0]
    assert got["lower"] == pytest.approx(float(expected["lower"]), rel=relative(case))
    assert got["upper"] == pytest.approx(float(expected["upper"]), rel=relative(case))


def check_wilson_two_levels(case):
    given = pairs(case["inputs"].replace(" and ", ";_="))
    expected = pairs(case["expected"])
    for level, suffix in ((0.95, "95"), (0.998, "99.8")):
        got = stats.wilson_ci(float(given["x"]), float(given["n"]), level).iloc[0]
        assert got["lower"] == pytest.approx(float(expected[f"lower{suffix}"]), rel=relative(case))
        assert got["upper"] == pytest.approx(float(expected[f"upper{suffix}"]), rel=relative(case))


def check_wilson_missing(case):
    assert "NA" in case["expected"]
    got = stats.wilson_ci([np.nan, 0, 5], [100, np.nan, 10])
    assert got.iloc[:2].isna().all().all()
    assert got.iloc[2].notna().all()


def check_byars(case):
    given = pairs(case["inputs"])
    expected = pairs(case["expected"])
    got = stats.byars_ci(float(given["x"]), float(given["conf"])).iloc[0]
    assert got["lower"] == pytest.approx(float(expected["lower"]), rel=relative(case))
    assert got["upper"] == pytest.approx(float(expected["upper"]), rel=relative(case))


def check_rate(case):
    given = pairs(case["inputs"].replace("per ", "per="))
    expected = pairs(case["expected"])
    got = stats.rate_ci(float(given["x"]), float(given["n"]), multiplier=float(given["per"]),
                        confidence=float(given["conf"])).iloc[0]
    for key in ("value", "lower", "upper"):
        assert got[key] == pytest.approx(float(expected[key]), rel=relative(case))
    method = re.search(r"\((?:method )?(\w+)\)", case["expected"]).group(1)
    assert got["method"] == method


ESP2013 = "esp2013"


def check_dsr(case):
    counts = numbers(re.search(r"counts ([\d ]+)", case["inputs"]).group(1))
    pops = numbers(re.search(r"pops ([\d ]+)", case["inputs"]).group(1))
    assert ESP2013.upper() in case["inputs"]
    # European Standard Population 2013, 19 five-year bands to 90+ (an input, published by
    # Eurostat and shipped as PHEindicatormethods::esp2013).
    esp2013 = [5000, 5500, 5500, 5500, 6000, 6000, 6500, 7000, 7000, 7000, 7000, 6500, 6000,
               5500, 5000, 4000, 2500, 1500, 1000]
    expected = pairs(case["expected"])
    tol = relative(case)
    for level, suffix in ((0.95, "95"), (0.998, "99.8")):
        got = stats.dsr(counts, pops, esp2013, multiplier=100_000, confidence=level).iloc[0]
        assert got["value"] == pytest.approx(float(expected["value"]), rel=tol)
        assert got["lower"] == pytest.approx(float(expected[f"lower{suffix}"]), rel=tol)
        assert got["upper"] == pytest.approx(float(expected[f"upper{suffix}"]), rel=tol)
        assert got["method"] == "Dobson"


def check_dsr_suppressed(case):
    total = int(re.search(r"total_count=(\d+)", case["inputs"]).group(1))
    note = re.search(r"'([^']+)'", case["expected"]).group(1)
    counts = [total - 2, 1, 1]
    got = stats.dsr(counts, [500, 600, 700], [5000, 5500, 5500]).iloc[0]
    assert np.isnan(got["value"]) and np.isnan(got["lower"]) and np.isnan(got["upper"])
    assert got["method"] == note


def check_isr(case):
    given = pairs(case["inputs"])
    expected = pairs(case["expected"])
    got = stats.isr(float(given["observed"]), float(given["expected"])).iloc[0]
    assert got["value"] == pytest.approx(float(expected["ratio"]), rel=relative(case))
    assert got["lower"] == pytest.approx(float(expected["lower95"]), rel=relative(case))
    assert got["upper"] == pytest.approx(float(expected["upper95"]), rel=relative(case))
    assert got["method"] == re.search(r"\((\w+)\)", case["expected"]).group(1)


def check_funnel_row(case, reference_dir):
    inputs = pd.read_csv(reference_dir / "pheim_funnel_prop_inputs.csv")
    size, *expected = numbers(case["expected"])
    got = stats.funnel_limits_proportion(inputs["numerator"], inputs["denominator"], [size],
                                         multiplier=100).iloc[0]
    for column, value in zip(["lower_95", "upper_95", "lower_998", "upper_998"], expected):
        assert got[column] == pytest.approx(value, abs=printed_tolerance(f"{value}"))


def check_poisson_funnel(case):
    expected_counts = numbers(case["inputs"])
    got = stats.funnel_limits_ratio(expected_counts, target=1)
    columns = {"ll95": "lower_95", "ul95": "upper_95", "ll99.8": "lower_998", "ul99.8": "upper_998"}
    for part in case["expected"].split(";"):
        key, values = part.split("=")
        texts = values.split()
        for position, text in enumerate(texts):
            assert got[columns[key.strip()]].iloc[position] == pytest.approx(
                float(text), abs=printed_tolerance(text))


def check_xmr_limits(case):
    seed, n = (int(v) for v in re.search(r"set\.seed\((\d+)\) rnorm\((\d+)\)", case["inputs"]).groups())
    chart = stats.xmr_chart(r_rnorm(seed, n), screen_outliers=True)
    expected = pairs(case["expected"])
    for key, column in (("mean", "cl"), ("lpl", "lcl"), ("upl", "ucl")):
        assert chart[column].iloc[0] == pytest.approx(float(expected[key]),
                                                      abs=printed_tolerance(expected[key]))


def check_trend(case):
    series = [list(range(1, 8)), [2, *range(1, 8), 3], list(range(7, 0, -1))]
    assert len(case["inputs"].split(";")) == len(series)
    for values, expected in zip(series, case["expected"].split(";")):
        assert stats.seven_point_trend(values).tolist() == [int(v) for v in expected.split()]


def check_montgomery(case, reference_dir):
    table = pd.read_csv(reference_dir / "qicharts2_montgomery_table_7_1.csv")
    part = int(re.search(r"part=(\d+)", case["method"]).group(1))
    excluded = [int(v) - 1 for v in re.search(r"exclude=c\(([\d;]+)\)", case["method"]).group(1).split(";")]
    counts = numbers(re.search(r"counts ([\d ]+)", case["inputs"]).group(1))
    samples = table.iloc[:part]
    assert samples["count"].tolist() == counts
    chart = stats.p_chart(samples["count"], samples["size"], exclude=excluded)
    limits = re.search(rf"CL=({NUMBER});UCL=({NUMBER});LCL=({NUMBER})", case["expected"]).groups()
    tol = relative(case)
    for column, value in zip(("cl", "ucl", "lcl"), limits):
        assert chart[column].iloc[0] == pytest.approx(float(value), rel=tol)
    runs = re.search(r"n_useful=(\d+) longest=(\d+) \(max (\d+)\) crossings=(\d+) \(min (\d+)\)",
                     case["expected"]).groups()
    analysis = chart.attrs["anhoej"]
    assert [analysis[k] for k in ("n_useful", "longest_run", "longest_run_max", "crossings",
                                  "crossings_min")] == [int(v) for v in runs]
    assert analysis["signal"] is ("no signal" not in case["expected"])
    sigma = [int(v) - 1 for v in re.search(r"sigma signal at samples ([\d ]+)", case["expected"]).group(1).split()]
    assert np.flatnonzero(chart["outside_limits"].to_numpy()).tolist() == sigma


def check_anhoej(case):
    n = numbers(case["inputs"])
    expected = {key.strip(): value for key, value in (part.split("=") for part in case["expected"].split(";"))}
    longest, crossings = stats.anhoej_thresholds(n)
    assert longest.tolist() == numbers(expected["longest_max"])
    assert crossings.tolist() == numbers(expected["crossings_min"])


CHECKS = {
    "W1": check_wilson, "W2": check_wilson, "W4": check_wilson_two_levels,
    "W6": check_wilson_missing, "B1": check_byars, "R1": check_rate, "R3": check_rate,
    "D1": check_dsr, "D2": check_dsr_suppressed, "I1": check_isr, "F1": check_funnel_row,
    "FP1": check_poisson_funnel, "P1": check_xmr_limits, "P4": check_trend,
    "Q1": check_montgomery, "Q4": check_anhoej,
}
NEEDS_DIR = {"F1", "Q1"}


def test_every_reference_case_outside_disclosure_has_a_check(reference_dir):
    ids = set(load_cases(reference_dir)) - DISCLOSURE_CASES
    assert ids == set(CHECKS)


@pytest.mark.parametrize("case_id", sorted(CHECKS))
def test_reference_case_matches_published_value(case_id, reference_dir):
    case = load_cases(reference_dir)[case_id]
    check = CHECKS[case_id]
    if case_id in NEEDS_DIR:
        check(case, reference_dir)
    else:
        check(case)


FUNNEL_COLUMNS = {"lower_95": "Lower2s0025limit", "upper_95": "Upper2s0025limit",
                  "lower_998": "Lower3s0001limit", "upper_998": "Upper3s0001limit",
                  "baseline": "Baseline"}


def test_proportion_funnel_matches_all_30_published_sizes_and_four_limits(reference_dir):
    inputs = pd.read_csv(reference_dir / "pheim_funnel_prop_inputs.csv")
    expected = pd.read_csv(reference_dir / "pheim_funnel_prop_outputs_sample.csv", dtype=str)
    assert len(expected) == 30
    got = stats.funnel_limits_proportion(inputs["numerator"], inputs["denominator"],
                                         expected["Population"].astype(float), multiplier=100)
    for ours, theirs in FUNNEL_COLUMNS.items():
        for position, text in enumerate(expected[theirs]):
            assert got[ours].iloc[position] == pytest.approx(float(text), abs=printed_tolerance(text)), (
                f"{ours} at population {expected['Population'].iloc[position]}")


SIGNIFICANCE = {"High (0.001)": ("high", "high"), "High (0.025)": ("high", "within"),
                "Low (0.001)": ("low", "low"), "Low (0.025)": ("low", "within"),
                "Not significant": ("within", "within")}


def test_unadjusted_proportion_flags_match_published_significance_labels(reference_dir):
    inputs = pd.read_csv(reference_dir / "pheim_funnel_prop_inputs.csv")
    od = stats.overdispersion(inputs["numerator"], inputs["denominator"], kind="proportion")
    flags = od.flag(inputs["numerator"], inputs["denominator"])
    expected = inputs["significance"].map(SIGNIFICANCE)
    got = list(zip(flags["funnel_95_unadjusted"], flags["funnel_998_unadjusted"]))
    assert got == expected.tolist()
