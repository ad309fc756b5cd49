"""The service the UI calls: its plan is wired from the settings, as every caller's is."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from agent.coverage import judge
from agent.graph import Agent
from agent.service import Service
from tests.agent.planning.scripted import ScriptedPlanner, option

CASE = "62-year-old woman with hot flashes. Meds: tamoxifen."


@pytest.mark.parametrize("threshold, kept", [(0.5, True), (1.0, False)])
def test_a_scripted_plan_through_the_service_honours_the_support_threshold(
    agent_factory: Callable[..., Agent],
    threshold: float,
    kept: bool,
) -> None:
    # `clinassist plan` and the app plan through Service.plan; the model is scripted (a
    # GPU-sized model's structured plan), the support check is the real one
    agent = agent_factory(support_threshold=threshold, answer_mode="generated")
    passages = judge(
        "hot flashes",
        agent.kb.search("hot flashes treatment", k=8),
        vocabulary=agent.kb.vocabulary(),
        embedder=agent.kb.embedder,
        model=agent.coverage_model,
    ).addressing_passages()[:4]
    marker = next(i for i, p in enumerate(passages, 1) if "Venlafaxine at a dose" in p.body)
    # one content word of about nine is not in the passages: supported at 0.5, not at 1.0
    written = "Venlafaxine 75 mg per day reduced hot flash scores reliably"
    draft = {
        "problems": [
            {
                "problem": "hot flashes",
                "options": [option(written, marker)],
                "contraindications": [],
                "monitoring": [],
            }
        ],
        "follow_up": [],
        "open_questions": [],
    }
    service = Service(agent.settings, agent.kb, ScriptedPlanner(draft))  # type: ignore[arg-type]
    plan = service.plan(CASE)
    treatments = [o.treatment for p in plan.problems for o in p.options]
    assert (written in treatments) is kept
    assert ("removed_option" in {f.kind for f in plan.flags}) is not kept
