-- Archiving old audit records (`siis audit archive`, src/audit/archivo.rs): records up to a
-- cut are written to a compressed file outside the database, the file is registered here, and
-- only then are the records and their index rows deleted. The hash chain goes on across files:
-- each file starts from the hash the previous one ended with (GENESIS for the first), and the
-- first record left in `auditoria` from the last file's `hash_final`.
-- Keep in step with migrations/sqlite/2026-12-05-000012_audit_archivos.

-- One row per archive file, in chain order; append-only. `hasta` is the file's last record.
CREATE TABLE auditoria_archivos (
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
-- is refused by UNIQUE (desde), or here), and end before the newest record.
CREATE FUNCTION auditoria_archivos_seguidos() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.desde <> (SELECT coalesce(max(hasta), 0) + 1 FROM auditoria_archivos) THEN
        RAISE EXCEPTION 'auditoria_archivos: an archive starts right after the previous one';
    END IF;
    -- It ends before the newest record, and at a record with the hash it says when that
    -- record is still here (it is made before the deletion; `siis import` loads it after the
    -- records were deleted): otherwise one forged row would let every record be deleted.
    IF NEW.hasta >= (SELECT coalesce(max(id), 0) FROM auditoria)
        OR EXISTS (SELECT 1 FROM auditoria WHERE id = NEW.hasta AND hash <> NEW.hash_final) THEN
        RAISE EXCEPTION 'auditoria_archivos: an archive ends before the newest record, at its hash';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER auditoria_archivos_seguidos BEFORE INSERT ON auditoria_archivos
    FOR EACH ROW EXECUTE FUNCTION auditoria_archivos_seguidos();
CREATE TRIGGER auditoria_solo_insercion
    BEFORE UPDATE OR DELETE OR TRUNCATE ON auditoria_archivos
    FOR EACH STATEMENT EXECUTE FUNCTION auditoria_solo_insercion();

-- A record (and its index rows) may be deleted only once an archive holding it is
-- registered; UPDATE and TRUNCATE stay refused. Checked once per statement, on the rows it
-- deleted (a transition table), not once per row.
DROP TRIGGER auditoria_solo_insercion ON auditoria;
CREATE TRIGGER auditoria_solo_insercion
    BEFORE UPDATE OR TRUNCATE ON auditoria
    FOR EACH STATEMENT EXECUTE FUNCTION auditoria_solo_insercion();
DROP TRIGGER auditoria_solo_insercion ON auditoria_sujetos;
CREATE TRIGGER auditoria_solo_insercion
    BEFORE UPDATE OR TRUNCATE ON auditoria_sujetos
    FOR EACH STATEMENT EXECUTE FUNCTION auditoria_solo_insercion();

CREATE FUNCTION auditoria_solo_archivados() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF (SELECT max(id) FROM borrados)
        > (SELECT coalesce(max(hasta), 0) FROM auditoria_archivos) THEN
        RAISE EXCEPTION 'auditoria is append-only (only archived records may be deleted)';
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER auditoria_solo_archivados
    AFTER DELETE ON auditoria REFERENCING OLD TABLE AS borrados
    FOR EACH STATEMENT EXECUTE FUNCTION auditoria_solo_archivados();

-- The by-person index's own mark of how far its rows may be deleted, raised by the archive
-- command before it deletes them (never lowered), and no higher than the registered archives.
-- On SQLite the index lives in another file, whose triggers cannot read auditoria_archivos;
-- both backends keep the same mark, so that the archive command does the same on each.
CREATE TABLE auditoria_sujetos_archivados (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    hasta BIGINT NOT NULL CHECK (hasta >= 0)
);
INSERT INTO auditoria_sujetos_archivados (id, hasta) VALUES (1, 0);
CREATE FUNCTION auditoria_sujetos_archivados_sube() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.hasta < OLD.hasta OR NEW.id <> OLD.id THEN
        RAISE EXCEPTION 'auditoria_sujetos_archivados only rises';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER auditoria_sujetos_archivados_sube BEFORE UPDATE ON auditoria_sujetos_archivados
    FOR EACH ROW EXECUTE FUNCTION auditoria_sujetos_archivados_sube();
CREATE TRIGGER auditoria_solo_insercion
    BEFORE DELETE OR TRUNCATE ON auditoria_sujetos_archivados
    FOR EACH STATEMENT EXECUTE FUNCTION auditoria_solo_insercion();

CREATE FUNCTION auditoria_sujetos_solo_archivados() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF (SELECT max(auditoria_id) FROM borrados)
        > (SELECT hasta FROM auditoria_sujetos_archivados) THEN
        RAISE EXCEPTION 'auditoria_sujetos is append-only (only archived records may be deleted)';
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER auditoria_solo_archivados
    AFTER DELETE ON auditoria_sujetos REFERENCING OLD TABLE AS borrados
    FOR EACH STATEMENT EXECUTE FUNCTION auditoria_sujetos_solo_archivados();
