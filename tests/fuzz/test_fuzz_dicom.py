"""Fuzzing the image reader: real DICOM files with mutated bytes and header values, and noise.

Property: `read_image` (and rendering what it returns) either gives a study or raises the
project's `ImageError` with one sentence; no other exception type escapes, whatever the bytes.
Inputs are small (seed files under ~40 kB, bounded mutations) so nothing can hang.
"""

from __future__ import annotations

import io
import struct
import tempfile
from pathlib import Path

import pydicom
import pytest
from hypothesis import assume, example, given
from hypothesis import strategies as st
from pydicom.data import get_testdata_file
from pydicom.dataelem import RawDataElement
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.tag import Tag
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

from tests.conftest import SHARED
from tools.errors import ImageError
from tools.imaging.decode import read_image, render_frame, render_montage
from tools.imaging.deid import deidentify

# pydicom warns about every odd value it meets; the property is about exceptions, not warnings.
pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")

MAX_SEED_BYTES = 40_000
PYDICOM_SEEDS = (
    "CT_small.dcm",
    "MR_small.dcm",
    "MR_small_RLE.dcm",
    "MR_small_bigendian.dcm",
    "MR_small_implicit.dcm",
    "MR_small_jpeg_ls_lossless.dcm",
    "MR_small_jp2klossless.dcm",
    "MR_truncated.dcm",
    "JPEG2000.dcm",
    "SC_rgb_small_odd.dcm",
    "SC_rgb_jpeg.dcm",
    "SC_rgb_rle_2frame.dcm",
    "SC_ybr_full_422_uncompressed.dcm",
    "ExplVR_BigEnd.dcm",
    "ExplVR_LitEndNoMeta.dcm",
    "image_dfl.dcm",
    "rtdose_1frame.dcm",
    "rtplan.dcm",
    "badVR.dcm",
    "no_meta.dcm",
    "UN_sequence.dcm",
    "nested_priv_SQ.dcm",
    "empty_charset_LEI.dcm",
    "meta_missing_tsyntax.dcm",
    "test-SR.dcm",
    "examples_palette.dcm",
)
SHARED_SEEDS = (
    "CT_small.dcm",
    "MR_small.dcm",
    "SR_measurement_report.dcm",
    "DX_thorax_canine_highdicom.dcm",
)


def _load_seeds() -> dict[str, bytes]:
    seeds: dict[str, bytes] = {}
    for name in PYDICOM_SEEDS:
        found = get_testdata_file(name, download=False)
        if isinstance(found, str) and Path(found).stat().st_size <= MAX_SEED_BYTES:
            seeds[f"pydicom/{name}"] = Path(found).read_bytes()
    folder = SHARED / "images" / "dicom-samples"
    for name in SHARED_SEEDS:
        path = folder / name
        if path.is_file() and path.stat().st_size <= MAX_SEED_BYTES:
            seeds[f"shared/{name}"] = path.read_bytes()
    assert seeds, "pydicom's own test files are missing"
    return seeds


SEEDS = _load_seeds()
SEED_NAMES = sorted(SEEDS)


def assert_one_sentence(message: str) -> None:
    assert message, "empty error message"
    assert "\n" not in message, message
    assert message.endswith("."), message
    assert "Traceback" not in message, message


def read_and_render(data: bytes) -> None:
    """The property: a study that renders, or an `ImageError` sentence; nothing else."""
    with tempfile.TemporaryDirectory(prefix="fuzz-dicom-") as folder:
        path = Path(folder) / "upload.dcm"
        path.write_bytes(data)
        try:
            study = read_image(path, deid_seed="fuzz-seed")
            render_frame(study)
            if study.frames > 1:
                render_montage(study)
        except ImageError as exc:
            assert_one_sentence(str(exc))


seed_names = st.sampled_from(SEED_NAMES)

# Seeds that are images (pydicom's own test files), one of them with two frames.
IMAGE_SEEDS = (
    "pydicom/CT_small.dcm",
    "pydicom/MR_small.dcm",
    "pydicom/MR_small_bigendian.dcm",
    "pydicom/MR_small_implicit.dcm",
    "pydicom/SC_rgb_small_odd.dcm",
    "pydicom/SC_rgb_rle_2frame.dcm",
)


def test_the_image_seeds_are_read_and_rendered() -> None:
    """The premise of the mutations below: unmutated, these seeds are studies that render (the
    two-frame one as a montage too), so the mutated files reach the renderer, not only the
    reader's refusals."""
    assert set(IMAGE_SEEDS) <= set(SEEDS)
    frames: dict[str, int] = {}
    for name in IMAGE_SEEDS:
        with tempfile.TemporaryDirectory(prefix="fuzz-dicom-") as folder:
            path = Path(folder) / "upload.dcm"
            path.write_bytes(SEEDS[name])
            study = read_image(path, deid_seed="fuzz-seed")
            render_frame(study)
            if study.frames > 1:
                render_montage(study)
            frames[name] = study.frames
    assert frames["pydicom/SC_rgb_rle_2frame.dcm"] == 2


# --------------------------------------------------------------------------- byte mutations


@given(name=seed_names, fraction=st.floats(0.0, 1.0))
@example(name="pydicom/image_dfl.dcm", fraction=0.5)  # was zlib.error out of dcmread
def test_truncated_files(name: str, fraction: float) -> None:
    data = SEEDS[name]
    read_and_render(data[: int(len(data) * fraction)])


@given(
    name=seed_names,
    flips=st.lists(
        st.tuples(st.floats(0.0, 1.0, exclude_max=True), st.integers(0, 255)), max_size=8
    ),
)
@example(name="pydicom/SC_rgb_small_odd.dcm", flips=[(0.93359375, 0)])  # was ValueError (spacing)
def test_flipped_bytes(name: str, flips: list[tuple[float, int]]) -> None:
    data = bytearray(SEEDS[name])
    for where, value in flips:
        data[int(where * len(data))] = value
    read_and_render(bytes(data))


@given(
    name=seed_names,
    # Mostly inside the header, where a flipped length or VR does the most damage.
    flips=st.lists(st.tuples(st.integers(0, 1200), st.integers(0, 255)), min_size=1, max_size=6),
)
def test_flipped_header_bytes(name: str, flips: list[tuple[int, int]]) -> None:
    data = bytearray(SEEDS[name])
    for where, value in flips:
        data[where % len(data)] = value
    read_and_render(bytes(data))


@given(
    first=seed_names,
    second=seed_names,
    cut_first=st.floats(0.0, 1.0),
    cut_second=st.floats(0.0, 1.0),
)
def test_spliced_files(first: str, second: str, cut_first: float, cut_second: float) -> None:
    a, b = SEEDS[first], SEEDS[second]
    read_and_render(a[: int(len(a) * cut_first)] + b[int(len(b) * cut_second) :])


@given(name=seed_names, where=st.floats(0.0, 1.0), noise=st.binary(min_size=1, max_size=64))
def test_inserted_noise(name: str, where: float, noise: bytes) -> None:
    data = SEEDS[name]
    cut = int(len(data) * where)
    read_and_render(data[:cut] + noise + data[cut:])


@given(data=st.binary(max_size=2048))
@example(data=b"")
@example(data=b"\x89PNG\r\n\x1a\n")
@example(data=b"\xff\xd8\xff")
@example(data=b"\x00" * 128 + b"DICM")
def test_arbitrary_bytes(data: bytes) -> None:
    read_and_render(data)


@given(body=st.binary(max_size=1024))
def test_arbitrary_bytes_after_a_dicom_preamble(body: bytes) -> None:
    read_and_render(b"\x00" * 128 + b"DICM" + body)


# --------------------------------------------------------------------------- header values

# Raw values are written as they are, whatever their VR says: wrong lengths, text in numbers.
_TEXT_VALUES = st.sampled_from(
    [
        b"",
        b" ",
        b"0",
        b"1",
        b"-1",
        b"nan",
        b"inf",
        b"-inf",
        b"1e308",
        b"abc",
        b"1\\2",
        b"1\\2\\3",
        b"0\\0",
        b"\\",
        b"99999999",
        b"-0",
        b"SR",
        b"SEG",
        b"YES",
        b"PALETTE COLOR",
        b"MONOCHROME1",
        b"RGB",
        b"YBR_FULL_422",
        b"\xff\xfe\x00",
    ]
) | st.binary(max_size=24)


def _us(value: int) -> bytes:
    return struct.pack("<H", value)


_NUMBER_VALUES = (
    st.sampled_from([0, 1, 2, 3, 4, 7, 8, 12, 16, 32, 64, 255, 65535]).map(_us)
    | st.integers(0, 65535).map(_us)
    | st.binary(max_size=6)
)

# (keyword, VR, values): the attributes the reader and renderer interpret.
HEADER_FIELDS: tuple[tuple[str, str, st.SearchStrategy[bytes]], ...] = (
    ("Rows", "US", _NUMBER_VALUES),
    ("Columns", "US", _NUMBER_VALUES),
    ("BitsAllocated", "US", _NUMBER_VALUES),
    ("BitsStored", "US", _NUMBER_VALUES),
    ("HighBit", "US", _NUMBER_VALUES),
    ("PixelRepresentation", "US", _NUMBER_VALUES),
    ("SamplesPerPixel", "US", _NUMBER_VALUES),
    ("PlanarConfiguration", "US", _NUMBER_VALUES),
    ("PhotometricInterpretation", "CS", _TEXT_VALUES),
    ("NumberOfFrames", "IS", _TEXT_VALUES),
    ("RescaleSlope", "DS", _TEXT_VALUES),
    ("RescaleIntercept", "DS", _TEXT_VALUES),
    ("WindowCenter", "DS", _TEXT_VALUES),
    ("WindowWidth", "DS", _TEXT_VALUES),
    ("PixelSpacing", "DS", _TEXT_VALUES),
    ("ImagerPixelSpacing", "DS", _TEXT_VALUES),
    ("Modality", "CS", _TEXT_VALUES),
    ("BurnedInAnnotation", "CS", _TEXT_VALUES),
    ("PatientName", "PN", _TEXT_VALUES),
    ("PatientID", "LO", _TEXT_VALUES),
    ("PatientBirthDate", "DA", _TEXT_VALUES),
    ("StudyDate", "DA", _TEXT_VALUES),
    ("StudyDescription", "LO", _TEXT_VALUES),
    ("SpecificCharacterSet", "CS", _TEXT_VALUES),
    ("SOPInstanceUID", "UI", _TEXT_VALUES),
    ("StudyInstanceUID", "UI", _TEXT_VALUES),
    ("PixelData", "OB", st.binary(max_size=64)),
)
_FIELD_INDEX = st.integers(0, len(HEADER_FIELDS) - 1)


@st.composite
def header_edits(draw: st.DrawFn) -> list[tuple[str, str, bytes | None]]:
    """A few attributes set to raw values (or deleted, None)."""
    edits: list[tuple[str, str, bytes | None]] = []
    for index in draw(st.lists(_FIELD_INDEX, min_size=1, max_size=5, unique=True)):
        keyword, vr, values = HEADER_FIELDS[index]
        value = draw(st.none() | values)
        edits.append((keyword, vr, value))
    return edits


def with_header_edits(data: bytes, edits: list[tuple[str, str, bytes | None]]) -> bytes | None:
    """The file re-written with `edits` applied raw, or None when pydicom cannot write it."""
    try:
        dataset = pydicom.dcmread(io.BytesIO(data), force=True)
        little = dataset.original_encoding[1] is not False
        implicit = dataset.original_encoding[0] is True
        for keyword, vr, value in edits:
            tag = Tag(keyword)
            if value is None:
                if tag in dataset:
                    del dataset[tag]
                continue
            if len(value) % 2:
                value += b" " if vr not in ("US", "OB", "UI") else b"\x00"
            dataset[tag] = RawDataElement(tag, vr, len(value), value, 0, implicit, little)
        buffer = io.BytesIO()
        dataset.save_as(buffer, enforce_file_format=False)
    except Exception:  # the mutation itself is unwritable: not an input the reader can meet
        return None
    return buffer.getvalue()


@given(name=seed_names, edits=header_edits())
def test_header_values(name: str, edits: list[tuple[str, str, bytes | None]]) -> None:
    data = with_header_edits(SEEDS[name], edits)
    assume(data is not None)
    assert data is not None
    read_and_render(data)


# Each was an exception other than ImageError before the reader checked header values. Not
# hypothesis examples: an explicit example that fails `assume` is skipped without a word.
ONCE_ESCAPED: list[tuple[str, list[tuple[str, str, bytes | None]]]] = [
    ("pydicom/CT_small.dcm", [("RescaleSlope", "DS", b"1\\2 ")]),
    ("pydicom/CT_small.dcm", [("RescaleIntercept", "DS", b"a ")]),
    ("pydicom/CT_small.dcm", [("RescaleSlope", "DS", b"nan ")]),
    ("pydicom/CT_small.dcm", [("PixelSpacing", "DS", b"1 ")]),
    ("pydicom/CT_small.dcm", [("WindowCenter", "DS", b"abc ")]),
    ("pydicom/MR_small.dcm", [("WindowWidth", "DS", b"0")]),  # pydicom's ValueError
    ("pydicom/CT_small.dcm", [("Rows", "US", b"\x01\x02\x03")]),
    ("pydicom/MR_small.dcm", [("PhotometricInterpretation", "CS", b"PALETTE COLOR ")]),
    ("pydicom/MR_small.dcm", [("SamplesPerPixel", "US", b"")]),
]


@pytest.mark.parametrize("name, edits", ONCE_ESCAPED)
def test_header_values_that_once_escaped_as_other_errors(
    name: str, edits: list[tuple[str, str, bytes | None]]
) -> None:
    data = with_header_edits(SEEDS[name], edits)
    assert data is not None, "the edited file could not be written: nothing was checked"
    read_and_render(data)


# --------------------------------------------------------------------------- de-identification


def _canary_dataset() -> Dataset:
    dataset = Dataset()
    dataset.file_meta = FileMetaDataset()
    dataset.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    dataset.SOPClassUID = "1.2.840.10008.5.1.4.1.1.7"
    dataset.SOPInstanceUID = generate_uid()
    dataset.StudyInstanceUID = generate_uid()
    dataset.SeriesInstanceUID = generate_uid()
    dataset.Modality = "OT"
    return dataset


# Values a real but odd dataset may hold (valid VRs): unicode names, empty and multi-valued
# elements, sequences, private tags.
_PN = st.text(st.characters(codec="utf-8", exclude_characters="\\\x00"), max_size=40)
_LO = st.text(
    st.characters(codec="utf-8", exclude_characters="\\\x00", exclude_categories=["Cc"]),
    max_size=64,
)
_DA = st.sampled_from(["", "19510617", "20000229", "19000101", "99991231"])


CANARY_STEM = "QUILLFEATHER"  # in every planted value, whole or cut to 16 characters


@st.composite
def weird_datasets(draw: st.DrawFn) -> tuple[Dataset, str, dict[str, str]]:
    """A dataset, its canary, and where the canary was planted (element path -> value)."""
    dataset = _canary_dataset()
    canary = CANARY_STEM + draw(st.text("ABCDEFGHIJ", min_size=4, max_size=8))
    planted: dict[str, str] = {}

    def plant(place: str, value: str) -> str:
        if CANARY_STEM in value:
            planted[place] = value
        return value

    dataset.SpecificCharacterSet = draw(st.sampled_from(["ISO_IR 192", "", "ISO_IR 100"]))
    dataset.PatientName = plant(
        "PatientName", draw(st.sampled_from([canary, f"{canary}^Ada", f"Ada^{canary}^^Dr"]))
    )
    dataset.PatientID = plant("PatientID", draw(st.sampled_from([canary, "", "0"])))
    dataset.PatientBirthDate = draw(_DA)
    dataset.StudyDate = draw(_DA)
    dataset.StudyTime = draw(st.sampled_from(["", "120000", "235959.999999", "00"]))
    dataset.AccessionNumber = plant("AccessionNumber", draw(st.sampled_from(["", canary[:16]])))
    dataset.InstitutionName = draw(_LO)
    dataset.ReferringPhysicianName = draw(_PN)
    other_ids = draw(st.lists(st.sampled_from([canary, "X1", ""]), max_size=3))
    dataset.OtherPatientIDs = other_ids
    if canary in other_ids:
        planted["OtherPatientIDs"] = canary
    dataset.StudyDescription = plant(
        "StudyDescription", draw(st.one_of(_LO, st.just(f"CT for {canary} 19510617")))
    )
    dataset.BurnedInAnnotation = draw(st.sampled_from(["YES", "NO", "", "yes"]))
    if draw(st.booleans()):
        item = Dataset()
        item.PatientName = canary
        item.CodeValue = draw(st.sampled_from(["", "T-D3000"]))
        items = draw(st.integers(0, 3))
        dataset.ReferencedPatientSequence = [item] * items
        for n in range(items):
            planted[f"ReferencedPatientSequence[{n}].PatientName"] = canary
    if draw(st.booleans()):
        block = dataset.private_block(0x0011, "FUZZ PRIVATE", create=True)
        block.add_new(0x01, "LO", canary)
        planted[str(block.get_tag(0x01))] = canary
    return dataset, canary, planted


def element_texts(dataset: Dataset, prefix: str = "") -> dict[str, str]:
    """Every text-valued element of `dataset`, sequences and private tags included, by path
    (`ReferencedPatientSequence[0].PatientName`, `(0011,1001)`)."""
    texts: dict[str, str] = {}
    for element in dataset:
        path = prefix + (element.keyword or str(element.tag))
        if element.VR == "SQ":
            for n, item in enumerate(element.value):
                texts |= element_texts(item, f"{path}[{n}].")
        elif not isinstance(element.value, bytes):
            texts[path] = str(element.value)
    return texts


@given(case=weird_datasets())
def test_deidentify_handles_valid_but_odd_datasets(
    case: tuple[Dataset, str, dict[str, str]],
) -> None:
    """Every planted canary (names, IDs, other IDs, accession, a nested sequence, a private
    tag, the description) is in the dataset before, and in no element of it after."""
    dataset, _, planted = case
    before = element_texts(dataset)
    for place, value in planted.items():  # the premise: the scan sees each planted value
        assert value in before.get(place, ""), f"{place} was not planted"
    burned, description = deidentify(dataset, "fuzz-seed")
    kept = {path: text for path, text in element_texts(dataset).items() if CANARY_STEM in text}
    assert kept == {}, f"planted at {sorted(planted)}; still in {kept}"
    assert description is None or CANARY_STEM not in description
    assert not any(element.tag.is_private for element in dataset)
    del burned


def _save(dataset: Dataset) -> bytes:
    buffer = io.BytesIO()
    dataset.save_as(buffer, enforce_file_format=False)
    return buffer.getvalue()


@given(case=weird_datasets())
def test_odd_datasets_without_pixels_are_refused_in_one_sentence(
    case: tuple[Dataset, str, dict[str, str]],
) -> None:
    dataset, canary, _ = case
    data = _save(dataset)
    with tempfile.TemporaryDirectory(prefix="fuzz-dicom-") as folder:
        path = Path(folder) / "upload.dcm"
        path.write_bytes(data)
        try:
            read_image(path, deid_seed="fuzz-seed")
        except ImageError as exc:
            assert_one_sentence(str(exc))
            assert canary not in str(exc)
        else:
            raise AssertionError("a dataset without pixels was read as an image")
