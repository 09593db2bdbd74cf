-- Discord front-end state: per-server settings, language channels, and the bot's posts about messages.

CREATE TABLE guild_settings (
    guild_id INTEGER PRIMARY KEY,
    moderator_role_id INTEGER,          -- NULL: Manage Messages alone makes a moderator
    feed_channel_id INTEGER,            -- where new messages are mirrored (NULL: no feed)
    mod_queue_channel_id INTEGER,       -- where flagged messages are posted (NULL: no queue)
    default_lang TEXT,                  -- NULL: en
    updated_at REAL NOT NULL,
    updated_by INTEGER REFERENCES users (id)
);

CREATE TABLE language_channels (
    guild_id INTEGER NOT NULL,
    channel_id INTEGER NOT NULL,
    lang TEXT NOT NULL,
    updated_at REAL NOT NULL,
    updated_by INTEGER REFERENCES users (id),
    PRIMARY KEY (guild_id, channel_id)
);

-- A Discord message the bot posted about a Grove message (feed mirror or mod-queue entry):
-- reactions on it are data about that message.
CREATE TABLE discord_posts (
    discord_message_id INTEGER PRIMARY KEY,
    message_id TEXT NOT NULL REFERENCES messages (id),
    guild_id INTEGER NOT NULL,
    channel_id INTEGER NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('feed', 'queue')),
    created_at REAL NOT NULL
);
CREATE INDEX discord_posts_message ON discord_posts (message_id);
