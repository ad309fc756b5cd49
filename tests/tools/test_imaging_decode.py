"""Decoding and rendering every sample DICOM, pydicom's own test files, PNG/JPEG and bad input."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import numpy as np
import pydicom
import pytest
from PIL import Image

from tests.conftest import SHARED
from tools.errors import ImageError
from tools.imaging.decode import (
    ImageStudy,
    SourceKind,
    WindowPreset,
    read_image,
    render_frame,
    render_montage,
    to_png,
)

SAMPLES = SHARED / "images" / "dicom-samples"
PYDICOM_FILES = Path(pydicom.__file__).parent / "data" / "test_files"
NO_IMAGE = {"SR_measurement_report.dcm": "structured report", "SEG_liver.dcm": "segmentation"}


def sample(name: str) -> ImageStudy:
    path = SAMPLES / name
    if not path.exists():
        pytest.skip("../shared images are not present")
    return read_image(path)


@pytest.mark.parametrize(
    "name", sorted(p.name for p in SAMPLES.glob("*.dcm")) if SAMPLES.exists() else []
)
def test_every_sample_decodes_and_renders_or_says_no_image(name: str) -> None:
    if name in NO_IMAGE:
        with pytest.raises(ImageError, match=NO_IMAGE[name]):
            read_image(SAMPLES / name)
        return
    study = read_image(SAMPLES / name)
    frame = render_frame(study)
    assert frame.dtype == np.uint8 and frame.shape[:2] == (study.rows, study.columns)
    assert frame.std() > 5  # an image, not a flat field
    png = to_png(render_montage(study) if study.frames > 1 else frame)
    assert png.startswith(b"\x89PNG")


def test_monochrome1_is_inverted_for_display() -> None:
    study = sample("CR_chest_PA_RG1_J2KI.dcm")
    assert study.photometric == "MONOCHROME1"
    frame = render_frame(study).astype(float)
    # A chest film shows lungs dark and the mediastinum and bone bright once inverted.
    rows, cols = frame.shape
    centre = frame[rows // 3 : 2 * rows // 3, cols // 2 - cols // 20 : cols // 2 + cols // 20]
    lungs = frame[rows // 3 : 2 * rows // 3, cols // 4 - cols // 20 : cols // 4 + cols // 20]
    assert centre.mean() > lungs.mean()


def test_ct_modality_lut_gives_hounsfield_units_and_presets_window_them() -> None:
    study = sample("CT_small.dcm")
    assert study.modality == "CT" and study.pixel_spacing_mm is not None
    assert study.pixels[0].min() < -500  # air in HU after rescale slope/intercept
    bone = render_frame(study, preset=WindowPreset.BONE)
    lung = render_frame(study, preset=WindowPreset.LUNG)
    assert (lung > 0).mean() > (bone > 0).mean()  # a wide low window shows more than bone


def test_colour_ultrasound_renders_rgb() -> None:
    study = sample("US_rgb_US1_J2KR.dcm")
    frame = render_frame(study)
    assert frame.shape == (480, 640, 3)
    assert study.photometric == "RGB"


def test_multiframe_frame_choice_and_montage() -> None:
    study = sample("MR_head_10frame_emri_small.dcm")
    assert study.frames == 10
    assert not np.array_equal(render_frame(study, 0), render_frame(study, 9))
    assert render_montage(study).shape == (3 * 64, 4 * 64)  # 10 frames in a 4 x 3 grid
    with pytest.raises(ImageError, match="Frame 11 does not exist"):
        render_frame(study, 10)


def test_pydicom_test_files_decode_or_fail_with_one_sentence() -> None:
    files = sorted(PYDICOM_FILES.glob("*.dcm"))
    assert files
    decoded = 0
    for path in files:
        try:
            study = read_image(path)
            render_frame(study)
            decoded += 1
        except ImageError as exc:
            message = str(exc)
            assert message.endswith(".") and "\n" not in message, (path.name, message)
    assert decoded >= 40


def test_png_and_jpeg_are_accepted(tmp_path: Path) -> None:
    grey = (np.arange(64 * 48) % 256).astype(np.uint8).reshape(48, 64)
    Image.fromarray(grey).save(tmp_path / "x.png")
    Image.fromarray(np.stack([grey] * 3, axis=-1)).save(tmp_path / "x.jpg", quality=90)
    png, jpeg = read_image(tmp_path / "x.png"), read_image(tmp_path / "x.jpg")
    assert png.kind is SourceKind.PNG and png.frames == 1 and (png.rows, png.columns) == (48, 64)
    assert jpeg.kind is SourceKind.JPEG and render_frame(jpeg).shape == (48, 64, 3)


def huge_png(width: int, height: int) -> bytes:
    """A valid PNG header announcing a huge image (the pixels never exist)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\x00" * 10))
    )


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty"),
        (b"this is a text file, not an image" * 20, "not a readable DICOM"),
        (huge_png(40000, 40000), "too large"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, "damaged"),
    ],
)
def test_bad_files_are_one_clear_sentence(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "upload.dcm"
    path.write_bytes(content)
    with pytest.raises(ImageError, match=message):
        read_image(path)


def test_truncated_dicom_is_one_clear_sentence(tmp_path: Path) -> None:
    original = SAMPLES / "MR_small.dcm"
    if not original.exists():
        pytest.skip("../shared images are not present")
    data = original.read_bytes()
    (tmp_path / "cut.dcm").write_bytes(data[: len(data) // 2])
    with pytest.raises(ImageError, match=r"truncated or corrupt|not a readable"):
        read_image(tmp_path / "cut.dcm")


def test_rendered_png_carries_no_text_metadata() -> None:
    study = sample("CT_small.dcm")
    image = Image.open(io.BytesIO(to_png(render_frame(study))))
    assert image.info == {} or set(image.info) <= {"dpi"}
    assert image.text == {}  # type: ignore[attr-defined]
