"""Two bot processes on one PostgreSQL database (issue 19): `grove run --shard-ids 0` and `--shard-ids 1`, each
serving its own server through the fake Discord's gateway, as Discord shards a bot.

Many members of both servers ask at the same moment for the one review slot a prompt has: one of them gets it.
Both processes schedule every job and catch up on the ones that never ran: each runs once in all.
"""

from __future__ import annotations

import asyncio
import signal
import time
from pathlib import Path

import pytest

from benchmarks.discord import HERE, Load, bot_process
from benchmarks.shards import channel_of, global_slash, shard_guilds
from engine import Engine, EngineConfig, TaskType
from storage.pg.database import PgDatabase
from tests.fakes import FakeDiscord, FakeGateway, Person, payloads
from tests.fakes.discord_api import message_text, walk_components

pytestmark = [pytest.mark.slow, pytest.mark.postgresql]

FIRST = 200_000_000_000_000_000
RACERS = 16


async def _community(url: str, guilds: list[int]) -> tuple[str, list[Person]]:
    """A prompt waiting for its one review, the racers (who agreed to the dataset terms), both servers pooled."""
    db = await PgDatabase.open(url)
    try:
        engine = Engine(db, EngineConfig(num_reviews_initial_prompt=1))
        author = await engine.ensure_user("discord", str(FIRST - 1), "author")
        await engine.give_consent(author)
        task = await engine.next_task(author, "en", TaskType.INITIAL_PROMPT)
        prompt = await engine.submit_reply(task.id, author, "What is the last review slot for?")
        racers = [Person(FIRST + i, f"racer{i}") for i in range(RACERS)]
        for p in racers:
            await engine.give_consent(await engine.ensure_user("discord", str(p.id), p.name))
        for gid in guilds:
            await db._conn.execute(
                "INSERT INTO guild_communities (guild_id, community_id, joined_at) VALUES (?, 1, ?)", (gid, time.time())
            )
        assert prompt.message_id is not None
        return prompt.message_id, racers
    finally:
        await db.close()


def _is_card(message: dict) -> bool:
    """A task card: it has the task's buttons (custom ids g:t:<task id>:…), where a refusal has none."""
    return any(str(c.get("custom_id", "")).startswith("g:t:") for c in walk_components(message.get("components") or []))


async def test_two_bot_processes_hand_out_the_last_slot_once_and_run_each_job_once(pg_url: str, tmp_path: Path):
    guild_ids = shard_guilds(2)
    prompt, racers = await _community(pg_url, guild_ids)
    home = {p.id: guild_ids[i % 2] for i, p in enumerate(racers)}
    async with FakeDiscord() as fake:
        guilds = [
            payloads.guild(
                gid,
                channels=[payloads.text_channel(channel_of(gid), gid, "general")],
                members=[payloads.person_member(p, permissions=False) for p in racers if home[p.id] == gid],
            )
            for gid in guild_ids
        ]
        for guild in guilds:
            fake.know_guild(guild)
        gateway = FakeGateway(guilds, fake=fake)
        await gateway.start()
        config = tmp_path / "config.toml"
        config.write_text(
            f'[discord]\napi_base_url = "{fake.api_base}"\ngateway_url = "{gateway.url}"\n'
            f'[database]\nurl = "{pg_url}"\n[engine]\nnum_reviews_initial_prompt = 1\n[logging]\nlevel = "WARNING"\n'
        )
        sync = await bot_process(HERE, config, True, ("sync",))
        _, err = await sync.communicate()
        assert sync.returncode == 0, err.decode()
        bots = [
            await bot_process(HERE, config, True, ("run", "--shard-ids", str(i), "--shard-count", "2")) for i in (0, 1)
        ]
        try:
            async with asyncio.timeout(60):
                while len(gateway.identifies) < 2:  # noqa: ASYNC110 (a count across connections)
                    await asyncio.sleep(0.1)
            assert sorted(i["shard"][0] for i in gateway.identifies) == [0, 1]
            await asyncio.sleep(1.5)  # READY handled: both shards serve

            load = Load(
                fake, lambda p: gateway.dispatch("INTERACTION_CREATE", p), global_slash(fake, lambda p: home[p.id]), 0
            )
            load.install()
            asked = [load.slash("task", p, type=TaskType.LABEL_INITIAL_PROMPT.value) for p in racers]
            await asyncio.gather(*(load.interact("slash_task", payload) for payload in asked))
            assert not load.problems, load.problems
            cards = [load.response(payload) for payload in asked]
            got = [c for c in cards if c is not None and _is_card(c)]
            assert len(got) == 1, [message_text(c) if c else None for c in cards]

            db = await PgDatabase.open(pg_url)
            try:
                rows = await db._conn.execute_fetchall(
                    "SELECT count(*) FROM tasks WHERE target_id = ? AND type = ? AND status = 'pending'",
                    (prompt, TaskType.LABEL_INITIAL_PROMPT.value),
                )
                assert rows[0][0] == 1  # one slot, one holder, whichever process served them
                # no job ever ran: both processes catch up on every one, a second apart; each runs once in all
                seen, still = -1, 0
                async with asyncio.timeout(60):
                    while still < 4:  # the number of jobs that ran has not moved for 2 s: the catch-up is over
                        runs = await db._conn.execute_fetchall("SELECT job_id, runs FROM job_runs")
                        seen, still = len(runs), (still + 1 if len(runs) == seen else 0)
                        await asyncio.sleep(0.5)
                assert seen >= 10, [tuple(r) for r in runs]
                assert all(r[1] == 1 for r in runs), [tuple(r) for r in runs]
            finally:
                await db.close()
        finally:
            for proc in bots:
                if proc.returncode is None:
                    proc.send_signal(signal.SIGTERM)
            outputs = [await proc.communicate() for proc in bots]
            await gateway.close()
    for _, err in outputs:
        logged = err.decode(errors="replace")
        assert " ERROR " not in logged and "Traceback" not in logged, logged
