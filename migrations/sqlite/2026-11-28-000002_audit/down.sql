DROP TABLE auditoria_sujetos;
DROP TABLE auditoria;
