"""Linear probes: a frozen image encoder adapted to local labels with logistic regression.

The probe is trained on the `train` split, its regularisation chosen on `valid`, and measured
once on `test` (AUROC with a bootstrap 95% interval, beside the majority-class baseline). It is
saved as plain JSON (numbers and strings, never a pickle) under `data_dir/probes/`, and every
output it gives carries its measured AUROC and the research-use notice.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, ValidationError

from tools.errors import ImageError, ToolError
from tools.imaging.decode import read_image
from tools.imaging.encoders import FloatMatrix, ImageEncoder, encoder_pixels
from tools.imaging.similar import dataset_provenance, file_id, read_labels

if TYPE_CHECKING:
    from tools.imaging.similar import ImageIndex

RESEARCH_NOTICE = "Research use only, not a diagnostic device."
SPLITS = ("train", "valid", "test")
# Strong regularisation wins with few labels and generic features (measured on the CXR set).
C_GRID = (1e-5, 1e-4, 1e-3, 1e-2, 0.1, 1.0)
BOOTSTRAP_ROUNDS = 1000
# Below this top probability an output is flagged: the probe cannot tell the labels apart here.
LOW_CONFIDENCE = 0.6
ENCODE_BATCH = 32  # files decoded and encoded at a time (bounded memory, progress)
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


class AurocEstimate(BaseModel):
    model_config = ConfigDict(frozen=True)

    value: float
    low: float
    high: float
    n: int
    confidence: float = 0.95

    def __str__(self) -> str:
        return f"{self.value:.3f} (95% CI {self.low:.3f}-{self.high:.3f}, n={self.n})"


class ProbeMetrics(BaseModel):
    model_config = ConfigDict(frozen=True)

    test_auroc: AurocEstimate
    majority_auroc: float  # a constant score ranks nothing: 0.5
    majority_accuracy: float
    test_accuracy: float
    valid_auroc: float
    n_train: int
    n_valid: int
    n_test: int
    class_counts: dict[str, int]


class LinearProbe(BaseModel):
    """Standardise, then logistic regression; everything needed to predict, as numbers."""

    model_config = ConfigDict(frozen=True)

    format: int = 1
    name: str
    encoder: str
    classes: tuple[str, ...]
    mean: list[float]
    scale: list[float]
    coef: list[list[float]]  # one row (binary) or one per class
    intercept: list[float]
    c: float
    metrics: ProbeMetrics
    dataset: str
    license: str | None
    created_at: str
    source_url: str | None = None  # absent from probes saved before it was recorded

    def predict_proba(self, vectors: FloatMatrix) -> npt.NDArray[np.float64]:
        x = (np.asarray(vectors, dtype=np.float64) - np.asarray(self.mean)) / np.asarray(self.scale)
        logits = x @ np.asarray(self.coef).T + np.asarray(self.intercept)
        if len(self.classes) == 2:
            positive = 1.0 / (1.0 + np.exp(-logits[:, 0]))
            return np.stack([1.0 - positive, positive], axis=1)
        shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
        probabilities: npt.NDArray[np.float64] = shifted / shifted.sum(axis=1, keepdims=True)
        return probabilities

    def save(self, folder: Path) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{self.name}.json"
        tmp = path.with_suffix(".tmp")
        tmp.write_text(self.model_dump_json(), encoding="utf-8")
        tmp.replace(path)
        return path


class ProbeOutput(BaseModel):
    """What the analysis tool shows for one probe on one image."""

    model_config = ConfigDict(frozen=True)

    probe: str
    probabilities: dict[str, float]
    top_label: str
    low_confidence: bool
    test_auroc: str
    trained_on: str
    license: str | None = None
    source_url: str | None = None
    notice: str = RESEARCH_NOTICE

    def outputs_text(self) -> str:
        """ "label 0.72, other 0.28": the outputs, most likely first."""
        ranked = sorted(self.probabilities.items(), key=lambda kv: -kv[1])
        return ", ".join(f"{label} {value:.2f}" for label, value in ranked)


def probes_dir(data_dir: Path) -> Path:
    return data_dir / "probes"


def load_probes(data_dir: Path, encoder: str | None = None) -> list[LinearProbe]:
    """Saved probes (for one encoder when given); an unreadable file is an error, not skipped."""
    probes = []
    for path in sorted(probes_dir(data_dir).glob("*.json")):
        try:
            probe = LinearProbe.model_validate_json(path.read_text(encoding="utf-8"))
        except (OSError, ValidationError, ValueError):
            raise ToolError(f"The saved probe {path.name} is damaged; train it again.") from None
        if encoder is None or probe.encoder == encoder:
            probes.append(probe)
    return probes


def apply_probe(probe: LinearProbe, vector: FloatMatrix) -> ProbeOutput:
    probabilities = probe.predict_proba(np.asarray(vector).reshape(1, -1))[0]
    by_label = {
        label: round(float(p), 4) for label, p in zip(probe.classes, probabilities, strict=True)
    }
    return ProbeOutput(
        probe=probe.name,
        probabilities=by_label,
        top_label=max(by_label, key=lambda label: by_label[label]),
        low_confidence=max(by_label.values()) < LOW_CONFIDENCE,
        test_auroc=str(probe.metrics.test_auroc),
        trained_on=probe.dataset,
        license=probe.license,
        source_url=probe.source_url,
    )


# --------------------------------------------------------------------------- metrics


def auroc(y: npt.NDArray[np.int64], probabilities: npt.NDArray[np.float64]) -> float:
    """Binary AUROC of the positive class, or one-vs-rest macro AUROC for more classes."""
    from sklearn.metrics import roc_auc_score

    if probabilities.shape[1] == 2:
        return float(roc_auc_score(y, probabilities[:, 1]))
    return float(
        roc_auc_score(y, probabilities, multi_class="ovr", labels=range(probabilities.shape[1]))
    )


def bootstrap_auroc(
    y: npt.NDArray[np.int64],
    probabilities: npt.NDArray[np.float64],
    *,
    rounds: int = BOOTSTRAP_ROUNDS,
    seed: int = 0,
) -> AurocEstimate:
    """AUROC with a percentile bootstrap 95% interval (resamples lacking a class are redrawn)."""
    rng = np.random.default_rng(seed)
    classes = probabilities.shape[1]
    values: list[float] = []
    while len(values) < rounds:
        sample = rng.integers(0, len(y), len(y))
        if len(np.unique(y[sample])) < classes:
            continue
        values.append(auroc(y[sample], probabilities[sample]))
    low, high = np.percentile(values, [2.5, 97.5])
    return AurocEstimate(
        value=round(auroc(y, probabilities), 4),
        low=round(float(low), 4),
        high=round(float(high), 4),
        n=len(y),
    )


# --------------------------------------------------------------------------- training


def encode_files(
    files: Sequence[Path],
    encoder: ImageEncoder,
    deid_seed: str | None = None,
    progress: Callable[[int], None] | None = None,
    image_index: ImageIndex | None = None,
) -> FloatMatrix:
    """The files' vectors, in batches; `progress` is told how many files each batch held.
    A file the similar-image index of this encoder already holds is not encoded again."""
    if image_index is not None and image_index.encoder.name != encoder.info.name:
        image_index = None
    rows: list[FloatMatrix] = []
    for start in range(0, len(files), ENCODE_BATCH):
        batch = files[start : start + ENCODE_BATCH]
        ids = [file_id(path) for path in batch] if image_index is not None else []
        stored = image_index.vectors(ids) if image_index is not None else {}
        pixels = []
        for position, path in enumerate(batch):
            if ids and ids[position] in stored:
                continue
            try:
                pixels.append(encoder_pixels(read_image(path, deid_seed=deid_seed)))
            except ImageError as exc:
                raise ToolError(f"{path.name}: {exc}") from None
        encoded = iter(encoder.encode(pixels))
        for position in range(len(batch)):
            known = stored.get(ids[position]) if ids else None
            rows.append(known if known is not None else next(encoded))
        if progress is not None:
            progress(len(batch))
    return np.stack(rows) if rows else encoder.encode([])


def labelled_splits(
    train_dir: Path, labels_csv: Path, *, seed: int = 0
) -> dict[str, list[tuple[Path, str]]]:
    """Files under `train_dir` with their labels, by split: the CSV's split column when it has
    one, otherwise a stratified 60/20/20 split with a fixed seed."""
    root = train_dir.resolve()
    rows = {path: row for path, row in read_labels(labels_csv).items() if path.is_relative_to(root)}
    if not rows:
        raise ToolError(f"No file in {labels_csv.name} lies under {train_dir}.")
    splits: dict[str, list[tuple[Path, str]]] = {split: [] for split in SPLITS}
    if all(row.split in SPLITS for row in rows.values()):
        for path, row in sorted(rows.items()):
            splits[str(row.split)].append((path, row.label))
    else:
        from sklearn.model_selection import train_test_split

        items = sorted((path, row.label) for path, row in rows.items())
        labels = [label for _, label in items]
        try:
            train, rest = train_test_split(items, test_size=0.4, stratify=labels, random_state=seed)
            valid, test = train_test_split(
                rest, test_size=0.5, stratify=[label for _, label in rest], random_state=seed
            )
        except ValueError:
            raise ToolError(
                "Too few images per label to split into train, valid and test "
                "(give at least 5 per label, or a split column)."
            ) from None
        splits = {"train": list(train), "valid": list(valid), "test": list(test)}
    for split in SPLITS:
        present = {label for _, label in splits[split]}
        if len(present) < 2:
            raise ToolError(f"The {split} split needs at least two labels; it has {len(present)}.")
    return splits


def train_probe(
    train_dir: Path,
    labels_csv: Path,
    encoder: ImageEncoder,
    *,
    name: str | None = None,
    deid_seed: str | None = None,
    seed: int = 0,
    progress: Callable[[int, int], None] | None = None,
    image_index: ImageIndex | None = None,
) -> LinearProbe:
    """Encode every labelled image once (or take its vector from the similar-image index),
    fit on train, choose C on valid, measure on test; `progress(done, total)` follows the
    encoding, which is most of the time."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    probe_name = name or train_dir.name
    if not _NAME_RE.match(probe_name):
        raise ToolError(
            f"The probe name {probe_name!r} may hold only letters, digits, '.', '_' and '-'."
        )
    splits = labelled_splits(train_dir, labels_csv, seed=seed)
    classes = tuple(sorted({label for items in splits.values() for _, label in items}))
    index = {label: i for i, label in enumerate(classes)}
    total = sum(len(items) for items in splits.values())
    done = 0

    def encoded(count: int) -> None:
        nonlocal done
        done += count
        if progress is not None:
            progress(done, total)

    x = {
        s: encode_files([p for p, _ in splits[s]], encoder, deid_seed, encoded, image_index)
        for s in SPLITS
    }
    y = {s: np.array([index[label] for _, label in splits[s]], dtype=np.int64) for s in SPLITS}
    for split in ("valid", "test"):
        if len(np.unique(y[split])) < len(classes):
            raise ToolError(f"Every label must appear in the {split} split.")

    scaler = StandardScaler().fit(x["train"])
    scaled = {s: scaler.transform(x[s]) for s in SPLITS}
    best: tuple[float, float, LogisticRegression] | None = None
    for c in C_GRID:
        model = LogisticRegression(C=c, max_iter=2000, random_state=seed)
        model.fit(scaled["train"], y["train"])
        score = auroc(y["valid"], model.predict_proba(scaled["valid"]))
        if best is None or score > best[0]:
            best = (score, c, model)
    assert best is not None
    valid_score, c, model = best
    test_probabilities = model.predict_proba(scaled["test"])
    counts = Counter(label for items in splits.values() for _, label in items)
    majority = Counter(y["train"].tolist()).most_common(1)[0][0]
    provenance = dataset_provenance(train_dir, labels_csv)
    return LinearProbe(
        name=probe_name,
        encoder=encoder.info.name,
        classes=classes,
        mean=[float(v) for v in scaler.mean_],
        scale=[float(v) for v in scaler.scale_],
        coef=[[float(v) for v in row] for row in model.coef_],
        intercept=[float(v) for v in model.intercept_],
        c=c,
        metrics=ProbeMetrics(
            test_auroc=bootstrap_auroc(y["test"], test_probabilities, seed=seed),
            majority_auroc=0.5,
            majority_accuracy=round(float(np.mean(y["test"] == majority)), 4),
            test_accuracy=round(float(np.mean(test_probabilities.argmax(axis=1) == y["test"])), 4),
            valid_auroc=round(valid_score, 4),
            n_train=len(y["train"]),
            n_valid=len(y["valid"]),
            n_test=len(y["test"]),
            class_counts=dict(sorted(counts.items())),
        ),
        dataset=provenance.name,
        license=provenance.license,
        source_url=provenance.source_url,
        created_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    )
