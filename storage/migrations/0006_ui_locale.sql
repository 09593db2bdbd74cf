-- A member's chosen interface language (`/language ui <code>`); NULL: follow their Discord client's locale.
ALTER TABLE users ADD COLUMN ui_locale TEXT;
