"""What the imaging tools need from the app's settings (tools never read settings themselves)."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tools.imaging.encoders import ImageEncoder
    from tools.imaging.similar import ImageIndex


@dataclass(frozen=True)
class ImagingConfig:
    data_dir: Path
    collection: str = "clinassist-images"
    chroma_url: str | None = None
    encoder_path: Path | None = None

    def encoder(self) -> ImageEncoder:
        from tools.imaging.encoders import load_encoder

        return load_encoder(self.encoder_path)

    def index(self) -> ImageIndex:
        """The image index for the configured encoder, opened once per process."""
        return _open_index(self.data_dir, self.collection, self.encoder_path, self.chroma_url)

    def deid_seed(self) -> str:
        from tools.imaging.deid import installation_seed

        return installation_seed(self.data_dir)


@dataclass(frozen=True)
class PacsConfig:
    """Where the PACS's DICOMweb root is and how clinassist proves who it is."""

    url: str
    token_file: Path | None = None  # a bearer token
    auth_file: Path | None = None  # one line USER:PASSWORD (HTTP basic)
    timeout_s: float = 30.0


@functools.lru_cache(maxsize=4)
def _open_index(
    data_dir: Path, collection: str, encoder_path: Path | None, chroma_url: str | None
) -> ImageIndex:
    from tools.imaging.encoders import load_encoder
    from tools.imaging.similar import ImageIndex

    return ImageIndex(
        data_dir=data_dir,
        collection=collection,
        encoder=load_encoder(encoder_path).info,
        chroma_url=chroma_url,
    )
