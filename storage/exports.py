"""The dataset read model: trees, messages, labels, events and loose messages, streamed in pages.

A page's messages, labels and events each come back as one JSON array, built by SQLite: the export reads the
next page while it writes this one, and SQLite's thread then hardly competes with the writer for Python's
interpreter (one value per statement instead of one object per cell). Each array's items are arrays whose
fields are documented on the method; dates come as the text the export writes (a REAL in JSON would lose digits).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aiosqlite import Row

from storage.imports import MemberIds
from storage.sql import Conn, chunks, words

__all__ = ["ExportQueries", "Row"]


# A message's creation time as oasst writes it (`engine.oasst.date_text` of `engine.oasst.micros`): whole
# microseconds (`us`, then `f` past the second, floored as Python floors), ISO 8601 in UTC.
_US = "CAST(m.created_at * 1000000 + 0.5 AS INTEGER)"
_F = f"((({_US}) % 1000000 + 1000000) % 1000000)"
_DATE = f"""strftime('%Y-%m-%dT%H:%M:%S', (({_US}) - {_F}) / 1000000, 'unixepoch')
            || CASE WHEN {_F} THEN printf('.%06d', {_F}) ELSE '' END || '+00:00'"""

# [id, parent_id, user_id, created_date, text, role, lang, review_count, review_result, deleted, rank, synthetic,
#  model_name, emojis, imported, tree_id]
_MESSAGE_FIELDS = f"""m.id, m.parent_id, m.user_id, {_DATE}, m.text, m.role, m.lang, m.review_count,
                      m.review_result, m.deleted, m.rank, m.synthetic, m.model_name, json(m.emojis),
                      json(m.imported), m.tree_id"""
# [parent_id, the ranking event as oasst writes it (`user_id` still the member's internal id)]
_BALLOT = """json_array(r.parent_id, json_remove(
                 json_object('type', 'ranking', 'user_id', r.user_id, 'ranking', json(coalesce(r.ranking, '[]')),
                             'ranked_message_ids', json(r.ranked_ids), 'ranking_parent_id', r.parent_id,
                             'message_tree_id', r.tree_id, 'not_rankable', json('true'),
                             'shown_message_ids', json(r.shown_ids)),
                 CASE WHEN r.not_rankable THEN '$.none' ELSE '$.not_rankable' END))"""
# [message_id, the emoji event as oasst writes it (`user_id` still the member's internal id)]
_EMOJI = "json_array(e.message_id, json_object('type', 'emoji', 'user_id', e.user_id, 'emoji', e.emoji))"
# [message_id, "[labels JSON, labels JSON, ...]" (every label row of the message, as text); {t}: the table's alias]
_LABELS = "json_array({t}message_id, '[' || group_concat({t}labels, ',') || ']') AS item"
# [id, auth_method, username, whether they left the dataset]
_MEMBER = "json_array(u.id, u.auth_method, u.username, u.dataset_opt_out = 1 OR u.deleted = 1)"


def _marks(values: Sequence[Any]) -> str:
    return ",".join("?" * len(values))


def _tree_filters(
    params: list[Any], states: Sequence[str] | None, lang: str | None, community: int | None
) -> list[str]:
    """The conditions on `trees` of an export's selection (their parameters appended to `params`)."""
    conds = []
    if community is not None:
        conds.append("community_id = ?")
        params.append(community)
    if states is not None:
        conds.append(f"state IN {words(states)}")
    if lang is not None:
        conds.append("lang = ?")
        params.append(lang)
    return conds


class ExportQueries(MemberIds):
    """The export's pages. The statements are shared; the JSON they build is in SQLite's words here and in
    PostgreSQL's in `storage.pg.exports.PgExportQueries`, which overrides only these pieces."""

    MESSAGE_FIELDS = _MESSAGE_FIELDS
    BALLOT = _BALLOT
    EMOJI = _EMOJI
    LABELS = _LABELS
    MEMBER = _MEMBER
    ARRAY = "json_array"  # a JSON array of the given values
    ITEM = "json(item)"  # a subquery's JSON array (`item`), as JSON again

    def __init__(self, conn: Conn) -> None:
        super().__init__(conn)

    def _agg(self, value: str) -> str:
        """The JSON array of `value` over the rows (NULL or '[]' when there are none: both read as empty)."""
        return f"json_group_array({value})"

    def _as_json(self, column: str) -> str:
        """A column holding JSON text, as a JSON value."""
        return f"json({column})"

    async def _json(self, sql: str, params: Sequence[Any]) -> str:
        return str(await self._scalar(sql, tuple(params)) or "[]")

    async def page(
        self,
        *,
        states: Sequence[str] | None,
        lang: str | None,
        after: str,
        limit: int,
        labels: bool,
        events: bool,
        community: int | None = None,
        upto: str | None = None,
    ) -> tuple[str, str, str, str, str]:
        """The next `limit` trees after `after` (in id order) and what an export writes of them, in one statement:
        JSON arrays of the trees ([id, state, imported]), of their messages (by tree, depth, date and id; see
        `MESSAGE_FIELDS`) and, when asked for, of their label rows (by message; `LABELS`), emojis (by message, date
        and member; `EMOJI`) and ballots (by parent, date and task; `BALLOT`). The members they name: `members`."""
        conds, params = (
            ["id > ?", "withdrawn_at IS NULL"],
            list[Any]([after]),
        )  # withdrawn: its prompt's author deleted it
        if upto is not None:
            conds.append("id <= ?")
            params.append(upto)
        conds += _tree_filters(params, states, lang, community)
        none = "'[]'"
        in_page = "m.tree_id IN (SELECT id FROM page)"
        label_rows = f"""(SELECT {self._agg(self.ITEM)} FROM (
                SELECT {self.LABELS.format(t="l.")} FROM messages m JOIN labels l ON l.message_id = m.id
                WHERE {in_page} GROUP BY l.message_id ORDER BY l.message_id) x)"""
        emojis = f"""(SELECT {self._agg(self.EMOJI)} FROM (
                SELECT e.* FROM messages m JOIN message_emojis e ON e.message_id = m.id
                WHERE {in_page} ORDER BY e.message_id, e.created_at, e.user_id) e)"""
        ballots = f"""(SELECT {self._agg(self.BALLOT)} FROM (
                SELECT r.* FROM messages m JOIN rankings r ON r.parent_id = m.id
                WHERE {in_page} ORDER BY r.parent_id, r.created_at, r.task_id) r)"""
        tree = f"{self.ARRAY}(p.id, p.state, {self._as_json('p.imported')})"
        row = await self._one(
            f"""WITH page AS MATERIALIZED (
                    SELECT id, state, imported FROM trees WHERE {" AND ".join(conds)} ORDER BY id LIMIT ?)
                SELECT (SELECT {self._agg(tree)} FROM (SELECT * FROM page ORDER BY id) p),
                       (SELECT {self._agg(f"{self.ARRAY}({self.MESSAGE_FIELDS})")} FROM (
                            SELECT * FROM messages WHERE tree_id IN (SELECT id FROM page)
                            ORDER BY tree_id, depth, created_at, id) m),
                       {label_rows if labels else none}, {emojis if events else none}, {ballots if events else none}""",
            (*params, limit),
        )
        assert row is not None
        texts = tuple(str(v) if v is not None else "[]" for v in row)
        return texts[0], texts[1], texts[2], texts[3], texts[4]

    async def tree_bounds(
        self, parts: int, *, states: Sequence[str] | None, lang: str | None, community: int | None
    ) -> list[str]:
        """The ids splitting the trees an export selects into `parts` ranges of equal size (fewer when there are
        fewer trees): the last id of each range but the last, which runs to the end."""
        params: list[Any] = []
        where = " AND ".join(["withdrawn_at IS NULL", *_tree_filters(params, states, lang, community)])
        count = await self._int(f"SELECT count(*) FROM trees WHERE {where}", tuple(params))
        bounds: list[str] = []
        for k in range(1, parts):
            offset = count * k // parts - 1
            if 0 <= offset < count - 1:
                found = await self._scalar(
                    f"SELECT id FROM trees WHERE {where} ORDER BY id LIMIT 1 OFFSET ?", (*params, offset)
                )
                if found is not None and (not bounds or str(found) > bounds[-1]):
                    bounds.append(str(found))
        return bounds

    async def members(self, user_ids: Sequence[int]) -> list[str]:
        """The given members (see `MEMBER`), one JSON array per chunk of ids."""
        return [
            await self._json(f"SELECT {self._agg(self.MEMBER)} FROM users u WHERE u.id IN ({_marks(c)})", c)
            for c in chunks(user_ids)
        ]

    async def user_messages(self, user_id: int, after: str, limit: int, community: int | None = None) -> str:
        """One member's messages after `after`, by id: the fields of `MESSAGE_FIELDS`, then their tree's state and
        whether their tree holds a synthetic message."""
        item = f"""{self.ARRAY}({self.MESSAGE_FIELDS}, (SELECT t.state FROM trees t WHERE t.id = m.tree_id),
                   EXISTS (SELECT 1 FROM messages s WHERE s.tree_id = m.tree_id AND s.synthetic = 1))"""
        return await self._json(
            f"""SELECT {self._agg(item)}
                FROM (SELECT * FROM messages m WHERE m.user_id = ? AND m.id > ? AND EXISTS (SELECT 1 FROM trees t
                      WHERE t.id = m.tree_id AND t.withdrawn_at IS NULL AND (? IS NULL OR t.community_id = ?))
                      ORDER BY m.id LIMIT ?) m""",
            (user_id, after, community, community, limit),
        )

    async def labels(self, message_ids: Sequence[str]) -> list[str]:
        """The label rows of the given messages, by message (`LABELS`), one JSON array per chunk of ids."""
        return [
            await self._json(
                f"""SELECT {self._agg(self.ITEM)} FROM (
                        SELECT {self.LABELS.format(t="")} FROM labels WHERE message_id IN ({_marks(chunk)})
                        GROUP BY message_id ORDER BY message_id) x""",
                chunk,
            )
            for chunk in chunks(message_ids)
        ]

    async def emoji_events(self, message_ids: Sequence[str]) -> list[str]:
        """The emojis on the given messages, by message, date and member (`EMOJI`)."""
        return [
            await self._json(
                f"""SELECT {self._agg(self.EMOJI)} FROM (
                        SELECT * FROM message_emojis WHERE message_id IN ({_marks(chunk)})
                        ORDER BY message_id, created_at, user_id) e""",
                chunk,
            )
            for chunk in chunks(message_ids)
        ]

    async def ranking_events(self, parent_ids: Sequence[str]) -> list[str]:
        """The ballots on the given parents, by parent, date and task (`BALLOT`)."""
        return [
            await self._json(
                f"""SELECT {self._agg(self.BALLOT)} FROM (
                        SELECT * FROM rankings WHERE parent_id IN ({_marks(chunk)})
                        ORDER BY parent_id, created_at, task_id) r""",
                chunk,
            )
            for chunk in chunks(parent_ids)
        ]

    async def loose_messages(
        self, *, user_id: int | None, after: int, limit: int, community: int | None = None
    ) -> list[Row]:
        """The next loose messages (imported without their tree) after row `after`, in import order:
        (row, node JSON, lang, tree_state, deleted, review_result, synthetic, author_excluded)."""
        where = "l.rowid > ?" if user_id is None else "l.user_id = ? AND l.rowid > ?"
        params: tuple[int, ...] = (after,) if user_id is None else (user_id, after)
        if community is not None:
            where += " AND l.community_id = ?"
            params = (*params, community)
        return await self._all(
            f"""SELECT l.rowid, l.node, l.lang, l.tree_state, l.deleted, l.review_result, l.synthetic,
                       (u.dataset_opt_out = 1 OR u.deleted = 1)
                FROM loose_messages l JOIN users u ON u.id = l.user_id
                WHERE {where} ORDER BY l.rowid LIMIT ?""",
            (*params, limit),
        )
