"""Full ingest of ../shared/corpora through the CLI, then an unchanged re-ingest.

Each ingest runs `clinassist ingest CORPORA` in a separate process with CLINASSIST_DATA_DIR set to
a fresh directory, so the figures are the command's own: wall time, chunks written, and that
process's peak RSS (from `os.wait4`, through a small launcher so that this process's own memory
does not leak into the figure). The re-ingest must add and remove nothing.

Targets (the issue): full ingest < 10 min, unchanged re-ingest < 30 s, peak RSS < 3 GB.

    python -m bench.ingest_corpus [--corpora DIR] [--data-dir DIR]

`--data-dir` keeps the filled knowledge base there (it must be empty); `python -m bench` uses it to
hand the result to bench.query_latency.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from agent.settings import apply_offline_environment
from bench.common import (
    CORPORA_DIR,
    CORPUS_COLLECTION,
    data_dir_or_temp,
    emit,
    kib_to_mib,
    load_average,
    markdown_table,
    progress,
    verdict,
)

FULL_INGEST_TARGET_S = 600.0
REINGEST_TARGET_S = 30.0
PEAK_RSS_TARGET_MIB = 3 * 1024.0

_CHUNKS_RE = re.compile(r"Chunks: (\d+) added, (\d+) unchanged, (\d+) removed")
_FILES_RE = re.compile(
    r"Ingested (\d+) file\(s\) from .*?: (\d+) new or changed, (\d+) unchanged, (\d+) skipped"
)


@dataclass(frozen=True)
class IngestRun:
    seconds: float
    peak_rss_mib: float
    returncode: int
    stdout: str
    stderr: str
    chunks_added: int
    chunks_unchanged: int
    chunks_removed: int
    files_seen: int
    files_skipped: int

    @property
    def chunks_total(self) -> int:
        return self.chunks_added + self.chunks_unchanged


def cli_command() -> list[str]:
    """The installed `clinassist` script beside this interpreter, else the module (absolute
    paths: the launcher spawns without a PATH search)."""
    script = Path(sys.executable).parent / "clinassist"
    if script.is_file() and os.access(script, os.X_OK):
        return [str(script.absolute())]
    return [str(Path(sys.executable).absolute()), "-m", "ui.cli"]


def child_environment(data_dir: Path) -> dict[str, str]:
    """This environment without any CLINASSIST_* setting of the caller, plus the bench's own."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLINASSIST_")}
    env.update(
        CLINASSIST_DATA_DIR=str(data_dir),
        CLINASSIST_COLLECTION=CORPUS_COLLECTION,
        # No clinassist.toml of the working directory may change the settings measured.
        CLINASSIST_CONFIG=str(data_dir / "no-config.toml"),
    )
    return env


# Linux keeps a process's RSS high-water mark across exec, taking it from the memory it had
# before exec; subprocess starts children with vfork, so a child started straight from this
# (large, model-holding) process would report at least this process's peak. A tiny launcher
# starts the CLI instead and reports that grandchild's own peak, from wait4.
_LAUNCHER = """\
import os, sys
pid = os.posix_spawn(sys.argv[2], sys.argv[2:], os.environ)
_, status, usage = os.wait4(pid, 0)
with open(sys.argv[1], "w") as out:
    out.write(str(usage.ru_maxrss))
sys.exit(os.waitstatus_to_exitcode(status))
"""


def run_cli_ingest(corpora: Path, data_dir: Path) -> IngestRun:
    """`clinassist ingest CORPORA` in a grandchild process; its own peak RSS comes from wait4."""
    import subprocess

    with (
        tempfile.TemporaryFile("w+") as out,
        tempfile.TemporaryFile("w+") as err,
        tempfile.TemporaryDirectory(prefix="clinassist-bench-rss-") as scratch,
    ):
        rss_file = Path(scratch) / "maxrss"
        started = time.perf_counter()
        launcher = [sys.executable, "-I", "-S", "-c", _LAUNCHER, str(rss_file)]
        completed = subprocess.run(
            [*launcher, *cli_command(), "ingest", str(corpora)],
            stdout=out,
            stderr=err,
            stdin=subprocess.DEVNULL,
            env=child_environment(data_dir),
            check=False,
        )
        seconds = time.perf_counter() - started
        maxrss_kib = int(rss_file.read_text()) if rss_file.is_file() else 0
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    chunks = _CHUNKS_RE.search(stdout)
    files = _FILES_RE.search(stdout)
    added, unchanged, removed = (int(g) for g in chunks.groups()) if chunks else (0, 0, 0)
    return IngestRun(
        seconds=seconds,
        peak_rss_mib=kib_to_mib(maxrss_kib),
        returncode=completed.returncode,
        stdout=stdout,
        stderr=stderr,
        chunks_added=added,
        chunks_unchanged=unchanged,
        chunks_removed=removed,
        files_seen=int(files.group(1)) if files else 0,
        files_skipped=int(files.group(4)) if files else 0,
    )


def failure(label: str, run: IngestRun) -> str:
    tail = "\n".join((run.stdout + run.stderr).strip().splitlines()[-15:])
    return f"{label} failed (exit status {run.returncode}):\n\n```\n{tail}\n```"


def report(corpora: Path, full: IngestRun, again: IngestRun) -> str:
    rate = full.chunks_added / full.seconds if full.seconds > 0 else 0.0
    unchanged_ok = again.chunks_added == 0 and again.chunks_removed == 0
    rows = [
        [
            "full ingest: wall time",
            f"{full.seconds:.1f} s",
            f"< {FULL_INGEST_TARGET_S:.0f} s",
            verdict(full.seconds < FULL_INGEST_TARGET_S),
        ],
        ["full ingest: files", f"{full.files_seen} ({full.files_skipped} skipped)", "", ""],
        ["full ingest: chunks added", f"{full.chunks_added:,}", "", ""],
        ["full ingest: chunks/s (whole command)", f"{rate:.1f}", "", ""],
        [
            "full ingest: peak RSS",
            f"{full.peak_rss_mib:,.0f} MB",
            f"< {PEAK_RSS_TARGET_MIB:,.0f} MB",
            verdict(full.peak_rss_mib < PEAK_RSS_TARGET_MIB),
        ],
        [
            "unchanged re-ingest: wall time",
            f"{again.seconds:.1f} s",
            f"< {REINGEST_TARGET_S:.0f} s",
            verdict(again.seconds < REINGEST_TARGET_S),
        ],
        [
            "unchanged re-ingest: chunks added / removed",
            f"{again.chunks_added} / {again.chunks_removed}",
            "0 / 0",
            verdict(unchanged_ok),
        ],
        [
            "unchanged re-ingest: chunks unchanged",
            f"{again.chunks_unchanged:,}",
            f"{full.chunks_total:,}",
            verdict(again.chunks_unchanged == full.chunks_total),
        ],
        [
            "unchanged re-ingest: peak RSS",
            f"{again.peak_rss_mib:,.0f} MB",
            f"< {PEAK_RSS_TARGET_MIB:,.0f} MB",
            verdict(again.peak_rss_mib < PEAK_RSS_TARGET_MIB),
        ],
    ]
    table = markdown_table(["measure", "ours", "target", "status"], rows)
    all_met = all(row[3] == "met" for row in rows if row[3])
    load = load_average()
    return "\n".join(
        [
            f"## Ingest of {corpora} (the CLI in its own process)",
            "",
            f"`{' '.join(Path(c).name for c in cli_command())} ingest {corpora}` into a fresh data "
            f"dir; {os.cpu_count()} CPUs, load average {load} at the end; "
            f"MB = 2^20 bytes (the CLI process's own peak RSS, from wait4).",
            "",
            table,
            "",
            f"Overall: {'all targets met' if all_met else 'NOT all targets met'}.",
        ]
    )


def run(corpora: Path, data_dir: Path) -> tuple[str, bool]:
    """The report, and whether both ingests ran to the end."""
    if any(data_dir.iterdir()):
        raise SystemExit(
            f"ingest_corpus: {data_dir} is not empty; a full ingest needs a fresh one."
        )
    progress(f"ingest_corpus: full ingest of {corpora} (several minutes) ...")
    full = run_cli_ingest(corpora, data_dir)
    if full.returncode != 0:
        return failure("The full ingest", full), False
    progress(f"ingest_corpus: {full.chunks_added} chunks in {full.seconds:.0f} s; re-ingest ...")
    again = run_cli_ingest(corpora, data_dir)
    if again.returncode != 0:
        return failure("The re-ingest", again), False
    return report(corpora, full, again), True


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.ingest_corpus", description="Full and unchanged ingest, via the CLI."
    )
    parser.add_argument("--corpora", type=Path, default=CORPORA_DIR, help="Folder of corpora.")
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help="An empty folder to ingest into and keep (default: a temporary one, removed).",
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    apply_offline_environment()
    args = parse_args(argv)
    if not args.corpora.is_dir():
        print(f"ingest_corpus: {args.corpora} not found; skipped.")
        return 1
    corpora = args.corpora.resolve()
    with data_dir_or_temp(args.data_dir, "ingest") as data_dir:
        text, completed = run(corpora, data_dir)
    emit("ingest_corpus", text)
    return 0 if completed else 1


if __name__ == "__main__":
    raise SystemExit(main())
