"""Questions a knowledge base answers, generated from its own titles and section headings.

Each stored document's title gives its topic ("Bladder Cancer Treatment (PDQ®) - NCI" ->
"bladder cancer"; "VA/DoD clinical practice guideline for the management of chronic kidney
disease in primary care." -> "the management of chronic kidney disease in primary care");
its headings give what it says about the topic ("Treatment of Stage I Bladder Cancer" -> "How
is stage I bladder cancer treated?"; "Prognostic Factors" -> "What are the prognostic factors
in bladder cancer?"). The document is the question's gold answer. Administrative headings
(trials lists, update logs, grade definitions) give none.

Used twice: to fit the coverage model (positives, and, searched without their document's
topic, negatives) and, for documents the fit never saw, as in-scope evaluation questions.
Deterministic: the same store gives the same questions.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

# Headings that name no clinical content of their own.
_SKIP_HEADING_RE = re.compile(
    r"^(?:current clinical trials|latest updates.*|changes to this summary.*|about this.*|"
    r"references?|overview|general information|introduction|background|summary|"
    r"recommendation summary|summary of recommendations?.*|clinical considerations|"
    r"patient population.*|grade|high|moderate|low|i statement|level of certainty|"
    r"definitions?|uspstf levels.*|what the uspstf.*|other (?:approaches|considerations).*|"
    r"potential preventable burden|current practice|additional approaches.*|"
    r"useful resources|research needs|discussion|methods|scope|purpose|rationale|"
    r"recommendations? of others|key points?|suggestions for practice.*|"
    r"special considerations for the treatment of children with cancer|"
    r"treatment options under clinical evaluation.*|permission to use.*|"
    r"(?:american joint committee on cancer \(ajcc\) |ajcc )?stage groupings and tnm.*|"
    r"definitions of tnm|.*\bclinical trials?\b.*|recommendations?|"
    r"strength of recommendations?|evidence of (?:benefit|harm)s?|"
    r".*\b(?:evidence|appendix|definitions?|methodology|rating|grades?|certainty)\b.*|"
    r".*[*†‡].*)$",
    re.IGNORECASE,
)
_TITLE_NOISE_RE = re.compile(
    r"\s*(?:\(PDQ®?\)|- NCI|–Health Professional Version|\(PDQ\))\s*", re.IGNORECASE
)
_PDQ_KIND_RE = re.compile(
    r"\s+(?:Treatment|Prevention|Screening)(?:\s+and\s+\w+)?\s*$", re.IGNORECASE
)
_USPSTF_TAIL_RE = re.compile(
    r":\s*(?:U\.S\. Preventive Services Task Force|USPSTF|Community Preventive Services Task "
    r"Force|recommendations? of).*$",
    re.IGNORECASE,
)
_LEADING_RE = re.compile(
    r"^(?:VA/DoD clinical practice guideline for|CDC guideline for|CDC guidance for|"
    r"Final recommendation statement:)\s*",
    re.IGNORECASE,
)
_TREAT_RE = re.compile(
    r"^(?:standard\s+)?treatment(?:\s+options?)?\s+(?:of|for)\s+(.+)$", re.IGNORECASE
)
_MANAGE_RE = re.compile(r"^management of\s+(.+)$", re.IGNORECASE)
_PLURAL_TOPICS_RE = re.compile(
    r"^(?:risk factors|prognostic factors|clinical features|symptoms|signs|harms|benefits|"
    r"complications|side effects|late effects|outcomes|interventions|screening tests)",
    re.IGNORECASE,
)


# Words of a topic that do not say what it is about ("screening for X", "the management of X").
GENERIC_TOPIC_WORDS = frozenset(
    [
        "screening",
        "treatment",
        "management",
        "prevention",
        "primary",
        "care",
        "adult",
        "adults",
        "children",
        "childhood",
        "adolescents",
        "women",
        "older",
        "interventions",
        "recommendations",
        "guideline",
        "clinical",
        "practice",
        "cancer",
        "cancers",
        "tumor",
        "tumors",
        "with",
        "without",
    ]
)


@dataclass(frozen=True)
class HeadingQuestion:
    """A question generated from one heading, with the document that answers it."""

    id: str
    question: str
    corpus: str
    doc_id: str
    title: str
    section: str
    gold_url: str | None

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "question": self.question,
            "gold_url": self.gold_url,
            "corpus": self.corpus,
            "doc_id": self.doc_id,
            "title": self.title,
            "section": self.section,
        }


def _lower(text: str) -> str:
    """Lower case except abbreviations, roman numerals and words with digits ("NSCLC",
    "stage IV", "BRCA1")."""
    words = []
    for word in text.split():
        bare = word.strip("(),.;:")
        letters = [c for c in bare if c.isalpha()]
        capitals = sum(c.isupper() for c in letters)
        keep = (
            (capitals >= 2 and capitals * 2 >= len(letters))
            or re.fullmatch(r"[IVX]+[ABC]?", bare)
            or any(c.isdigit() for c in bare)
        )
        words.append(word if keep else word.lower())
    return " ".join(words)


def topic_of(title: str) -> str:
    """The subject a document's title names, in lower case."""
    text = _TITLE_NOISE_RE.sub(" ", title).strip()
    text = _LEADING_RE.sub("", text)
    text = text.replace(". In: Evidence-based management of sickle cell disease", "")
    text = _USPSTF_TAIL_RE.sub("", text).strip().rstrip(".")
    if ":" in text:  # "depression in adults: screening" -> "screening for depression in adults"
        subject, _, kind = text.rpartition(":")
        kind = kind.strip()
        text = f"{kind} for {subject.strip()}" if kind.lower() == "screening" else subject.strip()
    text = _PDQ_KIND_RE.sub("", text).strip()
    return _lower(" ".join(text.split()))


def question_for(heading: str, topic: str) -> str | None:
    """A clinician's question that the section under `heading` answers, or None when the
    heading names nothing clinical."""
    heading = " ".join(heading.split()).strip(" .:")
    if len(heading) < 4 or _SKIP_HEADING_RE.match(heading) or len(heading) > 120:
        return None
    topic_words = {
        w for w in re.findall(r"[a-z0-9]+", topic.lower()) if len(w) > 3
    } - GENERIC_TOPIC_WORDS
    heading_words = set(re.findall(r"[a-z0-9]+", heading.lower()))
    # the topic is named unless the heading already names most of it
    named = topic_words and len(topic_words & heading_words) * 2 >= len(topic_words)
    where = "" if named or not topic else f" in {topic}"
    if (treated := _TREAT_RE.match(heading)) is not None:
        return f"How is {_lower(treated.group(1))} treated{where}?"
    if (managed := _MANAGE_RE.match(heading)) is not None:
        return f"How is {_lower(managed.group(1))} managed{where}?"
    about = _lower(heading)
    if _PLURAL_TOPICS_RE.match(heading):
        return f"What are the {about}{where}?"
    return f"What is known about {about}{where}?"


def _stable(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def heading_questions(
    chunks: Iterable[dict[str, Any]], *, per_document: int = 2
) -> list[HeadingQuestion]:
    """Up to `per_document` questions per document from the metadata of its stored chunks
    (title, section, url, corpus, doc_id), picked by a hash so the choice is stable."""
    documents: dict[tuple[str, str], dict[str, Any]] = {}
    for meta in chunks:
        key = (str(meta.get("corpus", "")), str(meta.get("doc_id", "")))
        entry = documents.setdefault(
            key, {"title": str(meta.get("title", "")), "url": meta.get("url"), "sections": {}}
        )
        section = str(meta.get("section", ""))
        entry["sections"].setdefault(section, None)
    questions: list[HeadingQuestion] = []
    for (corpus, doc_id), entry in sorted(documents.items()):
        topic = topic_of(entry["title"])
        candidates: dict[str, str] = {}  # question -> section
        for section in entry["sections"]:
            parts = [p for p in section.split(" > ") if p]
            for heading in reversed(parts):  # the most specific heading that asks something
                question = question_for(heading, topic)
                if question is not None:
                    candidates.setdefault(question, section)
                    break
        if not candidates and topic:
            candidates[f"What does the guideline recommend on {topic}?"] = ""
        ranked = sorted(candidates, key=lambda q: _stable(f"{corpus}/{doc_id}/{q}"))
        for question in ranked[:per_document]:
            questions.append(
                HeadingQuestion(
                    id="h-" + _stable(f"{corpus}/{doc_id}/{question}")[:10],
                    question=question,
                    corpus=corpus,
                    doc_id=doc_id,
                    title=entry["title"],
                    section=candidates[question],
                    gold_url=entry["url"],
                )
            )
    return questions


def split_of(corpus: str, doc_id: str) -> str:
    """A document's fixed split: "fit" (half of the documents: the coverage model is fit on
    their questions), "dev" (a quarter: tuned on) or "heldout" (a quarter: never tuned on)."""
    bucket = int(_stable(f"split/{corpus}/{doc_id}")[:8], 16) % 4
    return "fit" if bucket < 2 else ("dev" if bucket == 2 else "heldout")
