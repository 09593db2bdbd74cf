"""Export benchmark: stream a large database to oasst JSON Lines and report time and peak memory.

python -m benchmarks.export                  # 200,000 messages, with labels and events
python -m benchmarks.export --messages 20000
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from benchmarks.bulk import BulkSpec, build
from engine.export import EXPORT_CACHE_MIB, ExportOptions, ExportResult, export
from storage.database import Database


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class ChildWatch(threading.Thread):
    """Samples the resident memory of this process's children (the --jobs workers) from /proc every 0.1 s."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.peak_mb = 0.0
        self.stop = threading.Event()

    def run(self) -> None:
        me = str(os.getpid())
        while not self.stop.wait(0.1):
            for stat in Path("/proc").glob("[0-9]*/stat"):
                try:
                    fields = stat.read_text().rsplit(")", 1)[1].split()
                    if fields[1] == me:  # ppid
                        status = (stat.parent / "status").read_text()
                        kb = next(int(ln.split()[1]) for ln in status.splitlines() if ln.startswith("VmHWM:"))
                        self.peak_mb = max(self.peak_mb, kb / 1024)
                except (OSError, IndexError, StopIteration, ValueError):
                    continue


def run(messages: int, keep: Path | None = None, jobs: int = 1) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="grove-export-bench-") as tmp:
        folder = keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"export-bench-{messages}.sqlite3"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        t = time.perf_counter()
        # Built in a child process, so this process's peak memory is the export's alone.
        child = subprocess.run(
            [sys.executable, "-m", "benchmarks.export", "--build-only", str(path), "--messages", str(messages)],
            cwd=Path(__file__).resolve().parents[1],
            capture_output=True,
            text=True,
        )
        if child.returncode != 0:  # say why, not only that the build failed
            sys.stderr.write(child.stderr)
            raise SystemExit(f"building the benchmark database failed (exit status {child.returncode})")
        counts = json.loads(child.stdout)
        build_s = time.perf_counter() - t
        rss_before = peak_rss_mb()
        out = folder / "export.jsonl.gz"
        t = time.perf_counter()
        watch = ChildWatch()
        watch.start()
        result = asyncio.run(_export(path, out, jobs))
        export_s = time.perf_counter() - t
        watch.stop.set()
        watch.join()
        summary = {
            "messages": counts["messages"],
            "trees_written": result.trees,
            "messages_written": result.messages,
            "export_s": round(export_s, 1),
            "messages_per_s": round(result.messages / export_s),
            "file_mb": round(out.stat().st_size / 2**20, 1),
            "build_s": round(build_s, 1),
            "rss_mb_before_export": round(rss_before, 1),
            "peak_rss_mb": round(peak_rss_mb(), 1),
            "jobs": jobs,
            "peak_rss_mb_per_worker": round(watch.peak_mb, 1),  # the largest --jobs worker (sampled)
        }
    print(json.dumps(summary))
    return summary


async def _export(path: Path, out: Path, jobs: int) -> ExportResult:
    db = await Database.open(path, cache_mib=EXPORT_CACHE_MIB)  # as `grove export` opens it
    try:
        return await export(db, out, ExportOptions(labels=True, events=True, jobs=jobs))
    finally:
        await db.close()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.export", description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=200_000)
    parser.add_argument("--keep", type=Path, default=None, help="build in this folder and keep the files")
    parser.add_argument("--jobs", type=int, default=1, help="worker processes (grove export --jobs)")
    parser.add_argument("--build-only", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.build_only:
        print(json.dumps(build(str(args.build_only), BulkSpec(messages=args.messages))))
        return
    run(args.messages, args.keep, args.jobs)


if __name__ == "__main__":
    main()
