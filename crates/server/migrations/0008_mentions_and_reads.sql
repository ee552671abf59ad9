-- Mentions, read state and notification levels, kept so that posting costs nothing per member:
-- a message records whom it mentions; unread and mention counts are computed for one reader when
-- they ask (at identify, or after reading), from their read marker.

-- 0: no @everyone or @here; 1: @everyone (counts for everyone who can see the channel);
-- 2: @here (its recipients, those online at the time, are rows of message_mentions).
ALTER TABLE messages ADD COLUMN mention_everyone BIGINT NOT NULL DEFAULT 0;
-- Ids of the people mentioned by name, comma-separated, as messages carry them.
ALTER TABLE messages ADD COLUMN mentions TEXT NOT NULL DEFAULT '';
-- Link previews as JSON, once fetched.
ALTER TABLE messages ADD COLUMN embeds TEXT;

-- Who a message mentions (by name, or by @here), for counting and the inbox.
CREATE TABLE message_mentions (
    user_id    BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    message_id BIGINT NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    channel_id BIGINT NOT NULL,
    PRIMARY KEY (user_id, message_id)
);
CREATE INDEX message_mentions_by_message ON message_mentions (message_id);
CREATE INDEX messages_mentioning_everyone ON messages (mention_everyone, id);

CREATE TABLE read_states (
    user_id      BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    channel_id   BIGINT NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
    last_read_id BIGINT NOT NULL,
    PRIMARY KEY (user_id, channel_id)
);

CREATE TABLE notification_levels (
    user_id    BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    channel_id BIGINT NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
    level      TEXT   NOT NULL,
    PRIMARY KEY (user_id, channel_id)
);
