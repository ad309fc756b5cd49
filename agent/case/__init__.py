"""A patient case: from a form (JSON), a FHIR R4 record, or pasted free text.

`read_case` (read.py) gives a `CaseReading` (reading.py): what was read, each fact with its
source; its `case` (model.py) is what the tools use. One module per way in: form.py, text.py,
record.py over the FHIR reader (fhir_codes.py, fhir_bundle.py, fhir_reader.py);
calculations.py the calculators a case allows.
"""

from __future__ import annotations

from agent.case.calculations import calculator_calls
from agent.case.model import MAX_CASE_CHARS, MAX_ITEMS, MAX_LABS, Case, CaseError, Lab
from agent.case.read import parse_case, read_case
from agent.case.reading import (
    AllergyRead,
    CaseReading,
    LabRead,
    MedicationRead,
    ProblemRead,
)
from tools.sex import Sex  # the one vocabulary: the calculators take the same enum

__all__ = [
    "MAX_CASE_CHARS",
    "MAX_ITEMS",
    "MAX_LABS",
    "AllergyRead",
    "Case",
    "CaseError",
    "CaseReading",
    "Lab",
    "LabRead",
    "MedicationRead",
    "ProblemRead",
    "Sex",
    "calculator_calls",
    "parse_case",
    "read_case",
]
