-- The audit log: one record per request, allowed or refused, hash-chained in id order.
-- Keep in step with migrations/sqlite/2026-11-28-000002_audit (same tables and columns).
-- ids are assigned by the node's single audit writer (1, 2, 3, … in chain order).

CREATE TABLE auditoria (
    id BIGINT PRIMARY KEY NOT NULL CHECK (id >= 1),
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
    hash TEXT NOT NULL
);
-- Daily quotas are restored at start-up by counting an agreement's records since midnight.
CREATE INDEX auditoria_convenio_ts ON auditoria (convenio, ts_us);

-- "Who looked at RUN X": one row per (RUN, record), read newest first.
CREATE TABLE auditoria_sujetos (
    run INTEGER NOT NULL CHECK (run BETWEEN 1 AND 99999999),
    auditoria_id BIGINT NOT NULL REFERENCES auditoria (id),
    PRIMARY KEY (run, auditoria_id)
);
-- Verification compares each record's sujetos with its rows here, page by page.
CREATE INDEX auditoria_sujetos_registro ON auditoria_sujetos (auditoria_id);

-- Append-only: stop accidental changes. Deliberate tampering is caught by the hash chain.
CREATE FUNCTION auditoria_solo_insercion() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only', TG_TABLE_NAME;
END
$$;
CREATE TRIGGER auditoria_solo_insercion
    BEFORE UPDATE OR DELETE OR TRUNCATE ON auditoria
    FOR EACH STATEMENT EXECUTE FUNCTION auditoria_solo_insercion();
CREATE TRIGGER auditoria_solo_insercion
    BEFORE UPDATE OR DELETE OR TRUNCATE ON auditoria_sujetos
    FOR EACH STATEMENT EXECUTE FUNCTION auditoria_solo_insercion();
