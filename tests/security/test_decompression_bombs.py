"""Finding 3 of issue 17: DICOM decompression bombs are refused in one sentence, within memory.

The hostile files are built here, never committed: a deflated dataset whose zero-filled private
element inflates to 600 MB from under 1 MB, a small JPEG that decodes to 7900 x 10000 (with a
rescale, so today's pipeline makes float64 copies of it), the same JPEG behind a header that says
64 x 64 (decoders allocate the size the codestream states, not the header's), an RLE frame whose
one segment decodes to 448 MB behind a 64 x 64 header, and a file whose element claims a length
far beyond the file's size. Peak memory is measured in a child process (its own high-water
mark), for the reader in-process and for `clinassist image info` as an engineer runs it.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import textwrap
import zlib
from pathlib import Path

import numpy as np
import pydicom
import pydicom.data
import pytest
from PIL import Image
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.encaps import encapsulate
from pydicom.filewriter import write_dataset, write_file_meta_info
from pydicom.uid import (
    UID,
    DeflatedExplicitVRLittleEndian,
    ExplicitVRLittleEndian,
    JPEG2000Lossless,
    JPEGBaseline8Bit,
    RLELossless,
    generate_uid,
)

from tests.serving import cli_environment
from tools.errors import ImageError
from tools.imaging.decode import read_image
from tools.imaging.limits import MAX_FILE_BYTES, MAX_FRAMES, MEMORY_BUDGET_BYTES

PROJECT_ROOT = Path(__file__).resolve().parents[2]
MB = 1024 * 1024
INFLATED_MB = 600
CLI_PEAK_LIMIT_MB = 400  # the "done when" for `clinassist image info`
READER_ABOVE_BASELINE_MB = 300


def _image(rows: int, columns: int) -> Dataset:
    ds = Dataset()
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.1"  # CR
    ds.SOPInstanceUID = generate_uid()
    ds.StudyInstanceUID = generate_uid()
    ds.SeriesInstanceUID = generate_uid()
    ds.PatientName = "Bomb^Hostile"
    ds.PatientID = "MRN-BOMB-1"
    ds.Modality = "CR"
    ds.Rows, ds.Columns = rows, columns
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 8, 8, 7, 0
    ds.RescaleSlope, ds.RescaleIntercept = "1.5", "-10"
    return ds


def _meta(ds: Dataset, syntax: UID) -> bytes:
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = ds.SOPClassUID
    meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    meta.TransferSyntaxUID = syntax
    meta.ImplementationClassUID = generate_uid()
    buffer = io.BytesIO()
    buffer.write(b"\x00" * 128 + b"DICM")
    write_file_meta_info(buffer, meta)  # type: ignore[arg-type]
    return buffer.getvalue()


def _body(ds: Dataset) -> bytes:
    from pydicom.filebase import DicomBytesIO

    buffer = DicomBytesIO()
    buffer.is_little_endian, buffer.is_implicit_VR = True, False
    write_dataset(buffer, ds)
    return buffer.getvalue()


def _private_ob_header(length: int) -> bytes:
    """(0009,0010) LO creator, then (0009,1010) OB of `length` bytes: the values follow."""
    creator = b"\x09\x00\x10\x00LO\x04\x00ACME"
    return creator + b"\x09\x00\x10\x10OB\x00\x00" + length.to_bytes(4, "little")


def deflate_bomb(path: Path) -> Path:
    """A deflated dataset with a small image and a zero-filled private element of 600 MB."""
    ds = _image(64, 64)
    ds.PixelData = bytes(64 * 64)
    compressor = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    parts = [compressor.compress(_body(ds) + _private_ob_header(INFLATED_MB * MB))]
    zeros = bytes(16 * MB)
    for _ in range(INFLATED_MB // 16):
        parts.append(compressor.compress(zeros))
    parts.append(compressor.flush())
    path.write_bytes(_meta(ds, DeflatedExplicitVRLittleEndian) + b"".join(parts))
    return path


def pixel_bomb(path: Path) -> Path:
    """A JPEG of 7900 x 10000 pixels in a DICOM of a few hundred KB (79 MP: under the 80 MP
    limit this was written against), with a rescale, so decoding and the modality LUT would
    allocate in full."""
    jpeg = io.BytesIO()
    Image.new("L", (7900, 10000), 0).save(jpeg, format="JPEG", quality=75)
    ds = _image(10000, 7900)
    ds.PixelData = encapsulate([jpeg.getvalue()])
    path.write_bytes(_meta(ds, JPEGBaseline8Bit) + _body(ds))
    return path


def mismatch_bomb(path: Path) -> Path:
    """The 7900 x 10000 JPEG behind a header that says 64 x 64: the header passes every size
    check, and a decoder allocates what the codestream says before pydicom compares lengths."""
    jpeg = io.BytesIO()
    Image.new("L", (7900, 10000), 0).save(jpeg, format="JPEG", quality=75)
    ds = _image(64, 64)
    ds.PixelData = encapsulate([jpeg.getvalue()])
    path.write_bytes(_meta(ds, JPEGBaseline8Bit) + _body(ds))
    return path


RLE_DECODED_MB = 448


def rle_bomb(path: Path) -> Path:
    """RLE Lossless, 64 x 64, whose one segment is runs of 128 zeros two bytes each: 7 MB that
    decode to 448 MB (pydicom decodes a segment whole, then compares its length)."""
    ds = _image(64, 64)
    header = (1).to_bytes(4, "little") + (64).to_bytes(4, "little") + bytes(56)
    runs = b"\x81\x00" * (RLE_DECODED_MB * MB // 128)
    ds.PixelData = encapsulate([header + runs])
    path.write_bytes(_meta(ds, RLELossless) + _body(ds))
    return path


def length_bomb(path: Path) -> Path:
    """A valid small image, then an element whose length (2 GB) runs far past the file's end."""
    ds = _image(64, 64)
    ds.PixelData = bytes(64 * 64)
    body = _body(ds) + _private_ob_header(0x7FFF_FFF0) + b"\x00" * 64
    path.write_bytes(_meta(ds, ExplicitVRLittleEndian) + body)
    return path


BOMBS = {
    "deflate": deflate_bomb,
    "pixels": pixel_bomb,
    "mismatch": mismatch_bomb,
    "rle": rle_bomb,
    "lengths": length_bomb,
}


@pytest.fixture(scope="module")
def bombs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("bombs")
    return {name: build(folder / f"{name}.dcm") for name, build in BOMBS.items()}


def test_hostile_files_are_small(bombs: dict[str, Path]) -> None:
    sizes = {name: path.stat().st_size for name, path in bombs.items()}
    assert sizes["deflate"] < 1 * MB and sizes["pixels"] < 1 * MB, sizes
    assert sizes["mismatch"] < 1 * MB and sizes["rle"] < 8 * MB, sizes
    header = pydicom.dcmread(bombs["pixels"], stop_before_pixels=True)
    assert (header.Rows, header.Columns) == (10000, 7900)
    header = pydicom.dcmread(bombs["mismatch"], stop_before_pixels=True)
    assert (header.Rows, header.Columns) == (64, 64)


def _run_script(script: str, path: Path, timeout: float = 300) -> str:
    """Run `script` with `path` in a fresh interpreter of this checkout; its stdout (it must
    exit 0: a child that dies is the test's failure, with its stderr)."""
    done = subprocess.run(
        [sys.executable, "-c", script, str(path)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=cli_environment(path.parent / "data"),
        cwd=PROJECT_ROOT,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def _vm_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise AssertionError(field)


READER = textwrap.dedent(
    """
    import json, sys
    from pathlib import Path
    import numpy, pydicom, pydicom.pixels, PIL.Image  # the baseline: everything imported
    from tools.errors import ImageError
    from tools.imaging.decode import read_image
    from tests.security.test_decompression_bombs import _vm_kb
    before = _vm_kb("VmHWM")
    try:
        read_image(Path(sys.argv[1]), deid_seed="bomb")
        error = None
    except ImageError as exc:
        error = str(exc)
    print(json.dumps({"error": error, "before_kb": before, "after_kb": _vm_kb("VmHWM")}))
    """
)


@pytest.mark.parametrize("name", sorted(BOMBS))
def test_reader_refuses_in_one_sentence_within_300_mb(bombs: dict[str, Path], name: str) -> None:
    if not Path("/proc/self/status").exists():
        pytest.skip("needs /proc to measure the high-water mark")
    stdout = _run_script(READER, bombs[name])
    result = json.loads(stdout.strip().splitlines()[-1])
    grown_mb = (result["after_kb"] - result["before_kb"]) / 1024
    assert result["error"], f"{name}: read, not refused ({grown_mb:.0f} MB above baseline)"
    message = result["error"]
    assert "\n" not in message and message.endswith("."), message
    assert grown_mb < READER_ABOVE_BASELINE_MB, f"{name}: {grown_mb:.0f} MB above baseline"


def test_reader_refuses_with_image_error(bombs: dict[str, Path]) -> None:
    """In this process too (no subprocess): the refusal comes before any large allocation."""
    for name in ("deflate", "lengths", "mismatch"):
        with pytest.raises(ImageError):
            read_image(bombs[name], deid_seed="bomb")


CLI_UNDER_MEASURE = textwrap.dedent(
    """
    import sys
    sys.argv = ["clinassist", "image", "info", sys.argv[1]]
    code = 0
    try:
        from ui.cli.main import main
        main()
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    finally:
        # VmHWM, not ru_maxrss: Linux carries ru_maxrss over from the parent across fork and exec
        status = open("/proc/self/status").read().splitlines()
        peak = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
        sys.stdout.write(f"\\npeak-rss-kb {peak}\\n")
        sys.stdout.flush()
    sys.exit(code)
    """
)


@pytest.mark.parametrize("name", sorted(BOMBS))
def test_cli_image_info_answers_in_one_sentence_under_400_mb(
    bombs: dict[str, Path], name: str, tmp_path: Path
) -> None:
    if not Path("/proc/self/status").exists():
        pytest.skip("needs /proc to measure the high-water mark")
    data_dir = tmp_path / "data"
    done = subprocess.run(
        [sys.executable, "-c", CLI_UNDER_MEASURE, str(bombs[name])],
        capture_output=True,
        text=True,
        timeout=300,
        env=cli_environment(data_dir),
        cwd=tmp_path,
    )
    peak_kb = int(done.stdout.rsplit("peak-rss-kb", 1)[1].split()[0])
    assert "Traceback" not in done.stderr, done.stderr[-2000:]
    assert done.returncode == 2, (done.returncode, done.stdout[-500:], done.stderr[-500:])
    lines = [line for line in done.stderr.splitlines() if line.startswith("clinassist:")]
    assert len(lines) == 1, done.stderr
    assert peak_kb / 1024 < CLI_PEAK_LIMIT_MB, f"{name}: peak RSS {peak_kb / 1024:.0f} MB"


def test_a_deflated_image_within_the_limits_still_decodes() -> None:
    path = pydicom.data.get_testdata_file("image_dfl.dcm", download=False)
    if path is None:
        pytest.skip("pydicom's deflated test file is not installed")
    study = read_image(Path(path), deid_seed="bomb")
    expected = pydicom.dcmread(path).pixel_array
    assert (study.rows, study.columns) == expected.shape
    assert (study.pixels[0] == expected).all()


def test_a_dataset_from_a_pacs_is_held_to_the_memory_budget() -> None:
    """`read_dataset` gets datasets a PACS sent, already parsed: the header alone decides, under
    the pixel limit but over the budget (6000 x 6000 x 16 bits with a rescale), before any
    decoding."""
    from tools.imaging.decode import read_dataset

    ds = _image(6000, 6000)
    ds.BitsAllocated, ds.BitsStored, ds.HighBit = 16, 12, 11
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.PixelData = b"\x00\x00" * 16  # far too short: it must never be decoded
    with pytest.raises(ImageError, match=r"too large to open safely .* MB"):
        read_dataset(ds, deid_seed="bomb")


# --------------------------------------------------------------------------- real multi-frame

CT_FRAMES, CT_SIDE = 300, 512


def multiframe_ct(path: Path, frames: int = CT_FRAMES, side: int = CT_SIDE) -> Path:
    """A multi-frame 16-bit CT, uncompressed (Explicit VR Little Endian), written a frame at a
    time: 300 x 512 x 512 is 78.6 M pixels and 150 MB, which the 40 M-pixel cap on all frames
    together refused."""
    ds = _image(side, side)
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.2"  # CT
    ds.Modality = "CT"
    ds.NumberOfFrames = frames
    ds.BitsAllocated, ds.BitsStored, ds.HighBit = 16, 12, 11
    ds.RescaleSlope, ds.RescaleIntercept = "1", "-1024"
    y, x = np.mgrid[0:side, 0:side]
    body = (y - side / 2) ** 2 + (x - side / 2) ** 2 < (side * 0.4) ** 2
    length = frames * side * side * 2
    with path.open("wb") as out:
        out.write(_meta(ds, ExplicitVRLittleEndian) + _body(ds))
        out.write(b"\xe0\x7f\x10\x00OW\x00\x00" + length.to_bytes(4, "little"))
        for index in range(frames):
            frame = np.where(body, 1024 + 40 + (x % 64) * 8 + index, 24).astype("<u2")
            out.write(frame.tobytes())
    return path


OPEN_AND_SHOW = textwrap.dedent(
    """
    import json, sys
    from pathlib import Path
    import numpy, pydicom, pydicom.pixels, PIL.Image  # the baseline: everything imported
    from tools.imaging.decode import read_image, render_frame, render_montage, to_png
    from tools.imaging.encoders import encoder_pixels, square_resize
    from tests.security.test_decompression_bombs import _vm_kb
    before = _vm_kb("VmHWM")
    study = read_image(Path(sys.argv[1]), deid_seed="ct")
    middle = render_frame(study, study.frames // 2)
    to_png(middle)
    square_resize(encoder_pixels(study), 224)  # what the analysis encodes
    montage = render_montage(study)
    to_png(montage)
    print(json.dumps({
        "frames": study.frames,
        "middle_shape": list(middle.shape),
        "middle_std": float(middle.std()),
        "montage_shape": list(montage.shape),
        "before_kb": before,
        "after_kb": _vm_kb("VmHWM"),
    }))
    """
)


def test_a_300_frame_ct_opens_and_shows_a_frame_at_a_time_within_the_budget(
    tmp_path: Path,
) -> None:
    """Frames are decoded when shown, so the peak is the file's bytes and one frame's, not all
    300 frames' float32 values (300 MB)."""
    if not Path("/proc/self/status").exists():
        pytest.skip("needs /proc to measure the high-water mark")
    path = multiframe_ct(tmp_path / "ct.dcm")
    stdout = _run_script(OPEN_AND_SHOW, path)
    result = json.loads(stdout.strip().splitlines()[-1])
    assert result["frames"] == CT_FRAMES
    assert result["middle_shape"] == [CT_SIDE, CT_SIDE] and result["middle_std"] > 5
    assert result["montage_shape"] == [4 * CT_SIDE, 4 * CT_SIDE]  # 16 frames, 4 x 4
    grown_mb = (result["after_kb"] - result["before_kb"]) / 1024
    assert grown_mb < MEMORY_BUDGET_BYTES / MB, f"{grown_mb:.0f} MB above baseline"


def test_frames_are_decoded_when_shown_and_only_the_last_few_kept(tmp_path: Path) -> None:
    from tools.imaging.decode import render_montage
    from tools.imaging.limits import FRAMES_KEPT

    study = read_image(multiframe_ct(tmp_path / "ct.dcm", frames=20, side=64), deid_seed="ct")
    assert len(study.pixels) == 20
    assert float(study.pixels[7][32, 32]) == 40 + (32 % 64) * 8 + 7  # HU after the rescale
    render_montage(study)
    assert len(study.pixels._kept) <= FRAMES_KEPT


def test_a_file_over_the_file_limit_is_refused_before_it_is_read(tmp_path: Path) -> None:
    path = multiframe_ct(tmp_path / "big.dcm", frames=1, side=64)
    os.truncate(path, MAX_FILE_BYTES + 1)  # sparse: nothing is written
    with pytest.raises(ImageError, match=r"DICOM file of 192 MB; the limit is 192 MB"):
        read_image(path, deid_seed="ct")


def test_a_header_claiming_too_many_frames_is_refused_before_decoding(tmp_path: Path) -> None:
    ds = _image(64, 64)
    ds.NumberOfFrames = MAX_FRAMES + 1
    ds.PixelData = bytes(64 * 64)  # one frame's worth: it must never be decoded
    path = tmp_path / "frames.dcm"
    path.write_bytes(_meta(ds, ExplicitVRLittleEndian) + _body(ds))
    with pytest.raises(ImageError, match=r"5,001 frames; the limit is 5,000"):
        read_image(path, deid_seed="ct")


# --------------------------------------------------------------------------- codestream sizes


def _j2k(rows: int, columns: int) -> bytes:
    """A lossless JPEG 2000 codestream (no JP2 wrapper) of a gradient, from Pillow."""
    gradient = (np.arange(rows * columns) % 251).astype(np.uint8).reshape(rows, columns)
    buffer = io.BytesIO()
    Image.fromarray(gradient).save(buffer, format="JPEG2000", irreversible=False, no_jp2=True)
    return buffer.getvalue()


def _j2k_dicom(path: Path, codestream: bytes, rows: int, columns: int) -> Path:
    ds = _image(rows, columns)
    ds.PixelData = encapsulate([codestream])
    path.write_bytes(_meta(ds, JPEG2000Lossless) + _body(ds))
    return path


def test_a_jpeg_2000_frame_larger_than_its_header_is_refused_before_decoding(
    tmp_path: Path,
) -> None:
    """The JPEG 2000 form of the mismatch bomb, small (encoding 79 MP costs seconds): the SIZ
    marker states 64 x 64, the header 32 x 32."""
    try:
        codestream = _j2k(64, 64)
    except (OSError, KeyError) as exc:  # a Pillow built without OpenJPEG
        pytest.skip(f"Pillow cannot write JPEG 2000 here ({exc})")
    path = _j2k_dicom(tmp_path / "j2k.dcm", codestream, 32, 32)
    with pytest.raises(ImageError) as refused:
        read_image(path, deid_seed="bomb")
    message = str(refused.value)
    assert "states 64 x 64 pixels" in message and "32 x 32" in message, message
    assert "\n" not in message and message.endswith("."), message
    # The same codestream behind a header that says 64 x 64 decodes.
    study = read_image(_j2k_dicom(tmp_path / "ok.dcm", codestream, 64, 64), deid_seed="bomb")
    assert study.pixels[0].shape == (64, 64)


ZERO_LENGTH_JP2 = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from tools.errors import ImageError
    from tools.imaging.decode import read_image
    try:
        read_image(Path(sys.argv[1]), deid_seed="bomb")
    except ImageError as exc:
        print(exc)
    """
)


def test_a_jp2_box_of_length_zero_is_refused_not_looped_on(tmp_path: Path) -> None:
    """pydicom's `get_j2k_parameters`, which its decoders call on every JPEG 2000 frame, loops
    forever on a JP2 box whose length is 0; the codestream check refuses it first (run in a
    child, so a regression times out rather than hangs the suite)."""
    jp2 = b"\x00\x00\x00\x0cjP  \r\n\x87\n" + b"\x00\x00\x00\x00ftyp" + bytes(64)
    path = _j2k_dicom(tmp_path / "jp2.dcm", jp2, 64, 64)
    stdout = _run_script(ZERO_LENGTH_JP2, path, timeout=120)
    assert "does not state its size" in stdout, stdout


def test_an_rle_frame_within_its_header_still_decodes(tmp_path: Path) -> None:
    """The RLE check adds up runs, it does not refuse ordinary RLE: pydicom's own RLE file."""
    path = pydicom.data.get_testdata_file("MR_small_RLE.dcm", download=False)
    if path is None:
        pytest.skip("pydicom's RLE test file is not installed")
    study = read_image(Path(path), deid_seed="bomb")
    expected = pydicom.dcmread(path).pixel_array
    assert study.pixels[0].shape == expected.shape
