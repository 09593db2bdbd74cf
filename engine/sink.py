"""The file an export writes: gzip or plain, written on a thread of its own, owner-only, renamed into place."""

from __future__ import annotations

import os
import shutil
import tempfile
import zlib
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from types import TracebackType

GZIP_LEVEL = 1  # issue 19: a few percent larger than level 6, several times faster to write


class Sink:
    """The output file, gzip when its name ends in .gz (with no name or time in the header, so the same content
    gives the same bytes). Encoding, compressing and writing run on a thread of their own. The file is written
    owner-only under a temporary name beside it and renamed into place once complete, so a reader never sees half
    an export, a failed export leaves nothing, and a symbolic link at `path` is replaced, never followed."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._path = path
        fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")  # mode 0600
        self._temp = Path(temp)
        self._file = os.fdopen(fd, "wb")  # closed in __exit__
        self._zip = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, 31) if path.name.endswith(".gz") else None
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="grove-export")
        self._pending: deque[Future[None]] = deque()

    def __enter__(self) -> Sink:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        done = False
        try:
            while self._pending:
                self._pending.popleft().result()
            if self._zip is not None:
                self._file.write(self._zip.flush())
            self._file.flush()
            os.fsync(self._file.fileno())
            done = kind is None
        finally:
            self._pool.shutdown()
            self._file.close()
            if done:
                os.replace(self._temp, self._path)
            else:
                self._temp.unlink(missing_ok=True)

    @property
    def folder(self) -> Path:
        return self._path.parent

    @property
    def gzip(self) -> bool:
        return self._zip is not None

    def append(self, part: Path) -> None:
        """Copy a file written by another `Sink` of the same kind to the end, as it is: a gzip file is a series of
        gzip members, so a compressed part is appended without compressing it again."""
        while self._pending:
            self._pending.popleft().result()
        if self._zip is not None:
            self._file.write(self._zip.flush())  # ends this sink's member; a new one starts after the part
            self._zip = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, 31)
        with part.open("rb") as f:
            shutil.copyfileobj(f, self._file, 1 << 20)

    def write(self, text: str) -> None:
        if text:
            self.write_bytes(text.encode())

    def write_bytes(self, data: bytes) -> None:
        if not data:
            return
        while len(self._pending) >= 4:  # bounded: memory stays flat
            self._pending.popleft().result()
        self._pending.append(self._pool.submit(self._put, data))

    def _put(self, data: bytes) -> None:
        if self._zip is not None:
            data = self._zip.compress(data)
        if data:
            self._file.write(data)
