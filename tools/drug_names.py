"""Drug and allergy names as medication lists and EHR records write them, read as generic names.

What: `normalise_name` turns one written drug name ("Zocor 20 mg PO nightly", "24 HR metoprolol
succinate 100 MG Extended Release Oral Tablet [Toprol]") into a generic-name key; `generic_parts`
splits combination products into their parts; `generic_for_code` reads the few RxNorm and SNOMED
CT codes whose displayed names do not say the generic; `allergy_subject` and the two allergy
predicates read recorded allergies ("Allergy to penicillin", "NKDA", "Latex allergy").

Deliberately small and exact: dose, route, form, direction and salt words are removed and a short
table of brands and usual names is applied; nothing is fuzzy-matched, so a name that is not
recognised stays as written and the interaction check reports it as not checked.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping

__all__ = [
    "RXNORM_SYSTEM",
    "SNOMED_SYSTEM",
    "allergy_subject",
    "generic_for_code",
    "generic_parts",
    "is_dose_or_form_word",
    "is_no_known_allergy",
    "is_non_drug_allergy",
    "normalise_name",
]

RXNORM_SYSTEM = "http://www.nlm.nih.gov/research/umls/rxnorm"
SNOMED_SYSTEM = "http://snomed.info/sct"

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
        # RxNorm quantities, dose forms and packs
        "hr", "hrs", "actuat", "day", "days", "pack", "system", "intrauterine", "implant", "drug",
        "metered", "dose", "doses", "mucosal", "inhalation", "dry", "prefilled", "syringe",
        "vial", "pen", "kit", "hfa", "diskus", "respimat", "nebulizer", "nebuliser",
        "disintegrating", "lotion", "foam", "shampoo", "enema", "granules", "packet", "sachet",
        "pellet", "insert", "ring", "orally",
        # directions
        "food", "meals", "meal", "needed", "mouth", "bedtime", "morning", "evening", "night",
        "breakfast", "lunch", "dinner", "supper", "empty", "stomach", "water", "glass", "hour",
        "hours", "week", "weeks", "month", "months", "times", "puff", "puffs", "directed",
    }
)  # fmt: skip
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
# Salt, hydrate and ester words that name the same active drug for interaction purposes. Only
# trailing ones are removed, all of them ("ondansetron hydrochloride dihydrate"), and only while a
# word that is not one of them remains: a name made only of such words is itself the drug
# ("calcium acetate", "potassium chloride", "ferrous sulfate").
_SALT_WORDS = frozenset(
    {
        "sodium", "disodium", "potassium", "calcium", "magnesium", "lithium", "ferrous",
        "ferric", "zinc", "aluminium", "aluminum", "ammonium", "hydrochloride",
        "dihydrochloride", "hcl", "hydrobromide", "hbr", "maleate", "mesylate", "mesilate",
        "dimesylate", "besylate", "besilate", "tosylate", "succinate", "hemisuccinate",
        "ethylsuccinate", "tartrate", "bitartrate", "hemitartrate", "citrate", "sulfate",
        "sulphate", "bisulfate", "phosphate", "diphosphate", "acetate", "bromide", "chloride",
        "iodide", "fumarate", "hemifumarate", "lactate", "lactobionate", "gluconate", "malate",
        "napsylate", "nitrate", "carbonate", "oxalate", "propionate", "dipropionate", "valerate",
        "butyrate", "furoate", "xinafoate", "acetonide", "hyclate", "pamoate", "embonate",
        "decanoate", "enanthate", "cypionate", "stearate", "estolate", "benzathine", "benzoate",
        "tromethamine", "meglumine", "axetil", "proxetil", "pivoxil", "mofetil", "medoxomil",
        "etexilate", "hydrate", "trihydrate", "monohydrate", "dihydrate", "sesquihydrate",
        "pentahydrate", "hemihydrate", "anhydrous",
    }
)  # fmt: skip
# Common brand names to generic names. Deliberately NOT exhaustive: an unmapped brand is reported
# as not checked rather than guessed. A "/" joins the parts of combination products. A brand
# whose products differ in their ingredients is left out ("Norinyl" alone: 1+35 or 1+50).
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
    # cardiovascular, metabolic
    "toprol": "metoprolol", "lopressor": "metoprolol", "tenormin": "atenolol",
    "coreg": "carvedilol", "norvasc": "amlodipine", "zestril": "lisinopril",
    "prinivil": "lisinopril", "vasotec": "enalapril", "altace": "ramipril", "cozaar": "losartan",
    "diovan": "valsartan", "entresto": "sacubitril/valsartan", "lasix": "furosemide",
    "bumex": "bumetanide", "demadex": "torsemide", "microzide": "hydrochlorothiazide",
    "aldactone": "spironolactone", "lanoxin": "digoxin", "ranexa": "ranolazine",
    "brilinta": "ticagrelor", "effient": "prasugrel", "lovenox": "enoxaparin",
    "zetia": "ezetimibe", "vytorin": "ezetimibe/simvastatin", "tricor": "fenofibrate",
    "lopid": "gemfibrozil", "glucophage": "metformin", "januvia": "sitagliptin",
    "jardiance": "empagliflozin", "farxiga": "dapagliflozin", "ozempic": "semaglutide",
    "wegovy": "semaglutide", "victoza": "liraglutide", "trulicity": "dulaglutide",
    "lantus": "insulin glargine", "humalog": "insulin lispro", "novolog": "insulin aspart",
    "synthroid": "levothyroxine", "levoxyl": "levothyroxine", "fosamax": "alendronate",
    "actonel": "risedronate", "cardura": "doxazosin", "hytrin": "terazosin",
    "flomax": "tamsulosin", "proscar": "finasteride", "catapres": "clonidine",
    # nervous system
    "klonopin": "clonazepam", "xanax": "alprazolam", "ativan": "lorazepam",
    "valium": "diazepam", "ambien": "zolpidem", "neurontin": "gabapentin",
    "lyrica": "pregabalin", "keppra": "levetiracetam", "lamictal": "lamotrigine",
    "depakote": "valproic acid", "dilantin": "phenytoin", "topamax": "topiramate",
    "seroquel": "quetiapine", "abilify": "aripiprazole", "zyprexa": "olanzapine",
    "risperdal": "risperidone", "geodon": "ziprasidone", "clozaril": "clozapine",
    "lithobid": "lithium", "wellbutrin": "bupropion", "desyrel": "trazodone",
    "remeron": "mirtazapine", "elavil": "amitriptyline", "pamelor": "nortriptyline",
    "buspar": "buspirone", "aricept": "donepezil", "namenda": "memantine",
    "razadyne": "galantamine", "exelon": "rivastigmine", "sinemet": "carbidopa/levodopa",
    "requip": "ropinirole", "mirapex": "pramipexole", "concerta": "methylphenidate",
    "vyvanse": "lisdexamfetamine", "flexeril": "cyclobenzaprine", "robaxin": "methocarbamol",
    "percocet": "oxycodone/acetaminophen", "oxycontin": "oxycodone",
    "vicodin": "hydrocodone/acetaminophen", "norco": "hydrocodone/acetaminophen",
    "dilaudid": "hydromorphone", "suboxone": "buprenorphine/naloxone", "narcan": "naloxone",
    "chantix": "varenicline", "mobic": "meloxicam", "ecotrin": "aspirin",
    # respiratory, allergy, gastrointestinal, anti-infective
    "ventolin": "albuterol", "proair": "albuterol", "proventil": "albuterol",
    "flovent": "fluticasone", "advair": "fluticasone/salmeterol",
    "symbicort": "budesonide/formoterol", "spiriva": "tiotropium", "singulair": "montelukast",
    "benadryl": "diphenhydramine", "claritin": "loratadine", "zyrtec": "cetirizine",
    "allegra": "fexofenadine", "pepcid": "famotidine", "reglan": "metoclopramide",
    "phenergan": "promethazine", "levaquin": "levofloxacin", "flagyl": "metronidazole",
    "macrobid": "nitrofurantoin", "vibramycin": "doxycycline", "valtrex": "valacyclovir",
    "zovirax": "acyclovir", "tamiflu": "oseltamivir", "plaquenil": "hydroxychloroquine",
    "bicillin": "penicillin g", "bicillin l-a": "penicillin g", "bicillin c-r": "penicillin g",
    # hormones and contraceptives
    "jolivette": "norethindrone", "micronor": "norethindrone", "camila": "norethindrone",
    "errin": "norethindrone", "ortho tri-cyclen": "ethinyl estradiol/norgestimate",
    "tri-cyclen": "ethinyl estradiol/norgestimate", "yaz": "drospirenone/ethinyl estradiol",
    "yasmin": "drospirenone/ethinyl estradiol", "ortho evra": "ethinyl estradiol/norelgestromin",
    "xulane": "ethinyl estradiol/norelgestromin", "nuvaring": "ethinyl estradiol/etonogestrel",
    "mirena": "levonorgestrel", "kyleena": "levonorgestrel", "skyla": "levonorgestrel",
    "liletta": "levonorgestrel", "plan b": "levonorgestrel", "nexplanon": "etonogestrel",
    "implanon": "etonogestrel", "depo-provera": "medroxyprogesterone",
    "provera": "medroxyprogesterone", "premarin": "conjugated estrogens",
    "estrace": "estradiol", "prometrium": "progesterone", "nolvadex": "tamoxifen",
    "arimidex": "anastrozole", "femara": "letrozole",
    # rewritten before tokens are read: "Norinyl 1+50" and "Norinyl 1+35" (see _REWRITES)
    "norinyl-1-50": "mestranol/norethindrone", "norinyl-1-35": "ethinyl estradiol/norethindrone",
}  # fmt: skip
# Usual (US/INN) names for drugs the ONC list spells the DrugBank 4 way, other usual names, and
# common abbreviations.
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
    "alendronic acid": "alendronate",  # the ONC list's (DrugBank 4) name
    "valproate": "valproic acid",
    "sodium valproate": "valproic acid",
    "divalproex": "valproic acid",
    "salbutamol": "albuterol",
    "frusemide": "furosemide",
    "adrenaline": "epinephrine",
    "noradrenaline": "norepinephrine",
    "lignocaine": "lidocaine",
    "benzylpenicillin": "penicillin g",
    "benzathine penicillin": "penicillin g",
    "benzathine penicillin g": "penicillin g",
    "penicillin g procaine": "penicillin g",
    "procaine penicillin": "penicillin g",
    "procaine penicillin g": "penicillin g",
    "phenoxymethylpenicillin": "penicillin v",
    # RxNorm's ingredient name for cyanocobalamin ("Vitamin B 12 5 MG/ML Injectable Solution")
    "vitamin-b12": "cyanocobalamin",
    "vitamin b12": "cyanocobalamin",
    # Synthea's own misspelling in its records ("Simvistatin 10 MG", RxNorm 316672); exact only
    "simvistatin": "simvastatin",
}
_ALIASES: Mapping[str, str] = {**_BRANDS, **_SYNONYMS}
# Rewritten before the text is split into parts or tokens: "1+50" would read as two parts and
# "B 12" would be cut at the "12".
_REWRITES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"\bnorinyl\s*1\s*\+\s*(35|50)\b", re.IGNORECASE), r"norinyl-1-\1"),
    (re.compile(r"\bvitamin\s+b[\s-]*12\b", re.IGNORECASE), "vitamin-b12"),
)
# Separators between the parts of combination products ("amoxicillin/clavulanate",
# "Amoxicillin 250 MG / Clavulanate 125 MG Oral Tablet").
_COMPONENT_SPLIT = re.compile(r"\s*(?:/|\+|,|;|\band\b|\bwith\b)\s*", re.IGNORECASE)
_PARENTHESISED = re.compile(r"[(\[]([^)\]]*)[)\]]")
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
    candidates = [_PARENTHESISED.sub(" ", name)]
    # "Coumadin (warfarin)", "Clonazepam [Klonopin]": the bracketed text is only a fallback for
    # a main text that names nothing.
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


# --- coded names ------------------------------------------------------------------------------

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
# Codes whose displayed name does not say the generic, or says it misspelt. Small on purpose, and
# only codes whose meaning is certain: each RxNorm code below is one the 15 Synthea records in
# ../shared/data/fhir-synthea-sample carry with the display quoted (the generic is the product's
# published composition), except 314231, RxNorm's "simvastatin 10 MG Oral Tablet", which older
# Synthea modules display as "Simvistatin 10 MG". The SNOMED CT codes are the concepts named.
_CODED_NAMES: Mapping[tuple[str, str], str] = {
    # "Jolivette 28 Day Pack": norethindrone 0.35 mg, a progestin-only pill
    (RXNORM_SYSTEM, "757594"): "norethindrone",
    # "Norinyl 1+50 28 Day Pack": norethindrone 1 mg with mestranol 0.05 mg
    (RXNORM_SYSTEM, "749882"): "mestranol/norethindrone",
    # "Ortho Tri-Cyclen 28 Day Pack": norgestimate with ethinyl estradiol
    (RXNORM_SYSTEM, "749785"): "ethinyl estradiol/norgestimate",
    # "Mirena 52 MG Intrauterine System": levonorgestrel
    (RXNORM_SYSTEM, "807283"): "levonorgestrel",
    # "Simvistatin 10 MG" (sic) in the Synthea records: simvastatin 10 MG
    (RXNORM_SYSTEM, "316672"): "simvastatin",
    # "simvastatin 10 MG Oral Tablet", displayed "Simvistatin 10 MG" by older Synthea modules
    (RXNORM_SYSTEM, "314231"): "simvastatin",
    # 91936005 |Allergy to penicillin (finding)|: the penicillin class
    (SNOMED_SYSTEM, "91936005"): "penicillins",
    # 293586001 |Allergy to aspirin (finding)|
    (SNOMED_SYSTEM, "293586001"): "aspirin",
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
_NON_DRUG_WORDS = frozenset(
    {
        "peanut", "peanuts", "nut", "nuts", "tree", "trees", "shellfish", "fish", "seafood",
        "crustacean", "crustaceans", "egg", "eggs", "milk", "cow's", "cows", "dairy", "product",
        "products", "soy", "soya", "wheat", "gluten", "sesame", "latex", "rubber", "pollen",
        "grass", "weed", "ragweed", "mould", "mold", "moulds", "molds", "dust", "house", "mite",
        "mites", "dander", "animal", "cat", "cats", "dog", "dogs", "bee", "bees", "wasp",
        "wasps", "venom", "insect", "insects", "sting", "stings", "food", "foods", "lactose",
        "strawberry", "strawberries",
    }
)  # fmt: skip
_CONNECTORS = frozenset({"and", "or", "of", "to"})
_WORDS = re.compile(r"[a-z][a-z'-]*")


def _allergy_text(allergy: str) -> str:
    # Text in brackets in an allergy entry is the reaction or a SNOMED tag ("(finding)").
    text = unicodedata.normalize("NFKC", allergy).lower()
    return " ".join(_PARENTHESISED.sub(" ", text).split()).strip(" .;:")


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
