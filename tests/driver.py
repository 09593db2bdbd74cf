"""Test helpers that move trees through their states with the engine's public API only."""

from __future__ import annotations

import itertools
from collections.abc import Sequence

from engine import Engine, FakeClock, TaskType, TreeState, errors
from engine.records import TreeRow
from engine.types import LABEL_TYPES, RANKING_TYPES, Task

GOOD = {"spam": 0.0, "lang_mismatch": 0.0}
SPAM = {"spam": 1.0, "lang_mismatch": 0.0}


async def member(engine: Engine, name: str, display_name: str = "", *, auth: str = "test", consent: bool = True) -> int:
    """A member of the tests: created (or found) by name and, unless told otherwise, agreed to the dataset terms
    (with `require_consent`, nothing of a member is stored before that)."""
    user_id = await engine.ensure_user(auth, name, display_name)
    if consent:
        await engine.give_consent(user_id)
    return user_id


def fill_labels(task: Task, values: dict[str, float]) -> dict[str, float]:
    """Labels for a task: the given values for the task's labels, 0 for its other mandatory labels."""
    out = {k: v for k, v in values.items() if k in task.valid_labels}
    for name in task.mandatory_labels:
        out.setdefault(name, 0.0)
    return out


class Driver:
    def __init__(self, engine: Engine, clock: FakeClock, users: Sequence[int]) -> None:
        self.engine = engine
        self.clock = clock
        self.users = list(users)
        self.n = 0

    def text(self, what: str = "text") -> str:
        self.n += 1
        return f"{what} {self.n}"

    async def write_prompt(self, user: int, lang: str = "en") -> str:
        task = await self.engine.next_task(user, lang, TaskType.INITIAL_PROMPT)
        result = await self.engine.submit_reply(task.id, user, self.text("prompt"))
        assert result.message_id is not None
        return result.message_id

    async def review(
        self, message_id: str, reviewers: Sequence[int], labels: dict[str, float] = GOOD, lang: str = "en"
    ) -> None:
        """Each reviewer reviews `message_id` (fails if the engine offers them something else)."""
        msg = await self.engine.message(message_id)
        task_type = (
            TaskType.LABEL_INITIAL_PROMPT
            if msg.parent_id is None
            else (TaskType.LABEL_ASSISTANT_REPLY if msg.role == "assistant" else TaskType.LABEL_PROMPTER_REPLY)
        )
        for user in reviewers:
            task = await self.engine.next_task(user, lang, task_type)
            assert task.target_id == message_id, "the engine offered another message"
            await self.engine.submit_labels(task.id, user, fill_labels(task, labels))

    def others(self, *excluded: int) -> list[int]:
        return [u for u in self.users if u not in excluded]

    async def accepted_prompt(self, author: int | None = None, lang: str = "en") -> str:
        """A prompt reviewed and accepted: its tree waits for the lottery."""
        author = self.users[0] if author is None else author
        tree_id = await self.write_prompt(author, lang)
        await self.review(tree_id, self.others(author)[:3], lang=lang)
        return tree_id

    async def growing_tree(self, author: int | None = None, lang: str = "en") -> str:
        tree_id = await self.accepted_prompt(author, lang)
        await self.engine.run_prompt_lottery(lang)
        assert (await self.engine.tree_status(tree_id)).state is TreeState.GROWING
        return tree_id

    async def work(
        self,
        lang: str = "en",
        *,
        kinds: frozenset[TaskType] | None = None,
        until_state: tuple[str, TreeState] | None = None,
        max_rounds: int = 400,
    ) -> int:
        """Let the members take and complete tasks (good text, good labels, rankings by id) until the
        given tree reaches the given state or nothing is left. Returns the number of tasks done."""
        done = 0
        for _ in range(max_rounds):
            if until_state and (await self.engine.tree_status(until_state[0])).state is until_state[1]:
                return done
            progressed = False
            for user in self.users:
                task_type = None
                if kinds is not None:
                    avail = await self.engine.availability(user, lang)
                    options = [t for t in kinds if avail.counts.get(t, 0) > 0]
                    if not options:
                        continue
                    task_type = options[0]
                try:
                    task = await self.engine.next_task(user, lang, task_type)
                except errors.NoTaskAvailable:
                    continue
                if task.type is TaskType.INITIAL_PROMPT and kinds is None:
                    await self.engine.skip_task(task.id, user)
                    continue
                await self.complete(task, user)
                self.clock.advance(1)
                done += 1
                progressed = True
                if until_state and (await self.engine.tree_status(until_state[0])).state is until_state[1]:
                    return done
            if not progressed:
                return done
        return done

    async def complete(self, task: Task, user: int, labels: dict[str, float] = GOOD) -> None:
        if task.type in LABEL_TYPES:
            await self.engine.submit_labels(task.id, user, fill_labels(task, labels))
        elif task.type in RANKING_TYPES:
            await self.engine.submit_ranking(task.id, user, list(range(len(task.candidates))))
        else:
            await self.engine.submit_reply(task.id, user, self.text(task.type.value))

    async def exported_tree(self, lang: str = "en") -> str:
        tree_id = await self.growing_tree(lang=lang)
        await self.work(lang, until_state=(tree_id, TreeState.READY_FOR_EXPORT))
        assert (await self.engine.tree_status(tree_id)).state is TreeState.READY_FOR_EXPORT
        return tree_id


async def tree_row(db, tree_id: str) -> TreeRow:
    async with db.read() as repo:
        row = await repo.tree(tree_id)
    assert row is not None
    return row


_texts = itertools.count()


async def reply(
    engine: Engine, user: int, task_type: TaskType = TaskType.ASSISTANT_REPLY, parent: str | None = None
) -> str:
    """One reply of the given type by `user`; with `parent`, checks the engine chose that parent."""
    task = await engine.next_task(user, "en", task_type)
    if parent is not None:
        assert task.target_id == parent
    result = await engine.submit_reply(task.id, user, f"{task_type.value} by {user} #{next(_texts)}")
    assert result.message_id is not None
    return result.message_id


async def accepted_reply(
    d: Driver,
    author: int,
    task_type: TaskType = TaskType.ASSISTANT_REPLY,
    parent: str | None = None,
    reviewers: list[int] | None = None,
) -> str:
    """A reply by `author`, reviewed and accepted."""
    message_id = await reply(d.engine, author, task_type, parent)
    await d.review(message_id, reviewers or d.others(author)[:3])
    assert (await d.engine.message(message_id)).review_result is True
    return message_id


async def answer(d: Driver, user: int, task_type: TaskType, parent_id: str) -> str:
    """`user` writes a reply of `task_type` under `parent_id` and returns the new message's id."""
    task = await d.engine.next_task(user, "en", task_type)
    assert task.target_id == parent_id
    result = await d.engine.submit_reply(task.id, user, d.text(task_type.value))
    assert result.message_id is not None
    return result.message_id


async def ranking_tree(d: Driver, n_children: int = 3) -> tuple[str, list[str]]:
    """A tree in ranking: a prompt by users[0] with `n_children` accepted answers by users[1..n], each reviewed
    by users[6..8] (the engine must have goal_tree_size = n_children + 1)."""
    u = d.users
    root = await d.growing_tree(author=u[0])
    children = []
    for i in range(n_children):
        child = await answer(d, u[1 + i], TaskType.ASSISTANT_REPLY, root)
        await d.review(child, [u[6], u[7], u[8]])
        children.append(child)
    assert (await d.engine.tree_status(root)).state is TreeState.RANKING
    return root, children
