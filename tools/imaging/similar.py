"""Similar-image search: encoder vectors in their own Chroma collection, with labels and source.

An image's id is the hash of its file bytes, so indexing a folder twice adds nothing. Every file
is decoded (and de-identified) and encoded before anything is written; a file that cannot be
read is reported with one sentence and contributes nothing. A labels CSV is checked as a whole
before the first write, so a bad CSV leaves the index as it was.
"""

from __future__ import annotations

import csv
import dataclasses
import re
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from knowledge.chroma import connect_chroma, guarded_call
from knowledge.digest import sha256_file
from knowledge.errors import KnowledgeError
from knowledge.loaders import read_corpus_descriptor
from knowledge.provenance import SOURCE_FILE, parse_source_text
from knowledge.types import CorpusInfo
from tools.errors import ImageError, ToolError
from tools.imaging.decode import read_image
from tools.imaging.encoders import EncoderInfo, FloatMatrix, ImageEncoder, encoder_pixels

IMAGE_SUFFIXES = frozenset({".dcm", ".dicom", ".png", ".jpg", ".jpeg", ""})
ENCODER_KEY = "clinassist_image_encoder"
INDEX_BATCH = 32
MAX_LABELS_BYTES = 20 * 1024 * 1024
_GITHUB_REF = re.compile(r"\bgithub:([A-Za-z0-9][A-Za-z0-9_-]*/[A-Za-z0-9][A-Za-z0-9._-]*)")


@dataclass(frozen=True)
class SimilarImage:
    """One stored image near the query; `similarity` is cosine similarity (1 = identical)."""

    id: str
    similarity: float
    label: str | None
    dataset: str
    path: str  # relative to the indexed folder
    license: str | None
    source_url: str | None


@dataclass(frozen=True)
class LabelRow:
    label: str
    split: str | None  # train / valid / test when the CSV has a split column


@dataclass(frozen=True)
class SkippedImage:
    path: str
    reason: str


@dataclass
class ImageIndexReport:
    indexed: int = 0
    unchanged: int = 0
    skipped: list[SkippedImage] = field(default_factory=list)
    labels: Counter[str] = field(default_factory=Counter)


def file_id(path: Path) -> str:
    return sha256_file(path)[:32]


def image_files(directory: Path) -> list[Path]:
    """Candidate image files under `directory` (DICOM often has no suffix), sorted."""
    if not directory.is_dir():
        raise ToolError(f"{directory} is not a folder.")
    return sorted(
        path
        for path in directory.rglob("*")
        if path.is_file()
        and path.suffix.lower() in IMAGE_SUFFIXES
        and not path.name.startswith(".")
        and path.name not in ("LICENSE", "README", "SOURCE")
    )


def read_labels(csv_path: Path) -> dict[Path, LabelRow]:
    """`path,label[,split]` rows (other columns ignored), paths relative to the CSV's folder,
    keyed by resolved path; the whole file is checked before anything uses it."""
    root = csv_path.parent
    try:
        if csv_path.stat().st_size > MAX_LABELS_BYTES:
            raise ToolError(f"The labels file {csv_path.name} is larger than 20 MB.")
        with csv_path.open(encoding="utf-8", newline="") as handle:
            reader = csv.DictReader(handle)
            columns = set(reader.fieldnames or ())
            if not {"path", "label"} <= columns:
                raise ToolError(
                    f"The labels file {csv_path.name} needs the columns path and label "
                    f"(it has: {', '.join(sorted(columns)) or 'none'})."
                )
            labels: dict[Path, LabelRow] = {}
            for line, row in enumerate(reader, start=2):
                relative, label = (row.get("path") or "").strip(), (row.get("label") or "").strip()
                if not relative or not label:
                    raise ToolError(f"Line {line} of {csv_path.name} lacks a path or a label.")
                split = (row.get("split") or "").strip().lower() or None
                labels[(root / relative).resolve()] = LabelRow(label, split)
    except UnicodeDecodeError:
        raise ToolError(f"The labels file {csv_path.name} is not UTF-8 text.") from None
    except csv.Error as exc:
        raise ToolError(f"The labels file {csv_path.name} is not valid CSV ({exc}).") from None
    except OSError as exc:
        raise ToolError(f"The labels file cannot be read ({exc.strerror}).") from None
    missing = [str(path) for path in labels if not path.is_file()]
    if missing:
        raise ToolError(
            f"{len(missing)} path(s) in {csv_path.name} are not files (first: {missing[0]})."
        )
    return labels


class ImageIndex:
    """The Chroma collection of image vectors for one encoder."""

    def __init__(
        self,
        *,
        data_dir: Path,
        collection: str,
        encoder: EncoderInfo,
        chroma_url: str | None = None,
    ) -> None:
        self.chroma_url = chroma_url
        self.encoder = encoder
        # One collection per encoder: vectors of different encoders are not comparable.
        self.collection_name = (
            f"{collection}-{uuid.uuid5(uuid.NAMESPACE_URL, encoder.name).hex[:8]}"
        )
        client = connect_chroma(data_dir, chroma_url)
        self._collection = self._call(
            "opening the image index",
            client.get_or_create_collection,
            name=self.collection_name,
            embedding_function=None,
            configuration={"hnsw": {"space": "cosine"}},
            metadata={ENCODER_KEY: encoder.name},
        )

    def _call(self, what: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
        return guarded_call(self.chroma_url, what, fn, *args, **kwargs)

    def count(self) -> int:
        return int(self._call("counting images", self._collection.count))

    def existing(self, ids: Sequence[str]) -> set[str]:
        if not ids:
            return set()
        found = self._call("reading the image index", self._collection.get, ids=list(ids))
        return set(found["ids"])

    def vectors(self, ids: Sequence[str]) -> dict[str, FloatMatrix]:
        """The stored vectors of those of `ids` the index holds."""
        if not ids:
            return {}
        found = self._call(
            "reading the image index", self._collection.get, ids=list(ids), include=["embeddings"]
        )
        return {
            image_id: np.asarray(vector, dtype=np.float32)
            for image_id, vector in zip(found["ids"], found["embeddings"], strict=True)
        }

    def add(
        self, ids: Sequence[str], vectors: FloatMatrix, metadatas: Sequence[dict[str, Any]]
    ) -> None:
        if len(ids) != len(vectors) or len(ids) != len(metadatas):
            raise KnowledgeError("ids, vectors and metadata differ in length.")
        if len(ids):
            self._call(
                "writing to the image index",
                self._collection.upsert,
                ids=list(ids),
                embeddings=np.asarray(vectors, dtype=np.float32),
                metadatas=list(metadatas),
            )

    def similar(
        self, vector: FloatMatrix, k: int = 5, *, empty_ok: bool = False
    ) -> list[SimilarImage]:
        """The `k` nearest stored images; an empty index is a ToolError, or no hit with
        `empty_ok` (one count either way)."""
        total = self.count()
        if total == 0:
            if empty_ok:
                return []
            raise ToolError("The image index is empty: run clinassist image index DIR first.")
        result = self._call(
            "searching the image index",
            self._collection.query,
            query_embeddings=np.asarray(vector, dtype=np.float32).reshape(1, -1),
            n_results=min(k, total),
            include=["metadatas", "distances"],
        )
        return [
            SimilarImage(
                id=image_id,
                similarity=round(1.0 - float(distance), 4),
                label=metadata.get("label"),
                dataset=str(metadata.get("dataset", "")),
                path=str(metadata.get("path", "")),
                license=metadata.get("license"),
                source_url=metadata.get("source_url"),
            )
            for image_id, distance, metadata in zip(
                result["ids"][0], result["distances"][0], result["metadatas"][0], strict=True
            )
        ]

    def label_counts(self) -> Counter[str]:
        counts: Counter[str] = Counter()
        offset = 0
        while True:
            page = self._call(
                "reading the image index",
                self._collection.get,
                include=["metadatas"],
                limit=5000,
                offset=offset,
            )
            counts.update(str(m.get("label", "(unlabelled)")) for m in page["metadatas"])
            if len(page["ids"]) < 5000:
                return counts
            offset += 5000


def dataset_root(directory: Path, labels_csv: Path | None) -> Path:
    """The dataset a folder belongs to: the labels file's folder when it holds `directory`
    (indexing `train/` of a dataset keeps the dataset's name, paths and SOURCE.txt)."""
    if labels_csv is not None:
        root = labels_csv.parent.resolve()
        if directory.resolve().is_relative_to(root):
            return root
    return directory.resolve()


def dataset_provenance(directory: Path, labels_csv: Path | None) -> CorpusInfo:
    """The dataset's name, licence and source URL from its SOURCE.txt. Image sets gathered from
    several places often state their licences under LICENSES, or write SOURCE.txt as prose
    without fields: then that field, or the whole text, is the licence note, and the first
    `github:owner/name` reference stands for a source URL the file does not give."""
    root = dataset_root(directory, labels_csv)
    source = directory / SOURCE_FILE
    path = source if source.is_file() else root / SOURCE_FILE
    info = read_corpus_descriptor(root.name, path)
    if (info.license and info.source_url) or not path.is_file():
        return info
    try:
        text = path.read_bytes().decode("utf-8-sig", errors="replace")
    except OSError:
        return info
    fields = parse_source_text(text)
    license_note = info.license or fields.get("LICENSES")
    if license_note is None and not fields.fields:
        license_note = " ".join(text.split()) or None
    source_url = info.source_url
    if source_url is None and (match := _GITHUB_REF.search(text)):
        source_url = f"https://github.com/{match.group(1).rstrip('.')}"
    return dataclasses.replace(info, license=license_note, source_url=source_url)


def _batches(items: Sequence[Path], size: int) -> Iterator[Sequence[Path]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def index_images(
    directory: Path,
    index: ImageIndex,
    encoder: ImageEncoder,
    *,
    labels_csv: Path | None = None,
    deid_seed: str | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> ImageIndexReport:
    """Decode, de-identify, encode and store every image under `directory`."""
    files = image_files(directory)
    labels = read_labels(labels_csv) if labels_csv else {}
    root = dataset_root(directory, labels_csv)
    provenance = dataset_provenance(directory, labels_csv)
    report = ImageIndexReport()
    done = 0
    for batch in _batches(files, INDEX_BATCH):
        ids = [file_id(path) for path in batch]
        known = index.existing(ids)
        new_ids: list[str] = []
        pixels = []
        metadatas: list[dict[str, Any]] = []
        for path, image_id in zip(batch, ids, strict=True):
            relative = path.resolve().relative_to(root).as_posix()
            if image_id in known or image_id in new_ids:
                report.unchanged += 1
                continue
            try:
                study = read_image(path, deid_seed=deid_seed)
                pixels.append(encoder_pixels(study))
            except ImageError as exc:
                report.skipped.append(SkippedImage(relative, str(exc)))
                continue
            metadata: dict[str, Any] = {"dataset": provenance.name, "path": relative}
            row = labels.get(path.resolve())
            if row is not None:
                label = row.label
                metadata["label"] = label
                report.labels[label] += 1
            if study.modality:
                metadata["modality"] = study.modality
            if provenance.license:
                metadata["license"] = provenance.license[:500]
            if provenance.source_url:
                metadata["source_url"] = provenance.source_url
            new_ids.append(image_id)
            metadatas.append(metadata)
        index.add(new_ids, encoder.encode(pixels), metadatas)
        report.indexed += len(new_ids)
        done += len(batch)
        if progress is not None:
            progress(done, len(files))
    return report
