"""Languages come into use only when a server admin enables them (issue 18): `/config language add|remove|list`.

A server's members may use its default language (en when none is set), its language channels' languages and those
its admins added; in DMs, what the servers of the member's community enable. A language asked for by name that is
not enabled is refused with a sentence saying how to enable it, and nothing is stored.
"""

from __future__ import annotations

from pathlib import Path

from engine.guilds import GuildSettings
from storage.database import Database
from tests.discord.test_discord_hostile import changes, refusal, snapshot
from tests.discord_env import Env
from tests.storage.test_migration_communities import at_schema

NOT_ENABLED = "That language is not enabled here; a server admin can enable it with /config language add."


def language_of(card) -> str:
    return card.message["embeds"][0]["fields"][0]["value"]


async def test_a_language_is_used_only_once_an_admin_enables_it(env: Env) -> None:
    sim = env.sim
    await env.member_id(env.alice)  # a member Grove knows already
    before = snapshot(env)
    refusal(await sim.slash("task", env.alice, type="initial_prompt", language="ja"), NOT_ENABLED)
    assert changes(before, snapshot(env)) == {}  # no task, no tree, no language
    added = await sim.slash("config", env.admin, sub=("language", "add"), language="JA")
    assert added.ephemeral and "**ja**" in added.text()
    again = await sim.slash("config", env.admin, sub=("language", "add"), language="ja")
    assert "already enabled" in again.text()
    assert language_of(await sim.slash("task", env.alice, type="initial_prompt", language="ja")) == "ja"
    listed = await sim.slash("config", env.admin, sub=("language", "list"))
    assert "**en**" in listed.text() and "**ja**" in listed.text()
    removed = await sim.slash("config", env.admin, sub=("language", "remove"), language="ja")
    assert "its conversations stay" in removed.text()
    refusal(await sim.slash("task", env.bob, type="initial_prompt", language="ja"), NOT_ENABLED)
    assert (await env.bot.engine.tree_counts("ja")) != {}  # alice's task stays hers


async def test_the_default_and_channel_languages_cannot_be_removed(env: Env) -> None:
    sim = env.sim
    in_use = "That language is this server's default language or a language channel's; change those first."
    refusal(await sim.slash("config", env.admin, sub=("language", "remove"), language="en"), in_use)
    await sim.slash("config", env.admin, sub=("language-channel", "set"), channel=env.channels["de"], language="de")
    refusal(await sim.slash("config", env.admin, sub=("language", "remove"), language="de"), in_use)
    refusal(await sim.slash("config", env.admin, sub=("language", "remove"), language="ko"), NOT_ENABLED)
    refusal(await sim.slash("config", env.admin, sub=("language", "add"), language="klingon"), "not a language code")
    assert language_of(await sim.slash("task", env.alice, type="initial_prompt", language="de")) == "de"


async def test_in_dms_the_languages_of_the_members_community(env: Env) -> None:
    sim = env.sim
    await sim.slash("task", env.bob, type="initial_prompt")  # the server is the first to use Grove: community 1
    refusal(await sim.slash("task", env.alice, type="initial_prompt", language="ja", guild=False), NOT_ENABLED)
    await sim.slash("config", env.admin, sub=("language", "add"), language="ja")
    card = await sim.slash("task", env.alice, type="initial_prompt", language="ja", guild=False)
    assert language_of(card) == "ja"


async def test_languages_in_use_before_the_upgrade_stay_enabled(tmp_path: Path) -> None:
    """Migration 0009: a server whose community already holds trees in a language keeps that language."""
    path = tmp_path / "old.db"
    conn = at_schema(path, 8)
    conn.executescript(
        """
        INSERT INTO guild_communities (guild_id, community_id, joined_at) VALUES (222, 1, 5);
        INSERT INTO trees (id, state, active, lang, goal_tree_size, max_depth, max_children_count, created_at,
                           state_changed_at, community_id) VALUES ('t1', 'growing', 1, 'de', 12, 5, 3, 1, 1, 1);
        """
    )
    conn.commit()
    conn.close()
    db = await Database.open(path)
    try:
        config = await GuildSettings(db).get(222)
        assert config.added_languages == ("de",) and config.languages == {"en", "de"}
        assert (await GuildSettings(db).get(333)).languages == {"en"}  # a server that never used Grove
    finally:
        await db.close()


async def test_the_language_option_suggests_the_languages_this_server_enables(env: Env) -> None:
    sim = env.sim
    assert [c["value"] for c in await sim.autocomplete("task", env.alice, "language", language="")] == ["en"]
    await sim.slash("config", env.admin, sub=("language", "add"), language="ja")
    await sim.slash("config", env.admin, sub=("language-channel", "set"), channel=env.channels["de"], language="de")
    assert [c["value"] for c in await sim.autocomplete("task", env.alice, "language", language="")] == [
        "de",
        "en",
        "ja",
    ]
