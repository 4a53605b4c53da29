-- Back to the append-only guards of 000002/000009. Records already archived stay out of the
-- database (in their files): `siis audit verify` then finds the chain starting after them, and
-- fails, until they are put back.

DROP TRIGGER indice.auditoria_sujetos_solo_insercion_d;
CREATE TRIGGER indice.auditoria_sujetos_solo_insercion_d BEFORE DELETE ON auditoria_sujetos
BEGIN
    SELECT RAISE(ABORT, 'auditoria_sujetos is append-only');
END;
DROP TABLE indice.auditoria_sujetos_archivados;

DROP TRIGGER audit.auditoria_solo_insercion_d;
CREATE TRIGGER audit.auditoria_solo_insercion_d BEFORE DELETE ON auditoria
BEGIN
    SELECT RAISE(ABORT, 'auditoria is append-only');
END;
DROP TABLE audit.auditoria_archivos;
