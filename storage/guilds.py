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
