"""The BNF presentations synthetic Scotland prescribes, drawn from the package's code list.

Every presentation comes from :func:`clusterqi.codelist.load_presentations` (real legacy BNF
codes with their real names, strengths, forms and dm+d codes); nothing is invented from the
catalogue's prefixes. A presentation's **role** is found by asking the catalogue's code lists
(``matches`` / ``matches_code``): for each indicator it may be in the numerator, in the
denominator only, or *excluded* (under one of the numerator's or denominator's include prefixes
but not counted, e.g. methenamine under 5.1); a presentation no code list counts is
*background*. Roles place it in a :class:`Group` (the first of :data:`GROUPS` whose rule it
meets); a group carries Scotland's items per 1,000 patients per day, its season, trend,
month-to-month dispersion and between-practice spread, and shares its rate between its
presentations by form, chemical and strength. Ids of :data:`GROUPS` rules that the catalogue on
disk does not have are skipped; a role no group claims gets a group of its own at
:data:`DEFAULT_GROUP_RATE` (so any catalogue works).

Quantities and costs follow the form (:data:`PACKS`, :data:`UNIT_COSTS`): tablets and capsules
in 28/56/84 (antibacterial courses 6-28, long-term opioid and gabapentinoid repeats 28-100,
hypnotic supplies 14-56), patches 4-10, lidocaine plasters 30, inhalers 1 (or 2), liquids
100-500 ml; so dose-based measures (quantity x strength / defined dose) and cost measures come
out at Scottish levels (on seed 42: gabapentinoids about 11 DDD, hypnotics and anxiolytics about
25 ADQ, opioids about 550 mg OME, lidocaine plasters about GBP 2 per 1,000 patients per day).

Sources of the rates: Scotland-like orders of magnitude from PHS Prescribing in the Community
and the National Therapeutic Indicators (about 1.5-2.5 items per 1,000 patients per day for
antibacterials, opioids and hypnotics; gabapentinoids about 10-15 DDD per 1,000 patients per
day); the shares (4C about 8%, ibuprofen/naproxen about 80% of NSAIDs, DOACs about 85% of oral
anticoagulants, MDIs about three quarters of inhalers) from OpenPrescribing's national deciles. They
are plausible, not published Scottish values.

Why one module of this size: about half of its lines are data (which real presentations each
indicator's groups draw on, at what rates, strengths and forms), and the functions that turn
them into the code table are short and read that data.

Example usage::

    table = build_code_table(load_catalogue(), load_presentations(), np.random.default_rng(1))
    table[["bnf_code", "description", "group", "rate", "form_class"]]
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from clusterqi.indicators.catalogue import Indicator, PrescribingDenominator
from clusterqi.synthetic.geography import LIST_SIZE_LOG_SD, LIST_SIZE_MEDIAN, TARGET_PRACTICES

__all__ = [
    "Group",
    "GROUPS",
    "ROLES",
    "DEFAULT_GROUP_RATE",
    "BACKGROUND",
    "PACKS",
    "UNIT_COSTS",
    "form_class",
    "presentation_roles",
    "build_code_table",
    "background_codes",
    "group_table",
]

#: A presentation's roles for one indicator.
ROLES = ("numerator", "denominator", "excluded")


@dataclass(frozen=True)
class Group:
    """A set of presentations prescribed alike, with Scotland's rate and its variation.

    ``rules``: ``"indicator_id:role"`` memberships, any of which places a presentation here
    (``"a:numerator & b:numerator"`` needs both). ``rate``: items per 1,000 patients per day,
    Scotland, in the middle of the period. ``season``: relative amplitude of a yearly cosine
    peaking in month ``peak``. ``trend``: relative change a year (log scale). ``dispersion``:
    the gamma shape k of a practice's month-to-month multiplier (variance of monthly items
    mu + mu^2 / k). ``practice_sd`` / ``cluster_sd``: log-sd between practices / clusters.
    ``age``: elasticity to the practice's share of patients aged 65+. ``forms`` and
    ``chemicals``: relative weights when sharing the rate between presentations (chemical
    names matched by their start, lower case, the longest name first). ``solid_pack``: the
    :data:`PACKS` entry of the group's tablets and capsules (courses, repeats, short
    supplies). ``least``: presentations the group keeps whatever the row budget
    (so dose-based measures see a realistic mix of chemicals and strengths). ``unit_cost``:
    GBP per unit of quantity of every presentation of the group (cost indicators), instead
    of a draw around :data:`UNIT_COSTS`.
    """

    name: str
    rules: tuple[str, ...]
    rate: float
    season: float = 0.0
    peak: int = 1
    trend: float = 0.0
    dispersion: float = 60.0
    practice_sd: float = 0.25
    cluster_sd: float = 0.12
    age: float = 0.3
    forms: Mapping[str, float] = field(default_factory=dict)
    chemicals: Mapping[str, float] = field(default_factory=dict)
    solid_pack: str = "solid"
    least: int = 1
    unit_cost: float | None = None


#: Practice and cluster log-sds of the deprivation-linked groups (opioids, gabapentinoids,
#: hypnotics; dosulepin 0.28 and 0.08): smaller than other groups' because synthetic Scotland's
#: deprivation gradient (:mod:`clusterqi.synthetic.deprivation`, 1.30 per SIMD quintile, a
#: log-sd of about 0.37 between practices) now explains much of their variation, so the total
#: spread between practices stays realistic (a log-sd under 0.45).
_DEPRIVED_PRACTICE_SD = 0.17
_DEPRIVED_CLUSTER_SD = 0.06
_ABX = "antibacterial_items_per_1000_per_day"
_4C = "antibiotics_4c_share"
_PPI = "high_dose_ppi_share"
_NSAID = "nsaid_ibuprofen_naproxen_share"
_SABA = "saba_share_of_saba_ics"
_MDI = "mdi_share_of_inhalers"
_MTX = "methotrexate_10mg_share"
_DOAC = "doac_share_of_oral_anticoagulants"
_STATIN = "low_intensity_statin_share"
_INHALERS = {"mdi": 1.0, "dpi": 1.0, "inhaler": 0.3, "nebuliser": 0.05}
_ANTIBACTERIALS = {
    "amoxicillin": 30, "doxycycline": 12, "nitrofurantoin": 11, "flucloxacillin": 10,
    "phenoxymethylpenicillin": 8, "clarithromycin": 7, "trimethoprim": 6, "lymecycline": 4,
    "metronidazole": 3, "erythromycin": 1.5, "azithromycin": 1.5, "pivmecillinam": 1.5,
    "fosfomycin": 1, "oxytetracycline": 1, "minocycline": 0.5,
}

#: The groups, first match wins (so 4C antibacterials are claimed before the other
#: antibacterials, dosulepin before the anticholinergic list, SABA and ICS inhalers before
#: the other inhalers).
GROUPS: tuple[Group, ...] = (
    # 4C antibiotics (UTI, cellulitis) are less seasonal than the respiratory antibacterials,
    # so the 4C share is mildly seasonal (higher in summer)
    Group("antibacterial_4c", (f"{_4C}:numerator",), 0.14, season=0.15, peak=1, trend=-0.03,
          dispersion=25, practice_sd=0.28, age=0.2, solid_pack="course", least=3,
          chemicals={"co-amoxiclav": 5, "cefalexin": 4, "ciprofloxacin": 2.5, "clindamycin": 0.6,
                     "cefuroxime": 0.3, "levofloxacin": 0.3, "cefixime": 0.2, "ofloxacin": 0.3,
                     "cefaclor": 0.2, "cefadroxil": 0.2}),
    Group("antibacterial", (f"{_ABX}:numerator", f"{_4C}:denominator"), 1.60, season=0.30,
          peak=1, trend=-0.01, dispersion=25, practice_sd=0.22, age=0.15, solid_pack="course", least=5,
          chemicals=_ANTIBACTERIALS),
    Group("antibacterial_excluded", (f"{_ABX}:excluded", f"{_4C}:excluded"), 0.03,
          dispersion=40, practice_sd=0.3, age=0.4, chemicals={"methenamine": 5, "rifampicin": 0.3,
                                                               "isoniazid": 0.2, "dapsone": 0.2}),
    Group("ppi_high", (f"{_PPI}:numerator",), 2.6, trend=0.01, dispersion=60, age=0.35, least=3,
          chemicals={"omeprazole": 6, "lansoprazole": 4, "esomeprazole": 0.7,
                     "pantoprazole": 0.3, "rabeprazole": 0.1}),
    Group("ppi_low", (f"{_PPI}:denominator",), 0.40, dispersion=60, age=0.35, least=2,
          chemicals={"lansoprazole": 3, "omeprazole": 1, "pantoprazole": 0.2}),
    Group("ppi_other", (f"{_PPI}:excluded",), 0.02, dispersion=40, age=0.2),
    Group("nsaid_ibuprofen_naproxen", (f"{_NSAID}:numerator",), 0.50, season=0.06, peak=7,
          trend=-0.04, dispersion=40, practice_sd=0.25, age=0.1, least=2,
          chemicals={"naproxen": 3, "ibuprofen": 2, "ibuprofen lysine": 0.05,
                     "ibuprofen sodium": 0.05, "naproxen sodium": 0.05}),
    Group("nsaid_other", (f"{_NSAID}:denominator",), 0.13, trend=-0.06, dispersion=40,
          practice_sd=0.35, age=0.15, least=2,
          chemicals={"diclofenac sodium": 2, "etoricoxib": 1.5, "celecoxib": 1, "meloxicam": 0.5,
                     "mefenamic": 0.5, "diclofenac potassium": 0.2, "indometacin": 0.2}),
    Group("opioid", ("opioid_ome_per_1000_per_day:numerator",), 2.2, trend=-0.03,
          dispersion=60, practice_sd=_DEPRIVED_PRACTICE_SD, cluster_sd=_DEPRIVED_CLUSTER_SD,
          age=0.35, least=6, solid_pack="repeat",
          forms={"solid": 1.0, "liquid": 0.08, "patch": 0.2},
          chemicals={"codeine": 5, "dihydrocodeine": 3, "tramadol": 3, "morphine": 1.5,
                     "oxycodone": 1, "buprenorphine": 1, "fentanyl": 0.5, "tapentadol": 0.3}),
    Group("gabapentinoid", ("gabapentinoid_ddd_per_1000_per_day:numerator",), 0.85,
          trend=-0.04, dispersion=70, practice_sd=_DEPRIVED_PRACTICE_SD, cluster_sd=_DEPRIVED_CLUSTER_SD,
          age=0.25,
          least=4, solid_pack="repeat",
          forms={"solid": 1.0, "liquid": 0.02},
          chemicals={"gabapentin": 1.2, "pregabalin": 1.0}),
    Group("hypnotic", ("hypnotics_anxiolytics_adq_per_1000_per_day:numerator",), 1.5,
          season=0.04, peak=12, trend=-0.03, dispersion=60, practice_sd=_DEPRIVED_PRACTICE_SD,
          cluster_sd=_DEPRIVED_CLUSTER_SD, age=0.3, least=4, solid_pack="short",
          forms={"solid": 1.0, "liquid": 0.03},
          chemicals={"diazepam": 5, "zopiclone": 4, "temazepam": 0.6, "lorazepam": 0.6,
                     "zolpidem": 0.3, "nitrazepam": 0.3, "chlordiazepox": 0.3,
                     "lormetazepam": 0.1, "oxazepam": 0.2}),
    Group("dosulepin", ("dosulepin_items_per_1000_per_day:numerator",), 0.03, trend=-0.10,
          dispersion=60, practice_sd=0.28, cluster_sd=0.08, age=0.4),
    Group("anticholinergic", ("anticholinergic_burden_items_per_1000_per_day:numerator",), 1.9,
          season=0.05, peak=6, dispersion=60, practice_sd=0.25, age=0.3, least=5,
          forms={"solid": 1.0, "liquid": 0.05, "patch": 0.05},
          chemicals={"amitriptyline": 10, "solifenacin": 2, "quetiapine": 2, "oxybutynin": 1.5,
                     "chlorphenamine": 1.5, "olanzapine": 1.5, "hydroxyzine": 1,
                     "promethazine": 1, "nortriptyline": 1, "tolterodine": 1, "paroxetine": 1,
                     "fesoterodine": 0.5, "procyclidine": 0.3, "chlorpromazine": 0.2,
                     "trifluoperazine": 0.2, "clomipramine": 0.2, "imipramine": 0.1}),
    Group("methotrexate_10mg", (f"{_MTX}:numerator",), 0.0006, dispersion=40,
          practice_sd=0.35, age=0.3),
    Group("methotrexate", (f"{_MTX}:denominator",), 0.05, dispersion=60, practice_sd=0.2,
          age=0.3),
    Group("saba", (f"{_SABA}:numerator",), 1.25, season=0.10, peak=1, trend=-0.03,
          dispersion=50, practice_sd=0.22, age=0.0, least=2,
          forms={**_INHALERS, "mdi": 12.0}, chemicals={"salbutamol": 8, "terbutaline": 1}),
    Group("ics", (f"{_SABA}:denominator",), 1.30, season=0.04, peak=1, trend=0.01,
          dispersion=50, practice_sd=0.22, age=0.1, least=4, forms={**_INHALERS, "mdi": 1.8},
          chemicals={"beclometasone": 5, "budesonide": 3, "fluticasone propionate": 2,
                     "fluticasone furoate": 1.5, "ciclesonide": 0.2, "mometasone": 0.1}),
    Group("inhaler_mdi", (f"{_MDI}:numerator",), 0.15, season=0.03, peak=1, dispersion=50,
          practice_sd=0.25, age=0.5, least=2,
          chemicals={"ipratropium": 2, "salmeterol": 1, "formoterol": 0.5, "salbutamol": 0.5}),
    Group("inhaler_other", (f"{_MDI}:denominator",), 0.45, season=0.03, peak=1, trend=0.03,
          dispersion=50, practice_sd=0.25, age=0.5, least=3, forms=_INHALERS,
          chemicals={"tiotropium": 4, "umeclidinium": 2, "indacaterol": 1, "glycopyrronium": 1,
                     "aclidinium": 0.5, "formoterol": 0.5, "salmeterol": 0.5}),
    Group("doac", (f"{_DOAC}:numerator",), 0.85, trend=0.06, dispersion=80, age=0.8, least=3,
          chemicals={"apixaban": 6, "edoxaban": 2, "rivaroxaban": 2, "dabigatran": 0.3}),
    Group("vitamin_k_antagonist", (f"{_DOAC}:denominator",), 0.13, trend=-0.12,
          dispersion=80, practice_sd=0.3, age=0.8, least=2, chemicals={"warfarin": 20}),
    Group("statin_low", (f"{_STATIN}:numerator",), 1.9, trend=-0.04, dispersion=80,
          practice_sd=0.22, age=0.5, least=3,
          chemicals={"simvastatin": 4, "atorvastatin": 3, "pravastatin": 1, "rosuvastatin": 0.5,
                     "fluvastatin": 0.05}),
    Group("statin_high", (f"{_STATIN}:denominator",), 4.3, trend=0.03, dispersion=80,
          practice_sd=0.2, age=0.5, least=3,
          chemicals={"atorvastatin": 8, "rosuvastatin": 1.5, "simvastatin": 0.5}),
    # cost per unit: Drug Tariff orders of magnitude (lidocaine 700 mg plasters about GBP 72
    # for 30; liothyronine 20 microgram tablets about GBP 1 each; omega-3-acid ethyl esters
    # capsules about GBP 0.45 each)
    Group("lidocaine_plaster", ("lidocaine_plaster_cost_per_1000_per_day:numerator",), 0.025,
          trend=-0.08, dispersion=40, practice_sd=0.35, cluster_sd=0.15, age=0.5,
          unit_cost=2.41),
    Group("liothyronine", ("liothyronine_cost_per_1000_per_day:numerator",), 0.006,
          trend=0.02, dispersion=60, practice_sd=0.35, cluster_sd=0.15, age=0.2, unit_cost=1.0),
    Group("omega3", ("omega3_cost_per_1000_per_day:numerator",), 0.004, trend=-0.15,
          dispersion=40, practice_sd=0.35, cluster_sd=0.15, age=0.4, unit_cost=0.45),
)
#: Items per 1,000 patients per day of a role no group claims (an indicator not in GROUPS).
DEFAULT_GROUP_RATE = {"numerator": 0.3, "denominator": 0.3, "excluded": 0.004}
#: The group of presentations no code list counts.
BACKGROUND = Group("background", (), 0.0, dispersion=80, practice_sd=0.2, cluster_sd=0.1,
                   age=0.4)
#: Rate (items per 1,000 patients per day) of the commonest background presentation, and how
#: fast rates fall along the list (a Zipf-like tail, as in real prescribing).
BACKGROUND_TOP_RATE = 5.0
BACKGROUND_DECAY = 0.9
#: Most presentations kept per group: the group's rate goes to its heaviest presentations.
MAX_PER_GROUP = 7
#: Expected rows a month (practice x presentation with items) the indicator presentations
#: may fill on a Scotland-sized practice list; with the background presentations and the
#: non-practice rows a default month stays under about 50,000 rows, as fast as before.
ROW_BUDGET = 48_000
#: Calendar days in an average month (365.25 / 12).
AVERAGE_MONTH_DAYS = 365.25 / 12
#: Log-sd of the random part of a presentation's weight within its group.
PRESENTATION_SD = 0.35
#: Weight of each next strength of one chemical and form in a group (lower strengths first).
STRENGTH_DECAY = 0.75
#: Weight of a branded presentation (product code not "AA") against a generic one.
BRANDED_WEIGHT = 0.3
#: Weight of a solid form that is not a plain tablet or capsule (modified-release,
#: dispersible, effervescent, chewable, orodispersible...), and of a combination product.
SPECIAL_FORM_WEIGHT = 0.25
COMBINATION_WEIGHT = 0.3
_SPECIAL_WORDS = ("modified-release", "dispersible", "chewable", "orodispersible",
                  "effervescent", "soluble", "sugar free", "m/r", "buccal", "sublingual")
#: Weight of a chemical a group's ``chemicals`` table does not list.
UNLISTED_CHEMICAL_WEIGHT = 0.05
#: The strength most prescribed of some chemicals (weight x :data:`USUAL_STRENGTH_WEIGHT`),
#: in the code list's strength unit: amoxicillin 500 mg, omeprazole 20 mg... (the commonest
#: presentations in PHS Prescribing in the Community, by order of magnitude).
USUAL_STRENGTHS = {
    "amoxicillin": 500, "flucloxacillin": 500, "phenoxymethylpenicillin": 250,
    "clarithromycin": 500, "doxycycline": 100, "nitrofurantoin": 50, "trimethoprim": 200,
    "co-amoxiclav": None, "cefalexin": 500, "ciprofloxacin": 500, "omeprazole": 20,
    "lansoprazole": 30, "esomeprazole": 20, "naproxen": 500, "ibuprofen": 400,
    "codeine": 30, "dihydrocodeine": 30, "tramadol": 50, "morphine": 10, "pregabalin": 75,
    "gabapentin": 300, "diazepam": 5, "zopiclone": 7.5, "amitriptyline": 10,
    "apixaban": 5, "rivaroxaban": 20, "warfarin": 1, "atorvastatin": 20, "simvastatin": 40,
    "salbutamol": 100, "methotrexate": 2.5,
}
USUAL_STRENGTH_WEIGHT = 4.0
#: Weight of each form class unless the group says otherwise.
FORM_WEIGHTS = {"solid": 1.0, "liquid": 0.05, "patch": 1.0, "plaster": 1.0, "mdi": 1.0,
                "dpi": 1.0, "inhaler": 0.3, "nebuliser": 0.05, "sachet": 0.1, "other": 0.02}
_PLAIN_SOLIDS = ("tablet", "capsule", "gastro-resistant tablet", "gastro-resistant capsule")
#: Pack quantities (units of PITC quantity: tablets, ml, patches, inhalers) and how often each
#: is prescribed, by form class; ``course``, ``repeat`` and ``short`` are the tablets and
#: capsules of antibacterial courses, of long-term repeats (opioids, gabapentinoids) and of
#: short supplies (hypnotics and anxiolytics), chosen by ``Group.solid_pack``.
PACKS: dict[str, tuple[tuple[int, ...], tuple[float, ...]]] = {
    "solid": ((28, 56, 84), (0.55, 0.35, 0.10)),
    "course": ((6, 7, 14, 15, 21, 28), (0.10, 0.10, 0.20, 0.25, 0.25, 0.10)),
    "repeat": ((28, 56, 84, 100), (0.20, 0.35, 0.30, 0.15)),
    "short": ((14, 28, 56), (0.30, 0.50, 0.20)),
    "liquid": ((100, 150, 200, 300, 500), (0.35, 0.20, 0.20, 0.10, 0.15)),
    "patch": ((4, 5, 8, 10), (0.30, 0.30, 0.20, 0.20)),
    "plaster": ((30,), (1.0,)),
    "mdi": ((1, 2), (0.85, 0.15)),
    "dpi": ((1, 2), (0.85, 0.15)),
    "inhaler": ((1, 2), (0.85, 0.15)),
    "nebuliser": ((20, 60), (0.5, 0.5)),
    "sachet": ((20, 30, 60), (0.4, 0.4, 0.2)),
    "other": ((1, 2, 3), (0.7, 0.2, 0.1)),
}
#: Median gross ingredient cost (GBP) per unit of quantity, by form class; a presentation's
#: own cost is drawn around it (log-sd :data:`UNIT_COST_SD`) unless its group fixes one
#: (``Group.unit_cost``).
UNIT_COSTS = {"solid": 0.06, "course": 0.10, "repeat": 0.08, "short": 0.06, "liquid": 0.03,
              "patch": 2.5, "plaster": 2.4, "mdi": 8.0, "dpi": 20.0, "inhaler": 25.0,
              "nebuliser": 0.3, "sachet": 0.3, "other": 4.0}
UNIT_COST_SD = 0.6

_FORM_WORDS = (
    ("nebuliser", ("nebuliser", "nebules", "nebulizer")),
    ("mdi", ("pressurised", "metered dose inhaler", "metered-dose", "aerosol inhal")),
    ("dpi", ("powder inhal", "dry powder", "inhalation powder", "breath actuated powder")),
    ("inhaler", ("inhal", "soft mist")),
    ("plaster", ("plaster",)),
    ("patch", ("patch",)),
    ("sachet", ("sachet", "granules", "powder")),
    ("liquid", ("solution", "suspension", "liquid", "syrup", "elixir", "mixture", "oral drops",
                "linctus")),
    ("solid", ("tablet", "capsule", "caplet", "_tab", "_cap", "pastille")),
)


def form_class(form: object, name: object = "") -> str:
    """The pack class of a presentation from its form (or, if blank, its name).

    One of ``solid, liquid, patch, plaster, mdi, dpi, inhaler, nebuliser, sachet, other``.

    Example usage::

        form_class("pressurised metered dose inhaler")      # "mdi"
        form_class("", "Pregabalin 75mg capsules")          # "solid"
    """
    for text in (form, name):
        low = str(text or "").lower()
        if not low or low == "nan":
            continue
        for cls, words in _FORM_WORDS:
            if any(w in low for w in words):
                return cls
    return "other"


def _rule_hit(rule: str, roles: pd.DataFrame) -> pd.Series | None:
    """Presentations meeting ``"a:role & b:role"``; None when a part is not in the catalogue."""
    hit = pd.Series(True, index=roles.index)
    for part in rule.split("&"):
        key = part.strip()
        if key not in roles.columns:
            return None
        hit &= roles[key]
    return hit


def presentation_roles(catalogue: Mapping[str, Indicator], bnf_codes: pd.Series) -> pd.DataFrame:
    """One boolean column ``"<indicator_id>:<role>"`` per indicator and role, one row a code.

    numerator: the numerator's code list counts it; denominator: a prescribing denominator
    counts it and the numerator does not; excluded: it starts with an include prefix of the
    numerator (or denominator) but neither counts it.
    """
    codes = bnf_codes.astype(str).reset_index(drop=True)
    out = {}
    for ind in catalogue.values():
        num = ind.numerator.bnf_codes
        in_num = pd.Series(np.asarray(num.matches(codes), dtype=bool))
        lists = [num]
        in_den = pd.Series(False, index=codes.index)
        if isinstance(ind.denominator, PrescribingDenominator):
            den = ind.denominator.bnf_codes
            lists.append(den)
            in_den = pd.Series(np.asarray(den.matches(codes), dtype=bool)) & ~in_num
        under = pd.Series(False, index=codes.index)
        for cl in lists:
            prefixes = tuple(getattr(cl, "include", ()) or ())
            if prefixes:
                under |= codes.str.startswith(prefixes)
        out[f"{ind.id}:numerator"] = in_num
        out[f"{ind.id}:denominator"] = in_den
        out[f"{ind.id}:excluded"] = under & ~in_num & ~in_den
    return pd.DataFrame(out, index=codes.index)


def _assign_groups(roles: pd.DataFrame) -> tuple[np.ndarray, dict[str, Group]]:
    """Each presentation's group name, and the groups used (GROUPS, defaults, background)."""
    n = len(roles)
    names = np.full(n, "", dtype=object)
    groups: dict[str, Group] = {}
    for group in GROUPS:
        hit = np.zeros(n, dtype=bool)
        for rule in group.rules:
            found = _rule_hit(rule, roles)
            if found is not None:
                hit |= found.to_numpy()
        take = hit & (names == "")
        if take.any():
            names[take] = group.name
            groups[group.name] = group
    for column in roles.columns:                      # roles no group claims
        take = roles[column].to_numpy() & (names == "")
        if take.any():
            role = column.rsplit(":", 1)[1]
            names[take] = column
            groups[column] = Group(column, (column,), DEFAULT_GROUP_RATE[role])
    names[names == ""] = BACKGROUND.name
    groups[BACKGROUND.name] = BACKGROUND
    return names, groups


def _lookup(chemical: str, table: Mapping[str, float | None]) -> float | None:
    low = chemical.lower()
    for key in sorted(table, key=len, reverse=True):
        if low.startswith(key):
            return table[key]
    return None


def _chemical_weight(chemical: str, weights: Mapping[str, float]) -> float:
    """The chemical's weight in its group (unlisted chemicals of a listed group: rare)."""
    found = _lookup(chemical, weights)
    if found is not None:
        return float(found)
    return 1.0 if not weights else UNLISTED_CHEMICAL_WEIGHT


def _weights(table: pd.DataFrame, groups: dict[str, Group], rng: np.random.Generator) -> np.ndarray:
    """Relative weight of each presentation within its group."""
    w = np.empty(len(table))
    for i, row in enumerate(table.itertuples(index=False)):
        group = groups[row.group]
        forms = {**FORM_WEIGHTS, **group.forms}
        special = row.form_class == "solid" and (
            row.form not in _PLAIN_SOLIDS
            or any(w in row.description.lower() for w in _SPECIAL_WORDS))
        usual = _lookup(row.chemical, USUAL_STRENGTHS)
        w[i] = (forms.get(row.form_class, 0.1) * _chemical_weight(row.chemical, group.chemicals)
                * (BRANDED_WEIGHT if row.bnf_code[9:11] != "AA" else 1.0)
                * (SPECIAL_FORM_WEIGHT if special else 1.0)
                * (COMBINATION_WEIGHT if any(w in row.description for w in (" / ", " AND "))
                   else 1.0)
                * (USUAL_STRENGTH_WEIGHT if usual is not None and row.strength == usual else 1.0))
    # lower strengths of one chemical and form are prescribed more often (rank within group)
    strength = table["strength"].fillna(0.0)
    rank = (strength.groupby([table["group"], table["chemical"], table["form_class"]])
            .rank(method="dense").fillna(1.0).to_numpy() - 1)
    return w * STRENGTH_DECAY ** rank * rng.lognormal(0.0, PRESENTATION_SD, len(table))


def build_code_table(catalogue: Mapping[str, Indicator], presentations: pd.DataFrame,
                     rng: np.random.Generator) -> pd.DataFrame:
    """The indicator presentations synthetic Scotland prescribes, one row each.

    Columns: bnf_code, description (the code list's name in PITC's upper case), dmd_code,
    chemical, strength, form_class, group, rate (items per 1,000 patients per day), unit_cost
    (GBP per unit of quantity). Only presentations some code list counts or excludes are
    returned (background: :func:`background_codes`); each group keeps its heaviest
    :data:`MAX_PER_GROUP` presentations, which share the group's rate.
    """
    table = _code_frame(presentations)
    roles = presentation_roles(catalogue, table["bnf_code"])
    names, groups = _assign_groups(roles)
    table["group"] = names
    table = table[table["group"] != BACKGROUND.name].reset_index(drop=True)
    table["weight"] = _weights(table, groups, rng)
    table = _within_row_budget(table, groups)
    total = table.groupby("group")["weight"].transform("sum")
    table["rate"] = [groups[g].rate for g in table["group"]] * table["weight"] / total
    table["unit_cost"] = _unit_costs(table, groups, rng)
    return table.drop(columns=["weight", "form"]).sort_values("bnf_code", ignore_index=True)


def _reference_list_sizes() -> np.ndarray:
    """Practice list sizes shaped like Scotland's (fixed, for the row estimate only)."""
    z = np.random.default_rng(0).normal(0.0, 1.0, TARGET_PRACTICES)
    return LIST_SIZE_MEDIAN * np.exp(LIST_SIZE_LOG_SD * z)


def _within_row_budget(table: pd.DataFrame, groups: dict[str, Group]) -> pd.DataFrame:
    """Each group's heaviest presentations, as many as :data:`ROW_BUDGET` allows.

    Every group keeps its heaviest ``Group.least`` presentations; then presentations are added
    in order of the share of their group's weight they carry (at most :data:`MAX_PER_GROUP` a
    group) while the expected rows of a month (practices with at least one item, summed over
    presentations, on Scotland-shaped list sizes) stay within the budget.
    """
    table = table.sort_values(["group", "weight", "bnf_code"], ascending=[True, False, True],
                              ignore_index=True)
    table = table[table.groupby("group").cumcount() < MAX_PER_GROUP].reset_index(drop=True)
    sizes = _reference_list_sizes() * AVERAGE_MONTH_DAYS / 1000.0
    weight = table["weight"].to_numpy()
    group_of = table["group"].to_numpy()
    members = {g: np.flatnonzero(group_of == g) for g in dict.fromkeys(group_of)}

    def rows(g: str, k: int) -> float:
        idx = members[g][:k]
        rate = groups[g].rate * weight[idx] / weight[idx].sum()
        return float((1 - np.exp(-np.outer(rate, sizes))).sum())

    kept = {g: min(len(idx), max(1, groups[g].least)) for g, idx in members.items()}
    used = {g: rows(g, k) for g, k in kept.items()}
    total = sum(used.values())
    share = weight / np.array([weight[members[g]].sum() for g in group_of])
    for i in np.argsort(-share, kind="stable"):
        g = group_of[i]
        if kept[g] >= len(members[g]) or members[g][kept[g]] != i:
            continue          # presentations join their group in weight order
        trial = rows(g, kept[g] + 1)
        if total - used[g] + trial > ROW_BUDGET:
            continue
        total += trial - used[g]
        used[g], kept[g] = trial, kept[g] + 1
    keep = np.concatenate([members[g][:k] for g, k in kept.items()])
    return table.iloc[np.sort(keep)].reset_index(drop=True)


def group_table(names: list[str] | None = None) -> dict[str, Group]:
    """Every group by name (GROUPS, background, and a default group for any other name)."""
    known = {g.name: g for g in (*GROUPS, BACKGROUND)}
    for name in names or []:
        if name not in known:
            role = name.rsplit(":", 1)[-1]
            known[name] = Group(name, (name,), DEFAULT_GROUP_RATE.get(role, 0.3))
    return known


def _code_frame(presentations: pd.DataFrame) -> pd.DataFrame:
    p = presentations.drop_duplicates("bnf_code").reset_index(drop=True)
    dmd = p["dmd_code"].astype(object).where(p["dmd_code"].notna(), "")
    return pd.DataFrame({
        "bnf_code": p["bnf_code"].astype(str),
        "description": p["bnf_name"].astype(str).str.upper(),
        "dmd_code": dmd.astype(str),
        "chemical": p["chemical"].astype(str),
        "form": p["form"].astype(str).str.lower(),
        "strength": pd.to_numeric(p["strength"], errors="coerce"),
        "form_class": [form_class(f, n) for f, n in zip(p["form"], p["bnf_name"])],
    })


def _unit_costs(table: pd.DataFrame, groups: dict[str, Group], rng: np.random.Generator) -> np.ndarray:
    base = np.array([UNIT_COSTS[groups[g].solid_pack if f == "solid" else f]
                     for g, f in zip(table["group"], table["form_class"])])
    cost = base * rng.lognormal(0.0, UNIT_COST_SD, len(table))
    fixed = np.array([groups[g].unit_cost if groups[g].unit_cost is not None else np.nan
                      for g in table["group"]])
    return np.round(np.where(np.isnan(fixed), cost, fixed), 4)


def background_codes(n: int, presentations: pd.DataFrame, rng: np.random.Generator,
                     catalogue: Mapping[str, Indicator]) -> pd.DataFrame:
    """``n`` background presentations that no code list of the catalogue counts.

    First the code list's own background presentations (real codes and names, in a shuffled
    order with long-tailed rates); beyond those (``scale="real"`` asks for ~2,000 to reach
    PITC-like row counts) filler presentations with invented chemical codes and the name
    "SYNTHETIC BACKGROUND ITEM", which appear in no code list.
    """
    table = _code_frame(presentations)
    roles = presentation_roles(catalogue, table["bnf_code"])
    real = table[~roles.any(axis=1).to_numpy()].reset_index(drop=True)
    real = real.iloc[rng.permutation(len(real))].head(n).reset_index(drop=True)
    rows = [real]
    missing = n - len(real)
    if missing > 0:
        rows.append(_filler_codes(missing, catalogue))
    out = pd.concat(rows, ignore_index=True)
    out["group"] = BACKGROUND.name
    out["rate"] = BACKGROUND_TOP_RATE / (np.arange(len(out)) + 1.0) ** BACKGROUND_DECAY
    base = np.array([UNIT_COSTS[f] for f in out["form_class"]])
    out["unit_cost"] = np.round(base * rng.lognormal(0.0, UNIT_COST_SD, len(out)), 4)
    return out.drop(columns="form")


def _filler_codes(n: int, catalogue: Mapping[str, Indicator]) -> pd.DataFrame:
    """Invented background codes (chemical ``..0Y?``, a form no real chemical uses)."""
    lists = [cl for ind in catalogue.values() for cl in ind.code_lists()]
    codes = []
    j = 0
    while len(codes) < n:
        code = (f"{1 + j % 15:02d}{1 + (j // 15) % 9:02d}{1 + (j // 135) % 9:02d}0"
                f"Y{chr(65 + (j // 1215) % 26)}AAAAAA")
        j += 1
        if not any(cl.matches_code(code) for cl in lists):
            codes.append(code)
    return pd.DataFrame({"bnf_code": codes, "description": "SYNTHETIC BACKGROUND ITEM",
                         "dmd_code": "", "chemical": "Synthetic", "form": "tablet",
                         "strength": np.nan, "form_class": "solid"})
