-- Issue 19: which trees changed, for the in-memory model of the active set (storage/active.py).
-- Every write that can change what a hand-out decides on stamps its tree with the next number, whichever
-- program writes (the bot, `grove import`, a second process): a model that has seen up to number N reloads
-- exactly the trees stamped after N. Rolled-back writes take their stamps with them. A task stamps its own tree
-- (reply slots held in a tree) and its target's, when that is another.
CREATE TABLE tree_changes (
    tree_id TEXT PRIMARY KEY,
    seq INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX tree_changes_seq ON tree_changes (seq);

CREATE TRIGGER trees_changed_insert AFTER INSERT ON trees
BEGIN
    INSERT INTO tree_changes (tree_id, seq)
    SELECT NEW.id, (SELECT coalesce(max(seq), 0) + 1 FROM tree_changes) WHERE NEW.id IS NOT NULL
    ON CONFLICT (tree_id) DO UPDATE SET seq = excluded.seq;
END;

CREATE TRIGGER trees_changed_update AFTER UPDATE OF state, active, lang, community_id, goal_tree_size, max_depth, max_children_count ON trees
BEGIN
    INSERT INTO tree_changes (tree_id, seq)
    SELECT NEW.id, (SELECT coalesce(max(seq), 0) + 1 FROM tree_changes) WHERE NEW.id IS NOT NULL
    ON CONFLICT (tree_id) DO UPDATE SET seq = excluded.seq;
END;

CREATE TRIGGER trees_changed_delete AFTER DELETE ON trees
BEGIN
    INSERT INTO tree_changes (tree_id, seq)
    SELECT OLD.id, (SELECT coalesce(max(seq), 0) + 1 FROM tree_changes) WHERE OLD.id IS NOT NULL
    ON CONFLICT (tree_id) DO UPDATE SET seq = excluded.seq;
END;

CREATE TRIGGER messages_changed_insert AFTER INSERT ON messages
BEGIN
    INSERT INTO tree_changes (tree_id, seq)
    SELECT NEW.tree_id, (SELECT coalesce(max(seq), 0) + 1 FROM tree_changes) WHERE NEW.tree_id IS NOT NULL
    ON CONFLICT (tree_id) DO UPDATE SET seq = excluded.seq;
END;

CREATE TRIGGER messages_changed_update AFTER UPDATE OF parent_id, user_id, role, depth, deleted, review_result, review_count ON messages
BEGIN
    INSERT INTO tree_changes (tree_id, seq)
    SELECT NEW.tree_id, (SELECT coalesce(max(seq), 0) + 1 FROM tree_changes) WHERE NEW.tree_id IS NOT NULL
    ON CONFLICT (tree_id) DO UPDATE SET seq = excluded.seq;
END;

CREATE TRIGGER messages_changed_delete AFTER DELETE ON messages
BEGIN
    INSERT INTO tree_changes (tree_id, seq)
    SELECT OLD.tree_id, (SELECT coalesce(max(seq), 0) + 1 FROM tree_changes) WHERE OLD.tree_id IS NOT NULL
    ON CONFLICT (tree_id) DO UPDATE SET seq = excluded.seq;
END;

CREATE TRIGGER tasks_changed_insert AFTER INSERT ON tasks WHEN NEW.tree_id IS NOT NULL OR NEW.target_id IS NOT NULL
BEGIN
    INSERT INTO tree_changes (tree_id, seq)
    SELECT NEW.tree_id, (SELECT coalesce(max(seq), 0) + 1 FROM tree_changes) WHERE NEW.tree_id IS NOT NULL
    ON CONFLICT (tree_id) DO UPDATE SET seq = excluded.seq;
    INSERT INTO tree_changes (tree_id, seq)
    SELECT m.tree_id, (SELECT coalesce(max(seq), 0) + 1 FROM tree_changes) FROM messages m WHERE m.id = NEW.target_id AND m.tree_id IS NOT NEW.tree_id
    ON CONFLICT (tree_id) DO UPDATE SET seq = excluded.seq;
END;

CREATE TRIGGER tasks_changed_delete AFTER DELETE ON tasks WHEN OLD.tree_id IS NOT NULL OR OLD.target_id IS NOT NULL
BEGIN
    INSERT INTO tree_changes (tree_id, seq)
    SELECT OLD.tree_id, (SELECT coalesce(max(seq), 0) + 1 FROM tree_changes) WHERE OLD.tree_id IS NOT NULL
    ON CONFLICT (tree_id) DO UPDATE SET seq = excluded.seq;
    INSERT INTO tree_changes (tree_id, seq)
    SELECT m.tree_id, (SELECT coalesce(max(seq), 0) + 1 FROM tree_changes) FROM messages m WHERE m.id = OLD.target_id AND m.tree_id IS NOT OLD.tree_id
    ON CONFLICT (tree_id) DO UPDATE SET seq = excluded.seq;
END;

CREATE TRIGGER tasks_changed_update AFTER UPDATE OF status, lease_until, user_id, type, tree_id, target_id, created_at ON tasks WHEN NEW.tree_id IS NOT NULL OR NEW.target_id IS NOT NULL
BEGIN
    INSERT INTO tree_changes (tree_id, seq)
    SELECT NEW.tree_id, (SELECT coalesce(max(seq), 0) + 1 FROM tree_changes) WHERE NEW.tree_id IS NOT NULL
    ON CONFLICT (tree_id) DO UPDATE SET seq = excluded.seq;
    INSERT INTO tree_changes (tree_id, seq)
    SELECT m.tree_id, (SELECT coalesce(max(seq), 0) + 1 FROM tree_changes) FROM messages m WHERE m.id = NEW.target_id AND m.tree_id IS NOT NEW.tree_id
    ON CONFLICT (tree_id) DO UPDATE SET seq = excluded.seq;
END;

CREATE TRIGGER labels_changed_insert AFTER INSERT ON labels
BEGIN
    INSERT INTO tree_changes (tree_id, seq)
    SELECT m.tree_id, (SELECT coalesce(max(seq), 0) + 1 FROM tree_changes) FROM messages m WHERE m.id = NEW.message_id
    ON CONFLICT (tree_id) DO UPDATE SET seq = excluded.seq;
END;

CREATE TRIGGER labels_changed_delete AFTER DELETE ON labels
BEGIN
    INSERT INTO tree_changes (tree_id, seq)
    SELECT m.tree_id, (SELECT coalesce(max(seq), 0) + 1 FROM tree_changes) FROM messages m WHERE m.id = OLD.message_id
    ON CONFLICT (tree_id) DO UPDATE SET seq = excluded.seq;
END;

CREATE TRIGGER labels_changed_update AFTER UPDATE ON labels
BEGIN
    INSERT INTO tree_changes (tree_id, seq)
    SELECT m.tree_id, (SELECT coalesce(max(seq), 0) + 1 FROM tree_changes) FROM messages m WHERE m.id = NEW.message_id
    ON CONFLICT (tree_id) DO UPDATE SET seq = excluded.seq;
END;

CREATE TRIGGER rankings_changed_insert AFTER INSERT ON rankings
BEGIN
    INSERT INTO tree_changes (tree_id, seq)
    SELECT m.tree_id, (SELECT coalesce(max(seq), 0) + 1 FROM tree_changes) FROM messages m WHERE m.id = NEW.parent_id
    ON CONFLICT (tree_id) DO UPDATE SET seq = excluded.seq;
END;

CREATE TRIGGER rankings_changed_delete AFTER DELETE ON rankings
BEGIN
    INSERT INTO tree_changes (tree_id, seq)
    SELECT m.tree_id, (SELECT coalesce(max(seq), 0) + 1 FROM tree_changes) FROM messages m WHERE m.id = OLD.parent_id
    ON CONFLICT (tree_id) DO UPDATE SET seq = excluded.seq;
END;

CREATE TRIGGER rankings_changed_update AFTER UPDATE ON rankings
BEGIN
    INSERT INTO tree_changes (tree_id, seq)
    SELECT m.tree_id, (SELECT coalesce(max(seq), 0) + 1 FROM tree_changes) FROM messages m WHERE m.id = NEW.parent_id
    ON CONFLICT (tree_id) DO UPDATE SET seq = excluded.seq;
END;

CREATE TRIGGER message_emojis_changed_insert AFTER INSERT ON message_emojis WHEN NEW.emoji IN ('_skip_labeling', '_skip_reply', '_skip_ranking')
BEGIN
    INSERT INTO tree_changes (tree_id, seq)
    SELECT m.tree_id, (SELECT coalesce(max(seq), 0) + 1 FROM tree_changes) FROM messages m WHERE m.id = NEW.message_id
    ON CONFLICT (tree_id) DO UPDATE SET seq = excluded.seq;
END;

CREATE TRIGGER message_emojis_changed_delete AFTER DELETE ON message_emojis WHEN OLD.emoji IN ('_skip_labeling', '_skip_reply', '_skip_ranking')
BEGIN
    INSERT INTO tree_changes (tree_id, seq)
    SELECT m.tree_id, (SELECT coalesce(max(seq), 0) + 1 FROM tree_changes) FROM messages m WHERE m.id = OLD.message_id
    ON CONFLICT (tree_id) DO UPDATE SET seq = excluded.seq;
END;
