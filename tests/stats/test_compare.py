"""compare: Fingertips-style labels against a benchmark value."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from clusterqi.stats import compare


@pytest.mark.parametrize(("lower", "upper", "low_is_good", "label"), [
    (0.28, 0.34, True, "worse"),
    (0.28, 0.34, False, "better"),
    (0.28, 0.34, None, "higher"),
    (0.10, 0.20, True, "better"),
    (0.10, 0.20, None, "lower"),
    (0.20, 0.30, True, "similar"),
    (0.25, 0.30, False, "similar"),
])
def test_label_depends_on_where_the_benchmark_lies_against_the_interval(lower, upper, low_is_good, label):
    result = compare(0.3, lower, upper, benchmark=0.25, low_is_good=low_is_good)
    assert result == label and isinstance(result, str)


def test_arrays_give_a_series_keeping_the_index_and_missing_gives_missing():
    value = pd.Series([0.3, 0.1, np.nan], index=["x", "y", "z"])
    result = compare(value, [0.28, 0.05, 0.1], [0.34, 0.2, 0.2], benchmark=0.25, low_is_good=None)
    assert result.index.tolist() == ["x", "y", "z"]
    assert result.iloc[:2].tolist() == ["higher", "lower"] and pd.isna(result.iloc[2])


def test_invalid_direction_or_interval_raises_value_error():
    with pytest.raises(ValueError, match="low_is_good"):
        compare(1, 0, 2, 1, low_is_good="yes")
    with pytest.raises(ValueError, match="lower"):
        compare(1, 3, 2, 1, low_is_good=True)
