-- Agreement reloads reaching every node of a cluster (src/recargas.rs). They need
-- `cluster.nodo`, which needs PostgreSQL: on SQLite, one node alone, these tables stay empty.
-- They exist so that both backends keep one shape (tests/it/storage.rs); see
-- migrations/postgres/2026-12-07-000016_recargas for what each column means. Not exported.
CREATE TABLE recargas (
    version INTEGER PRIMARY KEY NOT NULL,
    nodo TEXT NOT NULL,
    digest TEXT NOT NULL,
    ts TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP
);

CREATE TABLE recargas_nodos (
    version BIGINT NOT NULL REFERENCES recargas (version) ON DELETE CASCADE,
    nodo TEXT NOT NULL,
    resultado TEXT NOT NULL,
    digest TEXT NOT NULL,
    convenios INTEGER,
    ts TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP,
    PRIMARY KEY (version, nodo)
);
