"""A one-line progress bar on a terminal; occasional plain lines otherwise (logs, CI)."""

from __future__ import annotations

import sys
import time
from typing import TextIO


class Progress:
    def __init__(self, label: str, total: int, stream: TextIO | None = None) -> None:
        self.label = label
        self.total = max(1, total)
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self._last = -1
        self._last_step = -1
        self._started = time.monotonic()

    def update(self, current: int, total: int | None = None) -> None:
        if total:
            self.total = max(1, total)
        current = min(current, self.total)
        if current == self._last:
            return
        self._last = current
        elapsed = time.monotonic() - self._started
        if self.tty:
            width = 30
            filled = int(width * current / self.total)
            bar = "█" * filled + "·" * (width - filled)
            self.stream.write(f"\r{bar} {current}/{self.total} {self.label} ({elapsed:.0f}s)")
        else:  # a log, not a terminal: a line every tenth of the way
            step = int(10 * current / self.total)
            if step == self._last_step and current != self.total:
                return
            self._last_step = step
            self.stream.write(f"{current}/{self.total} {self.label} ({elapsed:.0f}s)\n")
        self.stream.flush()

    def done(self) -> None:
        if self.tty:
            self.stream.write("\n")
            self.stream.flush()
