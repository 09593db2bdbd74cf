"""The guild read/write model: per-server settings of the Discord front-end and the bot's posts."""

from __future__ import annotations

from typing import Any, cast

from storage.sql import Queries


class GuildQueries(Queries):
    """Per-server settings of the Discord front-end, and the bot's posts about messages."""

    SETTINGS = ("moderator_role_id", "feed_channel_id", "mod_queue_channel_id", "default_lang")

    async def settings(self, guild_id: int) -> dict[str, Any] | None:
        row = await self._one("SELECT * FROM guild_settings WHERE guild_id = ?", (guild_id,))
        return None if row is None else dict(row)

    async def set_setting(self, guild_id: int, key: str, value: Any, now: float, actor_id: int | None) -> None:
        if key not in self.SETTINGS:
            raise ValueError(f"not a guild setting: {key!r}")
        await self._run(
            f"""INSERT INTO guild_settings (guild_id, {key}, updated_at, updated_by) VALUES (?, ?, ?, ?)
                ON CONFLICT (guild_id) DO UPDATE SET {key} = excluded.{key},
                    updated_at = excluded.updated_at, updated_by = excluded.updated_by""",
            (guild_id, value, now, actor_id),
        )

    async def language_channels(self, guild_id: int) -> dict[int, str]:
        rows = await self._all(
            "SELECT channel_id, lang FROM language_channels WHERE guild_id = ? ORDER BY channel_id", (guild_id,)
        )
        return {r[0]: r[1] for r in rows}

    async def added_languages(self, guild_id: int) -> list[str]:
        """The languages the server's admins enabled (`/config language add`)."""
        rows = await self._all("SELECT lang FROM guild_languages WHERE guild_id = ? ORDER BY lang", (guild_id,))
        return [r[0] for r in rows]

    async def add_language(self, guild_id: int, lang: str, now: float, actor_id: int | None) -> bool:
        """False when it was enabled already."""
        n = await self._run(
            """INSERT INTO guild_languages (guild_id, lang, added_at, added_by) VALUES (?, ?, ?, ?)
               ON CONFLICT (guild_id, lang) DO NOTHING""",
            (guild_id, lang, now, actor_id),
        )
        return n > 0

    async def remove_language(self, guild_id: int, lang: str) -> bool:
        n = await self._run("DELETE FROM guild_languages WHERE guild_id = ? AND lang = ?", (guild_id, lang))
        return n > 0

    async def community_languages_enabled(self, community: int) -> list[str]:
        """Every language some server of the community lets its members use: added ones, language channels',
        and default languages."""
        rows = await self._all(
            """SELECT l.lang FROM guild_communities g JOIN guild_languages l ON l.guild_id = g.guild_id
                WHERE g.community_id = :c
               UNION SELECT c.lang FROM guild_communities g JOIN language_channels c ON c.guild_id = g.guild_id
                WHERE g.community_id = :c
               UNION SELECT s.default_lang FROM guild_communities g JOIN guild_settings s ON s.guild_id = g.guild_id
                WHERE g.community_id = :c AND s.default_lang IS NOT NULL""",
            {"c": community},
        )
        return sorted(r[0] for r in rows)

    async def channel_language(self, guild_id: int, channel_id: int) -> str | None:
        lang = await self._scalar(
            "SELECT lang FROM language_channels WHERE guild_id = ? AND channel_id = ?", (guild_id, channel_id)
        )
        return cast(str | None, lang)

    async def set_language_channel(
        self, guild_id: int, channel_id: int, lang: str, now: float, actor_id: int | None
    ) -> None:
        await self._run(
            """INSERT INTO language_channels (guild_id, channel_id, lang, updated_at, updated_by) VALUES (?, ?, ?, ?, ?)
               ON CONFLICT (guild_id, channel_id) DO UPDATE SET lang = excluded.lang,
                   updated_at = excluded.updated_at, updated_by = excluded.updated_by""",
            (guild_id, channel_id, lang, now, actor_id),
        )

    async def remove_language_channel(self, guild_id: int, channel_id: int) -> bool:
        n = await self._run(
            "DELETE FROM language_channels WHERE guild_id = ? AND channel_id = ?", (guild_id, channel_id)
        )
        return n > 0

    async def add_post(
        self, discord_message_id: int, message_id: str, guild_id: int, channel_id: int, kind: str, now: float
    ) -> None:
        await self._run(
            """INSERT OR IGNORE INTO discord_posts (discord_message_id, message_id, guild_id, channel_id, kind,
               created_at) VALUES (?, ?, ?, ?, ?, ?)""",
            (discord_message_id, message_id, guild_id, channel_id, kind, now),
        )

    async def post(self, discord_message_id: int) -> dict[str, Any] | None:
        row = await self._one("SELECT * FROM discord_posts WHERE discord_message_id = ?", (discord_message_id,))
        return None if row is None else dict(row)

    async def posts_of(self, message_id: str) -> list[dict[str, Any]]:
        rows = await self._all("SELECT * FROM discord_posts WHERE message_id = ? ORDER BY created_at", (message_id,))
        return [dict(r) for r in rows]

    # ------------------------------------------------------------------ communities

    async def community_of(self, guild_id: int) -> int | None:
        value = await self._scalar("SELECT community_id FROM guild_communities WHERE guild_id = ?", (guild_id,))
        return cast(int | None, value)

    async def unclaimed_first_community(self) -> bool:
        """Whether community 1 (the data stored before communities, or by the CLI) has no server yet."""
        return await self._scalar("SELECT 1 FROM guild_communities WHERE community_id = 1 LIMIT 1") is None

    async def new_community(self, name: str, now: float) -> int:
        return await self._int(
            "INSERT INTO communities (name, created_at) VALUES (?, ?) RETURNING id", (name[:100], now)
        )

    async def attach(self, guild_id: int, community: int, now: float, actor: int | None) -> None:
        await self._run(
            """INSERT INTO guild_communities (guild_id, community_id, joined_at, joined_by) VALUES (?, ?, ?, ?)
               ON CONFLICT (guild_id) DO UPDATE SET community_id = excluded.community_id,
                   joined_at = excluded.joined_at, joined_by = excluded.joined_by""",
            (guild_id, community, now, actor),
        )

    async def community_exists(self, community: int) -> bool:
        return await self._scalar("SELECT 1 FROM communities WHERE id = ?", (community,)) is not None

    async def community_by_name(self, name: str) -> int | None:
        value = await self._scalar("SELECT id FROM communities WHERE name = ? ORDER BY id LIMIT 1", (name,))
        return cast(int | None, value)

    async def guilds_of(self, community: int) -> list[int]:
        rows = await self._all(
            "SELECT guild_id FROM guild_communities WHERE community_id = ? ORDER BY joined_at, guild_id", (community,)
        )
        return [r[0] for r in rows]

    async def communities(self) -> list[dict[str, Any]]:
        """Every community with its servers and its number of trees."""
        rows = await self._all(
            """SELECT c.id, c.name, c.created_at,
                      (SELECT group_concat(g.guild_id) FROM guild_communities g WHERE g.community_id = c.id) AS guilds,
                      (SELECT count(*) FROM trees t WHERE t.community_id = c.id) AS trees
               FROM communities c ORDER BY c.id"""
        )
        return [dict(r) for r in rows]

    async def merge_community(self, old: int, new: int) -> None:
        """Move everything of community `old` into `new` (no server is left in `old`)."""
        for table in ("trees", "tasks", "moderation_log", "loose_messages"):
            await self._run(f"UPDATE {table} SET community_id = ? WHERE community_id = ?", (new, old))
        await self._run(
            """INSERT OR IGNORE INTO community_bans (community_id, user_id, at, actor_id, reason)
               SELECT ?, user_id, at, actor_id, reason FROM community_bans WHERE community_id = ?""",
            (new, old),
        )
        await self._run("DELETE FROM community_bans WHERE community_id = ?", (old,))
        await self._run("DELETE FROM user_stats WHERE community_id = ?", (old,))  # the next refresh recounts
        await self._run("UPDATE users SET home_community_id = ? WHERE home_community_id = ?", (new, old))

    async def set_home(self, user_id: int, community: int) -> None:
        await self._run("UPDATE users SET home_community_id = ? WHERE id = ?", (community, user_id))
