ALTER TABLE audit.auditoria DROP COLUMN omitidos;
ALTER TABLE audit.auditoria DROP COLUMN personas;
