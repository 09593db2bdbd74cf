"""Read-only queries that find rows breaking the database's invariants; each returns human-readable lines."""

from __future__ import annotations

import json
from typing import Any

import aiosqlite

from storage.sql import SqlParams

_INACTIVE = (
    "('ready_for_export', 'aborted_low_grade', 'scoring_failed', 'halted_by_moderator', "
    "'backlog_ranking', 'prompt_lottery_waiting')"
)


async def _lines(conn: aiosqlite.Connection, sql: str, fmt: str, params: SqlParams = ()) -> list[str]:
    rows = await conn.execute_fetchall(sql, params)
    return [fmt.format(*r) for r in rows]


async def find_violations(conn: aiosqlite.Connection, p: dict[str, Any]) -> list[str]:
    """`p` holds the engine's numbers: num_reviews_reply, num_reviews_initial_prompt, num_required_rankings,
    num_prompter_replies, ranked_roles (list)."""
    out: list[str] = []
    roles = "(" + ", ".join(f"'{r}'" for r in p["ranked_roles"]) + ")"

    out += await _lines(
        conn,
        f"""SELECT id, state, active FROM trees
            WHERE active != (CASE WHEN state IN {_INACTIVE} THEN 0 ELSE 1 END)""",
        "tree {0}: state {1} but active={2}",
    )
    out += await _lines(
        conn,
        """SELECT t.id FROM trees t LEFT JOIN messages m ON m.id = t.id
           WHERE m.id IS NULL OR m.parent_id IS NOT NULL OR m.tree_id != t.id""",
        "tree {0}: has no root message of the same id",
    )
    out += await _lines(
        conn,
        """SELECT k.id, k.community_id, t.community_id FROM tasks k JOIN trees t ON t.id = k.tree_id
           WHERE k.community_id != t.community_id""",
        "task {0}: in community {1} but its tree is in community {2}",
    )
    out += await _lines(
        conn,
        """SELECT t.id, t.community_id FROM trees t
           WHERE NOT EXISTS (SELECT 1 FROM communities c WHERE c.id = t.community_id)""",
        "tree {0}: in community {1}, which does not exist",
    )
    out += await _lines(
        conn,
        """SELECT m.id, m.tree_id, p.tree_id FROM messages m JOIN messages p ON p.id = m.parent_id
           WHERE m.tree_id != p.tree_id""",
        "message {0}: in tree {1} but its parent is in tree {2}",
    )
    out += await _lines(
        conn,
        """SELECT m.id, m.depth, p.depth FROM messages m JOIN messages p ON p.id = m.parent_id
           WHERE m.depth != p.depth + 1""",
        "message {0}: depth {1} under a parent of depth {2}",
    )
    out += await _lines(
        conn,
        """SELECT m.id, m.depth, t.max_depth FROM messages m JOIN trees t ON t.id = m.tree_id
           WHERE m.depth > t.max_depth AND t.origin IS NULL""",
        "message {0}: depth {1} deeper than the tree allows ({2})",
    )
    out += await _lines(
        conn,
        """SELECT m.id, m.role, p.role FROM messages m JOIN messages p ON p.id = m.parent_id
           WHERE m.role = p.role""",
        "message {0}: role {1} answers a {2} message",
    )
    out += await _lines(
        conn,
        "SELECT id, role FROM messages WHERE parent_id IS NULL AND role != 'prompter'",
        "message {0}: a prompt must have role prompter, not {1}",
    )
    # states and their messages
    out += await _lines(
        conn,
        """SELECT t.id, (SELECT count(*) FROM messages m WHERE m.tree_id = t.id AND m.parent_id IS NOT NULL)
           FROM trees t WHERE t.state IN ('initial_prompt_review', 'prompt_lottery_waiting')
             AND (SELECT count(*) FROM messages m WHERE m.tree_id = t.id AND m.parent_id IS NOT NULL) > 0""",
        "tree {0}: has {1} replies before winning the prompt lottery",
    )
    out += await _lines(
        conn,
        """SELECT t.id, t.state, r.review_result FROM trees t JOIN messages r ON r.id = t.id
           WHERE t.origin IS NULL AND t.state IN ('prompt_lottery_waiting', 'growing', 'ranking',
                 'ready_for_scoring', 'ready_for_export', 'scoring_failed') AND r.review_result IS NOT 1""",
        "tree {0}: state {1} does not fit its prompt's review result {2}",
    )
    # (a prompt in initial_prompt_review with a verdict is reported by find_stuck_trees)
    out += await _lines(
        conn,
        """SELECT t.id, t.state FROM trees t WHERE t.won_prompt_lottery_at IS NULL AND t.origin IS NULL
           AND (t.state IN ('growing', 'ranking', 'ready_for_scoring', 'ready_for_export', 'scoring_failed')
                OR t.halted_from IN ('growing', 'ranking', 'ready_for_scoring', 'ready_for_export'))""",
        "tree {0}: in {1} without having won the prompt lottery",
    )
    # no tree over its goal: accepted + pending undeleted messages
    out += await _lines(
        conn,
        """SELECT t.id, count(*), t.goal_tree_size FROM trees t JOIN messages m ON m.tree_id = t.id
           WHERE t.origin IS NULL AND m.deleted = 0 AND m.review_result IS NOT 0
           GROUP BY t.id HAVING count(*) > t.goal_tree_size""",
        "tree {0}: {1} live messages, over its goal of {2}",
    )
    out += await _lines(
        conn,
        f"""SELECT p.id, count(*), CASE WHEN p.role = 'prompter' THEN t.max_children_count
                                        ELSE min(t.max_children_count, {int(p["num_prompter_replies"])}) END
            FROM messages p JOIN messages c ON c.parent_id = p.id JOIN trees t ON t.id = p.tree_id
            WHERE t.origin IS NULL AND c.deleted = 0 AND c.review_result IS NOT 0
            GROUP BY p.id, t.id
            HAVING count(*) > CASE WHEN p.role = 'prompter' THEN t.max_children_count
                                   ELSE min(t.max_children_count, {int(p["num_prompter_replies"])}) END""",
        "message {0}: {1} live replies, more than the {2} allowed",
    )
    # counters equal to what they count
    out += await _lines(
        conn,
        """SELECT m.id, m.review_count, count(l.id) FROM messages m
           LEFT JOIN labels l ON l.message_id = m.id AND l.task_id IS NOT NULL
           GROUP BY m.id HAVING m.review_count != count(l.id) AND m.id NOT IN
               (SELECT id FROM messages WHERE tree_id IN (SELECT id FROM trees WHERE origin IS NOT NULL))""",
        "message {0}: review_count {1} but {2} reviews stored",
    )
    out += await _lines(
        conn,
        """SELECT id, ranking_count, n FROM (
               SELECT m.id, m.ranking_count,
                      (SELECT count(*) FROM rankings r, json_each(r.ranked_ids) j
                       WHERE r.parent_id = m.parent_id AND j.value = m.id) AS n
               FROM messages m JOIN trees t ON t.id = m.tree_id
               WHERE m.parent_id IS NOT NULL AND t.origin IS NULL) counted
           WHERE ranking_count != n""",
        "message {0}: ranking_count {1} but it appears in {2} rankings",
    )
    rows = await conn.execute_fetchall(
        """SELECT m.id, m.emojis, (SELECT json_group_object(emoji, n) FROM
                (SELECT emoji, count(*) AS n FROM message_emojis e WHERE e.message_id = m.id GROUP BY emoji) c)
           FROM messages m JOIN trees t ON t.id = m.tree_id
           WHERE t.origin IS NULL  -- imported counts come without the members' rows
             AND (m.emojis != '{}' OR EXISTS (SELECT 1 FROM message_emojis e WHERE e.message_id = m.id))"""
    )
    for message_id, stored, counted in rows:
        if json.loads(stored) != json.loads(counted or "{}"):
            out.append(f"message {message_id}: emoji counts {stored} but rows give {counted or '{}'}")
    # verdicts
    out += await _lines(
        conn,
        """SELECT m.id, n FROM (
               SELECT m.id, m.parent_id, (SELECT count(*) FROM tasks k WHERE k.target_id = m.id
                      AND k.type LIKE 'label_%' AND k.status IN ('done', 'purged')) AS n
               FROM messages m JOIN trees t ON t.id = m.tree_id
               WHERE t.origin IS NULL AND m.review_result IS NOT NULL) m
           WHERE n < CASE WHEN m.parent_id IS NULL THEN :prompt ELSE :reply END""",
        "message {0}: has a verdict after only {1} reviews",
        {"prompt": p["num_reviews_initial_prompt"], "reply": p["num_reviews_reply"]},
    )
    # ranks only in scored trees
    out += await _lines(
        conn,
        """SELECT m.id, t.id, t.state FROM messages m JOIN trees t ON t.id = m.tree_id
           WHERE m.rank IS NOT NULL AND t.origin IS NULL AND NOT (t.state = 'ready_for_export'
                 OR (t.state = 'halted_by_moderator' AND t.halted_from = 'ready_for_export'))""",
        "message {0}: has a rank but its tree {1} is in {2}",
    )
    out += await _lines(
        conn,
        f"""SELECT c.parent_id, t.id, count(DISTINCT r.task_id) FROM trees t
            JOIN messages c ON c.tree_id = t.id AND c.deleted = 0 AND c.review_result = 1 AND c.role IN {roles}
            JOIN messages p ON p.id = c.parent_id AND p.deleted = 0
            LEFT JOIN rankings r ON r.parent_id = c.parent_id
            WHERE t.state = 'ready_for_export' AND t.origin IS NULL
            GROUP BY c.parent_id, t.id HAVING count(DISTINCT c.id) > 1 AND count(DISTINCT r.task_id) < :need""",
        "message {0}: tree {1} is exported with only {2} rankings of its replies",
        {"need": p["num_required_rankings"]},
    )
    # tasks and their results
    out += await _lines(
        conn,
        """SELECT k.id, k.type FROM tasks k WHERE k.status = 'done' AND (
                (k.type IN ('initial_prompt', 'prompter_reply', 'assistant_reply')
                 AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.task_id = k.id))
             OR (k.type LIKE 'label_%' AND NOT EXISTS (SELECT 1 FROM labels l WHERE l.task_id = k.id))
             OR (k.type LIKE 'rank_%' AND NOT EXISTS (SELECT 1 FROM rankings r WHERE r.task_id = k.id)))""",
        "task {0}: done ({1}) but its result is missing",
    )
    out += await _lines(
        conn,
        """SELECT k.id, k.status FROM tasks k WHERE k.status != 'done' AND (
                EXISTS (SELECT 1 FROM messages m WHERE m.task_id = k.id)
             OR EXISTS (SELECT 1 FROM labels l WHERE l.task_id = k.id)
             OR EXISTS (SELECT 1 FROM rankings r WHERE r.task_id = k.id))""",
        "task {0}: has a result but its status is {1}",
    )
    out += await _lines(
        conn,
        """SELECT k.id, k.status, k.ended_at FROM tasks k
           WHERE (k.status = 'pending') != (k.ended_at IS NULL)""",
        "task {0}: status {1} does not fit its end time {2}",
    )
    out += await find_stuck_trees(conn, p)
    return out


async def find_stuck_trees(conn: aiosqlite.Connection, p: dict[str, Any]) -> list[str]:
    """Trees that no task can move on under the given thresholds (same keys as `find_violations`).

    A slot held by a pending task does not make a tree stuck: the task ends (or its hold does) and the slot comes
    back. Each query starts from the trees of one state, so a full pass costs one probe per tree and message.
    """
    out: list[str] = []
    roles = "(" + ", ".join(f"'{r}'" for r in p["ranked_roles"]) + ")"
    reviews = {"prompt": p["num_reviews_initial_prompt"], "reply": p["num_reviews_reply"]}
    out += await _lines(
        conn,
        """SELECT t.id, CASE r.review_result WHEN 1 THEN 'accepted' ELSE 'rejected' END,
                  CASE r.review_result WHEN 1 THEN 'prompt_lottery_waiting' ELSE 'aborted_low_grade' END
           FROM trees t JOIN messages r ON r.id = t.id
           WHERE t.state = 'initial_prompt_review' AND r.review_result IS NOT NULL""",
        "tree {0}: stuck in initial_prompt_review: its prompt is already {1}, so it belongs in {2}",
    )
    out += await _lines(
        conn,
        """SELECT m.id, t.id, t.state, m.review_count, CASE WHEN m.parent_id IS NULL THEN :prompt ELSE :reply END
           FROM trees t JOIN messages m ON m.tree_id = t.id
           WHERE t.state IN ('initial_prompt_review', 'growing') AND t.active = 1
             AND m.deleted = 0 AND m.review_result IS NULL
             AND m.review_count >= CASE WHEN m.parent_id IS NULL THEN :prompt ELSE :reply END""",
        "message {0}: tree {1} is stuck in {2}: the message has {3} reviews ({4} required) but no verdict",
        reviews,
    )
    sizes = """SELECT t.id, t.goal_tree_size, t.max_depth, t.max_children_count,
                  (SELECT count(*) FROM messages m WHERE m.tree_id = t.id AND m.deleted = 0
                       AND m.review_result = 1) AS accepted,
                  (SELECT count(*) FROM messages m WHERE m.tree_id = t.id AND m.deleted = 0
                       AND m.review_result IS NULL) AS awaiting
           FROM trees t WHERE t.state = 'growing' AND t.active = 1"""
    out += await _lines(
        conn,
        f"""SELECT id, accepted, goal_tree_size FROM ({sizes}) s
            WHERE awaiting = 0 AND accepted >= goal_tree_size""",
        "tree {0}: stuck in growing: {1} accepted messages reach its goal of {2} and none awaits review, "
        "yet it was not moved to ranking",
    )
    out += await _lines(
        conn,
        f"""SELECT s.id, s.accepted, s.goal_tree_size FROM ({sizes}) s
            WHERE s.awaiting = 0 AND s.accepted < s.goal_tree_size AND NOT EXISTS (
                SELECT 1 FROM messages q WHERE q.tree_id = s.id AND q.deleted = 0 AND q.review_result = 1
                   AND q.depth < s.max_depth
                   AND (SELECT count(*) FROM messages c WHERE c.parent_id = q.id AND c.deleted = 0
                            AND c.review_result IS NOT 0)
                     < CASE WHEN q.role = 'prompter' THEN s.max_children_count
                            ELSE min(s.max_children_count, :prompter_replies) END)""",
        "tree {0}: stuck in growing: only {1} of its goal of {2} messages are accepted, none awaits review, and "
        "no message can take another reply",
        {"prompter_replies": p["num_prompter_replies"]},
    )
    out += await _lines(
        conn,
        f"""SELECT t.id, :need FROM trees t WHERE t.state = 'ranking' AND t.active = 1 AND NOT EXISTS (
                SELECT 1 FROM messages c JOIN messages q ON q.id = c.parent_id
                WHERE c.tree_id = t.id AND c.deleted = 0 AND c.review_result = 1 AND c.role IN {roles}
                  AND q.deleted = 0
                GROUP BY c.parent_id
                HAVING count(*) > 1 AND (SELECT count(*) FROM rankings r WHERE r.parent_id = c.parent_id) < :need)""",
        "tree {0}: stuck in ranking: no sibling set lacks rankings ({1} required), yet it was not scored",
        {"need": p["num_required_rankings"]},
    )
    out += await _lines(
        conn,
        "SELECT id FROM trees WHERE state = 'ready_for_scoring' AND active = 1",
        "tree {0}: stuck in ready_for_scoring: a tree is scored in the step that enters this state, "
        "so nothing moves it on",
    )
    return out
