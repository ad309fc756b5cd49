"""`check_interactions`: flag drug-drug pairs that interaction tables list, and allergy conflicts.

A deterministic check (no model involved) of a medication list against the tables of an
`InteractionKnowledge`, plus a check of the medications against recorded allergies
(`tools.interactions.allergies`). Names are normalised to generic names and then matched exactly:
a name that is not recognised is reported back as "not checked", never guessed. The report says
which tables were consulted and that no flag never means a combination is safe.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field

from tools.interactions.allergies import (
    AllergyKind,
    allergens_of,
    allergy_class_of,
    is_no_known_allergy,
    is_non_drug_allergy,
    names_allergy_class,
    strongest_allergy_match,
)
from tools.interactions.knowledge import InteractionKnowledge, Tables
from tools.interactions.names import generic_parts
from tools.interactions.tables import SEVERITY_RANK, Severity

# The scope note of a check against the ONC high-priority list alone; `InteractionKnowledge.scope`
# names every table of a wider check.
SCOPE_NOTE = (
    "Only pairs on the ONC high-priority interaction list (2012, mapped to drugs in 2014) and a "
    "small allergy-class map were checked; no flag does not mean a combination is safe."
)


# --- the report -------------------------------------------------------------------------------


class InteractionFlag(BaseModel):
    """A pair of the given medications that one table lists (drug_a sorts before drug_b)."""

    model_config = ConfigDict(frozen=True)

    drug_a: str
    drug_b: str
    as_given_a: str
    as_given_b: str
    severity: Severity = "high-priority"
    mechanism: str | None = None
    management: str | None = None
    source: str
    license: str
    list_name: str = Field(default="", description="The short name of the listing table.")

    def describe(self, *, as_given: bool = True) -> str:
        """One line for a clinician: the pair as given (or as generics), its severity, the
        table that lists it, and the table's mechanism and management text when it has them."""
        a, b = (self.as_given_a, self.as_given_b) if as_given else (self.drug_a, self.drug_b)
        parts = [f"{a} + {b}: {self.severity} ({self.list_name or 'interaction list'})"]
        parts += [text.rstrip(". ") for text in (self.mechanism, self.management) if text]
        return "; ".join(parts) + "."


class AllergyFlag(BaseModel):
    """A medication that is, or is in the class of, a recorded allergy."""

    model_config = ConfigDict(frozen=True)

    medication: str
    medication_as_given: str
    allergy: str
    kind: AllergyKind
    reason: str

    def describe(self, *, as_given: bool = False) -> str:
        """One line for a clinician: the medication (as given, or its generic), the recorded
        allergy it conflicts with, and why."""
        medication = self.medication_as_given if as_given else self.medication
        why = f" ({self.reason})" if self.reason else ""
        return f"{medication} conflicts with the recorded allergy to {self.allergy}{why}."


class ConsultedTable(BaseModel):
    """One interaction table a check consulted."""

    model_config = ConfigDict(frozen=True)

    name: str
    source: str
    license: str
    rows_loaded: int
    rows_skipped: int


class InteractionReport(BaseModel):
    model_config = ConfigDict(frozen=True)

    interactions: tuple[InteractionFlag, ...] = ()
    allergy_conflicts: tuple[AllergyFlag, ...] = ()
    checked: tuple[str, ...] = ()
    unrecognised: tuple[str, ...] = Field(
        default=(), description="Medications (or parts of combinations) that were not checked."
    )
    unrecognised_allergies: tuple[str, ...] = ()
    non_drug_allergies: tuple[str, ...] = Field(
        default=(),
        description=(
            "The unrecognised allergies that are to foods, pollens, animals, latex and the like: "
            "not drug allergies, so not compared with the medications."
        ),
    )
    duplicates: tuple[str, ...] = Field(
        default=(), description="Medications given more than once under the same generic name."
    )
    source: str
    license: str
    sources: tuple[ConsultedTable, ...] = Field(
        default=(), description="Every interaction table consulted, the default one first."
    )
    scope: str = SCOPE_NOTE


# --- the check --------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Medication:
    generic: str  # the first table's name for it, else its normalised key
    key: str  # the normalised key it was read as
    as_given: str
    origin: int  # index of the entry it came from: parts of one product are not paired


def _allergy_flag(med: _Medication, allergy: str, allergens: Sequence[str]) -> AllergyFlag | None:
    """The strongest match of `med` with any active part of one recorded allergy."""
    match = strongest_allergy_match(med.generic, allergy, allergens)
    if match is None:
        return None
    kind, reason = match
    return AllergyFlag(
        medication=med.generic,
        medication_as_given=med.as_given,
        allergy=allergy,
        kind=kind,
        reason=reason,
    )


def is_known(generic: str, knowledge: InteractionKnowledge) -> bool:
    """Whether some table or the allergy-class map knows a generic name: it is checked."""
    return knowledge.knows(generic) or allergy_class_of(generic) is not None


def _resolve(key: str, knowledge: InteractionKnowledge) -> list[tuple[str, str]]:
    """(listed name, key) of one normalised name; hyphenated combinations split when that helps."""
    generic = knowledge.canonical(key) or key
    if is_known(generic, knowledge) or "-" not in key:
        return [(generic, key)]
    # "piperacillin-tazobactam": read the hyphen as joining two drugs only when one of the parts
    # is itself a known drug, so hyphenated single names stay whole.
    parts = [(knowledge.canonical(part) or part, part) for part in key.split("-") if part]
    return parts if any(is_known(g, knowledge) for g, _ in parts) else [(generic, key)]


def _consulted(knowledge: InteractionKnowledge) -> tuple[ConsultedTable, ...]:
    return tuple(
        ConsultedTable(
            name=table.name,
            source=table.source,
            license=table.license,
            rows_loaded=table.rows_loaded,
            rows_skipped=table.rows_skipped,
        )
        for table in knowledge.tables
    )


def check_interactions(
    medications: Sequence[str],
    allergies: Sequence[str] = (),
    *,
    table: Tables,
) -> InteractionReport:
    """Flag listed pairs among `medications` and conflicts with `allergies`; deterministic.

    `table` is one table or the `InteractionKnowledge` of several (see `InteractionKnowledge.load`).
    """
    knowledge = InteractionKnowledge.of(table)
    meds: list[_Medication] = []
    seen: set[str] = set()
    unrecognised: list[str] = []
    duplicates: list[str] = []
    for origin, given in enumerate(medications):
        as_given = " ".join(given.split())
        if not as_given:
            continue
        parts = [found for key in generic_parts(as_given) for found in _resolve(key, knowledge)]
        if not parts:
            unrecognised.append(as_given)  # nothing in it reads as a drug name: not checked
            continue
        for generic, key in parts:
            if generic in seen:
                duplicates.append(as_given)
                continue
            if not is_known(generic, knowledge):
                # Unknown to every table, yet still compared with the allergies below.
                unrecognised.append(as_given if len(parts) == 1 else generic)
            seen.add(generic)
            meds.append(_Medication(generic, key, as_given, origin))

    # Each table's own name for each medication (tables spell some drugs differently).
    listed = [
        [table.canonical(med.generic) or table.canonical(med.key) for med in meds]
        for table in knowledge.tables
    ]
    flags: list[tuple[int, InteractionFlag]] = []
    for i, first in enumerate(meds):
        for j in range(i + 1, len(meds)):
            second = meds[j]
            if first.origin == second.origin:
                continue  # parts of one combination product are meant to be given together
            a, b = sorted((first, second), key=lambda med: med.generic)
            for order, (table_names, each) in enumerate(zip(listed, knowledge.tables, strict=True)):
                name_i, name_j = table_names[i], table_names[j]
                entry = each.entry(name_i, name_j) if name_i and name_j else None
                if entry is None:
                    continue
                flag = InteractionFlag(
                    drug_a=a.generic,
                    drug_b=b.generic,
                    as_given_a=a.as_given,
                    as_given_b=b.as_given,
                    severity=entry.severity,
                    mechanism=entry.mechanism,
                    management=entry.management,
                    source=entry.source,
                    license=entry.license,
                    list_name=entry.list_name,
                )
                flags.append((order, flag))
    flags.sort(key=lambda f: (SEVERITY_RANK[f[1].severity], f[1].drug_a, f[1].drug_b, f[0]))

    conflicts: list[AllergyFlag] = []
    unrecognised_allergies: list[str] = []
    non_drug: list[str] = []
    for given_allergy in dict.fromkeys(" ".join(a.split()) for a in allergies):
        if not given_allergy or is_no_known_allergy(given_allergy):
            continue  # "NKDA" records that there is no allergy
        allergens = [g for key in allergens_of(given_allergy) for g, _ in _resolve(key, knowledge)]
        found = [f for med in meds if (f := _allergy_flag(med, given_allergy, allergens))]
        conflicts.extend(found)
        # Names outside the class map are still compared by name, so a match counts as checked.
        if not found and not any(
            names_allergy_class(a) or is_known(a, knowledge) for a in allergens
        ):
            unrecognised_allergies.append(given_allergy)
            if is_non_drug_allergy(given_allergy):
                non_drug.append(given_allergy)

    recognised = [med.generic for med in meds if is_known(med.generic, knowledge)]
    return InteractionReport(
        interactions=tuple(flag for _, flag in flags),
        allergy_conflicts=tuple(conflicts),
        checked=tuple(recognised),
        unrecognised=tuple(dict.fromkeys(unrecognised)),
        unrecognised_allergies=tuple(unrecognised_allergies),
        non_drug_allergies=tuple(non_drug),
        duplicates=tuple(dict.fromkeys(duplicates)),
        source=knowledge.source,
        license=knowledge.license,
        sources=_consulted(knowledge),
        scope=knowledge.scope,
    )
