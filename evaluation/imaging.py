"""Imaging: the linear probe's AUROC on its held-out test split.

`tools.imaging.probe.train_probe` on a labelled image folder (default: the 64 px NIH chest X-ray
set beside the checkout): fit on `train`, C chosen on `valid`, AUROC on `test` with a bootstrap
95% interval, beside the majority class (AUROC 0.5, its accuracy). `limit` keeps that many
images per split, alternating labels, for a quick run.
"""

from __future__ import annotations

import csv
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agent.settings import shared_dir
from evaluation.report import RunInfo, markdown_table, require_file

if TYPE_CHECKING:
    from tools.imaging.config import ImagingConfig
    from tools.imaging.probe import LinearProbe

RESEARCH_NOTE = "Research use only, not a diagnostic device: a smoke test of the pipeline."


def cxr_dir() -> Path:
    return shared_dir() / "images" / "cxr-nih1000-64px"


def limited_labels(labels_csv: Path, limit: int, out: Path) -> Path:
    """A copy of the labels CSV with at most `limit` rows per split, labels taken in turn."""
    with labels_csv.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        fields = list(reader.fieldnames or ())
        rows = list(reader)
    by_split: dict[str, dict[str, list[dict[str, str]]]] = {}
    for row in rows:
        by_split.setdefault(row.get("split", ""), {}).setdefault(row["label"], []).append(row)
    kept: list[dict[str, str]] = []
    for labels in by_split.values():
        queues = [list(items) for _, items in sorted(labels.items())]
        taken = 0
        while taken < limit and any(queues):
            for queue in queues:
                if queue and taken < limit:
                    kept.append(queue.pop(0))
                    taken += 1
    for row in kept:  # the copy lives elsewhere: paths become absolute
        row["path"] = str((labels_csv.parent / row["path"]).resolve())
    with out.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields)
        writer.writeheader()
        writer.writerows(kept)
    return out


@dataclass(frozen=True)
class ImagingReport:
    run: RunInfo
    probe: LinearProbe
    dataset_dir: Path

    def as_json(self) -> dict[str, Any]:
        m = self.probe.metrics
        return {
            "task": "imaging",
            "encoder": self.probe.encoder,
            "classes": list(self.probe.classes),
            "test_auroc": m.test_auroc.model_dump(),
            "majority_auroc": m.majority_auroc,
            "test_accuracy": m.test_accuracy,
            "majority_accuracy": m.majority_accuracy,
            "valid_auroc": m.valid_auroc,
            "c": self.probe.c,
            "n": {"train": m.n_train, "valid": m.n_valid, "test": m.n_test},
            "dataset": {"name": self.probe.dataset, "license": self.probe.license},
            "run": self.run.as_json(),
        }

    def markdown(self) -> str:
        m = self.probe.metrics
        table = markdown_table(
            ["test split", "AUROC (95% CI)", "accuracy"],
            [
                [
                    "majority class (baseline)",
                    f"{m.majority_auroc:.3f}",
                    f"{m.majority_accuracy:.3f}",
                ],
                [
                    f"{self.probe.encoder} + linear probe (C={self.probe.c:g})",
                    str(m.test_auroc),
                    f"{m.test_accuracy:.3f}",
                ],
            ],
        )
        return "\n".join(
            [
                f"## Imaging: linear probe on {self.probe.dataset} "
                f"({' vs '.join(self.probe.classes)})",
                "",
                self.run.markdown(),
                f"- images: train {m.n_train}, valid {m.n_valid}, test {m.n_test}; "
                f"encoder {self.probe.encoder}",
                "",
                table,
                "",
                RESEARCH_NOTE,
            ]
        )


def evaluate_imaging(
    config: ImagingConfig,
    *,
    limit: int | None = None,
    dataset: Path | None = None,
    progress: Callable[[str], None] = lambda _: None,
) -> ImagingReport:
    from tools.imaging.probe import train_probe

    folder = dataset or cxr_dir()
    labels_csv = require_file(folder / "labels.csv", "chest X-ray labels file")
    encoder = config.encoder()
    with tempfile.TemporaryDirectory(prefix="clinassist-eval-imaging-") as temp:
        if limit is not None:
            labels_csv = limited_labels(labels_csv, limit, Path(temp) / "labels.csv")
        progress(f"encoding and fitting on {folder.name} ...")
        probe = train_probe(folder, labels_csv, encoder, deid_seed=config.deid_seed())
    m = probe.metrics
    run = RunInfo(
        task="imaging",
        limit=limit,
        sample=(
            f"the labels file's train/valid/test splits ({m.n_train}/{m.n_valid}/{m.n_test})"
            + (f", at most {limit} per split" if limit is not None else "")
        ),
    )
    return ImagingReport(run, probe, folder)
