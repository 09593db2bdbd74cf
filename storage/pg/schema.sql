-- Grove's schema on PostgreSQL (issue 19): the tables and indexes of SQLite migrations 0001-0010, in one step.
-- SQLite's schema is the source: a column INTEGER there is BIGINT here, REAL is DOUBLE PRECISION, flags stay
-- integers (0/1) so the shared SQL reads them the same way. Later migrations come in pairs: NNNN_name.sql for
-- SQLite in storage/migrations, the same number in storage/pg/migrations (tests/storage/test_pg.py checks).

-- SQLite's functions the shared SQL uses, with SQLite's meaning.
CREATE FUNCTION grove_add_flag(acc BIGINT, v BOOLEAN) RETURNS BIGINT LANGUAGE sql IMMUTABLE
    AS 'SELECT acc + CASE WHEN v THEN 1 ELSE 0 END';
CREATE AGGREGATE sum(BOOLEAN) (SFUNC = grove_add_flag, STYPE = BIGINT, INITCOND = '0');
-- min(a, b) and max(a, b): NULL when either is NULL, as in SQLite (LEAST and GREATEST skip NULLs)
CREATE FUNCTION min(a BIGINT, b BIGINT) RETURNS BIGINT LANGUAGE sql IMMUTABLE
    AS 'SELECT CASE WHEN a IS NULL OR b IS NULL THEN NULL ELSE LEAST(a, b) END';
CREATE FUNCTION max(a BIGINT, b BIGINT) RETURNS BIGINT LANGUAGE sql IMMUTABLE
    AS 'SELECT CASE WHEN a IS NULL OR b IS NULL THEN NULL ELSE GREATEST(a, b) END';
CREATE FUNCTION min(a DOUBLE PRECISION, b DOUBLE PRECISION) RETURNS DOUBLE PRECISION LANGUAGE sql IMMUTABLE
    AS 'SELECT CASE WHEN a IS NULL OR b IS NULL THEN NULL ELSE LEAST(a, b) END';
CREATE FUNCTION max(a DOUBLE PRECISION, b DOUBLE PRECISION) RETURNS DOUBLE PRECISION LANGUAGE sql IMMUTABLE
    AS 'SELECT CASE WHEN a IS NULL OR b IS NULL THEN NULL ELSE GREATEST(a, b) END';
CREATE FUNCTION instr(a TEXT, b TEXT) RETURNS INTEGER LANGUAGE sql IMMUTABLE AS 'SELECT strpos(a, b)';

-- SQLite gives a row without its INTEGER PRIMARY KEY the largest id so far plus one; so does this. (Writers take
-- the database's write lock first, see storage/pg/database.py, so two never pick the same id.)
CREATE FUNCTION grove_next_id() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.id IS NULL THEN
        EXECUTE format('SELECT coalesce(max(id), 0) + 1 FROM %I', TG_TABLE_NAME) INTO NEW.id;
    END IF;
    RETURN NEW;
END $$;

CREATE TABLE users (
    id BIGINT PRIMARY KEY,
    auth_method TEXT NOT NULL,
    username TEXT NOT NULL,
    display_name TEXT NOT NULL DEFAULT '',
    enabled BIGINT NOT NULL DEFAULT 1,
    deleted BIGINT NOT NULL DEFAULT 0,
    show_on_leaderboard BIGINT NOT NULL DEFAULT 1,
    dataset_opt_out BIGINT NOT NULL DEFAULT 0,   -- 1: leave this member's messages out of exports
    preferred_lang TEXT,
    created_at DOUBLE PRECISION NOT NULL,
    last_activity_at DOUBLE PRECISION,
    streak_last_day_at DOUBLE PRECISION,
    streak_days BIGINT NOT NULL DEFAULT 0, ui_locale TEXT, home_community_id BIGINT, consent_at DOUBLE PRECISION, consent_withdrawn_at DOUBLE PRECISION, name_removed_at DOUBLE PRECISION, texts_deleted_at DOUBLE PRECISION, notify BIGINT NOT NULL DEFAULT 0, notified_at DOUBLE PRECISION,
    UNIQUE (auth_method, username)
);

CREATE TABLE trees (
    id TEXT PRIMARY KEY,                  -- equals the root message's id
    state TEXT NOT NULL,
    active BIGINT NOT NULL,
    lang TEXT NOT NULL,
    goal_tree_size BIGINT NOT NULL,
    max_depth BIGINT NOT NULL,
    max_children_count BIGINT NOT NULL,
    halted_from TEXT,                     -- the state a halted tree returns to when resumed
    won_prompt_lottery_at DOUBLE PRECISION,
    origin TEXT,                          -- NULL for trees grown here; the import source otherwise
    created_at DOUBLE PRECISION NOT NULL,
    state_changed_at DOUBLE PRECISION NOT NULL
, imported TEXT, community_id BIGINT NOT NULL DEFAULT 1, withdrawn_at DOUBLE PRECISION);

CREATE TABLE messages (
    id TEXT PRIMARY KEY,
    tree_id TEXT NOT NULL REFERENCES trees (id),
    parent_id TEXT REFERENCES messages (id),
    user_id BIGINT NOT NULL REFERENCES users (id),
    task_id TEXT,
    role TEXT NOT NULL CHECK (role IN ('prompter', 'assistant')),
    text TEXT NOT NULL,
    lang TEXT NOT NULL,
    depth BIGINT NOT NULL CHECK (depth >= 0),
    created_at DOUBLE PRECISION NOT NULL,
    deleted BIGINT NOT NULL DEFAULT 0,
    review_count BIGINT NOT NULL DEFAULT 0,
    review_result BIGINT,
    ranking_count BIGINT NOT NULL DEFAULT 0,
    rank BIGINT,
    synthetic BIGINT NOT NULL DEFAULT 0,
    model_name TEXT,
    emojis TEXT NOT NULL DEFAULT '{}'     -- code -> count over all users, kept in step with message_emojis
, imported TEXT);

CREATE TABLE tasks (
    id TEXT PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users (id),
    type TEXT NOT NULL,
    lang TEXT NOT NULL,
    random_request BIGINT NOT NULL DEFAULT 0,
    tree_id TEXT REFERENCES trees (id),
    target_id TEXT REFERENCES messages (id),  -- reply: the parent; label: the labelled message; ranking: the parent
    payload TEXT NOT NULL DEFAULT '{}',       -- label mode and labels, or the candidates in shown order
    status TEXT NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'done', 'skipped', 'expired', 'cancelled', 'purged')),
    created_at DOUBLE PRECISION NOT NULL,
    expires_at DOUBLE PRECISION,
    ended_at DOUBLE PRECISION,
    frontend_ref TEXT,
    draft TEXT
, lease_until DOUBLE PRECISION, community_id BIGINT NOT NULL DEFAULT 1);

CREATE TABLE labels (
    id TEXT PRIMARY KEY,                  -- the task id for task-based reviews
    message_id TEXT NOT NULL REFERENCES messages (id),
    user_id BIGINT NOT NULL REFERENCES users (id),
    task_id TEXT REFERENCES tasks (id),
    mode TEXT,
    labels TEXT NOT NULL,                 -- JSON: name -> value in [0, 1]
    comment TEXT NOT NULL DEFAULT '',
    is_report BIGINT NOT NULL DEFAULT 0,
    created_at DOUBLE PRECISION NOT NULL
);

CREATE TABLE rankings (
    task_id TEXT PRIMARY KEY REFERENCES tasks (id),
    user_id BIGINT NOT NULL REFERENCES users (id),
    parent_id TEXT NOT NULL REFERENCES messages (id),
    tree_id TEXT NOT NULL REFERENCES trees (id),
    shown_ids TEXT NOT NULL,              -- JSON: candidate ids in the order shown to this user
    ranking TEXT,                         -- JSON: shown indices, best first; NULL for "not rankable" without an order
    ranked_ids TEXT NOT NULL,             -- JSON: candidate ids, best first ([] when no order was given)
    not_rankable BIGINT NOT NULL DEFAULT 0,
    created_at DOUBLE PRECISION NOT NULL
);

CREATE TABLE message_emojis (
    message_id TEXT NOT NULL REFERENCES messages (id),
    user_id BIGINT NOT NULL REFERENCES users (id),
    emoji TEXT NOT NULL,
    created_at DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (message_id, user_id, emoji)
);

CREATE TABLE flagged_messages (
    message_id TEXT PRIMARY KEY REFERENCES messages (id),
    processed BIGINT NOT NULL DEFAULT 0,
    created_at DOUBLE PRECISION NOT NULL
);

CREATE TABLE moderation_log (
    id BIGINT PRIMARY KEY,
    at DOUBLE PRECISION NOT NULL,
    actor_id BIGINT REFERENCES users (id),  -- NULL for the engine itself (auto-moderation)
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT ''
, community_id BIGINT);

CREATE TABLE guild_settings (
    guild_id BIGINT PRIMARY KEY,
    moderator_role_id BIGINT,          -- NULL: Manage Messages alone makes a moderator
    feed_channel_id BIGINT,            -- where new messages are mirrored (NULL: no feed)
    mod_queue_channel_id BIGINT,       -- where flagged messages are posted (NULL: no queue)
    default_lang TEXT,                  -- NULL: en
    updated_at DOUBLE PRECISION NOT NULL,
    updated_by BIGINT REFERENCES users (id)
);

CREATE TABLE language_channels (
    guild_id BIGINT NOT NULL,
    channel_id BIGINT NOT NULL,
    lang TEXT NOT NULL,
    updated_at DOUBLE PRECISION NOT NULL,
    updated_by BIGINT REFERENCES users (id),
    PRIMARY KEY (guild_id, channel_id)
);

CREATE TABLE discord_posts (
    discord_message_id BIGINT PRIMARY KEY,
    message_id TEXT NOT NULL REFERENCES messages (id),
    guild_id BIGINT NOT NULL,
    channel_id BIGINT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('feed', 'queue')),
    created_at DOUBLE PRECISION NOT NULL
);

CREATE TABLE job_runs (
    job_id TEXT PRIMARY KEY,            -- the scheduler's job id, e.g. 'task-expiry'
    last_run DOUBLE PRECISION NOT NULL,             -- when the last successful run began (UTC epoch seconds)
    finished_at DOUBLE PRECISION NOT NULL,          -- when it ended
    runs BIGINT NOT NULL DEFAULT 1 CHECK (runs >= 1)  -- successful runs so far
);

CREATE TABLE loose_messages (
    id TEXT PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users (id),  -- the author (the "no author" member when the line had none)
    lang TEXT,
    tree_state TEXT,                      -- when the line names its tree's state (flat datasets)
    deleted BIGINT NOT NULL DEFAULT 0,
    review_result BIGINT,
    synthetic BIGINT NOT NULL DEFAULT 0,
    node TEXT NOT NULL                    -- the line as read (JSON)
, community_id BIGINT NOT NULL DEFAULT 1,
    rowid BIGINT GENERATED ALWAYS AS IDENTITY  -- import order, as SQLite's rowid gives it
);

CREATE TABLE communities (
    id BIGINT PRIMARY KEY,
    name TEXT NOT NULL DEFAULT '',
    created_at DOUBLE PRECISION NOT NULL
);

CREATE TABLE guild_communities (
    guild_id BIGINT PRIMARY KEY,
    community_id BIGINT NOT NULL REFERENCES communities (id),
    joined_at DOUBLE PRECISION NOT NULL,
    joined_by BIGINT                       -- the Discord user who joined the server into a shared pool
);

CREATE TABLE community_bans (
    community_id BIGINT NOT NULL REFERENCES communities (id),
    user_id BIGINT NOT NULL REFERENCES users (id),
    at DOUBLE PRECISION NOT NULL,
    actor_id BIGINT REFERENCES users (id),
    reason TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (community_id, user_id)
);

CREATE TABLE notifications (
    id BIGINT PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users (id),
    kind TEXT NOT NULL,                     -- prompt_accepted, prompt_rejected, reply_ranked, tree_finished
    message_id TEXT,
    tree_id TEXT,
    detail TEXT NOT NULL DEFAULT '',        -- e.g. the rank
    created_at DOUBLE PRECISION NOT NULL,
    sent_at DOUBLE PRECISION                            -- NULL: waiting for the next batch
);

CREATE TABLE user_stats (
    community_id BIGINT NOT NULL,
    lang TEXT NOT NULL DEFAULT '',
    time_frame TEXT NOT NULL CHECK (time_frame IN ('day', 'week', 'month', 'total')),
    user_id BIGINT NOT NULL REFERENCES users (id),
    base_date DOUBLE PRECISION,
    modified_at DOUBLE PRECISION NOT NULL,
    leader_score BIGINT NOT NULL,
    rank BIGINT,
    prompts BIGINT NOT NULL DEFAULT 0,
    replies_assistant BIGINT NOT NULL DEFAULT 0,
    replies_prompter BIGINT NOT NULL DEFAULT 0,
    labels_simple BIGINT NOT NULL DEFAULT 0,
    labels_full BIGINT NOT NULL DEFAULT 0,
    rankings_total BIGINT NOT NULL DEFAULT 0,
    rankings_good BIGINT NOT NULL DEFAULT 0,
    accepted_prompts BIGINT NOT NULL DEFAULT 0,
    accepted_replies_assistant BIGINT NOT NULL DEFAULT 0,
    accepted_replies_prompter BIGINT NOT NULL DEFAULT 0,
    reply_ranked_1 BIGINT NOT NULL DEFAULT 0,
    reply_ranked_2 BIGINT NOT NULL DEFAULT 0,
    reply_ranked_3 BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (community_id, lang, time_frame, user_id)
);

CREATE TABLE guild_languages (
    guild_id BIGINT NOT NULL,
    lang TEXT NOT NULL,
    added_at DOUBLE PRECISION NOT NULL,
    added_by BIGINT,
    PRIMARY KEY (guild_id, lang)
);

CREATE TABLE tree_changes (
    tree_id TEXT PRIMARY KEY,
    seq BIGINT NOT NULL
);

CREATE INDEX trees_lang_state ON trees (lang, state, active);

CREATE INDEX trees_state ON trees (state);

CREATE INDEX messages_user_created ON messages (user_id, created_at);

CREATE UNIQUE INDEX messages_task ON messages (task_id) WHERE task_id IS NOT NULL;

CREATE INDEX tasks_user_created ON tasks (user_id, created_at);

CREATE INDEX tasks_user_target ON tasks (user_id, target_id);

CREATE INDEX tasks_target ON tasks (target_id, type);

CREATE INDEX tasks_pending_tree ON tasks (tree_id) WHERE status = 'pending';

CREATE INDEX tasks_pending_expiry ON tasks (expires_at) WHERE status = 'pending';

CREATE INDEX labels_message ON labels (message_id);

CREATE INDEX labels_user_message ON labels (user_id, message_id);

CREATE UNIQUE INDEX labels_task ON labels (task_id) WHERE task_id IS NOT NULL;

CREATE INDEX rankings_parent ON rankings (parent_id);

CREATE INDEX rankings_user_parent ON rankings (user_id, parent_id);

CREATE INDEX rankings_created ON rankings (created_at);

CREATE INDEX message_emojis_user ON message_emojis (user_id, message_id);

CREATE INDEX moderation_log_at ON moderation_log (at);

CREATE INDEX messages_created ON messages (created_at);

CREATE INDEX tasks_created ON tasks (created_at);

CREATE INDEX discord_posts_message ON discord_posts (message_id);

CREATE INDEX messages_parent ON messages (parent_id, deleted, review_result, user_id, role);

CREATE INDEX messages_tree ON messages (tree_id, deleted, review_result, role, parent_id, user_id);

CREATE INDEX tasks_pending_target ON tasks (target_id, type, lease_until, created_at, user_id)
    WHERE status = 'pending';

CREATE INDEX tasks_pending_user ON tasks (user_id, created_at, lease_until, target_id)
    WHERE status = 'pending';

CREATE INDEX loose_messages_user ON loose_messages (user_id);

CREATE INDEX guild_communities_community ON guild_communities (community_id);

CREATE INDEX trees_community_lang_state ON trees (community_id, lang, state, active);

CREATE INDEX moderation_log_community ON moderation_log (community_id, at);

CREATE INDEX notifications_waiting ON notifications (user_id, created_at) WHERE sent_at IS NULL;

CREATE INDEX notifications_user ON notifications (user_id);

CREATE INDEX user_stats_rank ON user_stats (community_id, lang, time_frame, rank);

CREATE INDEX tree_changes_seq ON tree_changes (seq);

CREATE TRIGGER users_next_id BEFORE INSERT ON users FOR EACH ROW EXECUTE FUNCTION grove_next_id();
CREATE TRIGGER moderation_log_next_id BEFORE INSERT ON moderation_log FOR EACH ROW EXECUTE FUNCTION grove_next_id();
CREATE TRIGGER communities_next_id BEFORE INSERT ON communities FOR EACH ROW EXECUTE FUNCTION grove_next_id();
CREATE TRIGGER notifications_next_id BEFORE INSERT ON notifications FOR EACH ROW EXECUTE FUNCTION grove_next_id();

INSERT INTO communities (id, name, created_at) VALUES (1, 'community 1', 0);

-- The schema's number, as SQLite's PRAGMA user_version holds it there.
CREATE TABLE grove_schema (version BIGINT NOT NULL);
INSERT INTO grove_schema (version) VALUES (10);
