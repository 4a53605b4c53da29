-- Refusals a flood made beyond `broker.refusals_per_second` are answered 429 without a record
-- of their own and counted; a summary record per certificate carries how many (README,
-- *Threat model*). NULL in every other record. Covered by the record's hash when present
-- (src/audit/row.rs), so records written before it still verify.
ALTER TABLE auditoria ADD COLUMN omitidos BIGINT CHECK (omitidos IS NULL OR omitidos >= 1);
