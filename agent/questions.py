"""What a question asks: its parts, whether a part is about an attached image, and its
standalone form in a conversation.

"Is there a pneumothorax on this chest X-ray, and how should a small spontaneous pneumothorax
be managed?" has two parts: one about the image (answered by the imaging tools, never by
guideline sentences) and one for the guidelines. A follow-up ("And what about in a patient
with lung cancer?") has no topic of its own: it is searched and judged with the topic of the
turn before it. No model is involved, so the same question always splits the same way.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from agent.coverage import topic_terms
from knowledge.analysis import content_terms
from knowledge.vocabulary import CorpusVocabulary

# "X, and how ...", "X; what ...", "X? Which ...": a new clause that asks its own question.
_PART_SPLIT_RE = re.compile(
    r"(?:\?\s+|;\s*|,?\s+(?:and|but|also|then)\s+(?=(?:how|what|which|when|where|why|who|"
    r"should|is|are|does|do|can|could|would|will|must)\b))",
    re.IGNORECASE,
)
_IMAGE_WORDS = (
    r"(?:images?|x-?rays?|radiographs?|films?|scans?|ct|mri|pictures?|photos?|dicom|"
    r"ultrasound|sonogram|mammograms?)\b"
)
# "this chest X-ray", "the attached scan": pointing at an image whether or not one is attached
_POINTED_IMAGE_RE = re.compile(
    r"\b(?:this|these|attached|uploaded|above|shown|my|our)\s+(?:[\w-]+\s+){0,2}?" + _IMAGE_WORDS,
    re.IGNORECASE,
)
# "on the X-ray": about the attached image only when there is one
_THE_IMAGE_RE = re.compile(r"\bthe\s+(?:[\w-]+\s+){0,2}?" + _IMAGE_WORDS, re.IGNORECASE)
_FOLLOW_UP_OPENER_RE = re.compile(
    r"^\s*(?:and|but|also|so|then|what about|how about|what if|and if|in that case|"
    r"same for|is that|is it|are they|does it|do they|can it|can they)\b",
    re.IGNORECASE,
)
_REFERRING_RE = re.compile(r"\b(?:it|its|this|that|these|those|they|them|their|same)\b", re.I)
TOPIC_DOCUMENT_SHARE = 0.2  # a term fewer than this share of documents use names a topic
MAX_PARTS = 4


@dataclass(frozen=True)
class QuestionPart:
    text: str  # as the clinician wrote it
    about_image: bool
    query: str  # what is searched and judged: the part, with the conversation's topic if needed


def split_parts(question: str) -> list[str]:
    """The question's parts, in order (the whole question when it has one part)."""
    pieces = [p.strip(" ,;") for p in _PART_SPLIT_RE.split(question)]
    parts = [p for p in pieces if len(p.split()) >= 2]
    if len(parts) > MAX_PARTS:  # a long run-on question: its first parts, the rest together
        parts = [*parts[: MAX_PARTS - 1], " ".join(parts[MAX_PARTS - 1 :])]
    return [p if p.endswith("?") else f"{p}?" for p in parts] or [question]


def asks_about_image(part: str, *, has_images: bool) -> bool:
    """Whether a part refers to an image: "on this chest X-ray" always does; "on the CT" does
    when an image is attached (otherwise it may be about CT in general)."""
    if _POINTED_IMAGE_RE.search(part):
        return True
    return has_images and bool(_THE_IMAGE_RE.search(part))


def has_topic(text: str, vocabulary: CorpusVocabulary) -> bool:
    """Whether the text names something specific: a word few documents use (or none)."""
    if vocabulary.documents == 0:
        return True
    limit = TOPIC_DOCUMENT_SHARE * vocabulary.documents
    return any(
        vocabulary.document_frequency.get(term, 0) < limit for term in topic_terms(text, vocabulary)
    )


def is_follow_up(part: str, vocabulary: CorpusVocabulary) -> bool:
    """A part that leans on the conversation: it opens as a continuation ("And what about
    ..."), or refers back ("is it safe ...") or names no topic of its own."""
    if _FOLLOW_UP_OPENER_RE.match(part):
        return True
    if not has_topic(part, vocabulary):
        return True
    return bool(_REFERRING_RE.search(part)) and len(content_terms([part])[0]) <= 3


def question_parts(
    question: str,
    *,
    previous_topic: str | None,
    has_images: bool,
    vocabulary: CorpusVocabulary,
    case_problems: Sequence[str] = (),
) -> list[QuestionPart]:
    """The parts of `question` with what each is searched and judged with. A part that names
    no topic of its own is about the case's problems when a case is attached (one part per
    problem: "What are the options?" for "stage IV NSCLC" and for "atrial fibrillation"),
    otherwise about the part or turn before it."""
    parts: list[QuestionPart] = []
    topic = previous_topic
    for text in split_parts(question):
        about_image = asks_about_image(text, has_images=has_images)
        if about_image:
            parts.append(QuestionPart(text, True, text))
        elif case_problems and not has_topic(text, vocabulary):
            parts += [
                QuestionPart(f"{text} ({problem})", False, f"{problem} {text}")
                for problem in case_problems[:MAX_PARTS]
            ]
        elif topic and is_follow_up(text, vocabulary):
            parts.append(QuestionPart(text, False, f"{topic} {text}"))
        else:
            parts.append(QuestionPart(text, False, text))
        if not parts[-1].about_image:
            topic = parts[-1].query
    return parts


def conversation_topic(parts: Sequence[QuestionPart]) -> str | None:
    """What a follow-up to this turn is about: its guideline parts' queries."""
    queries = [p.query for p in parts if not p.about_image]
    return " ".join(queries) if queries else None
