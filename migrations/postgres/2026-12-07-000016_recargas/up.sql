-- Agreement reloads reaching every node of a cluster (src/recargas.rs; `cluster.nodo`). The
-- agreements stay files, deployed to every machine; the database carries only the event and
-- what each node made of it. Kept in step with migrations/sqlite/2026-12-07-000016_recargas
-- (empty tables there: SQLite runs one node alone). Not exported (`siis export`): worth
-- nothing elsewhere.

-- One row per reload asked of a node (SIGHUP or POST /admin/convenios/reload) that succeeded
-- there: its insert and `pg_notify('siis_recarga', version)` commit together.
CREATE TABLE recargas (
    version BIGSERIAL PRIMARY KEY,
    -- The node where the reload was asked.
    nodo TEXT NOT NULL,
    -- SHA-256 (hex) over the sorted names and contents of its agreement files.
    digest TEXT NOT NULL,
    ts TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- What each node made of a version: reloaded ('ok') or refused (the reason), and the digest of
-- the files it read. A node that starts records the newest version with its own files.
CREATE TABLE recargas_nodos (
    version BIGINT NOT NULL REFERENCES recargas (version) ON DELETE CASCADE,
    nodo TEXT NOT NULL,
    resultado TEXT NOT NULL,
    digest TEXT NOT NULL,
    convenios INTEGER,
    ts TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (version, nodo)
);
