"""Fuzzing the case parser: arbitrary JSON, mutated FHIR R4 Bundles and free text.

Properties: `parse_case` returns a `Case` or raises `CaseError` with one sentence (no newline,
ends with a full stop); no other exception type; the identity planted in the Bundle (name, MRN,
address, birth date) never reaches `Case.summary()` or an error message, nor does it when typed
as a field's name.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from hypothesis import example, given
from hypothesis import strategies as st

from agent.case import Case, CaseError, parse_case
from tests.agent.case.test_read import FHIR_CANARIES, fhir_bundle

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(10**20), 10**20)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30)
    | st.sampled_from(
        ["", "Patient", "Bundle", "female", "1951-06-17", "active", "http://loinc.org"]
    )
)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=15,
)
RESOURCE_TYPES = [
    "Patient",
    "Condition",
    "MedicationStatement",
    "MedicationRequest",
    "Medication",
    "AllergyIntolerance",
    "Observation",
    "DiagnosticReport",
    "Practitioner",
    "Bundle",
    "Nonsense",
]


def assert_one_sentence(message: str) -> None:
    assert message and "\n" not in message and message.endswith("."), repr(message)
    for canary in FHIR_CANARIES:
        assert canary not in message, message


def check(text: str) -> Case | None:
    try:
        case = parse_case(text)
    except CaseError as exc:
        assert_one_sentence(str(exc))
        return None
    summary = case.summary()
    for canary in FHIR_CANARIES:
        assert canary not in summary, summary
    return case


# --------------------------------------------------------------------------- mutated Bundles


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path to a value inside nested dicts and lists."""
    found: list[tuple[Any, ...]] = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            found += _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _paths(item, (*prefix, index))
    return found


def _parent(root: Any, path: tuple[Any, ...]) -> Any:
    for step in path[:-1]:
        root = root[step]
    return root


def ehr_bundle() -> dict[str, Any]:
    """The first bundle plus what an EHR export adds: fullUrls, urn:uuid and contained
    references, UCUM quantities, dates, statuses, components, nested Bundles."""
    from tests.agent.case.fhir_records import bundle, condition, creatinine, observation

    medication = {"resourceType": "Medication", "id": "m9", "code": {"text": "Ciprofloxacin"}}
    request = {
        "resourceType": "MedicationRequest",
        "status": "active",
        "intent": "order",
        "medicationReference": {"reference": "urn:uuid:00000000-0000-4000-8000-000000000001"},
        "contained": [medication],
        "subject": {"reference": "Patient/p1"},
    }
    pressure = observation("85354-9", "Blood pressure", 0, "mm[Hg]") | {
        "component": [
            {
                "code": {"coding": [{"system": "http://loinc.org", "code": "8480-6"}]},
                "valueQuantity": {"value": 120, "system": "http://unitsofmeasure.org",
                                  "code": "mm[Hg]"},
            }
        ]
    }  # fmt: skip
    extra = bundle(
        request,
        medication,
        condition("Asthma", "195967001", "resolved"),
        creatinine(2.4, "2025-05-02T10:00:00+02:00"),
        observation("29463-7", "Body weight", 185, "lbs", ucum="[lb_av]", when="2024"),
        pressure,
        full_urls=True,
    )
    base = fhir_bundle()
    base["entry"] += extra["entry"] + [
        {"resource": bundle(condition("Gout", "90560007", "active"))}
    ]
    return base


@st.composite
def mutated_bundles(draw: st.DrawFn) -> dict[str, Any]:
    bundle: dict[str, Any] = draw(st.sampled_from([fhir_bundle, ehr_bundle]))()
    for _ in range(draw(st.integers(1, 4))):
        paths = [p for p in _paths(bundle) if p]
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent = _parent(bundle, path)
        action = draw(st.sampled_from(["replace", "delete", "retype", "duplicate"]))
        if action == "replace":
            parent[path[-1]] = draw(json_values)
        elif action == "delete":
            del parent[path[-1]]
        elif action == "retype" and isinstance(parent[path[-1]], dict):
            parent[path[-1]]["resourceType"] = draw(st.sampled_from(RESOURCE_TYPES))
        elif action == "duplicate" and isinstance(parent, list):
            parent.append(copy.deepcopy(parent[path[-1]]))
    return bundle


@given(bundle=mutated_bundles())
def test_mutated_fhir_bundles(bundle: dict[str, Any]) -> None:
    check(json.dumps(bundle))


def test_the_unmutated_bundle_is_read_without_identity() -> None:
    case = check(json.dumps(fhir_bundle()))
    assert case is not None and case.medications


# --------------------------------------------------------------------------- arbitrary JSON


@given(value=json_values)
@example(value={"resourceType": "Patient\nQUILLFEATHER"})
@example(value={"resourceType": {"nested": ["x"]}})
@example(value={"resourceType": "Bundle", "entry": [{"resource": {"resourceType": "Nonsense"}}]})
@example(value={"resourceType": "Bundle", "entry": [{"resource": {"resourceType": None}}]})
@example(
    value={"resourceType": "Bundle", "entry": [{"resource": {"resourceType": "QUILLFEATHER"}}]}
)
@example(
    value={
        "resourceType": "Bundle",
        "entry": [{"resource": {"resourceType": "Patient", "birthDate": "0001-01-01"}}],
    }
)
@example(
    value={
        "resourceType": "Bundle",
        "entry": [{"resource": {"resourceType": "Patient", "birthDate": "9999-12-31"}}],
    }
)
@example(value={"age_years": float("1e308")})
@example(value={"\n": None})
@example(value={"age_years": 40, "QUILLFEATHER": 1})
@example(value={"MRN-5531907 42 Lark Street": {"x": None}})
@example(value={"weight_kg": "heavy", "labs": [{"name": "k", "value": "x"}]})
def test_arbitrary_json_objects(value: Any) -> None:
    text = json.dumps(value if isinstance(value, dict) else {"value": value})
    check(text)


@given(value=json_values)
def test_arbitrary_json_values(value: Any) -> None:
    check(json.dumps(value))


@given(
    keys=st.dictionaries(
        st.sampled_from(
            [
                "age_years",
                "sex",
                "weight_kg",
                "height_cm",
                "pregnant",
                "diagnoses",
                "medications",
                "allergies",
                "labs",
                "imaging_findings",
                "resourceType",
                "unknown",
                "QUILLFEATHER",
            ]
        ),
        json_values,
        max_size=6,
    )
)
def test_case_forms(keys: dict[str, Any]) -> None:
    check(json.dumps(keys))


@example(text='{"a":' + "[" * 30_000 + "]" * 30_000 + "}")
@example(text='{"a":' * 15_000 + "1" + "}" * 15_000)
@example(text="{" + '"a":[' * 10_000)
@example(text="x" * 100_001)
@example(text="   ")
@example(text="{not json")
@given(text=st.text(max_size=300))
def test_arbitrary_text(text: str) -> None:
    check(text)


_CLINICAL_WORDS = st.sampled_from(
    [
        "62-year-old",
        "woman",
        "man",
        "with",
        "meds:",
        "allergies:",
        "creatinine",
        "1.4",
        "mg/dl",
        "weight",
        "72 kg",
        "999 kg",
        "0 kg",
        "300 cm",
        "age 130",
        "aged 999",
        "pregnant",
        "not pregnant",
        "history of",
        "hba1c 7.1%",
        "inr 2.5",
        ",",
        ".",
        "and",
        "\n",
    ]
)


@given(words=st.lists(_CLINICAL_WORDS | st.text(max_size=10), max_size=40))
@example(words=["aged 999 years old"])
@example(words=["weight 999 kg", "height 5 cm"])
def test_free_text_cases(words: list[str]) -> None:
    check(" ".join(words))
