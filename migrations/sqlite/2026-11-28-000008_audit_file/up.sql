-- The audit log moves out of the registry file into its own (`siis-auditoria.db` beside
-- `siis.db`), which every connection attaches as schema `audit` (src/db/conn.rs). Every
-- commit to a SQLite file makes the other connections on that file drop their page cache and
-- memory map at their next read; with the audit log inside the registry, that happened to
-- every lookup after every request. Records and their chain move as they are (same ids, same
-- hashes), so `siis audit verify` still passes after the move.
-- Keep the tables in step with migrations 000002 and 000003 (and PostgreSQL's).

CREATE TABLE audit.auditoria (
    id INTEGER PRIMARY KEY NOT NULL CHECK (id >= 1),
    ts_us BIGINT NOT NULL,
    convenio TEXT,
    certificado TEXT,
    operacion TEXT NOT NULL,
    transporte TEXT NOT NULL,
    id_mensaje TEXT NOT NULL,
    sujetos TEXT NOT NULL,
    proposito TEXT,
    campos TEXT NOT NULL,
    resultado TEXT NOT NULL,
    estado_http INTEGER NOT NULL,
    latencia_us BIGINT NOT NULL,
    hash_anterior TEXT NOT NULL,
    hash TEXT NOT NULL,
    xroad TEXT
);
CREATE INDEX audit.auditoria_convenio_ts ON auditoria (convenio, ts_us);

CREATE TABLE audit.auditoria_sujetos (
    run INTEGER NOT NULL CHECK (run BETWEEN 1 AND 99999999),
    auditoria_id INTEGER NOT NULL REFERENCES auditoria (id),
    PRIMARY KEY (run, auditoria_id)
) WITHOUT ROWID;
CREATE INDEX audit.auditoria_sujetos_registro ON auditoria_sujetos (auditoria_id);

INSERT INTO audit.auditoria SELECT * FROM main.auditoria ORDER BY id;
INSERT INTO audit.auditoria_sujetos SELECT * FROM main.auditoria_sujetos;
DROP TABLE main.auditoria_sujetos;
DROP TABLE main.auditoria;

CREATE TRIGGER audit.auditoria_solo_insercion_u BEFORE UPDATE ON auditoria
BEGIN
    SELECT RAISE(ABORT, 'auditoria is append-only');
END;
CREATE TRIGGER audit.auditoria_solo_insercion_d BEFORE DELETE ON auditoria
BEGIN
    SELECT RAISE(ABORT, 'auditoria is append-only');
END;
CREATE TRIGGER audit.auditoria_sujetos_solo_insercion_u BEFORE UPDATE ON auditoria_sujetos
BEGIN
    SELECT RAISE(ABORT, 'auditoria_sujetos is append-only');
END;
CREATE TRIGGER audit.auditoria_sujetos_solo_insercion_d BEFORE DELETE ON auditoria_sujetos
BEGIN
    SELECT RAISE(ABORT, 'auditoria_sujetos is append-only');
END;
