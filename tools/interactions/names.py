"""Drug names as medication lists and EHR records write them, read as generic-name keys.

What: `normalise_name` turns one written drug name ("Zocor 20 mg PO nightly", "24 HR metoprolol
succinate 100 MG Extended Release Oral Tablet [Toprol]") into a generic-name key; `generic_parts`
splits combination products into their parts.

Deliberately small and exact: dose, route, form, direction and salt words are removed and a short
table of brands and usual names is applied (`data/drug_names.json`); nothing is fuzzy-matched, so
a name that is not recognised stays as written and the interaction check reports it as not
checked.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping

from tools.interactions.data_files import name_map, read_data_file, word_set

_VOCABULARY = read_data_file("drug_names.json")

# A strength ("5", "40mg", "0.5%", "5/325", "100units/ml") ends the drug name: what follows is
# dose, route and frequency, never part of the name. Before the name it is a quantity: RxNorm
# clinical drug names start with one ("24 HR", "1 ML", "60 ACTUAT").
_DOSE_TOKEN = re.compile(
    r"\d+(?:[.,]\d+)?(?:mg|mcg|µg|ug|g|kg|ml|l|iu|units?|meq|mmol|%)?(?:/\S*)?", re.IGNORECASE
)
# "g" is not here: alone it is the G of "penicillin G"; "1 g" is cut at the "1" anyway.
_UNIT_WORDS = frozenset({"mg", "mcg", "µg", "ug", "ml", "iu", "unit", "units", "meq", "mmol", "%"})
# Route, dose form, release, frequency, packaging and direction words seen in medication lists
# and RxNorm names ("tab", "PO", "ER", "ACTUAT", "Day Pack", "with food").
_NOISE_WORDS = word_set(*_VOCABULARY["noise_words"]["groups"].values())
# Words that start the directions: after the name they end it ("amiodarone take with food"),
# before it they are skipped ("take clarithromycin").
_DIRECTION_STOPS = frozenset(
    {
        "take", "takes", "taking", "apply", "use", "inhale", "inject", "give", "instil",
        "instill", "as", "for", "before", "after", "at", "every", "each", "by", "on", "per",
        "until", "then", "if", "when", "to", "in", "with", "while", "during", "via", "from", "x",
    }
)  # fmt: skip
_LEADING_FILLER = frozenset({"a", "an", "the", "of"})
_FREQUENCY_TOKEN = re.compile(r"q\d+h")
# Salt, hydrate and ester words: trailing ones are removed while a word that is not one of them
# remains (see the file's "about").
_SALT_WORDS = word_set(_VOCABULARY["salt_words"]["words"])
# Brand and usual names to generic names; a "/" joins the parts of combination products.
_ALIASES: Mapping[str, str] = name_map(
    *_VOCABULARY["brands"]["groups"].values(), _VOCABULARY["synonyms"]["names"]
)
# Rewritten before the text is split into parts or tokens: "1+50" would read as two parts and
# "B 12" would be cut at the "12".
_REWRITES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"\bnorinyl\s*1\s*\+\s*(35|50)\b", re.IGNORECASE), r"norinyl-1-\1"),
    (re.compile(r"\bvitamin\s+b[\s-]*12\b", re.IGNORECASE), "vitamin-b12"),
)
# Separators between the parts of combination products ("amoxicillin/clavulanate",
# "Amoxicillin 250 MG / Clavulanate 125 MG Oral Tablet").
_COMPONENT_SPLIT = re.compile(r"\s*(?:/|\+|,|;|\band\b|\bwith\b)\s*", re.IGNORECASE)
# Text in brackets: a brand or generic beside the name, or in an allergy the reaction.
PARENTHESISED = re.compile(r"[(\[]([^)\]]*)[)\]]")
_NOT_NAME_CHARS = re.compile(r"[^a-z0-9µ%.'\- ]+")


def is_dose_or_form_word(token: str) -> bool:
    """A strength, unit, route, form, frequency or direction word ("500", "mg", "tab", "daily")."""
    token = token.lower()
    return (
        token in _NOISE_WORDS
        or token in _UNIT_WORDS
        or bool(_FREQUENCY_TOKEN.fullmatch(token))
        or bool(_DOSE_TOKEN.fullmatch(token))
    )


def _rewrite(text: str) -> str:
    for pattern, replacement in _REWRITES:
        text = pattern.sub(replacement, text)
    return text


def _strip_salts(tokens: list[str]) -> list[str]:
    while (
        len(tokens) > 1
        and tokens[-1] in _SALT_WORDS
        and any(token not in _SALT_WORDS for token in tokens[:-1])
    ):
        tokens = tokens[:-1]
    return tokens


def normalise_name(name: str) -> str:
    """The generic-name key of one drug name (one component; "" if nothing is left).

    Lower-cases, skips a leading quantity ("24 HR") or direction, cuts at the first strength or
    direction after the name, drops route/form/frequency words and trailing salt words, and maps a
    few well-known brands and usual names. Combination brands come back joined by "/"
    ("augmentin" -> "amoxicillin/clavulanate"); `generic_parts` splits them.
    """
    text = _rewrite(unicodedata.normalize("NFKC", name).lower().strip())
    text = _NOT_NAME_CHARS.sub(" ", text)
    tokens: list[str] = []
    for raw in text.split():
        token = raw.strip(".'-")
        if not token:
            continue
        if _DOSE_TOKEN.fullmatch(token) or token in _DIRECTION_STOPS:
            if tokens:
                break  # everything after the strength is dose and directions, never the name
            continue  # a quantity or direction before the name ("1 ML ...", "take ...")
        if not tokens and token in _LEADING_FILLER:
            continue  # "a glass of water": an article before any name ("vitamin a" keeps its A)
        if not is_dose_or_form_word(token):
            tokens.append(token)
    joined = " ".join(tokens)
    if joined in _ALIASES:
        return _ALIASES[joined]
    stripped = " ".join(_strip_salts(tokens))
    return _ALIASES.get(stripped, stripped)


def generic_parts(name: str) -> list[str]:
    """Generic-name keys of every active part of one medication or allergy as written."""
    name = _rewrite(name)
    candidates = [PARENTHESISED.sub(" ", name)]
    # "Coumadin (warfarin)", "Clonazepam [Klonopin]": the bracketed text is only a fallback for
    # a main text that names nothing.
    candidates += [m.group(1) for m in PARENTHESISED.finditer(name)]
    for candidate in candidates:
        parts: list[str] = []
        for piece in _COMPONENT_SPLIT.split(candidate):
            # Brands of combination products expand to "a/b"; their parts are plain generics.
            parts.extend(normalise_name(part) for part in normalise_name(piece).split("/"))
        unique = [part for part in dict.fromkeys(parts) if part]
        if unique:
            return unique
    return []
