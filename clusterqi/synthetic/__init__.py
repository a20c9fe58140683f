"""Synthetic Scotland: PHS open-data files for a Scotland that does not exist.

The embedded default data set (DESIGN.md section 3). :func:`write_synthetic` writes, in the
exact PHS layouts, so the demo and the tests go through the same loaders as real data:

- quarterly ``practice_contactdetails_<mon><yyyy>-open-data.csv`` and
  ``practice_listsizes_<mon><yyyy>-open-data.csv`` (Jan/Apr/Jul/Oct releases covering the months);
- one ``pitcYYYYMM.csv`` per month (the recent layout with ``DMDCode``; the first month in the
  older layout with ``ClassOfPreparationCode``, so loaders handle both);
- ``hb14_hb19.csv`` and ``hscp16_hscp19.csv``;
- ``simd2020v2_22062020.csv``: the Scottish Index of Multiple Deprivation of the practices'
  (invented) Data Zones, with deprivation clustered by HSCP and cluster, and a deprivation
  gradient planted in opioid, gabapentinoid, hypnotic and dosulepin prescribing
  (:mod:`clusterqi.synthetic.deprivation`; not in attach mode, where the real practices' Data
  Zones need the real SIMD file);
- ``ground_truth.csv``: the planted effects (:mod:`clusterqi.synthetic.plants`), and the clusters
  the deprivation gradient alone sets apart (``deprivation_gradient``).

About 14 boards, 31 HSCPs, 150 clusters and 900 practices. Prescribing uses real presentations
of the package's code list (:func:`clusterqi.codelist.load_presentations`: real BNF codes, names
in ``BNFItemDescription``, dm+d codes in ``DMDCode``), their roles found by asking the
catalogue's code lists (:mod:`clusterqi.synthetic.codes`), plus background items. Items follow
Scotland's working days (:mod:`clusterqi.synthetic.calendar`), seasons, national trends,
lumpy month-to-month repeat prescribing and realistic variation between practices and clusters
(:mod:`clusterqi.synthetic.prescribing`). Deterministic for a seed: the same arguments give
byte-identical files. The default period ends in 2026-09, never today's date.

Example usage::

    from clusterqi.synthetic import ensure_synthetic, write_synthetic

    folder = ensure_synthetic()                       # cached, generated once
    write_synthetic("demo-data", seed=7, months=12)   # a fresh folder
    write_synthetic("attached", practices="practice_contactdetails_oct2024-open-data.csv",
                    populations="practice_listsizes_oct2024-open-data.csv", lookups="lookups/")
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from clusterqi.errors import DataError

__all__ = [
    "DEFAULT_SEED",
    "DEFAULT_MONTHS",
    "DEFAULT_PERIOD_END",
    "SCALES",
    "GENERATOR_VERSION",
    "write_synthetic",
    "ensure_synthetic",
    "code_table",
]

DEFAULT_SEED = 42
DEFAULT_MONTHS = 24
DEFAULT_PERIOD_END = "2026-09"
#: Background presentations per scale: ``default`` keeps each month under ~50,000 rows;
#: ``real`` gives about 1.4 million rows a month, like a real PITC file, for benchmarks.
SCALES = {"default": 5, "real": 1950}
#: Bump when the generator's output changes, so cached folders are regenerated.
GENERATOR_VERSION = "3"
#: Second seed word of the code table's own random stream.
_CODES_STREAM = 1
_PERIOD = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


def _months(period_end: str, months: int) -> pd.DatetimeIndex:
    if not isinstance(period_end, str) or not _PERIOD.match(period_end):
        raise DataError(f"period_end {period_end!r} is not a month; expected YYYY-MM, e.g. 2026-09")
    if not isinstance(months, int) or months < 1:
        raise DataError(f"months {months!r} must be a whole number >= 1")
    end = pd.Timestamp(f"{period_end}-01")
    return pd.date_range(end=end, periods=months, freq="MS")


def write_synthetic(out: str | Path, seed: int = DEFAULT_SEED, months: int = DEFAULT_MONTHS,
                    period_end: str = DEFAULT_PERIOD_END, scale: str = "default",
                    practices: str | Path | None = None, populations: str | Path | None = None,
                    lookups: str | Path | None = None, *, progress: bool = False) -> Path:
    """Write synthetic Scotland into ``out`` (created if missing) and return its path.

    Attach mode: with ``practices`` and ``populations`` (the real PHS files) and optionally
    ``lookups`` (a folder holding ``hb14_hb19.csv`` and ``hscp16_hscp19.csv``), the real files
    are copied into ``out`` and synthetic prescribing (with planted effects) is generated for
    the real practices, so Scotland's real clusters can be explored without real prescribing.

    Constraints: ``scale`` is "default" or "real"; ``months`` >= 1; ``period_end`` "YYYY-MM";
    ``out`` is new, empty, or an earlier synthetic world (it holds ``ground_truth.csv``), which is
    replaced. Everything is written into a temporary folder beside ``out`` and moved into place
    only when complete, so an interrupted run never leaves a world that loads with months
    missing.
    """
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise DataError(f"{out}: a file is in the way; expected a folder for synthetic Scotland")
    if out.is_dir() and any(out.iterdir()) and not (out / "ground_truth.csv").is_file():
        raise DataError(f"{out}: the folder holds other files; expected a new or empty folder "
                        "(or an earlier synthetic world, which is replaced)")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-", dir=out.parent))
    try:
        _write_world(tmp, seed, months, period_end, scale, practices, populations, lookups,
                     progress)
        if out.is_dir():
            old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
            os.replace(out, old / "world")
            os.replace(tmp, out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, out)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return out


def _write_world(out: Path, seed, months, period_end, scale, practices, populations, lookups,
                 progress) -> None:
    """write_synthetic's work, into an empty folder ``out``."""
    from clusterqi.indicators.catalogue import load_catalogue
    from clusterqi.synthetic import layouts
    from clusterqi.synthetic.deprivation import (
        SIMD_FILE,
        assign_deprivation,
        gradient_factors,
        gradient_plants,
        write_simd,
    )
    from clusterqi.synthetic.plants import ground_truth_frame
    from clusterqi.synthetic.prescribing import expected_shares, monthly_prescribing
    from clusterqi.synthetic.world import build_world, populations_for

    if scale not in SCALES:
        raise DataError(f"scale {scale!r} is not known; expected one of {sorted(SCALES)}")
    if (practices is None) != (populations is None):
        raise DataError("attach mode needs both practices and populations (the real PHS files)")
    month_index = _months(period_end, months)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    catalogue = load_catalogue()
    codes = code_table(seed, scale)
    shares = expected_shares(codes, catalogue)

    simd = None
    if practices is None:
        world = build_world(rng, catalogue, month_index, shares=shares)
        simd = assign_deprivation(world.practices, seed)
        _write_geography_files(out, world, populations_for(world.list_sizes, world.practices), simd)
        write_simd(out / SIMD_FILE, simd, world.practices)
    else:
        from clusterqi.synthetic.attach import copy_real_files, real_geography

        geography, release = real_geography(Path(practices), Path(populations), lookups)
        copy_real_files(out, Path(practices), Path(populations), lookups)
        world = build_world(rng, catalogue, month_index, geography=geography,
                            release=release, shares=shares)

    truth = list(world.plants)
    gradient = None
    if simd is not None:
        truth += gradient_plants(simd, world.practices, truth, catalogue)
        gradient = gradient_factors(simd, world.practices)
    ground_truth_frame(truth).to_csv(out / "ground_truth.csv", index=False, lineterminator="\n")
    stream = monthly_prescribing(world, codes, catalogue, month_index, rng, gradient=gradient)
    if progress:
        from tqdm import tqdm

        stream = tqdm(stream, total=len(month_index), desc="pitc months", unit="month",
                      file=sys.stderr)
    for i, (month, frame) in enumerate(stream):
        layouts.write_pitc(out / f"pitc{month.year}{month.month:02d}.csv", month, frame,
                           old_layout=(i == 0 and len(month_index) > 1))


def code_table(seed: int = DEFAULT_SEED, scale: str = "default") -> pd.DataFrame:
    """The presentations :func:`write_synthetic` prescribes for this seed and scale.

    One row a presentation: bnf_code, description, dmd_code, chemical, strength, form_class,
    group, rate (items per 1,000 patients per day), unit_cost
    (:mod:`clusterqi.synthetic.codes`). Drawn from its own random stream, so it is the same
    whatever the world around it.

    Example usage::

        codes = code_table()
        codes.groupby("group")["rate"].sum()      # Scotland's items per 1,000 patients per day
    """
    from clusterqi.codelist import load_presentations
    from clusterqi.indicators.catalogue import load_catalogue
    from clusterqi.synthetic.codes import background_codes, build_code_table

    if scale not in SCALES:
        raise DataError(f"scale {scale!r} is not known; expected one of {sorted(SCALES)}")
    rng = np.random.default_rng([seed, _CODES_STREAM])
    catalogue = load_catalogue()
    presentations = load_presentations()
    return pd.concat([build_code_table(catalogue, presentations, rng),
                      background_codes(SCALES[scale], presentations, rng, catalogue)],
                     ignore_index=True)


def _write_geography_files(out: Path, world, populations: pd.DataFrame, simd: pd.DataFrame) -> None:
    from clusterqi.synthetic import layouts

    layouts.write_lookups(out, world.geography.boards, world.geography.hscps)
    details = _practice_details(world, simd)
    for release in world.releases:
        stem = layouts.release_stem(release)
        sizes = world.list_sizes[world.list_sizes["release"] == release]
        frame = details.merge(sizes[["practice_code", "list_size"]], on="practice_code")
        frame["PracticeListSize"] = frame["list_size"].astype(str)
        layouts.write_practice_details(out / f"practice_contactdetails_{stem}-open-data.csv",
                                       frame.sort_values("PracticeCode"))
        pops = populations[populations["date"] == release.strftime("%Y%m%d")]
        layouts.write_populations(out / f"practice_listsizes_{stem}-open-data.csv", pops)


def _practice_details(world, simd: pd.DataFrame) -> pd.DataFrame:
    """The contact-details columns that do not change between releases (``DataZone`` from
    ``simd``, :func:`clusterqi.synthetic.deprivation.assign_deprivation`)."""
    p = world.practices.sort_values("practice_code", ignore_index=True)
    n = np.arange(len(p))
    streets = ("High Street", "Main Street", "Church Road", "Station Road", "Mill Lane")
    towns = world.geography.hscps.set_index("hscp_code")["hscp_name"]
    return pd.DataFrame({
        "practice_code": p["practice_code"],
        "PracticeCode": p["practice_code"],
        "GPPracticeName": p["practice_name"],
        "AddressLine1": p["practice_name"],
        "AddressLine2": [f"{10 + i % 90} {streets[i % len(streets)]}" for i in n],
        "AddressLine3": [towns[h] for h in p["hscp_code"]],
        "AddressLine4": "",
        "Postcode": [f"ZZ{1 + i % 99} {i % 9}{chr(65 + i % 26)}{chr(65 + (i // 26) % 26)}" for i in n],
        "TelephoneNumber": [f"01999   {100 + i % 900:03d}   {(i * 37) % 1000:03d}" for i in n],
        "PracticeType": p["practice_type"],
        "Dispensing": " ",
        "HB": p["hb_code"],
        "HSCP": p["hscp_code"],
        "DataZone": p["practice_code"].map(simd.set_index("practice_code")["data_zone"]).to_numpy(),
        "GPCluster": p["cluster_name"],
    })


def _source_hash() -> str:
    """Hash of the generator's own source and of the code list it draws presentations from,
    so a change to either regenerates cached folders."""
    from clusterqi.codelist import DATA_DIR

    digest = hashlib.sha256()
    for path in sorted(Path(__file__).parent.glob("*.py")):
        digest.update(path.read_bytes())
    for path in sorted(DATA_DIR.glob("*.csv")):
        digest.update(path.name.encode() + path.read_bytes())
    return digest.hexdigest()


def ensure_synthetic(seed: int = DEFAULT_SEED, months: int = DEFAULT_MONTHS,
                     period_end: str = DEFAULT_PERIOD_END) -> Path:
    """The cached synthetic folder for these arguments, generated once.

    Kept in ``clusterqi.paths.cache_dir("synthetic", <key>)``; the key holds the arguments, the
    generator version, a hash of the generator's source and code list, and the catalogue's
    hash, so a change to any of them regenerates it. Written
    to a temporary folder and renamed, so a crash never leaves a half-written folder.

    Example usage::

        folder = ensure_synthetic()          # seed 42, 24 months to 2026-09
    """
    from clusterqi.indicators.catalogue import catalogue_hash
    from clusterqi.paths import cache_dir

    _months(period_end, months)
    key = (f"seed{seed}-m{months}-{period_end}-v{GENERATOR_VERSION}-"
           f"{_source_hash()[:8]}-{catalogue_hash()[:8]}")
    parent = cache_dir("synthetic")
    target = parent / key
    if (target / "ground_truth.csv").is_file():
        return target
    tmp = Path(tempfile.mkdtemp(prefix=f".{key}-", dir=parent))
    try:
        write_synthetic(tmp, seed=seed, months=months, period_end=period_end)
        try:
            os.replace(tmp, target)
        except OSError:
            if not (target / "ground_truth.csv").is_file():  # not another process's copy
                raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return target
