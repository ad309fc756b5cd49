"""Coverage-guided fuzzing of the image reader with atheris (libFuzzer); not part of pytest.

    .venv/bin/pip install atheris==3.0.0
    .venv/bin/python -m tests.fuzz.atheris_dicom --seconds 60 [libFuzzer options] [CORPUS_DIR]

Starts from pydicom's own small test files (copied into a temporary corpus unless a corpus
folder is given). The property is the one of tests/fuzz/test_fuzz_dicom.py: `read_image` and
rendering either succeed or raise `ImageError` with one sentence; any other exception, or an
input that runs past libFuzzer's per-input timeout, is reported as a crash with its input saved
(`crash-*` / `timeout-*` in the working directory) to be replayed by passing that file.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
import tempfile
import warnings
from pathlib import Path
from typing import Any

MAX_INPUT_BYTES = 65_536
SEED_NAMES = (
    "CT_small.dcm",
    "MR_small.dcm",
    "MR_small_RLE.dcm",
    "MR_small_bigendian.dcm",
    "MR_small_implicit.dcm",
    "JPEG2000.dcm",
    "SC_rgb_small_odd.dcm",
    "SC_rgb_rle_2frame.dcm",
    "image_dfl.dcm",
    "rtplan.dcm",
    "no_meta.dcm",
    "examples_palette.dcm",
)


def _seed_corpus(folder: Path) -> None:
    from pydicom.data import get_testdata_file

    for name in SEED_NAMES:
        found = get_testdata_file(name, download=False)
        if isinstance(found, str) and Path(found).stat().st_size <= MAX_INPUT_BYTES:
            (folder / name).write_bytes(Path(found).read_bytes())


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--seconds", type=int, default=60, help="total fuzzing time")
    options, libfuzzer_args = parser.parse_known_args(argv[1:])

    atheris: Any = importlib.import_module("atheris")  # optional: not a project dependency
    with atheris.instrument_imports():
        import pydicom
        import pydicom.pixels

        from tools.errors import ImageError
        from tools.imaging.decode import read_image, render_frame
    del pydicom

    warnings.simplefilter("ignore")  # pydicom warns about every odd value it meets
    logging.disable(logging.WARNING)
    scratch = Path(tempfile.mkdtemp(prefix="atheris-dicom-"))
    upload = scratch / "upload.dcm"

    def one_input(data: bytes) -> None:
        upload.write_bytes(data)
        try:
            study = read_image(upload, deid_seed="atheris-seed")
            render_frame(study)
        except ImageError as exc:
            message = str(exc)
            if not message or "\n" in message or not message.endswith("."):
                raise AssertionError(f"not one sentence: {message!r}") from None

    corpus_given = any(not arg.startswith("-") for arg in libfuzzer_args)
    if not corpus_given:
        corpus = scratch / "corpus"
        corpus.mkdir()
        _seed_corpus(corpus)
        libfuzzer_args.append(str(corpus))
    libfuzzer_args = [
        f"-max_total_time={options.seconds}",
        f"-max_len={MAX_INPUT_BYTES}",
        "-timeout=20",
        "-rss_limit_mb=4096",
        *libfuzzer_args,
    ]
    atheris.Setup([argv[0], *libfuzzer_args], one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main(sys.argv)
