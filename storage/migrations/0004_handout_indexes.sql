-- Covering indexes for the hand-out snapshot (storage.repository.HAND_OUT_SQL): each correlated probe
-- on a parent's children, a tree's messages or a target's live tasks is answered from the index alone,
-- without a lookup into the wide table row.

DROP INDEX messages_parent;
CREATE INDEX messages_parent ON messages (parent_id, deleted, review_result, user_id, role);

DROP INDEX messages_tree;
CREATE INDEX messages_tree ON messages (tree_id, deleted, review_result, role, parent_id, user_id);

DROP INDEX tasks_pending_target;
CREATE INDEX tasks_pending_target ON tasks (target_id, type, expires_at, created_at, user_id)
    WHERE status = 'pending';
