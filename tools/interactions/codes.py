"""Coded medications and allergies: the few RxNorm and SNOMED CT codes whose displayed name does
not say the generic (`data/codes.json`); any other code is read by its display."""

from __future__ import annotations

from collections.abc import Mapping

from tools.interactions.data_files import read_data_file

RXNORM_SYSTEM = "http://www.nlm.nih.gov/research/umls/rxnorm"
SNOMED_SYSTEM = "http://snomed.info/sct"

_SYSTEM_ALIASES: Mapping[str, str] = {
    RXNORM_SYSTEM: RXNORM_SYSTEM,
    "rxnorm": RXNORM_SYSTEM,
    "urn:oid:2.16.840.1.113883.6.88": RXNORM_SYSTEM,
    SNOMED_SYSTEM: SNOMED_SYSTEM,
    "snomed": SNOMED_SYSTEM,
    "snomed-ct": SNOMED_SYSTEM,
    "snomed ct": SNOMED_SYSTEM,
    "sct": SNOMED_SYSTEM,
    "urn:oid:2.16.840.1.113883.6.96": SNOMED_SYSTEM,
}
# Codes whose displayed name does not say the generic, or says it misspelt; each row of the file
# gives its display and where it was seen.
_CODED_NAMES: Mapping[tuple[str, str], str] = {
    (_SYSTEM_ALIASES[str(row["system"])], str(row["code"])): str(row["generic"])
    for row in read_data_file("codes.json")["codes"]
}


def generic_for_code(system: str, code: str) -> str | None:
    """The generic name (or allergy class) a coded medication or allergy stands for, when its
    displayed name would not say it; None for any other code (then the display is read).

    `system` is a FHIR coding system URI (RxNorm, SNOMED CT) or a usual short name ("RxNorm",
    "SNOMED-CT"). A combination comes back joined by "/", as brands do from `normalise_name`.
    """
    canonical = _SYSTEM_ALIASES.get(system.strip().lower().rstrip("/"))
    if canonical is None:
        return None
    return _CODED_NAMES.get((canonical, code.strip()))
