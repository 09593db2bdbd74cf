"""What changed, told to the adapter after the change is committed (part of the vocabulary).

The unit of work (`engine.step.Step`) collects these while a transaction runs; `Engine` hands
them to its subscribers only after the commit, so a listener never sees a change that was rolled
back. The bot turns each into a discord.py event named ``grove_<name>`` (a cog listens with
``@commands.Cog.listener("on_grove_message_deleted")``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from engine.types import Role, TreeState


@dataclass(frozen=True)
class MessageAdded:
    name: ClassVar[str] = "message_added"
    message_id: str
    tree_id: str
    user_id: int
    role: Role
    lang: str


@dataclass(frozen=True)
class MessagesDeleted:
    """A message and its subtree were soft-deleted (by a moderator, auto-moderation or a purge)."""

    name: ClassVar[str] = "messages_deleted"
    tree_id: str
    message_ids: tuple[str, ...]


@dataclass(frozen=True)
class MessagesRestored:
    name: ClassVar[str] = "messages_restored"
    tree_id: str
    message_ids: tuple[str, ...]


@dataclass(frozen=True)
class TreeStateChanged:
    name: ClassVar[str] = "tree_state_changed"
    tree_id: str
    old: TreeState
    new: TreeState


@dataclass(frozen=True)
class MemberPurged:
    """A member's contributions were removed; `message_ids` are the messages they wrote.

    With `erased`, their texts are gone from the database too (the member's own deletion request):
    nothing Grove shows may keep them."""

    name: ClassVar[str] = "member_purged"
    user_id: int
    message_ids: tuple[str, ...]
    erased: bool


@dataclass(frozen=True)
class TextsDeleted:
    """A member deleted their texts (/privacy): `message_ids` are the messages they wrote, now without text;
    `replies` are other members' messages answering one of them (kept, but a post of them may quote it);
    `withdrawn` are the trees left out of exports from now on."""

    name: ClassVar[str] = "texts_deleted"
    user_id: int
    message_ids: tuple[str, ...]
    replies: tuple[str, ...]
    withdrawn: tuple[str, ...]


Event = MessageAdded | MessagesDeleted | MessagesRestored | TreeStateChanged | MemberPurged | TextsDeleted
