-- Archiving old audit records (`siis audit archive`, src/audit/archivo.rs): records up to a
-- cut are written to a compressed file outside the database, the file is registered here, and
-- only then are the records and their index rows deleted. The hash chain goes on across files:
-- each file starts from the hash the previous one ended with (GENESIS for the first), and the
-- first record left in `auditoria` from the last file's `hash_final`.
-- Keep in step with migrations/postgres/2026-12-05-000012_audit_archivos.

-- One row per archive file, in chain order; append-only. `hasta` is the file's last record.
CREATE TABLE audit.auditoria_archivos (
    hasta BIGINT PRIMARY KEY NOT NULL,
    desde BIGINT NOT NULL UNIQUE CHECK (desde >= 1),
    registros BIGINT NOT NULL,
    -- The hash of record `hasta`: the first record after it links to this.
    hash_final TEXT NOT NULL,
    -- The hash before record `desde` (the previous file's hash_final, or GENESIS).
    hash_anterior TEXT NOT NULL,
    -- The file's name (auditoria-{desde:012}-{hasta:012}.jsonl.gz), its SHA-256 and size.
    archivo TEXT NOT NULL UNIQUE,
    sha256 TEXT NOT NULL,
    bytes BIGINT NOT NULL CHECK (bytes > 0),
    creado_us BIGINT NOT NULL,
    CHECK (hasta >= desde AND registros = hasta - desde + 1)
);
-- Files follow each other without a gap or an overlap (two archive runs at once: the second
-- is refused here, or by UNIQUE (desde)).
CREATE TRIGGER audit.auditoria_archivos_seguidos BEFORE INSERT ON auditoria_archivos
WHEN NEW.desde <> (SELECT coalesce(max(hasta), 0) + 1 FROM auditoria_archivos)
BEGIN
    SELECT RAISE(ABORT, 'auditoria_archivos: an archive starts right after the previous one');
END;
-- A registration ends before the newest record, and at a record with the hash it says when
-- that record is still here (it is made before the deletion; `siis import` loads it after the
-- records were deleted): otherwise one forged row would let every record be deleted.
CREATE TRIGGER audit.auditoria_archivos_presentes BEFORE INSERT ON auditoria_archivos
WHEN NEW.hasta >= (SELECT coalesce(max(id), 0) FROM auditoria)
    OR EXISTS (SELECT 1 FROM auditoria WHERE id = NEW.hasta AND hash <> NEW.hash_final)
BEGIN
    SELECT RAISE(ABORT, 'auditoria_archivos: an archive ends before the newest record, at its hash');
END;
CREATE TRIGGER audit.auditoria_archivos_solo_insercion_u BEFORE UPDATE ON auditoria_archivos
BEGIN
    SELECT RAISE(ABORT, 'auditoria_archivos is append-only');
END;
CREATE TRIGGER audit.auditoria_archivos_solo_insercion_d BEFORE DELETE ON auditoria_archivos
BEGIN
    SELECT RAISE(ABORT, 'auditoria_archivos is append-only');
END;

-- A record may be deleted only once an archive holding it is registered; UPDATE stays refused.
DROP TRIGGER audit.auditoria_solo_insercion_d;
CREATE TRIGGER audit.auditoria_solo_insercion_d BEFORE DELETE ON auditoria
WHEN OLD.id > (SELECT coalesce(max(hasta), 0) FROM auditoria_archivos)
BEGIN
    SELECT RAISE(ABORT, 'auditoria is append-only (only archived records may be deleted)');
END;

-- The by-person index's own mark of how far its rows may be deleted, raised by the archive
-- command before it deletes them (never lowered), and no higher than the registered archives:
-- the index lives in another file, whose triggers cannot read auditoria_archivos.
CREATE TABLE indice.auditoria_sujetos_archivados (
    id INTEGER PRIMARY KEY NOT NULL CHECK (id = 1),
    hasta BIGINT NOT NULL CHECK (hasta >= 0)
);
INSERT INTO indice.auditoria_sujetos_archivados (id, hasta) VALUES (1, 0);
CREATE TRIGGER indice.auditoria_sujetos_archivados_u BEFORE UPDATE ON auditoria_sujetos_archivados
WHEN NEW.hasta < OLD.hasta OR NEW.id <> OLD.id
BEGIN
    SELECT RAISE(ABORT, 'auditoria_sujetos_archivados only rises');
END;
CREATE TRIGGER indice.auditoria_sujetos_archivados_d BEFORE DELETE ON auditoria_sujetos_archivados
BEGIN
    SELECT RAISE(ABORT, 'auditoria_sujetos_archivados is kept');
END;
DROP TRIGGER indice.auditoria_sujetos_solo_insercion_d;
CREATE TRIGGER indice.auditoria_sujetos_solo_insercion_d BEFORE DELETE ON auditoria_sujetos
WHEN OLD.auditoria_id > (SELECT hasta FROM auditoria_sujetos_archivados)
BEGIN
    SELECT RAISE(ABORT, 'auditoria_sujetos is append-only (only archived records may be deleted)');
END;
