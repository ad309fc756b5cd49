"""plan_treatment (agent/planning/planner.py): extractive plans cite every option; a
scripted planner model's invented content is removed, its supported options kept."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from agent.coverage import judge
from agent.graph import Agent
from tests.agent.planning.scripted import ScriptedPlanner, option


def test_extractive_plan_cites_every_option_and_flags_renal_function(
    agent_factory: Callable[..., Agent],
) -> None:
    from agent.case import CaseError, parse_case
    from agent.planning import plan_treatment

    agent = agent_factory()
    case = parse_case(
        "66-year-old woman, 60 kg, 160 cm, history of breast cancer and hot flashes. "
        "Meds: simvastatin 40 mg, clarithromycin 500 mg. Allergies: penicillin. "
        "Creatinine 1.6 mg/dL."
    )
    plan = plan_treatment(
        case,
        agent.kb,
        None,
        extractive=True,
        interactions_dir=agent.settings.interactions_dir,
    )
    assert plan.mode == "extractive"
    assert [p.problem for p in plan.problems] == ["breast cancer", "hot flashes"]
    options = [o for p in plan.problems for o in p.options]
    assert options and all(o.citations for o in options)
    kinds = {f.kind for f in plan.flags}
    assert "renal_dose" in kinds  # eGFR below 60 from the case's creatinine
    renal = next(f for f in plan.flags if f.kind == "renal_dose")
    assert plan.calculations[0].calculator == "egfr_ckd_epi_2021"
    egfr = plan.calculations[0].result["egfr_ml_min_1_73m2"]
    crcl = plan.calculations[1].result["creatinine_clearance_ml_min"]
    # CKD-EPI 2021, female: 1.6/0.7 = 2.285714; 2.285714^-1.2 = exp(-1.2 * 0.826679) = 0.370829;
    # 0.9938^66 = exp(66 * -0.006219) = 0.663336; 142 * 0.370829 * 0.663336 * 1.012 = 35.349
    # -> 35.3. Cockcroft-Gault: (140 - 66) * 60 / (72 * 1.6) * 0.85 = 32.760 -> 32.8 mL/min.
    assert egfr == pytest.approx(35.3, abs=0.05)
    assert crcl == pytest.approx(32.8, abs=0.05)
    # the measured values, and no drug named as if it needed a renal dose change
    assert f"eGFR {egfr:g}" in renal.message and f"clearance {crcl:g}" in renal.message
    assert renal.drugs == [] and "simvastatin" not in renal.message
    # the shared ONC list is the default table (as in nodes/test_tools.py): the pair is flagged
    assert agent.settings.interactions_dir is not None
    assert any(set(f.drugs) == {"simvastatin", "clarithromycin"} for f in plan.flags)
    markdown = plan.to_markdown()
    assert "## References" in markdown and "guidelines.example.org" in markdown
    for marker in {c.marker for o in options for c in o.citations}:  # numbered as cited
        assert f"\n- [{marker}] " in markdown
    assert plan.flags[0].kind in ("allergy", "interaction", "renal_dose")  # severest first
    with pytest.raises(CaseError, match="no diagnosis or problem"):
        plan_treatment(parse_case("40 yo man"), agent.kb, None, extractive=True)


def scripted_plan(agent: Agent, draft: dict[str, object]) -> Any:
    from agent.case import parse_case
    from agent.planning import plan_treatment

    return plan_treatment(
        parse_case("62-year-old woman with hot flashes. Meds: tamoxifen."),
        agent.kb,
        ScriptedPlanner(draft),  # type: ignore[arg-type]
        extractive=False,
    )


def test_a_scripted_planners_invented_content_is_removed_and_the_options_fall_back_to_quotes(
    agent_factory: Callable[..., Agent],
) -> None:
    """The planner model is scripted: SmolLM2-135M cannot be made to write a full, valid plan
    with invented drugs in chosen places, and the test must know which parts are invented. The
    checks the draft meets (support, citations, fallback) are the real ones."""
    plan = scripted_plan(
        agent_factory(),
        {
            "problems": [
                {
                    "problem": "HotFlushesAndNightSweets",
                    "options": [option("Venflumefilamol 40 mg nightly", 1), option("x", 99)],
                    "contraindications": ["Methotrexbate with DoxycyclinBeta"],
                    "monitoring": [],
                }
            ],
            "follow_up": ["Recheck Venflumefilamol levels in 3 weeks"],
            "open_questions": [],
        },
    )
    [problem] = plan.problems
    assert problem.problem == "hot flashes"  # the case's name, not the model's
    assert problem.options and all(o.citations for o in problem.options)
    assert all("Venflumefilamol" not in o.treatment for o in problem.options)
    assert problem.contraindications == [] and plan.follow_up == []
    kinds = [f.kind for f in plan.flags]
    assert kinds.count("removed_option") == 2 and "extractive_fallback" in kinds
    assert kinds.count("removed_text") == 2
    assert plan.mode == "extractive"  # nothing the model wrote survived
    assert "Venflumefilamol" not in plan.to_markdown()


def test_a_scripted_planners_supported_options_are_kept(
    agent_factory: Callable[..., Agent], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The planner model is scripted (a GPU-sized model's plan: SmolLM2-135M does not write a
    supported option that cites the right passage): the support check that keeps it is real."""
    agent = agent_factory()

    def no_quotes(*args: object, **kwargs: object) -> None:
        raise AssertionError("quoted options drafted though the model's options survive")

    monkeypatch.setattr("agent.planning.evidence.choose_quotes", no_quotes)
    # plan_treatment numbers the passages that address "<problem> treatment" in rank order
    judgement = judge(
        "hot flashes",  # judged on the problem, searched for its treatment
        agent.kb.search("hot flashes treatment", k=8),
        vocabulary=agent.kb.vocabulary(),
        embedder=agent.kb.embedder,
        model=agent.coverage_model,
    )
    passages = judgement.addressing_passages()[:4]
    marker = next(i for i, p in enumerate(passages, 1) if "Venlafaxine at a dose" in p.body)
    plan = scripted_plan(
        agent,
        {
            "problems": [
                {
                    "problem": "hot flashes",
                    "options": [
                        option("Venlafaxine 75 mg per day reduced hot flash scores", marker)
                    ],
                    "contraindications": [],
                    "monitoring": ["hot flash scores"],
                }
            ],
            "follow_up": [],
            "open_questions": [],
        },
    )
    assert plan.mode == "generated"
    [problem] = plan.problems
    assert [o.treatment for o in problem.options] == [
        "Venlafaxine 75 mg per day reduced hot flash scores"
    ]
    assert problem.monitoring == ["hot flash scores"]
    assert not {"removed_option", "extractive_fallback", "removed_text"} & {
        f.kind for f in plan.flags
    }
