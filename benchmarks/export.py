"""Export benchmark: stream a large database to oasst JSON Lines and report time and peak memory.

python -m benchmarks.export                  # 200,000 messages, with labels and events
python -m benchmarks.export --messages 20000
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.bulk import BulkSpec, build
from engine.export import EXPORT_CACHE_MIB, ExportOptions, ExportResult, export
from storage.database import Database


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run(messages: int, keep: Path | None = None) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="grove-export-bench-") as tmp:
        folder = keep or Path(tmp)
        path = folder / f"export-bench-{messages}.sqlite3"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        t = time.perf_counter()
        # Built in a child process, so this process's peak memory is the export's alone.
        child = subprocess.run(
            [sys.executable, "-m", "benchmarks.export", "--build-only", str(path), "--messages", str(messages)],
            check=True,
            cwd=Path(__file__).resolve().parents[1],
            capture_output=True,
            text=True,
        )
        counts = json.loads(child.stdout)
        build_s = time.perf_counter() - t
        rss_before = peak_rss_mb()
        out = folder / "export.jsonl.gz"
        t = time.perf_counter()
        result = asyncio.run(_export(path, out))
        export_s = time.perf_counter() - t
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
        }
    print(json.dumps(summary))
    return summary


async def _export(path: Path, out: Path) -> ExportResult:
    db = await Database.open(path, cache_mib=EXPORT_CACHE_MIB)  # as `grove export` opens it
    try:
        return await export(db, out, ExportOptions(labels=True, events=True))
    finally:
        await db.close()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.export", description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=200_000)
    parser.add_argument("--keep", type=Path, default=None, help="build in this folder and keep the files")
    parser.add_argument("--build-only", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.build_only:
        print(json.dumps(build(str(args.build_only), BulkSpec(messages=args.messages))))
        return
    run(args.messages, args.keep)


if __name__ == "__main__":
    main()
