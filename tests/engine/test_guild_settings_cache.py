"""A server's settings are read once and kept; every change forgets them (issue 19: no read per request)."""

from __future__ import annotations

from pathlib import Path

from engine import FakeClock
from engine.guilds import GuildSettings
from storage.database import Database


async def test_a_servers_settings_are_read_once_and_forgotten_when_changed(tmp_path: Path) -> None:
    db = await Database.open(tmp_path / "guilds.db")
    try:
        settings = GuildSettings(db, FakeClock())
        statements: list[str] = []
        await db._conn.set_trace_callback(statements.append)
        first = await settings.get(5)
        read = len(statements)
        assert read > 0 and await settings.get(5) == first
        assert await settings.language_for(5, 77, None, None) == "en"
        assert len(statements) == read  # neither read the database again
        await settings.set_default_language(5, "de", None)
        assert await settings.language_for(5, 77, None, None) == "de"
        await settings.set_language_channel(5, 77, "fr", None)
        assert await settings.language_for(5, 77, None, None) == "fr"
        await settings.add_language(5, "ja", None)
        assert (await settings.get(5)).languages == {"de", "fr", "ja"}
        await settings.remove_language(5, "ja", None)
        await settings.remove_language_channel(5, 77, None)
        assert (await settings.get(5)).languages == {"de"}
        await db._conn.set_trace_callback(None)
    finally:
        await db.close()
