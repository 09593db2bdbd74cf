"""What a moderator can do about a message (from a queue button, an emoji or `/mod`), as engine calls that
answer with one line for the log. No Discord objects: the caller posts the line, in whichever language it is
shown in (the server's on a queue post, the moderator's in an answer)."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING

from cogs.i18n import SOURCE, Msg, Tr, later, later_plural, tr_in
from cogs.vocabulary import state_name
from engine.types import TreeState

if TYPE_CHECKING:
    from bot.bot import Grove
    from engine.engine import Engine

ACTIONS = ("halt", "delete", "restore", "ban", "dismiss")


@dataclass(frozen=True)
class Line:
    """What a moderator action changed: an emoji and a sentence, told in a language when it is shown."""

    emoji: str
    said: Msg

    def __call__(self, tr: Tr) -> str:
        return f"{self.emoji} {self.said(tr)}"

    def __str__(self) -> str:  # for the log
        return self(tr_in(SOURCE))


def state(value: TreeState) -> functools.partial[str]:
    """A tree state, named in the language the line is told in."""
    return functools.partial(state_name, state=value)


# `engine` is the community-scoped one of where the moderator acts: another community's message is "not found".


async def delete(engine: Engine, message_id: str, actor: int, reason: str) -> Line:
    new = await engine.delete_message(message_id, actor, reason)
    said = later(
        "deleted message `{message}` and its replies (tree now **{state}**)", message=message_id, state=state(new)
    )
    return Line("🗑️", said)


async def restore(engine: Engine, message_id: str, actor: int, reason: str) -> Line:
    new = await engine.restore_message(message_id, actor, reason)
    return Line(
        "✅", later("restored message `{message}` (tree now **{state}**)", message=message_id, state=state(new))
    )


async def moderate(bot: Grove, engine: Engine, action: str, message_id: str, actor: int, reason: str) -> Line:
    """Run a moderator action about a message on the engine; returns what changed, as a line for the log."""
    message = await engine.message(message_id)
    tree = message.tree_id
    if action == "halt":
        new = await engine.halt_tree(tree, actor, reason)
        return Line("⛔", later("halted tree `{tree}` (now **{state}**)", tree=tree, state=state(new)))
    if action == "delete":
        return await delete(engine, message.id, actor, reason)
    if action == "restore":  # whatever there is to undo: a deletion, a halt, else the flags
        if message.deleted:
            return await restore(engine, message.id, actor, reason)
        if (await engine.tree_status(tree)).state is TreeState.HALTED_BY_MODERATOR:
            new = await engine.resume_tree(tree, actor, reason)
            return Line("✅", later("resumed tree `{tree}` (now **{state}**)", tree=tree, state=state(new)))
        if flags := await engine.clear_flags(message.id, actor, reason):
            cleared = later_plural(
                "cleared {count} flag on message `{message}`",
                "cleared {count} flags on message `{message}`",
                flags,
                message=message.id,
            )
            return Line("✅", cleared)
        return Line("✅", later("checked: nothing to undo"))
    if action == "ban":
        await engine.ban_user(message.user_id, actor, reason)
        discord_id = await bot.discord_id(message.user_id)
        who: object = f"<@{discord_id}>" if discord_id else later("member #{number}", number=str(message.user_id))
        return Line("🔨", later("banned the author {who} from tasks", who=who))
    if action == "dismiss":  # the report was unfounded: its flags go too
        flags = await engine.clear_flags(message.id, actor, reason)
        if flags:
            return Line(
                "👌", later_plural("dismissed (cleared {count} flag)", "dismissed (cleared {count} flags)", flags)
            )
        return Line("👌", later("dismissed"))
    raise ValueError(f"unknown moderation action {action!r}")
