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
from engine.types import DEFAULT_COMMUNITY, Role
from storage.repository import Repository

Ranker = Callable[[Sequence[Sequence[str]]], list[str]]


@dataclass
class Step:
    repo: Repository
    cfg: EngineConfig
    clock: Clock
    rng: np.random.Generator
    ranker: Ranker
    community: int | None = None  # None: the operator's view of every community (new work goes to the first)
    events: list[Event] = field(default_factory=list)

    @property
    def pool(self) -> int:
        """The community this step's new work and hand-outs belong to."""
        return DEFAULT_COMMUNITY if self.community is None else self.community

    def sees(self, community_id: int) -> bool:
        """Whether this step may see an object of that community (a scoped step sees only its own)."""
        return self.community is None or community_id == self.community

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

    async def enabled_user(
        self, user_id: int, *, community: int | None = None, contributing: bool = False, text: str | None = None
    ) -> UserRow:
        """A member who may act: not banned everywhere, not purged, and not banned in `community` (if given).
        `contributing`: about to store something of theirs, so they must also have agreed (`consenting`)."""
        user = await self.user(user_id)
        if not user.enabled or user.deleted:
            raise errors.UserDisabled()
        if community is not None and await self.repo.banned_in(community, user_id):
            raise errors.UserDisabled()
        if contributing:
            self.check_consent(user, text)
        return user

    async def consenting(self, user_id: int, text: str | None = None) -> UserRow:
        """A member who agreed to how contributions are used (with `require_consent`); else `ConsentRequired`,
        raised before anything of theirs is stored, with what they typed given back."""
        user = await self.user(user_id)
        self.check_consent(user, text)
        return user

    def agreed(self, user: UserRow) -> bool:
        """Whether the member may contribute as far as consent goes (always, when consent is not required)."""
        return not self.cfg.require_consent or user.consent_at is not None

    def check_consent(self, user: UserRow, text: str | None = None) -> None:
        if not self.agreed(user):
            raise errors.ConsentRequired(text=text)

    async def tree(self, tree_id: str) -> TreeRow:
        """A tree of this step's community; another community's tree is "not found", never a hint it exists."""
        tree = await self.repo.tree(str(tree_id))
        if tree is None or not self.sees(tree.community_id):
            raise errors.TreeNotFound()
        return tree

    async def message(self, message_id: str) -> MessageRow:
        """A message of this step's community (its tree's); another community's is "not found"."""
        if self.community is None:  # the operator's step sees every community: no second read
            message = await self.repo.message(str(message_id))
            if message is None:
                raise errors.MessageNotFound()
            return message
        return (await self.message_in_community(message_id))[0]

    async def message_in_community(self, message_id: str) -> tuple[MessageRow, int]:
        """`message`, with the community it belongs to (for the bans of that community)."""
        message = await self.repo.message(str(message_id))
        community = None if message is None else await self.repo.community_of_tree(message.tree_id)
        if message is None or community is None or not self.sees(community):
            raise errors.MessageNotFound()
        return message, community

    async def own_task(self, task_id: str, user_id: int) -> TaskRow:
        row = await self.repo.task(str(task_id))
        if row is None or not self.sees(row.community_id):
            raise errors.TaskNotFound()
        if row.user_id != user_id:
            raise errors.TaskNotYours()
        return row

    def check_open(self, row: TaskRow, text: str | None = None) -> None:
        """Refuse a task that can no longer be answered, in the reference's order (§4.11 step 4)."""
        policy.check_open(row, self.clock.now(), text)
