-- What each request cost and what each record stands for (README, *Enforcement and errors*,
-- *Threat model*). Both NULL in records written before this migration; each is covered by the
-- record's hash when present (src/audit/row.rs), so those records still verify.
-- `personas`: the units of the agreement's daily quota the request took (the persons it named,
-- a feed's records when they are charged to that budget); the quota is restored from it at
-- start-up.
-- `omitidos`: refusals of a certificate past its refusal budget, answered 429 without a record
-- of their own and counted into this summary record.
ALTER TABLE auditoria ADD COLUMN personas BIGINT CHECK (personas IS NULL OR personas >= 0);
ALTER TABLE auditoria ADD COLUMN omitidos BIGINT CHECK (omitidos IS NULL OR omitidos >= 1);
