-- The by-person index of the audit log (`auditoria_sujetos`) moves into a file of its own
-- (`siis-auditoria-indice.db`, attached as schema `indice`, src/db/conn.rs) and is written
-- after the answer by a thread of its own (src/audit/index.rs), no longer inside the commit
-- every request waits for. A 500-RUN batch put 500 random keys into this index: ~2 MB of WAL
-- flushed inside the shared audit commit, 10 ms at the median, which every request committing
-- beside it waited for too. SQLite has one writer per file, so the index cannot stay in the
-- audit file without holding up that commit again.
-- `auditoria_sujetos_hasta` says how far the index goes: records after it are read from their
-- own `sujetos` column (`audit::accesses`, `audit::verify`). Rows and mark commit together.
-- No foreign key: SQLite cannot refer to another file. `siis audit verify` checks every
-- indexed record's rows against its `sujetos` instead.

CREATE TABLE indice.auditoria_sujetos (
    run INTEGER NOT NULL CHECK (run BETWEEN 1 AND 99999999),
    auditoria_id INTEGER NOT NULL CHECK (auditoria_id >= 1),
    PRIMARY KEY (run, auditoria_id)
) WITHOUT ROWID;
CREATE INDEX indice.auditoria_sujetos_registro ON auditoria_sujetos (auditoria_id);

CREATE TABLE indice.auditoria_sujetos_hasta (
    id INTEGER PRIMARY KEY NOT NULL CHECK (id = 1),
    hasta BIGINT NOT NULL CHECK (hasta >= 0)
);

INSERT INTO indice.auditoria_sujetos SELECT run, auditoria_id FROM audit.auditoria_sujetos;
INSERT INTO indice.auditoria_sujetos_hasta (id, hasta)
    SELECT 1, coalesce(max(id), 0) FROM audit.auditoria;
DROP TABLE audit.auditoria_sujetos;

CREATE TRIGGER indice.auditoria_sujetos_solo_insercion_u BEFORE UPDATE ON auditoria_sujetos
BEGIN
    SELECT RAISE(ABORT, 'auditoria_sujetos is append-only');
END;
CREATE TRIGGER indice.auditoria_sujetos_solo_insercion_d BEFORE DELETE ON auditoria_sujetos
BEGIN
    SELECT RAISE(ABORT, 'auditoria_sujetos is append-only');
END;
