"""Reading EHR exports: the 15 shared Synthea records (0.5-1.5 MB), and one grown to 20 MB.

For each record: `read_case` (JSON parsing, resource-by-resource validation of the types the
tools read, the FHIR rules, the case) beside the baseline a first reader would write, validating
the whole Bundle with `fhir.resources` (`Bundle.model_validate`, every Claim and Encounter
included) before reading anything. Timed once per record after one warm-up read (imports, the
UCUM registry); the first read of a process, with its imports, is shown apart.

Target (the issue): a 1.5 MB Synthea bundle is read in under 2 s on this machine.

    python -m bench.fhir_read
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Sequence
from pathlib import Path

from agent.settings import apply_offline_environment
from bench.common import SHARED_DIR, emit, load_average, markdown_table, percentile, verdict

SYNTHEA_DIR = SHARED_DIR / "data" / "fhir-synthea-sample"
TARGET_S = 2.0
GROWN_BYTES = 20_500_000  # counted per entry; the dumped text comes out a little smaller


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.fhir_read", description=__doc__)
    parser.add_argument("--folder", type=Path, default=SYNTHEA_DIR, help="FHIR records (*.json).")
    return parser.parse_args(argv)


def grown(text: str) -> str:
    """The record with older copies of its observations added until it is 20 MB."""
    data = json.loads(text)
    observations = [e for e in data["entry"] if e["resource"]["resourceType"] == "Observation"]
    size, copies = len(text), 0
    while size < GROWN_BYTES:
        for entry in observations:
            copy = json.loads(json.dumps(entry))
            copy["resource"]["id"] = f"copy-{copies}"
            copy["resource"]["effectiveDateTime"] = "1990-01-01T00:00:00+00:00"
            data["entry"].append(copy)
            size += len(json.dumps(copy)) + 2
            copies += 1
    return json.dumps(data)


def main(argv: Sequence[str] | None = None) -> int:
    apply_offline_environment()
    args = parse_args(argv)
    files = sorted(args.folder.glob("*.json"))
    if not files:
        print(f"bench.fhir_read: no records in {args.folder}; skipped.")
        return 1
    from fhir.resources.R4B.bundle import Bundle

    from agent.case import read_case

    texts = [(path, path.read_text(encoding="utf-8")) for path in files]
    started = time.perf_counter()
    read_case(texts[0][1])
    cold = time.perf_counter() - started
    ours: list[float] = []
    baseline: list[float] = []
    largest = max(texts, key=lambda item: len(item[1]))
    for _, text in texts:
        started = time.perf_counter()
        read_case(text)
        ours.append(time.perf_counter() - started)
        started = time.perf_counter()
        Bundle.model_validate(json.loads(text))
        baseline.append(time.perf_counter() - started)
    big = grown(largest[1])
    started = time.perf_counter()
    read_case(big)
    big_ours = time.perf_counter() - started
    started = time.perf_counter()
    Bundle.model_validate(json.loads(big))
    big_baseline = time.perf_counter() - started
    largest_s = ours[texts.index(largest)]

    def cell(values: list[float]) -> str:
        return f"{percentile(values, 50):.3f} / {max(values):.3f}"

    rows = [
        [f"{len(texts)} Synthea records: `read_case`", cell(ours), cell(baseline)],
        [
            f"largest ({len(largest[1]) / 1e6:.1f} MB)",
            f"{largest_s:.3f}",
            verdict(largest_s < TARGET_S) + f" (< {TARGET_S:g} s)",
        ],
        ["first read of a process (imports, UCUM)", f"{cold:.3f}", "—"],
        [f"one record grown to {len(big) / 1e6:.0f} MB", f"{big_ours:.2f}", f"{big_baseline:.2f}"],
    ]
    text = "\n".join(
        [
            f"Reading FHIR records (load average {load_average()}):",
            "",
            markdown_table(
                ["record", "ours: p50 / max (s)", "baseline: whole-Bundle validation (s)"], rows
            ),
        ]
    )
    emit("fhir_read", text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
