"""`check_interactions`: flag drug-drug pairs from the ONC high-priority list and allergy conflicts.

What: a deterministic check (no model involved) of a medication list against a published list of
drug-drug interaction (DDI) pairs, plus a check of the medications against recorded allergies
using a small explicit map of drug classes. Names are normalised to generic names (dose, route,
form and salt words removed, a few well-known brand names mapped) and then matched exactly: a
name that is not recognised is reported back as "not checked", never guessed.

Data: the ONC "high-priority" DDI list (Phansalkar et al., JAMIA 2012;19:735) as expanded to
DrugBank-mapped drug pairs by Ayvaz et al. (J Biomed Inform 2015), from the public repository
dbmi-pitt/public-PDDI-analysis; the folder's SOURCE.txt (fields WHAT, OBTAINED FROM, LICENSE)
travels with every flag. The ONC "non-interruptive" list (Phansalkar et al., JAMIA 2013;20:489)
can optionally add flags labelled "informational".

Limitations: the list holds pairs only, with no severity grading, mechanism or management text;
it dates from 2012-2014 (drugs approved since are missing, some listed drugs are withdrawn); the
class-to-drug mapping dropped drugs that the source's class table names (esomeprazole,
lisdexamfetamine, moclobamide, methylene blue, azathioprine/mercaptopurine with febuxostat), and
much-used interacting drugs such as warfarin, sildenafil, nitrates and linezolid are not in it at
all, so the absence of a flag never means a combination is safe. The source repository carries
no licence (SOURCE.txt flags the redistribution terms as unclear), which is why the data stays
outside this repository.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Annotated, Literal

from langchain_core.tools import BaseTool, StructuredTool, ToolException
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from tools.errors import ToolError

__all__ = [
    "AllergyFlag",
    "CheckInteractionsArgs",
    "InteractionDataError",
    "InteractionFlag",
    "InteractionReport",
    "InteractionTable",
    "check_interactions",
    "interaction_tools",
    "normalise_name",
]

HIGH_PRIORITY_FILE = "ONC_High_Priority_Mapped.csv"
NON_INTERRUPTIVE_FILE = "ONC_Non_Interuptive_Mapped.csv"  # sic: the source's spelling
SOURCE_FILE = "SOURCE.txt"
MAX_MEDICATIONS = 50
MAX_ALLERGIES = 30
MAX_NAME_CHARS = 200

Severity = Literal["high-priority", "informational"]
AllergyKind = Literal["same-drug", "same-class", "cross-reactivity"]

SCOPE_NOTE = (
    "Only pairs on the ONC high-priority interaction list (2012, mapped to drugs in 2014) and a "
    "small allergy-class map were checked; no flag does not mean a combination is safe."
)


class InteractionDataError(ToolError):
    """The interaction list or its provenance file is missing or unreadable."""


# --- name normalisation -----------------------------------------------------------------------

# A strength ("5", "40mg", "0.5%", "5/325", "100units/ml") ends the drug name: what follows is
# dose, route and frequency, never part of the name.
_DOSE_TOKEN = re.compile(
    r"\d+(?:[.,]\d+)?(?:mg|mcg|µg|ug|g|kg|ml|l|iu|units?|meq|mmol|%)?(?:/\S*)?", re.IGNORECASE
)
_UNIT_WORDS = frozenset(
    {"mg", "mcg", "µg", "ug", "g", "ml", "iu", "unit", "units", "meq", "mmol", "%"}
)
# Route, dose form, release and frequency words seen in medication lists ("tab", "PO", "ER").
_NOISE_WORDS = frozenset(
    {
        "tablet", "tablets", "tab", "tabs", "capsule", "capsules", "cap", "caps", "caplet",
        "caplets", "injection", "inj", "injectable", "infusion", "solution", "soln", "suspension",
        "susp", "syrup", "elixir", "liquid", "cream", "ointment", "gel", "patch", "drops",
        "spray", "inhaler", "powder", "lozenge", "suppository", "oral", "po", "iv", "ivpb", "im",
        "sc", "subcut", "subcutaneous", "sq", "sl", "sublingual", "pr", "topical", "transdermal",
        "ophthalmic", "otic", "nasal", "rectal", "vaginal", "intravenous", "intramuscular",
        "chewable", "dispersible", "er", "xr", "sr", "cr", "xl", "dr", "ec", "odt", "ir", "la",
        "extended", "delayed", "immediate", "release", "extended-release", "delayed-release",
        "film-coated", "coated", "daily", "nightly", "bid", "tid", "qid", "qd", "qhs", "qam",
        "qpm", "prn", "hs", "od", "bd", "once", "twice", "weekly", "ds",
    }
)  # fmt: skip
_FREQUENCY_TOKEN = re.compile(r"q\d+h")
# Salt, hydrate and ester words that name the same active drug for interaction purposes. Only
# trailing ones are removed, and only while a non-salt word remains ("calcium acetate" stays).
_SALT_WORDS = frozenset(
    {
        "sodium", "disodium", "potassium", "calcium", "magnesium", "lithium", "hydrochloride",
        "dihydrochloride", "hcl", "hydrobromide", "hbr", "maleate", "mesylate", "mesilate",
        "besylate", "besilate", "tosylate", "succinate", "tartrate", "bitartrate", "citrate",
        "sulfate", "sulphate", "bisulfate", "phosphate", "acetate", "bromide", "chloride",
        "fumarate", "hemifumarate", "lactate", "gluconate", "malate", "napsylate", "nitrate",
        "carbonate", "propionate", "dipropionate", "valerate", "hyclate", "pamoate", "decanoate",
        "enanthate", "cypionate", "stearate", "trihydrate", "monohydrate", "dihydrate",
        "hemihydrate", "anhydrous", "medoxomil", "etexilate",
    }
)  # fmt: skip
# Common brand names to generic names. Deliberately small and NOT exhaustive: an unmapped brand
# is reported as not checked rather than guessed. A "/" joins the parts of combination products.
_BRANDS: Mapping[str, str] = {
    "coumadin": "warfarin", "jantoven": "warfarin", "zocor": "simvastatin",
    "mevacor": "lovastatin", "lipitor": "atorvastatin", "crestor": "rosuvastatin",
    "pravachol": "pravastatin", "biaxin": "clarithromycin", "zithromax": "azithromycin",
    "cipro": "ciprofloxacin", "avelox": "moxifloxacin", "nizoral": "ketoconazole",
    "sporanox": "itraconazole", "diflucan": "fluconazole", "vfend": "voriconazole",
    "plavix": "clopidogrel", "prilosec": "omeprazole", "nexium": "esomeprazole",
    "prevacid": "lansoprazole", "protonix": "pantoprazole", "aciphex": "rabeprazole",
    "zyvox": "linezolid", "prozac": "fluoxetine", "zoloft": "sertraline", "paxil": "paroxetine",
    "celexa": "citalopram", "lexapro": "escitalopram", "luvox": "fluvoxamine",
    "cymbalta": "duloxetine", "effexor": "venlafaxine", "pristiq": "desvenlafaxine",
    "viagra": "sildenafil", "revatio": "sildenafil", "cialis": "tadalafil",
    "nitrostat": "nitroglycerin", "imdur": "isosorbide mononitrate", "tracleer": "bosentan",
    "ultram": "tramadol", "demerol": "meperidine", "dolophine": "methadone",
    "nardil": "phenelzine", "parnate": "tranylcypromine", "marplan": "isocarboxazid",
    "emsam": "selegiline", "eldepryl": "selegiline", "imitrex": "sumatriptan",
    "zomig": "zolmitriptan", "maxalt": "rizatriptan", "zanaflex": "tizanidine",
    "rozerem": "ramelteon", "orap": "pimozide", "haldol": "haloperidol", "reyataz": "atazanavir",
    "norvir": "ritonavir", "kaletra": "lopinavir/ritonavir", "cordarone": "amiodarone",
    "pacerone": "amiodarone", "multaq": "dronedarone", "tikosyn": "dofetilide",
    "betapace": "sotalol", "rythmol": "propafenone", "tambocor": "flecainide",
    "cardizem": "diltiazem", "calan": "verapamil", "isoptin": "verapamil",
    "tegretol": "carbamazepine", "rifadin": "rifampin", "camptosar": "irinotecan",
    "zofran": "ondansetron", "ritalin": "methylphenidate", "focalin": "dexmethylphenidate",
    "adderall": "amphetamine/dextroamphetamine", "strattera": "atomoxetine",
    "sudafed": "pseudoephedrine", "tylenol": "acetaminophen", "advil": "ibuprofen",
    "motrin": "ibuprofen", "aleve": "naproxen", "naprosyn": "naproxen", "voltaren": "diclofenac",
    "toradol": "ketorolac", "celebrex": "celecoxib", "amoxil": "amoxicillin",
    "augmentin": "amoxicillin/clavulanate", "unasyn": "ampicillin/sulbactam",
    "zosyn": "piperacillin/tazobactam", "keflex": "cephalexin", "ancef": "cefazolin",
    "rocephin": "ceftriaxone", "bactrim": "sulfamethoxazole/trimethoprim",
    "septra": "sulfamethoxazole/trimethoprim", "eliquis": "apixaban", "xarelto": "rivaroxaban",
    "pradaxa": "dabigatran",
}  # fmt: skip
# Usual (US/INN) names for drugs the list spells the DrugBank 4 way, and common abbreviations.
_SYNONYMS: Mapping[str, str] = {
    "meperidine": "pethidine",
    "rifampin": "rifampicin",
    "methylergonovine": "methylergometrine",
    "aspirin": "acetylsalicylic acid",
    "asa": "acetylsalicylic acid",
    "paracetamol": "acetaminophen",
    "apap": "acetaminophen",
    "glibenclamide": "glyburide",
    "co-trimoxazole": "sulfamethoxazole/trimethoprim",
    "tmp-smx": "sulfamethoxazole/trimethoprim",
    "smx-tmp": "sulfamethoxazole/trimethoprim",
    "ntg": "nitroglycerin",
    "glyceryl trinitrate": "nitroglycerin",
}
_ALIASES: Mapping[str, str] = {**_BRANDS, **_SYNONYMS}
# Separators between the parts of combination products ("amoxicillin/clavulanate").
_COMPONENT_SPLIT = re.compile(r"\s*(?:/|\+|,|;|\band\b|\bwith\b)\s*")
_PARENTHESISED = re.compile(r"[(\[]([^)\]]*)[)\]]")
_NOT_NAME_CHARS = re.compile(r"[^a-z0-9µ%.'\- ]+")


def _is_noise(token: str) -> bool:
    return token in _NOISE_WORDS or token in _UNIT_WORDS or bool(_FREQUENCY_TOKEN.fullmatch(token))


def _strip_salts(tokens: list[str]) -> list[str]:
    while len(tokens) > 1 and tokens[-1] in _SALT_WORDS and tokens[-2] not in _SALT_WORDS:
        tokens = tokens[:-1]
    return tokens


def normalise_name(name: str) -> str:
    """The generic-name key of one drug name (one component; "" if nothing is left).

    Lower-cases, cuts at the first strength, drops route/form/frequency and trailing salt words
    and maps a few well-known brands and usual names. Combination brands come back joined by
    "/" ("augmentin" -> "amoxicillin/clavulanate"); `_generic_parts` splits them.
    """
    text = unicodedata.normalize("NFKC", name).lower().strip()
    text = _NOT_NAME_CHARS.sub(" ", text)
    tokens: list[str] = []
    for token in text.split():
        token = token.strip(".'-")
        if _DOSE_TOKEN.fullmatch(token):
            break  # everything after the strength is directions, never the name
        if token and not _is_noise(token):
            tokens.append(token)
    joined = " ".join(tokens)
    if joined in _ALIASES:
        return _ALIASES[joined]
    stripped = " ".join(_strip_salts(tokens))
    return _ALIASES.get(stripped, stripped)


def _generic_parts(name: str) -> list[str]:
    """Generic-name keys of every active part of one medication or allergy as written."""
    candidates = [_PARENTHESISED.sub(" ", name)]
    # "Coumadin (warfarin)": the text in brackets is only a fallback for an unusable main text.
    candidates += [m.group(1) for m in _PARENTHESISED.finditer(name)]
    for candidate in candidates:
        parts: list[str] = []
        for piece in _COMPONENT_SPLIT.split(candidate):
            # Brands of combination products expand to "a/b"; their parts are plain generics.
            parts.extend(normalise_name(part) for part in normalise_name(piece).split("/"))
        unique = [part for part in dict.fromkeys(parts) if part]
        if unique:
            return unique
    return []


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
_ALLERGY_CLASS_ALIASES: Mapping[str, str] = {
    "penicillin": "penicillins",
    "penicillins": "penicillins",
    "pcn": "penicillins",
    "beta-lactam": "penicillins",
    "cephalosporin": "cephalosporins",
    "cephalosporins": "cephalosporins",
    "sulfa": "sulfonamide antibiotics",
    "sulfa drugs": "sulfonamide antibiotics",
    "sulfa antibiotics": "sulfonamide antibiotics",
    "sulfonamide": "sulfonamide antibiotics",
    "sulfonamides": "sulfonamide antibiotics",
    "sulphonamides": "sulfonamide antibiotics",
    "sulfonamide antibiotics": "sulfonamide antibiotics",
    "nsaid": "NSAIDs",
    "nsaids": "NSAIDs",
}
_CROSS_REACTIVITY_NOTE = (
    "cross-reactivity between penicillins and cephalosporins is uncommon and highest with "
    "early-generation cephalosporins that share a side chain; review the reaction history "
    "before use"
)
_CROSS_REACTIVE: Mapping[str, str] = {
    "penicillins": "cephalosporins",
    "cephalosporins": "penicillins",
}
_CLASS_OF: Mapping[str, str] = {
    drug: label for label, members in _ALLERGY_CLASSES.items() for drug in members
}
_KIND_RANK: Mapping[AllergyKind, int] = {"same-drug": 0, "same-class": 1, "cross-reactivity": 2}


# --- the interaction table --------------------------------------------------------------------

_LINE_BREAK = re.compile(rb"\r\n|\r|\n")
_DRUGBANK_ID = re.compile(r"DB\d{5}")
_DRUG_NAME = re.compile(r"[A-Za-z][A-Za-z0-9 ,.'()\-]*")
_SOURCE_KEY = re.compile(r"([A-Z][A-Z /_-]*):\s*(.*)")
_SEVERITY_RANK: Mapping[Severity, int] = {"high-priority": 0, "informational": 1}


@dataclass(frozen=True, eq=False)
class InteractionTable:
    """Drug pairs of the ONC list(s), keyed by lower-case DrugBank names, with provenance."""

    folder: Path
    pairs: Mapping[frozenset[str], Severity]
    names: frozenset[str]
    index: Mapping[str, str]
    source: str
    license: str
    rows_loaded: int
    rows_skipped: int

    @classmethod
    def load(cls, folder: Path, *, include_informational: bool = False) -> InteractionTable:
        """The table of `folder` (cached per resolved folder); raises `InteractionDataError`."""
        return _load_cached(folder.expanduser().resolve(), include_informational)

    def canonical(self, key: str) -> str | None:
        """The list's name for a normalised name, or None when the list does not know it."""
        return self.index.get(key)

    def severity(self, drug_a: str, drug_b: str) -> Severity | None:
        return self.pairs.get(frozenset((drug_a, drug_b)))


def _read_bytes(path: Path, folder: Path) -> bytes:
    if not path.is_file():
        raise InteractionDataError(
            f"The drug-interaction data file {path.name} is missing from {folder}."
        )
    try:
        return path.read_bytes()
    except OSError as exc:
        raise InteractionDataError(
            f"The drug-interaction data file {path} could not be read ({exc.strerror or exc})."
        ) from None


def _parse_pairs(raw: bytes) -> tuple[list[tuple[str, str]], int]:
    """Pairs of lower-case names from '$'-separated rows, and how many lines were malformed.

    Rows are `name$DBID$name$DBID$`; the README's longer layout (class, name, id, URIs per drug)
    also parses, because each name is read as the field just before its DrugBank id.
    """
    rows: list[tuple[str, str]] = []
    skipped = 0
    for line in _LINE_BREAK.split(raw):
        try:
            text = line.decode("utf-8").lstrip("\ufeff")
        except UnicodeDecodeError:
            skipped += 1
            continue
        if not text.strip():
            continue
        fields = [field.strip() for field in text.split("$")]
        ids = [i for i, field in enumerate(fields) if _DRUGBANK_ID.fullmatch(field)]
        if len(ids) != 2 or ids[0] == 0 or ids[1] - ids[0] < 2:
            skipped += 1
            continue
        name_a, name_b = fields[ids[0] - 1], fields[ids[1] - 1]
        if not (_DRUG_NAME.fullmatch(name_a) and _DRUG_NAME.fullmatch(name_b)):
            skipped += 1
            continue
        if name_a.lower() == name_b.lower():
            skipped += 1
            continue
        rows.append((name_a.lower(), name_b.lower()))
    return rows, skipped


def _parse_source(text: str) -> dict[str, str]:
    """`KEY: value` fields, continuation lines indented, joined with single spaces."""
    fields: dict[str, list[str]] = {}
    current: str | None = None
    for line in text.splitlines():
        if not line.strip():
            continue
        if line[0] in " \t" and current is not None:
            fields[current].append(line.strip())
            continue
        match = _SOURCE_KEY.fullmatch(line.rstrip())
        current = match.group(1).strip() if match else None  # a stray line ends the field
        if match:
            fields[match.group(1).strip()] = [match.group(2).strip()]
    return {key: " ".join(part for part in parts if part) for key, parts in fields.items()}


def _build_index(names: Sequence[str]) -> dict[str, str]:
    index = {name: name for name in names}
    by_key: dict[str, set[str]] = {}
    for name in names:
        by_key.setdefault(normalise_name(name), set()).add(name)
    for key, owners in by_key.items():
        # A shortened key shared by two listed drugs would be a guess; keep only unique ones.
        if key and key not in index and len(owners) == 1:
            index[key] = next(iter(owners))
    return index


@functools.lru_cache(maxsize=8)
def _load_cached(folder: Path, include_informational: bool) -> InteractionTable:
    if not folder.is_dir():
        raise InteractionDataError(f"The drug-interaction data folder {folder} does not exist.")
    files: list[tuple[str, Severity]] = [(HIGH_PRIORITY_FILE, "high-priority")]
    if include_informational:
        files.append((NON_INTERRUPTIVE_FILE, "informational"))
    pairs: dict[frozenset[str], Severity] = {}
    loaded = skipped = 0
    for file_name, severity in files:
        rows, bad = _parse_pairs(_read_bytes(folder / file_name, folder))
        if not rows:
            raise InteractionDataError(f"No drug pairs could be read from {folder / file_name}.")
        loaded, skipped = loaded + len(rows), skipped + bad
        for name_a, name_b in rows:
            pairs.setdefault(frozenset((name_a, name_b)), severity)  # high-priority wins
    if not (folder / SOURCE_FILE).is_file():
        raise InteractionDataError(
            f"The provenance file {SOURCE_FILE} is missing from {folder}, so the interaction "
            "list cannot be shown with its source and licence."
        )
    source_text = _read_bytes(folder / SOURCE_FILE, folder).decode("utf-8", errors="replace")
    source = _parse_source(source_text)
    missing = [key for key in ("WHAT", "OBTAINED FROM", "LICENSE") if not source.get(key)]
    if missing:
        raise InteractionDataError(
            f"The provenance file {folder / SOURCE_FILE} lacks the field(s) {', '.join(missing)}."
        )
    names = frozenset(name for pair in pairs for name in pair)
    return InteractionTable(
        folder=folder,
        pairs=MappingProxyType(pairs),  # the table is cached and shared: keep it read-only
        names=names,
        index=MappingProxyType(_build_index(sorted(names))),
        source=f"{source['WHAT']} (obtained from: {source['OBTAINED FROM']})",
        license=source["LICENSE"],
        rows_loaded=loaded,
        rows_skipped=skipped,
    )


# --- the check --------------------------------------------------------------------------------


class InteractionFlag(BaseModel):
    """A pair of the given medications that is on the list (drug_a sorts before drug_b)."""

    model_config = ConfigDict(frozen=True)

    drug_a: str
    drug_b: str
    as_given_a: str
    as_given_b: str
    severity: Severity = "high-priority"
    source: str
    license: str


class AllergyFlag(BaseModel):
    """A medication that is, or is in the class of, a recorded allergy."""

    model_config = ConfigDict(frozen=True)

    medication: str
    medication_as_given: str
    allergy: str
    kind: AllergyKind
    reason: str


class InteractionReport(BaseModel):
    model_config = ConfigDict(frozen=True)

    interactions: tuple[InteractionFlag, ...] = ()
    allergy_conflicts: tuple[AllergyFlag, ...] = ()
    checked: tuple[str, ...] = ()
    unrecognised: tuple[str, ...] = Field(
        default=(), description="Medications (or parts of combinations) that were not checked."
    )
    unrecognised_allergies: tuple[str, ...] = ()
    duplicates: tuple[str, ...] = Field(
        default=(), description="Medications given more than once under the same generic name."
    )
    source: str
    license: str
    scope: str = SCOPE_NOTE


@dataclass(frozen=True)
class _Medication:
    generic: str
    as_given: str
    origin: int  # index of the entry it came from: parts of one product are not paired


def _allergy_match(generic: str, allergen: str, allergy: str) -> tuple[AllergyKind, str] | None:
    if generic == allergen:
        return "same-drug", f"{generic} matches the recorded allergy ({allergy})."
    med_class = _CLASS_OF.get(generic)
    alias_class = _ALLERGY_CLASS_ALIASES.get(allergen)
    allergen_class = alias_class or _CLASS_OF.get(allergen)
    if med_class is None or allergen_class is None:
        return None
    if allergen_class == med_class:
        what = (
            f"one of the {med_class}"
            if alias_class
            else f"in the same class ({med_class}) as {allergen}"
        )
        return "same-class", f"{generic} is {what}; recorded allergy: {allergy}."
    if _CROSS_REACTIVE.get(med_class) == allergen_class:
        return "cross-reactivity", (
            f"{generic} is one of the {med_class} and the recorded allergy ({allergy}) is to "
            f"{allergen_class}: {_CROSS_REACTIVITY_NOTE}."
        )
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
    """Class aliases or generic names named by one recorded allergy ("PCN (rash)")."""
    # Text in brackets in an allergy entry is the reaction, not another drug.
    text = " ".join(_PARENTHESISED.sub(" ", allergy).lower().split())
    for suffix in (" allergy", " allergies", " class"):
        text = text.removesuffix(suffix)
    if text in _ALLERGY_CLASS_ALIASES:
        return [text]
    return _generic_parts(text)


def _is_known(generic: str, table: InteractionTable) -> bool:
    return generic in table.names or generic in _CLASS_OF


def _resolve(key: str, table: InteractionTable) -> list[str]:
    """The listed name(s) of one normalised name; hyphenated combinations split when that helps."""
    generic = table.canonical(key) or key
    if _is_known(generic, table) or "-" not in key:
        return [generic]
    # "piperacillin-tazobactam": read the hyphen as joining two drugs only when one of the parts
    # is itself a known drug, so hyphenated single names stay whole.
    parts = [table.canonical(part) or part for part in key.split("-") if part]
    return parts if any(_is_known(part, table) for part in parts) else [generic]


def check_interactions(
    medications: Sequence[str],
    allergies: Sequence[str] = (),
    *,
    table: InteractionTable,
) -> InteractionReport:
    """Flag listed pairs among `medications` and conflicts with `allergies`; deterministic."""
    meds: list[_Medication] = []
    seen: set[str] = set()
    unrecognised: list[str] = []
    duplicates: list[str] = []
    for origin, given in enumerate(medications):
        as_given = " ".join(given.split())
        parts = [generic for key in _generic_parts(as_given) for generic in _resolve(key, table)]
        for generic in parts:
            if generic in seen:
                duplicates.append(as_given)
                continue
            if not _is_known(generic, table):
                # Unknown to the list, yet still compared with the allergies below.
                unrecognised.append(as_given if len(parts) == 1 else generic)
            seen.add(generic)
            meds.append(_Medication(generic, as_given, origin))

    flags: list[InteractionFlag] = []
    for i, first in enumerate(meds):
        for second in meds[i + 1 :]:
            if first.origin == second.origin:
                continue  # parts of one combination product are meant to be given together
            severity = table.severity(first.generic, second.generic)
            if severity is None:
                continue
            a, b = sorted((first, second), key=lambda med: med.generic)
            flags.append(
                InteractionFlag(
                    drug_a=a.generic,
                    drug_b=b.generic,
                    as_given_a=a.as_given,
                    as_given_b=b.as_given,
                    severity=severity,
                    source=table.source,
                    license=table.license,
                )
            )
    flags.sort(key=lambda flag: (_SEVERITY_RANK[flag.severity], flag.drug_a, flag.drug_b))

    conflicts: list[AllergyFlag] = []
    unrecognised_allergies: list[str] = []
    for given_allergy in dict.fromkeys(" ".join(a.split()) for a in allergies):
        if not given_allergy:
            continue
        allergens = [a for key in _allergens(given_allergy) for a in _resolve(key, table)]
        found = [f for med in meds if (f := _allergy_flag(med, given_allergy, allergens))]
        conflicts.extend(found)
        # Names outside the class map are still compared by name, so a match counts as checked.
        if not found and not any(
            a in _ALLERGY_CLASS_ALIASES or _is_known(a, table) for a in allergens
        ):
            unrecognised_allergies.append(given_allergy)

    recognised = [med.generic for med in meds if _is_known(med.generic, table)]
    return InteractionReport(
        interactions=tuple(flags),
        allergy_conflicts=tuple(conflicts),
        checked=tuple(recognised),
        unrecognised=tuple(dict.fromkeys(unrecognised)),
        unrecognised_allergies=tuple(unrecognised_allergies),
        duplicates=tuple(dict.fromkeys(duplicates)),
        source=table.source,
        license=table.license,
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


def interaction_tools(folder: Path, *, include_informational: bool = False) -> list[BaseTool]:
    """The `check_interactions` tool over the ONC list in `folder` (loaded on first use)."""

    def check(medications: list[str], allergies: list[str] | None = None) -> str:
        try:
            table = InteractionTable.load(folder, include_informational=include_informational)
        except ToolError as exc:
            raise ToolException(str(exc)) from None
        return check_interactions(medications, allergies or (), table=table).model_dump_json()

    validation_handler: Callable[[Exception], str] = _invalid_input
    return [
        StructuredTool.from_function(
            check,
            name="check_interactions",
            description=(
                "Check a medication list (and optional allergies) against the ONC high-priority "
                "drug-drug interaction list and a small allergy-class map. Returns JSON with "
                "flagged pairs, allergy conflicts, and names that were NOT checked. Pairs only, "
                "no management advice; no flag does not mean a combination is safe."
            ),
            args_schema=CheckInteractionsArgs,
            handle_tool_error=True,
            handle_validation_error=validation_handler,
        )
    ]


def mentioned_medications(text: str, table: InteractionTable) -> list[str]:
    """Drug names the list or the allergy classes know that occur in free text (a plan option's
    wording), as they were written; single words and two-word names, matched exactly."""
    words = re.findall(r"[A-Za-z][A-Za-z-]+", text)
    found: list[str] = []
    seen: set[str] = set()
    for size in (2, 1):
        for start in range(len(words) - size + 1):
            written = " ".join(words[start : start + size])
            key = normalise_name(written)
            if not key or (size == 2 and " " not in key):
                continue  # a word pair counts only as a two-word name ("clarithromycin mg" no)
            generic = table.canonical(key) or key
            if _is_known(generic, table) and generic not in seen:
                seen.add(generic)
                found.append(written)
    return found
