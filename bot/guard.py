"""What `grove run` checks before it connects (issue 18): one bot per database, a database it can run on, and
logs that never carry an interaction's token.

- `InstanceLock`: an exclusive `flock` on `<database>.lock`, held for the process's life, with the holder's pid in
  the file; a second `grove run` (or `grove simulate`) on the same database is refused with a sentence naming it.
- `preflight`: the database is a Grove database of a schema this code knows and SQLite's `quick_check` finds it
  sound; otherwise one sentence (and `grove run` exits 2) instead of a bot that fails on its first request.
- `RedactTokens`: a logging filter that replaces interaction and webhook tokens (in discord.py's DEBUG request
  lines and anywhere else) with `<token>`.
"""

from __future__ import annotations

import fcntl
import logging
import os
import re
import sqlite3
from pathlib import Path

from storage.database import MEMORY, migrations


class AlreadyRunning(Exception):
    """Another process holds the database's instance lock."""


class InstanceLock:
    def __init__(self, database: str | os.PathLike[str]) -> None:
        self.path = Path(f"{database}.lock")
        self._fd: int | None = None

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)  # as the database itself will be
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 64).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            raise AlreadyRunning(
                f"another Grove (process {holder}) is running on {str(self.path)[: -len('.lock')]}; "
                "stop it first (two bots on one database would hand out every task twice)"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> InstanceLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def preflight(database: str | os.PathLike[str]) -> str | None:
    """Why the bot must not run on this database (one sentence), or None. A missing file is fine: it is created."""
    path = str(database)
    if path == MEMORY or not Path(path).exists():
        return None
    known = len(migrations())
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
    except sqlite3.Error as exc:
        return f"cannot open the database {path}: {exc}"
    try:
        version = int(conn.execute("PRAGMA user_version").fetchone()[0])
        if version > known:
            return (
                f"the database {path} has schema version {version}, newer than this Grove knows ({known}); "
                "run the Grove that wrote it, or a newer one"
            )
        tables = conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
        if version == 0 and tables:
            return f"{path} is an SQLite database but not Grove's; point [database] path at Grove's database"
    except sqlite3.DatabaseError as exc:
        return f"the database {path} is damaged or not a database ({exc}); restore a backup (see grove backup)"
    finally:
        conn.close()
    problems = damage_found(path, limit=5)
    if problems:
        return (
            f"the database {path} is damaged ({'; '.join(problems)[:300]}); restore a backup (see grove backup) "
            "or run grove check for details"
        )
    return None


def damage_found(path: str | os.PathLike[str], *, limit: int) -> list[str]:
    """SQLite's `quick_check` of the file, read-only: at most `limit` findings, one line each (empty when the file
    is sound, or is no SQLite file at all: telling that apart is the caller's business)."""
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
    except sqlite3.Error:
        return []
    try:
        rows = [" ".join(str(r[0]).split()) for r in conn.execute(f"PRAGMA quick_check({int(limit)})")]
    except sqlite3.DatabaseError as exc:
        return [] if "not a database" in str(exc) else [" ".join(str(exc).split())]
    finally:
        conn.close()
    return [] if rows == ["ok"] else rows


_TOKENS = re.compile(r"(/(?:interactions|webhooks)/\d+/)[A-Za-z0-9._\-]{20,}")


class RedactTokens(logging.Filter):
    """Replace the token in interaction and webhook URLs of a log record with `<token>`."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = _TOKENS.sub(r"\1<token>", message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


def redact_logs() -> None:
    """Install `RedactTokens` on every handler of the root logger and on discord.py's loggers."""
    flt = RedactTokens()
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, RedactTokens) for f in handler.filters):
            handler.addFilter(flt)
    for name in ("discord", "discord.http", "discord.webhook.async_"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactTokens) for f in logger.filters):
            logger.addFilter(flt)
