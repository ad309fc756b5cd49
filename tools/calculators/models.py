"""What every calculator shares: the input and result bases, score items and bounded quantities.

Inputs are frozen pydantic models whose field names carry their units; a value outside its
bounds fails validation (`tools.calculators.validation` turns that into one sentence).
"""

from __future__ import annotations

from typing import Annotated, Final, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema

from tools.sex import FORMULA_SEXES, Sex

MAX_AGE_YEARS: Final = 120
ADULT_AGE_YEARS: Final = 18
MAX_WEIGHT_KG: Final = 500.0
MIN_HEIGHT_CM: Final = 30.0
MAX_HEIGHT_CM: Final = 272.0


def _female_or_male(value: object) -> object:
    # A formula's sex terms exist for female and male only. The value is named only when it is
    # one of Sex's own (never the caller's free text).
    if value in FORMULA_SEXES:
        return value
    got = f" (got '{value}')" if value in tuple(Sex) else ""
    raise ValueError(f"sex must be 'female' or 'male', the only two it has terms for{got}")


# The sex a calculator takes: a `Sex`, bounded like the quantities below to FORMULA_SEXES
# (female, male; the schema the model sees offers only those); "other" or "unknown" is refused
# with one sentence.
FemaleOrMale = Annotated[
    Sex,
    BeforeValidator(_female_or_male),
    WithJsonSchema(
        {"enum": [sex.value for sex in FORMULA_SEXES], "title": "Sex", "type": "string"}
    ),
]

AgeYears = Annotated[
    int, Field(ge=0, le=MAX_AGE_YEARS, description="Age in completed years (0-120).")
]
WeightKg = Annotated[
    float, Field(gt=0, le=MAX_WEIGHT_KG, description="Actual body weight in kilograms.")
]
HeightCm = Annotated[
    float,
    Field(ge=MIN_HEIGHT_CM, le=MAX_HEIGHT_CM, description="Height in centimetres (30-272)."),
]


class CalculatorInput(BaseModel):
    # extra="forbid": an argument without its unit in the name ("creatinine", "weight") must
    # be refused, not silently dropped, or the model could believe it was used.
    # allow_inf_nan=False: NaN or infinity gets "a finite number" rather than a bound message
    # ("at most 30") that would send the caller looking for the wrong mistake.
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)


# Score inputs have no defaults on purpose: a criterion the caller forgot must be an error,
# not a silent "absent" that lowers the score.

InputT = TypeVar("InputT", bound=CalculatorInput)


class ScoreItem(BaseModel):
    model_config = ConfigDict(frozen=True)

    criterion: str
    present: bool
    points: int | float


class CalculatorResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    calculator: str
    interpretation: str
    reference: str


def score_items(criteria: list[tuple[str, bool, int | float]]) -> tuple[ScoreItem, ...]:
    return tuple(
        ScoreItem(criterion=name, present=present, points=points if present else 0)
        for name, present, points in criteria
    )
