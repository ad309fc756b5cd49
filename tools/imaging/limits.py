"""Size limits that keep a hostile image from exhausting memory, checked before allocating.

Three things can make a small file expensive: a deflated DICOM dataset that inflates to
gigabytes, an element whose stated length runs past the end of the file, and a small compressed
image whose decoded pixels (and the float copies that display makes of them) are huge. Each is
refused with one sentence before the memory is taken:

- a DICOM file, or what its deflated dataset inflates to, may hold at most `MAX_DATASET_BYTES`;
  inflating stops (and refuses) as soon as the output passes it;
- a read that asks for more than what is left of the file is refused (`LengthCheckedFile`);
- `estimate_peak_bytes` adds up, from the header alone, what decoding and display will hold at
  once; over `MEMORY_BUDGET_BYTES` the image is refused.

The budget keeps the peak for any one image under 300 MB above the process's baseline (measured
in `tests/security/test_decompression_bombs.py`).
"""

from __future__ import annotations

import io
import zlib
from typing import Any, BinaryIO

from tools.errors import ImageError

MB = 1024 * 1024
MAX_PIXELS = 40_000_000  # per image, all frames together (a 40000x40000 PNG is 1.6e9)
MAX_DATASET_BYTES = 128 * MB  # a DICOM file, or its deflated dataset once inflated
MEMORY_BUDGET_BYTES = 256 * MB  # decoded pixels, their display copies and the encoder canvas
INFLATE_CHUNK = 4 * MB
# A read past the end of the file this small is how parsers probe for the end: let it through.
_SHORT_READ = 64 * 1024


class ElementPastEnd(ImageError):
    """An element length larger than what is left of the file (or of the inflated dataset)."""


def too_large(what: str) -> ImageError:
    return ImageError(f"The image is too large to open safely ({what}).")


def inflate_bounded(compressed: BinaryIO, limit: int = MAX_DATASET_BYTES) -> io.BytesIO:
    """Raw deflate (DICOM's Deflated Explicit VR Little Endian) into memory, refused as soon as
    the output passes `limit`: a 600 MB run of zeros costs `limit`, not 600 MB."""
    inflater = zlib.decompressobj(-zlib.MAX_WBITS)
    output = io.BytesIO()
    pending = b""
    while not inflater.eof:
        if not pending:
            pending = compressed.read(INFLATE_CHUNK)
            if not pending:
                break  # a truncated stream: the parser says what is missing
        try:
            output.write(inflater.decompress(pending, INFLATE_CHUNK))
        except zlib.error:
            raise ImageError("The deflated DICOM dataset is corrupt.") from None
        pending = inflater.unconsumed_tail
        if output.tell() > limit:
            raise too_large(f"its deflated dataset inflates past {limit // MB} MB")
    output.seek(0)
    return output


class LengthCheckedFile(io.RawIOBase):
    """A seekable stream whose reads may not ask for more than what is left of it: an element
    length that runs past the end of the file is refused instead of allocated."""

    def __init__(self, stream: BinaryIO, size: int) -> None:
        super().__init__()
        self._stream = stream
        self._size = size
        self.name = getattr(stream, "name", None)

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        if size is not None and size > _SHORT_READ and size > self._size - self._stream.tell():
            raise ElementPastEnd(
                "The DICOM file states an element length larger than the file itself, so it "
                "is not read."
            )
        return self._stream.read(-1 if size is None else size)

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        return self._stream.seek(offset, whence)

    def tell(self) -> int:
        return self._stream.tell()


def _sample_bytes(bits_allocated: int) -> int:
    for size in (1, 2, 4):
        if bits_allocated <= 8 * size:
            return size
    return 8


def estimate_peak_bytes(
    *,
    rows: int,
    columns: int,
    frames: int,
    samples: int,
    bits_allocated: int,
    photometric: str,
    rescaled: bool,
    held_bytes: int,
) -> int:
    """What decoding and display hold at once, from the header: the encoded bytes already in
    memory, the decoded frames, the modality values (float32, mono with a rescale or LUT) or
    the palette's RGB, one frame's display temporaries, and the encoder's square RGB canvas."""
    frame = rows * columns
    total = frame * max(frames, 1)
    decoded = total * max(samples, 1) * _sample_bytes(bits_allocated)
    lut = 0  # the temporary of one frame while the LUT is applied
    if photometric == "PALETTE COLOR":
        values = total * 3 * 2
    elif samples == 1 and rescaled:
        values, lut = total * 4, frame * 8  # float32 for all frames, one float64 frame
    elif photometric.startswith("YBR"):
        values = decoded  # the conversion to RGB works on a copy
    else:
        values = 0
    held = held_bytes + decoded + values
    # Display: a float32 window or percentile copy and the 8-bit frame; then the encoder's RGB
    # frame, its padded square canvas and Pillow's 4-byte-a-pixel copy of that.
    side = max(rows, columns)
    display = frame * max(samples, 1) * 5
    encoder = frame * 4 + side * side * 7
    return held + max(lut, display, encoder)


def check_pixels(rows: int, columns: int, frames: int) -> None:
    if rows <= 0 or columns <= 0:
        raise ImageError("The image has no pixels.")
    if rows * columns * max(frames, 1) > MAX_PIXELS:
        raise ImageError(
            f"The image is too large to open safely ({columns} x {rows} x {max(frames, 1)} "
            f"pixels; the limit is {MAX_PIXELS:,})."
        )


def check_budget(peak_bytes: int, rows: int, columns: int, frames: int) -> None:
    if peak_bytes > MEMORY_BUDGET_BYTES:
        raise ImageError(
            f"The image is too large to open safely ({columns} x {rows} x {max(frames, 1)} "
            f"pixels would need about {peak_bytes // MB:,} MB to decode and show; the limit "
            f"is {MEMORY_BUDGET_BYTES // MB} MB)."
        )
