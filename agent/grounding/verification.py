"""Checking an answer: every sentence cites a passage it was given, is supported by it
(enough of its content terms) and states no number the passage does not."""

from __future__ import annotations

from collections.abc import Sequence

from agent.flags import Flag, FlagKind
from agent.grounding.flags import Citation, SentenceCheck, Verification
from agent.grounding.sentences import (
    is_claim,
    markers_in,
    numbers_in,
    split_sentences,
    strip_markers,
)
from knowledge.analysis import content_terms
from knowledge.types import Passage


def verify(answer: str, passages: Sequence[Passage], *, support_threshold: float) -> Verification:
    """Check every sentence of `answer` against the passages it cites."""
    result = Verification()
    sentences = split_sentences(answer)
    bodies = [passage.body for passage in passages]
    stripped = [strip_markers(sentence) for sentence in sentences]
    terms = content_terms(stripped + bodies)
    sentence_terms, passage_terms = terms[: len(sentences)], terms[len(sentences) :]
    passage_numbers = [numbers_in(body) for body in bodies]
    cited: dict[int, Citation] = {}
    for sentence, words in zip(sentences, sentence_terms, strict=True):
        markers = markers_in(sentence)
        valid = [m for m in markers if 1 <= m <= len(passages)]
        invalid = [m for m in markers if m not in valid]
        for marker in valid:
            cited.setdefault(marker, Citation(marker, passages[marker - 1]))
        if invalid:
            result.flags.append(
                Flag(
                    FlagKind.INVALID_CITATION,
                    f"Cites [{', '.join(map(str, invalid))}], which no passage was given as.",
                    sentence,
                )
            )
        covered: set[str] = set()
        numbers: set[str] = set()
        for marker in valid:
            covered |= passage_terms[marker - 1]
            numbers |= passage_numbers[marker - 1]
        support = len(words & covered) / len(words) if words else 0.0
        missing = tuple(sorted(numbers_in(strip_markers(sentence)) - numbers))
        claim = is_claim(sentence)
        if not markers:
            ok = not claim
            if claim:
                result.flags.append(
                    Flag(FlagKind.UNCITED, "This sentence cites no passage.", sentence)
                )
        else:
            ok = not invalid and support >= support_threshold and not missing
            if valid and support < support_threshold:
                result.flags.append(
                    Flag(
                        FlagKind.UNSUPPORTED,
                        f"The cited passage does not support this sentence "
                        f"(overlap {support:.0%}).",
                        sentence,
                    )
                )
            if valid and missing:
                result.flags.append(
                    Flag(
                        FlagKind.NUMBER_NOT_FOUND,
                        f"{', '.join(missing)} does not appear in the cited passage.",
                        sentence,
                    )
                )
        result.sentences.append(SentenceCheck(sentence, markers, round(support, 3), missing, ok))
    result.citations = [cited[m] for m in sorted(cited)]
    return result


def supported(
    texts: Sequence[str], passages: Sequence[Passage], *, support_threshold: float
) -> list[bool]:
    """Whether each text (no markers needed) is backed by the passages together: enough of its
    content terms occur in them and every number it states appears in one of them."""
    if not texts:
        return []
    bodies = [passage.body for passage in passages]
    terms = content_terms([strip_markers(text) for text in texts] + bodies)
    covered: set[str] = set().union(*terms[len(texts) :])
    numbers: set[str] = set().union(*(numbers_in(body) for body in bodies))
    verdicts = []
    for text, words in zip(texts, terms[: len(texts)], strict=True):
        share = len(words & covered) / len(words) if words else 0.0
        verdicts.append(share >= support_threshold and numbers_in(strip_markers(text)) <= numbers)
    return verdicts
