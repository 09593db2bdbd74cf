"""Hostile input through the fake Discord: forged or stale custom_ids, malformed modals and commands, interactions
from DMs, and member text full of pings. The member always gets a clear ephemeral word, nothing changes, nothing
is logged as an error (the autouse fixture), and no message Grove writes can ping anyone."""

from __future__ import annotations

import copy
import json
import logging
import sqlite3
import uuid
from collections.abc import AsyncIterator
from contextlib import closing
from typing import Any

import pytest

from cogs.errors import STALE_COMMAND
from cogs.tasks.items import STALE_BUTTON, STALE_FORM
from engine.types import TaskStatus, TaskType, TreeState
from storage.sql import InThread
from tests.discord_env import MOD_ROLE, Env
from tests.fakes import Exchange, Person, message_text, payloads
from tests.fakes.discord_api import mention_leaks, message_write

Json = dict[str, Any]
Snapshot = dict[str, list[tuple[Any, ...]]]

WRONG_KIND = "does not fit this kind of task"
NOT_YOURS = "This task belongs to someone else."
NO_SUCH_TASK = "That task does not exist."
UNKNOWN_ACTION = "Grove does not know this button or form"


@pytest.fixture
async def env(env: Env) -> AsyncIterator[Env]:
    """The harness's env with every person known to the engine (so a refusal adds no user row), and a check after
    each test that no message Grove created or edited could ping anyone."""
    for person in env.people.values():
        await env.member_id(person)
    yield env
    assert mention_leaks(env.fake.calls) == []


# ---------------------------------------------------------------------------------------------- helpers


def snapshot(env: Env) -> Snapshot:
    """Every row of every table, read with a separate connection: what "the database is unchanged" compares."""
    with closing(sqlite3.connect(f"file:{env.path}?mode=ro", uri=True)) as conn:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return {t: sorted(conn.execute(f'SELECT * FROM "{t}"').fetchall(), key=repr) for t in tables}


def changes(before: Snapshot, after: Snapshot) -> dict[str, tuple[list[Any], list[Any]]]:
    """Per table: the rows that went away and the rows that came (an edited row shows in both)."""
    out = {}
    for table in sorted(set(before) | set(after)):
        old, new = before.get(table, []), after.get(table, [])
        gone, came = [r for r in old if r not in new], [r for r in new if r not in old]
        if gone or came:
            out[table] = (gone, came)
    return out


def refusal(exchange: Exchange, *expected: str) -> str:
    """The member got one ephemeral message that says what happened (never the generic crash message)."""
    assert exchange.kind == 4, f"expected an ephemeral message, got callback type {exchange.kind}"
    assert exchange.ephemeral
    text = exchange.text()
    assert text and "Something went wrong" not in text, text
    for piece in expected:
        assert piece in text, text
    return text


def where(env: Env, person: Person, *, guild: bool) -> Json:
    if guild:
        return {"guild_id": payloads.GUILD_ID, "channel_id": env.channels["general"]}
    channel = env.fake.dm_channel(person.id)
    return {"guild_id": None, "channel": channel, "channel_id": int(channel["id"])}


async def forged_click(env: Env, message: Json, custom_id: str, person: Person, *, guild: bool = True) -> Exchange:
    """A click on ``custom_id`` as if ``message`` carried that button (Discord only sends ids the message has)."""
    carrier = copy.deepcopy(message)
    carrier["components"] = [{"type": 1, "components": [{"type": 2, "style": 2, "label": "?", "custom_id": custom_id}]}]
    payload = payloads.component(
        carrier, custom_id, person, interaction_id=env.fake.snowflake(), **where(env, person, guild=guild)
    )
    return await env.sim.dispatch(payload)


def text_field(value: str, custom_id: str = "text") -> list[Json]:
    return [{"type": 18, "id": 1, "component": {"type": 4, "id": 2, "custom_id": custom_id, "value": value}}]


async def forged_submit(
    env: Env, custom_id: str, person: Person, components: list[Json], *, message: Json | None = None
) -> Exchange:
    payload = payloads.modal_submit(
        custom_id,
        person,
        components,
        interaction_id=env.fake.snowflake(),
        message=copy.deepcopy(message) if message else None,
        **where(env, person, guild=True),
    )
    return await env.sim.dispatch(payload)


async def forged_slash(env: Env, name: str, person: Person, options: list[Json]) -> Exchange:
    """``/name`` with raw options, as typed by no Discord client (the Simulator would refuse to build them)."""
    payload = payloads.slash(
        name,
        person,
        options=options,
        command_id=env.fake.command_id(name),
        interaction_id=env.fake.snowflake(),
        **where(env, person, guild=True),
    )
    return await env.sim.dispatch(payload)


async def draft_card(env: Env, person: Person, text: str = "alice's careful draft") -> tuple[Exchange, str]:
    """A writing card in preview, with a saved draft: (the card, its task id)."""
    card = await env.sim.slash("task", person, type="initial_prompt")
    task_id = card.custom_ids()[0].split(":")[2]
    opened = await env.sim.click(card.message, f"g:t:{task_id}:write", person)
    shown = await env.sim.submit_modal(opened, person, {"text": text})
    assert shown.kind == 7 and text in shown.text()
    return shown, task_id


async def prompt_by(env: Env, person: Person, text: str) -> str:
    member = await env.member_id(person)
    task = await env.bot.engine.next_task(member, "en", TaskType.INITIAL_PROMPT)
    result = await env.bot.engine.submit_reply(task.id, member, text)
    assert result.message_id
    return result.message_id


def fast_trees(env: Env) -> None:
    """One review decides and two accepted replies make a tree ready for ranking (the engine is rebuilt per env)."""
    env.bot.engine.cfg = env.bot.engine.cfg.model_copy(
        update={
            "num_reviews_initial_prompt": 1,
            "num_reviews_reply": 1,
            "goal_tree_size": 3,
            "min_goal_tree_size": 2,
            "max_children_count": 2,
            "p_full_labeling_review_prompt": 0.0,
            "p_full_labeling_review_reply_assistant": 0.0,
        }
    )


# ---------------------------------------------------------------------------------------------- forged buttons


GARBAGE = {
    "prefix only": "g:",
    "no task id": "g:t:nonsense",
    "extra colons": "g:t:{task}:submit:extra:colons",
    "over-long (over 100 characters)": "g:t:{task}:submit:" + "y" * 80,
    "upper-case action": "g:t:{task}:SUBMIT",
    "unknown family": "g:zz:{task}:submit",
    "queue button without a message id": "g:q:nonsense:halt",
    "queue button with an unknown action": "g:q:{task}:nuke",
    "leaderboard period": "g:lb:century:0",
    "leaderboard page out of range": "g:lb:total:99999999",
    "privacy action": "g:pv:steal",
    "next task with a bad type": "g:n:x:en",
}


@pytest.mark.parametrize("custom_id", list(GARBAGE.values()), ids=list(GARBAGE))
async def test_garbage_with_grove_prefix_is_answered_and_changes_nothing(env: Env, custom_id: str) -> None:
    card, task_id = await draft_card(env, env.alice)
    before, card_before = snapshot(env), env.fake.message(card.message["id"])
    refused = await forged_click(env, card.message, custom_id.format(task=task_id), env.alice)
    refusal(refused, STALE_BUTTON)
    assert changes(before, snapshot(env)) == {}
    assert env.fake.message(card.message["id"]) == card_before


@pytest.mark.parametrize(
    ("action", "expected"),
    [
        ("frobnicate", UNKNOWN_ACTION),  # fits the grammar, but no such action
        ("review", WRONG_KIND),  # a review button on a writing card
        ("label:ok", WRONG_KIND),
        ("rank_submit:AB", "A ranking must order every answer shown exactly once."),
        ("rank_bad", WRONG_KIND),
    ],
)
async def test_actions_that_do_not_fit_the_card_are_refused(env: Env, action: str, expected: str) -> None:
    card, task_id = await draft_card(env, env.alice)
    before = snapshot(env)
    refusal(await forged_click(env, card.message, f"g:t:{task_id}:{action}", env.alice), expected)
    assert changes(before, snapshot(env)) == {}


async def test_a_writing_button_on_a_review_card_is_refused(env: Env) -> None:
    await prompt_by(env, env.bob, "What is a good first programming language?")
    card = await env.sim.slash("task", env.alice, type="label_initial_prompt")
    task_id = card.custom_ids()[0].split(":")[2]
    before = snapshot(env)
    for action in ("write", "submit"):
        refusal(await forged_click(env, card.message, f"g:t:{task_id}:{action}", env.alice), WRONG_KIND)
    form = await forged_submit(env, f"g:m:{task_id}:write", env.alice, text_field("sneaked in"))
    refusal(form, "Only writing tasks", "sneaked in")
    assert changes(before, snapshot(env)) == {}


async def test_a_task_that_does_not_exist(env: Env) -> None:
    card, _ = await draft_card(env, env.alice)
    before = snapshot(env)
    ghost = str(uuid.uuid4())
    for action in ("submit", "skip:sure", "write", "show", "stop", "guide", "report"):
        refusal(await forged_click(env, card.message, f"g:t:{ghost}:{action}", env.alice), NO_SUCH_TASK)
    refusal(await forged_submit(env, f"g:m:{ghost}:write", env.alice, text_field("words")), NO_SUCH_TASK)
    assert changes(before, snapshot(env)) == {}


async def test_bobs_clicks_on_alices_card_change_nothing(env: Env) -> None:
    card, task_id = await draft_card(env, env.alice)
    before, card_before = snapshot(env), env.fake.message(card.message["id"])
    for action in ("submit", "write:preview", "skip", "guide", "stop"):  # the buttons on the card
        refusal(await env.sim.click(card.message, f"g:t:{task_id}:{action}", env.bob), NOT_YOURS)
    for action in ("write", "skip:sure", "show", "report", "page:0"):  # buttons of other states of her card
        refusal(await forged_click(env, card.message, f"g:t:{task_id}:{action}", env.bob), NOT_YOURS)
    # bob also cannot submit alice's forms, even with a valid-looking body
    refusal(await forged_submit(env, f"g:m:{task_id}:write", env.bob, text_field("bob's words")), NOT_YOURS)
    reason = [{"type": 18, "id": 1, "component": {"type": 4, "id": 2, "custom_id": "reason", "value": "bob says so"}}]
    refusal(await forged_submit(env, f"g:m:{task_id}:report", env.bob, reason), NOT_YOURS)
    assert changes(before, snapshot(env)) == {}
    assert env.fake.message(card.message["id"]) == card_before
    task = await env.bot.engine.get_task(task_id, await env.member_id(env.alice))
    assert task.status is TaskStatus.PENDING and task.draft == "alice's careful draft"


async def test_a_valid_click_is_answered_once(env: Env) -> None:
    """The answer to stale ids must never answer a click a Grove button takes (Discord refuses a second answer)."""
    card, task_id = await draft_card(env, env.alice)
    done = await env.sim.click(card.message, f"g:t:{task_id}:submit", env.alice)
    assert done.kind == 7 and [c for c in done.calls if c.path.endswith("/callback")] == [done.callback]


# ---------------------------------------------------------------------------------------------- forged and broken forms


@pytest.mark.parametrize(
    "custom_id", ["g:m:nonsense", "g:m:{task}:write:" + "y" * 80, "g:m:{task}", "g:q:{task}:halt"], ids=str
)
async def test_forms_grove_never_made_are_answered_and_the_text_given_back(env: Env, custom_id: str) -> None:
    _, task_id = await draft_card(env, env.alice)
    before = snapshot(env)
    refused = await forged_submit(env, custom_id.format(task=task_id), env.alice, text_field("words I typed"))
    refusal(refused, STALE_FORM, "words I typed")
    assert changes(before, snapshot(env)) == {}


async def test_a_form_with_an_unknown_action(env: Env) -> None:
    _, task_id = await draft_card(env, env.alice)
    before = snapshot(env)
    refusal(await forged_submit(env, f"g:m:{task_id}:frob", env.alice, text_field("words")), UNKNOWN_ACTION)
    assert changes(before, snapshot(env)) == {}


@pytest.mark.parametrize(
    "components",
    [
        [],
        text_field("hijacked", custom_id="evil"),
        text_field(""),
        [{"type": 1, "id": 1, "components": []}],
        [{"type": 18, "id": 1, "component": {"type": 21, "id": 2, "custom_id": "text", "value": None}}],
        ["not a component", 42, None],
    ],
    ids=["no components", "unknown field", "empty value", "empty row", "null value", "not components at all"],
)
async def test_a_write_form_without_its_text_keeps_the_draft(env: Env, components: list[Json]) -> None:
    card, task_id = await draft_card(env, env.alice)
    before = snapshot(env)
    refusal(await forged_submit(env, f"g:m:{task_id}:write", env.alice, components, message=card.message), "nothing")
    assert changes(before, snapshot(env)) == {}
    assert (await env.bot.engine.get_task(task_id, await env.member_id(env.alice))).draft == "alice's careful draft"


@pytest.mark.parametrize("length", [2001, 4001, 20_000])  # the engine's limit, Discord's cap, far beyond
async def test_text_over_the_limit_is_refused_and_given_back(env: Env, length: int) -> None:
    card, task_id = await draft_card(env, env.alice)
    before = snapshot(env)
    text = ("long words " * 2000)[: length - 1] + "!"
    refused = await forged_submit(env, f"g:m:{task_id}:write", env.alice, text_field(text), message=card.message)
    refusal(refused, f"Your text has {length:,} characters; the limit is 2,000.")  # in the member's locale
    given_back = message_text(refused.message) + "".join(d.decode() for c in refused.calls for _, d in c.files)
    assert text in given_back  # in an embed, or as a file when an embed cannot hold it
    after = snapshot(env)
    assert {t: rows for t, rows in after.items() if t != "tasks"} == {t: r for t, r in before.items() if t != "tasks"}
    task = await env.bot.engine.get_task(task_id, await env.member_id(env.alice))
    assert task.status is TaskStatus.PENDING and task.draft == text  # kept as the draft: nothing typed is lost
    done = await env.sim.click(card.message, f"g:t:{task_id}:submit", env.alice)
    refusal(done, "the limit is 2,000")
    async with env.bot.db.read() as repo:
        assert await repo.messages_of_user(await env.member_id(env.alice)) == []


async def test_a_review_form_with_missing_or_invalid_answers_stores_nothing(env: Env) -> None:
    await prompt_by(env, env.bob, "How do tides work?")
    card = await env.sim.slash("task", env.alice, type="label_initial_prompt")
    task_id = card.custom_ids()[0].split(":")[2]
    task = await env.bot.engine.get_task(task_id, await env.member_id(env.alice))
    assert task.mandatory_labels
    before = snapshot(env)
    invalid = [
        {"type": 18, "id": i, "component": {"type": 21, "id": 10 + i, "custom_id": name, "value": "7"}}
        for i, name in enumerate(task.mandatory_labels)
    ]
    for components in ([], invalid):
        refusal(await forged_submit(env, f"g:m:{task_id}:review", env.alice, components), "Please answer")
    n = len(task.valid_labels)
    for state in ("", "x", "_" * n + "1", "0" * n, "9" * n):  # states no card carries: start afresh
        refusal(await forged_submit(env, f"g:m:{task_id}:review:{state}", env.alice, []), "Please answer")
    for state in ("x" * 41, "!!", "_:_"):  # not even the grammar of a state
        refusal(await forged_submit(env, f"g:m:{task_id}:review:{state}", env.alice, []), STALE_FORM)
    assert changes(before, snapshot(env)) == {}


# ---------------------------------------------------------------------------------------------- stale tasks


async def test_buttons_of_a_finished_task_say_why_and_change_nothing(env: Env) -> None:
    card, task_id = await draft_card(env, env.alice)
    old_card = copy.deepcopy(card.message)  # the card as it was before the submit turned it into the next task
    await env.sim.click(card.message, f"g:t:{task_id}:submit", env.alice)
    before = snapshot(env)
    for action in ("submit", "write", "skip:sure", "show", "stop"):
        refusal(await forged_click(env, old_card, f"g:t:{task_id}:{action}", env.alice), "already done")
    assert changes(before, snapshot(env)) == {}
    refusal(await forged_submit(env, f"g:m:{task_id}:write", env.alice, text_field("again")), "already done", "again")
    assert changes(before, snapshot(env)) == {}  # the text comes back in the refusal; no draft on a done task
    async with env.bot.db.read() as repo:
        assert len(await repo.messages_of_user(await env.member_id(env.alice))) == 1
    assert (await env.bot.engine.get_task(task_id, await env.member_id(env.alice))).status is TaskStatus.DONE


async def test_buttons_of_a_skipped_task(env: Env) -> None:
    card = await env.sim.slash("task", env.alice, type="initial_prompt")
    task_id = card.custom_ids()[0].split(":")[2]
    old_card = copy.deepcopy(card.message)
    await env.sim.click(card.message, f"g:t:{task_id}:skip", env.alice)
    before = snapshot(env)
    for action in ("write", "submit", "skip:sure"):
        refusal(await forged_click(env, old_card, f"g:t:{task_id}:{action}", env.alice), "skipped this task")
    assert changes(before, snapshot(env)) == {}


async def test_an_expired_task_keeps_the_text_and_stores_nothing_else(env: Env) -> None:
    card, task_id = await draft_card(env, env.alice)
    env.clock.advance(3 * 24 * 3600)
    before = snapshot(env)
    for action in ("submit", "write:preview"):  # (skipping an expired task is fine: it ends it either way)
        refusal(await forged_click(env, card.message, f"g:t:{task_id}:{action}", env.alice), "expired")
    assert changes(before, snapshot(env)) == {}
    late = await forged_submit(env, f"g:m:{task_id}:write", env.alice, text_field("late words"), message=card.message)
    refusal(late, "expired", "late words")
    async with env.bot.db.read() as repo:
        assert await repo.messages_of_user(await env.member_id(env.alice)) == []


# ---------------------------------------------------------------------------------------------- forged commands


async def test_a_command_discord_still_shows_but_grove_no_longer_has(env: Env) -> None:
    before = snapshot(env)
    refusal(await forged_slash(env, "frobnicate", env.alice, []), STALE_COMMAND)
    group = [payloads.option("obsolete", 1, options=[])]
    refusal(await forged_slash(env, "mod", env.mod, group), STALE_COMMAND)
    assert changes(before, snapshot(env)) == {}


async def test_a_required_option_missing_from_the_payload(env: Env) -> None:
    before = snapshot(env)
    refused = await forged_slash(env, "mod", env.mod, [payloads.option("halt", 1, options=[])])
    refusal(refused, STALE_COMMAND)
    assert changes(before, snapshot(env)) == {}


async def test_option_values_of_the_wrong_kind(env: Env) -> None:
    before = snapshot(env)
    refusal(await forged_slash(env, "task", env.alice, [payloads.option("type", 4, 5)]), "“5” is not a task type")
    refusal(await forged_slash(env, "stats", env.alice, [payloads.option("period", 3, "century")]), "“century”")
    refusal(await forged_slash(env, "guidelines", env.alice, [payloads.option("task", 3, "poetry")]), "“poetry”")
    forged_code = [payloads.option("task", 1, options=[payloads.option("code", 3, "@everyone")])]
    refusal(await forged_slash(env, "language", env.alice, forged_code), "not a language")
    forged_ui = [payloads.option("ui", 1, options=[payloads.option("code", 3, "klingon")])]
    refusal(await forged_slash(env, "language", env.alice, forged_ui), "“klingon”")
    assert changes(before, snapshot(env)) == {}


async def test_a_user_option_discord_did_not_resolve(env: Env) -> None:
    """Discord always resolves a user option; a bare id names no one, and must not create a member."""
    before = snapshot(env)
    stranger = [payloads.option("member", 6, "424242424242424242")]
    refusal(await forged_slash(env, "stats", env.alice, stranger), "There is no such member.")
    ban = [payloads.option("ban", 1, options=stranger)]
    refusal(await forged_slash(env, "mod", env.mod, ban), "There is no such member.")
    assert changes(before, snapshot(env)) == {}


async def test_unknown_options_are_ignored(env: Env) -> None:
    """An option the command does not have (an older client) is left out: the command does what it would without."""
    card = await forged_slash(
        env, "task", env.alice, [payloads.option("type", 3, "initial_prompt"), payloads.option("bogus", 3, "x")]
    )
    assert card.kind == 4 and card.ephemeral and "Write a prompt" in card.text()


# ---------------------------------------------------------------------------------------------- DMs


# Every server command in DMs, for each role: tests/discord/test_permissions.py::test_in_dms.


async def test_a_queue_button_clicked_from_a_dm_is_refused(env: Env) -> None:
    root = await prompt_by(env, env.bob, "a prompt to moderate")
    card, _ = await draft_card(env, env.alice)
    before = snapshot(env)
    for person in (env.alice, env.mod):
        refused = await forged_click(env, card.message, f"g:q:{root}:delete", person, guild=False)
        refusal(refused, "Only moderators")
    assert changes(before, snapshot(env)) == {}


# ---------------------------------------------------------------------------------------------- no pings, ever


async def test_member_text_with_pings_is_echoed_everywhere_but_pings_no_one(env: Env) -> None:
    evil = f"@everyone @here <@&{MOD_ROLE}> <@{env.bob.id}> <@!{env.carol.id}> what is the best tea?"
    loud = env.sim.member("@everyone")  # a member whose display name is "@everyone"
    fast_trees(env)
    await env.sim.slash("config", env.admin, sub="feed-channel", channel=env.channels["feed"])
    await env.sim.slash("config", env.admin, sub="mod-queue-channel", channel=env.channels["queue"])

    # the preview (back to its author) and the feed mirror (to the server)
    card = await env.sim.slash("task", loud, type="initial_prompt")
    task_id = card.custom_ids()[0].split(":")[2]
    opened = await env.sim.click(card.message, f"g:t:{task_id}:write", loud)
    preview = await env.sim.submit_modal(opened, loud, {"text": evil})
    assert evil in preview.text()
    await env.sim.click(preview.message, f"g:t:{task_id}:submit", loud)
    feed = [m for m in env.fake.messages.values() if m["channel_id"] == str(env.channels["feed"])]
    assert [evil in message_text(m) for m in feed] == [True]

    # a review card shown to another member, then a ranking card of replies that ping too
    review = await env.sim.slash("task", env.bob, type="label_initial_prompt")
    assert evil in review.text()
    review_id = review.custom_ids()[0].split(":")[2]
    await env.sim.click(review.message, f"g:t:{review_id}:label:ok", env.bob)
    engine = env.bot.engine
    await engine.run_prompt_lottery("en")
    erin = await env.member_id(env.erin)
    for person in (env.carol, env.dave):
        member = await env.member_id(person)
        task = await engine.next_task(member, "en", TaskType.ASSISTANT_REPLY)
        result = await engine.submit_reply(task.id, member, f"{evil} (answered by {person.name})")
        label = await engine.next_task(erin, "en", TaskType.LABEL_ASSISTANT_REPLY)
        await engine.submit_labels(label.id, erin, dict.fromkeys(label.mandatory_labels, 0.0))
        assert label.target_id == result.message_id
    root = feed[0]["embeds"][0]["footer"]["text"].split()[1]
    assert (await engine.tree_status(root)).state is TreeState.RANKING
    ranking = await env.sim.slash("task", env.alice, type="rank_assistant_replies")
    assert ranking.text().count(evil) == 3  # the prompt and both replies

    # a flag queues it for moderators; a report notes it on the queue post (an edit)
    await env.sim.react(int(feed[0]["id"]), env.channels["feed"], "🚩", env.dave)
    rank_id = ranking.custom_ids()[0].split(":")[2]
    which = await env.sim.click(ranking.message, f"g:t:{rank_id}:report", env.alice)  # which one? the prompt
    assert which.ephemeral and "Report which reply?" in which.text()
    report = await env.sim.click(which.message, f"g:s:{rank_id}:report", env.alice, values=["parent"])
    await env.sim.submit_modal(report, env.alice, {"reason": evil})
    [queued] = [m for m in env.fake.messages.values() if m["channel_id"] == str(env.channels["queue"])]
    assert evil in message_text(queued) and "reported by" in message_text(queued)
    assert env.fake.find("PATCH", rf"^/channels/{env.channels['queue']}/messages/{queued['id']}$")

    # moderator replies that mention the member
    banned = await env.sim.slash("mod", env.mod, sub="ban", member=loud)
    assert f"<@{loud.id}>" in banned.text()
    await env.sim.slash("mod", env.mod, sub="unban", member=loud)

    # the text given back on a refusal, the privacy export, the leaderboard and stats under the name "@everyone"
    again = await env.sim.slash("task", loud, type="initial_prompt")
    again_id = again.custom_ids()[0].split(":")[2]
    opened = await env.sim.click(again.message, f"g:t:{again_id}:write", loud)
    shown = await env.sim.submit_modal(opened, loud, {"text": evil})
    duplicate = await env.sim.click(shown.message, f"g:t:{again_id}:submit", loud)
    assert duplicate.ephemeral and evil in duplicate.text()
    panel = await env.sim.slash("privacy", loud)
    exported = await env.sim.click(panel.message, "g:pv:export", loud)
    [(_, raw)] = [f for c in exported.calls for f in c.files]
    assert [m["text"] for m in json.loads(raw)["messages"]] == [evil]
    await env.bot.stats.refresh_all()
    board = await env.sim.slash("leaderboard", env.bob)
    assert "@everyone" in board.text()
    stats = await env.sim.slash("stats", env.bob, member=loud)
    assert "@everyone" in stats.text()

    writes = [c for c in env.fake.calls if message_write(c) is not None]
    assert len(writes) >= 15 and any(c.files for c in writes)  # multipart bodies (payload_json) are checked too
    assert mention_leaks(env.fake.calls) == []


def test_the_ping_check_can_fail() -> None:
    from tests.fakes.discord_api import Call

    ok = Call("POST", "/channels/1/messages", {}, {"content": "@everyone", "allowed_mentions": {"parse": []}})
    bare = Call("POST", "/channels/1/messages", {}, {"content": "@everyone"})
    roles = Call("PATCH", "/channels/1/messages/2", {}, {"allowed_mentions": {"parse": ["roles"]}})
    user = Call("POST", "/webhooks/1/t", {}, {"allowed_mentions": {"parse": [], "users": ["3"]}})
    reply = Call("POST", "/interactions/1/t/callback", {}, {"type": 4, "data": {"allowed_mentions": {"parse": []}}})
    update = Call("POST", "/interactions/1/t/callback", {}, {"type": 7, "data": {"content": "x"}})
    modal = Call("POST", "/interactions/1/t/callback", {}, {"type": 9, "data": {"custom_id": "g:m:x"}})
    assert mention_leaks([ok, reply, modal]) == []
    assert len(mention_leaks([bare, roles, user, update])) == 4


# ---------------------------------------------------------------------------------------------- answered too late


async def test_an_answer_after_discords_3_seconds_loses_nothing(env: Env, caplog: pytest.LogCaptureFixture) -> None:
    """Past 3 s Discord refuses the first answer (10062): Grove logs a warning, not an error, and what the engine
    stored stays stored; the member's second press is answered normally."""
    card, task_id = await draft_card(env, env.alice, "written while Discord was slow")
    env.fake.too_late = True
    with caplog.at_level(logging.WARNING, logger="grove"):
        await env.sim.click(card.message, f"g:t:{task_id}:submit", env.alice)
        await env.sim.slash("task", env.bob, type="initial_prompt")
    assert "too late" in caplog.text
    member = await env.member_id(env.alice)
    async with env.bot.db.read() as repo:
        assert [m.text for m in await repo.messages_of_user(member)] == ["written while Discord was slow"]
    assert (await env.bot.engine.get_task(task_id, member)).status is TaskStatus.DONE
    env.fake.too_late = False
    again = await env.sim.click(card.message, f"g:t:{task_id}:submit", env.alice)
    assert "already done" in again.text()


async def test_a_database_held_by_another_program_gives_the_text_back(env: Env) -> None:
    """A backup or import in another process holding the write lock past the busy timeout: the member is told to
    try again, with their text; nothing is logged as an error; once the lock is gone the same form works."""
    card = await env.sim.slash("task", env.alice, type="initial_prompt")
    task_id = card.custom_ids()[0].split(":")[2]
    opened = await env.sim.click(card.message, f"g:t:{task_id}:write", env.alice)
    env.bot.db.busy_timeout = 0.05  # the default 2 s would only slow the test down
    with closing(sqlite3.connect(env.path, isolation_level=None)) as other:
        other.execute("BEGIN IMMEDIATE")
        refused = await env.sim.submit_modal(opened, env.alice, {"text": "typed while the database was held"})
        other.execute("ROLLBACK")
    assert refused.ephemeral and "busy" in refused.text() and "typed while the database was held" in refused.text()
    shown = await env.sim.submit_modal(opened, env.alice, {"text": "typed while the database was held"})
    assert "typed while the database was held" in shown.text() and shown.kind == 7


async def test_a_full_disk_stores_nothing_and_gives_the_text_back(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 18: on a full disk the member got a generic error without their text. SQLite reports a full disk on
    the statement that needs room (here: saving the draft); the transaction is rolled back, the member is told
    plainly with the text, and nothing is stored."""
    card = await env.sim.slash("task", env.alice, type="initial_prompt")
    task_id = card.custom_ids()[0].split(":")[2]
    opened = await env.sim.click(card.message, f"g:t:{task_id}:write", env.alice)
    text = "typed while the disk was full"
    execute = InThread.execute  # the statements of a unit of work, on the database thread

    async def full(self: InThread, sql: str, *args: Any) -> Any:  # what SQLite raises when the disk has no room
        if sql.lstrip().upper().startswith("UPDATE TASKS SET DRAFT"):
            raise sqlite3.OperationalError("database or disk is full")
        return await execute(self, sql, *args)

    monkeypatch.setattr(InThread, "execute", full)
    before = snapshot(env)
    refused = await env.sim.submit_modal(opened, env.alice, {"text": text})
    assert refused.ephemeral and "storage is full" in refused.text() and text in refused.text()
    assert changes(before, snapshot(env)) == {}
    monkeypatch.setattr(InThread, "execute", execute)  # room again: the same form works
    shown = await env.sim.submit_modal(opened, env.alice, {"text": text})
    assert shown.kind == 7 and text in shown.text()
