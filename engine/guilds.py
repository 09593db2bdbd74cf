"""Per-server settings of the Discord front-end, and which language a request is for.

The rules live here; the SQL lives in `storage.guilds.GuildQueries`; the cogs only call these methods.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from engine import errors
from engine.clock import Clock, SystemClock
from engine.lang import normalize_lang
from storage.repository import Repository
from storage.store import Store

FALLBACK_LANG = "en"


@dataclass(frozen=True)
class GuildConfig:
    guild_id: int
    moderator_role_id: int | None = None
    feed_channel_id: int | None = None
    mod_queue_channel_id: int | None = None
    default_lang: str | None = None
    language_channels: dict[int, str] = field(default_factory=dict)
    added_languages: tuple[str, ...] = ()  # enabled by an admin (`/config language add`)

    @property
    def language(self) -> str:
        return self.default_lang or FALLBACK_LANG

    @property
    def languages(self) -> frozenset[str]:
        """The languages the server's members may use: its default (en when none is set), its language channels'
        and those its admins added (issue 18: no language comes into being otherwise)."""
        return enabled_languages(self.default_lang, self.language_channels.values(), self.added_languages)


def enabled_languages(default: str | None, channels: Iterable[str], added: Iterable[str]) -> frozenset[str]:
    return frozenset([default or FALLBACK_LANG, *channels, *added])


class PostKind(StrEnum):
    FEED = "feed"  # a new message, mirrored to the feed (or its language's) channel
    QUEUE = "queue"  # a flagged or reported message, in the mod-queue channel


@dataclass(frozen=True)
class Community:
    """A data pool: its servers and how many trees it holds."""

    id: int
    name: str
    guild_ids: tuple[int, ...]
    trees: int


@dataclass(frozen=True)
class Post:
    """A Discord message the bot posted about a Grove message."""

    discord_message_id: int
    message_id: str
    guild_id: int
    channel_id: int
    kind: PostKind

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Post:
        return cls(
            row["discord_message_id"], row["message_id"], row["guild_id"], row["channel_id"], PostKind(row["kind"])
        )


def resolve_language(
    option: str | None,
    channel_lang: str | None,
    preferred: str | None,
    default: str | None,
    *,
    client: str | None = None,
    collected: frozenset[str] = frozenset(),
) -> str:
    """The language of a request: the option, else the channel's, else the member's preference, else the member's
    client locale when the server collects that language (`collected_language`), else the server's default, else en."""
    if option:
        return normalize_lang(option)
    return channel_lang or preferred or collected_language(client, collected) or default or FALLBACK_LANG


def collected_language(client: str | None, collected: frozenset[str]) -> str | None:
    """The language a server collects that a client locale asks for: the locale itself (pt-BR -> pt-br) or its
    base language (de-AT -> de, es-ES -> es), whichever the server collects; None if it collects neither.

    A server *collects* the languages its members may use: its default language (`/config default-language`),
    its language channels' (`/config language-channel set`) and those its admins added (`/config language add`)."""
    if not client or not collected:
        return None
    try:
        code = normalize_lang(client)
    except errors.InvalidLanguage:
        return None
    return next((c for c in (code, code.split("-")[0]) if c in collected), None)


class GuildSettings:
    def __init__(self, db: Store, clock: Clock | None = None) -> None:
        self.db = db
        self.clock = clock or SystemClock()
        # Read once per server, then kept: every change of a server's settings goes through this object (its
        # /config commands), which forgets the server's entry after writing (issue 19: no read per request).
        self._configs: dict[int, GuildConfig] = {}

    def _changed(self, guild_id: int) -> None:
        self._configs.pop(guild_id, None)

    async def get(self, guild_id: int) -> GuildConfig:
        known = self._configs.get(guild_id)
        if known is not None:
            return known

        async def read(repo: Repository) -> GuildConfig:
            q = repo.guilds
            row = await q.settings(guild_id) or {}
            return GuildConfig(
                guild_id,
                moderator_role_id=row.get("moderator_role_id"),
                feed_channel_id=row.get("feed_channel_id"),
                mod_queue_channel_id=row.get("mod_queue_channel_id"),
                default_lang=row.get("default_lang"),
                language_channels=await q.language_channels(guild_id),
                added_languages=tuple(await q.added_languages(guild_id)),
            )

        config = await self.db.run(read, write=False)
        if len(self._configs) > 10_000:  # a bot in very many servers: keep the memory bounded
            self._configs.clear()
        self._configs[guild_id] = config
        return config

    async def _set(self, guild_id: int, key: str, value: object, actor_id: int | None) -> GuildConfig:
        async def write(repo: Repository) -> None:
            await repo.guilds.set_setting(guild_id, key, value, self.clock.now(), actor_id)
            detail = "" if value is None else str(value)
            community = await repo.guilds.community_of(guild_id)
            await repo.log(self.clock.now(), actor_id, f"config:{key}", str(guild_id), detail, community=community)

        await self.db.run(write)
        self._changed(guild_id)
        return await self.get(guild_id)

    async def set_moderator_role(self, guild_id: int, role_id: int | None, actor_id: int | None) -> GuildConfig:
        return await self._set(guild_id, "moderator_role_id", role_id, actor_id)

    async def set_feed_channel(self, guild_id: int, channel_id: int | None, actor_id: int | None) -> GuildConfig:
        return await self._set(guild_id, "feed_channel_id", channel_id, actor_id)

    async def set_mod_queue_channel(self, guild_id: int, channel_id: int | None, actor_id: int | None) -> GuildConfig:
        return await self._set(guild_id, "mod_queue_channel_id", channel_id, actor_id)

    async def set_default_language(self, guild_id: int, lang: str | None, actor_id: int | None) -> GuildConfig:
        return await self._set(guild_id, "default_lang", None if lang is None else normalize_lang(lang), actor_id)

    async def set_language_channel(self, guild_id: int, channel_id: int, lang: str, actor_id: int | None) -> str:
        code = normalize_lang(lang)
        now = self.clock.now()

        async def write(repo: Repository) -> None:
            await repo.guilds.set_language_channel(guild_id, channel_id, code, now, actor_id)
            community = await repo.guilds.community_of(guild_id)
            detail = f"{channel_id}={code}"
            await repo.log(now, actor_id, "config:language_channel", str(guild_id), detail, community=community)

        await self.db.run(write)
        self._changed(guild_id)
        return code

    async def remove_language_channel(self, guild_id: int, channel_id: int, actor_id: int | None) -> None:
        now = self.clock.now()

        async def write(repo: Repository) -> None:
            if not await repo.guilds.remove_language_channel(guild_id, channel_id):
                raise errors.NotALanguageChannel()
            community = await repo.guilds.community_of(guild_id)
            detail = f"{channel_id}="
            await repo.log(now, actor_id, "config:language_channel", str(guild_id), detail, community=community)

        await self.db.run(write)
        self._changed(guild_id)

    async def language_for(
        self,
        guild_id: int | None,
        channel_id: int | None,
        option: str | None,
        preferred: str | None,
        client: str | None = None,
        *,
        community: int | None = None,
    ) -> str:
        """The language of a request in a place (see `resolve_language`); `client` is the member's Discord locale.

        Only an enabled language (`GuildConfig.languages`; in DMs, one some server of the member's `community`
        enables) is used: one asked for by name that is not is refused (`LanguageNotEnabled`), a preference that
        is not is passed over."""
        if guild_id is None and community is None:  # the operator's tools: any valid language
            return normalize_lang(option) if option else resolve_language(None, None, preferred, None)
        code = normalize_lang(option) if option else None

        if guild_id is None:
            assert community is not None
            listed = await self.db.run(lambda repo: repo.guilds.community_languages_enabled(community), write=False)
            channel_lang, default, enabled = None, None, frozenset([FALLBACK_LANG, *listed])
        else:
            config = await self.get(guild_id)
            channel_lang = None if channel_id is None else config.language_channels.get(channel_id)
            default, enabled = config.default_lang, config.languages
        if code is not None:
            if code not in enabled:
                raise errors.LanguageNotEnabled()
            return code
        if preferred and normalize_lang(preferred) not in enabled:
            preferred = None
        return resolve_language(None, channel_lang, preferred, default, client=client, collected=enabled)

    async def add_language(self, guild_id: int, lang: str, actor_id: int | None) -> tuple[str, bool]:
        """Let the server's members use a language; (its code, False when it was enabled already)."""
        code = normalize_lang(lang)

        async def write(repo: Repository) -> bool:
            now = self.clock.now()
            if not await repo.guilds.add_language(guild_id, code, now, actor_id):
                return False
            community = await repo.guilds.community_of(guild_id)
            await repo.log(now, actor_id, "config:language_add", str(guild_id), code, community=community)
            return True

        added = await self.db.run(write)
        self._changed(guild_id)
        return code, added

    async def remove_language(self, guild_id: int, lang: str, actor_id: int | None) -> str:
        """Members can no longer ask for a language here (its conversations stay). Refused for the server's
        default language or a language channel's (`LanguageInUse`), and for one an admin never added."""
        code = normalize_lang(lang)

        async def write(repo: Repository) -> None:
            q, now = repo.guilds, self.clock.now()
            default = (await q.settings(guild_id) or {}).get("default_lang") or FALLBACK_LANG
            if code == default or code in (await q.language_channels(guild_id)).values():
                raise errors.LanguageInUse()
            if not await q.remove_language(guild_id, code):
                raise errors.LanguageNotEnabled()
            community = await q.community_of(guild_id)
            await repo.log(now, actor_id, "config:language_remove", str(guild_id), code, community=community)

        await self.db.run(write)
        self._changed(guild_id)
        return code

    async def record_post(self, post: Post) -> None:
        await self.db.run(
            lambda repo: repo.guilds.add_post(
                post.discord_message_id, post.message_id, post.guild_id, post.channel_id, post.kind, self.clock.now()
            )
        )

    async def post(self, discord_message_id: int) -> Post | None:
        row = await self.db.run(lambda repo: repo.guilds.post(discord_message_id), write=False)
        if row is None:
            return None
        return Post.from_row(row)

    async def posts_of(self, message_id: str) -> list[Post]:
        rows = await self.db.run(lambda repo: repo.guilds.posts_of(message_id), write=False)
        return [Post.from_row(r) for r in rows]

    # ------------------------------------------------------------------ communities (data pools)

    async def community_of(self, guild_id: int, name: str = "") -> int:
        """The community a server's data belongs to, made on the server's first use: the first server takes
        community 1 (where data stored before communities, or by the CLI, lives), every later one its own."""
        known = await self.known_community(guild_id)
        if known is not None:
            return known

        async def make(repo: Repository) -> int:
            q, now = repo.guilds, self.clock.now()
            known = await q.community_of(guild_id)  # another request may have made it meanwhile
            if known is not None:
                return known
            community = 1 if await q.unclaimed_first_community() else await q.new_community(name, now)
            await q.attach(guild_id, community, now, None)
            return community

        return await self.db.run(make)

    async def known_community(self, guild_id: int) -> int | None:
        """The community of a server that has used Grove (None for one that has not; nothing is made)."""
        return await self.db.run(lambda repo: repo.guilds.community_of(guild_id), write=False)

    async def guilds_of(self, community: int) -> list[int]:
        return await self.db.run(lambda repo: repo.guilds.guilds_of(community), write=False)

    async def communities(self) -> list[Community]:
        async with self.db.read() as repo:
            rows = await repo.guilds.communities()
        return [
            Community(r["id"], r["name"], tuple(int(g) for g in (r["guilds"] or "").split(",") if g), r["trees"])
            for r in rows
        ]

    async def resolve_community(self, ident: str) -> int:
        """A community by its id or its name; CommunityNotFound otherwise."""
        async with self.db.read() as repo:
            q = repo.guilds
            if ident.strip().isdigit() and await q.community_exists(int(ident)):
                return int(ident)
            found = await q.community_by_name(ident.strip())
        if found is None:
            raise errors.CommunityNotFound()
        return found

    async def join(self, guild_id: int, community: int, actor_id: int | None) -> int:
        """Put a server into `community` (owners pool servers this way). When no other server is left in the
        server's old community, its data moves along into the new one. Returns the old community."""
        now = self.clock.now()
        async with self.db.transaction() as repo:
            q = repo.guilds
            if not await q.community_exists(community):
                raise errors.CommunityNotFound()
            old = await q.community_of(guild_id)
            if old == community:
                raise errors.InvalidStateChange("This server is already in that community.")
            await q.attach(guild_id, community, now, actor_id)
            if old is not None and not await q.guilds_of(old):
                await q.merge_community(old, community)
            await repo.log(now, actor_id, "community:join", str(guild_id), f"{old}->{community}", community=None)
        return old if old is not None else community

    async def set_home(self, user_id: int, community: int) -> None:
        """Where the member's DM work goes (the server they last used Grove in)."""
        await self.db.run(lambda repo: repo.guilds.set_home(user_id, community))
