DROP INDEX dci_transacciones_transaction;
DROP TABLE dci_transacciones;
