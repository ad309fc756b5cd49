"""The patient's sex: one vocabulary for every layer (the case records it, the calculators take
it). A small module of its own so that reading a case does not load the calculators' tools.

A case may hold any of the four. A formula with sex terms (eGFR, Cockcroft-Gault, CHA2DS2-VASc)
has them for female and male only: its input takes `FORMULA_SEXES` alone
(`tools.calculators.models.FemaleOrMale`), and a case with another sex is offered none of them."""

from __future__ import annotations

from enum import StrEnum
from typing import Final


class Sex(StrEnum):
    FEMALE = "female"
    MALE = "male"
    OTHER = "other"
    UNKNOWN = "unknown"


FORMULA_SEXES: Final = (Sex.FEMALE, Sex.MALE)
