"""Medication and allergy names as EHR records write them (RxNorm clinical drug names from the
Synthea sample records, salts, directions, brands, codes, SNOMED allergy wordings) and the
beta-lactam allergy classes. The expected generic of each name is written by hand."""

from __future__ import annotations

import pytest

from tests.conftest import SHARED
from tools.interactions import (
    HIGH_PRIORITY_FILE,
    RXNORM_SYSTEM,
    SNOMED_SYSTEM,
    SOURCE_FILE,
    InteractionReport,
    InteractionTable,
    check_interactions,
    generic_for_code,
    generic_parts,
    normalise_name,
)

SOURCE_TEXT = "WHAT: test pairs\nOBTAINED FROM: the test\nLICENSE: test data\n"
# DrugBank-style rows, as the ONC list writes them; the names are the ONC list's own.
PAIRS = (
    ("Amiodarone", "DB01118", "Simvastatin", "DB00641"),
    ("Clarithromycin", "DB01211", "Simvastatin", "DB00641"),
    ("Escitalopram", "DB01175", "Ondansetron", "DB00904"),
    ("Metoprolol", "DB00264", "Fluticasone Propionate", "DB00588"),
    ("Pethidine", "DB00454", "Phenelzine", "DB00780"),
)


@pytest.fixture(scope="module")
def table(tmp_path_factory: pytest.TempPathFactory) -> InteractionTable:
    folder = tmp_path_factory.mktemp("onc")
    rows = "".join(f"{a}${ia}${b}${ib}$\r\n" for a, ia, b, ib in PAIRS)
    (folder / HIGH_PRIORITY_FILE).write_text(rows, encoding="utf-8")
    (folder / SOURCE_FILE).write_text(SOURCE_TEXT, encoding="utf-8")
    return InteractionTable.load(folder)


def check(
    table: InteractionTable, *meds: str, allergies: tuple[str, ...] = ()
) -> InteractionReport:
    return check_interactions(meds, allergies, table=table)


# --- salts, directions, leading quantities, brands ---------------------------------------------


@pytest.mark.parametrize(
    ("given", "generic"),
    [
        ("escitalopram oxalate", "escitalopram"),
        ("Escitalopram oxalate 10 mg tablet", "escitalopram"),
        ("ondansetron hydrochloride dihydrate", "ondansetron"),
        ("methylprednisolone sodium succinate 40 mg IV", "methylprednisolone"),
        ("cefuroxime axetil 250 mg", "cefuroxime"),
        ("salmeterol xinafoate", "salmeterol"),
        ("ketorolac tromethamine 30 mg IM", "ketorolac"),
        # every word a salt word: the salt is the drug
        ("calcium acetate 667 mg", "calcium acetate"),
        ("potassium chloride 20 mEq", "potassium chloride"),
        ("magnesium sulfate 2 g IV", "magnesium sulfate"),
        ("ferrous sulfate 325 MG Oral Tablet", "ferrous sulfate"),
        # "G" and "V" are part of the name, not units
        ("Penicillin G benzathine", "penicillin g"),
        ("penicillin G benzathine 2.4 million units IM", "penicillin g"),
        ("Penicillin G potassium", "penicillin g"),
        ("benzathine penicillin G", "penicillin g"),
        ("penicillin V potassium", "penicillin v"),
        ("Bicillin L-A", "penicillin g"),
        ("benzylpenicillin", "penicillin g"),
        # leading directions
        ("Take clarithromycin 500 mg twice daily with meals", "clarithromycin"),
    ],
)
def test_salts_and_letters_of_names(given: str, generic: str) -> None:
    assert generic_parts(given) == [generic]


@pytest.mark.parametrize(
    "given",
    [
        "amiodarone 200 mg, take with food",
        "amiodarone 200 mg daily with food",
        "amiodarone 200mg PO daily, with meals",
        "amiodarone 200 mg by mouth once daily after breakfast",
        "amiodarone 200 mg as needed at bedtime",
        "amiodarone, take with a glass of water before meals",
    ],
)
def test_directions_never_become_drugs(table: InteractionTable, given: str) -> None:
    assert generic_parts(given) == ["amiodarone"]
    report = check(table, given, "simvastatin")
    assert report.unrecognised == ()
    assert [(f.drug_a, f.drug_b) for f in report.interactions] == [("amiodarone", "simvastatin")]


def test_an_entry_with_no_drug_name_is_reported_not_dropped(table: InteractionTable) -> None:
    report = check(table, "take with food", "simvastatin", "")
    assert report.unrecognised == ("take with food",)
    assert report.checked == ("simvastatin",)


# Every medication name the 15 Synthea sample records use (../shared/data/fhir-synthea-sample),
# written here literally, with the generic(s) each one is.
SYNTHEA_NAMES = [
    ("24 HR Metformin hydrochloride 500 MG Extended Release Oral Tablet", ["metformin"]),
    ("Amoxicillin 250 MG / Clavulanate 125 MG Oral Tablet", ["amoxicillin", "clavulanate"]),
    ("24 HR metoprolol succinate 100 MG Extended Release Oral Tablet [Toprol]", ["metoprolol"]),
    (
        "Acetaminophen 21.7 MG/ML / Dextromethorphan Hydrobromide 1 MG/ML / doxylamine succinate "
        "0.417 MG/ML Oral Solution",
        ["acetaminophen", "dextromethorphan", "doxylamine"],
    ),
    (
        "60 ACTUAT Fluticasone propionate 0.25 MG/ACTUAT / salmeterol 0.05 MG/ACTUAT Dry Powder "
        "Inhaler",
        ["fluticasone", "salmeterol"],
    ),
    ("120 ACTUAT Fluticasone propionate 0.044 MG/ACTUAT Metered Dose Inhaler", ["fluticasone"]),
    ("200 ACTUAT Albuterol 0.09 MG/ACTUAT Metered Dose Inhaler", ["albuterol"]),
    (
        "168 HR Ethinyl Estradiol 0.00146 MG/HR / norelgestromin 0.00625 MG/HR Transdermal System",
        ["ethinyl estradiol", "norelgestromin"],
    ),
    (
        "24 HR Donepezil hydrochloride 10 MG / Memantine hydrochloride 28 MG Extended Release "
        "Oral Capsule",
        ["donepezil", "memantine"],
    ),
    ("10 ML Furosemide 10 MG/ML Injection", ["furosemide"]),
    ("1 ML medroxyprogesterone acetate 150 MG/ML Injection", ["medroxyprogesterone"]),
    ("Clonazepam [Klonopin]", ["clonazepam"]),
    ("Lasix 40mg", ["furosemide"]),
    ("diphenhydrAMINE Hydrochloride 25 MG Oral Tablet", ["diphenhydramine"]),
    ("Naproxen sodium 220 MG Oral Tablet", ["naproxen"]),
    ("Naproxen 500 MG Oral Tablet", ["naproxen"]),
    ("Penicillin V Potassium 500 MG Oral Tablet", ["penicillin v"]),
    # the ONC list (DrugBank 4) names alendronic acid "alendronate"
    ("Alendronic acid 10 MG Oral Tablet", ["alendronate"]),
    ("Nitroglycerin 0.4 MG/ACTUAT Mucosal Spray", ["nitroglycerin"]),
    # RxNorm's "vitamin B12" is cyanocobalamin
    ("Vitamin B 12 5 MG/ML Injectable Solution", ["cyanocobalamin"]),
    ("Jolivette 28 Day Pack", ["norethindrone"]),
    ("Norinyl 1+50 28 Day Pack", ["mestranol", "norethindrone"]),
    ("Ortho Tri-Cyclen 28 Day Pack", ["ethinyl estradiol", "norgestimate"]),
    ("Mirena 52 MG Intrauterine System", ["levonorgestrel"]),
    ("Etonogestrel 68 MG Drug Implant", ["etonogestrel"]),
    ("Simvistatin 10 MG", ["simvastatin"]),  # sic: Synthea's spelling
    ("Simvastatin 20 MG Oral Tablet", ["simvastatin"]),
    ("Meperidine Hydrochloride 50 MG Oral Tablet", ["pethidine"]),
    ("Hydrochlorothiazide 25 MG", ["hydrochlorothiazide"]),
    ("Hydrochlorothiazide 6.25 MG", ["hydrochlorothiazide"]),
    ("Aspirin 81 MG Oral Tablet", ["acetylsalicylic acid"]),
    ("Acetaminophen 325 MG Oral Tablet", ["acetaminophen"]),
    ("Ibuprofen 200 MG Oral Tablet", ["ibuprofen"]),
    ("Galantamine 4 MG Oral Tablet", ["galantamine"]),
    ("Allopurinol 100 MG Oral Tablet", ["allopurinol"]),
    ("Amlodipine 5 MG Oral Tablet", ["amlodipine"]),
    ("Atorvastatin 80 MG Oral Tablet", ["atorvastatin"]),
    ("Captopril 25 MG Oral Tablet", ["captopril"]),
    ("ferrous sulfate 325 MG Oral Tablet", ["ferrous sulfate"]),
]


@pytest.mark.parametrize(("given", "generics"), SYNTHEA_NAMES)
def test_rxnorm_clinical_drug_names_as_synthea_writes_them(given: str, generics: list[str]) -> None:
    assert generic_parts(given) == generics


@pytest.mark.parametrize(
    ("brand", "generic"),
    [
        ("Toprol XL 50 mg", "metoprolol"),
        ("Klonopin 0.5 mg", "clonazepam"),
        ("Lasix", "furosemide"),
        ("Jolivette", "norethindrone"),
        ("Mirena", "levonorgestrel"),
        ("Nexplanon", "etonogestrel"),
        ("Depo-Provera 150 mg IM", "medroxyprogesterone"),
        ("Glucophage XR 500 mg", "metformin"),
        ("Norvasc 5 mg", "amlodipine"),
        ("Synthroid 50 mcg", "levothyroxine"),
        ("Benadryl 25 mg", "diphenhydramine"),
        ("Ventolin HFA 2 puffs", "albuterol"),
        ("Fosamax 70 mg weekly", "alendronate"),
        ("Aricept 10 mg", "donepezil"),
    ],
)
def test_brands(brand: str, generic: str) -> None:
    assert generic_parts(brand) == [generic]


def test_combination_brands_split_into_their_parts() -> None:
    assert generic_parts("Advair Diskus 250/50") == ["fluticasone", "salmeterol"]
    assert generic_parts("Percocet 5/325") == ["oxycodone", "acetaminophen"]
    assert generic_parts("Norinyl 1+35 28 Day Pack") == ["ethinyl estradiol", "norethindrone"]
    # "Norinyl" without its strengths is two different products: not guessed
    assert normalise_name("Norinyl") == "norinyl"


def test_synthea_names_find_their_listed_pairs(table: InteractionTable) -> None:
    report = check(
        table,
        "24 HR metoprolol succinate 100 MG Extended Release Oral Tablet [Toprol]",
        "120 ACTUAT Fluticasone propionate 0.044 MG/ACTUAT Metered Dose Inhaler",
        "Meperidine Hydrochloride 50 MG Oral Tablet",
        "Nardil 15 mg",
    )
    assert {(f.drug_a, f.drug_b) for f in report.interactions} == {
        ("fluticasone propionate", "metoprolol"),
        ("pethidine", "phenelzine"),
    }
    assert report.unrecognised == ()
    escitalopram = check(table, "escitalopram oxalate 10 mg", "ondansetron HCl dihydrate 4 mg")
    assert len(escitalopram.interactions) == 1


# --- codes ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("system", "code", "generic"),
    [
        (RXNORM_SYSTEM, "757594", "norethindrone"),  # Jolivette 28 Day Pack
        (RXNORM_SYSTEM, "749882", "mestranol/norethindrone"),  # Norinyl 1+50 28 Day Pack
        (RXNORM_SYSTEM, "749785", "ethinyl estradiol/norgestimate"),  # Ortho Tri-Cyclen
        (RXNORM_SYSTEM, "807283", "levonorgestrel"),  # Mirena 52 MG Intrauterine System
        (RXNORM_SYSTEM, "316672", "simvastatin"),  # "Simvistatin 10 MG" in the records
        (RXNORM_SYSTEM, "314231", "simvastatin"),  # simvastatin 10 MG Oral Tablet
        ("RxNorm", " 314231 ", "simvastatin"),
        ("urn:oid:2.16.840.1.113883.6.88", "807283", "levonorgestrel"),
        (SNOMED_SYSTEM, "91936005", "penicillins"),  # Allergy to penicillin
        ("SNOMED-CT", "293586001", "aspirin"),  # Allergy to aspirin
    ],
)
def test_codes_whose_display_does_not_say_the_generic(system: str, code: str, generic: str) -> None:
    assert generic_for_code(system, code) == generic


def test_other_codes_are_left_to_their_display() -> None:
    assert generic_for_code(RXNORM_SYSTEM, "313782") is None  # Acetaminophen 325 MG Oral Tablet
    assert generic_for_code(SNOMED_SYSTEM, "91935009") is None  # Allergy to peanuts
    assert generic_for_code(SNOMED_SYSTEM, "757594") is None  # an RxNorm code, not a SNOMED one
    assert generic_for_code("http://loinc.org", "757594") is None
    assert generic_for_code("", "") is None


def test_a_coded_name_is_checked_like_a_written_one(table: InteractionTable) -> None:
    simvastatin = generic_for_code(RXNORM_SYSTEM, "316672")
    penicillins = generic_for_code(SNOMED_SYSTEM, "91936005")
    assert simvastatin is not None and penicillins is not None
    report = check(table, simvastatin, "clarithromycin", "amoxicillin", allergies=(penicillins,))
    assert [(f.drug_a, f.drug_b) for f in report.interactions] == [
        ("clarithromycin", "simvastatin")
    ]
    assert [(c.medication, c.kind) for c in report.allergy_conflicts] == [
        ("amoxicillin", "same-class")
    ]


# --- allergies --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("medication", "allergy", "kind"),
    [
        ("amoxicillin 500 mg", "Allergy to penicillin", "same-class"),
        ("amoxicillin 500 mg", "Allergy to penicillin (finding)", "same-class"),
        ("Penicillin V Potassium 500 MG Oral Tablet", "Penicillin allergy", "same-class"),
        ("penicillin G benzathine 2.4 million units IM", "penicillin", "same-class"),
        ("Bactrim DS", "Allergy to sulfonamides", "same-class"),
        ("cefazolin 2 g IV", "Allergy to cephalosporin", "same-class"),
        ("Ibuprofen 200 MG Oral Tablet", "Allergy to aspirin", "same-class"),
        ("naproxen", "allergic to NSAIDs", "same-class"),
        ("amoxicillin", "allergic reaction to amoxicillin", "same-drug"),
    ],
)
def test_snomed_allergy_wordings(
    table: InteractionTable, medication: str, allergy: str, kind: str
) -> None:
    report = check(table, medication, allergies=(allergy,))
    assert [c.kind for c in report.allergy_conflicts] == [kind]
    assert report.unrecognised_allergies == ()


def test_non_drug_allergies_are_reported_as_such(table: InteractionTable) -> None:
    non_drug = (
        "Allergy to peanuts",
        "Latex allergy",
        "Allergy to mould",
        "Dander (animal) allergy",
        "House dust mite allergy",
        "Shellfish allergy",
        "Allergy to bee venom",
        "Allergy to grass pollen",
        "Allergy to dairy product",
    )
    report = check(table, "amoxicillin", allergies=(*non_drug, "Allergy to substance"))
    assert report.allergy_conflicts == ()
    assert report.unrecognised_allergies == (*non_drug, "Allergy to substance")
    assert report.non_drug_allergies == non_drug


@pytest.mark.parametrize(
    "statement",
    [
        "No known allergy",
        "No known allergies",
        "No known drug allergy",
        "No Known Drug Allergies (situation)",
        "NKDA",
        "NKA",
        "none known",
    ],
)
def test_no_known_allergy_is_not_an_allergy(table: InteractionTable, statement: str) -> None:
    report = check(table, "amoxicillin", "simvastatin", allergies=(statement,))
    assert report.allergy_conflicts == ()
    assert report.unrecognised_allergies == ()
    assert report.non_drug_allergies == ()


@pytest.mark.parametrize(
    ("medication", "allergy", "kind", "words"),
    [
        # a recorded beta-lactam allergy covers all four classes
        ("meropenem 1 g IV", "beta-lactam allergy", "same-class", "carbapenems"),
        ("aztreonam 1 g IV", "Beta-lactams", "same-class", "monobactams"),
        ("cefazolin", "β-lactam", "same-class", "cephalosporins"),
        ("amoxicillin", "beta lactam antibiotics", "same-class", "penicillins"),
        ("ertapenem", "carbapenem", "same-class", "carbapenems"),
        ("imipenem-cilastatin 500 mg IV", "carbapenems", "same-class", "carbapenems"),
        # penicillin -> carbapenem: cross-reactivity is low, and said so
        ("meropenem", "penicillin", "cross-reactivity", "under 1%"),
        ("amoxicillin", "ertapenem", "cross-reactivity", "low"),
        ("doripenem", "cephalosporins", "cross-reactivity", "about 1%"),
        # aztreonam shares its side chain with ceftazidime only
        ("aztreonam", "ceftazidime", "cross-reactivity", "side chain"),
        ("ceftazidime", "aztreonam", "cross-reactivity", "side chain"),
    ],
)
def test_beta_lactam_classes(
    table: InteractionTable, medication: str, allergy: str, kind: str, words: str
) -> None:
    report = check(table, medication, allergies=(allergy,))
    assert [c.kind for c in report.allergy_conflicts] == [kind]
    assert words in report.allergy_conflicts[0].reason


@pytest.mark.parametrize(
    ("medication", "allergy"),
    [
        ("aztreonam", "penicillin"),
        ("aztreonam", "cefazolin"),
        ("aztreonam", "cephalosporins"),
        ("meropenem", "sulfa"),
    ],
)
def test_aztreonam_is_not_flagged_by_other_beta_lactam_allergies(
    table: InteractionTable, medication: str, allergy: str
) -> None:
    assert check(table, medication, allergies=(allergy,)).allergy_conflicts == ()


def test_shared_synthea_records_parse_when_present() -> None:
    """Every medication the shared Synthea records carry reads as at least one generic name."""
    import json

    folder = SHARED / "data" / "fhir-synthea-sample"
    files = sorted(folder.glob("*.json"))
    if not files:
        pytest.skip("../shared/data/fhir-synthea-sample is not present")
    displays: set[str] = set()
    for file in files:
        for entry in json.loads(file.read_text(encoding="utf-8")).get("entry", []):
            concept = entry.get("resource", {}).get("medicationCodeableConcept") or {}
            displays |= {c["display"] for c in concept.get("coding", []) if c.get("display")}
    assert displays
    written = {given for given, _ in SYNTHEA_NAMES}
    assert displays <= written, sorted(displays - written)
