DROP TABLE auditoria_sujetos;
DROP TABLE auditoria;
DROP FUNCTION auditoria_solo_insercion();
