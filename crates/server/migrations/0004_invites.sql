-- Invite codes: registration while it is `invite`. A code is deleted when revoked; used-up and
-- expired ones stay listed until then.
CREATE TABLE invites (
    code       TEXT   PRIMARY KEY,
    creator_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT,
    max_uses   BIGINT,
    uses       BIGINT NOT NULL DEFAULT 0
);
