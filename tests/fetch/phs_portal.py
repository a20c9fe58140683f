"""The five PHS datasets as the local portal serves them, with small CSVs in the real layouts.

The CSV rows are copies of the first rows of the real October 2024 PHS files (three Tayside
practices), of the real lookups (current and archived rows) and of the real SIMD 2020v2 ranks of
those practices' Data Zones (in PHS's SIMD layout, beside older SIMD versions the fetch must
leave alone); prescribing rows use the recent ``pitcYYYYMM.csv`` layout. Resources are listed deliberately out of order; an old quarter was
back-filled last (the newest ``created`` and ``last_modified``), one name has a trailing space,
one an en dash, and dispenser (``disp_pitc``) and board (``hb_pitc``) files are newer than any
prescriber month so a careless choice would take them.
"""

from __future__ import annotations

import random

from tests.fetch.portal_server import FakePortal

PRACTICES_SLUG = "gp-practice-contact-details-and-list-sizes"
POPULATIONS_SLUG = "gp-practice-populations"
PRESCRIBING_SLUG = "prescriptions-in-the-community"
GEOGRAPHY_SLUG = "geography-codes-and-labels"
SIMD_SLUG = "scottish-index-of-multiple-deprivation"
SIMD_FILE = "simd2020v2_22062020.csv"

PRACTICE_HEADER = ("PracticeCode,GPPracticeName,PracticeListSize,AddressLine1,AddressLine2,AddressLine3,"
                   "AddressLine4,Postcode,TelephoneNumber,PracticeType,Dispensing,HB,HSCP,DataZone,GPCluster")
PRACTICE_ROWS = (
    "10002,Muirhead Medical Centre,{size},Muirhead Medical Centre,Liff Road,Muirhead,,DD2 5NH,"
    "01382   580   264,17J, ,S08000030,S37000007,S01007129,Dundee 4",
    "10017,The Blue Practice,7463,The Blue Practice,Crieff Medical Centre,King Street,Crieff,PH7 3SA,"
    "01764   652   283,17J, ,S08000030,S37000033,S01011870,Strathearn Cluster",
    "10036,Aberfeldy And Kinloch Rannoch Medical Practice,4864,Aberfeldy And Kinloch Rannoch Medical Practice,"
    "Taybridge Road,Aberfeldy,Perthshire,PH15 2BL,01887   820   366,17J, ,S08000030,S37000033,S01012014,"
    "North West Perthshire",
)
POPULATION_HEADER = ("Date,PracticeCode,HB,HSCP,Sex,SexQF,AllAges,AllAgesQF,Ages0to4,Ages0To4QF,Ages5to14,"
                     "Ages5To14QF,Ages15to24,Ages15To24QF,Ages25to44,Ages25To44QF,Ages45to64,Ages45To64QF,"
                     "Ages65to74,Ages65To74QF,Ages75to84,Ages75To84QF,Ages85plus,Ages85PlusQF")
POPULATION_ROWS = (
    "{date},10002,S08000030,S37000007,Male,,4109,,173,,466,,421,,943,,1170,,510,,327,,99,",
    "{date},10002,S08000030,S37000007,Female,,4221,,172,,394,,420,,975,,1262,,547,,352,,99,",
    "{date},10002,S08000030,S37000007,All,d,8330,,345,,860,,841,,1918,,2432,,1057,,679,,198,",
    "{date},10017,S08000030,S37000033,Male,,3742,,136,,401,,541,,810,,998,,419,,322,,115,",
    "{date},10017,S08000030,S37000033,Female,,3721,,119,,359,,493,,803,,964,,456,,348,,179,",
    "{date},10017,S08000030,S37000033,All,d,7463,,255,,760,,1034,,1613,,1962,,875,,670,,294,",
    "{date},10036,S08000030,S37000033,Male,,2452,,96,,209,,253,,518,,739,,339,,229,,69,",
    "{date},10036,S08000030,S37000033,Female,,2412,,56,,203,,198,,493,,742,,355,,256,,109,",
    "{date},10036,S08000030,S37000033,All,d,4864,,152,,412,,451,,1011,,1481,,694,,485,,178,",
)
HB_LOOKUP = (
    "HB,HBName,HBDateEnacted,HBDateArchived,Country\r\n"
    "S08000027,NHS Tayside,20140401,20180201,S92000003\r\n"
    "S08000030,NHS Tayside,20180202,,S92000003\r\n"
)
HSCP_LOOKUP = (
    "HSCP,HSCPName,HSCPDateEnacted,HSCPDateArchived,HB,HBName,HBDateEnacted,HBDateArchived,Country\r\n"
    "S37000007,Dundee City,20160401,,S08000027,NHS Tayside,20140401,20180201,S92000003\r\n"
    "S37000007,Dundee City,20160401,,S08000030,NHS Tayside,20180202,,S92000003\r\n"
    "S37000033,Perth and Kinross,20180202,,S08000030,NHS Tayside,20180202,,S92000003\r\n"
)
SIMD_HEADER = ("DataZone,IntZone,HB,HSCP,CA,SIMD2020V2Rank,SIMD2020V2CountryDecile,SIMD2020V2CountryQuintile,"
               "SIMD2020V2HBDecile,SIMD2020V2HBQuintile,SIMD2020V2HSCPDecile,SIMD2020V2HSCPQuintile,"
               "SIMD2020V2Most15pc,SIMD2020V2Least15pc")
#: The three practices' Data Zones with their real SIMD 2020v2 national rank, decile and quintile.
SIMD_ROWS = (
    "S01007129,S02001342,S08000030,S37000007,S12000042,6199,9,5,8,4,10,5,0,0",
    "S01011870,S02002218,S08000030,S37000033,S12000048,3320,5,3,4,2,4,2,0,0",
    "S01012014,S02002245,S08000030,S37000033,S12000048,4192,7,4,5,3,5,3,0,0",
)
PITC_HEADER = ("HBT,GPPractice,DMDCode,BNFItemCode,BNFItemDescription,PrescribedType,NumberOfPaidItems,"
               "PaidQuantity,GrossIngredientCost,PaidDateMonth")

#: The latest practice details release, and 10002's list size in it (older releases say 8330).
LATEST_PRACTICES = "practice_contact_details_20250115_opendata.csv"
LATEST_LIST_SIZE = 8401
LATEST_POPULATIONS = "practice_listsizes_jan2025-open-data.csv"
#: Prescriber months served: 2023-09 .. 2024-10 (14 months).
PITC_MONTHS = [f"{y}{m:02d}" for y, m in [(2023, 9), (2023, 10), (2023, 11), (2023, 12)]
               + [(2024, m) for m in range(1, 11)]]
_MONTH_NAMES = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
                "October", "November", "December")


def practice_csv(list_size: int = 8330) -> bytes:
    rows = [PRACTICE_HEADER] + [r.format(size=list_size) for r in PRACTICE_ROWS]
    return ("\r\n".join(rows) + "\r\n").encode("utf-8")


def population_csv(date: str) -> bytes:
    rows = [POPULATION_HEADER] + [r.format(date=date) for r in POPULATION_ROWS]
    return ("\r\n".join(rows) + "\r\n").encode("utf-8")


def pitc_csv(month: str, practices=("10002", "10017", "10036", "99996")) -> bytes:
    rows = [PITC_HEADER]
    for n, code in enumerate(practices):
        rows.append(f"S08000030,{code},39732311000001104,0501013B0AAABAB,Amoxicillin 500mg capsules,AMP,"
                    f"{10 + n},{210 + 21 * n},{8.5 + n:.2f},{month}")
        rows.append(f"S08000030,{code},42201011000001102,0103050P0AAAAAA,Omeprazole 20mg capsules,VMP,"
                    f"{20 + n},{560 + 28 * n},{12.25 + n:.2f},{month}")
    return ("\r\n".join(rows) + "\r\n").encode("utf-8")


def simd_csv(header: str = SIMD_HEADER) -> bytes:
    return ("\r\n".join([header, *SIMD_ROWS]) + "\r\n").encode("utf-8")


def month_label(yyyymm: str) -> str:
    return f"{_MONTH_NAMES[int(yyyymm[4:]) - 1]} {yyyymm[:4]}"


def build_phs_portal(portal: FakePortal, seed: int = 8) -> None:
    """Fill ``portal`` with the five datasets (see the module docstring)."""
    practices = [
        ("GP Practices and List sizes July 2024", "practice_contactdetails_jul2024-open-data.csv",
         practice_csv(), "2024-08-02T09:10:11.123456"),
        ("GP Practices and List sizes January 2025", LATEST_PRACTICES, practice_csv(LATEST_LIST_SIZE),
         "2025-02-04T09:00:00.000001"),
        ("GP Practices and List sizes October 2024", "practice_contactdetails_oct2024-open-data.csv",
         practice_csv(), "2024-11-05T10:00:00.500000"),
        # an old quarter back-filled last: the newest created and last_modified, trailing space
        ("GP Practices and List sizes April 2023 ", "practice_contactdetails_apr2023-open-data.csv",
         practice_csv(), "2025-03-01T12:00:00.000000"),
    ]
    for name, file, content, created in practices:
        portal.add(PRACTICES_SLUG, name, file, content, created=created, last_modified=created)

    populations = [
        ("GP Practice Populations October 2024", "practice_listsizes_oct2024-open-data.csv", "20241001",
         "2024-11-06T10:00:00.000000"),
        ("GP Practice Populations January 2023", "practice_listsizes_jan2023-open-data.csv", "20230101",
         "2025-03-02T08:00:00.000000"),
        ("GP Practice Populations January 2025", LATEST_POPULATIONS, "20250101", "2025-02-05T09:00:00.000000"),
        ("GP Practice Populations July 2024", "practice_listsizes_jul2024-open-data.csv", "20240701",
         "2024-08-03T10:00:00.000000"),
    ]
    for name, file, date, created in populations:
        portal.add(POPULATIONS_SLUG, name, file, population_csv(date), created=created, last_modified=created)

    prescribing = []
    for month in PITC_MONTHS:
        label = month_label(month)
        name = f"Data by Prescriber Location - {label}" if month >= "202401" else f"Prescribing Data {label}"
        created = f"{int(month[:4]) + (month[4:] == '12')}-{int(month[4:]) % 12 + 1:02d}-20T09:00:00.000000"
        prescribing.append((name, f"pitc{month}.csv", pitc_csv(month), created))
    prescribing += [
        ("Data by Dispenser Location \u2013 November 2024", "disp_pitc202411.csv", pitc_csv("202411"),
         "2024-12-20T09:00:00.000000"),
        ("Data by Health Board - November 2024", "hb_pitc202411.csv", pitc_csv("202411"),
         "2024-12-20T09:00:00.000000"),
    ]
    # the oldest month revised last: the newest last_modified must not make it "latest"
    prescribing[0] = prescribing[0][:3] + ("2025-03-03T09:00:00.000000",)
    random.Random(seed).shuffle(prescribing)
    for name, file, content, created in prescribing:
        portal.add(PRESCRIBING_SLUG, name, file, content, created=created, last_modified=created)

    portal.add(GEOGRAPHY_SLUG, "Council Area 2011 - Council Area 2019", "ca11_ca19.csv", b"CA,CAName\r\n",
               created="2019-05-01T00:00:00.000000")
    portal.add(GEOGRAPHY_SLUG, "Health Board 2014 - Health Board 2019", "hb14_hb19.csv", HB_LOOKUP.encode(),
               created="2019-05-01T00:00:00.000000", last_modified="2021-02-01T00:00:00.000000")
    # CKAN often has no size for a resource: the size check is then skipped
    portal.add(GEOGRAPHY_SLUG, "HSCP 2016 - HSCP 2019", "hscp16_hscp19.csv", HSCP_LOOKUP.encode(),
               created="2019-05-01T00:00:00.000000", size=None)

    # older SIMD versions sit in the same dataset (SIMD 2016 modified last): only 2020v2 is fetched
    old = simd_csv(SIMD_HEADER.replace("2020V2", "2016"))
    portal.add(SIMD_SLUG, "SIMD 2020v2", SIMD_FILE, simd_csv(), created="2020-06-22T10:00:00.000000",
               last_modified="2021-01-12T10:00:00.000000")
    portal.add(SIMD_SLUG, "SIMD 2016", "simd2016_18012018.csv", old, created="2018-01-18T10:00:00.000000",
               last_modified="2023-05-01T10:00:00.000000")
    portal.add(SIMD_SLUG, "SIMD 2012", "simd2012_02042020.csv", old, created="2020-04-02T10:00:00.000000")


def expected_files(months: int) -> set[str]:
    """The file names a fetch of ``months`` prescribing months should leave in the folder."""
    return {LATEST_PRACTICES, LATEST_POPULATIONS, "hb14_hb19.csv", "hscp16_hscp19.csv", SIMD_FILE,
            *(f"pitc{m}.csv" for m in PITC_MONTHS[-months:])}
