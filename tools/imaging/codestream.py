"""What a compressed DICOM frame says about its own size, checked before any decoder runs.

A decoder allocates the size its codestream states (a JPEG's SOF, a JPEG-LS SOF55, a JPEG 2000
SIZ), not the size the DICOM header states; pydicom compares the two only after decoding. A file
whose header says 64 x 64 around a 7900 x 10000 JPEG passes every header check in
`tools.imaging.limits` and then decodes at full size. So, for the one frame about to be decoded,
its encoded bytes are taken from the encapsulated pixel data (no decoding) and what it states is
compared with the header's Rows, Columns and Samples per Pixel (and its precision with Bits
Allocated): any difference is refused. An RLE frame states no size, but pydicom decodes each of
its segments whole before comparing lengths, so the segments' runs are added up first and a
segment that decodes to more than the header's rows x columns (with a little slack for padding)
is refused.

pydicom's JPEG/JPEG-LS header parser (`pydicom.pixels.utils._get_jpg_parameters`) is private;
it is used in one place, `_jpeg_stated`. The JPEG 2000 SIZ marker is parsed here:
`get_j2k_parameters` reads no dimensions, and it loops forever on a JP2 box of length 0 (which
pydicom's decoders call it on, so such a frame is refused here before they do).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

from tools.errors import ImageError
from tools.imaging.limits import sample_bytes

_JPEG_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF, 0xF7}
_JPEG_DHP = 0xDE  # hierarchical JPEG: its frames may be smaller than the image
_JPEG_STANDALONE = {0x01, *range(0xD0, 0xD8)}  # TEM, RST0-7: markers without a length
_RLE_SLACK = 1024  # bytes a segment may decode to past rows x columns (padding)


@dataclass(frozen=True)
class Stated:
    """A codestream's own account of its size."""

    rows: int
    columns: int
    samples: int
    precision: int


def check_encoded_frame(
    dataset: Any, index: int, *, rows: int, columns: int, samples: int, bits_allocated: int
) -> None:
    """Refuse frame `index` of an encapsulated dataset when its codestream states a size other
    than the header's; a native (uncompressed) dataset, or a compression not checked here, is
    left to pydicom, which reads a native frame's length from the header."""
    from pydicom.uid import (
        JPEG2000TransferSyntaxes,
        JPEGLSTransferSyntaxes,
        JPEGTransferSyntaxes,
        RLELossless,
    )

    # Membership only: a damaged UID makes pydicom's `is_encapsulated` raise (the fuzz suite).
    syntax = getattr(getattr(dataset, "file_meta", None), "TransferSyntaxUID", None)
    if syntax in JPEGTransferSyntaxes or syntax in JPEGLSTransferSyntaxes:
        parse = _jpeg_stated
    elif syntax in JPEG2000TransferSyntaxes:
        parse = _j2k_stated
    elif syntax == RLELossless:
        _check_rle(_encoded_frame(dataset, index), rows=rows, columns=columns)
        return
    else:
        return  # native, or no decoder for it in pydicom: decoding says so
    stated = parse(_encoded_frame(dataset, index))
    if stated is None:
        raise ImageError(
            "The compressed DICOM frame does not state its size in a form that can be checked, "
            "so it is not decoded."
        )
    if (stated.rows, stated.columns, stated.samples) != (rows, columns, samples):
        raise ImageError(
            f"The compressed DICOM frame states {stated.columns} x {stated.rows} pixels of "
            f"{stated.samples} sample(s) but the header states {columns} x {rows} pixels of "
            f"{samples} sample(s), so it is not decoded."
        )
    if sample_bytes(stated.precision) > sample_bytes(bits_allocated):
        raise ImageError(
            f"The compressed DICOM frame holds {stated.precision}-bit samples but the header "
            f"allocates {bits_allocated} bits, so it is not decoded."
        )


def _encoded_frame(dataset: Any, index: int) -> bytes:
    """Frame `index`'s encoded bytes, as pydicom's decoders find them (no decoding)."""
    from pydicom.encaps import get_frame

    try:
        extended = None
        if "ExtendedOffsetTable" in dataset and "ExtendedOffsetTableLengths" in dataset:
            extended = (dataset.ExtendedOffsetTable, dataset.ExtendedOffsetTableLengths)
        return get_frame(
            dataset.PixelData,
            index,
            extended_offsets=extended,
            number_of_frames=int(dataset.get("NumberOfFrames") or 1),
        )
    except Exception as exc:  # offsets or items pydicom cannot follow
        raise ImageError(
            f"The DICOM pixel data cannot be decoded ({type(exc).__name__}); the file may be "
            "truncated or corrupt."
        ) from None


def _jpeg_stated(src: bytes) -> Stated | None:
    """A JPEG's or JPEG-LS's frame header (SOF), through pydicom's parser; None when there is
    none before the scan, or the codestream is hierarchical (its frames are not the image)."""
    from pydicom.pixels.utils import _get_jpg_parameters  # private: used only here

    if _jpeg_is_hierarchical(src):
        return None
    info = _get_jpg_parameters(src)
    try:
        return Stated(
            rows=int(info["height"]),
            columns=int(info["width"]),
            samples=int(info["components"]),
            precision=int(info["precision"]),
        )
    except (KeyError, TypeError, ValueError):
        return None


def _jpeg_is_hierarchical(src: bytes) -> bool:
    """Whether a DHP marker comes before the first frame header: the markers are walked by their
    lengths, each step moving forward, so the walk ends within the codestream."""
    offset = 2
    end = len(src) - 4
    while offset < end:
        if src[offset] != 0xFF:
            return False  # not a marker: pydicom's parser finds no SOF either
        marker = src[offset + 1]
        if marker == 0xFF:  # a fill byte
            offset += 1
        elif marker == _JPEG_DHP:
            return True
        elif marker in _JPEG_SOF:
            return False
        elif marker in _JPEG_STANDALONE:
            offset += 2
        else:
            offset += 2 + int.from_bytes(src[offset + 2 : offset + 4], "big")
    return False


def _j2k_stated(src: bytes) -> Stated | None:
    """A JPEG 2000 codestream's SIZ marker (ISO/IEC 15444-1 A.5.1), inside a JP2 wrapper or
    not: the image area less its offset, the component count and the first one's precision."""
    offset = 0
    if src[4:8] == b"jP  ":  # JP2 boxes: walk to the contiguous codestream box
        while True:
            if offset + 8 > len(src):
                return None
            length = int.from_bytes(src[offset : offset + 4], "big")
            if src[offset + 4 : offset + 8] == b"jp2c":
                offset += 8
                break
            if length < 8:  # 0 (to the end), 1 (a 64-bit length) or damaged: no codestream
                return None
            offset += length
    siz = src[offset : offset + 43]
    if len(siz) < 43 or siz[0:4] != b"\xff\x4f\xff\x51":
        return None
    xsiz, ysiz, xosiz, yosiz = (
        int.from_bytes(siz[start : start + 4], "big") for start in (8, 12, 16, 20)
    )
    return Stated(
        rows=ysiz - yosiz,
        columns=xsiz - xosiz,
        samples=int.from_bytes(siz[40:42], "big"),
        precision=(siz[42] & 0x7F) + 1,
    )


def _check_rle(src: bytes, *, rows: int, columns: int) -> None:
    """Each RLE segment holds one byte of every pixel: its runs may add up to rows x columns
    (and a little padding), not more. Malformed headers are left to pydicom, which refuses
    them."""
    if len(src) < 64:
        return
    count = int.from_bytes(src[:4], "little")
    if not 1 <= count <= 15:
        return
    offsets = [int.from_bytes(src[4 + 4 * i : 8 + 4 * i], "little") for i in range(count)]
    offsets.append(len(src))
    limit = rows * columns + _RLE_SLACK
    view = memoryview(src)
    for start, stop in itertools.pairwise(offsets):
        if _rle_decoded_length(view[start:stop], limit) > limit:
            raise ImageError(
                f"The RLE-compressed DICOM frame decodes to more than the header's {columns} x "
                f"{rows} pixels, so it is not decoded."
            )


def _rle_decoded_length(segment: memoryview, limit: int) -> int:
    """The bytes a PackBits segment decodes to, counted run by run; stops past `limit`."""
    total = position = 0
    end = len(segment)
    while position < end and total <= limit:
        header = segment[position]
        if header > 128:  # the next byte, 257 - header times
            total += 257 - header
            position += 2
        elif header < 128:  # the next header + 1 bytes, literally
            total += header + 1
            position += header + 2
        else:  # 128: no operation
            position += 1
    return total
