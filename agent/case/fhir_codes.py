"""FHIR R4 codes and units the reader knows: systems, statuses, the LOINC codes the tools read,
and UCUM conversion (`ucumvert`, a UCUM grammar over pint), read by the quantity's code before
its display unit."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from agent.errors import AgentError

LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
UCUM = "http://unitsofmeasure.org"
SYSTEM_NAMES: Mapping[str, str] = {
    LOINC: "LOINC",
    SNOMED: "SNOMED CT",
    RXNORM: "RxNorm",
    "http://hl7.org/fhir/sid/icd-10-cm": "ICD-10-CM",
    "http://hl7.org/fhir/sid/icd-10": "ICD-10",
    "http://hl7.org/fhir/sid/ndc": "NDC",
}
READ_TYPES = frozenset(
    {
        "Patient",
        "Condition",
        "MedicationRequest",
        "MedicationStatement",
        "Medication",
        "AllergyIntolerance",
        "Observation",
        "DiagnosticReport",
    }
)

ACTIVE_CONDITION = frozenset({"active", "recurrence", "relapse"})
PAST_CONDITION = frozenset({"inactive", "remission", "resolved"})
CURRENT_REQUEST = frozenset({"active", "on-hold"})
CURRENT_STATEMENT = frozenset({"active", "intended", "on-hold"})
NOT_A_MEDICATION = frozenset({"entered-in-error", "not-taken"})
NO_RESULT = frozenset({"registered", "cancelled", "entered-in-error"})
# SNOMED CT situations that record the absence of allergies, not an allergy.
NO_KNOWN_ALLERGY = frozenset({"716186003", "409137002", "428607008", "429625007", "428197003"})
NO_KNOWN_ALLERGY_TEXT = re.compile(r"^\s*(?:no known\b|nkda\b|nka\b|none known\b)", re.I)
# SNOMED CT: pregnancy as an active condition (normal pregnancy, pregnant).
PREGNANCY_CONDITIONS = frozenset({"72892002", "77386006"})


class FhirError(AgentError):
    """A record that cannot be read at all; `str` is the sentence to show."""


@dataclass(frozen=True)
class LabKind:
    """What a LOINC code means to the tools: a canonical name, and the unit values are kept in
    (converted by UCUM when the record used another unit of the same dimension)."""

    name: str
    unit: str  # UCUM


EGFR_CODES = (
    "33914-3", "48642-3", "48643-4", "50044-7", "62238-1", "69405-9", "77147-7", "88293-6",
    "88294-4", "98979-8", "98980-6",
)  # fmt: skip
# The LOINC codes the tools read. Anything else is kept under its own code and display name.
# Creatinine in mass and in moles are one lab ("creatinine"): the latest of either is used.
LAB_KINDS: Mapping[str, LabKind] = {
    "2160-0": LabKind("creatinine", "mg/dL"),  # Creatinine [Mass/volume] in Serum or Plasma
    "38483-4": LabKind("creatinine", "mg/dL"),  # Creatinine [Mass/volume] in Blood
    "14682-9": LabKind("creatinine", "umol/L"),  # Creatinine [Moles/volume] in Serum or Plasma
    "59826-8": LabKind("creatinine", "umol/L"),  # Creatinine [Moles/volume] in Blood
    # eGFR, every equation: shown, never taken for creatinine (the calculators compute their own)
    **{code: LabKind("egfr", "mL/min/{1.73_m2}") for code in EGFR_CODES},
    "2823-3": LabKind("potassium", "mmol/L"),
    "6298-4": LabKind("potassium", "mmol/L"),
    "2951-2": LabKind("sodium", "mmol/L"),
    "2947-0": LabKind("sodium", "mmol/L"),
    "6301-6": LabKind("inr", "{INR}"),
    "34714-6": LabKind("inr", "{INR}"),
    "4548-4": LabKind("hba1c", "%"),
    "17856-6": LabKind("hba1c", "%"),
    "718-7": LabKind("hemoglobin", "g/dL"),
    "777-3": LabKind("platelets", "10*3/uL"),
    "26515-7": LabKind("platelets", "10*3/uL"),
    "1742-6": LabKind("alt", "U/L"),
    "1975-2": LabKind("bilirubin", "mg/dL"),
    "3094-0": LabKind("urea", "mg/dL"),
    "6299-2": LabKind("urea", "mg/dL"),
}
WEIGHT_CODES = frozenset({"29463-7", "3141-9"})  # body weight; measured
HEIGHT_CODES = frozenset({"8302-2", "8306-3", "3137-7"})  # body height; lying; measured
PREGNANCY_CODES = frozenset({"82810-3"})  # Pregnancy status
# Display units that are not UCUM but common in exports; anything else must parse as UCUM.
_DISPLAY_UNITS: Mapping[str, str] = {
    "lb": "[lb_av]",
    "lbs": "[lb_av]",
    "pound": "[lb_av]",
    "pounds": "[lb_av]",
    "in": "[in_i]",
    "inch": "[in_i]",
    "inches": "[in_i]",
    "ft": "[ft_i]",
    "feet": "[ft_i]",
    "oz": "[oz_av]",
    "µmol/l": "umol/L",
    "μmol/l": "umol/L",
}
PREGNANCY_CURRENT_DAYS = 300  # an older pregnancy status says nothing about today


def plural(count: int, one: str, many: str) -> str:
    return f"{count} {one if count == 1 else many}"


# Why a resource was left out, as the warning line says it.
DROPPED: Mapping[str, Callable[[int], str]] = {
    "entered in error": lambda n: (
        f"{plural(n, 'resource', 'resources')} marked entered-in-error left out."
    ),
    "refuted": lambda n: (
        f"{plural(n, 'refuted condition or allergy', 'refuted conditions or allergies')} left out."
    ),
    "not taken": lambda n: (
        f"{plural(n, 'medication', 'medications')} recorded as not taken or not to be given "
        "left out."
    ),
    "inactive allergy": lambda n: (
        f"{plural(n, 'allergy', 'allergies')} recorded as inactive or resolved left out."
    ),
}


# --------------------------------------------------------------------------- units


@functools.lru_cache(maxsize=1)
def _registry() -> Any:
    from ucumvert import PintUcumRegistry

    return PintUcumRegistry()


@functools.lru_cache(maxsize=256)
def _ucum_factor(unit: str, target: str) -> float | None:
    """The factor taking `unit` to `target` (both UCUM), or None when they do not convert."""
    registry = _registry()
    try:
        return float((1 * registry.from_ucum(unit)).to(registry.from_ucum(target)).magnitude)
    except Exception:  # ucumvert and pint raise several kinds for units that do not parse or fit
        return None


def convert(value: float, unit: str, target: str) -> float | None:
    """`value` in `unit` (UCUM, or a common display unit) expressed in `target` (UCUM)."""
    cleaned = unit.strip()
    ucum = _DISPLAY_UNITS.get(cleaned.lower(), cleaned)
    if ucum == target:
        return value
    factor = _ucum_factor(ucum, target) if ucum else None
    return None if factor is None else value * factor
