ALTER TABLE auditoria DROP COLUMN nodo;
