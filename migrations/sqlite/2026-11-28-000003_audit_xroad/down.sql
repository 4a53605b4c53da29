ALTER TABLE auditoria DROP COLUMN xroad;
