-- Dataset fidelity: an imported oasst file comes back out of an export as it went in.

-- What an imported tree or message carried beyond Grove's own columns, as JSON the export writes back: fields
-- Grove does not model (detoxify, origin, unknown ones), values in another form than Grove writes them, missing
-- authors, dates and other fields, the file's key order, the message's place among its siblings, its label
-- means and counts, and its events. NULL for everything grown here.
ALTER TABLE trees ADD COLUMN imported TEXT;
ALTER TABLE messages ADD COLUMN imported TEXT;

-- The lines of a one-message-per-line file: messages without their tree, kept as they came and written back
-- by exports in message mode. They take no part in tasks, statistics or `grove check`.
CREATE TABLE loose_messages (
    id TEXT PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users (id),  -- the author (the "no author" member when the line had none)
    lang TEXT,
    tree_state TEXT,                      -- when the line names its tree's state (flat datasets)
    deleted INTEGER NOT NULL DEFAULT 0,
    review_result INTEGER,
    synthetic INTEGER NOT NULL DEFAULT 0,
    node TEXT NOT NULL                    -- the line as read (JSON)
);
CREATE INDEX loose_messages_user ON loose_messages (user_id);
