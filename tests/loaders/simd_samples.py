"""SIMD files for loader tests: small hand-written ones, and the real one in ../shared/data/simd."""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.conftest import PHS_DIR, SHARED, require
from tests.loaders.phs_samples import write

#: The real SIMD 2020v2 subset (6,976 Data Zones; see its README).
REAL_SIMD = SHARED / "data" / "simd" / "simd2020v2_dz11.csv"
SUBSET_HEADER = "DataZone,SIMD2020V2Rank,SIMD2020V2CountryDecile,SIMD2020V2CountryQuintile"
#: PHS's full file: the four columns among others, in PHS's order.
PHS_HEADER = ("DataZone,IntZone,HB,HSCP,CA,SIMD2020V2Rank,SIMD2020V2CountryDecile,"
              "SIMD2020V2CountryQuintile,SIMD2020V2HBDecile,SIMD2020V2HBQuintile,SIMD2020V2Most15pc")
#: (zone, rank, decile, quintile): equal-share deciles and quintiles of these ranks.
ZONES = [
    ("S01000001", 100, 1, 1),       # the mini folder's practices all sit here (phs_samples)
    ("S01007129", 6199, 9, 5),
    ("S01011870", 3320, 5, 3),
    ("S01012014", 4192, 7, 4),
]


def subset_lines(zones=ZONES) -> list[str]:
    return [SUBSET_HEADER, *(f"{z},{r},{d},{q}" for z, r, d, q in zones)]


def phs_lines(zones=ZONES) -> list[str]:
    return [PHS_HEADER, *(f"{z},S02000001,S08000030,S37000007,S12000042,{r},{d},{q},3,2,0"
                          for z, r, d, q in zones)]


def write_subset(folder: Path, zones=ZONES, name="simd2020v2_dz11.csv", **kw) -> Path:
    return write(Path(folder) / name, subset_lines(zones), **kw)


def write_phs(folder: Path, zones=ZONES, name="simd2020v2_22062020.csv", **kw) -> Path:
    return write(Path(folder) / name, phs_lines(zones), **kw)


def real_simd() -> Path:
    """The real SIMD file (skips, or fails under CI=true, when ../shared is missing)."""
    require(REAL_SIMD.is_file(), f"real SIMD file not found at {REAL_SIMD}")
    return REAL_SIMD


def real_folder_with_simd(tmp: Path) -> Path:
    """A tmp folder holding links to the real PHS files and the real SIMD file (never copies
    into the repository)."""
    require(PHS_DIR.is_dir(), f"real PHS files not found at {PHS_DIR}")
    simd = real_simd()
    for path in PHS_DIR.rglob("*.csv"):
        target = tmp / path.relative_to(PHS_DIR)
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            target.symlink_to(path)
        except OSError:
            shutil.copyfile(path, target)
    (tmp / simd.name).symlink_to(simd)
    return tmp
