"""Offline Discord for tests: a fake REST API, a fake gateway, payload factories and an interaction simulator."""

from __future__ import annotations

import logging
import re
import traceback
from collections.abc import Iterable


class DiscordErrorLog(logging.Handler):
    """Collects ERROR+ records from the ``discord`` logger tree (and any other logger names given).

    discord.py only *logs* exceptions raised in commands, views, modals and listeners; install this to notice them::

        log = DiscordErrorLog("bot", "cogs").install()
        ...
        log.uninstall()
        log.assert_clean()
    """

    def __init__(self, *names: str, level: int = logging.ERROR) -> None:
        super().__init__(level)
        self.names: tuple[str, ...] = ("discord", *names)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record not in self.records:  # nested logger names would see it twice
            self.records.append(record)

    def install(self) -> DiscordErrorLog:
        for name in self.names:
            logging.getLogger(name).addHandler(self)
        return self

    def uninstall(self) -> None:
        for name in self.names:
            logging.getLogger(name).removeHandler(self)

    def __enter__(self) -> DiscordErrorLog:
        return self.install()

    def __exit__(self, *exc: object) -> None:
        self.uninstall()

    def clear(self) -> None:
        self.records.clear()

    def pop(self, pattern: str) -> list[logging.LogRecord]:
        """Remove and return the records whose message or exception text matches ``pattern`` (expected errors)."""
        hit = [r for r in self.records if re.search(pattern, self.describe([r]))]
        self.records = [r for r in self.records if r not in hit]
        return hit

    @staticmethod
    def describe(records: Iterable[logging.LogRecord]) -> str:
        out = []
        for r in records:
            out.append(f"{r.levelname} {r.name}: {r.getMessage()}")
            if r.exc_info and r.exc_info[1] is not None:
                out.append("".join(traceback.format_exception(r.exc_info[1])).rstrip())
        return "\n".join(out)

    def assert_clean(self) -> None:
        if self.records:
            raise AssertionError(f"{len(self.records)} error(s) were logged:\n{self.describe(self.records)}")


from tests.fakes import payloads  # noqa: E402
from tests.fakes.discord_api import Call, FakeDiscord, message_text, use_route_base  # noqa: E402
from tests.fakes.gateway import FakeGateway, use_gateway  # noqa: E402
from tests.fakes.payloads import Person  # noqa: E402
from tests.fakes.simulator import Exchange, Simulator  # noqa: E402

__all__ = [
    "Call",
    "DiscordErrorLog",
    "Exchange",
    "FakeDiscord",
    "FakeGateway",
    "Person",
    "Simulator",
    "message_text",
    "payloads",
    "use_gateway",
    "use_route_base",
]
