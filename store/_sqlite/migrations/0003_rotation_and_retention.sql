-- Key rotation and retention (writein admin).

-- A handler's replaced certificates. Replies and notes signed by an earlier key of
-- theirs must still verify after `writein handler rotate`; only public data is kept.
CREATE TABLE handler_certificate_history (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    name        TEXT NOT NULL REFERENCES handlers (name),
    certificate BLOB NOT NULL,
    replaced_on TEXT NOT NULL
);
CREATE INDEX handler_certificate_history_name ON handler_certificate_history (name, seq);

-- For a retired relay signing key: the last envelope seq stored while it was in use,
-- so an envelope it signs later (a stolen old key) can be refused.
ALTER TABLE relay_keys ADD COLUMN last_seq INTEGER CHECK (last_seq IS NULL OR last_seq >= 0);

-- Retention finds closed cases by their last activity.
CREATE INDEX cases_status_last_activity ON cases (status, last_activity_on);
