"""Recorded allergies: what one names, and which medications it rules out.

What: `allergy_subject` and the two predicates read a recorded allergy as EHRs write it
("Allergy to penicillin", "NKDA", "Latex allergy"); `allergens_of` gives the classes or generic
names it is to, and `strongest_allergy_match` says whether a medication is the allergen, in its
class, or cross-reacts with it, and why. The classes, the words that name them and the non-drug
allergy words are data (`data/allergies.json`); the cross-reactivity notes are the sentences a
clinician reads, so they stay here with the rules that choose them.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from typing import Literal

from tools.interactions.data_files import read_data_file, word_set
from tools.interactions.names import PARENTHESISED, generic_parts

AllergyKind = Literal["same-drug", "same-class", "cross-reactivity"]

_VOCABULARY = read_data_file("allergies.json")

# --- allergy wording --------------------------------------------------------------------------

_ALLERGY_PREFIX = re.compile(
    r"(?:(?:history of|h/o|known)\s+)?"
    r"(?:allerg(?:y|ies|ic)(?:\s+reactions?)?|hypersensitivity(?:\s+reactions?)?|intolerance"
    r"|sensitivity|adverse\s+(?:drug\s+)?reactions?)\s*(?:to|:)\s*"
)
_ALLERGY_SUFFIX = re.compile(
    r"\s+(?:allerg(?:y|ies)|hypersensitivity|intolerance|sensitivity|class)$"
)
_NO_KNOWN_ALLERGY = re.compile(
    r"(?:no\s+known\s+(?:drug\s+|medication\s+|medicine\s+)?allerg(?:y|ies)"
    r"|no\s+(?:drug\s+)?allerg(?:y|ies)(?:\s+known)?|nkda|nka|none(?:\s+known)?|nil(?:\s+known)?)"
)
# Foods, pollens, animals, insects, dust, latex: allergies that are not to a drug. An allergy
# whose every word is one of these is reported as a non-drug allergy.
_NON_DRUG_WORDS = word_set(_VOCABULARY["non_drug_words"]["words"])
_CONNECTORS = frozenset({"and", "or", "of", "to"})
_WORDS = re.compile(r"[a-z][a-z'-]*")


def _allergy_text(allergy: str) -> str:
    # Text in brackets in an allergy entry is the reaction or a SNOMED tag ("(finding)").
    text = unicodedata.normalize("NFKC", allergy).lower()
    return " ".join(PARENTHESISED.sub(" ", text).split()).strip(" .;:")


def allergy_subject(allergy: str) -> str:
    """What a recorded allergy is to: "Allergy to penicillin" and "Penicillin allergy (rash)"
    both give "penicillin"."""
    text = _allergy_text(allergy)
    prefix = _ALLERGY_PREFIX.match(text)
    if prefix:
        text = text[prefix.end() :]
    return _ALLERGY_SUFFIX.sub("", text).strip()


def is_no_known_allergy(allergy: str) -> bool:
    """An entry that records the absence of allergies ("NKDA", "No known drug allergy")."""
    return bool(_NO_KNOWN_ALLERGY.fullmatch(_allergy_text(allergy)))


def is_non_drug_allergy(allergy: str) -> bool:
    """An allergy to a food, pollen, animal, insect, dust or latex, not to a drug."""
    words = [w for w in _WORDS.findall(allergy_subject(allergy)) if w not in _CONNECTORS]
    return bool(words) and all(word in _NON_DRUG_WORDS for word in words)


# --- allergy classes --------------------------------------------------------------------------

# Well-established allergy classes only (see the file's "about" for what is left out and why).
_ALLERGY_CLASSES: Mapping[str, frozenset[str]] = {
    label: word_set(members) for label, members in _VOCABULARY["classes"]["members"].items()
}
# A recorded "beta-lactam" allergy names all four beta-lactam classes.
_BETA_LACTAMS: tuple[str, ...] = tuple(_VOCABULARY["beta_lactams"]["classes"])
_ALLERGY_CLASS_ALIASES: Mapping[str, tuple[str, ...]] = {
    **{alias: (label,) for alias, label in _VOCABULARY["class_aliases"]["names"].items()},
    **{alias: _BETA_LACTAMS for alias in _VOCABULARY["beta_lactams"]["aliases"]},
}
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


def allergy_class_of(generic: str) -> str | None:
    """The allergy class a generic name belongs to, or None."""
    return _CLASS_OF.get(generic)


def names_allergy_class(allergen: str) -> bool:
    """Whether an allergen as read from a recorded allergy names a class ("PCN", "sulfa")."""
    return allergen in _ALLERGY_CLASS_ALIASES


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


def strongest_allergy_match(
    generic: str, allergy: str, allergens: Sequence[str]
) -> tuple[AllergyKind, str] | None:
    """The strongest match of a medication with any active part of one recorded allergy:
    its kind and the reason a clinician reads."""
    matches = [m for a in allergens if (m := _allergy_match(generic, a, allergy)) is not None]
    if not matches:
        return None
    return min(matches, key=lambda match: _KIND_RANK[match[0]])


def allergens_of(allergy: str) -> list[str]:
    """Class aliases or generic names named by one recorded allergy ("Allergy to penicillin",
    "PCN (rash)")."""
    text = allergy_subject(allergy)
    if text in _ALLERGY_CLASS_ALIASES:
        return [text]
    return generic_parts(text)
