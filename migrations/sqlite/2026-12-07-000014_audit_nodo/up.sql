-- Several nodes over one PostgreSQL database (README, *Running several nodes*): the node that
-- wrote an audit record, its `cluster.nodo`. NULL for a node running alone (SQLite always).
-- Covered by the record's hash when present (src/audit/row.rs, byte 5), so older records still
-- verify. Keep in step with migrations/postgres/2026-12-07-000014_audit_nodo.
ALTER TABLE audit.auditoria ADD COLUMN nodo TEXT;
