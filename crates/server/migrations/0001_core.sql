-- Accounts, sessions, channels, messages and settings. Portable across SQLite and PostgreSQL:
-- ids and unix-millisecond timestamps are BIGINT, flags are BIGINT 0/1, text is TEXT.

CREATE TABLE users (
    id            BIGINT PRIMARY KEY,
    username      TEXT   NOT NULL,
    username_key  TEXT   NOT NULL UNIQUE,
    email         TEXT,
    email_key     TEXT   UNIQUE,
    password_hash TEXT   NOT NULL,
    admin         BIGINT NOT NULL DEFAULT 0,
    created_at    BIGINT NOT NULL
);

CREATE TABLE sessions (
    id         BIGINT PRIMARY KEY,
    token_hash TEXT   NOT NULL UNIQUE,
    user_id    BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX sessions_by_user ON sessions (user_id);

CREATE TABLE channels (
    id         BIGINT PRIMARY KEY,
    name       TEXT   NOT NULL,
    name_key   TEXT   NOT NULL,
    kind       TEXT   NOT NULL,
    private    BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    UNIQUE (kind, name_key)
);

CREATE TABLE channel_members (
    channel_id BIGINT NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
    user_id    BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    PRIMARY KEY (channel_id, user_id)
);
CREATE INDEX channel_members_by_user ON channel_members (user_id);

CREATE TABLE messages (
    id         BIGINT PRIMARY KEY,
    channel_id BIGINT NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
    author_id  BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    content    TEXT   NOT NULL,
    created_at BIGINT NOT NULL,
    edited_at  BIGINT
);
CREATE INDEX messages_by_channel ON messages (channel_id, id);

CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
