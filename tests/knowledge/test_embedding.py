from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from knowledge.embedding import Embedder, default_embedder_path
from knowledge.errors import KnowledgeError


def test_vectors_are_normalised_and_semantic(embedder: Embedder) -> None:
    vectors = embedder.embed(
        [
            "Venlafaxine reduces hot flashes in breast cancer survivors.",
            "SNRIs ease vasomotor symptoms after breast cancer.",
            "Annual low-dose CT screening for lung cancer in heavy smokers.",
        ]
    )
    assert vectors.shape == (3, 384) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-3)
    related, unrelated = vectors[0] @ vectors[1], vectors[0] @ vectors[2]
    assert related > unrelated + 0.2
    assert embedder.embed([]).shape == (0, 384)


def test_bf16_matches_fp32(embedder: Embedder) -> None:
    texts = ["Metformin is first-line therapy for type 2 diabetes.", "Aspirin and bleeding."]
    fp32 = Embedder(use_bf16=False).embed(texts)
    fast = Embedder(use_bf16=True).embed(texts)
    assert np.all(np.sum(fp32 * fast, axis=1) > 0.99)


def test_any_local_sentence_transformers_folder(tmp_path: Path) -> None:
    folder = tmp_path / "my-clinical-encoder"
    shutil.copytree(default_embedder_path(), folder)
    local = Embedder(folder)
    assert local.name == "my-clinical-encoder"
    assert local.embed_query("sepsis fluids").shape == (384,)


def test_missing_folder_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(KnowledgeError, match="does not exist"):
        Embedder(tmp_path / "nowhere")


def test_the_packaged_embedder_states_its_licence(embedder: Embedder) -> None:
    assert embedder.license == "apache-2.0"  # from the model card shipped in the package
