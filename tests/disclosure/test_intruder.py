"""An intruder with a released report and the public practice list attacks it: interval and
value inversion, pseudonym matching, complements and shared counts, months against the total,
areas against their clusters (the goals of the intruder issue: nothing is recovered).

Run: .venv/bin/python -m pytest -p no:xdist -q tests/disclosure/test_intruder.py
(renders 8 reports on real geography with synthetic prescribing: several minutes, once per session)
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import SYNTHETIC_PERIOD_END
from tests.disclosure import intruder

MONTHS = 12
#: (cluster, audience, revealed practice): the smallest clusters, a 5-practice cluster and the
#: clusters that cross a board or HSCP boundary in the Oct 2024 practice list.
REPORTS = [
    ("islay-jura", "cluster", None),                       # 2 practices
    ("coll-colonsay-tiree", "cluster", None),              # 3 practices, one of 136 patients
    ("coll-colonsay-tiree", "practice", "84097"),
    ("dundee-4", "cluster", None),                         # 5 practices
    ("kinross-errol-bridge-of-earn", "cluster", None),     # Newburgh Surgery is in Fife
    ("kinross-errol-bridge-of-earn", "practice", "13142"),
    ("bothwell-uddingston-viewpark", "cluster", None),     # two HSCPs
    ("doon-valley-cluster", "cluster", None),              # two HSCPs
]


@pytest.fixture(scope="session")
def contact_details(phs_dir) -> Path:
    return phs_dir / "practices" / "practice_contactdetails_oct2024-open-data.csv"


@pytest.fixture(scope="session")
def released_run(phs_dir, tmp_path_factory) -> dict[tuple[str, str], Path]:
    """Real geography with synthetic prescribing, the run's tables, and the reports rendered."""
    from clusterqi.report import prepare_run_tables
    from clusterqi.synthetic import write_synthetic
    from tests.report.conftest import run_report

    root = tmp_path_factory.mktemp("intruder")
    data = write_synthetic(
        root / "data", months=MONTHS, period_end=SYNTHETIC_PERIOD_END,
        practices=phs_dir / "practices" / "practice_contactdetails_oct2024-open-data.csv",
        populations=phs_dir / "practices" / "practice_listsizes_oct2024-open-data.csv",
        lookups=phs_dir / "lookups")
    tables = prepare_run_tables(data, SYNTHETIC_PERIOD_END, MONTHS, root / "run")
    out = {}
    for cluster, audience, reveal in REPORTS:
        rendered = run_report(root / "reports" / audience / (reveal or "all"), cluster_id=cluster,
                              period_end=SYNTHETIC_PERIOD_END, months=MONTHS, audience=audience,
                              reveal_practice=reveal, data=str(data), indicator_table=str(tables))
        out[(cluster, audience)] = rendered.html
    return out


@pytest.fixture(scope="session")
def attacked(released_run) -> dict[tuple[str, str], dict[str, pd.DataFrame]]:
    results = {}
    for key, html in released_run.items():
        cells = intruder.released_cells(html)
        inverted = intruder.invert_released(cells)
        results[key] = {"cells": cells, "inverted": inverted}
    return results


KEYS = [(c, a) for c, a, _ in REPORTS]


#: The policy's threshold: an intruder who has read it knows a shown count is at least this.
THRESHOLD = 5


@pytest.mark.parametrize("key", KEYS, ids=["/".join(k) for k in KEYS])
def test_no_hidden_numerator_is_inverted_from_printed_intervals(attacked, key):
    """From printed limits, or from a value and its size band (at their printed precision), by
    an intruder who does not know the threshold and by one who does."""
    informed = intruder.invert_released(attacked[key]["cells"], min_count=THRESHOLD)
    for inverted in (attacked[key]["inverted"], informed):
        recovered = inverted[inverted["recovered"]] if len(inverted) else inverted
        assert len(recovered) == 0, (
            f"{len(recovered)} of {len(inverted)} rows with a hidden numerator inverted, e.g.\n"
            f"{recovered.head().to_string()}")
    banded = informed[informed["band"].notna()]
    assert len(banded) == 0 or banded["candidates"].min() >= 3   # many counts fit a banded row


@pytest.mark.parametrize("key", KEYS, ids=["/".join(k) for k in KEYS])
def test_no_pseudonymised_practice_is_identified(attacked, contact_details, key):
    practices = intruder.public_practices(contact_details)
    informed = intruder.invert_released(attacked[key]["cells"], min_count=THRESHOLD)
    for inverted in (attacked[key]["inverted"], informed):
        matched = intruder.match_pseudonyms(attacked[key]["cells"], practices, key[0],
                                            inverted=inverted)
        identified = matched[matched["recovered"]]
        assert len(identified) == 0, identified.to_string()


@pytest.mark.parametrize("key", KEYS, ids=["/".join(k) for k in KEYS])
def test_no_suppressed_count_is_recovered_from_shares_or_months(attacked, key):
    cells, inverted = attacked[key]["cells"], attacked[key]["inverted"]
    shares = intruder.complement_and_shared_counts(cells, inverted)
    months = intruder.difference_months_total(cells, inverted)
    found = pd.concat([shares[shares["recovered"]], months[months["recovered"]]], ignore_index=True)
    assert len(found) == 0, f"{len(found)} small counts recovered, e.g.\n{found.head().to_string()}"


def test_board_minus_cross_boundary_cluster_recovers_nothing(attacked, contact_details):
    """Kinross/Errol/Bridge of Earn has Newburgh Surgery in Fife: its HSCP (Perth and Kinross)
    minus the cluster, and the cluster against its board, must not pin a small count."""
    practices = intruder.public_practices(contact_details)
    crossing = intruder.cross_boundary_clusters(practices)
    assert "kinross-errol-bridge-of-earn" in set(crossing["cluster_id"])
    cells = attacked[("kinross-errol-bridge-of-earn", "cluster")]["cells"]
    inverted = attacked[("kinross-errol-bridge-of-earn", "cluster")]["inverted"]
    found = []
    for level in ("hscp", "hb"):
        parents = cells.loc[(cells["source"] == "csv") & (cells["level"] == level), "area"].dropna().unique()
        clusters = cells.loc[(cells["source"] == "csv") & (cells["level"] == "cluster"), "area"].dropna().unique()
        for parent in parents:
            result = intruder.difference_areas([cells], level, parent, list(clusters), [inverted])
            found.append(result[result["recovered"]])
    found = pd.concat(found, ignore_index=True)
    assert len(found) == 0, found.head().to_string()
