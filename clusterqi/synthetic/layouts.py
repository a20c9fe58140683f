"""Writers for the PHS open-data layouts, byte for byte as PHS publishes them.

- ``practice_contactdetails_<mon><yyyy>-open-data.csv``: the 15 columns of GP Practice Contact
  Details and List Sizes, CRLF line ends, minimal quoting, telephone numbers with runs of spaces
  and ``Dispensing`` a single space (as in the October 2024 file).
- ``practice_listsizes_<mon><yyyy>-open-data.csv``: GP Practice Populations with the broad age
  bands (count columns ``Ages0to4``..., flag columns ``Ages0To4QF``...), Male, Female and the
  derived All row (``SexQF=d``); suppressed practices have blank Male/Female cells flagged ``c``.
- ``pitcYYYYMM.csv``: Prescriptions in the Community, in the recent layout (with ``DMDCode``) or
  the older one (``ClassOfPreparationCode``).
- ``hb14_hb19.csv`` and ``hscp16_hscp19.csv`` lookups, with an archived row each.

Example usage::

    write_practice_details(folder / "practice_contactdetails_oct2024-open-data.csv", frame)
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from clusterqi.synthetic.geography import BROAD_BANDS

__all__ = [
    "PRACTICE_COLUMNS",
    "PITC_COLUMNS",
    "PITC_COLUMNS_OLD",
    "NON_PRACTICE_CODES",
    "release_stem",
    "write_practice_details",
    "write_populations",
    "write_pitc",
    "write_lookups",
]

PRACTICE_COLUMNS = [
    "PracticeCode", "GPPracticeName", "PracticeListSize", "AddressLine1", "AddressLine2",
    "AddressLine3", "AddressLine4", "Postcode", "TelephoneNumber", "PracticeType", "Dispensing",
    "HB", "HSCP", "DataZone", "GPCluster",
]
PITC_COLUMNS = [
    "HBT", "GPPractice", "DMDCode", "BNFItemCode", "BNFItemDescription", "PrescribedType",
    "NumberOfPaidItems", "PaidQuantity", "GrossIngredientCost", "PaidDateMonth",
]
PITC_COLUMNS_OLD = [
    "HBT", "GPPractice", "BNFItemCode", "BNFItemDescription", "ClassOfPreparationCode",
    "NumberOfPaidItems", "PaidQuantity", "GrossIngredientCost", "PaidDateMonth",
]
#: GPPractice codes that are not practices (community pharmacy, unallocated, hospital, dental).
NON_PRACTICE_CODES = ("99996", "99997", "99998", "99999")
_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")


def release_stem(release: pd.Timestamp) -> str:
    """``oct2024`` for a release dated 2024-10-01."""
    return f"{_MONTHS[release.month - 1]}{release.year}"


def _csv_text(rows: list[list[str]], header: list[str], line_end: str) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator=line_end, quoting=csv.QUOTE_MINIMAL)
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()


def write_practice_details(path: Path, practices: pd.DataFrame) -> None:
    """Write one release of practice details (columns as :data:`PRACTICE_COLUMNS`)."""
    rows = [[str(r[c]) for c in PRACTICE_COLUMNS] for r in practices[PRACTICE_COLUMNS].to_dict("records")]
    path.write_bytes(_csv_text(rows, PRACTICE_COLUMNS, "\r\n").encode("utf-8"))


def population_header() -> list[str]:
    header = ["Date", "PracticeCode", "HB", "HSCP", "Sex", "SexQF", "AllAges", "AllAgesQF"]
    for stem, _, _ in BROAD_BANDS:
        header += [f"Ages{stem}", f"Ages{stem.replace('to', 'To').replace('plus', 'Plus')}QF"]
    return header


def write_populations(path: Path, rows: pd.DataFrame) -> None:
    """Write one population release.

    ``rows``: date (YYYYMMDD), practice_code, hb_code, hscp_code, sex, total, suppressed (bool),
    and one column per broad band stem (``0to4``...) with the count.
    """
    out = []
    stems = [s for s, _, _ in BROAD_BANDS]
    for r in rows.to_dict("records"):
        line = [r["date"], r["practice_code"], r["hb_code"], r["hscp_code"], r["sex"],
                "d" if r["sex"] == "All" else ""]
        if r["suppressed"]:
            line += ([str(r["total"]), ""] if r["sex"] == "All" else ["", "c"])
            line += ["", "c"] * len(stems)
        else:
            line += [str(r["total"]), ""]
            for s in stems:
                line += [str(int(r[s])), ""]
        out.append(line)
    path.write_bytes(_csv_text(out, population_header(), "\n").encode("utf-8"))


def write_pitc(path: Path, month: pd.Timestamp, frame: pd.DataFrame, old_layout: bool) -> None:
    """Write one month of PITC rows.

    ``frame``: hbt, practice_code, bnf_code, description, dmd_code, items, quantity, cost.
    Fields are joined as text (Arrow compute), quoting only the descriptions that need it (as
    PHS files do); costs have two decimals. Much faster than ``to_csv``.
    """
    n = len(frame)
    cents = np.rint(frame["cost"].to_numpy(dtype=float) * 100).astype(np.int64)
    cost = pc.binary_join_element_wise(_text(cents // 100),
                                       pc.utf8_lpad(_text(cents % 100), 2, "0"), ".")
    codes, uniques = pd.factorize(frame["description"], use_na_sentinel=False)
    quoted = pd.Categorical.from_codes(codes, categories=pd.Index(
        [_quote_if_needed(str(u)) for u in uniques], dtype=object)) if n else []
    cells = {
        "HBT": _text(frame["hbt"]),
        "GPPractice": _text(frame["practice_code"]),
        "DMDCode": _text(frame["dmd_code"]),
        "BNFItemCode": _text(frame["bnf_code"]),
        "BNFItemDescription": _text(quoted),
        "PrescribedType": _text(np.full(n, "VMP", dtype=object)),
        "ClassOfPreparationCode": _text(np.full(n, "1", dtype=object)),
        "NumberOfPaidItems": _text(frame["items"]),
        "PaidQuantity": _text(frame["quantity"]),
        "GrossIngredientCost": cost,
        "PaidDateMonth": _text(np.full(n, f"{month.year}{month.month:02d}", dtype=object)),
    }
    columns = PITC_COLUMNS_OLD if old_layout else PITC_COLUMNS
    head = ",".join(columns) + "\n"
    if n == 0:
        path.write_bytes(head.encode("utf-8"))
        return
    lines = pc.binary_join_element_wise(*[cells[c] for c in columns], ",")
    body = pc.binary_join(pa.ListArray.from_arrays(pa.array([0, n], pa.int32()), lines), "\n")
    path.write_bytes((head + body[0].as_py() + "\n").encode("utf-8"))


def _text(values) -> pa.Array:
    """Values as an Arrow string array (numbers in their plain decimal form; categoricals
    by taking their categories' text, without going through Python strings)."""
    values = getattr(values, "array", values)
    if isinstance(values, pd.Categorical):
        names = pa.array(np.asarray(values.categories, dtype=object), pa.string())
        return pc.take(names, pa.array(values.codes))
    array = pa.array(np.asarray(values))
    return array if pa.types.is_string(array.type) else pc.cast(array, pa.string())


def _quote_if_needed(text: str) -> str:
    if any(ch in text for ch in ',"\r\n'):
        return '"' + text.replace('"', '""') + '"'
    return text


def write_lookups(folder: Path, boards: pd.DataFrame, hscps: pd.DataFrame) -> None:
    """Write ``hb14_hb19.csv`` and ``hscp16_hscp19.csv`` (each with one archived row)."""
    country = "S92000003"
    hb_rows = [[r.hb_code, r.hb_name, "20140401", "", country] for r in boards.itertuples()]
    first = boards.iloc[0]
    hb_rows.insert(0, [first.hb_code.replace("S081", "S080"), first.hb_name, "20140401",
                       "20180201", country])  # an archived predecessor, to be filtered out
    (folder / "hb14_hb19.csv").write_bytes(
        _csv_text(hb_rows, ["HB", "HBName", "HBDateEnacted", "HBDateArchived", "Country"],
                  "\n").encode("utf-8"))
    names = dict(zip(boards["hb_code"], boards["hb_name"]))
    hscp_rows = [[r.hscp_code, r.hscp_name, "20160401", "", r.hb_code, names[r.hb_code],
                  "20140401", "", country] for r in hscps.itertuples()]
    h = hscps.iloc[0]
    hscp_rows.insert(0, [h.hscp_code, h.hscp_name, "20160401", "",
                         first.hb_code.replace("S081", "S080"), first.hb_name, "20140401",
                         "20180201", country])
    header = ["HSCP", "HSCPName", "HSCPDateEnacted", "HSCPDateArchived", "HB", "HBName",
              "HBDateEnacted", "HBDateArchived", "Country"]
    (folder / "hscp16_hscp19.csv").write_bytes(_csv_text(hscp_rows, header, "\n").encode("utf-8"))
