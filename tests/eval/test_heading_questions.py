"""Questions generated from a corpus's titles and headings, with their gold document."""

from __future__ import annotations

from evaluation.heading_questions import heading_questions, question_for, split_of, topic_of


def test_titles_give_the_topic_they_name() -> None:
    assert topic_of("Bladder Cancer Treatment (PDQ®) - NCI") == "bladder cancer"
    assert topic_of("Final recommendation statement: colorectal cancer: screening.") == (
        "screening for colorectal cancer"
    )
    assert (
        topic_of(
            "VA/DoD clinical practice guideline for the management of chronic kidney disease in "
            "primary care."
        )
        == "the management of chronic kidney disease in primary care"
    )
    assert (
        topic_of(
            "Screening for glaucoma: U.S. Preventive Services Task Force recommendation statement."
        )
        == "screening for glaucoma"
    )


def test_headings_become_questions_and_administrative_ones_none() -> None:
    assert question_for("Treatment of Stage I Bladder Cancer", "bladder cancer") == (
        "How is stage I bladder cancer treated?"
    )
    assert question_for("Prognostic Factors", "bladder cancer") == (
        "What are the prognostic factors in bladder cancer?"
    )
    assert question_for("Radical cystectomy", "bladder cancer") == (
        "What is known about radical cystectomy in bladder cancer?"
    )
    for heading in (
        "Current Clinical Trials",
        "Latest Updates to This Summary (05/02/2025)",
        "Grade",
        "Level of Certainty",
        "Overview",
    ):
        assert question_for(heading, "bladder cancer") is None


def test_each_document_gives_stable_questions_and_a_fixed_split() -> None:
    chunks = [
        {
            "corpus": "c",
            "doc_id": "d1",
            "title": "Bladder Cancer Treatment (PDQ®) - NCI",
            "url": "https://example.org/bladder",
            "section": section,
        }
        for section in (
            "Current Clinical Trials",
            "Treatment of Stage I Bladder Cancer",
            "General Information > Prognostic Factors",
            "Anatomy",
        )
    ]
    first = heading_questions(chunks, per_document=2)
    assert first == heading_questions(list(reversed(chunks)), per_document=2)
    assert len(first) == 2 and all(q.gold_url == "https://example.org/bladder" for q in first)
    assert all("clinical trials" not in q.question.lower() for q in first)
    assert split_of("c", "d1") == split_of("c", "d1") in ("fit", "dev", "heldout")
