-- Puts the by-person index back into the audit file (the layout of migration 000008). Only the
-- rows already indexed move: stop the node first (it indexes everything on shutdown) and check
-- that `siis audit verify` reports no record waiting for the index.

CREATE TABLE audit.auditoria_sujetos (
    run INTEGER NOT NULL CHECK (run BETWEEN 1 AND 99999999),
    auditoria_id INTEGER NOT NULL REFERENCES auditoria (id),
    PRIMARY KEY (run, auditoria_id)
) WITHOUT ROWID;
CREATE INDEX audit.auditoria_sujetos_registro ON auditoria_sujetos (auditoria_id);
INSERT INTO audit.auditoria_sujetos SELECT run, auditoria_id FROM indice.auditoria_sujetos;
DROP TABLE indice.auditoria_sujetos;
DROP TABLE indice.auditoria_sujetos_hasta;

CREATE TRIGGER audit.auditoria_sujetos_solo_insercion_u BEFORE UPDATE ON auditoria_sujetos
BEGIN
    SELECT RAISE(ABORT, 'auditoria_sujetos is append-only');
END;
CREATE TRIGGER audit.auditoria_sujetos_solo_insercion_d BEFORE DELETE ON auditoria_sujetos
BEGIN
    SELECT RAISE(ABORT, 'auditoria_sujetos is append-only');
END;
