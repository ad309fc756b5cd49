"""The sex a calculator takes: one of `Sex`'s members, female or male only; other and unknown
are refused with one sentence, and the schema the model sees offers only those two."""

from __future__ import annotations

import pytest

from tests.tools.calculators.sentences import invalid
from tools.calculators import (
    CalculatorInput,
    Cha2ds2VascInput,
    CockcroftGaultInput,
    EgfrInput,
    Sex,
    calculator_tools,
)
from tools.sex import FORMULA_SEXES
from tools.sex import Sex as OwnSex

RENAL: dict[str, float] = {"age_years": 60, "creatinine_mg_dl": 1.0}
CHADS: dict[str, float] = {
    "age_years": 60,
    "congestive_heart_failure": False,
    "hypertension": False,
    "diabetes": False,
    "stroke_tia_or_thromboembolism": False,
    "vascular_disease": False,
}
WITH_SEX: list[tuple[type[CalculatorInput], dict[str, float]]] = [
    (EgfrInput, RENAL),
    (CockcroftGaultInput, RENAL | {"weight_kg": 70}),
    (Cha2ds2VascInput, CHADS),
]


def test_the_calculators_sex_is_the_one_enum() -> None:
    assert Sex is OwnSex
    assert [s.value for s in Sex] == ["female", "male", "other", "unknown"]
    assert FORMULA_SEXES == (Sex.FEMALE, Sex.MALE)


@pytest.mark.parametrize(("model", "data"), WITH_SEX)
@pytest.mark.parametrize("sex", ["other", "unknown", Sex.OTHER, Sex.UNKNOWN])
def test_a_calculator_refuses_other_or_unknown_sex_in_one_sentence(
    model: type[CalculatorInput], data: dict[str, float], sex: str
) -> None:
    message = invalid(model, sex=sex, **data)
    assert "sex must be 'female' or 'male'" in message
    assert f"(got '{Sex(sex).value}')" in message


@pytest.mark.parametrize(("model", "data"), WITH_SEX)
def test_a_value_outside_the_vocabulary_is_refused_without_being_echoed(
    model: type[CalculatorInput], data: dict[str, float]
) -> None:
    message = invalid(model, sex="Jane Doe", **data)
    assert "sex must be 'female' or 'male'" in message and "Jane" not in message


@pytest.mark.parametrize(("model", "data"), WITH_SEX)
@pytest.mark.parametrize("sex", ["female", "male", Sex.FEMALE, Sex.MALE])
def test_female_and_male_become_the_enum_members(
    model: type[CalculatorInput], data: dict[str, float], sex: str
) -> None:
    inputs = model.model_validate({"sex": sex, **data})
    assert inputs.model_dump()["sex"] is Sex(sex)
    assert inputs.model_dump(mode="json")["sex"] == str(sex)


def test_the_tool_schemas_offer_only_female_and_male() -> None:
    with_sex = {
        tool.name: tool.tool_call_schema.model_json_schema()["properties"]["sex"]  # type: ignore[union-attr]
        for tool in calculator_tools()
        if "sex" in tool.args
    }
    assert sorted(with_sex) == [
        "cha2ds2_vasc",
        "creatinine_clearance_cockcroft_gault",
        "egfr_ckd_epi_2021",
    ]
    for schema in with_sex.values():
        assert schema["enum"] == ["female", "male"] and schema["type"] == "string"


def test_the_tool_refuses_other_sex_with_the_same_sentence() -> None:
    tool = next(t for t in calculator_tools() if t.name == "cha2ds2_vasc")
    args = CHADS | {"sex": "other"}
    message = tool.invoke({"type": "tool_call", "id": "1", "name": tool.name, "args": args})
    assert message.status == "error"
    assert message.content == (
        "Cannot calculate CHA2DS2-VASc: sex must be 'female' or 'male', the only two it has "
        "terms for (got 'other')."
    )
