"""Local QI measures: strict loading with errors for people, and indicator-shaped rows."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from clusterqi import DataError
from clusterqi.indicators import calculate_local_measure, load_local_measure
from clusterqi.indicators.calculate import TABLE_COLUMNS

SHIPPED = Path(__file__).resolve().parents[2] / "parameters" / "local_measures"
YAML = """\
title: Letters filed without GP input
unit: "%"
multiplier: 100
low_is_good: false
pdsa:
  - date: 2025-03-03
    change: New protocol
"""


def _practices() -> pd.DataFrame:
    rows = [("10001", "c1"), ("10002", "c1"), ("10003", "c1"), ("10004", "c2")]
    return pd.DataFrame({
        "practice_code": [p for p, _ in rows], "practice_name": [f"Practice {p}" for p, _ in rows],
        "cluster_name": [c.upper() for _, c in rows], "cluster_id": [c for _, c in rows],
        "in_cluster": True, "hscp_code": "S37000001", "hscp_name": "HSCP A",
        "hb_code": "S08000001", "hb_name": "Board 1", "home_hscp_code": "S37000001",
        "home_hb_code": "S08000001", "list_size": 5000,
    })


def _write(folder: Path, csv: str, yaml: str = YAML, name: str = "letters") -> Path:
    (folder / f"{name}.csv").write_text(csv)
    path = folder / f"{name}.yaml"
    path.write_text(yaml)
    return path


def test_shipped_template_and_example_load():
    for name in ("template", "hospital_letters"):
        measure = load_local_measure(SHIPPED / f"{name}.yaml")
        assert len(measure.data) > 0 and measure.spec.pdsa
    example = load_local_measure(SHIPPED / "hospital_letters.yaml")
    assert example.id == "hospital_letters_filed_without_gp"
    assert example.data.period.min() == pd.Timestamp("2025-04-01")


def test_rows_are_indicator_shaped_with_practice_and_cluster_months(tmp_path):
    csv = "period,practice_code,numerator,denominator\n" + "\n".join(
        f"2025-{m:02d},{p},{n},{40}" for m in range(1, 13)
        for p, n in (("10001", 10 + m), ("10002", 12), ("10003", 8)))
    rows = calculate_local_measure(load_local_measure(_write(tmp_path, csv)), _practices())
    assert list(rows.columns) == TABLE_COLUMNS
    assert set(rows.level) == {"practice", "cluster"} and set(rows.period_type) == {"month"}
    assert rows.indicator_id.unique().tolist() == ["letters"]
    c1 = rows[(rows.level == "cluster") & (rows.period == "2025-12")].iloc[0]
    assert (c1.numerator, c1.denominator) == (22 + 12 + 8, 120)
    assert c1.value == pytest.approx(42 / 120 * 100)
    p1 = rows[(rows.area_id == "10001") & (rows.period == "2025-12")].iloc[0]
    assert p1.rest_of_cluster_value == pytest.approx(20 / 80 * 100)
    assert rows.spc_chart.eq("p_prime").all() and rows.run_signal.notna().all()
    # practice 10001 climbs steadily (11..22 of 40): the chart sees the rise as improvement
    climb = rows[rows.area_id == "10001"]
    rising = climb[climb.spc_rule.fillna("").str.contains("trend")]
    assert len(rising) >= 7 and climb.spc_flag.iloc[-1] == "improvement"
    assert pd.isna(c1.scotland_value) and pd.isna(c1.funnel_998)
    assert rows.attrs["pdsa"] == [{"date": "2025-03-03", "period": "2025-03",
                                   "change": "New protocol"}]


def test_sex_and_age_rows_are_summed_to_practice_months(tmp_path):
    csv = ("period,practice_code,numerator,denominator,sex,age_band\n"
           "2025-01,10001,3,10,Male,65-74\n2025-01,10001,4,10,Female,65-74\n")
    rows = calculate_local_measure(load_local_measure(_write(tmp_path, csv)), _practices())
    p1 = rows[rows.area_id == "10001"].iloc[0]
    assert (p1.numerator, p1.denominator) == (7, 20)


def test_csv_errors_name_file_row_column_and_value(tmp_path):
    csv = ("period,practice_code,numerator,denominator\n"
           "2025-13,10001,3,10\n"
           "2025-01,1001,3,10\n"
           "2025-02,10001,-1,10\n"
           "2025-03,10001,12,10\n"
           "2025-03,10001,1,10\n")
    with pytest.raises(DataError) as err:
        load_local_measure(_write(tmp_path, csv))
    text = str(err.value)
    assert "letters.csv, row 2, column period: value '2025-13' is not a month" in text
    assert "row 3, column practice_code: value '1001'; expected a 5-digit" in text
    assert "row 4, column numerator: value '-1'; expected a whole number >= 0" in text
    assert "row 5, column numerator: value '12' is above the denominator '10'" in text
    assert "row 6: a second row for period '2025-03', practice_code '10001'" in text


def test_missing_columns_and_unknown_yaml_keys_are_refused(tmp_path):
    with pytest.raises(DataError, match=r"missing \['denominator'\]"):
        load_local_measure(_write(tmp_path, "period,practice_code,numerator\n2025-01,10001,1\n"))
    with pytest.raises(DataError, match="field colour: Extra inputs are not permitted"):
        load_local_measure(_write(tmp_path, "period,practice_code,numerator,denominator\n",
                                  YAML + "colour: red\n"))
    with pytest.raises(DataError, match="field low_is_good: Field required"):
        load_local_measure(_write(tmp_path, "x", "title: t\nunit: u\n"))


def test_practices_missing_from_the_data_are_refused(tmp_path):
    csv = "period,practice_code,numerator,denominator\n2025-01,99999,1,10\n"
    with pytest.raises(DataError, match=r"practice_code\(s\) \['99999'\] are not in the practices"):
        calculate_local_measure(load_local_measure(_write(tmp_path, csv)), _practices())


def _story(tmp_path, yaml_extra="", pdsa=(("2025-07-01", "Protocol"),)):
    """Practice 10001: 20% for 6 months, then 45% after PDSA 1 (July); 24 months, n = 200."""
    months = pd.period_range("2025-01", periods=24, freq="M").strftime("%Y-%m")
    rng = np.random.default_rng(4)
    lines = []
    for k, month in enumerate(months):
        rate = 0.2 if k < 6 else 0.45
        lines.append(f"{month},10001,{rng.binomial(200, rate)},200")
        lines.append(f"{month},10002,{rng.binomial(200, 0.3)},200")
    csv = "period,practice_code,numerator,denominator\n" + "\n".join(lines)
    yaml = ("title: Letters\nunit: '%'\nmultiplier: 100\nlow_is_good: false\n"
            + ("pdsa:\n" if pdsa else "") + "".join(f"  - date: {d}\n    change: {c}\n" for d, c in pdsa) + yaml_extra)
    return calculate_local_measure(load_local_measure(_write(tmp_path, csv, yaml)),
                                   _practices())


def test_limits_come_from_the_months_before_the_first_pdsa_change(tmp_path):
    rows = _story(tmp_path)
    assert rows.attrs["baseline"] == {"start": None, "end": "2025-06"}
    steady = rows[rows.area_id == "10002"]
    baseline = steady[steady.period <= "2025-06"]
    expected = baseline.numerator.sum() / baseline.denominator.sum() * 100
    assert steady.cl.iloc[0] == pytest.approx(expected)
    # months before the change are not flagged for being below an average that includes it
    climber = rows[rows.area_id == "10001"]
    assert not climber[climber.period <= "2025-06"].spc_signal.any()


def test_a_shift_after_a_pdsa_change_that_holds_starts_a_new_phase(tmp_path):
    rows = _story(tmp_path)
    climber = rows[rows.area_id == "10001"]
    assert climber.spc_phase.tolist() == [0] * 6 + [1] * 18
    new = [p for p in rows.attrs["phases"] if p["area_id"] == "10001"]
    assert len(new) == 1
    assert new[0]["start"] == "2025-07" and new[0]["pdsa"] == "PDSA 1"
    assert new[0]["previous_cl"] == pytest.approx(20, abs=3)
    assert new[0]["cl"] == pytest.approx(45, abs=3)
    after = climber[climber.spc_phase == 1]
    assert after.cl.iloc[0] == pytest.approx(after.numerator.sum() / after.denominator.sum() * 100)
    # the steady practice holds no new phase
    assert set(rows[rows.area_id == "10002"].spc_phase) == {0}


def test_a_stated_baseline_period_is_used_instead_of_the_pdsa_dates(tmp_path):
    rows = _story(tmp_path, "baseline:\n  start: 2025-02\n  end: 2025-05\n")
    assert rows.attrs["baseline"] == {"start": "2025-02", "end": "2025-05"}
    steady = rows[rows.area_id == "10002"]
    part = steady[(steady.period >= "2025-02") & (steady.period <= "2025-05")]
    assert steady.cl.iloc[0] == pytest.approx(part.numerator.sum() / part.denominator.sum() * 100)


def test_a_bad_baseline_month_names_the_field(tmp_path):
    with pytest.raises(DataError, match=r"field baseline.end: String should match pattern"):
        _story(tmp_path, "baseline:\n  end: June\n")


def test_without_pdsa_changes_every_month_sets_the_limits(tmp_path):
    rows = _story(tmp_path, pdsa=())
    assert rows.attrs["baseline"] is None and rows.attrs["phases"] == []
    assert set(rows.spc_phase) == {0}
