"""A member's consent and privacy requests: agreeing and withdrawing, taking their name off their contributions,
deleting their texts (issue 15). Queries only; what they mean is `engine.privacy`'s."""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

from engine.records import MessageRow
from storage.rows import message_from
from storage.sql import Queries, chunks

# Where a member's contributions are kept besides messages (each table's `user_id`). A task links its result to
# its member (a message's, label's and ranking's `task_id`), so ended tasks move too; open ones stay the member's
# (nothing of them is in the dataset yet).
_CONTRIBUTIONS = ("labels", "rankings", "message_emojis", "loose_messages")


class PrivacyQueries(Queries):
    # ------------------------------------------------------------------ consent

    async def set_consent(self, user_id: int, at: float) -> None:
        await self._run("UPDATE users SET consent_at = ? WHERE id = ?", (at, user_id))

    async def withdraw_consent(self, user_id: int, at: float) -> None:
        await self._run("UPDATE users SET consent_at = NULL, consent_withdrawn_at = ? WHERE id = ?", (at, user_id))

    async def clear_drafts(self, user_id: int) -> int:
        return await self._run("UPDATE tasks SET draft = NULL WHERE user_id = ? AND draft IS NOT NULL", (user_id,))

    # ------------------------------------------------------------------ remove my name

    async def new_anonymous_member(self, auth_method: str, username: str, now: float) -> int:
        """A member row with no name and no way in (no front-end knows `auth_method`), never ranked."""
        return await self._int(
            """INSERT INTO users (auth_method, username, display_name, show_on_leaderboard, created_at)
               VALUES (?, ?, '', 0, ?) RETURNING id""",
            (auth_method, username, now),
        )

    async def move_contributions(self, from_user: int, to_user: int) -> int:
        """Give every contribution of `from_user` (and the ended tasks behind them) to `to_user`; returns the
        number of messages moved. What only links the two (their notifications about that work) is deleted."""
        moved = await self._run("UPDATE messages SET user_id = ? WHERE user_id = ?", (to_user, from_user))
        for table in _CONTRIBUTIONS:
            await self._run(f"UPDATE {table} SET user_id = ? WHERE user_id = ?", (to_user, from_user))
        await self._run("UPDATE tasks SET user_id = ? WHERE user_id = ? AND status != 'pending'", (to_user, from_user))
        await self._run("DELETE FROM notifications WHERE user_id = ?", (from_user,))
        return moved

    async def has_contributions(self, user_id: int) -> bool:
        """Whether anything of the member is in the dataset's tables (or an ended task behind it)."""
        found = " OR ".join(f"EXISTS (SELECT 1 FROM {t} WHERE user_id = :u)" for t in ("messages", *_CONTRIBUTIONS))
        ended = "EXISTS (SELECT 1 FROM tasks WHERE user_id = :u AND status != 'pending')"
        return bool(await self._scalar(f"SELECT {found} OR {ended}", {"u": user_id}))

    async def mark_name_removed(self, user_id: int, at: float) -> None:
        await self._run("UPDATE users SET name_removed_at = ? WHERE id = ?", (at, user_id))

    # ------------------------------------------------------------------ delete my texts

    async def trees_of_user(self, user_id: int) -> list[str]:
        """The trees holding a message of the member, by id."""
        rows = await self._all("SELECT DISTINCT tree_id FROM messages WHERE user_id = ? ORDER BY tree_id", (user_id,))
        return [r[0] for r in rows]

    async def tree_messages(self, tree_ids: Sequence[str]) -> list[MessageRow]:
        out: list[MessageRow] = []
        for chunk in chunks(list(tree_ids)):
            rows = await self._all(
                f"""SELECT * FROM messages WHERE tree_id IN ({",".join("?" * len(chunk))})
                    ORDER BY tree_id, depth, created_at, id""",
                tuple(chunk),
            )
            out += [message_from(r) for r in rows]
        return out

    async def withdraw_trees(self, tree_ids: Sequence[str], at: float) -> None:
        """Leave these trees out of every export from now on (`trees.withdrawn_at`)."""
        for chunk in chunks(list(tree_ids)):
            await self._run(
                f"""UPDATE trees SET withdrawn_at = ?
                    WHERE withdrawn_at IS NULL AND id IN ({",".join("?" * len(chunk))})""",
                (at, *chunk),
            )

    async def erase_texts(self, user_id: int) -> None:
        """Blank every text the member wrote: their messages, drafts and the comments of their reviews and reports."""
        await self._run("UPDATE messages SET text = '' WHERE user_id = ? AND text != ''", (user_id,))
        await self._run("UPDATE tasks SET draft = NULL WHERE user_id = ? AND draft IS NOT NULL", (user_id,))
        await self._run("UPDATE labels SET comment = '' WHERE user_id = ? AND comment != ''", (user_id,))

    async def mark_texts_deleted(self, user_id: int, at: float) -> None:
        await self._run("UPDATE users SET texts_deleted_at = ? WHERE id = ?", (at, user_id))

    # ------------------------------------------------------------------ export my data

    async def messages_with_tree_state(self, user_id: int) -> list[tuple[MessageRow, str]]:
        """The member's messages (deleted ones too), each with its tree's state, in `messages_of_user`'s order."""
        rows = await self._all(
            """SELECT m.*, t.state AS tree_state FROM messages m JOIN trees t ON t.id = m.tree_id
               WHERE m.user_id = ? ORDER BY m.depth, m.id""",
            (user_id,),
        )
        return [(message_from(r), cast(str, r["tree_state"])) for r in rows]
