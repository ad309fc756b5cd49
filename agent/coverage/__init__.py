"""Does the knowledge base address a question (or a plan's problem)? judgement.py decides, from
the signals of model.py over the topic of topic.py."""

from __future__ import annotations

from agent.coverage.judgement import Evidence, Judgement, features_of, judge, score_sentences
from agent.coverage.model import FEATURES, MODEL_FILE, CoverageFeatures, CoverageModel
from agent.coverage.topic import QUESTION_WORDS, TopicWeights, topic_terms

__all__ = [
    "FEATURES",
    "MODEL_FILE",
    "QUESTION_WORDS",
    "CoverageFeatures",
    "CoverageModel",
    "Evidence",
    "Judgement",
    "TopicWeights",
    "features_of",
    "judge",
    "score_sentences",
    "topic_terms",
]
