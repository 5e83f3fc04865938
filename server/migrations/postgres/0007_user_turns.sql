-- A scripted conversation's later user messages (JSON list); empty for a single message.
ALTER TABLE scenarios ADD COLUMN user_turns JSONB NOT NULL DEFAULT '[]'::jsonb;
