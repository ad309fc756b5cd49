"""`check_interactions`: flag drug-drug pairs that interaction tables list, and allergy conflicts.

What: a deterministic check (no model involved) of a medication list against drug-drug
interaction (DDI) tables, plus a check of the medications against recorded allergies using a
small explicit map of drug classes. Names are normalised to generic names (`names`:
dose, route, form, direction and salt words removed, a few well-known brand names mapped) and
then matched exactly: a name that is not recognised is reported back as "not checked", never
guessed. `recommended_medications` finds the drugs a plan's wording recommends, leaving out
those it names only to avoid or stop them.

Knowledge (`tables`, whose docstring documents the table format): the
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

One module per concept: `names` (drug names as written -> generic-name keys), `codes` (RxNorm
and SNOMED CT codes whose display does not name the drug), `allergies` (allergy wording, classes
and cross-reactivity), `table_files` (reading a table folder's files), `tables` (one table, its
format and loading), `knowledge` (the tables one check consults), `check` (`check_interactions`
and its report), `plan_wording` (drugs a plan's wording mentions or recommends) and `tool` (the
LangChain tool). Vocabulary is data in `data/*.json`, each file saying where it came from. Every
public name is re-exported here.
"""

from __future__ import annotations

from knowledge.provenance import SOURCE_FILE
from tools.interactions.allergies import (
    AllergyKind,
    allergy_subject,
    is_no_known_allergy,
    is_non_drug_allergy,
)
from tools.interactions.check import (
    SCOPE_NOTE,
    AllergyFlag,
    ConsultedTable,
    InteractionFlag,
    InteractionReport,
    check_interactions,
)
from tools.interactions.codes import (
    RXNORM_SYSTEM,
    SNOMED_SYSTEM,
    generic_for_code,
)
from tools.interactions.knowledge import (
    InteractionKnowledge,
    Tables,
)
from tools.interactions.names import (
    generic_parts,
    is_dose_or_form_word,
    normalise_name,
)
from tools.interactions.plan_wording import (
    mentioned_medications,
    recommended_medications,
)
from tools.interactions.table_files import (
    CLASSES_FILE,
    HIGH_PRIORITY_FILE,
    INTERACTIONS_FILE,
    NON_INTERRUPTIVE_FILE,
    InteractionDataError,
)
from tools.interactions.tables import (
    ONC_INFORMATIONAL_NAME,
    ONC_NAME,
    SEVERITY_ORDER,
    SEVERITY_RANK,
    InteractionEntry,
    InteractionTable,
    Severity,
)
from tools.interactions.tool import (
    MAX_ALLERGIES,
    MAX_MEDICATIONS,
    MAX_NAME_CHARS,
    CheckInteractionsArgs,
    interaction_tools,
)

__all__ = [
    "CLASSES_FILE",
    "HIGH_PRIORITY_FILE",
    "INTERACTIONS_FILE",
    "MAX_ALLERGIES",
    "MAX_MEDICATIONS",
    "MAX_NAME_CHARS",
    "NON_INTERRUPTIVE_FILE",
    "ONC_INFORMATIONAL_NAME",
    "ONC_NAME",
    "RXNORM_SYSTEM",
    "SCOPE_NOTE",
    "SEVERITY_ORDER",
    "SEVERITY_RANK",
    "SNOMED_SYSTEM",
    "SOURCE_FILE",
    "AllergyFlag",
    "AllergyKind",
    "CheckInteractionsArgs",
    "ConsultedTable",
    "InteractionDataError",
    "InteractionEntry",
    "InteractionFlag",
    "InteractionKnowledge",
    "InteractionReport",
    "InteractionTable",
    "Severity",
    "Tables",
    "allergy_subject",
    "check_interactions",
    "generic_for_code",
    "generic_parts",
    "interaction_tools",
    "is_dose_or_form_word",
    "is_no_known_allergy",
    "is_non_drug_allergy",
    "mentioned_medications",
    "normalise_name",
    "recommended_medications",
]
