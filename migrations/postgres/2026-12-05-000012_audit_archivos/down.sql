-- Back to the append-only guards of 000002. Records already archived stay out of the database
-- (in their files): `siis audit verify` then finds the chain starting after them, and fails,
-- until they are put back.

DROP TRIGGER auditoria_solo_archivados ON auditoria_sujetos;
DROP FUNCTION auditoria_sujetos_solo_archivados();
DROP TABLE auditoria_sujetos_archivados;
DROP FUNCTION auditoria_sujetos_archivados_sube();
DROP TRIGGER auditoria_solo_archivados ON auditoria;
DROP FUNCTION auditoria_solo_archivados();
DROP TRIGGER auditoria_solo_insercion ON auditoria_sujetos;
CREATE TRIGGER auditoria_solo_insercion
    BEFORE UPDATE OR DELETE OR TRUNCATE ON auditoria_sujetos
    FOR EACH STATEMENT EXECUTE FUNCTION auditoria_solo_insercion();
DROP TRIGGER auditoria_solo_insercion ON auditoria;
CREATE TRIGGER auditoria_solo_insercion
    BEFORE UPDATE OR DELETE OR TRUNCATE ON auditoria
    FOR EACH STATEMENT EXECUTE FUNCTION auditoria_solo_insercion();
DROP TABLE auditoria_archivos;
DROP FUNCTION auditoria_archivos_seguidos();
