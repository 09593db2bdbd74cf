"""The Grove bot: a typed `commands.Bot` that opens storage, the engine, the cogs and the scheduler."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import discord
import numpy as np
import yarl
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from discord.ext import commands

from bot.config import GroveConfig
from bot.gate import Gate, Window, typed_in, user_of
from bot.scheduler import Job, JobRunner, jobs, start_scheduler
from engine.clock import Clock, SystemClock
from engine.engine import Engine
from engine.events import Event
from engine.guilds import GuildSettings
from engine.stats import Stats
from engine.types import DEFAULT_COMMUNITY
from storage.store import Store, open_store

log = logging.getLogger("grove")

# The error handler first: it installs the command tree's on_error before any command exists; then the translator
# (`cogs.translator`: the commands in every interface language), which every sync uses for their localisations.
EXTENSIONS = (
    "cogs.errors",
    "cogs.consent",  # the consent card, the error handler's answer to ConsentRequired
    "cogs.translator",
    "cogs.tasks",
    "cogs.moderation",
    "cogs.admin",
    "cogs.community",
    "cogs.history",
)
EVENTS = "grove_"  # engine events become discord.py events "grove_<name>" (cogs listen to "on_grove_<name>")
EVENT_GRACE = 10.0  # seconds `close` waits for event handlers still running


def point_at(config: GroveConfig) -> None:
    """Route discord.py's REST and gateway traffic to the configured servers (Discord's own by default)."""
    discord.http.Route.BASE = str(config.discord.api_base_url).rstrip("/")
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(str(config.discord.gateway_url))


class Grove(commands.Bot):
    """One process: Discord front-end, engine, SQLite and the scheduled jobs."""

    db: Store
    engine: Engine
    settings: GuildSettings
    stats: Stats
    scheduler: AsyncIOScheduler
    jobs: list[Job]
    job_runner: JobRunner
    gate: Gate
    heavy: Window  # per member and heavy command (cogs.checks.heavy)

    def __init__(
        self,
        config: GroveConfig,
        *,
        clock: Clock | None = None,
        rng: np.random.Generator | None = None,
        start_jobs: bool = True,
        extensions: tuple[str, ...] = EXTENSIONS,
        serving: bool = True,
        shard: tuple[int, int] | None = None,
    ) -> None:
        """`serving`: False for a process that only registers commands (`grove sync`), which may run beside the
        serving bot and must not write as it does (the start-up reconciliation). `shard`: (shard id, shard count)
        when this process serves one shard of the bot's servers (`grove run --shard-ids`, PostgreSQL)."""
        intents = discord.Intents.default()  # guilds and reactions; Grove never reads message content
        sharding: dict[str, int] = {} if shard is None else {"shard_id": shard[0], "shard_count": shard[1]}
        super().__init__(
            command_prefix=commands.when_mentioned,
            intents=intents,
            help_command=None,
            allowed_mentions=discord.AllowedMentions.none(),
            chunk_guilds_at_startup=False,
            **sharding,  # type: ignore[arg-type]
        )
        self.config = config
        self.clock = clock or SystemClock()
        self._rng = rng
        self._start_jobs = start_jobs
        self._serving = serving
        self._extensions = extensions
        self._member_ids: dict[int, int] = {}
        self._communities: dict[int, int] = {}  # guild id -> community id (changed only by `join_community`)
        self._homes: dict[int, int] = {}  # Discord user id -> home community, as last written
        self.ui_locales: dict[int, str | None] = {}  # Discord user id -> interface locale chosen (`cogs.i18n`)
        self.task_langs: dict[int, str | None] = {}  # Discord user id -> preferred task language (`cogs.context`)
        self._opened = False

    # ------------------------------------------------------------------ lifecycle

    async def login(self, token: str) -> None:
        point_at(self.config)
        await super().login(token)

    def _install_gate(self) -> None:
        """Every INTERACTION_CREATE passes the gate before discord.py dispatches it (see bot/gate.py)."""
        d = self.config.discord
        self.gate = Gate(
            max_in_flight=d.max_in_flight,
            per_member=d.member_interactions_per_window,
            window=d.member_window_seconds,
            clock=self.clock.now,
        )
        self.heavy = Window(d.heavy_commands_per_minute, 60.0, self.clock.now)
        state = self._connection
        dispatch = state.parse_interaction_create

        def gated(data: Any) -> None:
            refusal = self.gate.admit(user_of(data))
            if refusal is None:
                dispatch(data)
                return
            # answered by the errors extension (on_grove_refused), in the member's client language
            self.dispatch("grove_refused", discord.Interaction(data=data, state=state), refusal, typed_in(data))

        state.parse_interaction_create = gated  # type: ignore[method-assign]
        state.parsers["INTERACTION_CREATE"] = gated

    async def setup_hook(self) -> None:
        self._install_gate()
        self._gate_watch = asyncio.get_running_loop().create_task(
            self.gate.watch(lambda: self.db.take_queue_wait() if self._opened else 0.0), name="grove-gate-watch"
        )
        self.db = await open_store(self.config.database.target, synchronous=self.config.database.synchronous)
        self._opened = True
        self.engine = Engine(self.db, self.config.engine, clock=self.clock, rng=self._rng)
        self.engine.subscribe(self.publish)
        if self._serving:  # thresholds may have changed since the last run: move on every tree they now let through
            report = await self.engine.reconcile()
            log.info(
                "start-up check: %d active trees, %d verdicts given, %d trees moved on, %d ended leases dropped",
                report.trees_checked,
                report.verdicts,
                report.trees_moved,
                report.leases_ended,
            )
        self.settings = GuildSettings(self.db, self.clock)
        self.stats = Stats(self.db, clock=self.clock)
        for name in self._extensions:
            await self.load_extension(name)
        self.jobs = [
            *jobs(self.engine, self.stats, self.config.scheduler),
            Job(
                "notifications",
                self.config.scheduler.notifications,
                self.send_notifications,
                "send due notification DMs",
            ),
        ]
        self.job_runner = JobRunner(self.db, self.clock)  # remembers runs, so overdue jobs catch up at start-up
        self.scheduler = await start_scheduler(
            self.jobs, self.config.scheduler, self.job_runner, paused=not self._start_jobs
        )
        if self.config.discord.dev_guild_id:
            guild = discord.Object(self.config.discord.dev_guild_id)
            self.tree.copy_global_to(guild=guild)
            synced = await self.tree.sync(guild=guild)
            log.info("synced %d commands to the development guild %s", len(synced), guild.id)

    async def on_ready(self) -> None:
        log.info("ready as %s in %d servers", self.user, len(self.guilds))

    async def close(self) -> None:
        """Stop the jobs, let in-flight work finish (event handlers included), close Discord, then the database."""
        scheduler = getattr(self, "scheduler", None)
        if scheduler is not None and scheduler.running:
            scheduler.shutdown(wait=False)
        watch = getattr(self, "_gate_watch", None)
        if watch is not None:
            watch.cancel()
        await self._finish_event_handlers()
        await super().close()
        if self._opened:
            self._opened = False
            await self.db.close()

    async def on_error(self, event_method: str, /, *args: Any, **kwargs: Any) -> None:
        log.exception("unexpected error in %s", event_method)

    # ------------------------------------------------------------------ chat messages

    async def on_message(self, message: discord.Message, /) -> None:
        """Grove has no prefix commands (everything is an app command), so a chat message is never a command.
        `commands.Bot` would read "@Grove hello" as the command "hello" and log CommandNotFound as an error."""

    async def on_command_error(self, context: commands.Context[Any], exception: commands.CommandError, /) -> None:
        if isinstance(exception, commands.CommandNotFound):  # should a message still reach the command parser
            return
        await super().on_command_error(context, exception)

    # ------------------------------------------------------------------ engine events

    def publish(self, event: Event) -> None:
        """Called by the engine after each commit: the event goes to every cog's `on_grove_<name>` listener."""
        self.dispatch(f"{EVENTS}{event.name}", event)

    async def _finish_event_handlers(self) -> None:
        """Wait (a while) for listeners of engine events still at work, e.g. editing a feed post."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + EVENT_GRACE
        while pending := [
            t
            for t in asyncio.all_tasks()
            if t.get_name().startswith(f"discord.py: on_{EVENTS}") and t is not asyncio.current_task()
        ]:
            if loop.time() >= deadline:
                log.warning("closing with %d event handlers still running", len(pending))
                return
            await asyncio.wait(pending, timeout=deadline - loop.time())

    # ------------------------------------------------------------------ notifications (cogs.history)

    async def send_notifications(self) -> int:
        """The scheduled job "notifications": the loaded cog that delivers them sends the DMs that are due."""
        deliver = getattr(self.get_cog("History"), "deliver_notifications", None)
        return await deliver() if deliver is not None else 0

    # ------------------------------------------------------------------ identity

    async def member_id(self, user: discord.abc.User) -> int:
        """The engine's id of a Discord user, created on first sight (cached: ids never change)."""
        known = self._member_ids.get(user.id)
        if known is None:
            known = await self.engine.ensure_user("discord", str(user.id), getattr(user, "display_name", ""))
            self._member_ids[user.id] = known
        return known

    # ------------------------------------------------------------------ communities

    def allowed_in(self, guild_id: int | None) -> bool:
        """Whether Grove works in this server (`[discord] allowed_guild_ids`); DMs always."""
        allowed = self.config.discord.allowed_guild_ids
        return guild_id is None or not allowed or guild_id in allowed

    async def community_of_guild(self, guild_id: int) -> int:
        """The community a server's data belongs to (made on its first use; cached)."""
        known = self._communities.get(guild_id)
        if known is None:
            guild = self.get_guild(guild_id)
            known = await self.settings.community_of(guild_id, guild.name if guild is not None else str(guild_id))
            if not self.db.shared:  # another process may merge communities (PostgreSQL): read it each time there
                self._communities[guild_id] = known
        return known

    async def join_community(self, guild_id: int, community: int, actor_id: int | None) -> int:
        """Pool a server into `community` (owners only; the caller checks). Returns its old community."""
        old = await self.settings.join(guild_id, community, actor_id)
        self._communities.clear()  # a merge moves other servers' mappings' data too: read them again
        self._homes.clear()
        return old

    async def note_home(self, user: discord.abc.User, community: int) -> None:
        """The server a member last used Grove in becomes their home community (written only on a change)."""
        if self.db.shared:  # another process writes homes too (PostgreSQL): the database decides, never a cache
            self._homes.clear()
        if self._homes.get(user.id) == community:
            return
        member = await self.member_id(user)
        if self._homes.get(user.id) is None and (await self.engine.user(member)).home_community_id == community:
            self._homes[user.id] = community
            return
        await self.settings.set_home(member, community)
        self._homes[user.id] = community

    async def home_of(self, user: discord.abc.User) -> int:
        """Where a member's DM work goes: the server they last used Grove in (the first community if none)."""
        known = None if self.db.shared else self._homes.get(user.id)
        if known is None:
            known = (await self.engine.user(await self.member_id(user))).home_community_id or DEFAULT_COMMUNITY
            self._homes[user.id] = known
        return known

    async def discord_id(self, member_id: int) -> int | None:
        """The Discord user id of an engine member, if they came from Discord."""
        row = await self.engine.user(member_id)
        if row.auth_method != "discord":
            return None
        return int(row.username)
