"""The coverage model: four signals of a document addressing a question, combined by a
logistic model fit on the corpus's own headings (`clinassist eval fit-coverage`), shipped in
`agent/coverage_model.json`."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

MODEL_FILE = Path(__file__).parent.parent / "coverage_model.json"
FEATURES = ("dense", "recall", "heading_recall", "sentence")


@dataclass(frozen=True)
class CoverageFeatures:
    """What the decision looks at (see the module's docstring)."""

    dense: float
    dense_corpus: str  # the corpus of the passage with the best dense score
    recall: float
    heading_recall: float
    sentence: float

    def values(self, model: CoverageModel) -> dict[str, float]:
        return {
            "dense": model.calibrated_dense(self.dense_corpus, self.dense),
            "recall": self.recall,
            "heading_recall": self.heading_recall,
            "sentence": self.sentence,
        }


@dataclass(frozen=True)
class CoverageModel:
    """Logistic regression over `FEATURES` with its decision threshold, and the calibration
    of the dense score: (cosine - mean) / spread, per corpus where `corpus_dense` has its
    figures (the best cosine of questions each corpus answers), else with `default_dense`
    ((0, 1): the raw cosine)."""

    coefficients: tuple[float, ...]
    intercept: float
    threshold: float
    corpus_dense: dict[str, tuple[float, float]]  # corpus -> (mean, sd)
    default_dense: tuple[float, float]
    trained_on: str = ""

    def probability(self, features: CoverageFeatures) -> float:
        values = features.values(self)
        z = self.intercept + sum(
            c * values[name] for c, name in zip(self.coefficients, FEATURES, strict=True)
        )
        return 1.0 / (1.0 + math.exp(-max(-60.0, min(60.0, z))))

    def calibrated_dense(self, corpus: str, dense: float) -> float:
        mean, sd = self.corpus_dense.get(corpus, self.default_dense)
        return (dense - mean) / max(sd, 1e-6)

    def as_json(self) -> dict[str, Any]:
        return {
            "features": list(FEATURES),
            "coefficients": [round(c, 6) for c in self.coefficients],
            "intercept": round(self.intercept, 6),
            "threshold": round(self.threshold, 4),
            "corpus_dense": {k: [round(x, 6) for x in v] for k, v in self.corpus_dense.items()},
            "default_dense": [round(x, 6) for x in self.default_dense],
            "trained_on": self.trained_on,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CoverageModel:
        if tuple(data["features"]) != FEATURES:
            raise ValueError("the coverage model was fit on other features")
        return cls(
            coefficients=tuple(float(c) for c in data["coefficients"]),
            intercept=float(data["intercept"]),
            threshold=float(data["threshold"]),
            corpus_dense={k: (float(v[0]), float(v[1])) for k, v in data["corpus_dense"].items()},
            default_dense=(float(data["default_dense"][0]), float(data["default_dense"][1])),
            trained_on=str(data.get("trained_on", "")),
        )

    @classmethod
    def load(cls, path: Path | None = None) -> CoverageModel:
        return load_model(path or MODEL_FILE)


@cache
def load_model(path: Path) -> CoverageModel:
    return CoverageModel.from_json(json.loads(path.read_text(encoding="utf-8")))
