DROP INDEX dci_transacciones_callback;
ALTER TABLE dci_transacciones DROP COLUMN callback_error;
ALTER TABLE dci_transacciones DROP COLUMN callback_estado_http;
ALTER TABLE dci_transacciones DROP COLUMN callback_lease_us;
ALTER TABLE dci_transacciones DROP COLUMN callback_proximo_us;
ALTER TABLE dci_transacciones DROP COLUMN callback_intentos;
ALTER TABLE dci_transacciones DROP COLUMN callback_estado;
ALTER TABLE dci_transacciones DROP COLUMN callback_url;
