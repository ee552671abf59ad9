-- Accounts that look after themselves: display names, avatars, deletion that keeps messages,
-- confirmed email addresses, synced preferences, and single-use tokens for password reset and
-- address confirmation (kept hashed, like session tokens).
ALTER TABLE users ADD COLUMN display_name TEXT;
-- The current avatar's version (changes with every upload), or NULL when there is none.
ALTER TABLE users ADD COLUMN avatar TEXT;
ALTER TABLE users ADD COLUMN deleted BIGINT NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN email_verified BIGINT NOT NULL DEFAULT 0;
-- JSON object of the preferences the user set; what is missing takes its default.
ALTER TABLE users ADD COLUMN preferences TEXT NOT NULL DEFAULT '{}';

-- Renditions of each avatar, as base64 text so one schema serves SQLite and PostgreSQL.
CREATE TABLE avatars (
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    size    BIGINT NOT NULL,
    image   TEXT   NOT NULL,
    PRIMARY KEY (user_id, size)
);

CREATE TABLE account_tokens (
    token_hash TEXT   PRIMARY KEY,
    user_id    BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- 'password_reset' or 'email_verification'.
    purpose    TEXT   NOT NULL,
    -- The address the mail went to: a confirmation confirms only that address.
    email      TEXT   NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX account_tokens_by_user ON account_tokens (user_id);
