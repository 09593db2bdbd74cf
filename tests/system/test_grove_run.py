"""`grove run` as a real process against the fake Discord (REST and gateway): READY, dev-guild sync,
an interaction over the socket, and a clean stop on SIGTERM. Also the start-up refusals."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import pytest

from tests.fakes import FakeDiscord, FakeGateway, Person, payloads
from tests.fakes.payloads import GUILD_ID

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "fake-token-never-logged"


def environment(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "DISCORD_TOKEN"}
    env["PYTHONPATH"] = str(ROOT)
    return env | extra


async def start(config: Path, **env: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot.cli",
        "run",
        "--config",
        str(config),
        cwd=str(config.parent),
        env=environment(**env),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def test_grove_run_reaches_ready_answers_and_stops_on_sigterm(tmp_path: Path) -> None:
    alice = Person(100_000_000_000_321, "alice")
    async with FakeDiscord() as fake:
        gateway = FakeGateway([payloads.guild(GUILD_ID)], fake=fake)
        await gateway.start()
        config = tmp_path / "config.toml"
        config.write_text(
            f'[discord]\napi_base_url = "{fake.api_base}"\ngateway_url = "{gateway.url}"\ndev_guild_id = {GUILD_ID}\n'
            '[database]\npath = "grove.db"\n[logging]\nlevel = "INFO"\n'
        )
        proc = await start(config, DISCORD_TOKEN=TOKEN)
        lines: list[str] = []

        async def read() -> None:
            assert proc.stderr is not None
            async for line in proc.stderr:
                lines.append(line.decode())

        reader = asyncio.create_task(read())
        try:
            identify = await gateway.wait_identified(timeout=30)
            assert identify["token"] == TOKEN
            [sync] = await fake.wait_for("PUT", rf"/applications/\d+/guilds/{GUILD_ID}/commands", timeout=30)
            assert {c["name"] for c in sync.json} >= {"task", "status", "config", "mod", "help"}
            for _ in range(300):
                if any("ready as" in line for line in lines):
                    break
                await asyncio.sleep(0.05)
            else:
                raise AssertionError("never READY:\n" + "".join(lines))
            interaction = payloads.slash(
                "help",
                alice,
                command_id=fake.command_id("help", GUILD_ID),
                command_guild_id=GUILD_ID,
                interaction_id=fake.snowflake(),
                guild_id=GUILD_ID,
                channel_id=payloads.CHANNEL_ID,
            )
            await gateway.dispatch("INTERACTION_CREATE", interaction)
            [callback] = await fake.wait_for("POST", rf"/interactions/{interaction['id']}/.*/callback", timeout=30)
            assert callback.json["type"] == 4 and "Grove" in str(callback.json["data"]["embeds"])
            proc.send_signal(signal.SIGTERM)
            code = await asyncio.wait_for(proc.wait(), 30)
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
            await reader
            await gateway.close()
        output = "".join(lines)
        assert code == 0, output
        assert "stopped cleanly" in output and "Traceback" not in output
        assert TOKEN not in output
        assert (tmp_path / "grove.db").stat().st_mode & 0o077 == 0  # owner-only database file


async def test_grove_run_without_a_token_says_so(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text("")
    proc = await start(config)
    _, err = await proc.communicate()
    assert proc.returncode == 2
    assert "DISCORD_TOKEN" in err.decode() and "Traceback" not in err.decode()


async def test_grove_run_refuses_a_bad_config_naming_the_key(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text("[scheduler]\ntask_expiry = -5\n[discord]\nfeed = 1\n")
    proc = await start(config, DISCORD_TOKEN=TOKEN)
    _, err = await proc.communicate()
    text = err.decode()
    assert proc.returncode == 2
    assert "scheduler.task_expiry" in text and "discord.feed: unknown key" in text and "Traceback" not in text


async def test_grove_sync_registers_commands_in_one_guild_or_globally(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`grove sync` may run beside the serving bot: it registers the commands and writes nothing as the bot does
    (no start-up reconciliation)."""
    from bot.config import DatabaseSettings, DiscordSettings, GroveConfig
    from bot.runner import register
    from engine import Engine

    reconciled: list[object] = []

    async def spy(self: Engine) -> object:
        reconciled.append(self)
        raise AssertionError("grove sync reconciled the trees")

    monkeypatch.setattr(Engine, "reconcile", spy)
    async with FakeDiscord() as fake:
        config = GroveConfig(
            discord=DiscordSettings(api_base_url=fake.api_base), database=DatabaseSettings(path=tmp_path / "g.db")
        )
        assert await register(config, TOKEN, GUILD_ID) == 0
        [guild_sync] = fake.find("PUT", rf"/applications/\d+/guilds/{GUILD_ID}/commands")
        assert await register(config, TOKEN, None) == 0
        [global_sync] = fake.find("PUT", r"/applications/\d+/commands$")
    names = {c["name"] for c in guild_sync.json}
    assert names == {c["name"] for c in global_sync.json} >= {"task", "status", "language", "config", "mod"}
    assert reconciled == []
