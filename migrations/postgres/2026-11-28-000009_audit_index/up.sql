-- The by-person index of the audit log (`auditoria_sujetos`) is written after the answer by a
-- thread of its own (src/audit/index.rs), no longer inside the commit every request waits for.
-- `auditoria_sujetos_hasta` says how far the index goes: records after it are read from their
-- own `sujetos` column. Rows and mark commit together. (On SQLite the index also moves to a
-- file of its own; see migrations/sqlite/2026-11-28-000009_audit_index.)

CREATE TABLE auditoria_sujetos_hasta (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    hasta BIGINT NOT NULL CHECK (hasta >= 0)
);
INSERT INTO auditoria_sujetos_hasta (id, hasta) SELECT 1, coalesce(max(id), 0) FROM auditoria;
