"""`check_interactions`: flag drug-drug pairs that interaction tables list, and allergy conflicts.

What: a deterministic check (no model involved) of a medication list against drug-drug
interaction (DDI) tables, plus a check of the medications against recorded allergies using a
small explicit map of drug classes. Names are normalised to generic names (`tools.drug_names`:
dose, route, form, direction and salt words removed, a few well-known brand names mapped) and
then matched exactly: a name that is not recognised is reported back as "not checked", never
guessed. `recommended_medications` finds the drugs a plan's wording recommends, leaving out
those it names only to avoid or stop them.

Knowledge (`tools.interaction_knowledge`, whose docstring documents the table format): the
default table is the ONC "high-priority" DDI list (Phansalkar et al., JAMIA 2012;19:735) as
expanded to DrugBank-mapped drug pairs by Ayvaz et al. (J Biomed Inform 2015), from the public
repository dbmi-pitt/public-PDDI-analysis; the ONC "non-interruptive" list (Phansalkar et al.,
JAMIA 2013;20:489) can optionally add flags labelled "informational". Further tables in the
documented CSV format (`interactions.csv`, optional `classes.csv`, `SOURCE.txt`) add their pairs,
for instance a hospital's licensed knowledge base. Every flag carries its table's severity,
source and licence, and mechanism and management text when the table has them; a pair that two
tables list gives one flag per table. The report's scope note names every table consulted.

Limitations of the ONC list: pairs only, with no severity grading, mechanism or management
text; it dates from 2012-2014 (drugs approved since are missing, some listed drugs are
withdrawn); the class-to-drug mapping dropped drugs that the source's class table names
(esomeprazole, lisdexamfetamine, moclobamide, methylene blue, azathioprine/mercaptopurine with
febuxostat), and much-used interacting drugs such as warfarin, sildenafil, nitrates and linezolid
are not in it at all, so the absence of a flag never means a combination is safe. The source
repository carries no licence (SOURCE.txt flags the redistribution terms as unclear), which is
why the data stays outside this repository.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal

from langchain_core.tools import BaseTool, StructuredTool, ToolException
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from tools.drug_names import (
    allergy_subject,
    generic_for_code,
    generic_parts,
    is_dose_or_form_word,
    is_no_known_allergy,
    is_non_drug_allergy,
    normalise_name,
)
from tools.errors import ToolError
from tools.interaction_knowledge import (
    CLASSES_FILE,
    HIGH_PRIORITY_FILE,
    INTERACTIONS_FILE,
    NON_INTERRUPTIVE_FILE,
    SEVERITY_RANK,
    SOURCE_FILE,
    InteractionDataError,
    InteractionKnowledge,
    InteractionTable,
    Severity,
)

__all__ = [
    "CLASSES_FILE",
    "HIGH_PRIORITY_FILE",
    "INTERACTIONS_FILE",
    "NON_INTERRUPTIVE_FILE",
    "SOURCE_FILE",
    "AllergyFlag",
    "CheckInteractionsArgs",
    "ConsultedTable",
    "InteractionDataError",
    "InteractionFlag",
    "InteractionKnowledge",
    "InteractionReport",
    "InteractionTable",
    "Severity",
    "check_interactions",
    "generic_for_code",
    "interaction_tools",
    "mentioned_medications",
    "normalise_name",
    "recommended_medications",
]

MAX_MEDICATIONS = 50
MAX_ALLERGIES = 30
MAX_NAME_CHARS = 200

AllergyKind = Literal["same-drug", "same-class", "cross-reactivity"]
Tables = InteractionTable | InteractionKnowledge

# The scope note of a check against the ONC high-priority list alone; `InteractionKnowledge.scope`
# names every table of a wider check.
SCOPE_NOTE = (
    "Only pairs on the ONC high-priority interaction list (2012, mapped to drugs in 2014) and a "
    "small allergy-class map were checked; no flag does not mean a combination is safe."
)


# --- allergy classes --------------------------------------------------------------------------

# Well-established allergy classes only. Opioid "allergies" are mostly non-immune reactions and
# non-antibiotic sulfonamides (furosemide, thiazides, celecoxib) do not share the arylamine
# group behind sulfa-antibiotic allergy, so neither is flagged by class.
_ALLERGY_CLASSES: Mapping[str, frozenset[str]] = {
    "penicillins": frozenset(
        {
            "penicillin", "penicillin g", "penicillin v", "benzylpenicillin",
            "phenoxymethylpenicillin", "benzathine penicillin", "amoxicillin", "ampicillin",
            "piperacillin", "ticarcillin", "dicloxacillin", "cloxacillin", "flucloxacillin",
            "nafcillin", "oxacillin", "carbenicillin", "mezlocillin", "temocillin",
        }
    ),
    "cephalosporins": frozenset(
        {
            "cefazolin", "cephalexin", "cefalexin", "cefadroxil", "cephradine", "cefuroxime",
            "cefaclor", "cefprozil", "cefoxitin", "cefotetan", "ceftriaxone", "cefotaxime",
            "ceftazidime", "cefdinir", "cefpodoxime", "cefixime", "cefditoren", "cefepime",
            "ceftaroline", "ceftolozane", "cefiderocol",
        }
    ),
    "carbapenems": frozenset({"imipenem", "meropenem", "ertapenem", "doripenem"}),
    "monobactams": frozenset({"aztreonam"}),
    "sulfonamide antibiotics": frozenset(
        {
            "sulfamethoxazole", "sulfadiazine", "silver sulfadiazine", "sulfisoxazole",
            "sulfacetamide", "sulfadoxine", "sulfamethizole",
        }
    ),
    # Non-selective COX inhibitors: aspirin/NSAID hypersensitivity is a COX-1 effect shared by
    # the class; COX-2 selective drugs (celecoxib) are usually tolerated, so they are left out.
    "NSAIDs": frozenset(
        {
            "acetylsalicylic acid", "ibuprofen", "naproxen", "diclofenac", "ketorolac",
            "indomethacin", "meloxicam", "piroxicam", "ketoprofen", "flurbiprofen", "fenoprofen",
            "etodolac", "nabumetone", "sulindac", "oxaprozin", "tolmetin", "mefenamic acid",
            "meclofenamic acid", "diflunisal", "lornoxicam", "salsalate", "dexketoprofen",
        }
    ),
}  # fmt: skip
# A recorded "beta-lactam" allergy names all four beta-lactam classes.
_BETA_LACTAMS = ("penicillins", "cephalosporins", "carbapenems", "monobactams")
_ALLERGY_CLASS_ALIASES: Mapping[str, tuple[str, ...]] = {
    "penicillin": ("penicillins",),
    "penicillins": ("penicillins",),
    "pcn": ("penicillins",),
    "cephalosporin": ("cephalosporins",),
    "cephalosporins": ("cephalosporins",),
    "carbapenem": ("carbapenems",),
    "carbapenems": ("carbapenems",),
    "monobactam": ("monobactams",),
    "monobactams": ("monobactams",),
    **{
        alias: _BETA_LACTAMS
        for alias in (
            "beta-lactam", "beta-lactams", "beta lactam", "beta lactams", "β-lactam",
            "β-lactams", "b-lactam", "b-lactams", "betalactam", "betalactams",
            "beta-lactam antibiotics", "beta-lactam antibiotic", "beta lactam antibiotics",
            "beta lactam antibiotic",
        )
    },
    "sulfa": ("sulfonamide antibiotics",),
    "sulfa drugs": ("sulfonamide antibiotics",),
    "sulfa antibiotics": ("sulfonamide antibiotics",),
    "sulfonamide": ("sulfonamide antibiotics",),
    "sulfonamides": ("sulfonamide antibiotics",),
    "sulphonamide": ("sulfonamide antibiotics",),
    "sulphonamides": ("sulfonamide antibiotics",),
    "sulfonamide antibiotics": ("sulfonamide antibiotics",),
    "nsaid": ("NSAIDs",),
    "nsaids": ("NSAIDs",),
}  # fmt: skip
_CROSS_REACTIVITY_NOTE = (
    "cross-reactivity between penicillins and cephalosporins is uncommon and highest with "
    "early-generation cephalosporins that share a side chain; review the reaction history "
    "before use"
)
_PENICILLIN_CARBAPENEM_NOTE = (
    "cross-reactivity between penicillins and carbapenems is low (under 1% in patients with a "
    "confirmed penicillin allergy); review the reaction history before use"
)
_CEPHALOSPORIN_CARBAPENEM_NOTE = (
    "cross-reactivity between cephalosporins and carbapenems is low (about 1%); review the "
    "reaction history before use"
)
# (class of the medication, class of the allergy) -> why the pair is flagged. Aztreonam
# (monobactam) is absent: it does not cross-react with the other classes, only with ceftazidime.
_CROSS_REACTIVE: Mapping[tuple[str, str], str] = {
    ("cephalosporins", "penicillins"): _CROSS_REACTIVITY_NOTE,
    ("penicillins", "cephalosporins"): _CROSS_REACTIVITY_NOTE,
    ("carbapenems", "penicillins"): _PENICILLIN_CARBAPENEM_NOTE,
    ("penicillins", "carbapenems"): _PENICILLIN_CARBAPENEM_NOTE,
    ("carbapenems", "cephalosporins"): _CEPHALOSPORIN_CARBAPENEM_NOTE,
    ("cephalosporins", "carbapenems"): _CEPHALOSPORIN_CARBAPENEM_NOTE,
}
_DRUG_CROSS_REACTIVE: Mapping[frozenset[str], str] = {
    frozenset(("aztreonam", "ceftazidime")): (
        "aztreonam and ceftazidime share an identical side chain, so an allergy to one can "
        "extend to the other; aztreonam otherwise rarely cross-reacts with beta-lactams"
    ),
}
# Added when a drug matches only the umbrella of a recorded "beta-lactam" allergy.
_UMBRELLA_NOTES: Mapping[str, str] = {
    "carbapenems": "cross-reactivity of carbapenems with penicillins and cephalosporins is low",
    "monobactams": "aztreonam rarely cross-reacts with other beta-lactams except ceftazidime",
}
_CLASS_OF: Mapping[str, str] = {
    drug: label for label, members in _ALLERGY_CLASSES.items() for drug in members
}
_KIND_RANK: Mapping[AllergyKind, int] = {"same-drug": 0, "same-class": 1, "cross-reactivity": 2}


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


def _allergy_match(generic: str, allergen: str, allergy: str) -> tuple[AllergyKind, str] | None:
    if generic == allergen:
        return "same-drug", f"{generic} matches the recorded allergy ({allergy})."
    med_class = _CLASS_OF.get(generic)
    alias_classes = _ALLERGY_CLASS_ALIASES.get(allergen)
    allergen_classes = alias_classes or ((_CLASS_OF[allergen],) if allergen in _CLASS_OF else ())
    if med_class is not None and med_class in allergen_classes:
        if alias_classes and len(alias_classes) > 1:
            what = f"one of the {med_class} (beta-lactams)"
        elif alias_classes:
            what = f"one of the {med_class}"
        else:
            what = f"in the same class ({med_class}) as {allergen}"
        note = _UMBRELLA_NOTES.get(med_class) if alias_classes and len(alias_classes) > 1 else None
        return "same-class", (
            f"{generic} is {what}; recorded allergy: {allergy}" + (f"; {note}." if note else ".")
        )
    for allergen_class in allergen_classes:
        class_note = _CROSS_REACTIVE.get((med_class or "", allergen_class))
        if class_note is not None:
            return "cross-reactivity", (
                f"{generic} is one of the {med_class} and the recorded allergy ({allergy}) is to "
                f"{allergen_class}: {class_note}."
            )
    drug_note = _DRUG_CROSS_REACTIVE.get(frozenset((generic, allergen)))
    if drug_note is not None:
        return "cross-reactivity", f"{generic} and the recorded allergy ({allergy}): {drug_note}."
    return None


def _allergy_flag(med: _Medication, allergy: str, allergens: Sequence[str]) -> AllergyFlag | None:
    """The strongest match of `med` with any active part of one recorded allergy."""
    matches = [m for a in allergens if (m := _allergy_match(med.generic, a, allergy)) is not None]
    if not matches:
        return None
    kind, reason = min(matches, key=lambda match: _KIND_RANK[match[0]])
    return AllergyFlag(
        medication=med.generic,
        medication_as_given=med.as_given,
        allergy=allergy,
        kind=kind,
        reason=reason,
    )


def _allergens(allergy: str) -> list[str]:
    """Class aliases or generic names named by one recorded allergy ("Allergy to penicillin",
    "PCN (rash)")."""
    text = allergy_subject(allergy)
    if text in _ALLERGY_CLASS_ALIASES:
        return [text]
    return generic_parts(text)


def _is_known(generic: str, knowledge: InteractionKnowledge) -> bool:
    return knowledge.knows(generic) or generic in _CLASS_OF


def _resolve(key: str, knowledge: InteractionKnowledge) -> list[tuple[str, str]]:
    """(listed name, key) of one normalised name; hyphenated combinations split when that helps."""
    generic = knowledge.canonical(key) or key
    if _is_known(generic, knowledge) or "-" not in key:
        return [(generic, key)]
    # "piperacillin-tazobactam": read the hyphen as joining two drugs only when one of the parts
    # is itself a known drug, so hyphenated single names stay whole.
    parts = [(knowledge.canonical(part) or part, part) for part in key.split("-") if part]
    return parts if any(_is_known(g, knowledge) for g, _ in parts) else [(generic, key)]


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
            if not _is_known(generic, knowledge):
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
        allergens = [g for key in _allergens(given_allergy) for g, _ in _resolve(key, knowledge)]
        found = [f for med in meds if (f := _allergy_flag(med, given_allergy, allergens))]
        conflicts.extend(found)
        # Names outside the class map are still compared by name, so a match counts as checked.
        if not found and not any(
            a in _ALLERGY_CLASS_ALIASES or _is_known(a, knowledge) for a in allergens
        ):
            unrecognised_allergies.append(given_allergy)
            if is_non_drug_allergy(given_allergy):
                non_drug.append(given_allergy)

    recognised = [med.generic for med in meds if _is_known(med.generic, knowledge)]
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


# --- the LangChain tool -----------------------------------------------------------------------

_Name = Annotated[str, Field(max_length=MAX_NAME_CHARS)]


class CheckInteractionsArgs(BaseModel):
    medications: list[_Name] = Field(
        max_length=MAX_MEDICATIONS,
        description="The patient's medications, generic or brand names, doses allowed.",
    )
    allergies: list[_Name] = Field(
        default_factory=list,
        max_length=MAX_ALLERGIES,
        description="Recorded drug allergies, e.g. penicillin, sulfa, NSAIDs.",
    )


def _invalid_input(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        problems = "; ".join(
            f"{'.'.join(str(part) for part in error['loc'])}: {error['msg']}"
            for error in exc.errors()
        )
    else:
        problems = str(exc)
    return (
        f"check_interactions was not run because its input is invalid ({problems}); it takes at "
        f"most {MAX_MEDICATIONS} medications and {MAX_ALLERGIES} allergies of up to "
        f"{MAX_NAME_CHARS} characters each."
    )


def interaction_tools(
    folder: Path | None,
    *,
    include_informational: bool = False,
    extra_dirs: Sequence[Path] = (),
) -> list[BaseTool]:
    """The `check_interactions` tool over the ONC list in `folder` and the tables in
    `extra_dirs` (all loaded on first use)."""
    extra = tuple(extra_dirs)

    def check(medications: list[str], allergies: list[str] | None = None) -> str:
        try:
            knowledge = InteractionKnowledge.load(
                folder, extra, include_informational=include_informational
            )
        except ToolError as exc:
            raise ToolException(str(exc)) from None
        return check_interactions(medications, allergies or (), table=knowledge).model_dump_json()

    if extra:
        lists = ("the ONC high-priority drug-drug interaction list, " if folder else "") + (
            f"{len(extra)} local interaction table(s)"
        )
        description = (
            f"Check a medication list (and optional allergies) against {lists} and a small "
            "allergy-class map. Returns JSON with flagged pairs (severity, source, any "
            "management text), allergy conflicts, and names that were NOT checked; no flag "
            "does not mean a combination is safe."
        )
    else:
        description = (
            "Check a medication list (and optional allergies) against the ONC high-priority "
            "drug-drug interaction list and a small allergy-class map. Returns JSON with "
            "flagged pairs, allergy conflicts, and names that were NOT checked. Pairs only, no "
            "management advice; no flag does not mean a combination is safe."
        )
    validation_handler: Callable[[Exception], str] = _invalid_input
    return [
        StructuredTool.from_function(
            check,
            name="check_interactions",
            description=description,
            args_schema=CheckInteractionsArgs,
            handle_tool_error=True,
            handle_validation_error=validation_handler,
        )
    ]


# --- drugs named in free text -----------------------------------------------------------------


def mentioned_medications(text: str, table: Tables) -> list[str]:
    """Drug names the tables or the allergy classes know that occur in free text (a plan
    option's wording), as they were written; single words and two-word names, matched exactly.

    Every mention counts, also "avoid clarithromycin": `recommended_medications` leaves those
    out."""
    knowledge = InteractionKnowledge.of(table)
    words = re.findall(r"[A-Za-z][A-Za-z-]+", text)
    found: list[str] = []
    seen: set[str] = set()
    for size in (2, 1):
        for start in range(len(words) - size + 1):
            written = " ".join(words[start : start + size])
            key = normalise_name(written)
            if not key or (size == 2 and " " not in key):
                continue  # a word pair counts only as a two-word name ("clarithromycin mg" no)
            generic = knowledge.canonical(key) or key
            if _is_known(generic, knowledge) and generic not in seen:
                seen.add(generic)
                found.append(written)
    return found


@dataclass(frozen=True)
class _Mention:
    start: int  # token index
    end: int  # one past the last token
    written: str
    generic: str


_TEXT_TOKEN = re.compile(r"[A-Za-z][A-Za-z'-]*|\.(?!\d)|[;:!?,/()]")
_ABBREVIATIONS = re.compile(r"\b(e\.g|i\.e|etc)\.", re.IGNORECASE)
_BOUNDARIES = frozenset({".", ";", ":", "!", "?"})
_TRANSPARENT = frozenset({"(", ")"})
# Words that may join a list of drugs under one negation ("avoid clarithromycin, erythromycin
# and other macrolides such as ...").
_LIST_WORDS = frozenset(
    {
        ",", "/", "and", "or", "nor", "plus", "with", "including", "such", "as", "well", "eg",
        "ie", "especially", "particularly", "like", "either", "neither", "other", "any", "all",
        "the", "a", "an", "both", "also",
    }
)  # fmt: skip
# Words that end a negation's reach: a new clause with another intent.
_PIVOTS = frozenset(
    {
        "but", "however", "instead", "whereas", "although", "though", "because", "since",
        "while", "whilst", "during", "then", "so", "prefer", "preferred", "preferably",
        "consider", "recommended", "switch", "alternatively", "alternative",
    }
)  # fmt: skip
# Verbs that start a recommendation; after "and", "or", "," or "then" they end a negation
# ("avoid NSAIDs and use paracetamol").
_POSITIVE_VERBS = frozenset(
    {
        "use", "using", "give", "giving", "start", "starting", "take", "taking", "prescribe",
        "prescribing", "add", "adding", "continue", "continuing", "try", "trying", "choose",
        "choosing", "offer", "offering", "begin", "initiate", "initiating", "resume", "restart",
        "treat",
    }
)  # fmt: skip
_JOINERS = frozenset({"and", "or", ",", "then", "but"})
# A drug followed by one of these is the subject of its own clause ("..., azithromycin is
# preferred"), not one more item of the list before it.
_OWN_CLAUSE = frozenset(
    {
        "is", "are", "was", "were", "remains", "remain", "may", "can", "should", "could",
        "would", "will", "must", "might",
    }
)  # fmt: skip
_STOP_VERBS = frozenset(
    {
        "stop", "stops", "stopping", "discontinue", "discontinuing", "withhold", "withholding",
        "hold", "holding", "cease", "ceasing", "suspend", "suspending", "interrupt",
        "interrupting",
    }
)  # fmt: skip
_STOPPED = frozenset(
    {"stopped", "discontinued", "withheld", "held", "ceased", "suspended", "interrupted", "avoided"}
)
_CONTRAINDICATED = frozenset({"contraindicated", "contra-indicated"})
_FORWARD_WORDS = _STOP_VERBS | {
    "avoid", "avoids", "avoiding", "avoidance", "unless", "except", "excluding",
}  # fmt: skip
_FORWARD_PHRASES: tuple[tuple[str, ...], ...] = (
    ("instead", "of"),
    ("rather", "than"),
    ("in", "place", "of"),
    ("other", "than"),
    ("apart", "from"),
)
_NEGATORS = frozenset(
    {
        "not", "never", "don't", "dont", "doesn't", "cannot", "can't", "shouldn't", "mustn't",
        "won't",
    }
)  # fmt: skip
_NEGATED_VERBS = frozenset(
    {
        "use", "give", "prescribe", "start", "take", "combine", "add", "co-prescribe",
        "coprescribe", "administer", "offer", "recommend", "continue", "restart", "resume",
        "initiate", "begin", "receive",
    }
)  # fmt: skip
_NOT_PREDICATES = frozenset(
    {"recommended", "advised", "indicated", "appropriate", "suitable", "safe", "preferred"}
)
_BE_NEGATED = _NOT_PREDICATES | {
    "used", "given", "prescribed", "started", "taken", "combined", "co-prescribed",
    "coprescribed", "administered", "co-administered", "coadministered", "offered",
    "continued", "restarted", "resumed", "initiated", "received",
}  # fmt: skip
# Before the first drug it covers, a preposition ends a negation's reach: what follows is the
# circumstance, not the thing avoided ("avoid alcohol with tramadol", "avoid driving until ...").
_RELATIONS = frozenset(
    {
        "with", "while", "whilst", "until", "after", "before", "during", "when", "if", "in",
        "for", "on", "to", "by", "from", "at", "within", "alongside", "without",
    }
)  # fmt: skip
# A dose limit or a stopping named inside a negation means the drug itself goes on ("do not
# exceed 4 g of paracetamol", "avoid abrupt withdrawal of sertraline", "avoid simvastatin doses
# above 20 mg"): the negation is dropped.
_NOT_THE_DRUG = frozenset(
    {
        "more", "than", "exceed", "exceeding", "above", "over", "maximum", "max", "beyond",
        "higher", "greater", "double", "doubling", "dose", "doses", "dosing", "withdrawal",
        "discontinuation", "cessation", "interruption", "abrupt", "abruptly", "sudden",
        "suddenly", "missing", "missed",
    }
)  # fmt: skip
_FORWARD_REACH = 5  # words between a negation and the first drug it covers
_BACKWARD_REACH = 6  # words between the last drug and a negation after it ("... is avoided")


class _PlanReading:
    """Which drug mentions of a text fall inside a negation ("avoid", "do not use", "X is not
    recommended", "instead of", "unless") within their clause."""

    def __init__(self, text: str, knowledge: InteractionKnowledge) -> None:
        text = _ABBREVIATIONS.sub(lambda m: " " + m.group(1).replace(".", "") + " ", text)
        self.tokens = _TEXT_TOKEN.findall(text.replace("’", "'"))
        self.low = [token.lower() for token in self.tokens]
        self.mentions = self._find_mentions(knowledge)
        self.starting = {m.start: m for m in self.mentions}
        self.ending = {m.end - 1: m for m in self.mentions}
        self.excluded: set[int] = set()
        self._read_negations()

    def _is_word(self, i: int) -> bool:
        return 0 <= i < len(self.tokens) and self.tokens[i][0].isalpha()

    def _find_mentions(self, knowledge: InteractionKnowledge) -> list[_Mention]:
        mentions: list[_Mention] = []
        i = 0
        while i < len(self.tokens):
            found = None
            if self._is_word(i):
                for size in (2, 1):
                    if size == 2 and not self._is_word(i + 1):
                        continue
                    written = " ".join(self.tokens[i : i + size])
                    generic = _known_name(normalise_name(written), knowledge, two_words=size == 2)
                    if generic is not None:
                        found = _Mention(i, i + size, written, generic)
                        break
            if found is None:
                i += 1
                continue
            mentions.append(found)
            i = found.end
        return mentions

    def _read_negations(self) -> None:
        low, n = self.low, len(self.low)
        cancelled: set[int] = set()
        for i, token in enumerate(low):
            if i in cancelled:
                continue
            after = low[i + 1] if i + 1 < n else ""
            if token in _NEGATORS:
                if after in _STOP_VERBS or after in _STOPPED or after in _CONTRAINDICATED:
                    cancelled.add(i + 1)  # "do not stop", "is not contraindicated"
                elif after == "be" and i + 2 < n:
                    if low[i + 2] in _STOPPED:
                        cancelled.add(i + 2)  # "should not be stopped"
                    elif low[i + 2] in _BE_NEGATED:  # "X should not be given with Y"
                        self._backward(i - 1)
                        self._forward(i + 3)
                elif after in _NOT_PREDICATES:  # "X is not recommended (with Y)"
                    self._backward(i - 1)
                    self._forward(i + 2)
                elif i + 1 in self.starting:  # "azithromycin, not clarithromycin"
                    self._exclude_forward_run(self.starting[i + 1])
                elif after in _NEGATED_VERBS:  # "do not use X", "never combine X and Y"
                    self._forward(i + 2)
            elif token in _FORWARD_WORDS:
                if token not in _STOP_VERBS and after in _STOP_VERBS:
                    cancelled.add(i + 1)  # "avoid stopping X" keeps X
                else:
                    self._forward(i + 1)
            elif token in _STOPPED or token in _CONTRAINDICATED:
                self._backward(i - 1)  # "X should be avoided", "X is contraindicated"
                if token in _CONTRAINDICATED:
                    self._forward(i + 1)  # "... contraindicated with Y"
            else:
                for phrase in _FORWARD_PHRASES:
                    if tuple(low[i : i + len(phrase)]) == phrase:
                        self._forward(i + len(phrase))
                        break

    def _forward(self, j: int) -> None:
        """Exclude the first drug within reach after a negation, and the list it begins."""
        low, n = self.low, len(self.low)
        filler, previous = 0, ""
        if j < n and low[j] == ":":
            j += 1  # "Not recommended: clarithromycin"
        while j < n:
            if j in self.starting:
                self._exclude_forward_run(self.starting[j])
                return
            token = low[j]
            if token == "," and j + 1 < n and low[j + 1] in {"such", "eg", "ie", "including"}:
                j += 1  # "NSAIDs, such as ibuprofen": the list goes on
                continue
            if token in _BOUNDARIES or token == "," or token in _PIVOTS:
                return
            if token in _RELATIONS or token in _NOT_THE_DRUG:
                return
            if token in _POSITIVE_VERBS and previous in _JOINERS:
                return
            if token not in _TRANSPARENT:
                filler += 1
                if filler > _FORWARD_REACH:
                    return
                previous = token
            j += 1

    def _exclude_forward_run(self, mention: _Mention) -> None:
        low, n = self.low, len(self.low)
        if any(word in _NOT_THE_DRUG for word in low[mention.end : mention.end + 2]):
            return  # "avoid simvastatin doses above 20 mg"
        self.excluded.add(mention.start)
        k = mention.end
        while True:
            joined = False
            while k < n and k not in self.starting and self._between_items(low[k]):
                joined = joined or low[k] in _LIST_WORDS
                k += 1
            if not (joined and k in self.starting):
                return
            following = self.starting[k]
            if following.end < n and low[following.end] in _OWN_CLAUSE:
                return
            self.excluded.add(following.start)
            k = following.end

    def _backward(self, j: int) -> None:
        """Exclude the last drug within reach before a negation, and the list it ends."""
        low = self.low
        filler = 0
        while j >= 0:
            if j in self.ending:
                self._exclude_backward_run(self.ending[j])
                return
            token = low[j]
            if token in _BOUNDARIES or token == "," or token in _PIVOTS:
                return
            if token in _POSITIVE_VERBS or token in _NOT_THE_DRUG:
                return
            if token not in _TRANSPARENT:
                filler += 1
                if filler > _BACKWARD_REACH:
                    return
            j -= 1

    def _exclude_backward_run(self, mention: _Mention) -> None:
        low = self.low
        self.excluded.add(mention.start)
        k = mention.start - 1
        while True:
            joined = False
            while k >= 0 and k not in self.ending and self._between_items(low[k]):
                joined = joined or low[k] in _LIST_WORDS
                k -= 1
            if not (joined and k in self.ending):
                return
            earlier = self.ending[k]
            before = earlier.start - 1
            while before >= 0 and low[before] in _TRANSPARENT | {"the", "a", "an"}:
                before -= 1
            if before >= 0 and (low[before] in _POSITIVE_VERBS or low[before] in _PIVOTS):
                return  # "use azithromycin, clarithromycin is contraindicated"
            self.excluded.add(earlier.start)
            k = earlier.start - 1

    @staticmethod
    def _between_items(token: str) -> bool:
        return token in _LIST_WORDS or token in _TRANSPARENT or is_dose_or_form_word(token)

    def recommended(self) -> list[str]:
        found: list[str] = []
        seen: set[str] = set()
        for mention in self.mentions:
            if mention.start not in self.excluded and mention.generic not in seen:
                seen.add(mention.generic)
                found.append(mention.written)
        return found


def _known_name(key: str, knowledge: InteractionKnowledge, *, two_words: bool) -> str | None:
    """The listed name of a normalised key when some table or allergy class knows it (or knows a
    part of the combination it names); a word pair counts only as a two-word name."""
    if not key or (two_words and " " not in key):
        return None
    generic = knowledge.canonical(key) or key
    if _is_known(generic, knowledge):
        return generic
    parts = key.split("/")
    if len(parts) > 1 and any(_is_known(knowledge.canonical(p) or p, knowledge) for p in parts):
        return key  # a combination brand ("Augmentin"): the check splits it again
    return None


def recommended_medications(text: str, table: Tables) -> list[str]:
    """Drug names a plan's wording recommends, as written, in the order first written: the
    drugs `mentioned_medications` finds, less those named only inside a negation within their
    clause ("avoid clarithromycin", "do not use NSAIDs such as ibuprofen", "clarithromycin is
    not recommended", "instead of X", "unless the patient takes Y", "stop simvastatin").

    A drug named both ways counts as recommended, and a double negation ("do not stop X") keeps
    X: when the wording is unclear a drug is kept, so that its interactions are still checked.
    """
    return _PlanReading(text, InteractionKnowledge.of(table)).recommended()
