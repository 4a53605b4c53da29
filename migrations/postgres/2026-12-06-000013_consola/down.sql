DROP TABLE consola_sesiones;
DROP TABLE consola_usuarios;
ALTER TABLE auditoria DROP COLUMN usuario;
