DROP TABLE consola_sesiones;
DROP TABLE consola_usuarios;
ALTER TABLE audit.auditoria DROP COLUMN usuario;
