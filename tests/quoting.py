"""Quoted (extractive) answers over a handful of passages, as the agent builds them: the
passages' own vocabulary, sentences scored by the real embedder, `choose_quotes`."""

from __future__ import annotations

from collections.abc import Sequence

from agent.coverage import TopicWeights, score_sentences
from agent.grounding import choose_quotes, quoted_text
from knowledge.embedding import Embedder
from knowledge.types import Passage
from knowledge.vocabulary import CorpusVocabulary


def vocabulary_of(passages: Sequence[Passage]) -> CorpusVocabulary:
    return CorpusVocabulary.build(
        [
            (
                p.text,
                {"corpus": p.corpus, "doc_id": p.doc_id, "title": p.title, "section": p.section},
            )
            for p in passages
        ]
    )


def quoted_answer(question: str, passages: Sequence[Passage], embedder: Embedder) -> str:
    topic = TopicWeights.of(question, vocabulary_of(passages), embedder)
    quotes = choose_quotes(score_sentences(question, passages, topic, embedder))
    return quoted_text(quotes, {p.id: number for number, p in enumerate(passages, start=1)})
