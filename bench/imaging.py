"""Imaging: decode+render per file type, encoder throughput, similar-image search, probe AUROC.

1. Decode + render: `read_image` (de-identification included) and `render_frame` for every
   sample DICOM and a PNG and JPEG, median of 5; beside it the baseline a script would write,
   `pydicom.dcmread(...).pixel_array` (no de-identification, no LUTs, no windowing) or
   `PIL.Image.open` + `numpy.asarray`.
2. Encoder images/s at batch 1 and 32 (preprocessing included), ours (channels-last) beside
   the same EfficientNet-Lite0 in the default memory layout.
3. Similar-image search latency (k=5, 100 queries) with 1k and 100k stored vectors (synthetic,
   1280-d, normalised) in the Chroma image index, beside exact numpy brute force.
4. Linear probe on `cxr-nih1000-64px` (train 600 / valid 200 / test 200): test AUROC with a
   bootstrap 95% interval, beside the majority-class and raw-pixel logistic-regression
   baselines (the same C grid chosen on valid).

    python -m bench.imaging [--sizes 1000 100000] [--skip-probe]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from agent.settings import apply_offline_environment
from bench.common import SHARED_DIR, emit, load_average, markdown_table, percentile, progress

SAMPLES = SHARED_DIR / "images" / "dicom-samples"
CXR = SHARED_DIR / "images" / "cxr-nih1000-64px"
FULLRES = SHARED_DIR / "images" / "cxr-sample-fullres" / "nih_00000001_000_512px.png"
REPEATS = 5
QUERIES = 100


def median_ms(fn: Callable[[], object], repeats: int = REPEATS) -> float:
    fn()  # warm-up: decoders and plugins load on first use
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def decode_table(workdir: Path) -> str:
    import pydicom
    from PIL import Image

    from tools.errors import ImageError
    from tools.imaging.decode import read_image, render_frame

    files = sorted(SAMPLES.glob("*.dcm"))
    if FULLRES.exists():
        png = workdir / "cxr_512.png"
        png.write_bytes(FULLRES.read_bytes())
        jpeg = workdir / "cxr_512.jpg"
        Image.open(FULLRES).convert("L").save(jpeg, quality=90)
        files += [png, jpeg]
    rows = []
    for path in files:
        try:
            study = read_image(path)
        except ImageError:
            continue  # SR / SEG: no image to render
        label = f"{study.modality or study.kind.value.upper()} {study.columns}x{study.rows}"
        if study.frames > 1:
            label += f"x{study.frames}"
        if study.kind.value == "dicom":
            syntax = pydicom.dcmread(path, stop_before_pixels=True).file_meta.TransferSyntaxUID
            label += f" {syntax.name}"

            def baseline(path: Path = path) -> object:
                return pydicom.dcmread(path).pixel_array
        else:

            def baseline(path: Path = path) -> object:
                with Image.open(path) as image:
                    return np.asarray(image)

        def ours(path: Path = path) -> object:
            loaded = read_image(path, deid_seed="bench")
            return render_frame(loaded, loaded.frames // 2)

        rows.append([path.name, label, f"{median_ms(baseline):.1f}", f"{median_ms(ours):.1f}"])
    return markdown_table(
        ["file", "type", "baseline read (ms)", "ours: read + de-id + render (ms)"], rows
    )


def encoder_table() -> str:
    import torch
    from efficientnet_lite_pytorch import EfficientNet

    from tools.imaging.encoders import EfficientNetLite0Encoder, load_encoder

    ours = load_encoder()
    assert isinstance(ours, EfficientNetLite0Encoder)
    plain = EfficientNet.from_name("efficientnet-lite0")
    plain.load_state_dict(
        torch.load(ours.weights_file(), map_location="cpu", weights_only=True), strict=True
    )
    plain.eval()
    rng = np.random.default_rng(0)
    images = [rng.integers(0, 255, (512, 512), dtype=np.uint8) for _ in range(32)]

    def baseline(batch: Sequence[np.ndarray]) -> object:
        with torch.inference_mode():
            tensor = ours._batch(batch).contiguous()  # the default (channels-first) layout
            return plain.extract_features(tensor).mean(dim=(2, 3))

    rows = []
    for size in (1, 32):
        batch = images[:size]

        def run_baseline(batch: Sequence[np.ndarray] = batch) -> object:
            return baseline(batch)

        def run_ours(batch: Sequence[np.ndarray] = batch) -> object:
            return ours.encode(batch)

        base = size / (median_ms(run_baseline, 3) / 1000)
        fast = size / (median_ms(run_ours, 3) / 1000)
        rows.append([f"batch {size}", f"{base:.1f}", f"{fast:.1f}", f"{fast / base:.2f}x"])
    return markdown_table(
        ["EfficientNet-Lite0, 512 px in", "default layout (img/s)", "ours (img/s)", "speed-up"],
        rows,
    )


def search_table(sizes: Sequence[int], workdir: Path) -> str:
    from tools.imaging.encoders import EncoderInfo
    from tools.imaging.similar import ImageIndex

    dim = 1280
    rng = np.random.default_rng(0)
    rows = []
    for size in sizes:
        info = EncoderInfo(f"bench-{size}", dim, "synthetic", "none", True, False)
        index = ImageIndex(data_dir=workdir / f"idx{size}", collection="bench-images", encoder=info)
        vectors = rng.standard_normal((size, dim)).astype(np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        start = time.perf_counter()
        for offset in range(0, size, 1000):
            part = vectors[offset : offset + 1000]
            ids = [f"v{offset + i}" for i in range(len(part))]
            index.add(ids, part, [{"dataset": "synthetic", "path": i} for i in ids])
            progress(f"  stored {offset + len(part)}/{size}")
        fill_s = time.perf_counter() - start
        queries = rng.standard_normal((QUERIES, dim)).astype(np.float32)
        queries /= np.linalg.norm(queries, axis=1, keepdims=True)
        index.similar(queries[0], 5)
        ours, brute = [], []
        for query in queries:
            t0 = time.perf_counter()
            index.similar(query, 5)
            t1 = time.perf_counter()
            np.argpartition(-(vectors @ query), 5)[:5]
            t2 = time.perf_counter()
            ours.append((t1 - t0) * 1000)
            brute.append((t2 - t1) * 1000)
        rows.append(
            [
                f"{size:,}",
                f"{percentile(brute, 50):.2f} / {percentile(brute, 95):.2f}",
                f"{percentile(ours, 50):.2f} / {percentile(ours, 95):.2f}",
                f"{fill_s:.0f}",
            ]
        )
    return markdown_table(
        ["stored images", "numpy brute force p50/p95 (ms)", "Chroma p50/p95 (ms)", "fill (s)"],
        rows,
    )


def probe_table() -> str:
    from PIL import Image
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    from tools.imaging.encoders import load_encoder
    from tools.imaging.probe import C_GRID, auroc, bootstrap_auroc, labelled_splits, train_probe

    labels_csv = CXR / "labels.csv"
    probe = train_probe(CXR, labels_csv, load_encoder())
    splits = labelled_splits(CXR, labels_csv)
    classes = sorted({label for items in splits.values() for _, label in items})
    x = {
        s: np.stack([np.asarray(Image.open(p).convert("L"), np.float32).ravel() for p, _ in items])
        for s, items in splits.items()
    }
    y = {s: np.array([classes.index(label) for _, label in items]) for s, items in splits.items()}
    scaler = StandardScaler().fit(x["train"])
    best = max(
        (
            LogisticRegression(C=c, max_iter=3000).fit(scaler.transform(x["train"]), y["train"])
            for c in C_GRID
        ),
        key=lambda m: auroc(y["valid"], m.predict_proba(scaler.transform(x["valid"]))),
    )
    raw = bootstrap_auroc(y["test"], best.predict_proba(scaler.transform(x["test"])))
    m = probe.metrics
    rows = [
        ["majority class", "0.500 (constant score)", f"{m.majority_accuracy:.3f}"],
        [
            "raw 64x64 pixels + logistic regression",
            str(raw),
            f"{np.mean(best.predict(scaler.transform(x['test'])) == y['test']):.3f}",
        ],
        [
            f"ours: {probe.encoder} features + linear probe (C={probe.c:g})",
            str(m.test_auroc),
            f"{m.test_accuracy:.3f}",
        ],
    ]
    return markdown_table(["test split (normal vs abnormal)", "AUROC (95% CI)", "accuracy"], rows)


def main(argv: Sequence[str] | None = None) -> int:
    apply_offline_environment()
    parser = argparse.ArgumentParser(prog="python -m bench.imaging")
    parser.add_argument("--sizes", nargs="+", type=int, default=[1000, 100_000])
    parser.add_argument("--skip-probe", action="store_true")
    args = parser.parse_args(argv)
    if not SAMPLES.exists():
        print(f"Imaging benchmarks need {SAMPLES}; it is not present.")
        return 1
    parts = [f"load average before: {load_average()}"]
    with tempfile.TemporaryDirectory(prefix="clinassist-bench-imaging-") as temp:
        workdir = Path(temp)
        progress("decode + render ...")
        parts += ["## Decode + render (median of 5)", decode_table(workdir)]
        progress("encoder throughput ...")
        parts += ["## Image encoder throughput", encoder_table()]
        progress("similar-image search ...")
        parts += ["## Similar-image search, k=5", search_table(args.sizes, workdir)]
    if not args.skip_probe and (CXR / "labels.csv").exists():
        progress("linear probe ...")
        parts += ["## Linear probe, cxr-nih1000-64px", probe_table()]
    parts.append(f"load average after: {load_average()}")
    emit("imaging", "\n\n".join(parts))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
