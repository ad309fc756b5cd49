"""RxNorm and SNOMED CT codes whose display does not name the drug, and codes left to their
display."""

from __future__ import annotations

import pytest

from tests.tools.interactions.folders import check, pairs_table
from tools.interactions import RXNORM_SYSTEM, SNOMED_SYSTEM, InteractionTable, generic_for_code


@pytest.fixture(scope="module")
def table(tmp_path_factory: pytest.TempPathFactory) -> InteractionTable:
    return pairs_table(tmp_path_factory.mktemp("onc"))


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
