"""The [fast] extra (issue 19): uvloop runs `grove run`'s event loop when installed, asyncio's own otherwise."""

from __future__ import annotations

import asyncio
import sys

import pytest

from bot.runner import fast_loop


def test_without_uvloop_grove_runs_on_asyncios_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "uvloop", None)  # as if not installed: importing it raises ImportError
    assert fast_loop() is None


def test_with_uvloop_grove_runs_on_it() -> None:
    uvloop = pytest.importorskip("uvloop")
    factory = fast_loop()
    assert factory is uvloop.new_event_loop
    with asyncio.Runner(loop_factory=factory) as runner:
        assert runner.run(asyncio.sleep(0, result="ran")) == "ran"
        assert isinstance(runner.get_loop(), uvloop.Loop)
