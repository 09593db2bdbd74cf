"""Review (labelling) and ranking cards through the fake Discord: buttons, modals, state in custom_ids, the DB after."""

from __future__ import annotations

from typing import Any

import pytest

from engine.types import TaskStatus, TaskType, TreeState
from tests.discord_env import Env
from tests.driver import GOOD, fill_labels
from tests.fakes import Exchange, Person


@pytest.fixture
def engine_overrides() -> dict[str, Any]:
    # one review decides; a tree ranks as soon as its prompt has three accepted replies
    return {
        "num_reviews_initial_prompt": 1,
        "num_reviews_reply": 1,
        "goal_tree_size": 4,
        "min_goal_tree_size": 2,
        "max_children_count": 3,
    }


def configure(env: Env, **update: Any) -> None:
    env.bot.engine.cfg = env.bot.engine.cfg.model_copy(update=update)


def button(exchange: Exchange, action: str, arg: str | None = None) -> str:
    """The custom_id of the card's button for `action` (and `arg`, when given)."""
    for cid in exchange.custom_ids():
        parts = cid.split(":")
        if parts[3] == action and (arg is None or (parts[4] if len(parts) > 4 else "") == arg):
            return cid
    raise AssertionError(f"no {action}:{arg} button in {exchange.custom_ids()}")


def components(exchange: Exchange) -> dict[str, dict[str, Any]]:
    """The card's buttons by custom_id."""
    return {c["custom_id"]: c for row in exchange.message["components"] for c in row["components"]}


async def prompt_by(env: Env, person: Person, text: str) -> str:
    member = await env.member_id(person)
    task = await env.bot.engine.next_task(member, "en", TaskType.INITIAL_PROMPT)
    result = await env.bot.engine.submit_reply(task.id, member, text)
    assert result.message_id
    return result.message_id


async def review_card(env: Env, person: Person) -> tuple[Exchange, str]:
    card = await env.sim.slash("task", person, type="label_initial_prompt")
    assert card.kind == 4 and card.ephemeral, card.text()
    return card, card.custom_ids()[0].split(":")[2]


async def reviews(env: Env, message_id: str) -> list[dict[str, float]]:
    async with env.bot.db.read() as repo:
        return await repo.reviews(message_id)


# ---------------------------------------------------------------------- simple mode


async def test_simple_mode_buttons_store_labels_and_turn_to_the_next_card(env: Env) -> None:
    configure(env, p_full_labeling_review_prompt=0.0)
    first = await prompt_by(env, env.alice, "What is the capital of Peru?")
    second = await prompt_by(env, env.carol, "How do bees make honey?")
    card, task_id = await review_card(env, env.bob)
    assert "Review a prompt" in card.text() and "◀ this message" in card.text()
    buttons = components(card)
    assert [b["label"] for b in buttons.values()][:3] == ["Looks fine", "Spam", "Wrong language"]
    task = await env.bot.engine.get_task(task_id, await env.member_id(env.bob))
    reviewed = task.target_id

    done = await env.sim.click(card.message, button(card, "label", "ok"), env.bob)
    assert done.kind == 7 and "Saved" in done.text()
    assert await reviews(env, reviewed) == [{"spam": 0.0, "lang_mismatch": 0.0}]
    assert (await env.bot.engine.message(reviewed)).review_result is True
    next_id = done.custom_ids()[0].split(":")[2]
    assert next_id != task_id and button(done, "label", "spam")  # continuous mode: the other prompt
    other = first if reviewed == second else second

    await env.sim.click(done.message, button(done, "label", "lang"), env.bob)
    assert await reviews(env, other) == [{"spam": 0.0, "lang_mismatch": 1.0}]
    assert (await env.bot.engine.message(other)).review_result is False


async def test_simple_mode_spam(env: Env) -> None:
    configure(env, p_full_labeling_review_prompt=0.0)
    prompt = await prompt_by(env, env.alice, "buy cheap pills")
    card, _ = await review_card(env, env.bob)
    done = await env.sim.click(card.message, button(card, "label", "spam"), env.bob)
    assert "Saved" in done.text() and "No more" in done.text()  # nothing else to review
    assert await reviews(env, prompt) == [{"spam": 1.0}]
    assert (await env.bot.engine.tree_status(prompt)).state is TreeState.ABORTED_LOW_GRADE


# ---------------------------------------------------------------------- full mode


def modal_fields(opened: Exchange) -> dict[str, dict[str, Any]]:
    modal = opened.modal
    assert modal is not None and len(modal["components"]) <= 5
    assert all(c["type"] == 18 and len(c["label"]) <= 45 for c in modal["components"])
    assert len(modal["custom_id"]) <= 100
    return {c["component"]["custom_id"]: c["component"] for c in modal["components"]}


async def test_full_mode_one_page(env: Env) -> None:
    configure(env, labels_initial_prompt=("spam", "lang_mismatch", "quality", "pii"))
    prompt = await prompt_by(env, env.alice, "Write a haiku about rain.")
    card, task_id = await review_card(env, env.bob)
    assert card.custom_ids()[0] == f"g:t:{task_id}:review"
    opened = await env.sim.click(card.message, f"g:t:{task_id}:review", env.bob)
    assert opened.kind == 9 and opened.modal["title"] == "Review"
    fields = modal_fields(opened)
    assert list(fields) == ["spam", "flags0", "quality"]
    assert fields["spam"]["type"] == 21 and fields["spam"]["required"] is True
    assert [o["value"] for o in fields["spam"]["options"]] == ["1", "0"]
    assert fields["quality"]["type"] == 21 and fields["quality"]["required"] is False
    assert [o["value"] for o in fields["quality"]["options"]] == ["1", "2", "3", "4", "5"]
    assert fields["flags0"]["type"] == 22 and fields["flags0"]["required"] is False
    assert [o["value"] for o in fields["flags0"]["options"]] == ["lang_mismatch", "pii"]

    done = await env.sim.submit_modal(opened, env.bob, {"spam": "0", "quality": "4", "flags0": ["pii"]})
    assert done.kind == 7 and "Saved" in done.text()
    assert await reviews(env, prompt) == [{"spam": 0.0, "lang_mismatch": 0.0, "quality": 0.75, "pii": 1.0}]
    task = await env.bot.engine.get_task(task_id, await env.member_id(env.bob))
    assert task.status is TaskStatus.DONE


async def test_full_mode_two_pages_survive_a_restart(env: Env) -> None:
    prompt = await prompt_by(env, env.alice, "Explain photosynthesis simply.")
    card, task_id = await review_card(env, env.bob)
    opened = await env.sim.click(card.message, f"g:t:{task_id}:review", env.bob)
    assert opened.modal["title"] == "Review (page 1 of 2)"
    assert list(modal_fields(opened)) == ["spam", "flags0", "quality", "creativity", "humor"]
    page1 = {"spam": "0", "flags0": ["lang_mismatch"], "quality": "5", "humor": "1"}  # creativity left blank
    kept = await env.sim.submit_modal(opened, env.bob, page1)
    assert kept.kind == 7 and "nothing is stored yet" in kept.text()
    assert await reviews(env, prompt) == []
    go_on = next(c for c in kept.custom_ids() if c.startswith(f"g:t:{task_id}:review:"))
    assert len(go_on) <= 100 and components(kept)[go_on]["label"] == "Continue (page 2 of 2)"

    await env.restart()  # the partial answers live in the button's custom_id
    second = await env.sim.click(kept.message, go_on, env.bob)
    assert second.modal["title"] == "Review (page 2 of 2)"
    assert list(modal_fields(second)) == ["toxicity", "violence"]
    done = await env.sim.submit_modal(second, env.bob, {"toxicity": "2"})
    assert "Saved" in done.text()
    [labels] = await reviews(env, prompt)
    assert labels == {
        "spam": 0.0,
        "lang_mismatch": 1.0,
        "not_appropriate": 0.0,
        "pii": 0.0,
        "hate_speech": 0.0,
        "sexual_content": 0.0,
        "quality": 1.0,
        "humor": 0.0,
        "toxicity": 0.25,
    }


async def test_a_missing_mandatory_label_is_refused(env: Env) -> None:
    prompt = await prompt_by(env, env.alice, "Tell me a joke about cats.")
    card, task_id = await review_card(env, env.bob)
    opened = await env.sim.click(card.message, f"g:t:{task_id}:review", env.bob)
    opened.modal["components"][0]["component"]["required"] = False  # a client that lets it through
    refused = await env.sim.submit_modal(opened, env.bob, {"quality": "3"})
    assert refused.kind == 4 and refused.ephemeral
    assert "Please answer: Is it spam?" in refused.text() and "nothing was stored" in refused.text()
    assert await reviews(env, prompt) == []
    assert env.fake.message(card.message["id"])["components"] == card.message["components"]  # card unchanged
    task = await env.bot.engine.get_task(task_id, await env.member_id(env.bob))
    assert task.status is TaskStatus.PENDING


# ---------------------------------------------------------------------- ranking


async def ranking_tree(env: Env, replies: int = 3) -> str:
    """alice's prompt with `replies` accepted assistant replies (by bob, carol, dave): the tree waits for rankings."""
    configure(env, goal_tree_size=replies + 1, max_children_count=replies)
    engine = env.bot.engine
    members = {p.name: await env.member_id(p) for p in (env.alice, env.bob, env.carol, env.dave, env.erin)}
    root = await prompt_by(env, env.alice, "Name a good book for a long flight.")
    reviewer = members["erin"]
    task = await engine.next_task(reviewer, "en", TaskType.LABEL_INITIAL_PROMPT)
    await engine.submit_labels(task.id, reviewer, fill_labels(task, GOOD))
    await engine.run_prompt_lottery("en")
    for name in ("bob", "carol", "dave")[:replies]:
        task = await engine.next_task(members[name], "en", TaskType.ASSISTANT_REPLY)
        result = await engine.submit_reply(task.id, members[name], f"{name} suggests a book")
        task = await engine.next_task(reviewer, "en", TaskType.LABEL_ASSISTANT_REPLY)
        assert task.target_id == result.message_id
        await engine.submit_labels(task.id, reviewer, fill_labels(task, GOOD))
    assert (await engine.tree_status(root)).state is TreeState.RANKING
    return root


async def rank_card(env: Env, person: Person) -> tuple[Exchange, str, list[str]]:
    card = await env.sim.slash("task", person, type="rank_assistant_replies")
    assert card.kind == 4, card.text()
    task_id = card.custom_ids()[0].split(":")[2]
    task = await env.bot.engine.get_task(task_id, await env.member_id(person))
    return card, task_id, [c.id for c in task.candidates]


async def ballots(env: Env, parent_id: str) -> list[list[str]]:
    async with env.bot.db.read() as repo:
        return await repo.ballots(parent_id)


def status_line(exchange: Exchange) -> str:
    return exchange.message["embeds"][0]["description"].split("\n\n")[-1]


async def test_ranking_taps_undo_reset_and_submit(env: Env) -> None:
    root = await ranking_tree(env)
    card, tid, shown = await rank_card(env, env.alice)
    task = await env.bot.engine.get_task(tid, await env.member_id(env.alice))
    heads = [(e["title"], e["description"]) for e in card.message["embeds"][1:]]
    assert heads[-3:] == [(f"{b} Reply {c}", m.text) for b, c, m in zip("🇦🇧🇨", "ABC", task.candidates, strict=True)]
    assert f"g:t:{tid}:rank_submit" in card.custom_ids() and components(card)[f"g:t:{tid}:rank_submit"]["disabled"]

    step = await env.sim.click(card.message, f"g:t:{tid}:rank:B", env.alice)
    assert status_line(step).startswith("So far: 1. B")
    assert components(step)[f"g:t:{tid}:rank:BB"]["disabled"]  # a used letter cannot be tapped again
    step = await env.sim.click(step.message, f"g:t:{tid}:rank_undo", env.alice)
    assert status_line(step).startswith("Tap the best")
    step = await env.sim.click(step.message, f"g:t:{tid}:rank:C", env.alice)
    step = await env.sim.click(step.message, f"g:t:{tid}:rank:CA", env.alice)
    assert status_line(step).startswith("Your order: 1. C  2. A  3. B")  # the last one is filled in
    assert all(components(step)[f"g:t:{tid}:rank:CA{c}"]["disabled"] for c in "ABC")
    step = await env.sim.click(step.message, f"g:t:{tid}:rank_reset", env.alice)
    assert status_line(step).startswith("Tap the best")
    step = await env.sim.click(step.message, f"g:t:{tid}:rank:C", env.alice)
    step = await env.sim.click(step.message, f"g:t:{tid}:rank:CA", env.alice)
    assert await ballots(env, root) == []

    done = await env.sim.click(step.message, f"g:t:{tid}:rank_submit:CAB", env.alice)
    assert "Saved" in done.text()
    assert await ballots(env, root) == [[shown[2], shown[0], shown[1]]]
    assert (await env.bot.engine.get_task(tid, await env.member_id(env.alice))).status is TaskStatus.DONE


async def test_all_bad_stores_not_rankable(env: Env) -> None:
    root = await ranking_tree(env)
    card, tid, _ = await rank_card(env, env.erin)
    done = await env.sim.click(card.message, f"g:t:{tid}:rank_bad", env.erin)
    assert "Saved" in done.text()
    async with env.bot.db.read() as repo:
        assert await repo.ranking_counts([root]) == {root: 1}
    assert await ballots(env, root) == [[]]


async def test_two_candidates_a_or_b(env: Env) -> None:
    root = await ranking_tree(env, replies=2)
    card, tid, shown = await rank_card(env, env.alice)
    labels = {c["label"] for c in components(card).values()}
    assert {"A is better", "B is better", "Both bad (not rankable)"} <= labels
    await env.sim.click(card.message, f"g:t:{tid}:rank_submit:BA", env.alice)
    assert await ballots(env, root) == [[shown[1], shown[0]]]


async def test_someone_else_cannot_rank_on_a_card(env: Env) -> None:
    root = await ranking_tree(env)
    card, tid, _ = await rank_card(env, env.alice)
    step = await env.sim.click(card.message, f"g:t:{tid}:rank:A", env.alice)
    for cid in (f"g:t:{tid}:rank:AB", f"g:t:{tid}:rank_bad", f"g:t:{tid}:rank_reset"):
        refused = await env.sim.click(step.message, cid, env.bob)
        assert refused.kind == 4 and refused.ephemeral and "belongs to someone else" in refused.text()
    assert env.fake.message(step.message["id"])["components"] == step.message["components"]
    assert await ballots(env, root) == []


async def test_a_ranking_card_works_after_a_restart(env: Env) -> None:
    root = await ranking_tree(env)
    card, tid, shown = await rank_card(env, env.alice)
    step = await env.sim.click(card.message, f"g:t:{tid}:rank:B", env.alice)
    await env.restart()
    step = await env.sim.click(step.message, f"g:t:{tid}:rank:BC", env.alice)
    assert status_line(step).startswith("Your order: 1. B  2. C  3. A")
    await env.sim.click(step.message, f"g:t:{tid}:rank_submit:BCA", env.alice)
    assert await ballots(env, root) == [[shown[1], shown[2], shown[0]]]
