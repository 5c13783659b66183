-- The signed roster (ADR 0076): append-only, hash-chained entries that decide who may
-- read what. Rows elsewhere (handlers, case_handlers, relay_keys) are a cache of it.
CREATE TABLE roster (
    seq INTEGER PRIMARY KEY CHECK (seq >= 1),
    entry BLOB NOT NULL CHECK (length(entry) BETWEEN 1 AND 131072)
);
