"""Size limits that keep a hostile image from exhausting memory, checked before allocating.

Three things can make a small file expensive: a deflated DICOM dataset that inflates to
gigabytes, an element whose stated length runs past the end of the file, and a small compressed
image whose decoded pixels (and the float copies that display makes of them) are huge. Each is
refused with one sentence before the memory is taken:

- a DICOM file may hold at most `MAX_FILE_BYTES`, and a deflated dataset may inflate to at most
  `MAX_INFLATED_BYTES`; inflating stops (and refuses) as soon as the output passes it;
- a read that asks for more than what is left of the file is refused (`LengthCheckedFile`);
- a frame may hold at most `MAX_FRAME_PIXELS` pixels and an image at most `MAX_FRAMES` frames;
- `estimate_peak_bytes` adds up, from the header alone, what decoding and display will hold at
  once; over `MEMORY_BUDGET_BYTES` the image is refused;
- a compressed frame whose codestream states another size than the header's is refused before
  it is decoded (`tools.imaging.codestream`), so the header's size is the size decoded.

Frames are decoded one at a time, when shown or analysed, and only the last `FRAMES_KEPT` are
kept (`tools.imaging.decode.Frames`): the budget is the bytes read from the file plus what one
frame costs to decode and show, so a long multi-frame series costs its file size, not its
decoded size. The budget keeps the peak for any one image under 300 MB above the process's
baseline (measured in `tests/security/test_decompression_bombs.py`).
"""

from __future__ import annotations

import io
import zlib
from typing import Any, BinaryIO

from tools.errors import ImageError

MB = 1024 * 1024
MAX_FRAME_PIXELS = 40_000_000  # one frame (a 40000x40000 PNG is 1.6e9)
MAX_FRAMES = 5_000  # a thin-slice CT runs to about 2,000 frames, a minute of cine US to 3,600
# A DICOM file is read into memory whole and held while its frames are shown: its bytes count
# against the budget, so the cap leaves room under it for decoding and showing one frame (a
# 300-frame 512 x 512 16-bit CT is 150 MB).
MAX_FILE_BYTES = 192 * MB
MAX_INFLATED_BYTES = 128 * MB  # a deflated dataset once inflated (held twice while it is parsed)
MEMORY_BUDGET_BYTES = 256 * MB  # bytes held, one frame decoded and shown, the montage
FRAMES_KEPT = 2  # decoded frames kept for the next look (the middle frame is asked for thrice)
MONTAGE_MAX_FRAMES = 16
INFLATE_CHUNK = 4 * MB
# A read past the end of the file this small is how parsers probe for the end: let it through.
_SHORT_READ = 64 * 1024


class ElementPastEnd(ImageError):
    """An element length larger than what is left of the file (or of the inflated dataset)."""


def too_large(what: str) -> ImageError:
    return ImageError(f"The image is too large to open safely ({what}).")


def inflate_bounded(compressed: BinaryIO, limit: int = MAX_INFLATED_BYTES) -> io.BytesIO:
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


def sample_bytes(bits_allocated: int) -> int:
    """Bytes a decoder gives each sample of `bits_allocated` (or a codestream's precision)."""
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
    """What decoding and display hold at once, from the header: the bytes already in memory
    (the file's, or the encoded pixel data), the decoded frames kept, then the larger of
    decoding one more frame (its decoded copy, its modality values, float32 when mono with a
    rescale or LUT, or the palette's RGB, and pydicom's float64 temporary) and showing one (its
    display temporaries or the encoder's square RGB canvas), and a montage's tiles."""
    frame = rows * columns
    samples = max(samples, 1)
    frames = max(frames, 1)
    decoded = frame * samples * sample_bytes(bits_allocated)
    lut = 0  # pydicom's float64 temporary while the modality LUT is applied
    if photometric == "PALETTE COLOR":
        values = frame * 3 * 2
    elif samples == 1 and rescaled:
        values, lut = frame * 4, frame * 8
    elif photometric.startswith("YBR"):
        values = decoded  # the conversion to RGB works on a copy
    else:
        values = 0  # the decoded frame is the modality values
    kept = values or decoded  # one frame as `Frames` keeps it
    kept_frames = min(frames, FRAMES_KEPT)
    decoding = (kept_frames - 1) * kept + decoded + values + lut  # the oldest is let go first
    # Display: a float32 window or percentile copy and the 8-bit frame; then the encoder's RGB
    # frame, its padded square canvas and Pillow's 4-byte-a-pixel copy of that.
    side = max(rows, columns)
    showing = kept_frames * kept + max(frame * samples * 5, frame * 4 + side * side * 7)
    # A montage holds its 8-bit tiles, the rows of tiles and the whole while they are joined.
    shown = 3 if samples > 1 or photometric == "PALETTE COLOR" else 1
    montage = 0 if frames == 1 else 3 * min(frames, MONTAGE_MAX_FRAMES) * frame * shown
    return held_bytes + max(decoding, showing) + montage


def check_pixels(rows: int, columns: int, frames: int) -> None:
    if rows <= 0 or columns <= 0 or frames <= 0:
        raise ImageError("The image has no pixels.")
    if rows * columns > MAX_FRAME_PIXELS:
        raise ImageError(
            f"The image is too large to open safely ({columns} x {rows} pixels a frame; the "
            f"limit is {MAX_FRAME_PIXELS:,})."
        )
    if frames > MAX_FRAMES:
        raise ImageError(
            f"The image is too large to open safely ({frames:,} frames; the limit is "
            f"{MAX_FRAMES:,})."
        )


def check_budget(peak_bytes: int, rows: int, columns: int, frames: int) -> None:
    if peak_bytes > MEMORY_BUDGET_BYTES:
        raise ImageError(
            f"The image is too large to open safely ({columns} x {rows} x {max(frames, 1)} "
            f"pixels would need about {peak_bytes // MB:,} MB to decode and show; the limit "
            f"is {MEMORY_BUDGET_BYTES // MB} MB)."
        )
