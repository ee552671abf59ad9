-- Idempotent sends: the nonce a client gave the message it posted, so a retry of a send whose
-- reply was lost returns the first message instead of posting it twice. A nonce lapses after
-- ten minutes (set back to NULL when it is reused); NULLs never collide in a unique index.
ALTER TABLE messages ADD COLUMN nonce TEXT;
CREATE UNIQUE INDEX messages_by_nonce ON messages (author_id, nonce);
