"""Streaks (reference §7.3): whole days since the streak began; 36 hours without activity end it."""

from engine import TaskType


async def submit_prompt(engine, user, n):
    task = await engine.next_task(user, "en", TaskType.INITIAL_PROMPT)
    await engine.submit_reply(task.id, user, f"prompt number {n}")


async def test_streak_counts_whole_days_and_resets_after_36_hours(engine, clock, users):
    user = users[0]
    await submit_prompt(engine, user, 1)
    assert (await engine.user(user)).streak_days == 0
    for n in range(2, 5):  # active once a day for three more days
        clock.advance(24 * 3600)
        await submit_prompt(engine, user, n)
    assert (await engine.user(user)).streak_days == 3

    clock.advance(35 * 3600)
    assert await engine.reset_streaks() == 0
    assert (await engine.user(user)).streak_days == 3

    clock.advance(2 * 3600)  # 37 h since the last activity
    assert await engine.reset_streaks() == 1
    row = await engine.user(user)
    assert (row.streak_days, row.streak_last_day_at) == (0, None)

    await submit_prompt(engine, user, 99)  # a new streak starts now
    row = await engine.user(user)
    assert (row.streak_days, row.streak_last_day_at) == (0, clock.now())
