"""Consent first and privacy that does not destroy others' work (issue 15), through the fake Discord: the consent
card before a first contribution (typed text given back, nothing stored), /privacy's consent, remove my name and
delete my texts, each acting once."""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

import pytest

from bot.config import CommunitySettings, GroveConfig
from cogs.consent import card_embed
from cogs.i18n import tr_in
from cogs.moderation.render import neutral
from engine.export import ExportOptions, export
from engine.guilds import PostKind
from engine.oasst import member_uuid
from engine.privacy import ConsentState
from engine.types import TaskType, TreeState
from tests.discord.test_discord_posts import post_of, published
from tests.discord.test_privacy_hooks import rows_holding
from tests.discord_env import Env
from tests.driver import Driver, accepted_reply
from tests.fakes import message_text

Json = dict[str, Any]


@pytest.fixture
async def d(env: Env) -> Driver:
    settings, guild = env.bot.settings, env.sim.guild_id
    await settings.set_feed_channel(guild, env.channels["feed"], None)
    await settings.set_mod_queue_channel(guild, env.channels["queue"], None)
    ids = [await env.member_id(p) for p in (env.alice, env.bob, env.carol, env.dave)]
    return Driver(env.bot.engine, env.bot.clock, ids)


TEXT = "My grandmother's secret plum cake recipe, with the exact oven time"
CARD = "Before your first contribution"


async def tasks_of(env: Env, user_id: int) -> int:
    async with env.bot.db.read() as repo:
        return int(await repo._scalar("SELECT count(*) FROM tasks WHERE user_id = ?", (user_id,)))


async def forget_consent(env: Env, user_id: int) -> None:
    """A member from before consent existed: they may hold tasks, but never agreed."""
    async with env.bot.db.transaction() as repo:
        await repo._run("UPDATE users SET consent_at = NULL WHERE id = ?", (user_id,))


# ---------------------------------------------------------------------------------------------- the consent card


async def test_task_shows_the_card_first_and_agree_leads_to_the_task(env: Env) -> None:
    newbie = env.sim.member("newbie")
    env.newcomers.add(newbie.id)
    card = await env.sim.slash("task", newbie, type="initial_prompt")
    assert card.ephemeral and CARD in card.text() and "Apache-2.0" in card.text()
    assert "pseudonymous" in card.text() and "oasst" in card.text()
    assert card.custom_ids() == ["g:cs:agree:initial_prompt:en", "g:cs:later"]
    me = await env.member_id(newbie)
    assert await tasks_of(env, me) == 0  # no task was even handed out

    later = await env.sim.click(card.message, "g:cs:later", newbie)
    assert "Nothing of yours was stored" in later.text() and not later.custom_ids()
    assert not (await env.bot.engine.consent(me)).agreed

    again = await env.sim.slash("task", newbie, type="initial_prompt")
    agreed = await env.sim.click(again.message, "g:cs:agree:initial_prompt:en", newbie)
    assert "You agreed" in agreed.text() and agreed.custom_ids() == ["g:n:initial_prompt:en"]
    assert (await env.bot.engine.consent(me)).agreed
    task = await env.sim.click(agreed.message, "g:n:initial_prompt:en", newbie)
    assert any(c.endswith(":write") for c in task.custom_ids())
    assert await tasks_of(env, me) == 1


async def test_a_refused_submit_gives_the_text_back_and_stores_nothing(env: Env) -> None:
    alice = await env.member_id(env.alice)
    card = await env.sim.slash("task", env.alice, type="initial_prompt")
    task_id = card.custom_ids()[0].split(":")[2]
    await forget_consent(env, alice)  # she took the task before consent was asked for
    opened = await env.sim.click(card.message, f"g:t:{task_id}:write", env.alice)
    refused = await env.sim.submit_modal(opened, env.alice, {"text": TEXT})
    assert CARD in refused.text() and TEXT in refused.text()  # the card, with her text given back
    assert refused.custom_ids() == ["g:cs:agree", "g:cs:later"]
    assert (await env.bot.engine.get_task(task_id, alice)).draft is None
    assert rows_holding(env.path, TEXT) == []

    agreed = await env.sim.click(refused.message, "g:cs:agree", env.alice)
    assert "You agreed" in agreed.text() and TEXT in agreed.text()  # still there to send again
    preview = await env.sim.submit_modal(opened, env.alice, {"text": TEXT})
    assert "Submit" in json.dumps(preview.message) and (await env.bot.engine.get_task(task_id, alice)).draft == TEXT


def test_the_card_links_the_terms_only_when_there_are_some() -> None:
    tr, state = tr_in("en-US"), ConsentState(True, None, None)
    bare = SimpleNamespace(config=GroveConfig())
    assert "Terms" not in {f.name for f in card_embed(tr, bare, state).fields}  # type: ignore[arg-type]
    settings = CommunitySettings(dataset_license="CC BY-SA 4.0", terms_url="https://example.org/terms")
    linked = card_embed(tr, SimpleNamespace(config=GroveConfig(community=settings)), state)  # type: ignore[arg-type]
    fields = {f.name: f.value for f in linked.fields}
    assert fields["Licence"] == "CC BY-SA 4.0" and "(https://example.org/terms)" in (fields["Terms"] or "")
    assert len(linked) <= 6000 and all(len(f.value or "") <= 1024 for f in linked.fields)  # Discord's limits


async def test_privacy_withdraws_and_gives_consent(env: Env) -> None:
    alice = await env.member_id(env.alice)
    panel = await env.sim.slash("privacy", env.alice)
    assert "You agreed on" in panel.text() and "g:pv:withdraw" in panel.custom_ids()
    confirm = await env.sim.click(panel.message, "g:pv:withdraw", env.alice)
    assert confirm.custom_ids() == ["g:pv:withdraw_yes", "g:pv:cancel"]
    assert (await env.bot.engine.consent(alice)).agreed  # nothing before the confirmation
    withdrawn = await env.sim.click(confirm.message, "g:pv:withdraw_yes", env.alice)
    assert "withdrew your consent" in withdrawn.text() and "g:pv:consent" in withdrawn.custom_ids()
    assert not (await env.bot.engine.consent(alice)).agreed

    card = await env.sim.slash("task", env.alice)
    assert CARD in card.text() and "You withdrew your consent" in card.text()
    shown = await env.sim.click(withdrawn.message, "g:pv:consent", env.alice)
    assert CARD in shown.text() and shown.custom_ids() == ["g:cs:agree", "g:cs:later"]
    agreed = await env.sim.click(shown.message, "g:cs:agree", env.alice)
    assert "You agreed" in agreed.text() and (await env.bot.engine.consent(alice)).agreed


# ---------------------------------------------------------------------------------------------- privacy


async def alices_tree(env: Env, d: Driver) -> tuple[str, str]:
    """Alice's prompt (TEXT), grown, with bob's accepted reply under it; both mirrored to the feed, and alice's
    prompt flagged into the mod queue."""
    alice, bob, carol, dave = d.users
    engine = env.bot.engine
    await env.sim.slash("privacy", env.alice)  # the server is seen: its community exists
    task = await engine.next_task(alice, "en", TaskType.INITIAL_PROMPT)
    root = (await engine.submit_reply(task.id, alice, TEXT)).message_id
    assert root is not None
    await d.review(root, [bob, carol, dave])
    await engine.run_prompt_lottery("en")
    assert (await engine.tree_status(root)).state is TreeState.GROWING
    reply = await accepted_reply(d, bob, parent=root, reviewers=[alice, carol, dave])
    await published(env, root)
    await published(env, reply)
    feed = await post_of(env, root, PostKind.FEED)
    await env.sim.react(int(feed["id"]), int(feed["channel_id"]), "🚩", env.carol)
    return root, reply


async def test_delete_my_texts_clears_every_post_and_withdraws_bobs_conversation(env: Env, d: Driver) -> None:
    root, reply = await alices_tree(env, d)
    reply_text = (await env.bot.engine.message(reply)).text
    posts = [await post_of(env, root, PostKind.FEED), await post_of(env, root, PostKind.QUEUE)]
    answer = await post_of(env, reply, PostKind.FEED)
    assert all(TEXT in message_text(p) for p in posts) and TEXT[:40] in message_text(answer)

    panel = await env.sim.slash("privacy", env.alice)
    confirm = await env.sim.click(panel.message, "g:pv:delete", env.alice)
    assert "1 text of yours" in confirm.text() and "1 conversation of other members" in confirm.text()
    assert confirm.custom_ids() == ["g:pv:erase", "g:pv:cancel"]
    done = await env.sim.click(confirm.message, "g:pv:erase", env.alice)
    assert "Your texts were deleted" in done.text() and "1 conversation of other members was" in done.text()

    for post in [*posts, answer]:  # every post Grove made: without her text, and no excerpt of it
        shown = env.fake.message(int(post["id"]))
        assert TEXT[:20] not in json.dumps(shown, ensure_ascii=False)
    assert neutral(reply_text) in message_text(env.fake.message(int(answer["id"])))  # bob's reply is still shown
    assert rows_holding(env.path, TEXT[:20]) == []
    kept = await env.bot.engine.message(reply)
    assert not kept.deleted and kept.text == reply_text  # nothing of bob's is deleted ...
    out = env.path.parent / "out.jsonl"
    await export(env.bot.db, out, ExportOptions(states=None, spam="include", deleted="include"))
    assert root not in out.read_text() and reply_text not in out.read_text()  # ... but his tree is withdrawn

    again = await env.sim.slash("privacy", env.alice)
    assert "Your texts were deleted on" in again.text()
    repeated = await env.sim.click(again.message, "g:pv:delete", env.alice)
    assert "already deleted" in repeated.text()


async def test_remove_my_name_keeps_the_texts_without_her(env: Env, d: Driver) -> None:
    await alices_tree(env, d)
    alice = d.users[0]
    async with env.bot.db.read() as repo:
        uuid = member_uuid(await repo.exports.member_seed(), alice)
    out = env.path.parent / "out.jsonl"
    await export(env.bot.db, out, ExportOptions(states=None, spam="include", events=True))
    assert uuid in out.read_text()

    panel = await env.sim.slash("privacy", env.alice)
    confirm = await env.sim.click(panel.message, "g:pv:name", env.alice)
    assert confirm.custom_ids() == ["g:pv:name_yes", "g:pv:cancel"]
    cancelled = await env.sim.click(confirm.message, "g:pv:cancel", env.alice)
    assert "Nothing changed" in cancelled.text() and await env.bot.engine.messages_of_user(alice)
    confirm = await env.sim.click(cancelled.message, "g:pv:name", env.alice)
    done = await env.sim.click(confirm.message, "g:pv:name_yes", env.alice)
    assert "Your name was removed" in done.text() and "1 message" in done.text()
    assert await env.bot.engine.messages_of_user(alice) == []
    await export(env.bot.db, out, ExportOptions(states=None, spam="include", events=True))
    assert TEXT in out.read_text() and uuid not in out.read_text()
    board = await env.sim.slash("leaderboard", env.bob)
    assert "alice" not in board.text()

    again = await env.sim.slash("privacy", env.alice)
    confirm = await env.sim.click(again.message, "g:pv:name", env.alice)
    repeated = await env.sim.click(confirm.message, "g:pv:name_yes", env.alice)
    assert "already removed" in repeated.text()
