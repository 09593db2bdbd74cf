"""A PostgreSQL server for the tests that run on both backends (issue 19).

`GROVE_TEST_POSTGRES_URL` names a server to use (a role that may create databases). Otherwise the tests start
their own throw-away cluster from the PostgreSQL binaries installed on the machine (Debian's `postgresql`
package), on a Unix socket in a temporary folder, and stop it at the end. Without either, the PostgreSQL half of
the suite is skipped with the reason, unless `GROVE_REQUIRE_POSTGRES=1` (as `.ci/run` sets) makes that a failure.
"""

from __future__ import annotations

import concurrent.futures
import glob
import itertools
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest


def _binaries() -> Path | None:
    found = shutil.which("pg_ctl")
    if found:
        return Path(os.path.realpath(found)).parent
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    return Path(versions[-1]).parent if versions else None


def _as_server_user() -> list[str]:
    """PostgreSQL refuses to run as root: run it as the `postgres` account the Debian package creates."""
    if os.geteuid() != 0:
        return []
    return ["runuser", "-u", "postgres", "--"]


class Server:
    def __init__(self, admin_url: str, stop: list[str] | None = None, folder: str | None = None) -> None:
        self.admin_url = admin_url
        self._stop = stop
        self._folder = folder
        self._names = itertools.count(1)
        self._template: str | None = None

    def url(self, database: str) -> str:
        base, _, query = self.admin_url.partition("?")
        base = base.rsplit("/", 1)[0] if base.count("/") > 2 else base
        return f"{base}/{database}" + (f"?{query}" if query else "")

    def _admin(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(sql)  # type: ignore[arg-type]

    def template(self) -> str:
        """A database holding Grove's schema, copied for each test (faster than creating the schema each time)."""
        if self._template is None:
            import asyncio

            from storage.pg.database import PgDatabase

            name = f"grove_template_{os.getpid()}"
            self._admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
            self._admin(f"CREATE DATABASE {name}")

            async def build() -> None:
                db = await PgDatabase.open(self.url(name))
                await db.close()

            with concurrent.futures.ThreadPoolExecutor(1) as pool:  # the tests' own event loop may be running
                pool.submit(asyncio.run, build()).result()
            self._template = name
        return self._template

    def fresh(self) -> tuple[str, str]:
        """(name, url) of a new database with Grove's schema."""
        name = f"grove_t{os.getpid()}_{next(self._names)}"
        self._admin(f"CREATE DATABASE {name} TEMPLATE {self.template()}")
        return name, self.url(name)

    def empty(self) -> tuple[str, str]:
        """(name, url) of a new database without any schema."""
        name = f"grove_e{os.getpid()}_{next(self._names)}"
        self._admin(f"CREATE DATABASE {name}")
        return name, self.url(name)

    def drop(self, name: str) -> None:
        self._admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    def close(self) -> None:
        if self._template is not None:
            self.drop(self._template)
        if self._stop is not None:
            subprocess.run(self._stop, check=False, capture_output=True)
        if self._folder is not None:
            shutil.rmtree(self._folder, ignore_errors=True)


def start() -> Server | None:
    url = os.environ.get("GROVE_TEST_POSTGRES_URL")
    if url:
        return Server(url)
    binaries = _binaries()
    if binaries is None:
        return None
    folder = tempfile.mkdtemp(prefix="grove-pg-")
    os.chmod(folder, 0o777)
    data = os.path.join(folder, "data")
    user = _as_server_user()
    subprocess.run(
        [*user, str(binaries / "initdb"), "-D", data, "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-locale"],
        check=True,
        capture_output=True,
    )
    options = f"-k {folder} -c listen_addresses='' -c fsync=off -c full_page_writes=off -c max_connections=200"
    ctl = str(binaries / "pg_ctl")
    subprocess.run(
        [*user, ctl, "-D", data, "-o", options, "-l", os.path.join(folder, "log"), "-w", "start"],
        check=True,
        capture_output=True,
    )
    admin = f"postgresql://postgres@/postgres?host={quote(folder)}"
    deadline = time.monotonic() + 10
    while True:
        try:
            import psycopg

            psycopg.connect(admin).close()
            break
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
    return Server(admin, [*user, ctl, "-D", data, "-m", "immediate", "stop"], folder)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[Server]:
    server = start()
    if server is None:
        reason = "no PostgreSQL (install Debian's postgresql package, or set GROVE_TEST_POSTGRES_URL)"
        if os.environ.get("GROVE_REQUIRE_POSTGRES") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    yield server
    server.close()


@pytest.fixture
def pg_url(pg_server: Server) -> Iterator[str]:
    """The URL of a fresh database holding Grove's schema, dropped after the test."""
    name, url = pg_server.fresh()
    yield url
    pg_server.drop(name)
