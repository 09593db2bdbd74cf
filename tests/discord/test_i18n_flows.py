"""Members whose Discord app speaks German work through Grove: /task, writing, reviewing and ranking, and the rest
of what a member, a moderator and an admin see. Everything Grove sends them comes from the German catalog.

Two checks of the same flows:
- with the real German catalog: no English source text that has a German translation reaches them (this holds
  for the messages translated so far and keeps holding as translators finish the catalog);
- with a pseudo catalog that marks every text it gives: nothing Grove shows is outside the marks, so every text
  goes through the catalog (a string that bypasses it fails here, whatever the translations say). Feed and
  mod-queue posts are in the server's language, German here too.
"""

from __future__ import annotations

from typing import Any

import discord
import pytest

from engine.types import TaskType, TreeState
from tests.discord.locales import outside_catalog, pseudo, sent_texts, source_leaks, speak, template_keys, words
from tests.discord_env import Env
from tests.driver import GOOD, fill_labels
from tests.fakes import Exchange, Person
from tests.fakes.discord_api import Call

PROMPT = "Wie backe ich ein Sauerteigbrot?"
MEMBER_TEXTS = (
    PROMPT,
    "Warum ist der Himmel blau?",
    "Wie spät ist es?",
    "Nenne ein gutes Buch für einen langen Flug.",
    "bob schlägt ein Buch vor",
    "carol schlägt ein Buch vor",
    "dave schlägt ein Buch vor",
    "Das ist Werbung.",
    "Ein Entwurf",
    "Grove Test Guild",
    *("alice", "bob", "carol", "dave", "erin", "mod", "admin"),
)
NAMES = {"Grove", "de", "en", "oasst", "JSON", "gz", "jsonl"}  # words that are the same in every language


@pytest.fixture
def engine_overrides() -> dict[str, Any]:
    # one review decides; a tree ranks as soon as its prompt has three accepted replies; reviews use the full form
    return {
        "num_reviews_initial_prompt": 1,
        "num_reviews_reply": 1,
        "goal_tree_size": 4,
        "min_goal_tree_size": 2,
        "max_children_count": 3,
        "p_full_labeling_review_prompt": 1.0,
    }


async def prompt_by(env: Env, person: Person, text: str) -> str:
    member = await env.member_id(person)
    task = await env.bot.engine.next_task(member, "de", TaskType.INITIAL_PROMPT)
    result = await env.bot.engine.submit_reply(task.id, member, text)
    assert result.message_id
    return result.message_id


async def ranking_tree(env: Env) -> str:
    """carol's German prompt with three accepted assistant replies: the tree waits for rankings."""
    engine = env.bot.engine
    members = {p.name: await env.member_id(p) for p in (env.alice, env.bob, env.carol, env.dave, env.erin)}
    root = await prompt_by(env, env.carol, "Nenne ein gutes Buch für einen langen Flug.")
    reviewer = members["erin"]
    task = await engine.next_task(reviewer, "de", TaskType.LABEL_INITIAL_PROMPT)
    await engine.submit_labels(task.id, reviewer, fill_labels(task, GOOD))
    await engine.run_prompt_lottery("de")
    for name in ("bob", "carol", "dave"):
        task = await engine.next_task(members[name], "de", TaskType.ASSISTANT_REPLY)
        result = await engine.submit_reply(task.id, members[name], f"{name} schlägt ein Buch vor")
        task = await engine.next_task(reviewer, "de", TaskType.LABEL_ASSISTANT_REPLY)
        assert task.target_id == result.message_id
        await engine.submit_labels(task.id, reviewer, fill_labels(task, GOOD))
    assert (await engine.tree_status(root)).state is TreeState.RANKING
    return root


def button(exchange: Exchange, action: str) -> str:
    return next(c for c in exchange.custom_ids() if c.split(":")[3:4] == [action])


async def card_of(env: Env, person: Person, task_type: str, channel: int) -> Exchange:
    """A card of that type: /task, or New task on its offer of open tasks."""
    card = await env.sim.slash("task", person, type=task_type, channel_id=channel)
    if not any(c.startswith("g:t:") for c in card.custom_ids()) or any(c.startswith("g:o:") for c in card.custom_ids()):
        card = await env.sim.click(card.message, next(c for c in card.custom_ids() if c.startswith("g:n:")), person)
    return card


def radio_answers(form: Exchange) -> dict[str, Any]:
    return {
        f["component"]["custom_id"]: f["component"]["options"][0]["value"]
        for f in form.modal["components"]
        if f["component"]["type"] == 21
    }


async def member_flow(env: Env) -> None:
    """alice in the server's German channel: write, review and rank through cards, the member commands, and a few
    refusals on the way."""
    sim, alice, de = env.sim, env.alice, env.channels["de"]
    await sim.slash("help", alice, channel_id=de)
    await sim.slash("guidelines", alice, channel_id=de)
    await sim.slash("guidelines", alice, channel_id=de, task="label_assistant_reply")
    await sim.autocomplete("task", alice, "type")
    # write a prompt: card, form, an empty form refused, preview, submit (the card turns into the next one)
    card = await card_of(env, alice, "initial_prompt", de)
    form = await sim.click(card.message, button(card, "write"), alice)
    await sim.submit_modal(form, alice, {"text": "   "})
    preview = await sim.submit_modal(form, alice, {"text": PROMPT})
    await sim.click(preview.message, button(preview, "guide"), alice)
    done = await sim.click(preview.message, button(preview, "submit"), alice)
    # the next card: a draft, then Skip asks first; Stop, /tasks, Resume
    form = await sim.click(done.message, button(done, "write"), alice)
    drafted = await sim.submit_modal(form, alice, {"text": "Ein Entwurf"})
    asked = await sim.click(drafted.message, button(drafted, "skip"), alice)
    back = await sim.click(asked.message, button(asked, "show"), alice)
    stopped = await sim.click(back.message, button(back, "stop"), alice)
    listed = await sim.slash("tasks", alice, channel_id=de)
    await sim.click(stopped.message, button(stopped, "resume"), alice)
    released = await sim.click(listed.message, next(c for c in listed.custom_ids() if ":release" in c), alice)
    assert released.kind == 7
    # someone else's card refuses her
    await prompt_by(env, env.bob, "Warum ist der Himmel blau?")
    theirs = await card_of(env, env.bob, "initial_prompt", de)
    await sim.click(theirs.message, button(theirs, "write"), alice)
    # review bob's prompt in the full form (radio and checkbox groups, two pages)
    card = await card_of(env, alice, "label_initial_prompt", de)
    form = await sim.click(card.message, button(card, "review"), alice)
    step = await sim.submit_modal(form, alice, radio_answers(form))
    if step.modal is None and any(":review:" in c for c in step.custom_ids()):
        form = await sim.click(step.message, button(step, "review"), alice)
        await sim.submit_modal(form, alice, radio_answers(form))
    # rank three replies, report one of them
    card = await card_of(env, alice, "rank_assistant_replies", de)
    tid = button(card, "rank").split(":")[2]
    step = await sim.click(card.message, f"g:t:{tid}:rank:B", alice)
    step = await sim.click(step.message, f"g:t:{tid}:rank_undo", alice)
    step = await sim.click(step.message, f"g:t:{tid}:rank:C", alice)
    step = await sim.click(step.message, f"g:t:{tid}:rank:CA", alice)
    report = await sim.click(step.message, f"g:t:{tid}:report", alice)
    form = await sim.click(report.message, f"g:s:{tid}:report", alice, values=["A"])
    await sim.submit_modal(form, alice, {"reason": "Das ist Werbung."})
    await sim.click(step.message, f"g:t:{tid}:rank_submit:CAB", alice)
    await sim.slash("task", alice, type="rank_assistant_replies", channel_id=de)  # nothing left to rank
    # the member's own commands
    await sim.slash("status", alice, channel_id=de)
    await sim.slash("status", alice, channel_id=de, language="fr")
    await sim.slash("language task", alice, channel_id=de)
    await sim.slash("language task", alice, channel_id=de, code="de")
    await sim.slash("language ui", alice, channel_id=de)
    await sim.slash("stats", alice, channel_id=de)
    await sim.slash("stats", alice, channel_id=de, member=env.bob, period="week")
    await sim.slash("leaderboard", alice, channel_id=de, period="day")
    await sim.slash("task", alice, channel_id=de, language="not a language")
    panel = await sim.slash("privacy", alice, channel_id=de)
    hidden = await sim.click(panel.message, "g:pv:hide", alice)
    await sim.click(hidden.message, "g:pv:show", alice)
    await sim.click(panel.message, "g:pv:export", alice)
    confirm = await sim.click(panel.message, "g:pv:delete", alice)
    await sim.click(confirm.message, "g:pv:cancel", alice)


async def moderator_flow(env: Env) -> None:
    """The moderator (German app): /mod on a message, the queue post's buttons, an emoji on a feed post."""
    sim, mod = env.sim, env.mod
    message = await prompt_by(env, env.dave, "Wie spät ist es?")
    env.bot.dispatch("grove_message", message, await env.bot.community_of_guild(sim.guild_id))
    await sim.settle()
    [feed] = [p for p in await env.bot.settings.posts_of(message) if p.kind == "feed"]
    await sim.react(feed.discord_message_id, feed.channel_id, "🚩", env.erin)  # queued, in the server's language
    [queued] = [p for p in await env.bot.settings.posts_of(message) if p.kind == "queue"]
    post = env.fake.message(queued.discord_message_id)
    await sim.click(post, f"g:q:{message}:halt", env.alice)  # refused: not a moderator
    await sim.click(post, f"g:q:{message}:halt", mod)
    await sim.click(env.fake.message(queued.discord_message_id), f"g:q:{message}:restore", mod)
    await sim.slash("mod", mod, sub="halt", tree=message)
    await sim.slash("mod", mod, sub="resume", tree=message)
    await sim.slash("mod", mod, sub="halt", tree="no such tree")
    await sim.slash("mod", mod, sub="delete", message=message)
    await sim.slash("mod", mod, sub="restore", message=message)
    await sim.react(feed.discord_message_id, feed.channel_id, "⛔", mod)
    await sim.slash("mod", mod, sub="ban", member=env.erin)
    await sim.slash("mod", mod, sub="unban", member=env.erin)
    await sim.slash("mod", env.alice, sub="unban", member=env.erin)  # refused
    await sim.slash("help", mod)


async def admin_flow(env: Env) -> None:
    """The admin (German app): every /config command."""
    sim, admin = env.sim, env.admin
    await sim.slash("config", admin, sub=("language-channel", "set"), channel=env.channels["de"], language="de")
    await sim.slash("config", admin, sub=("language-channel", "list"))
    await sim.slash("config", admin, sub=("language-channel", "remove"), channel=env.channels["fr"])
    await sim.slash("config", admin, sub="feed-channel", channel=env.channels["feed"])
    await sim.slash("config", admin, sub="mod-queue-channel", channel=env.channels["queue"])
    await sim.slash("config", admin, sub="moderator-role")
    await sim.slash("config", admin, sub="default-language", language="de")
    await sim.slash("config", admin, sub="show")
    await sim.slash("config", admin, sub="export")
    await sim.slash("config", env.alice, sub="show")  # refused
    await sim.slash("help", admin)


async def all_flows(env: Env) -> None:
    await ranking_tree(env)  # a tree waiting for rankings, before anyone's own work
    await admin_flow(env)
    await member_flow(env)
    await moderator_flow(env)


@pytest.fixture
def german(env: Env, monkeypatch: pytest.MonkeyPatch) -> Env:
    """alice's, the moderator's and the admin's Discord apps speak German; so does the server (its posts)."""
    speak(monkeypatch, {p.id: "de" for p in (env.alice, env.mod, env.admin)})
    guild = env.bot.get_guild(env.sim.guild_id)
    assert guild is not None
    guild.preferred_locale = discord.Locale.german
    return env


def sent_to_german_speakers(env: Env, start: int) -> list[Call]:
    """What Grove sent since call `start`, except its answers to the members whose apps speak English."""
    english = {str(p.id) for p in (env.bob, env.carol, env.dave, env.erin)}
    out = []
    for call in env.fake.calls[start:]:
        if call.path.startswith("/interactions/"):
            payload = env.fake.interactions[int(call.path.split("/")[2])]
            if (payload.get("member") or {}).get("user", {}).get("id") in english:
                continue
        out.append(call)
    return out


async def test_a_german_member_sees_no_english_that_has_a_german_translation(german: Env) -> None:
    env = german
    start = len(env.fake.calls)
    await all_flows(env)
    sent = sent_texts(sent_to_german_speakers(env, start))
    assert len(sent) > 300, "the flows sent too little to mean anything"
    assert source_leaks("de", sent) == []
    assert "Einen Prompt schreiben" in "\n".join(sent)  # (a translation the catalog holds already, shown)


async def test_everything_grove_sends_comes_from_the_catalog(german: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    asked = pseudo(monkeypatch, "de")
    env = german
    start = len(env.fake.calls)
    await all_flows(env)
    leftovers: dict[str, list[str]] = {}
    for text in sent_texts(sent_to_german_speakers(env, start)):
        if rest := [w for w in words(outside_catalog(text, MEMBER_TEXTS)) if w not in NAMES]:
            leftovers[text] = rest
    assert leftovers == {}
    # and every text the code asked the catalog for is in the template translators work from
    assert asked and asked <= template_keys()
