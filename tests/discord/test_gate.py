"""Admission (issue 18): a member sending too much is told when to retry, an overloaded bot says "busy" at once
instead of answering late, and a refused form gives its text back; nothing else happens for a refused one."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bot.config import DiscordSettings, GroveConfig
from bot.gate import Gate
from engine.clock import FakeClock
from tests.discord.test_discord_hostile import changes, snapshot
from tests.discord_env import Env


class Strict(Env):
    """Grove with a small cooldown (3 interactions per 10 s) and room for 2 interactions at work."""

    @property
    def config(self) -> GroveConfig:
        base = super().config
        discord = DiscordSettings(
            api_base_url=self.fake.api_base,
            max_in_flight=2,
            member_interactions_per_window=3,
            member_window_seconds=10,
            heavy_commands_per_minute=10_000,
        )
        return GroveConfig(discord=discord, database=base.database, engine=base.engine)


@pytest.fixture
async def strict(fake_discord, tmp_path: Path):
    env = Strict(fake_discord, tmp_path / "grove.db", FakeClock())
    await env.start()
    try:
        yield env
    finally:
        await env.close()


async def test_a_member_over_the_cooldown_is_told_when_to_retry(strict: Strict) -> None:
    sim = strict.sim
    for _ in range(3):
        assert "Status" in (await sim.slash("status", strict.alice)).text()
    before = snapshot(strict)
    refused = await sim.slash("status", strict.alice)
    assert refused.ephemeral and refused.text() == "Slow down: try again in 10 s."
    assert changes(before, snapshot(strict)) == {}  # turned away before any work
    assert "Status" in (await sim.slash("status", strict.bob)).text()  # others are not slowed down
    strict.clock.advance(10)
    assert "Status" in (await sim.slash("status", strict.alice)).text()
    assert strict.bot.gate.refused["slow"] == 1


async def test_a_refused_form_gives_its_text_back(strict: Strict) -> None:
    sim = strict.sim
    card = await sim.slash("task", strict.alice, type="initial_prompt")
    task_id = card.custom_ids()[0].split(":")[2]
    opened = await sim.click(card.message, f"g:t:{task_id}:write", strict.alice)
    await sim.slash("status", strict.alice)  # the third interaction of the window
    refused = await sim.submit_modal(opened, strict.alice, {"text": "typed while sending too fast"})
    assert "Slow down" in refused.text() and "typed while sending too fast" in refused.text()


async def test_an_overloaded_bot_says_busy_at_once(strict: Strict, monkeypatch: pytest.MonkeyPatch) -> None:
    sim, engine = strict.sim, strict.bot.engine
    release = asyncio.Event()
    availability = type(engine).availability
    working = 0

    async def slow(self, *args, **kwargs):  # a request that takes its time (a slow disk, say)
        nonlocal working
        working += 1
        await release.wait()
        return await availability(self, *args, **kwargs)

    monkeypatch.setattr(type(engine), "availability", slow)
    first = [asyncio.create_task(sim.slash("status", p)) for p in (strict.alice, strict.bob)]
    for _ in range(10_000):  # both requests at work (bounded: a bug must fail, not hang)
        if working == 2:
            break
        await asyncio.sleep(0)
    assert strict.bot.gate.in_flight() >= 2
    busy = await sim.slash("status", strict.carol)
    assert busy.ephemeral and busy.text() == "⏳ Grove is very busy right now; try again in a moment."
    choices = await sim.autocomplete("task", strict.dave, focused="type")
    assert choices == []  # autocomplete under load: no choices rather than a late answer
    release.set()
    for done in await asyncio.gather(*first):
        assert "Status" in done.text()
    assert strict.bot.gate.refused["busy"] == 2


async def test_heavy_commands_have_their_own_cooldown(fake_discord, tmp_path: Path) -> None:
    """/stats and /status draw charts, /config export writes a file: `heavy_commands_per_minute` per member each."""

    class Heavy(Env):
        @property
        def config(self) -> GroveConfig:
            base = super().config
            discord = DiscordSettings(api_base_url=self.fake.api_base, heavy_commands_per_minute=2)
            return GroveConfig(discord=discord, database=base.database, engine=base.engine)

    env = Heavy(fake_discord, tmp_path / "grove.db", FakeClock())
    await env.start()
    try:
        for _ in range(2):
            assert "Score" in (await env.sim.slash("stats", env.alice)).text()
        refused = await env.sim.slash("stats", env.alice)
        assert refused.ephemeral and refused.text() == "Slow down: try again in 60 s."
        assert "Status" in (await env.sim.slash("status", env.alice)).text()  # each heavy command counts apart
        assert "Score" in (await env.sim.slash("stats", env.bob)).text()  # and each member
        env.clock.advance(60)
        assert "Score" in (await env.sim.slash("stats", env.alice)).text()
    finally:
        await env.close()


async def test_a_form_at_work_counts_among_the_interactions_at_work(
    strict: Strict, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Grove takes its forms in an `on_interaction` listener, not a discord.py handler task: the gate counts it."""
    sim, engine = strict.sim, strict.bot.engine
    card = await sim.slash("task", strict.alice, type="initial_prompt")
    task_id = card.custom_ids()[0].split(":")[2]
    opened = await sim.click(card.message, f"g:t:{task_id}:write", strict.alice)
    release, working = asyncio.Event(), asyncio.Event()
    submit = type(engine).save_draft

    async def slow(self, *args, **kwargs):
        working.set()
        await release.wait()
        return await submit(self, *args, **kwargs)

    monkeypatch.setattr(type(engine), "save_draft", slow)  # a form first keeps its text as the draft
    assert strict.bot.gate.in_flight() == 0
    form = asyncio.create_task(sim.submit_modal(opened, strict.alice, {"text": "a prompt written under load"}))
    await asyncio.wait_for(working.wait(), 5)
    assert strict.bot.gate.in_flight() == 1
    release.set()
    assert "a prompt written under load" in (await form).text()


def test_a_saturated_event_loop_shrinks_the_limit_and_a_prompt_one_grows_it_back() -> None:
    """The event loop's lag is the bot's queue: while callbacks run late the gate lets fewer in at once (so those let
    in are answered in time, the rest told "busy" at once); once it is prompt again the limit grows back."""
    gate = Gate(max_in_flight=100, per_member=10_000, window=10, clock=FakeClock().now)
    at_work = 50
    gate.in_flight = lambda: at_work  # type: ignore[method-assign]
    assert gate.admit(1) is None
    for _ in range(5):
        gate.observe_lag(0.4)  # 400 ms late: saturated
    assert int(gate.limit) == 32
    refused = gate.admit(2)
    assert refused is not None and refused.reason == "busy"
    for _ in range(30):
        gate.observe_lag(0.001)
    assert int(gate.limit) == 92 and gate.admit(3) is None
    for _ in range(100):
        gate.observe_lag(0.5)
    assert gate.limit == 8  # never below the floor
    for _ in range(100):
        gate.observe_lag(0.0)
    assert gate.limit == 100  # never above max_in_flight
