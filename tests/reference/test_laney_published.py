"""Laney p' chart against qicharts2's own published example (the ``nhs_accidents`` data).

Source: anhoej/qicharts2, vignettes/qicharts2.Rmd, "Case 5: Prime charts for count data with very
large sample sizes": ``qic(i, r, n = n, data = nhs_accidents, chart = 'pp', decimals = 3)``. Its
rendered figure (docs/articles/qicharts2_files/figure-html/unnamed-chunk-51-1.png) labels the
last week's centre line and limits to 3 decimals (percent): CL 95.290, LCL 93.997, UCL 96.582.
The data (20 weeks of NHS A&E attendances seen within 4 hours, r of n) are qicharts2's
``data/nhs_accidents.rda``, from Mohammed MA et al. (2013) BMJ Qual Saf 22:362-368.
The same vignette shows the P chart of these data with most weeks outside its limits; we check
that too (the reason p' charts exist).
"""

from __future__ import annotations

import numpy as np
import pytest

from clusterqi import stats

SEEN_WITHIN_4H = [266501, 264225, 276532, 281461, 269071, 261215, 270409, 279778, 270483, 270320,
                  267923, 271478, 255353, 256820, 261835, 259144, 255910, 260863, 264465, 260989]
ATTENDANCES = [280443, 276823, 291681, 296155, 282343, 275888, 283867, 295251, 284468, 282529,
               279618, 283932, 266629, 268091, 276803, 271578, 266005, 273520, 278574, 273772]
#: qicharts2 figure labels, percent to 3 decimals, at week 20.
PUBLISHED_WEEK_20 = {"cl": 95.290, "lcl": 93.997, "ucl": 96.582}
#: half a unit in the last printed decimal
PRINTED_TOLERANCE = 0.0005


def test_p_prime_chart_matches_qicharts2_nhs_accidents_labels():
    chart = stats.p_prime_chart(SEEN_WITHIN_4H, ATTENDANCES)
    week_20 = chart.iloc[-1]
    for column, expected in PUBLISHED_WEEK_20.items():
        assert week_20[column] * 100 == pytest.approx(expected, abs=PRINTED_TOLERANCE), column
    # the vignette's P' chart shows every week inside the limits
    assert not chart["outside_limits"].any()


def test_p_chart_of_the_same_data_flags_most_weeks_as_the_vignette_shows():
    chart = stats.p_chart(SEEN_WITHIN_4H, ATTENDANCES)
    assert chart["outside_limits"].mean() > 0.5
    # Laney's sigma_z is the factor between the two: about 10.6 for these data
    prime = stats.p_prime_chart(SEEN_WITHIN_4H, ATTENDANCES)
    np.testing.assert_allclose((prime.ucl - prime.cl) / (chart.ucl - chart.cl), prime.sigma_z)
    assert 10 < prime["sigma_z"].iloc[0] < 11
