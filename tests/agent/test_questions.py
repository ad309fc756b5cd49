"""A question's parts, its image parts and its standalone form in a conversation."""

from __future__ import annotations

from agent.questions import asks_about_image, is_follow_up, question_parts, split_parts
from knowledge.vocabulary import CorpusVocabulary

# 10 documents: "treatment", "patients" and "children" in most of them, the rest in one
VOCABULARY = CorpusVocabulary(
    documents=10,
    document_frequency={
        "treatment": 9,
        "treat": 9,
        "patient": 9,
        "children": 6,
        "hot": 1,
        "flash": 1,
        "dose": 5,
        "side": 4,
        "effect": 8,
        "get": 7,
        "should": 9,
        "what": 9,
        "which": 9,
    },
)


def test_a_question_splits_into_the_clauses_that_ask_their_own_question() -> None:
    assert split_parts(
        "Is there a pneumothorax on this chest X-ray, and how should a small spontaneous "
        "pneumothorax be managed?"
    ) == [
        "Is there a pneumothorax on this chest X-ray?",
        "how should a small spontaneous pneumothorax be managed?",
    ]
    assert split_parts("What is the dose? Is it safe in pregnancy?") == [
        "What is the dose?",
        "Is it safe in pregnancy?",
    ]
    # "and" between two nouns is one question
    assert split_parts("How are nausea and vomiting prevented?") == [
        "How are nausea and vomiting prevented?"
    ]
    assert len(split_parts("What? " * 10 + "Why?")) <= 4


def test_a_part_points_at_an_image_or_at_imaging_in_general() -> None:
    assert asks_about_image("Is there a pneumothorax on this chest X-ray?", has_images=False)
    assert asks_about_image("What does the attached CT show?", has_images=False)
    assert asks_about_image("Is the nodule on the CT malignant?", has_images=True)
    assert not asks_about_image("When is the CT scan indicated for screening?", has_images=False)
    assert not asks_about_image("What did the NLST study show?", has_images=True)


def test_a_follow_up_leans_on_the_turn_before() -> None:
    assert is_follow_up("And what about in a patient with lung cancer?", VOCABULARY)
    assert is_follow_up("What about children?", VOCABULARY)  # no topic of its own
    assert not is_follow_up("Which drugs reduce hot flashes?", VOCABULARY)
    parts = question_parts(
        "And what about children?",
        previous_topic="Which drugs reduce hot flashes?",
        has_images=False,
        vocabulary=VOCABULARY,
    )
    assert [p.query for p in parts] == ["Which drugs reduce hot flashes? And what about children?"]
    # without a conversation, a follow-up is searched as it is
    alone = question_parts(
        "And what about children?", previous_topic=None, has_images=False, vocabulary=VOCABULARY
    )
    assert [p.query for p in alone] == ["And what about children?"]


def test_a_later_part_leans_on_the_part_before_it() -> None:
    parts = question_parts(
        "Which drugs reduce hot flashes? What are their side effects?",
        previous_topic=None,
        has_images=False,
        vocabulary=VOCABULARY,
    )
    assert [p.query for p in parts] == [
        "Which drugs reduce hot flashes?",
        "Which drugs reduce hot flashes? What are their side effects?",
    ]


def test_a_question_without_a_topic_is_asked_of_each_problem_of_the_case() -> None:
    parts = question_parts(
        "What treatment should this patient get?",
        previous_topic=None,
        has_images=False,
        vocabulary=VOCABULARY,
        case_problems=["stage IV NSCLC", "atrial fibrillation"],
    )
    assert [(p.text, p.query) for p in parts] == [
        (
            "What treatment should this patient get? (stage IV NSCLC)",
            "stage IV NSCLC What treatment should this patient get?",
        ),
        (
            "What treatment should this patient get? (atrial fibrillation)",
            "atrial fibrillation What treatment should this patient get?",
        ),
    ]
    # a question with its own topic is asked as it is, whatever the case
    own = question_parts(
        "Which drugs reduce hot flashes?",
        previous_topic=None,
        has_images=False,
        vocabulary=VOCABULARY,
        case_problems=["atrial fibrillation"],
    )
    assert [p.query for p in own] == ["Which drugs reduce hot flashes?"]
