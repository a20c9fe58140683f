"""The grouped SPC of the indicator table agrees with clusterqi.stats' one-series charts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from clusterqi import stats
from clusterqi.indicators.series import spc_frame

IMPROVEMENT = {1.0: "increase", -1.0: "decrease", 0.0: None}


def _series(rng, n, chart):
    den = rng.integers(50, 400, n).astype(float)
    rate = 0.2 * np.where(np.arange(n) >= n // 2, rng.choice([1.0, 1.6]), 1.0)
    if chart == "p":
        num = rng.binomial(den.astype(int), np.minimum(rate, 1)).astype(float)
    else:
        num = rng.poisson(den * rate).astype(float)
    return num, den


@pytest.mark.parametrize("chart", ["p", "u", "xmr"])
def test_grouped_spc_matches_stats_charts_series_by_series(chart):
    rng = np.random.default_rng(7)
    nums, dens, ids, dirs, lengths = [], [], [], [], [8, 24, 24, 30, 12, 24]
    for i, n in enumerate(lengths):
        num, den = _series(rng, n, chart)
        nums.append(num)
        dens.append(den)
        ids.append(np.full(n, i))
        dirs.append(np.full(n, [1.0, -1.0, 0.0][i % 3]))
    num, den, series, direction = map(np.concatenate, (nums, dens, ids, dirs))
    mult = 100.0
    y = num / den * mult
    got = spc_frame(y, num, den, np.full(len(y), chart, dtype=object), series,
                    np.full(len(y), mult), direction)
    start = 0
    for i, n in enumerate(lengths):
        part = got.iloc[start:start + n]
        improvement = IMPROVEMENT[float(dirs[i][0])]
        if chart == "p":
            ref = stats.p_chart(nums[i], dens[i], improvement=improvement)
            scale = mult
        elif chart == "u":
            ref = stats.u_chart(nums[i], dens[i], improvement=improvement, multiplier=mult)
            scale = 1.0
        else:
            ref = stats.xmr_chart(nums[i] / dens[i] * mult, improvement=improvement)
            scale = 1.0
        np.testing.assert_allclose(part.cl, ref.cl * scale, rtol=1e-12)
        np.testing.assert_allclose(part.lcl, ref.lcl * scale, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(part.ucl, ref.ucl * scale, rtol=1e-12)
        assert part.spc_signal.tolist() == ref.signal.tolist()
        assert part.spc_flag.tolist() == ref.flag.tolist()
        assert part.spc_rule.tolist() == ref.rule.tolist()
        assert part.run_signal.tolist() == ref.run_signal.tolist()
        start += n
