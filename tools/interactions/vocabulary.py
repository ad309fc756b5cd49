"""Drug and class names this package knows by name: what a medication or allergy entry may be
reduced to where its wording must not be kept (the audit trail).

`known_names` reads one entry as the interaction check does (`generic_parts`, `allergens_of`)
and gives its normalised generic and class names when every part is a name of the vocabulary
(`data/drug_names.json`, `data/codes.json`, `data/allergies.json`); otherwise None, and the
caller keeps nothing of the entry but its length and hash. No interaction table is read: the
vocabulary is the same on every installation.
"""

from __future__ import annotations

import functools

from tools.interactions.allergies import allergens_of, allergy_class_of, names_allergy_class
from tools.interactions.data_files import read_data_file
from tools.interactions.names import generic_parts


@functools.cache
def _known_generics() -> frozenset[str]:
    drug_names = read_data_file("drug_names.json")
    mapped = [
        *(name for group in drug_names["brands"]["groups"].values() for name in group.values()),
        *drug_names["synonyms"]["names"].values(),
        *(str(row["generic"]) for row in read_data_file("codes.json")["codes"]),
    ]
    members = read_data_file("allergies.json")["classes"]["members"]
    mapped += [name for names in members.values() for name in names]
    return frozenset(part for name in mapped for part in str(name).split("/"))


def _known(part: str) -> bool:
    return part in _known_generics() or allergy_class_of(part) is not None


def known_names(entry: str, *, allergy: bool = False) -> list[str] | None:
    """The generic (or allergy class) names one medication or allergy entry names, normalised
    ("Cordarone 200 mg daily" -> ["amiodarone"], "PCN (rash)" -> ["pcn"]); None when any part of
    it is not a known name ("Jane Kestreldoe", "warfarin per Jane")."""
    parts = allergens_of(entry) if allergy else generic_parts(entry)
    if not parts or not all(_known(p) or (allergy and names_allergy_class(p)) for p in parts):
        return None
    return parts
