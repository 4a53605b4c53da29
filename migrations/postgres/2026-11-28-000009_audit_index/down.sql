DROP TABLE auditoria_sujetos_hasta;
