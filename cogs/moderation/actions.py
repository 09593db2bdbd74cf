"""What a moderator can do about a message (from a queue button, an emoji or `/mod`), as engine calls that
answer with one sentence for the log. No Discord objects: the caller posts the sentence."""

from __future__ import annotations

from typing import TYPE_CHECKING

from engine.types import TreeState

if TYPE_CHECKING:
    from bot.bot import Grove

ACTIONS = ("halt", "delete", "restore", "ban", "dismiss")


def plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def state_name(state: TreeState | str) -> str:
    return str(state).replace("_", " ")


async def delete(bot: Grove, message_id: str, actor: int, reason: str) -> str:
    state = await bot.engine.delete_message(message_id, actor, reason)
    return f"🗑️ deleted message `{message_id}` and its replies (tree now **{state_name(state)}**)"


async def restore(bot: Grove, message_id: str, actor: int, reason: str) -> str:
    state = await bot.engine.restore_message(message_id, actor, reason)
    return f"✅ restored message `{message_id}` (tree now **{state_name(state)}**)"


async def moderate(bot: Grove, action: str, message_id: str, actor: int, reason: str) -> str:
    """Run a moderator action about a message on the engine; returns what changed, as a sentence."""
    engine = bot.engine
    message = await engine.message(message_id)
    if action == "halt":
        state = await engine.halt_tree(message.tree_id, actor, reason)
        return f"⛔ halted tree `{message.tree_id}` (now **{state_name(state)}**)"
    if action == "delete":
        return await delete(bot, message.id, actor, reason)
    if action == "restore":  # whatever there is to undo: a deletion, a halt, else the flags
        if message.deleted:
            return await restore(bot, message.id, actor, reason)
        if (await engine.tree_status(message.tree_id)).state is TreeState.HALTED_BY_MODERATOR:
            state = await engine.resume_tree(message.tree_id, actor, reason)
            return f"✅ resumed tree `{message.tree_id}` (now **{state_name(state)}**)"
        if flags := await engine.clear_flags(message.id, actor, reason):
            return f"✅ cleared {plural(flags, 'flag')} on message `{message.id}`"
        return "✅ checked: nothing to undo"
    if action == "ban":
        await engine.ban_user(message.user_id, actor, reason)
        discord_id = await bot.discord_id(message.user_id)
        who = f"<@{discord_id}>" if discord_id else f"member #{message.user_id}"
        return f"🔨 banned the author {who} from tasks"
    if action == "dismiss":  # the report was unfounded: its flags go too
        flags = await engine.clear_flags(message.id, actor, reason)
        return f"👌 dismissed (cleared {plural(flags, 'flag')})" if flags else "👌 dismissed"
    raise ValueError(f"unknown moderation action {action!r}")
