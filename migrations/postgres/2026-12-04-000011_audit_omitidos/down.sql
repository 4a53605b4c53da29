ALTER TABLE auditoria DROP COLUMN omitidos;
