DELETE FROM dci_transacciones WHERE tipo <> 'search';
CREATE TABLE dci_transacciones_vieja (
    convenio TEXT NOT NULL,
    correlation_id TEXT NOT NULL,
    transaction_id TEXT NOT NULL,
    tipo TEXT NOT NULL CHECK (tipo IN ('search')),
    respuestas TEXT NOT NULL,
    registrada_us BIGINT NOT NULL,
    PRIMARY KEY (convenio, correlation_id)
);
INSERT INTO dci_transacciones_vieja
    SELECT convenio, correlation_id, transaction_id, tipo, respuestas, registrada_us
    FROM dci_transacciones;
DROP TABLE dci_transacciones;
ALTER TABLE dci_transacciones_vieja RENAME TO dci_transacciones;
CREATE INDEX dci_transacciones_transaction ON dci_transacciones (convenio, transaction_id, registrada_us);
ALTER TABLE suscripciones DROP COLUMN registro_dci;
