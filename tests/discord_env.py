"""Grove on the offline fake Discord: a logged-in bot on a temporary database, a guild, and its members."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import discord
import numpy as np

from bot.bot import Grove
from bot.config import DatabaseSettings, DiscordSettings, GroveConfig
from engine.clock import FakeClock
from engine.config import EngineConfig
from tests.fakes import FakeDiscord, Person, Simulator, payloads
from tests.fakes.payloads import GUILD_ID, PERMS_ADMIN, PERMS_MODERATOR

CHANNELS = {
    "general": payloads.CHANNEL_ID,
    "feed": payloads.CHANNEL_ID + 1,
    "queue": payloads.CHANNEL_ID + 2,
    "de": payloads.CHANNEL_ID + 3,
    "fr": payloads.CHANNEL_ID + 4,
}
MOD_ROLE = GUILD_ID + 7  # carries Manage Messages, as a moderator role would
ADMIN_ROLE = GUILD_ID + 8  # carries Manage Server
HELPER_ROLE = GUILD_ID + 9  # no permissions: a server can name it its moderator role


class AgreedGrove(Grove):
    """Grove whose members have agreed to the dataset terms, as the members of a running Grove have before they
    contribute: each agrees when the bot first sees them, unless listed in `newcomers` (to show the consent card).
    A member who withdrew stays withdrawn."""

    newcomers: set[int]

    async def member_id(self, user: discord.abc.User) -> int:
        first = user.id not in self._member_ids
        known = await super().member_id(user)
        if first and user.id not in self.newcomers:
            state = await self.engine.consent(known)
            if state.agreed_at is None and state.withdrawn_at is None:
                await self.engine.give_consent(known)
        return known


@dataclass
class Env:
    fake: FakeDiscord
    path: Path
    clock: FakeClock
    engine_overrides: dict[str, Any] = field(default_factory=dict)
    seed: int = 1
    bot: Grove = field(init=False)
    sim: Simulator = field(init=False)
    channels: dict[str, int] = field(default_factory=lambda: dict(CHANNELS))
    people: dict[str, Person] = field(default_factory=dict)
    newcomers: set[int] = field(default_factory=set)  # Discord ids of people who have not agreed yet (AgreedGrove)
    _restarts: int = 0

    @property
    def config(self) -> GroveConfig:
        return GroveConfig(
            # The clock only moves when a test moves it, so every interaction of a test falls in one cooldown
            # window: the cooldown is the gate's own tests' business (tests/discord/test_gate.py).
            discord=DiscordSettings(
                api_base_url=self.fake.api_base, member_interactions_per_window=10_000, heavy_commands_per_minute=10_000
            ),
            database=DatabaseSettings(path=self.path),
            engine=EngineConfig(**self.engine_overrides),
        )

    async def start(self) -> None:
        # distinct seeds per incarnation: two engines drawing the same ids would collide
        rng = np.random.default_rng(self.seed + 1000 * self._restarts)
        self.bot = AgreedGrove(self.config, clock=self.clock, rng=rng, start_jobs=False)
        self.bot.newcomers = self.newcomers
        await self.bot.login("fake-token")
        self.sim = Simulator(self.bot, self.fake)
        if not self.people:
            for name in ("alice", "bob", "carol", "dave", "erin"):
                self.people[name] = self.sim.member(name)
            self.people["mod"] = self.sim.member("mod", PERMS_MODERATOR, roles=(MOD_ROLE,))
            self.people["admin"] = self.sim.member("admin", PERMS_ADMIN, roles=(ADMIN_ROLE,))
        else:
            for person in self.people.values():
                self.sim.people[person.id] = person
        channels = [
            payloads.text_channel(cid, GUILD_ID, name, position=i)
            for i, (name, cid) in enumerate(self.channels.items())
        ]
        roles = [
            payloads.role(MOD_ROLE, "Moderators", PERMS_MODERATOR),
            payloads.role(ADMIN_ROLE, "Admins", PERMS_ADMIN, position=2),
            payloads.role(HELPER_ROLE, "Helpers", 0, position=3),
        ]
        self.sim.create_guild(GUILD_ID, channels=channels, roles=roles)

    async def restart(self) -> None:
        """Close the bot and build a new one on the same database (a process restart, as far as Grove can tell)."""
        await self.bot.close()
        self._restarts += 1
        await self.start()

    async def close(self) -> None:
        await self.bot.close()

    async def member_id(self, person: Person) -> int:
        return await self.bot.member_id(discord.Object(person.id))  # type: ignore[arg-type]

    def __getattr__(self, name: str) -> Person:
        people = self.__dict__.get("people", {})
        if name in people:
            return people[name]
        raise AttributeError(name)
