"""`grove run` and `grove sync`: the bot's process, its signals, and command registration."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path

import discord

from bot.bot import Grove
from bot.config import TOKEN_ENV, ConfigError, GroveConfig, load_config
from bot.guard import AlreadyRunning, InstanceLock, preflight, redact_logs

log = logging.getLogger("grove")
DEFAULT_CONFIG = Path("config.toml")


def _prepare(config_path: Path | None) -> tuple[GroveConfig, str] | int:
    if config_path is None and DEFAULT_CONFIG.exists():
        config_path = DEFAULT_CONFIG
    try:
        config = load_config(config_path)
    except ConfigError as exc:
        print(f"grove: invalid configuration: {exc}", file=sys.stderr)
        return 2
    token = os.environ.get(TOKEN_ENV, "").strip()
    if not token:
        print(
            f"grove: no Discord token: set the {TOKEN_ENV} environment variable to your bot's token "
            "(or try `grove demo`, which needs none).",
            file=sys.stderr,
        )
        return 2
    logging.basicConfig(level=config.logging.level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    redact_logs()  # DEBUG request lines would otherwise carry every interaction's token
    return config, token


def fast_loop() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop's event loop when it is installed (`pip install -e ".[fast]"`), else None: asyncio's own."""
    try:
        import uvloop
    except ImportError:
        log.info("event loop: asyncio's (install the [fast] extra for uvloop)")
        return None
    log.info("event loop: uvloop %s", uvloop.__version__)
    return uvloop.new_event_loop


def shard_of(config: GroveConfig, ids: list[int] | None, count: int | None) -> tuple[int, int] | str | None:
    """(shard id, shard count) for `grove run --shard-ids ID --shard-count N`, None unsharded, or why not."""
    if ids is None and count is None:
        return None
    if ids is None or count is None:
        return "--shard-ids and --shard-count go together"
    if len(ids) != 1:
        return "one shard per process: start one `grove run --shard-ids ID` for each shard"
    if count < 1 or not 0 <= ids[0] < count:
        return f"shard id {ids[0]} is not one of the {count} shards (0 to {count - 1})"
    if config.database.url is None:
        return (
            "several bot processes need a database they can share: set [database] url to a PostgreSQL database "
            "(a SQLite file serves one process)"
        )
    return ids[0], count


def run(config_path: Path | None, shard_ids: list[int] | None = None, shard_count: int | None = None) -> int:
    prepared = _prepare(config_path)
    if isinstance(prepared, int):
        return prepared
    config, token = prepared
    shard = shard_of(config, shard_ids, shard_count)
    if isinstance(shard, str):
        print(f"grove: {shard}", file=sys.stderr)
        return 2
    if config.database.url is not None:  # PostgreSQL: processes share it; writers take its write lock in turn
        with asyncio.Runner(loop_factory=fast_loop()) as runner:
            return runner.run(serve(config, token, shard=shard))
    refusal = preflight(config.database.path)
    if refusal is not None:
        print(f"grove: {refusal}", file=sys.stderr)
        return 2
    try:
        with InstanceLock(config.database.path):
            with asyncio.Runner(loop_factory=fast_loop()) as runner:
                return runner.run(serve(config, token))
    except AlreadyRunning as exc:
        print(f"grove: {exc}", file=sys.stderr)
        return 2


async def serve(config: GroveConfig, token: str, bot: Grove | None = None, shard: tuple[int, int] | None = None) -> int:
    """Run until Discord closes the connection or SIGINT/SIGTERM arrives; then shut down in order."""
    bot = bot or Grove(config, shard=shard)
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        async with bot:
            runner = asyncio.create_task(bot.start(token), name="grove-bot")
            stopper = asyncio.create_task(stop.wait(), name="grove-signal")
            await asyncio.wait({runner, stopper}, return_when=asyncio.FIRST_COMPLETED)
            stopper.cancel()
            if runner.done() and runner.exception() is not None:
                return _failed(runner.exception())
            log.info("shutting down: stopping jobs, finishing work in flight, closing the database")
            await bot.close()
            await asyncio.gather(runner, return_exceptions=True)
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
    log.info("stopped cleanly")
    return 0


def _failed(exc: BaseException | None) -> int:
    if isinstance(exc, discord.LoginFailure):
        print("grove: Discord refused the token; check DISCORD_TOKEN.", file=sys.stderr)
        return 1
    if isinstance(exc, discord.PrivilegedIntentsRequired):
        print("grove: Discord refused the requested intents; enable them in the developer portal.", file=sys.stderr)
        return 1
    log.error("the bot stopped with an error", exc_info=exc)
    return 1


def sync(config_path: Path | None, guild_id: int | None) -> int:
    prepared = _prepare(config_path)
    if isinstance(prepared, int):
        return prepared
    config, token = prepared
    return asyncio.run(register(config, token, guild_id))


async def register(config: GroveConfig, token: str, guild_id: int | None) -> int:
    """Register the slash commands with Discord: in one guild (instant) or globally (up to an hour)."""
    config = config.model_copy(update={"discord": config.discord.model_copy(update={"dev_guild_id": None})})
    bot = Grove(config, start_jobs=False, serving=False)  # may run beside the serving bot: writes nothing
    try:
        await bot.login(token)
        if guild_id is not None:
            guild = discord.Object(guild_id)
            bot.tree.copy_global_to(guild=guild)
            synced = await bot.tree.sync(guild=guild)
            print(f"synced {len(synced)} commands to guild {guild_id}")
        else:
            synced = await bot.tree.sync()
            print(f"synced {len(synced)} commands globally (Discord may take up to an hour to show them)")
    except discord.LoginFailure:
        print("grove: Discord refused the token; check DISCORD_TOKEN.", file=sys.stderr)
        return 1
    finally:
        await bot.close()
    return 0
