-- /recover finds a case by its recovery hash (deterministic per deployment): index it.
CREATE UNIQUE INDEX cases_by_recovery_hash ON cases (recovery_hash) WHERE recovery_hash IS NOT NULL;
