"""The Case tab's form, and what the tabs read from the service when the app is built."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agent.case import Sex
from agent.errors import AgentError
from agent.service import (
    USER_ERRORS,
    Service,
)


def exports_dir(agent: Service) -> Path:
    folder = agent.settings.data_dir / "exports"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def corpora_of(agent: Service) -> list[str]:
    try:
        return [c.name for c in agent.stats().corpora]
    except USER_ERRORS:
        return []


def sources_of(agent: Service) -> list[tuple[str, str]]:
    """(corpus/file, file) for the lookup tab's source filter; read once when the app starts."""
    try:
        keys = agent.sources()
    except USER_ERRORS:
        return []
    return sorted((f"{corpus}/{source}", source) for corpus, source in keys)


def split_list(text: str) -> list[str]:
    return [item.strip() for item in (text or "").split(",") if item.strip()]


@dataclass(frozen=True)
class CaseForm:
    """The Case tab's inputs: a FHIR file wins, then pasted text, then the form."""

    text: str = ""
    fhir: str | None = None
    age: float | None = None
    sex: str = "unknown"
    weight: float | None = None
    height: float | None = None
    diagnoses: str = ""
    medications: str = ""
    allergies: str = ""
    creatinine: float | None = None

    def case_text(self) -> str:
        """The case as the agent reads it: a FHIR file, pasted text, or the form as JSON."""
        if self.fhir:
            try:
                return Path(self.fhir).read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError):
                raise AgentError("The FHIR file cannot be read as UTF-8 JSON.") from None
        if self.text and self.text.strip():
            return self.text
        form: dict[str, Any] = {
            "diagnoses": split_list(self.diagnoses),
            "medications": split_list(self.medications),
            "allergies": split_list(self.allergies),
        }
        if self.age is not None:
            form["age_years"] = int(self.age)
        if self.sex in set(Sex) - {Sex.UNKNOWN}:
            form["sex"] = self.sex
        if self.weight:
            form["weight_kg"] = self.weight
        if self.height:
            form["height_cm"] = self.height
        if self.creatinine:
            form["labs"] = [{"name": "creatinine", "value": self.creatinine, "unit": "mg/dL"}]
        return json.dumps(form)
