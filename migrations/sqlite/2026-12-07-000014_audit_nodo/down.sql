ALTER TABLE audit.auditoria DROP COLUMN nodo;
