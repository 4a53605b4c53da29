ALTER TABLE audit.auditoria DROP COLUMN omitidos;
