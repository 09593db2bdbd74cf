"""`python -m benchmarks.discord --procs N --database-url URL`: N bot processes, one Discord shard each, on one
PostgreSQL database, under the same simulated members as the one-process benchmark (benchmarks/discord.py).

The lived-in database is prepared in SQLite as for one process and copied (`grove migrate`) into a fresh
PostgreSQL database `grove_bench_discord` on the URL's server. The members are spread over N servers, one per
shard, pooled into one community (the lived-in trees are everyone's); the fake gateway sends each server's
interactions to its shard's process. The commands are registered once, globally, by `grove sync`.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import signal
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks.discord import (
    HERE,
    Load,
    bot_process,
    crowd_run,
    people,
    prepare,
    proc_figures,
    report,
)
from benchmarks.engine import on_postgres
from tests.fakes import FakeDiscord, FakeGateway, Person, payloads
from tests.fakes.gateway import shard_of
from tests.fakes.payloads import Json


def shard_guilds(procs: int) -> list[int]:
    """One server id per shard: ids Discord would send to shards 0..procs-1."""
    found: dict[int, int] = {}
    gid = payloads.GUILD_ID
    while len(found) < procs:
        found.setdefault(shard_of(gid, procs), gid)
        gid += 1 << 22
    return [found[i] for i in range(procs)]


def pool(url: str, guild_ids: list[int]) -> None:
    """Every benchmark server in community 1, where the lived-in trees are."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        for gid in guild_ids:
            conn.execute(
                "INSERT INTO guild_communities (guild_id, community_id, joined_at) VALUES (%s, 1, %s)",
                (gid, time.time()),
            )


def global_slash(fake: FakeDiscord, guild_of: Callable[[Person], int]) -> Callable[..., Json]:
    """Slash payloads for the globally registered commands, from each member's own server."""
    kinds = {str: 3, int: 4, bool: 5}

    def build(name: str, person: Person, sub: str | None = None, **options: Any) -> Json:
        opts = [payloads.option(k, kinds[type(v)], v) for k, v in options.items()]
        if sub is not None:
            opts = [payloads.option(sub, 1, options=opts)]
        gid = guild_of(person)
        return payloads.slash(
            name,
            person,
            options=opts,
            command_id=fake.command_id(name, None),
            interaction_id=fake.snowflake(),
            guild_id=gid,
            channel_id=channel_of(gid),
        )

    return build


def channel_of(guild_id: int) -> int:
    return payloads.CHANNEL_ID + (guild_id - payloads.GUILD_ID) // (1 << 22)


async def run_shards(
    members: int, seconds: float, think: float, seed: int, procs: int, database_url: str, asyncio_loop: bool
) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="grove-bench-") as tmp:
        path = Path(tmp) / "grove.sqlite3"
        crowd = people(members)
        await prepare(HERE, path, members, seed)
        url = await asyncio.to_thread(on_postgres, database_url, path, "discord")
        guild_ids = shard_guilds(procs)
        await asyncio.to_thread(pool, url, guild_ids)
        home = {p.id: guild_ids[i % procs] for i, p in enumerate(crowd)}

        def guild_of(person: Person) -> int:
            return home[person.id]

        async with FakeDiscord() as fake:
            guilds = [
                payloads.guild(
                    gid,
                    name=f"Grove shard {i}",
                    channels=[payloads.text_channel(channel_of(gid), gid, "general")],
                    members=[payloads.person_member(p, permissions=False) for p in crowd if home[p.id] == gid],
                )
                for i, gid in enumerate(guild_ids)
            ]
            for guild in guilds:
                fake.know_guild(guild)
            gateway = FakeGateway(guilds, fake=fake)
            await gateway.start()
            config = Path(tmp) / "config.toml"
            config.write_text(
                f'[discord]\napi_base_url = "{fake.api_base}"\ngateway_url = "{gateway.url}"\n'
                f'[database]\nurl = "{url}"\n'
                f"[scheduler]\nprompt_lottery = {10 / 60}\n"
                '[logging]\nlevel = "WARNING"\n'
            )
            sync = await bot_process(HERE, config, asyncio_loop, ("sync",))
            _, err = await sync.communicate()
            if sync.returncode:
                raise RuntimeError(f"grove sync failed:\n{err.decode(errors='replace')}")
            bots = [
                await bot_process(
                    HERE, config, asyncio_loop, ("run", "--shard-ids", str(i), "--shard-count", str(procs))
                )
                for i in range(procs)
            ]
            logged: list[str] = []

            async def read(proc: asyncio.subprocess.Process) -> None:
                assert proc.stderr is not None
                async for line in proc.stderr:
                    logged.append(line.decode(errors="replace").rstrip())

            readers = [asyncio.create_task(read(p)) for p in bots]
            try:
                async with asyncio.timeout(60):
                    while len(gateway.identifies) < procs:  # noqa: ASYNC110 (a count across connections)
                        await asyncio.sleep(0.1)
                await asyncio.sleep(2.0)  # READY handled and the start-up work done: the shards are serving
                load = Load(
                    fake, lambda p: gateway.dispatch("INTERACTION_CREATE", p), global_slash(fake, guild_of), seed
                )
                load.install()
                elapsed = await crowd_run(load, crowd, seconds, think, seed, None, guild_of)
                await asyncio.sleep(1.0)
                figures = [proc_figures(p.pid) for p in bots]
            finally:
                for proc in bots:
                    if proc.returncode is None:
                        proc.send_signal(signal.SIGTERM)
                for proc in bots:
                    try:
                        await asyncio.wait_for(proc.wait(), 30)
                    except TimeoutError:
                        proc.kill()
                        await proc.wait()
                await asyncio.gather(*readers)
                await gateway.close()
        errors = [line for line in logged if " ERROR " in line or line.startswith("Traceback")]
        loop_name = "asyncio" if asyncio_loop or importlib.util.find_spec("uvloop") is None else "uvloop"
        summary = report(
            load,
            members,
            elapsed,
            errors,
            {
                "bot": f"{procs} processes (shards) on PostgreSQL",
                "procs": procs,
                "event_loop": loop_name,
                "bot_cpu_s": round(sum(f["bot_cpu_s"] for f in figures), 1),
                "peak_rss_mb": max(f["peak_rss_mb"] for f in figures),
            },
        )
    print()
    print(json.dumps(summary))
    return summary
