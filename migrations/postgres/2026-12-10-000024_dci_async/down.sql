ALTER TABLE dci_transacciones DROP COLUMN resultado;
DELETE FROM dci_transacciones WHERE tipo <> 'search';
ALTER TABLE dci_transacciones DROP CONSTRAINT dci_transacciones_tipo_check;
ALTER TABLE dci_transacciones ADD CONSTRAINT dci_transacciones_tipo_check CHECK (tipo IN ('search'));
ALTER TABLE suscripciones DROP COLUMN registro_dci;
