"""Online backup: a consistent copy of a live database (SQLite's backup API), readable by its owner only."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path


class BackupError(Exception):
    pass


def backup(source: Path, target: Path, *, pages_per_step: int = 1024) -> int:
    """Copy `source` to `target` while other connections may keep writing; returns the target's size in bytes.

    The copy goes to a temporary file beside `target` (created 0600) and replaces it only when complete, so
    an interrupted backup never leaves a half-written file under the final name.
    """
    if not source.is_file():
        raise BackupError(f"no database at {source}")
    target = target.resolve()
    if target == source.resolve():
        raise BackupError("the backup must not overwrite the database itself")
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    os.close(os.open(partial, os.O_CREAT | os.O_WRONLY | os.O_EXCL, 0o600))
    try:
        src = sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=30)
        try:
            if src.execute("PRAGMA user_version").fetchone()[0] == 0:
                raise BackupError(f"{source} is not a Grove database (no schema)")
            dst = sqlite3.connect(partial)
            try:
                src.backup(dst, pages=pages_per_step)
                dst.execute("PRAGMA journal_mode=DELETE")  # a single self-contained file
                if dst.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
                    raise BackupError("the copy failed SQLite's integrity check")
            finally:
                dst.close()
        finally:
            src.close()
        os.replace(partial, target)
    except sqlite3.DatabaseError as exc:
        partial.unlink(missing_ok=True)
        raise BackupError(f"{source}: {exc}") from None
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return target.stat().st_size
