"""Drug names as EHR records write them (RxNorm clinical drug names from the Synthea sample
records, salts, directions, brands) read as generic names. The expected generic of each name is
written by hand."""

from __future__ import annotations

import pytest

from tests.conftest import SHARED
from tests.tools.interactions.folders import check, pairs_table
from tools.interactions import InteractionTable, generic_parts, normalise_name


@pytest.fixture(scope="module")
def table(tmp_path_factory: pytest.TempPathFactory) -> InteractionTable:
    return pairs_table(tmp_path_factory.mktemp("onc"))


@pytest.mark.parametrize(
    ("given", "generic"),
    [
        ("Warfarin sodium 5 mg tablet", "warfarin"),
        ("simvastatin 40mg PO", "simvastatin"),
        ("ZOCOR 20 mg PO nightly", "simvastatin"),
        ("simvastatin 40 mg by mouth at bedtime", "simvastatin"),
        ("Coumadin", "warfarin"),
        ("Diltiazem HCl 120 mg", "diltiazem"),
        ("metoprolol succinate ER 50 mg", "metoprolol"),
        ("Sertraline hydrochloride 50mg tab", "sertraline"),
        ("Penicillin V potassium 500 mg", "penicillin v"),
        ("Arsenic trioxide 10 mg IV", "arsenic trioxide"),
        ("calcium acetate 667 mg", "calcium acetate"),
        ("Demerol", "pethidine"),
        ("aspirin 81 mg", "acetylsalicylic acid"),
        ("Augmentin 875 mg", "amoxicillin/clavulanate"),
    ],
)
def test_names_normalise_to_generics(given: str, generic: str) -> None:
    # Demerol -> meperidine -> pethidine takes two steps, as the checker applies it.
    assert "/".join(normalise_name(part) for part in normalise_name(given).split("/")) == generic


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
