-- Communities (issue 15): every tree, task, moderation log entry, ban and leaderboard row belongs to a
-- community (a data pool). A message, its emojis and its flags belong to their tree's community. By
-- default each Discord server is its own community; the bot's owners can join servers into one.
--
-- Upgrading: everything already stored goes into community 1, which belongs to the first server that
-- used Grove here (the earliest guild settings, language channel or Discord post). With no server on
-- record yet, community 1 goes to the first server that uses Grove after the upgrade. An operator who
-- wants community 1 to belong to another server moves it with `grove communities join GUILD 1`.
-- Members also get consent, a home community for DMs, privacy marks and notification settings.

CREATE TABLE communities (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL DEFAULT '',
    created_at REAL NOT NULL
);
-- (stamped with the database's first member's time, not the clock: the same data migrates to the same bytes)
INSERT INTO communities (id, name, created_at) VALUES (1, 'community 1', coalesce((SELECT min(created_at) FROM users), 0));

CREATE TABLE guild_communities (
    guild_id INTEGER PRIMARY KEY,
    community_id INTEGER NOT NULL REFERENCES communities (id),
    joined_at REAL NOT NULL,
    joined_by INTEGER                       -- the Discord user who joined the server into a shared pool
);
CREATE INDEX guild_communities_community ON guild_communities (community_id);

INSERT INTO guild_communities (guild_id, community_id, joined_at)
SELECT guild_id, 1, at FROM (
    SELECT guild_id, updated_at AS at FROM guild_settings
    UNION ALL SELECT guild_id, updated_at FROM language_channels
    UNION ALL SELECT guild_id, created_at FROM discord_posts
) ORDER BY at, guild_id LIMIT 1;

ALTER TABLE trees ADD COLUMN community_id INTEGER NOT NULL DEFAULT 1;
ALTER TABLE trees ADD COLUMN withdrawn_at REAL;  -- the prompt's author deleted their texts: out of exports
CREATE INDEX trees_community_lang_state ON trees (community_id, lang, state, active);

ALTER TABLE tasks ADD COLUMN community_id INTEGER NOT NULL DEFAULT 1;
ALTER TABLE moderation_log ADD COLUMN community_id INTEGER;  -- NULL: an owner's action for every community
UPDATE moderation_log SET community_id = 1;
CREATE INDEX moderation_log_community ON moderation_log (community_id, at);
ALTER TABLE loose_messages ADD COLUMN community_id INTEGER NOT NULL DEFAULT 1;

CREATE TABLE community_bans (
    community_id INTEGER NOT NULL REFERENCES communities (id),
    user_id INTEGER NOT NULL REFERENCES users (id),
    at REAL NOT NULL,
    actor_id INTEGER REFERENCES users (id),
    reason TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (community_id, user_id)
) WITHOUT ROWID;

ALTER TABLE users ADD COLUMN home_community_id INTEGER;    -- where DM work goes (the server last used)
ALTER TABLE users ADD COLUMN consent_at REAL;              -- agreed to the dataset terms (NULL: not, or withdrawn)
ALTER TABLE users ADD COLUMN consent_withdrawn_at REAL;
ALTER TABLE users ADD COLUMN name_removed_at REAL;         -- /privacy "remove my name" done
ALTER TABLE users ADD COLUMN texts_deleted_at REAL;        -- /privacy "delete my texts" done
ALTER TABLE users ADD COLUMN notify INTEGER NOT NULL DEFAULT 0;  -- 1: DM me what became of my work
ALTER TABLE users ADD COLUMN notified_at REAL;             -- when the last notification DM went out

-- Members who contributed before consent existed agreed to nothing: they see the card once.

CREATE TABLE notifications (
    id INTEGER PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users (id),
    kind TEXT NOT NULL,                     -- prompt_accepted, prompt_rejected, reply_ranked, tree_finished
    message_id TEXT,
    tree_id TEXT,
    detail TEXT NOT NULL DEFAULT '',        -- e.g. the rank
    created_at REAL NOT NULL,
    sent_at REAL                            -- NULL: waiting for the next batch
);
CREATE INDEX notifications_waiting ON notifications (user_id, created_at) WHERE sent_at IS NULL;
CREATE INDEX notifications_user ON notifications (user_id);

-- Leaderboards per community and per language ('' = every language).
DROP INDEX user_stats_rank;
ALTER TABLE user_stats RENAME TO user_stats_old;
CREATE TABLE user_stats (
    community_id INTEGER NOT NULL,
    lang TEXT NOT NULL DEFAULT '',
    time_frame TEXT NOT NULL CHECK (time_frame IN ('day', 'week', 'month', 'total')),
    user_id INTEGER NOT NULL REFERENCES users (id),
    base_date REAL,
    modified_at REAL NOT NULL,
    leader_score INTEGER NOT NULL,
    rank INTEGER,
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
    PRIMARY KEY (community_id, lang, time_frame, user_id)
);
INSERT INTO user_stats SELECT 1, '', * FROM user_stats_old;
DROP TABLE user_stats_old;
CREATE INDEX user_stats_rank ON user_stats (community_id, lang, time_frame, rank);
