"""Statistics core: intervals, standardisation, funnels with over-dispersion, SPC, comparisons.

Pure functions validated against the published values UK public-health analysts already trust
(PHEindicatormethods, FunnelPlotR, qicharts2, NHSRplotthedots; see ``tests/reference/``). Every
function's docstring gives its formula and source.

Example usage::

    from clusterqi.stats import wilson_ci, overdispersion, xmr_chart, p_prime_chart, compare
"""

from clusterqi.stats.compare import SIMILAR, adjusted_z, compare, compare_adjusted
from clusterqi.stats.funnels import (
    Overdispersion,
    funnel_limits_proportion,
    funnel_limits_ratio,
    overdispersion,
    reliability,
)
from clusterqi.stats.intervals import byars_ci, mean_ci, poisson_exact_ci, rate_ci, wilson_ci
from clusterqi.stats.spc import (
    anhoej_thresholds,
    laney_sigma_z,
    p_chart,
    p_prime_chart,
    run_chart,
    runs_analysis,
    seven_point_trend,
    u_chart,
    u_prime_chart,
    xmr_chart,
)
from clusterqi.stats.standardisation import dsr, isr

__all__ = [
    "Overdispersion",
    "SIMILAR",
    "adjusted_z",
    "anhoej_thresholds",
    "byars_ci",
    "compare",
    "compare_adjusted",
    "dsr",
    "funnel_limits_proportion",
    "funnel_limits_ratio",
    "isr",
    "laney_sigma_z",
    "mean_ci",
    "overdispersion",
    "p_chart",
    "p_prime_chart",
    "poisson_exact_ci",
    "rate_ci",
    "reliability",
    "run_chart",
    "runs_analysis",
    "seven_point_trend",
    "u_chart",
    "u_prime_chart",
    "wilson_ci",
    "xmr_chart",
]
