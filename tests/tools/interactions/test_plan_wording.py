"""Only the drugs a plan's wording recommends join the interaction check: drugs it names to avoid,
stop, or use instead of, are left out; unclear wording keeps a drug."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from tests.conftest import SHARED
from tools.interactions import (
    INTERACTIONS_FILE,
    SOURCE_FILE,
    InteractionKnowledge,
    InteractionTable,
    check_interactions,
    mentioned_medications,
    recommended_medications,
)

DRUGS = (
    "clarithromycin", "simvastatin", "azithromycin", "erythromycin", "ibuprofen", "naproxen",
    "acetaminophen", "warfarin", "atorvastatin", "fluconazole", "amoxicillin", "doxycycline",
    "sertraline", "tramadol", "metronidazole",
)  # fmt: skip


@pytest.fixture(scope="module")
def knowledge(tmp_path_factory: pytest.TempPathFactory) -> InteractionKnowledge:
    folder = tmp_path_factory.mktemp("plans")
    rows = [f"{a},{b},moderate,," for a, b in itertools.pairwise(DRUGS)]
    rows.append("clarithromycin,simvastatin,contraindicated,,")
    csv = "drug_a,drug_b,severity,mechanism,management\n" + "\n".join(rows) + "\n"
    (folder / INTERACTIONS_FILE).write_text(csv, encoding="utf-8")
    (folder / SOURCE_FILE).write_text(
        "WHAT: test\nOBTAINED FROM: the test\nLICENSE: test\n", encoding="utf-8"
    )
    return InteractionKnowledge.load(None, [folder])


@pytest.mark.parametrize(
    ("text", "recommended"),
    [
        # forward negations
        ("Avoid clarithromycin; use azithromycin.", ["azithromycin"]),
        (
            "Do not use NSAIDs such as ibuprofen or naproxen; paracetamol is preferred.",
            ["paracetamol"],
        ),
        ("Do not use NSAIDs (e.g. ibuprofen, naproxen); give paracetamol.", ["paracetamol"]),
        ("Don't give clarithromycin with Zocor.", []),
        ("Never combine clarithromycin and simvastatin.", []),
        ("Avoid NSAIDs and use paracetamol for pain.", ["paracetamol"]),
        ("Avoid the concurrent use of clarithromycin.", []),
        (
            "Avoid clarithromycin, erythromycin and fluconazole; doxycycline is an option.",
            ["doxycycline"],
        ),
        ("Avoid clarithromycin, azithromycin is preferred.", ["azithromycin"]),
        ("Stop simvastatin and start atorvastatin 20 mg.", ["atorvastatin"]),
        ("Discontinue warfarin before surgery.", []),
        ("Withhold simvastatin during the course.", []),
        ("Use azithromycin instead of clarithromycin.", ["azithromycin"]),
        ("Azithromycin rather than clarithromycin.", ["Azithromycin"]),
        ("Doxycycline, unless the patient takes warfarin.", ["Doxycycline"]),
        ("Any macrolide except clarithromycin.", []),
        ("Use azithromycin, not clarithromycin.", ["azithromycin"]),
        ("Not recommended: clarithromycin.", []),
        # backward negations
        # "with Y" is the circumstance of the negation, not its object: Y is kept
        ("Clarithromycin is not recommended with simvastatin.", ["simvastatin"]),
        ("Do not take clarithromycin with simvastatin.", []),
        (
            "Clarithromycin is not recommended; amoxicillin 500 mg three times daily.",
            ["amoxicillin"],
        ),
        ("Clarithromycin should be avoided in patients taking statins.", []),
        ("Clarithromycin and erythromycin are contraindicated; use doxycycline.", ["doxycycline"]),
        ("Use azithromycin, clarithromycin is contraindicated.", ["azithromycin"]),
        ("Simvastatin should be stopped while on clarithromycin.", ["clarithromycin"]),
        ("Ibuprofen should not be used; paracetamol can be.", ["paracetamol"]),
        # positive, and double negations keep the drug
        (
            "Consider clarithromycin 500 mg or amoxicillin; continue Zocor at night.",
            ["clarithromycin", "amoxicillin", "Zocor"],
        ),
        ("Do not stop simvastatin.", ["simvastatin"]),
        ("Avoid stopping sertraline abruptly.", ["sertraline"]),
        ("Simvastatin should not be stopped.", ["Simvastatin"]),
        ("Clarithromycin is not contraindicated here.", ["Clarithromycin"]),
        # a negation about something else, a dose limit or a stopping keeps the drug
        ("Avoid alcohol with tramadol.", ["tramadol"]),
        ("Avoid driving until you know how tramadol affects you.", ["tramadol"]),
        ("Avoid alcohol while taking metronidazole.", ["metronidazole"]),
        ("Do not exceed 4 g of paracetamol per day.", ["paracetamol"]),
        ("Do not take more than 3 g of acetaminophen daily.", ["acetaminophen"]),
        ("Avoid abrupt withdrawal of sertraline.", ["sertraline"]),
        ("Avoid simvastatin doses above 20 mg.", ["simvastatin"]),
        ("Doses of simvastatin above 20 mg should be avoided.", ["simvastatin"]),
        (
            "Tramadol 50 mg as needed; avoid in combination with sertraline.",
            ["Tramadol", "sertraline"],
        ),
        # named both ways: kept
        (
            "Avoid clarithromycin. If azithromycin fails, clarithromycin may be used.",
            ["azithromycin", "clarithromycin"],
        ),
        ("Paced breathing and exercise.", []),
    ],
)
def test_recommended_medications(
    knowledge: InteractionKnowledge, text: str, recommended: list[str]
) -> None:
    assert recommended_medications(text, knowledge) == recommended


def test_mentioned_medications_still_finds_every_mention(knowledge: InteractionKnowledge) -> None:
    text = "Avoid clarithromycin; use azithromycin."
    assert mentioned_medications(text, knowledge) == ["clarithromycin", "azithromycin"]


def test_an_avoided_drug_raises_no_interaction_in_the_plan(knowledge: InteractionKnowledge) -> None:
    """What planning does with an option's wording: the case's drugs plus the recommended ones."""
    case_medications = ["simvastatin 40 mg"]
    wording = "Azithromycin 500 mg daily. Avoid clarithromycin (interaction with simvastatin)."
    recommended = recommended_medications(wording, knowledge)
    # the simvastatin in brackets is kept: unclear wording keeps a drug (it is the case's anyway)
    assert recommended == ["Azithromycin", "simvastatin"]
    plan = [*case_medications, *recommended]
    report = check_interactions(plan, table=knowledge)
    assert all("clarithromycin" not in (f.drug_a, f.drug_b) for f in report.interactions)
    everything = [*case_medications, *mentioned_medications(wording, knowledge)]
    assert any(
        {f.drug_a, f.drug_b} == {"clarithromycin", "simvastatin"}
        for f in check_interactions(everything, table=knowledge).interactions
    )


def test_combination_brands_in_plan_wording_are_recommended(
    knowledge: InteractionKnowledge,
) -> None:
    assert recommended_medications("Augmentin 875 mg twice daily.", knowledge) == ["Augmentin"]


def test_the_onc_list_when_present(tmp_path: Path) -> None:
    folder = SHARED / "data" / "ddi-onc-high-priority"
    if not folder.exists():
        pytest.skip("the ONC interaction list is not present")
    table = InteractionTable.load(folder)
    text = "Avoid clarithromycin with simvastatin; azithromycin 500 mg once daily."
    assert recommended_medications(text, table) == ["azithromycin"]
    assert mentioned_medications(text, table) == ["clarithromycin", "simvastatin", "azithromycin"]


def test_drugs_named_in_plan_wording_are_found_for_the_interaction_check() -> None:
    folder = SHARED / "data" / "ddi-onc-high-priority"
    if not folder.exists():
        pytest.skip("the ONC interaction list is not present")
    table = InteractionTable.load(folder)
    text = "Consider clarithromycin 500 mg or amoxicillin; continue Zocor at night."
    assert mentioned_medications(text, table) == ["clarithromycin", "amoxicillin", "Zocor"]
    assert mentioned_medications("Paced breathing and exercise.", table) == []
