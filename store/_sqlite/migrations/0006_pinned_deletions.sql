-- A deletion whose time nobody but the clock may bring forward (ADR 0085): the neutral
-- notice left in a chat whose case moved to another account. /panic, /forget and a later
-- move by whoever now holds the case make the case's other deletions due at once; if they
-- made this one due too, a thief could erase the notice within seconds of the takeover.
ALTER TABLE scheduled_deletions ADD COLUMN pinned INTEGER NOT NULL DEFAULT 0 CHECK (pinned IN (0, 1));
