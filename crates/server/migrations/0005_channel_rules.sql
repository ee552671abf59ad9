-- Channel rules: who may post (`everyone` or `admins`, for announcement channels), the order in
-- the sidebar, and slow mode (seconds a member waits between messages; 0 for none).
ALTER TABLE channels ADD COLUMN write_access TEXT NOT NULL DEFAULT 'everyone';
ALTER TABLE channels ADD COLUMN position BIGINT NOT NULL DEFAULT 0;
ALTER TABLE channels ADD COLUMN slowmode_secs BIGINT NOT NULL DEFAULT 0;
