"""Fair task flow: short slot leases, working extends them, late submissions, Stop, resume, the lease cap,
rate limits, reconciliation after a threshold change, and waiting prompts of a disabled language."""

from __future__ import annotations

import pytest

from engine import EngineConfig, TaskStatus, TaskType, TreeState, errors
from tests.driver import Driver, answer, fill_labels, ranking_tree

WRITE = 20 * 60  # default reservation_minutes
REVIEW = 5 * 60  # default review_reservation_minutes


async def reply_slots(engine, user) -> int:
    counts = (await engine.availability(user, "en")).counts
    return counts[TaskType.ASSISTANT_REPLY] + counts[TaskType.PROMPTER_REPLY]


async def last_slot_tree(make_engine, clock, users) -> tuple[Driver, str]:
    """A growing tree with room for exactly one more reply, under its prompt."""
    d = Driver(make_engine(goal_tree_size=2, min_goal_tree_size=2, recent_tasks_span_sec=0), clock, users)
    root = await d.growing_tree(users[0])
    return d, root


# ---------------------------------------------------------------------- writing tasks


async def test_an_abandoned_writing_card_frees_its_slot_after_its_lease_and_not_before(make_engine, clock, users):
    d, root = await last_slot_tree(make_engine, clock, users)
    engine = d.engine
    assert await reply_slots(engine, users[3]) == 1
    await engine.next_task(users[2], "en", TaskType.ASSISTANT_REPLY)  # and walks away
    assert await reply_slots(engine, users[3]) == 0
    clock.advance(WRITE - 1)
    assert await reply_slots(engine, users[3]) == 0
    with pytest.raises(errors.NoTaskAvailable):
        await engine.next_task(users[3], "en", TaskType.ASSISTANT_REPLY)
    clock.advance(2)
    assert await reply_slots(engine, users[3]) == 1
    assert (await engine.next_task(users[3], "en", TaskType.ASSISTANT_REPLY)).target_id == root


async def test_saving_a_draft_extends_the_lease(make_engine, clock, users):
    d, _ = await last_slot_tree(make_engine, clock, users)
    engine = d.engine
    task = await engine.next_task(users[2], "en", TaskType.ASSISTANT_REPLY)
    clock.advance(WRITE - 60)
    await engine.save_draft(task.id, users[2], "half an answer")
    clock.advance(WRITE - 60)  # 38 minutes after the hand-out, 19 after the draft
    assert await reply_slots(engine, users[3]) == 0
    clock.advance(120)
    assert await reply_slots(engine, users[3]) == 1


async def test_touching_a_task_extends_the_lease(make_engine, clock, users):
    d, _ = await last_slot_tree(make_engine, clock, users)
    engine = d.engine
    task = await engine.next_task(users[2], "en", TaskType.ASSISTANT_REPLY)
    clock.advance(WRITE - 60)
    await engine.touch_task(task.id, users[2])
    clock.advance(WRITE - 60)
    assert await reply_slots(engine, users[3]) == 0


async def test_a_late_submission_succeeds_while_the_slot_is_still_free(make_engine, clock, users):
    d, root = await last_slot_tree(make_engine, clock, users)
    task = await d.engine.next_task(users[2], "en", TaskType.ASSISTANT_REPLY)
    clock.advance(3 * WRITE)
    result = await d.engine.submit_reply(task.id, users[2], "late but welcome")
    assert (await d.engine.message(result.message_id)).parent_id == root


async def test_a_late_submission_whose_slot_was_taken_is_refused_and_keeps_the_text(make_engine, clock, users):
    d, _ = await last_slot_tree(make_engine, clock, users)
    engine = d.engine
    late = await engine.next_task(users[2], "en", TaskType.ASSISTANT_REPLY)
    clock.advance(WRITE + 1)
    taken = await engine.next_task(users[3], "en", TaskType.ASSISTANT_REPLY)
    with pytest.raises(errors.TaskSlotTaken) as exc:
        await engine.submit_reply(late.id, users[2], "my careful answer")
    assert exc.value.text == "my careful answer"
    assert (await engine.get_task(late.id, users[2])).draft == "my careful answer"
    await engine.submit_reply(taken.id, users[3], "the other answer")


async def test_stop_frees_the_slot_at_once_and_the_task_can_be_resumed(make_engine, clock, users):
    d, _ = await last_slot_tree(make_engine, clock, users)
    engine = d.engine
    task = await engine.next_task(users[2], "en", TaskType.ASSISTANT_REPLY)
    await engine.save_draft(task.id, users[2], "my draft")
    await engine.release_task(task.id, users[2])
    assert await reply_slots(engine, users[3]) == 1
    [still_open] = await engine.open_tasks(users[2])
    assert (still_open.id, still_open.draft, still_open.status) == (task.id, "my draft", TaskStatus.PENDING)
    resumed = await engine.resume_task(task.id, users[2])
    assert resumed.draft == "my draft" and resumed.lease_until is not None
    assert await reply_slots(engine, users[3]) == 0
    # released for good: nothing held, nothing open, no skip counted (the parent can come back)
    await engine.release_task(task.id, users[2], end=True)
    assert await engine.open_tasks(users[2]) == []
    assert await reply_slots(engine, users[2]) == 1
    with pytest.raises(errors.TaskCancelled):
        await engine.resume_task(task.id, users[2])


async def test_resuming_a_task_whose_slot_was_taken_says_so(make_engine, clock, users):
    d, _ = await last_slot_tree(make_engine, clock, users)
    engine = d.engine
    task = await engine.next_task(users[2], "en", TaskType.ASSISTANT_REPLY)
    await engine.release_task(task.id, users[2])
    await engine.next_task(users[3], "en", TaskType.ASSISTANT_REPLY)
    with pytest.raises(errors.TaskSlotTaken):
        await engine.resume_task(task.id, users[2])


# ---------------------------------------------------------------------- reviews and rankings


async def test_three_abandoned_reviewers_no_longer_hold_a_tree_past_the_review_lease(driver, engine, users, clock):
    root = await driver.growing_tree(users[0])
    reply = await answer(driver, users[1], TaskType.ASSISTANT_REPLY, root)
    for user in users[2:5]:
        task = await engine.next_task(user, "en", TaskType.LABEL_ASSISTANT_REPLY)
        assert task.target_id == reply  # and walks away
    with pytest.raises(errors.NoTaskAvailable):
        await engine.next_task(users[5], "en", TaskType.LABEL_ASSISTANT_REPLY)
    clock.advance(REVIEW + 1)
    await driver.review(reply, users[5:8])
    assert (await engine.message(reply)).review_result is True


async def test_a_late_review_is_taken_while_reviews_are_still_wanted(driver, engine, users, clock):
    prompt = await driver.write_prompt(users[0])
    late = await engine.next_task(users[1], "en", TaskType.LABEL_INITIAL_PROMPT)
    clock.advance(REVIEW * 3)
    await engine.submit_labels(late.id, users[1], fill_labels(late, {"spam": 0.0}))
    assert (await engine.message(prompt)).review_count == 1


async def test_a_late_review_whose_slot_was_taken_is_refused(driver, engine, users, clock):
    await driver.write_prompt(users[0])
    late = await engine.next_task(users[1], "en", TaskType.LABEL_INITIAL_PROMPT)
    clock.advance(REVIEW + 1)
    for user in users[2:5]:  # the three review slots, taken while the late reviewer was away
        await engine.next_task(user, "en", TaskType.LABEL_INITIAL_PROMPT)
    with pytest.raises(errors.TaskSlotTaken):
        await engine.submit_labels(late.id, users[1], fill_labels(late, {"spam": 0.0}))


async def test_abandoned_ranking_tasks_free_their_slots_after_the_review_lease(new_engine, clock, users):
    d = Driver(new_engine(4), clock, users)
    await ranking_tree(d)
    for user in (users[4], users[5], users[9]):
        await d.engine.next_task(user, "en", TaskType.RANK_ASSISTANT_REPLIES)  # and walk away
    with pytest.raises(errors.NoTaskAvailable):
        await d.engine.next_task(users[10], "en", TaskType.RANK_ASSISTANT_REPLIES)
    clock.advance(REVIEW + 1)
    task = await d.engine.next_task(users[10], "en", TaskType.RANK_ASSISTANT_REPLIES)
    await d.engine.submit_ranking(task.id, users[10], list(range(len(task.candidates))))


# ---------------------------------------------------------------------- the lease cap


async def test_a_member_cannot_hold_more_live_leases_than_the_cap(make_engine, clock, users):
    engine = make_engine(max_pending_tasks_per_user=2, review_reservation_minutes=30)
    d = Driver(engine, clock, users)
    for author in users[:3]:
        await d.write_prompt(author)
    member = users[5]
    for _ in range(2):
        await engine.next_task(member, "en", TaskType.LABEL_INITIAL_PROMPT)
    clock.advance(engine.cfg.recent_tasks_span_sec + 1)  # past the pending window, but both leases live
    with pytest.raises(errors.TooManyPending):
        await engine.next_task(member, "en", TaskType.LABEL_INITIAL_PROMPT)
    clock.advance(30 * 60)
    await engine.next_task(member, "en", TaskType.LABEL_INITIAL_PROMPT)


# ---------------------------------------------------------------------- rate limits


async def test_task_requests_are_rate_limited_and_the_error_says_when_to_retry(make_engine, clock, users):
    engine = make_engine(task_requests_per_window=3, task_requests_window_sec=240, max_pending_tasks_per_user=50)
    start = clock.now()
    for _ in range(3):
        await engine.next_task(users[0], "en", TaskType.INITIAL_PROMPT)
        clock.advance(10)
    with pytest.raises(errors.RateLimited) as exc:
        await engine.next_task(users[0], "en", TaskType.INITIAL_PROMPT)
    assert exc.value.retry_at == start + 240
    await engine.next_task(users[1], "en", TaskType.INITIAL_PROMPT)  # others are not limited
    clock.t = start + 240
    await engine.next_task(users[0], "en", TaskType.INITIAL_PROMPT)


async def test_explicit_assistant_replies_have_their_own_limit_and_random_requests_do_not_count(
    make_engine, clock, users
):
    engine = make_engine(
        explicit_assistant_replies_per_window=1,
        goal_tree_size=12,
        recent_tasks_span_sec=0,
        max_pending_tasks_per_user=50,
    )
    d = Driver(engine, clock, users)
    for author in users[:3]:
        await d.growing_tree(author)
    await engine.next_task(users[5], "en", TaskType.ASSISTANT_REPLY)
    with pytest.raises(errors.RateLimited, match="assistant reply"):
        await engine.next_task(users[5], "en", TaskType.ASSISTANT_REPLY)
    await engine.next_task(users[5], "en")  # a random request is not an explicit one
    clock.advance(120)
    await engine.next_task(users[5], "en", TaskType.ASSISTANT_REPLY)


async def test_a_window_of_zero_turns_a_limit_off(make_engine, clock, users):
    engine = make_engine(task_requests_per_window=1, task_requests_window_sec=0, max_pending_tasks_per_user=50)
    for _ in range(5):
        await engine.next_task(users[0], "en", TaskType.INITIAL_PROMPT)


def test_the_defaults_are_the_references_limits():
    cfg = EngineConfig()
    assert (cfg.task_requests_per_window, cfg.task_requests_window_sec) == (30, 240)
    assert (cfg.explicit_assistant_replies_per_window, cfg.explicit_assistant_replies_window_sec) == (4, 120)
    assert (cfg.explicit_prompter_replies_per_window, cfg.explicit_prompter_replies_window_sec) == (8, 120)
    assert (cfg.reservation_minutes, cfg.review_reservation_minutes) == (20, 5)


# ---------------------------------------------------------------------- reconciliation


async def test_lowering_num_reviews_reply_and_reconciling_moves_the_tree_on(make_engine, clock, users):
    d = Driver(make_engine(goal_tree_size=2, min_goal_tree_size=2, num_reviews_reply=3), clock, users)
    root = await d.growing_tree(users[0])
    reply = await answer(d, users[1], TaskType.ASSISTANT_REPLY, root)
    for user in users[2:4]:  # two of the three reviews
        task = await d.engine.next_task(user, "en", TaskType.LABEL_ASSISTANT_REPLY)
        await d.engine.submit_labels(task.id, user, fill_labels(task, {"spam": 0.0}))
    assert (await d.engine.tree_status(root)).state is TreeState.GROWING
    lowered = make_engine(goal_tree_size=2, min_goal_tree_size=2, num_reviews_reply=2)  # the operator restarts
    report = await lowered.reconcile()
    assert report.verdicts == 1 and report.trees_moved == 1
    assert (await lowered.message(reply)).review_result is True
    assert (await lowered.tree_status(root)).state is not TreeState.GROWING
    assert (await lowered.reconcile()).trees_moved == 0  # idempotent


async def test_lowering_num_required_rankings_and_reconciling_exports_the_tree(new_engine, clock, users):
    d = Driver(new_engine(4), clock, users)
    parent, _ = await ranking_tree(d)
    tree_id = (await d.engine.message(parent)).tree_id
    for user in users[8:10]:
        task = await d.engine.next_task(user, "en", TaskType.RANK_ASSISTANT_REPLIES)
        await d.engine.submit_ranking(task.id, user, list(range(len(task.candidates))))
    assert (await d.engine.tree_status(tree_id)).state is TreeState.RANKING
    lowered = new_engine(4, num_required_rankings=2)
    assert (await lowered.reconcile()).trees_moved >= 1
    assert (await lowered.tree_status(tree_id)).state is TreeState.READY_FOR_EXPORT


async def test_reconcile_drops_ended_leases(make_engine, clock, users):
    d, _ = await last_slot_tree(make_engine, clock, users)
    task = await d.engine.next_task(users[2], "en", TaskType.ASSISTANT_REPLY)
    assert (await d.engine.reconcile()).leases_ended == 0
    clock.advance(WRITE + 1)
    assert (await d.engine.reconcile()).leases_ended == 1
    assert (await d.engine.get_task(task.id, users[2])).lease_until is None


# ---------------------------------------------------------------------- disabled languages


async def test_a_disabled_language_stops_new_prompts_but_waiting_prompts_still_grow(make_engine, clock, users):
    open_engine = make_engine(max_active_trees=0)
    d = Driver(open_engine, clock, users)
    waiting = await d.accepted_prompt(users[0], lang="de")
    closed = make_engine(init_prompt_disabled_langs=("de",))
    assert (await closed.availability(users[1], "de")).counts[TaskType.INITIAL_PROMPT] == 0
    assert await closed.run_prompt_lottery("de") == 1
    assert (await closed.tree_status(waiting)).state is TreeState.GROWING


async def test_a_member_writes_at_most_the_prompt_cap_per_window(make_engine, clock, users):
    """Issue 18: one account wrote 400 prompts in 1.5 s. Past `prompts_per_window` within the window, a prompt
    asked for by name is refused with when to retry, a random request offers none, and a prompt task taken
    before the cap cannot be submitted (its text comes back); the window moving on lets the member write again."""
    from engine.types import TaskKind

    engine = make_engine(
        prompts_per_window=3, prompts_window_sec=600, task_requests_per_window=100, max_pending_tasks_per_user=8
    )
    member = users[0]
    late = await engine.next_task(member, "en", TaskType.INITIAL_PROMPT)  # taken early, submitted past the cap
    for i in range(3):
        task = await engine.next_task(member, "en", TaskType.INITIAL_PROMPT)
        await engine.submit_reply(task.id, member, f"A question worth asking, number {i}?")
        clock.advance(10)
    with pytest.raises(errors.RateLimited) as refused:
        await engine.next_task(member, "en", TaskType.INITIAL_PROMPT)
    assert refused.value.retry_at == pytest.approx(clock.now() - 30 + 600)
    with pytest.raises(errors.RateLimited) as late_refusal:
        await engine.submit_reply(late.id, member, "one more, typed before the cap")
    assert late_refusal.value.text == "one more, typed before the cap"
    for _ in range(5):
        try:
            task = await engine.next_task(member, "en")
        except errors.NoTaskAvailable:
            break
        assert task.kind is not TaskKind.PROMPT
        await engine.release_task(task.id, member, end=True)
    clock.advance(600)
    task = await engine.next_task(member, "en", TaskType.INITIAL_PROMPT)
    assert task.type is TaskType.INITIAL_PROMPT


async def test_open_or_next_task_offers_open_tasks_first_in_one_call(make_engine, clock, users):
    d, root = await last_slot_tree(make_engine, clock, users)
    got = await d.engine.open_or_next_task(users[1], "en", TaskType.ASSISTANT_REPLY)
    assert not isinstance(got, list) and got.target_id == root
    again = await d.engine.open_or_next_task(users[1], "en", TaskType.ASSISTANT_REPLY)
    assert isinstance(again, list) and [t.id for t in again] == [got.id]  # offered, nothing new reserved
    with pytest.raises(errors.UnknownTaskType):
        await d.engine.open_or_next_task(users[2], "en", "no_such_type")
