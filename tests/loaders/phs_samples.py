"""Small hand-written files in PHS layouts, for loader tests (written into tmp_path)."""

from __future__ import annotations

from pathlib import Path

PRACTICE_HEADER = (
    "PracticeCode,GPPracticeName,PracticeListSize,AddressLine1,AddressLine2,AddressLine3,AddressLine4,"
    "Postcode,TelephoneNumber,PracticeType,Dispensing,HB,HSCP,DataZone,GPCluster"
)
# code, name, list size, HB, HSCP, cluster
PRACTICES = [
    ("10002", "Muirhead Medical Centre", "8330", "S08000030", "S37000007", "Dundee 4"),
    ("10017", "The Blue Practice", "7463", "S08000030", "S37000033", "Kinross/Errol/Bridge of Earn"),
    ("21558", "Glenrothes Road Surgery", "9000", "S08000029", "S37000032", "Kinross/Errol/Bridge of Earn"),
    ("25826", "Board Practice", "32", "S08000029", "S37000032", "Fife Undefined"),
]

POPULATION_HEADER = (
    "Date,PracticeCode,HB,HSCP,Sex,SexQF,AllAges,AllAgesQF,Ages0to4,Ages0To4QF,Ages5to64,Ages5To64QF,"
    "Ages65plus,Ages65PlusQF"
)
POPULATION_ROWS = [
    "20241001,10002,S08000030,S37000007,Male,,4109,,173,,3000,,936,",
    "20241001,10002,S08000030,S37000007,Female,,4221,,172,,3100,,949,",
    "20241001,10002,S08000030,S37000007,All,d,8330,,345,,6100,,1885,",
    "20241001,25826,S08000029,S37000032,Male,,,c,,c,,c,,c",
    "20241001,25826,S08000029,S37000032,Female,,,c,,c,,c,,c",
    "20241001,25826,S08000029,S37000032,All,d,32,,,c,,c,,c",
]

HB_LOOKUP = """HB,HBName,HBDateEnacted,HBDateArchived,Country
S08000018,NHS Fife,20140401,20180201,S92000003
S08000029,NHS Fife,20180202,,S92000003
S08000030,NHS Tayside,20180202,,S92000003
"""
HSCP_LOOKUP = """HSCP,HSCPName,HSCPDateEnacted,HSCPDateArchived,HB,HBName,HBDateEnacted,HBDateArchived,Country
S37000007,Dundee City,20160401,,S08000027,NHS Tayside,20140401,20180201,S92000003
S37000007,Dundee City,20160401,,S08000030,NHS Tayside,20180202,,S92000003
S37000014,Fife,20160401,20180201,S08000018,NHS Fife,20140401,20180201,S92000003
S37000032,Fife,20180202,,S08000029,NHS Fife,20180202,,S92000003
S37000033,Perth and Kinross,20180202,,S08000030,NHS Tayside,20180202,,S92000003
"""

PITC_HEADER_2024 = (
    "HBT,GPPractice,DMDCode,BNFItemCode,BNFItemDescription,PrescribedType,NumberOfPaidItems,"
    "PaidQuantity,GrossIngredientCost,PaidDateMonth"
)
PITC_HEADER_OLD = (
    "HBT,GPPractice,BNFItemCode,BNFItemDescription,ClassOfPreparationCode,NumberOfPaidItems,"
    "PaidQuantity,GrossIngredientCost,PaidDateMonth"
)


def practice_rows(rows=PRACTICES) -> list[str]:
    return [f"{c},{n},{s},,,,,,,17J, ,{hb},{hscp},S01000001,{cl}" for c, n, s, hb, hscp, cl in rows]


def write(path: Path, lines: list[str] | str, *, encoding="utf-8", newline="\n", bom=False) -> Path:
    """Write CSV text with the given encoding, line ends and optional UTF-8 byte-order mark."""
    text = lines if isinstance(lines, str) else "\n".join(lines) + "\n"
    data = text.replace("\n", newline).encode(encoding)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + data)
    return path


def write_practices(folder: Path, name="practice_contactdetails_oct2024-open-data.csv", rows=PRACTICES, **kw) -> Path:
    return write(Path(folder) / name, [PRACTICE_HEADER, *practice_rows(rows)], **kw)


def write_populations(folder: Path, name="practice_listsizes_oct2024-open-data.csv", rows=POPULATION_ROWS, **kw) -> Path:
    return write(Path(folder) / name, [POPULATION_HEADER, *rows], **kw)


def write_lookups(folder: Path) -> Path:
    write(Path(folder) / "lookups" / "hb14_hb19.csv", HB_LOOKUP)
    write(Path(folder) / "lookups" / "hscp16_hscp19.csv", HSCP_LOOKUP)
    return Path(folder) / "lookups"


def pitc_line(practice, bnf, items, quantity, cost, month, *, header=PITC_HEADER_2024) -> str:
    if header == PITC_HEADER_2024:
        return f"S08000030,{practice},123456,{bnf},SOME DRUG,AMP,{items},{quantity},{cost},{month}"
    return f"S08000030,{practice},{bnf},SOME DRUG,1,{items},{quantity},{cost},{month}"


def write_pitc(folder: Path, month: str, rows: list[tuple], *, header=PITC_HEADER_2024, **kw) -> Path:
    lines = [header, *(pitc_line(*row, month, header=header) for row in rows)]
    return write(Path(folder) / f"pitc{month}.csv", lines, **kw)


def write_mini_folder(folder: Path) -> Path:
    """A tiny PHS folder: lookups, one practice release, its populations."""
    write_lookups(folder)
    write_practices(Path(folder) / "practices")
    write_populations(Path(folder) / "practices")
    return Path(folder)
