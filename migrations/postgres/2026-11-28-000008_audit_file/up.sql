-- PostgreSQL keeps the audit log in the registry database: its readers share one buffer
-- cache, so the audit's commits cost them nothing. On SQLite this migration moves the audit
-- tables into a file of their own (see migrations/sqlite/2026-11-28-000008_audit_file).
SELECT 1;
