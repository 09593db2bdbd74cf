-- Grove's core schema: users, trees, messages, tasks, reviews (labels), rankings, emojis, moderation log.
-- Times are UTC seconds since the epoch (REAL). Booleans are 0/1. review_result is three-valued (NULL = pending).

CREATE TABLE users (
    id INTEGER PRIMARY KEY,
    auth_method TEXT NOT NULL,
    username TEXT NOT NULL,
    display_name TEXT NOT NULL DEFAULT '',
    enabled INTEGER NOT NULL DEFAULT 1,
    deleted INTEGER NOT NULL DEFAULT 0,
    show_on_leaderboard INTEGER NOT NULL DEFAULT 1,
    dataset_opt_out INTEGER NOT NULL DEFAULT 0,   -- 1: leave this member's messages out of exports
    preferred_lang TEXT,
    created_at REAL NOT NULL,
    last_activity_at REAL,
    streak_last_day_at REAL,
    streak_days INTEGER NOT NULL DEFAULT 0,
    UNIQUE (auth_method, username)
);

CREATE TABLE trees (
    id TEXT PRIMARY KEY,                  -- equals the root message's id
    state TEXT NOT NULL,
    active INTEGER NOT NULL,
    lang TEXT NOT NULL,
    goal_tree_size INTEGER NOT NULL,
    max_depth INTEGER NOT NULL,
    max_children_count INTEGER NOT NULL,
    halted_from TEXT,                     -- the state a halted tree returns to when resumed
    won_prompt_lottery_at REAL,
    origin TEXT,                          -- NULL for trees grown here; the import source otherwise
    created_at REAL NOT NULL,
    state_changed_at REAL NOT NULL
);
CREATE INDEX trees_lang_state ON trees (lang, state, active);
CREATE INDEX trees_state ON trees (state);

CREATE TABLE messages (
    id TEXT PRIMARY KEY,
    tree_id TEXT NOT NULL REFERENCES trees (id),
    parent_id TEXT REFERENCES messages (id),
    user_id INTEGER NOT NULL REFERENCES users (id),
    task_id TEXT,
    role TEXT NOT NULL CHECK (role IN ('prompter', 'assistant')),
    text TEXT NOT NULL,
    lang TEXT NOT NULL,
    depth INTEGER NOT NULL CHECK (depth >= 0),
    created_at REAL NOT NULL,
    deleted INTEGER NOT NULL DEFAULT 0,
    review_count INTEGER NOT NULL DEFAULT 0,
    review_result INTEGER,
    ranking_count INTEGER NOT NULL DEFAULT 0,
    rank INTEGER,
    synthetic INTEGER NOT NULL DEFAULT 0,
    model_name TEXT,
    emojis TEXT NOT NULL DEFAULT '{}'     -- code -> count over all users, kept in step with message_emojis
);
CREATE INDEX messages_tree ON messages (tree_id);
CREATE INDEX messages_parent ON messages (parent_id);
CREATE INDEX messages_user_created ON messages (user_id, created_at);
CREATE UNIQUE INDEX messages_task ON messages (task_id) WHERE task_id IS NOT NULL;

CREATE TABLE tasks (
    id TEXT PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users (id),
    type TEXT NOT NULL,
    lang TEXT NOT NULL,
    random_request INTEGER NOT NULL DEFAULT 0,
    tree_id TEXT REFERENCES trees (id),
    target_id TEXT REFERENCES messages (id),  -- reply: the parent; label: the labelled message; ranking: the parent
    payload TEXT NOT NULL DEFAULT '{}',       -- label mode and labels, or the candidates in shown order
    status TEXT NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'done', 'skipped', 'expired', 'cancelled', 'purged')),
    created_at REAL NOT NULL,
    expires_at REAL,
    ended_at REAL,
    frontend_ref TEXT,
    draft TEXT
);
CREATE INDEX tasks_user_created ON tasks (user_id, created_at);
CREATE INDEX tasks_user_target ON tasks (user_id, target_id);
CREATE INDEX tasks_target ON tasks (target_id, type);
CREATE INDEX tasks_pending_target ON tasks (target_id) WHERE status = 'pending';
CREATE INDEX tasks_pending_tree ON tasks (tree_id) WHERE status = 'pending';
CREATE INDEX tasks_pending_expiry ON tasks (expires_at) WHERE status = 'pending';

CREATE TABLE labels (
    id TEXT PRIMARY KEY,                  -- the task id for task-based reviews
    message_id TEXT NOT NULL REFERENCES messages (id),
    user_id INTEGER NOT NULL REFERENCES users (id),
    task_id TEXT REFERENCES tasks (id),
    mode TEXT,
    labels TEXT NOT NULL,                 -- JSON: name -> value in [0, 1]
    comment TEXT NOT NULL DEFAULT '',
    is_report INTEGER NOT NULL DEFAULT 0,
    created_at REAL NOT NULL
);
CREATE INDEX labels_message ON labels (message_id);
CREATE INDEX labels_user_message ON labels (user_id, message_id);
CREATE UNIQUE INDEX labels_task ON labels (task_id) WHERE task_id IS NOT NULL;

CREATE TABLE rankings (
    task_id TEXT PRIMARY KEY REFERENCES tasks (id),
    user_id INTEGER NOT NULL REFERENCES users (id),
    parent_id TEXT NOT NULL REFERENCES messages (id),
    tree_id TEXT NOT NULL REFERENCES trees (id),
    shown_ids TEXT NOT NULL,              -- JSON: candidate ids in the order shown to this user
    ranking TEXT,                         -- JSON: shown indices, best first; NULL for "not rankable" without an order
    ranked_ids TEXT NOT NULL,             -- JSON: candidate ids, best first ([] when no order was given)
    not_rankable INTEGER NOT NULL DEFAULT 0,
    created_at REAL NOT NULL
);
CREATE INDEX rankings_parent ON rankings (parent_id);
CREATE INDEX rankings_user_parent ON rankings (user_id, parent_id);
CREATE INDEX rankings_created ON rankings (created_at);

CREATE TABLE message_emojis (
    message_id TEXT NOT NULL REFERENCES messages (id),
    user_id INTEGER NOT NULL REFERENCES users (id),
    emoji TEXT NOT NULL,
    created_at REAL NOT NULL,
    PRIMARY KEY (message_id, user_id, emoji)
) WITHOUT ROWID;
CREATE INDEX message_emojis_user ON message_emojis (user_id, message_id);

CREATE TABLE flagged_messages (
    message_id TEXT PRIMARY KEY REFERENCES messages (id),
    processed INTEGER NOT NULL DEFAULT 0,
    created_at REAL NOT NULL
);

CREATE TABLE moderation_log (
    id INTEGER PRIMARY KEY,
    at REAL NOT NULL,
    actor_id INTEGER REFERENCES users (id),  -- NULL for the engine itself (auto-moderation)
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT ''
);
CREATE INDEX moderation_log_at ON moderation_log (at);

CREATE TABLE user_stats (
    time_frame TEXT NOT NULL CHECK (time_frame IN ('day', 'week', 'month', 'total')),
    user_id INTEGER NOT NULL REFERENCES users (id),
    base_date REAL,                       -- contributions since this time count (NULL: all time)
    modified_at REAL NOT NULL,
    leader_score INTEGER NOT NULL,
    rank INTEGER,                         -- NULL for members hidden from the leaderboard
    prompts INTEGER NOT NULL DEFAULT 0,
    replies_assistant INTEGER NOT NULL DEFAULT 0,
    replies_prompter INTEGER NOT NULL DEFAULT 0,
    labels_simple INTEGER NOT NULL DEFAULT 0,
    labels_full INTEGER NOT NULL DEFAULT 0,
    rankings_total INTEGER NOT NULL DEFAULT 0,
    rankings_good INTEGER NOT NULL DEFAULT 0,
    accepted_prompts INTEGER NOT NULL DEFAULT 0,
    accepted_replies_assistant INTEGER NOT NULL DEFAULT 0,
    accepted_replies_prompter INTEGER NOT NULL DEFAULT 0,
    reply_ranked_1 INTEGER NOT NULL DEFAULT 0,
    reply_ranked_2 INTEGER NOT NULL DEFAULT 0,
    reply_ranked_3 INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (time_frame, user_id)
);
CREATE INDEX user_stats_rank ON user_stats (time_frame, rank);
CREATE INDEX messages_created ON messages (created_at);
CREATE INDEX tasks_created ON tasks (created_at);
