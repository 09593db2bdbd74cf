-- Issue 18: the languages a server's admins enabled (`/config language add`). A server's members may use these,
-- its default language (en when none is set) and its language channels' languages; no other.
CREATE TABLE guild_languages (
    guild_id INTEGER NOT NULL,
    lang TEXT NOT NULL,
    added_at REAL NOT NULL,
    added_by INTEGER,
    PRIMARY KEY (guild_id, lang)
) WITHOUT ROWID;
-- Languages a server's community already holds trees in were in use before: they stay enabled.
INSERT INTO guild_languages (guild_id, lang, added_at, added_by)
SELECT DISTINCT g.guild_id, t.lang, g.joined_at, NULL
  FROM guild_communities g JOIN trees t ON t.community_id = g.community_id;
