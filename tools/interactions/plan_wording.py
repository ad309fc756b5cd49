"""Drugs named in a plan's free text: `mentioned_medications` finds every one the tables or the
allergy classes know; `recommended_medications` leaves out those the wording names only to avoid
or stop them ("avoid clarithromycin", "X is not recommended", "instead of Y")."""

from __future__ import annotations

import re
from dataclasses import dataclass

from tools.interactions.check import is_known
from tools.interactions.knowledge import InteractionKnowledge, Tables
from tools.interactions.names import is_dose_or_form_word, normalise_name


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
            if is_known(generic, knowledge) and generic not in seen:
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
    if is_known(generic, knowledge):
        return generic
    parts = key.split("/")
    if len(parts) > 1 and any(is_known(knowledge.canonical(p) or p, knowledge) for p in parts):
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
