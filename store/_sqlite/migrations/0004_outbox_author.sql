-- Who queued a reply: only its author may cancel it while the relay has not claimed it
-- (ADR 0078). A handler name, as the audit log names them; NULL for items queued before.
ALTER TABLE outbox ADD COLUMN author TEXT;
