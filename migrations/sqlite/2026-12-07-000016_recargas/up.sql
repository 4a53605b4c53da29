-- Agreement reloads across nodes (migrations/postgres/2026-12-07-000016_recargas) need
-- `cluster.nodo`, which needs PostgreSQL: SQLite runs one node alone, so nothing here. The
-- migration exists to keep both trees' names in step.
SELECT 1;
