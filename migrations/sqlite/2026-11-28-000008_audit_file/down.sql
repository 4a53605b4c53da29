-- Moves the audit log back into the registry file (the layout of migrations 000002 and 000003).

CREATE TABLE main.auditoria (
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
CREATE INDEX main.auditoria_convenio_ts ON auditoria (convenio, ts_us);

CREATE TABLE main.auditoria_sujetos (
    run INTEGER NOT NULL CHECK (run BETWEEN 1 AND 99999999),
    auditoria_id INTEGER NOT NULL REFERENCES auditoria (id),
    PRIMARY KEY (run, auditoria_id)
) WITHOUT ROWID;
CREATE INDEX main.auditoria_sujetos_registro ON auditoria_sujetos (auditoria_id);

INSERT INTO main.auditoria SELECT * FROM audit.auditoria ORDER BY id;
INSERT INTO main.auditoria_sujetos SELECT * FROM audit.auditoria_sujetos;
DROP TABLE audit.auditoria_sujetos;
DROP TABLE audit.auditoria;

CREATE TRIGGER main.auditoria_solo_insercion_u BEFORE UPDATE ON auditoria
BEGIN
    SELECT RAISE(ABORT, 'auditoria is append-only');
END;
CREATE TRIGGER main.auditoria_solo_insercion_d BEFORE DELETE ON auditoria
BEGIN
    SELECT RAISE(ABORT, 'auditoria is append-only');
END;
CREATE TRIGGER main.auditoria_sujetos_solo_insercion_u BEFORE UPDATE ON auditoria_sujetos
BEGIN
    SELECT RAISE(ABORT, 'auditoria_sujetos is append-only');
END;
CREATE TRIGGER main.auditoria_sujetos_solo_insercion_d BEFORE DELETE ON auditoria_sujetos
BEGIN
    SELECT RAISE(ABORT, 'auditoria_sujetos is append-only');
END;
