-- Moderation: accounts an admin disabled (banned) or timed out, and the log of what admins did.
ALTER TABLE users ADD COLUMN disabled BIGINT NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN timeout_until BIGINT;

-- The actor is not a foreign key: the log outlives the accounts it names.
CREATE TABLE audit_log (
    id       BIGINT PRIMARY KEY,
    at       BIGINT NOT NULL,
    actor_id BIGINT NOT NULL,
    action   TEXT   NOT NULL,
    target   TEXT,
    reason   TEXT,
    detail   TEXT
);
