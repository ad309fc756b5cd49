"""Decode DICOM, PNG and JPEG files into an `ImageStudy` and render display frames.

DICOM pixels go through the modality LUT (rescale slope/intercept), then the VOI LUT or the
window the file carries, or a named window preset; MONOCHROME1 is inverted; colour (RGB, YBR,
palette) is shown as RGB. A DICOM's frames are decoded one at a time, when shown or analysed
(`Frames`, `_dicom_frame`). Sizes are checked before anything large is allocated (see
`tools.imaging.limits`): deflated datasets inflate into a bounded buffer, element lengths may not
run past the end of the file, the bytes held with one frame decoded and shown must fit a memory
budget, and a compressed frame must state the header's size (`tools.imaging.codestream`), so a
decompression bomb is refused rather than allocated.
"""

from __future__ import annotations

import functools
import io
import secrets
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any, BinaryIO, TypeVar, cast

import numpy as np
import numpy.typing as npt

from tools.errors import ImageError
from tools.imaging.codestream import check_encoded_frame
from tools.imaging.deid import BurnedIn, SafeMetadata, deidentify, safe_metadata
from tools.imaging.limits import (
    FRAMES_KEPT,
    MAX_FILE_BYTES,
    MAX_FRAME_PIXELS,
    MB,
    MONTAGE_MAX_FRAMES,
    ElementPastEnd,
    LengthCheckedFile,
    check_budget,
    check_pixels,
    estimate_peak_bytes,
    inflate_bounded,
    too_large,
)

_T = TypeVar("_T")

__all__ = [
    "MAX_FRAME_PIXELS",
    "Frames",
    "ImageStudy",
    "SourceKind",
    "WindowPreset",
    "read_dataset",
    "read_image",
]

ROW_BLOCK = 256  # display works on blocks of rows, so its float copies stay small

NO_IMAGE_MODALITIES = {
    "SR": "a structured report",
    "SEG": "a segmentation",
    "KO": "a key-object note",
    "PR": "a presentation state",
    "RTSTRUCT": "an RT structure set",
}


class WindowPreset(Enum):
    """Named windows (centre, width) in Hounsfield units, for CT."""

    LUNG = (-600.0, 1500.0)
    MEDIASTINUM = (40.0, 400.0)
    BONE = (400.0, 1800.0)
    BRAIN = (40.0, 80.0)

    @property
    def center(self) -> float:
        return self.value[0]

    @property
    def width(self) -> float:
        return self.value[1]


class SourceKind(Enum):
    DICOM = "dicom"
    PNG = "png"
    JPEG = "jpeg"


class Frames:
    """An image's frames, one at a time: `frames[i]` is frame i's modality values, (rows, cols)
    or (rows, cols, 3), decoded on first use; the last `FRAMES_KEPT` are kept, so the memory
    budget counts one frame, not all of them."""

    def __init__(self, count: int, decode: Callable[[int], npt.NDArray[Any]], *, color: bool):
        self._count = count
        self._decode = decode
        self.color = color
        self._kept: OrderedDict[int, npt.NDArray[Any]] = OrderedDict()
        self._lock = threading.Lock()  # one decode at a time: a session's turns share a study

    @classmethod
    def of_array(cls, pixels: npt.NDArray[Any]) -> Frames:
        """Frames already decoded, (frames, rows, cols[, 3]): a PNG's or a JPEG's."""
        return cls(len(pixels), pixels.__getitem__, color=pixels.ndim == 4)

    def __len__(self) -> int:
        return self._count

    def __getitem__(self, index: int) -> npt.NDArray[Any]:
        if not 0 <= index < self._count:
            raise IndexError(f"frame {index} of {self._count}")
        with self._lock:
            if index in self._kept:
                self._kept.move_to_end(index)
                return self._kept[index]
            if len(self._kept) >= FRAMES_KEPT:
                self._kept.popitem(last=False)  # before decoding, as the budget assumes
            values = self._decode(index)
            self._kept[index] = values
            return values


@dataclass(frozen=True)
class ImageStudy:
    """A decoded image; `pixels[i]` is frame i's modality values (rows, cols[, 3]), decoded
    when first asked for (see `Frames`).

    Sizes, modality and spacing live in `safe` (the de-identified view) and are read from it.
    """

    kind: SourceKind
    pixels: Frames = field(repr=False, compare=False)
    safe: SafeMetadata
    window: tuple[float, float] | None = None  # from the file: (centre, width)
    has_voi_lut: bool = False
    # The de-identified pydicom Dataset (DICOM only); never the original.
    dataset: Any = field(default=None, repr=False, compare=False)

    @property
    def modality(self) -> str | None:
        return self.safe.modality

    @property
    def rows(self) -> int:
        return self.safe.rows

    @property
    def columns(self) -> int:
        return self.safe.columns

    @property
    def frames(self) -> int:
        return self.safe.frames

    @property
    def photometric(self) -> str:
        return self.safe.photometric

    @property
    def pixel_spacing_mm(self) -> tuple[float, float] | None:
        return self.safe.pixel_spacing_mm

    @property
    def is_color(self) -> bool:
        return self.pixels.color


def read_image(path: Path, *, deid_seed: str | None = None) -> ImageStudy:
    """Decode a DICOM, PNG or JPEG file; every failure is an `ImageError` with one sentence.

    A DICOM dataset is de-identified before anything else reads it; `deid_seed` (the
    installation's, see `installation_seed`) keeps UID remapping consistent across files, and a
    random one is used when none is given.
    """
    try:
        head = path.open("rb").read(132)
    except OSError as exc:
        raise ImageError(f"The file cannot be read ({exc.strerror}).") from None
    if not head:
        raise ImageError("The file is empty.")
    if head.startswith(b"\x89PNG") or head.startswith(b"\xff\xd8"):
        return _read_bitmap(
            path, SourceKind.PNG if head.startswith(b"\x89PNG") else SourceKind.JPEG
        )
    seed = deid_seed or secrets.token_hex(16)
    return _read_dicom(path, force=head[128:132] != b"DICM", seed=seed)


def _read_bitmap(path: Path, kind: SourceKind) -> ImageStudy:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            # Checked from the header, before Pillow's own bomb limit (89 MP to warn, 179 MP to
            # refuse), which is far above what the budget allows.
            check_pixels(image.height, image.width, 1)
            bands = len(image.getbands())
            bits = {"I;16": 16, "I": 32, "F": 32}.get(image.mode, 8)
            # Pillow holds the decoded image (4 bytes a pixel for RGB), its conversion and the
            # array copy of it.
            check_budget(
                estimate_peak_bytes(
                    rows=image.height,
                    columns=image.width,
                    frames=1,
                    samples=bands,
                    bits_allocated=bits,
                    photometric="RGB" if bands > 1 else "MONOCHROME2",
                    rescaled=False,
                    held_bytes=path.stat().st_size
                    + 2 * image.height * image.width * max(bands, 4) * (bits // 8),
                ),
                image.height,
                image.width,
                1,
            )
            image.load()
            mode = "RGB" if image.mode not in ("L", "I;16", "I") else image.mode
            array = np.asarray(image.convert(mode))
    except ImageError:
        raise
    except Image.DecompressionBombError:
        raise ImageError(
            f"The image is too large to open safely (over {MAX_FRAME_PIXELS:,} pixels)."
        ) from None
    except (UnidentifiedImageError, OSError, ValueError):
        raise ImageError(f"The {kind.value.upper()} file is damaged or truncated.") from None
    pixels = array[np.newaxis, ...]
    rows, columns = int(array.shape[0]), int(array.shape[1])
    photometric = "RGB" if array.ndim == 3 else "MONOCHROME2"
    # Only the pixels are kept: text chunks and EXIF never leave this function.
    safe = SafeMetadata(
        modality=None,
        body_part=None,
        view_position=None,
        study_description=None,
        rows=rows,
        columns=columns,
        frames=1,
        pixel_spacing_mm=None,
        photometric=photometric,
        burned_in_annotation=BurnedIn.UNKNOWN,
        warnings=("A screenshot's pixels may show patient identity; they are not cleaned.",),
    )
    return ImageStudy(kind=kind, pixels=Frames.of_array(pixels), safe=safe)


def _read_dicom(path: Path, *, force: bool, seed: str) -> ImageStudy:
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise ImageError(f"The file cannot be read ({exc.strerror}).") from None
    if size > MAX_FILE_BYTES:
        raise too_large(
            f"a DICOM file of {size // MB:,} MB; the limit is {MAX_FILE_BYTES // MB} MB"
        )
    try:
        with path.open("rb") as raw:
            dataset, held = _parse_bounded(raw, size, force=force)
    except ElementPastEnd:
        if force:  # no DICOM preamble: the "lengths" were never a DICOM's to begin with
            raise ImageError("The file is not a readable DICOM, PNG or JPEG image.") from None
        raise
    except ImageError:
        raise
    except Exception:  # pydicom's parser raises many types (zlib.error, struct.error, ...)
        raise ImageError("The file is not a readable DICOM, PNG or JPEG image.") from None
    return read_dataset(dataset, deid_seed=seed, held_bytes=held)


def _parse_bounded(raw: Any, size: int, *, force: bool) -> tuple[Any, int]:
    """pydicom's parse, with every element read checked against what is left of the file, and
    a deflated dataset inflated into a bounded buffer first (pydicom inflates it whole); with
    the bytes the dataset holds (the file's size, or the inflated size)."""
    import pydicom
    from pydicom.dataset import FileDataset
    from pydicom.filereader import _read_file_meta_info, read_preamble
    from pydicom.uid import DeflatedExplicitVRLittleEndian

    checked = cast(BinaryIO, LengthCheckedFile(raw, size))
    preamble = read_preamble(checked, force)
    file_meta = _read_file_meta_info(checked)
    if file_meta.get("TransferSyntaxUID") != DeflatedExplicitVRLittleEndian:
        checked.seek(0)
        return pydicom.dcmread(checked, force=force), size
    inflated = inflate_bounded(raw)  # the compressed rest is read in chunks, not checked
    stream = cast(BinaryIO, LengthCheckedFile(inflated, len(inflated.getbuffer())))
    body = pydicom.filereader.read_dataset(stream, is_implicit_VR=False, is_little_endian=True)
    held = len(inflated.getbuffer())
    # Named after the file, so the inflated buffer is let go: the elements hold their own copies.
    dataset = FileDataset(raw, body, preamble, file_meta, False, True)
    dataset.set_original_encoding(False, True, body.get("SpecificCharacterSet"))
    return dataset, held


def read_dataset(dataset: Any, *, deid_seed: str, held_bytes: int = 0) -> ImageStudy:
    """A parsed DICOM dataset (a file's, or one a PACS sent) de-identified in place, then
    decoded: the caller hands over a dataset nothing else will read (a copy, if it needs the
    original). `held_bytes`: what the dataset holds in memory, when known (a file's size); its
    encoded pixel data is counted otherwise. The middle frame is decoded now, so a file whose
    pixels cannot be decoded is refused here; the others when first shown."""
    if "SOPClassUID" not in dataset and "PixelData" not in dataset:
        raise ImageError("The file is not a readable DICOM, PNG or JPEG image.")
    try:
        burned_in, description = deidentify(dataset, deid_seed)
    except Exception as exc:  # a malformed header the profile cannot walk: refuse, never leak
        raise ImageError(
            f"The DICOM header cannot be de-identified ({type(exc).__name__}), so it is not used."
        ) from None
    modality = _header(dataset, "Modality", str, "", "modality") or None
    if "PixelData" not in dataset:
        what = NO_IMAGE_MODALITIES.get(modality or "", "a DICOM object")
        raise ImageError(f"The DICOM file is {what} with no image to show.")
    if modality in NO_IMAGE_MODALITIES:
        raise ImageError(
            f"The DICOM file is {NO_IMAGE_MODALITIES[modality]}, not an image to show."
        )
    rows = _header(dataset, "Rows", int, 0, "image dimensions")
    columns = _header(dataset, "Columns", int, 0, "image dimensions")
    frames = _header(dataset, "NumberOfFrames", int, 1, "image dimensions") or 1
    check_pixels(rows, columns, frames)
    photometric = _header(
        dataset, "PhotometricInterpretation", str, "MONOCHROME2", "photometric interpretation"
    )
    samples = _header(dataset, "SamplesPerPixel", int, 1, "samples per pixel")
    bits_allocated = _header(dataset, "BitsAllocated", int, 16, "bits allocated")
    check_budget(
        estimate_peak_bytes(
            rows=rows,
            columns=columns,
            frames=frames,
            samples=samples,
            bits_allocated=bits_allocated,
            photometric=photometric,
            rescaled="ModalityLUTSequence" in dataset or "RescaleSlope" in dataset,
            held_bytes=max(held_bytes, _held_bytes(dataset)),
        ),
        rows,
        columns,
        frames,
    )
    for keyword in ("RescaleSlope", "RescaleIntercept"):
        if not np.isfinite(_header(dataset, keyword, float, 0.0, "rescale values")):
            raise ImageError("The DICOM header has invalid rescale values.")
    decode = functools.partial(
        _dicom_frame,
        dataset,
        photometric=photometric,
        size=_FrameSize(rows, columns, samples, bits_allocated),
    )
    pixels = Frames(frames, decode, color=samples > 1 or photometric == "PALETTE COLOR")
    pixels[frames // 2]  # decodable, or refused now rather than when first shown
    if samples > 1 or photometric == "PALETTE COLOR":
        photometric = "RGB"  # pydicom converts YBR to RGB when decoding
    pixel_spacing = _header(dataset, "PixelSpacing", _spacing, None, "pixel spacing") or _header(
        dataset, "ImagerPixelSpacing", _spacing, None, "pixel spacing"
    )
    window = None
    center = _header(dataset, "WindowCenter", _first_value, None, "window centre")
    width = _header(dataset, "WindowWidth", _first_value, None, "window width")
    if center is not None and width is not None:
        window = (center, width)
    return ImageStudy(
        kind=SourceKind.DICOM,
        pixels=pixels,
        safe=safe_metadata(
            dataset,
            rows=rows,
            columns=columns,
            frames=frames,
            pixel_spacing_mm=pixel_spacing,
            photometric=photometric,
            burned_in=burned_in,
            description=description,
        ),
        window=window,
        has_voi_lut="VOILUTSequence" in dataset,
        dataset=dataset,
    )


def _held_bytes(dataset: Any) -> int:
    """The encoded pixel data already in memory (a file's, or what a PACS sent)."""
    try:
        value = dataset.get_item("PixelData").value
    except Exception:  # a PixelData element pydicom cannot hand over raw: counted as none
        return 0
    return len(value) if isinstance(value, bytes | bytearray | memoryview) else 0


@dataclass(frozen=True)
class _FrameSize:
    """A frame as the header states it, which its codestream must match to be decoded."""

    rows: int
    columns: int
    samples: int
    bits_allocated: int


def _dicom_frame(
    dataset: Any, index: int, *, photometric: str, size: _FrameSize
) -> npt.NDArray[Any]:
    """Frame `index` of a DICOM dataset decoded alone and turned into modality values: the one
    place DICOM pixels are decoded. A compressed frame's codestream is first held to the
    header's size (`check_encoded_frame`): decoders allocate what the codestream states. pydicom
    makes float64 of a rescale, so values are kept as float32 (exact for integer HU, plenty for
    display); a palette becomes RGB, and pydicom converts YBR to RGB as it decodes."""
    from pydicom.pixels.processing import apply_color_lut, apply_modality_lut
    from pydicom.pixels.utils import pixel_array

    samples = size.samples
    check_encoded_frame(
        dataset,
        index,
        rows=size.rows,
        columns=size.columns,
        samples=samples,
        bits_allocated=size.bits_allocated,
    )
    try:
        frame = pixel_array(dataset, index=index)
    except NotImplementedError:
        syntax = dataset.file_meta.get("TransferSyntaxUID")
        name = getattr(syntax, "name", str(syntax))
        raise ImageError(f"The DICOM compression ({name}) is not supported.") from None
    except Exception as exc:  # pydicom raises many types for truncated or corrupt pixel data
        raise ImageError(
            f"The DICOM pixel data cannot be decoded ({type(exc).__name__}); the file may be "
            "truncated or corrupt."
        ) from None
    try:
        if photometric == "PALETTE COLOR":
            return np.asarray(apply_color_lut(frame, dataset))
        if samples > 1:
            return frame
        values = apply_modality_lut(frame, dataset)
    except Exception as exc:  # a palette or rescale the header describes but does not hold
        raise ImageError(
            f"The DICOM lookup table or rescale values cannot be applied ({type(exc).__name__})."
        ) from None
    if values is frame or values.dtype.kind != "f":  # no rescale, or a LUT of integers
        return np.asarray(values)
    return values.astype(np.float32)


def _header(dataset: Any, keyword: str, convert: Callable[[Any], _T], default: _T, what: str) -> _T:
    """One header value, converted; a value that does not parse is the file's fault, not ours."""
    try:
        value = dataset.get(keyword)
        empty = value is None or (not isinstance(value, int | float) and not value)
        return default if empty else convert(value)
    except Exception:  # pydicom converts raw values lazily and raises many types for bad ones
        raise ImageError(f"The DICOM header has invalid {what}.") from None


def _first_value(value: Any) -> float:
    """Window centre/width may be multi-valued (several windows); the first is the default."""
    from pydicom.multival import MultiValue

    return float(value[0]) if isinstance(value, MultiValue) else float(value)


def _spacing(value: Any) -> tuple[float, float]:
    return float(value[0]), float(value[1])


# --------------------------------------------------------------------------- rendering


def _to_uint8(values: npt.NDArray[Any], low: float, high: float) -> npt.NDArray[np.uint8]:
    """`values` from `low` to `high` as 0-255, a block of rows at a time (float64 per block)."""
    out = np.empty(values.shape, dtype=np.uint8)
    scale = 1.0 / max(high - low, 1e-9)
    for start in range(0, values.shape[0], ROW_BLOCK):
        scaled = (values[start : start + ROW_BLOCK].astype(np.float64) - low) * scale
        out[start : start + ROW_BLOCK] = np.clip(scaled, 0.0, 1.0) * 255.0 + 0.5
    return out


def _file_windowed(study: ImageStudy, values: npt.NDArray[Any]) -> npt.NDArray[np.uint8] | None:
    """The frame through the file's own VOI LUT or window; None when it has none, or one pydicom
    refuses (a LINEAR window narrower than 1, which the fuzz suite found)."""
    if study.dataset is None or not (study.has_voi_lut or study.window is not None):
        return None
    from pydicom.pixels.processing import apply_voi_lut

    windowed = np.empty(values.shape, dtype=np.float32)
    try:
        for start in range(0, values.shape[0], ROW_BLOCK):  # pydicom's LUT works in float64
            windowed[start : start + ROW_BLOCK] = apply_voi_lut(
                values[start : start + ROW_BLOCK], study.dataset
            )
    except ValueError:
        return None
    return _to_uint8(windowed, float(windowed.min()), float(windowed.max()))


def render_frame(
    study: ImageStudy, frame: int = 0, preset: WindowPreset | None = None
) -> npt.NDArray[np.uint8]:
    """One frame as 8-bit grey (rows, cols) or RGB (rows, cols, 3), windowed for display."""
    if not 0 <= frame < study.frames:
        raise ImageError(f"Frame {frame + 1} does not exist; the image has {study.frames}.")
    values = study.pixels[frame]
    if study.is_color:
        if values.dtype == np.uint8:
            return np.asarray(values, dtype=np.uint8)
        return _to_uint8(values, float(values.min()), float(values.max()))
    if preset is not None:
        low, high = preset.center - preset.width / 2, preset.center + preset.width / 2
        grey = _to_uint8(values, low, high)
    elif (from_file := _file_windowed(study, values)) is not None:
        grey = from_file
    else:  # no usable window in the file: the 0.5-99.5 percentile range, robust to outliers
        low, high = np.percentile(values, [0.5, 99.5])
        grey = _to_uint8(values, float(low), float(high))
    if study.photometric == "MONOCHROME1":
        grey = 255 - grey
    return grey


def render_montage(study: ImageStudy, preset: WindowPreset | None = None) -> npt.NDArray[np.uint8]:
    """Up to 16 evenly spaced frames tiled in a near-square grid."""
    count = min(study.frames, MONTAGE_MAX_FRAMES)
    indices = np.linspace(0, study.frames - 1, count).round().astype(int)
    tiles = [render_frame(study, int(i), preset) for i in indices]
    columns = int(np.ceil(np.sqrt(count)))
    rows = int(np.ceil(count / columns))
    blank = np.zeros_like(tiles[0])
    tiles += [blank] * (rows * columns - count)
    return np.vstack([np.hstack(tiles[r * columns : (r + 1) * columns]) for r in range(rows)])


def to_png(pixels: npt.NDArray[np.uint8]) -> bytes:
    """PNG bytes with no text chunks (nothing but pixels leaves this function)."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG", optimize=False)
    return buffer.getvalue()
