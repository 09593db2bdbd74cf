"""The `grove` command line."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from pathlib import Path

from engine.check import check_database
from engine.config import EngineConfig
from storage.database import Database


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="grove", description="Grow ranked conversation trees with a community.")
    sub = parser.add_subparsers(dest="command", required=True)

    check = sub.add_parser("check", help="verify a database's invariants; exit 1 if any is broken")
    check.add_argument("--db", required=True, type=Path, help="path of the SQLite database")

    args = parser.parse_args(argv)
    if args.command == "check":
        return asyncio.run(_check(args.db))
    parser.error(f"unknown command {args.command}")
    return 2


async def _check(path: Path) -> int:
    if not path.is_file():
        print(f"grove check: no database at {path}", file=sys.stderr)
        return 2
    db = await Database.open(path, migrate=False)
    try:
        version = await db.schema_version()
        if version == 0:
            print(f"grove check: {path} is not a Grove database (no schema)", file=sys.stderr)
            return 2
        problems = await check_database(db, EngineConfig())
    finally:
        await db.close()
    for line in problems:
        print(line)
    if problems:
        print(f"{len(problems)} violation(s) in {path}", file=sys.stderr)
        return 1
    print(f"{path}: schema version {version}, no violations")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
