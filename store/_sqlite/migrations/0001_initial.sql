-- writein case store, SQLite schema version 1.
--
-- Nothing here holds plaintext or a Telegram id: pseudonyms (case ids,
-- handler names), keyed hashes and sealed bytes only. Long-lived rows keep
-- UTC days (TEXT 'YYYY-MM-DD'); order comes from sequence numbers.
-- Operational rows keep epoch seconds (INTEGER).

CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE handlers (
    name           TEXT PRIMARY KEY,
    certificate    BLOB NOT NULL,
    status         TEXT NOT NULL CHECK (status IN ('active', 'revoked')),
    default_intake INTEGER NOT NULL CHECK (default_intake IN (0, 1)),
    added_on       TEXT NOT NULL
);

CREATE TABLE cases (
    case_id            TEXT PRIMARY KEY,
    status             TEXT NOT NULL CHECK (status IN ('open', 'closed')),
    created_on         TEXT NOT NULL,
    language           TEXT NOT NULL,
    lookup_hash        BLOB UNIQUE,
    sealed_chat_ref    BLOB,
    recovery_hash      BLOB,
    forgotten          INTEGER NOT NULL DEFAULT 0 CHECK (forgotten IN (0, 1)),
    unreachable        INTEGER NOT NULL DEFAULT 0 CHECK (unreachable IN (0, 1)),
    needs_reassignment INTEGER NOT NULL DEFAULT 0 CHECK (needs_reassignment IN (0, 1)),
    last_activity_on   TEXT NOT NULL,
    -- Orders "last activity": every create or touch takes max + 1.
    activity_seq       INTEGER NOT NULL UNIQUE
);
CREATE INDEX cases_status_activity ON cases (status, activity_seq);
CREATE INDEX cases_forgotten_activity ON cases (activity_seq) WHERE forgotten = 1;
CREATE INDEX cases_unreachable_activity ON cases (activity_seq) WHERE unreachable = 1;
CREATE INDEX cases_reassign_activity ON cases (activity_seq) WHERE needs_reassignment = 1;

-- activity_seq is copied from cases so a handler's list is one index walk.
CREATE TABLE case_handlers (
    case_id      TEXT NOT NULL REFERENCES cases (case_id) ON DELETE CASCADE,
    handler      TEXT NOT NULL REFERENCES handlers (name),
    activity_seq INTEGER NOT NULL,
    PRIMARY KEY (case_id, handler)
) WITHOUT ROWID;
CREATE INDEX case_handlers_handler_activity ON case_handlers (handler, activity_seq);

CREATE TRIGGER case_handlers_follow_activity AFTER UPDATE OF activity_seq ON cases
BEGIN
    UPDATE case_handlers SET activity_seq = NEW.activity_seq WHERE case_id = NEW.case_id;
END;

CREATE TABLE envelopes (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    message_id BLOB NOT NULL UNIQUE CHECK (length(message_id) = 16),
    case_id    TEXT NOT NULL REFERENCES cases (case_id) ON DELETE CASCADE,
    direction  TEXT NOT NULL CHECK (direction IN ('in', 'out', 'note')),
    stored_on  TEXT NOT NULL,
    core       BLOB NOT NULL
);
CREATE INDEX envelopes_case_seq ON envelopes (case_id, seq);
CREATE INDEX envelopes_case_direction_seq ON envelopes (case_id, direction, seq);
CREATE INDEX envelopes_stored_on ON envelopes (stored_on);

CREATE TABLE wraps (
    message_id BLOB NOT NULL REFERENCES envelopes (message_id) ON DELETE CASCADE,
    key_id     BLOB NOT NULL CHECK (length(key_id) = 16),
    wrap       BLOB NOT NULL,
    PRIMARY KEY (message_id, key_id)
);
CREATE INDEX wraps_key_id ON wraps (key_id);

CREATE TABLE read_marks (
    case_id       TEXT NOT NULL REFERENCES cases (case_id) ON DELETE CASCADE,
    handler       TEXT NOT NULL REFERENCES handlers (name),
    last_read_seq INTEGER NOT NULL,
    PRIMARY KEY (case_id, handler)
) WITHOUT ROWID;

CREATE TABLE attachments (
    attachment_id BLOB PRIMARY KEY CHECK (length(attachment_id) = 16),
    message_id    BLOB NOT NULL REFERENCES envelopes (message_id) ON DELETE CASCADE
);
CREATE INDEX attachments_message ON attachments (message_id);

CREATE TABLE attachment_chunks (
    attachment_id BLOB NOT NULL REFERENCES attachments (attachment_id) ON DELETE CASCADE,
    chunk_index   INTEGER NOT NULL CHECK (chunk_index >= 0),
    chunk         BLOB NOT NULL,
    PRIMARY KEY (attachment_id, chunk_index)
);

CREATE TABLE inbox (
    update_id     INTEGER PRIMARY KEY,
    sealed_update BLOB NOT NULL,
    received_at   INTEGER NOT NULL
);

CREATE TABLE processed_updates (
    update_id    INTEGER PRIMARY KEY,
    processed_on TEXT NOT NULL
);
CREATE INDEX processed_updates_on ON processed_updates (processed_on);

CREATE TABLE dialogues (
    lookup_hash  BLOB PRIMARY KEY,
    sealed_state BLOB NOT NULL,
    expires_at   INTEGER NOT NULL
);
CREATE INDEX dialogues_expires ON dialogues (expires_at);

CREATE TABLE outbox (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    case_id          TEXT NOT NULL REFERENCES cases (case_id) ON DELETE CASCADE,
    message_id       BLOB REFERENCES envelopes (message_id) ON DELETE SET NULL,
    envelope         BLOB,
    status           TEXT NOT NULL CHECK (status IN ('pending', 'claimed', 'sent', 'failed')),
    attempts         INTEGER NOT NULL DEFAULT 0,
    not_before       INTEGER NOT NULL,
    claimed_until    INTEGER,
    claim_token      BLOB,
    last_error       TEXT,
    sent_ref         BLOB,
    self_destruct_at INTEGER
);
CREATE INDEX outbox_due ON outbox (not_before) WHERE status IN ('pending', 'claimed');
CREATE INDEX outbox_case ON outbox (case_id, id);
CREATE INDEX outbox_case_open ON outbox (case_id, id) WHERE status IN ('pending', 'claimed');
CREATE INDEX outbox_message ON outbox (message_id) WHERE message_id IS NOT NULL;

CREATE TABLE scheduled_deletions (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    case_id       TEXT NOT NULL REFERENCES cases (case_id) ON DELETE CASCADE,
    sealed_ref    BLOB NOT NULL,
    due_at        INTEGER NOT NULL,
    claimed_until INTEGER
);
CREATE INDEX scheduled_deletions_due ON scheduled_deletions (due_at);
CREATE INDEX scheduled_deletions_case ON scheduled_deletions (case_id);

CREATE TABLE relay_keys (
    purpose    TEXT NOT NULL CHECK (purpose IN ('signing', 'delivery', 'pepper', 'at_rest')),
    version    INTEGER NOT NULL CHECK (version >= 1),
    public     BLOB NOT NULL,
    status     TEXT NOT NULL CHECK (status IN ('active', 'retiring', 'retired')),
    created_on TEXT NOT NULL,
    PRIMARY KEY (purpose, version)
);

-- Append-only, hash-chained (store/_audit.py has the canonical layout).
CREATE TABLE audit (
    seq       INTEGER PRIMARY KEY,
    at        TEXT NOT NULL,
    actor     TEXT NOT NULL,
    action    TEXT NOT NULL,
    case_id   TEXT,
    detail    TEXT NOT NULL,
    prev_hash BLOB NOT NULL,
    hash      BLOB NOT NULL
);
CREATE INDEX audit_case ON audit (case_id, seq) WHERE case_id IS NOT NULL;

-- The last seq and hash, written with every append: notices a cut-off tail.
CREATE TABLE audit_head (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    seq  INTEGER NOT NULL,
    hash BLOB NOT NULL
);
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, zeroblob(32));

CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;

CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;

CREATE TRIGGER audit_head_forward BEFORE UPDATE ON audit_head
WHEN NEW.seq <> OLD.seq + 1
BEGIN
    SELECT RAISE(ABORT, 'the audit head only moves one entry forward');
END;
