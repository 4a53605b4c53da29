ALTER TABLE auditoria DROP COLUMN omitidos;
ALTER TABLE auditoria DROP COLUMN personas;
