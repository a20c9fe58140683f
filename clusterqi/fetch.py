"""The latest PHS files from the PHS open data portal, in a folder the loaders read directly.

:func:`fetch_latest` asks the portal (:mod:`clusterqi.portal`) for five datasets and downloads:

- ``gp-practice-contact-details-and-list-sizes``: the latest practice details release;
- ``gp-practice-populations``: the latest practice populations release;
- ``prescriptions-in-the-community``: the latest ``months`` prescriber-location files
  (``pitcYYYYMM.csv``; dispenser ``disp_pitc...`` and board ``hb_pitc...`` files are ignored);
- ``geography-codes-and-labels``: ``hb14_hb19.csv`` and ``hscp16_hscp19.csv``;
- ``scottish-index-of-multiple-deprivation``: ``simd2020v2_22062020.csv``, SIMD 2020v2 by 2011
  Data Zone (the dataset also holds older SIMD versions, which are not fetched). It gives each
  practice the deprivation of its premises' Data Zone, for cluster context and peer comparisons.

"Latest" is the period stated by the file name or, failing that, the resource name (month names
or abbreviations, ``<mon><yyyy>``, ``YYYYMMDD``, ``pitcYYYYMM``; dashes and spacing vary), never
list position or upload date: PHS back-fills old quarters and revisions move ``last_modified``.
A resource stating no period is dated by ``last_modified`` (or ``created``) with a warning.

Files keep the resource's own name, so :func:`clusterqi.loaders.load_dataset` finds them. A file
already present and unchanged (same size and ``last_modified`` as recorded in ``fetch.json``) is
not downloaded again. ``DATA_DIR/fetch.json`` records, for every file: dataset, resource_id,
name, period, url, size, sha256, last_modified, fetched_at (and file); it is rewritten atomically
after every file, so an interrupted run loses nothing it finished.

Example usage::

    result = fetch_latest("data/phs", months=12)
    [r.file for r in result.fetched], result.manifest
    load_dataset("data/phs")
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path

from clusterqi.loaders.lookups import HB_FILE, HSCP_FILE
from clusterqi.loaders.populations import POPULATION_FILE_PATTERN
from clusterqi.loaders.practices import PRACTICE_FILE_PATTERN
from clusterqi.loaders.prescribing import PRESCRIBING_FILE_PATTERN
from clusterqi.loaders.simd import SIMD_FILE
from clusterqi.portal import DEFAULT_PORTAL, FetchError, PortalClient, resource_file_name

__all__ = [
    "PORTAL_ENV",
    "DEFAULT_MONTHS",
    "MANIFEST_NAME",
    "RECORD_FIELDS",
    "DatasetSpec",
    "DATASETS",
    "Period",
    "Choice",
    "FileRecord",
    "FetchResult",
    "FetchError",
    "portal_base",
    "parse_period",
    "resource_period",
    "select_resources",
    "read_manifest",
    "fetch_latest",
]

#: Environment variable overriding the portal's base address.
PORTAL_ENV = "CLUSTERQI_PORTAL"
#: Prescribing months fetched by default.
DEFAULT_MONTHS = 12
#: The record of what was fetched, in the data folder.
MANIFEST_NAME = "fetch.json"
#: Fields of each file's record in fetch.json, in order.
RECORD_FIELDS = ("file", "dataset", "resource_id", "name", "period", "url", "size", "sha256",
                 "last_modified", "fetched_at")
#: Version of fetch.json's layout.
MANIFEST_VERSION = 1


@dataclass(frozen=True)
class DatasetSpec:
    """One portal dataset and how to choose its files.

    ``select`` is ``"latest"`` (the one newest period), ``"months"`` (the newest N periods) or
    ``"named"`` (the resources whose file names are in ``files``). A resource is a candidate
    when its file name matches ``file_pattern`` or its name matches ``name_pattern``.
    """

    slug: str
    kind: str
    select: str
    file_pattern: re.Pattern | None = None
    name_pattern: re.Pattern | None = None
    files: tuple[str, ...] = ()
    example: str = ""


DATASETS = (
    DatasetSpec(
        "gp-practice-contact-details-and-list-sizes", "practice details", "latest",
        PRACTICE_FILE_PATTERN, re.compile(r"^\s*GP\s+Practices?\s+and\s+List\s*sizes\b", re.I),
        example="'GP Practices and List sizes October 2024' (practice_contactdetails_oct2024-open-data.csv)"),
    DatasetSpec(
        "gp-practice-populations", "practice populations", "latest",
        POPULATION_FILE_PATTERN, re.compile(r"^\s*GP\s+Practice\s+Populations\b", re.I),
        example="'GP Practice Populations October 2024' (practice_listsizes_oct2024-open-data.csv)"),
    DatasetSpec(
        "prescriptions-in-the-community", "prescriber-location prescribing", "months",
        PRESCRIBING_FILE_PATTERN,
        re.compile(r"^\s*(?:Prescribing\s+Data|Data\s+by\s+Prescriber\s+Location)\b", re.I),
        example="'Data by Prescriber Location - September 2024' (pitc202409.csv)"),
    DatasetSpec(
        "geography-codes-and-labels", "geography lookups", "named", files=(HB_FILE, HSCP_FILE),
        example=f"{HB_FILE} and {HSCP_FILE}"),
    DatasetSpec(
        "scottish-index-of-multiple-deprivation", "SIMD by Data Zone", "named", files=(SIMD_FILE,),
        example=f"'SIMD 2020v2' ({SIMD_FILE})"),
)

_MONTHS = {"jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6, "jul": 7, "aug": 8,
           "sep": 9, "oct": 10, "nov": 11, "dec": 12}
#: ``October 2024``, ``Oct 2024``, ``oct2024``, ``Sept-2024``: a month name before a year.
_MONTH_YEAR = re.compile(
    r"(?<![a-z])(?P<mon>jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?[\s_\-\u2013\u2014]*"
    r"(?P<year>(?:19|20)\d{2})(?!\d)", re.I)
#: ``20250115`` (a release date in a file name).
_YMD = re.compile(r"(?<!\d)(?P<year>(?:19|20)\d{2})(?P<month>0[1-9]|1[0-2])(?P<day>0[1-9]|[12]\d|3[01])(?!\d)")
#: ``pitc202409`` or any other ``YYYYMM`` standing alone.
_YM = re.compile(r"(?<!\d)(?P<year>(?:19|20)\d{2})(?P<month>0[1-9]|1[0-2])(?!\d)")


@dataclass(frozen=True, order=True)
class Period:
    """The period a resource covers: a date and whether the day is known (``"2024-10"``)."""

    start: date
    day_known: bool = False

    def __str__(self) -> str:
        return self.start.isoformat() if self.day_known else self.start.strftime("%Y-%m")


def parse_period(text: str) -> Period | None:
    """The period a resource name or file name states, or None.

    Reads ``YYYYMMDD`` (``practice_contact_details_20250115_opendata.csv``), a month name or
    abbreviation before a year (``October 2024``, ``oct2024``, ``Sept 2024``) and ``YYYYMM``
    (``pitc202409.csv``), in that order.

    Example usage::

        str(parse_period("Data by Dispenser Location \u2013 September 2024 "))   # '2024-09'
        str(parse_period("practice_contact_details_20250115_opendata.csv"))      # '2025-01-15'
    """
    text = text or ""
    if match := _YMD.search(text):
        try:
            return Period(date(int(match["year"]), int(match["month"]), int(match["day"])), True)
        except ValueError:
            pass
    if match := _MONTH_YEAR.search(text):
        return Period(date(int(match["year"]), _MONTHS[match["mon"].lower()], 1))
    if match := _YM.search(text):
        return Period(date(int(match["year"]), int(match["month"]), 1))
    return None


def _portal_time(value) -> datetime | None:
    """A CKAN timestamp (naive ISO-8601 in UTC, with microseconds) as an aware datetime."""
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def resource_period(resource: dict) -> tuple[Period | None, str]:
    """(period, where it came from): the file name, else the resource name, else None.

    The file name comes first because it is what the loaders date a release by.
    """
    for source, text in (("file name", resource_file_name(resource)), ("name", resource.get("name", ""))):
        period = parse_period(text)
        if period is not None:
            return period, source
    return None, ""


@dataclass(frozen=True)
class Choice:
    """A resource chosen for download, with its file name and period (None for lookups)."""

    dataset: str
    resource: dict
    file: str
    period: Period | None


def _is_candidate(spec: DatasetSpec, resource: dict, file: str) -> bool:
    if str(resource.get("state") or "active") != "active":
        return False
    if spec.select == "named":
        return file.lower() in {f.lower() for f in spec.files}
    name = str(resource.get("name") or "")
    return bool((spec.file_pattern and spec.file_pattern.match(file))
                or (spec.name_pattern and spec.name_pattern.search(name)))


def _newest(resource: dict) -> datetime:
    return (_portal_time(resource.get("last_modified")) or _portal_time(resource.get("created"))
            or datetime.min.replace(tzinfo=timezone.utc))


def select_resources(spec: DatasetSpec, resources: list[dict], months: int = DEFAULT_MONTHS
                     ) -> tuple[list[Choice], list[str]]:
    """The resources of one dataset to download, newest period first, and warnings.

    Raises FetchError when the dataset holds no resource of the expected kind.

    Example usage::

        choices, warnings = select_resources(DATASETS[2], package["resources"], months=3)
    """
    warnings: list[str] = []
    candidates = [(r, resource_file_name(r)) for r in resources]
    candidates = [(r, f) for r, f in candidates if _is_candidate(spec, r, f)]
    if not candidates:
        seen = ", ".join(repr(str(r.get("name", "")).strip()) for r in resources[:8]) or "none"
        raise FetchError(
            f"dataset {spec.slug!r}: none of its {len(resources)} resources is a {spec.kind} file "
            f"(names seen: {seen}); expected e.g. {spec.example}")
    if spec.select == "named":
        chosen = {}
        for resource, file in sorted(candidates, key=lambda c: _newest(c[0])):
            chosen[file.lower()] = Choice(spec.slug, resource, file, None)
        missing = [f for f in spec.files if f.lower() not in chosen]
        if missing:
            raise FetchError(f"dataset {spec.slug!r}: no resource with file name {', '.join(missing)}; "
                             f"expected {spec.example}")
        return [chosen[f.lower()] for f in spec.files], warnings

    by_period: dict[Period, list[tuple[dict, str]]] = {}
    for resource, file in candidates:
        period, _ = resource_period(resource)
        if period is None:
            moment = _portal_time(resource.get("last_modified")) or _portal_time(resource.get("created"))
            if moment is None:
                warnings.append(f"{spec.slug}: resource {str(resource.get('name', '')).strip()!r} ({file}) "
                                "states no period and has no dates; ignored")
                continue
            period = Period(moment.date(), True)
            warnings.append(f"{spec.slug}: resource {str(resource.get('name', '')).strip()!r} ({file}) "
                            f"states no period in its name or file name; dated by its upload time {period}")
        by_period.setdefault(period, []).append((resource, file))
    wanted = 1 if spec.select == "latest" else months
    choices = []
    for period in sorted(by_period, reverse=True)[:wanted]:
        group = sorted(by_period[period], key=lambda c: _newest(c[0]), reverse=True)
        if len(group) > 1:
            warnings.append(f"{spec.slug}: {len(group)} resources for {period} "
                            f"({', '.join(f for _, f in group)}); took the most recently modified, {group[0][1]}")
        resource, file = group[0]
        if spec.file_pattern and not spec.file_pattern.match(file):
            warnings.append(f"{spec.slug}: {file} is not named as clusterqi's loaders expect "
                            f"(e.g. {spec.example}); they will recognise it by its header only")
        choices.append(Choice(spec.slug, resource, file, period))
    if spec.select == "months" and len(choices) < months:
        warnings.append(f"{spec.slug}: asked for {months} months, the portal has {len(choices)}")
    return choices, warnings


@dataclass(frozen=True)
class FileRecord:
    """One file's entry in fetch.json (see :data:`RECORD_FIELDS`)."""

    file: str
    dataset: str
    resource_id: str
    name: str
    period: str
    url: str
    size: int
    sha256: str
    last_modified: str
    fetched_at: str


@dataclass
class FetchResult:
    """What :func:`fetch_latest` did: files fetched and skipped, warnings, where fetch.json is.

    ``left_in_place`` lists files of an earlier fetch that are no longer in the selection (an
    older month, say): they are not deleted, and the loaders will still read them.
    """

    folder: Path
    manifest: Path
    fetched: list[FileRecord] = field(default_factory=list)
    skipped: list[FileRecord] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    left_in_place: list[str] = field(default_factory=list)


def portal_base(portal: str | None = None) -> str:
    """The portal address: ``portal`` if given, else ``$CLUSTERQI_PORTAL``, else the PHS portal."""
    return (portal or os.environ.get(PORTAL_ENV) or DEFAULT_PORTAL).rstrip("/")


def read_manifest(folder: Path) -> dict:
    """fetch.json of ``folder`` as a dict (``{"files": []}`` when absent or unreadable)."""
    path = Path(folder) / MANIFEST_NAME
    try:
        manifest = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        return {"files": []}
    if not isinstance(manifest, dict) or not isinstance(manifest.get("files"), list):
        return {"files": []}
    return manifest


def _write_manifest(folder: Path, manifest: dict) -> Path:
    """Write fetch.json atomically (a hidden temporary file renamed over the old one)."""
    path = folder / MANIFEST_NAME
    handle, temporary = tempfile.mkstemp(prefix=f".{MANIFEST_NAME}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            json.dump(manifest, stream, indent=2)
            stream.write("\n")
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


def _unchanged(previous: dict | None, resource: dict, path: Path) -> bool:
    """True when ``path`` is the file recorded in ``previous`` and the resource has not changed."""
    if previous is None or not path.is_file():
        return False
    size = resource.get("size")
    same_size = previous.get("size") == path.stat().st_size and (
        size in (None, "") or str(size) == str(previous.get("size")))
    return same_size and previous.get("last_modified") == (resource.get("last_modified") or "")


def _manifest(header: dict, records: dict[str, dict], chosen: list[str]) -> dict:
    """fetch.json's content: this selection's files first, then earlier files still present."""
    order = [f for f in chosen if f in records] + sorted(f for f in records if f not in chosen)
    stamp = datetime.now(timezone.utc).isoformat(timespec="seconds")
    return {**header, "updated_at": stamp, "files": [records[f] for f in order]}


def fetch_latest(out: Path, months: int = DEFAULT_MONTHS, portal: str | None = None, *,
                 client: PortalClient | None = None, progress: bool = True) -> FetchResult:
    """Download the latest PHS files into ``out`` and record them in ``out/fetch.json``.

    ``months``: prescriber-location months to fetch (>= 1). ``portal``: base address (default
    ``$CLUSTERQI_PORTAL`` or https://www.opendata.nhs.scot). ``client``: a configured
    :class:`~clusterqi.portal.PortalClient` (tests inject short sleeps). Every dataset is looked
    up before anything is downloaded, so a missing dataset fails fast. Raises FetchError.

    Example usage::

        result = fetch_latest("data/phs", months=3)
        print(len(result.fetched), "fetched,", len(result.skipped), "unchanged")
    """
    if int(months) < 1:
        raise FetchError(f"months={months}: expected at least 1 month of prescribing")
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    client = client or PortalClient(portal_base(portal), progress=progress)
    result = FetchResult(folder=folder, manifest=folder / MANIFEST_NAME)

    plan: list[Choice] = []
    for spec in DATASETS:
        package = client.package_show(spec.slug)
        choices, warnings = select_resources(spec, package["resources"], int(months))
        plan.extend(choices)
        result.warnings.extend(warnings)

    earlier = {str(r.get("file")): r for r in read_manifest(folder)["files"]
               if isinstance(r, dict) and (folder / str(r.get("file"))).is_file()}
    chosen = [c.file for c in plan]
    records = dict(earlier)  # kept up to date after every file, so an interruption loses nothing done
    header = {"version": MANIFEST_VERSION, "portal": client.base, "months": int(months), "updated_at": ""}
    for choice in plan:
        resource, path = choice.resource, folder / choice.file
        previous = earlier.get(choice.file)
        if _unchanged(previous, resource, path):
            record = FileRecord(**{k: previous.get(k, "") for k in RECORD_FIELDS})
            result.skipped.append(record)
        else:
            done = client.download(resource, path, dataset=choice.dataset,
                                   resume_key=str(resource.get("last_modified") or resource.get("created") or ""))
            record = FileRecord(
                file=choice.file, dataset=choice.dataset, resource_id=str(resource.get("id", "")),
                name=str(resource.get("name", "")).strip(), period=str(choice.period or ""),
                url=str(resource.get("url", "")), size=done.size, sha256=done.sha256,
                last_modified=str(resource.get("last_modified") or ""),
                fetched_at=datetime.now(timezone.utc).isoformat(timespec="seconds"))
            result.fetched.append(record)
        records[choice.file] = asdict(record)
        _write_manifest(folder, _manifest(header, records, chosen))
    result.left_in_place = sorted(n for n in earlier if n not in set(chosen))
    _write_manifest(folder, _manifest(header, records, chosen))
    return result
