"""Content digests of files: one owner for how a file's SHA-256 is read."""

from __future__ import annotations

import hashlib
from pathlib import Path


def sha256_file(path: Path) -> str:
    """The file's SHA-256 (hex), read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


SAMPLE_BLOCKS = 64
SAMPLE_BLOCK_BYTES = 1 << 16


def folder_fingerprint(folder: Path) -> str:
    """A digest of what a model folder holds (documentation and hidden files aside): each
    file's relative name and size, the whole of files up to 4 MiB and 64 evenly spaced 64 KiB
    blocks of larger ones (a weights file of another training differs in every tensor; the
    sample reads 4 MiB of a 90 MB file instead of all of it)."""
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder).as_posix()
        if not path.is_file() or relative.startswith(".") or "/." in relative:
            continue
        if path.suffix.lower() == ".md":  # the model card: documentation
            continue
        size = path.stat().st_size
        digest.update(f"{relative}\0{size}\0".encode())
        with path.open("rb") as handle:
            if size <= SAMPLE_BLOCKS * SAMPLE_BLOCK_BYTES:
                digest.update(handle.read())
                continue
            step = (size - SAMPLE_BLOCK_BYTES) // (SAMPLE_BLOCKS - 1)
            for index in range(SAMPLE_BLOCKS):
                handle.seek(index * step)
                digest.update(handle.read(SAMPLE_BLOCK_BYTES))
    return digest.hexdigest()
