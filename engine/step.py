"""One unit of work: the transaction's repository, the rules' inputs, and the events it produced.

`Engine` opens one `Step` per public call; the capability modules (`handout`, `submissions`,
`lifecycle`, `moderation`, `jobs`) take it as their first argument. Lookups that a user's input
can miss raise the domain error a front-end shows, so no module writes those checks twice.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from engine import errors, policy
from engine.clock import Clock
from engine.config import EngineConfig
from engine.events import Event
from engine.records import MessageRow, TaskRow, TreeRow, UserRow
from engine.types import Role, TaskStatus
from storage.repository import Repository

Ranker = Callable[[Sequence[Sequence[str]]], list[str]]


@dataclass
class Step:
    repo: Repository
    cfg: EngineConfig
    clock: Clock
    rng: np.random.Generator
    ranker: Ranker
    events: list[Event] = field(default_factory=list)

    def now(self) -> float:
        return self.clock.now()

    def emit(self, event: Event) -> None:
        """Publish `event` once this step's transaction has committed (never if it rolls back)."""
        self.events.append(event)

    def new_id(self) -> str:
        """A UUID drawn from the injected generator, so a seed reproduces every id."""
        return str(uuid.UUID(bytes=self.rng.bytes(16), version=4))

    @property
    def ranked_roles(self) -> tuple[Role, ...]:
        return policy.ranked_roles(self.cfg)

    # ------------------------------------------------------------------ lookups that refuse

    async def user(self, user_id: int) -> UserRow:
        user = await self.repo.user(user_id)
        if user is None:
            raise errors.UserNotFound()
        return user

    async def enabled_user(self, user_id: int) -> UserRow:
        user = await self.user(user_id)
        if not user.enabled or user.deleted:
            raise errors.UserDisabled()
        return user

    async def tree(self, tree_id: str) -> TreeRow:
        tree = await self.repo.tree(str(tree_id))
        if tree is None:
            raise errors.TreeNotFound()
        return tree

    async def message(self, message_id: str) -> MessageRow:
        message = await self.repo.message(str(message_id))
        if message is None:
            raise errors.MessageNotFound()
        return message

    async def own_task(self, task_id: str, user_id: int) -> TaskRow:
        row = await self.repo.task(str(task_id))
        if row is None:
            raise errors.TaskNotFound()
        if row.user_id != user_id:
            raise errors.TaskNotYours()
        return row

    def check_open(self, row: TaskRow, text: str | None = None) -> None:
        """Refuse a task that can no longer be answered, in the reference's order (§4.11 step 4)."""
        now = self.clock.now()
        if row.status == TaskStatus.EXPIRED or (
            row.status == TaskStatus.PENDING and row.expires_at is not None and row.expires_at <= now
        ):
            raise errors.TaskExpired(text=text)
        if row.status in (TaskStatus.DONE, TaskStatus.PURGED):
            raise errors.TaskAlreadyDone(text=text)
        if row.status == TaskStatus.SKIPPED:
            raise errors.TaskSkipped(text=text)
        if row.status == TaskStatus.CANCELLED:
            raise errors.TaskCancelled(text=text)
        if row.status != TaskStatus.PENDING:  # a status added later must not slip through as open
            raise errors.TaskAlreadyUpdated(text=text)
