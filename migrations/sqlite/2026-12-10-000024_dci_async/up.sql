-- Keep in step with migrations/postgres/2026-12-10-000024_dci_async.
-- DCI subscribe, unsubscribe and async search (docs/dci.md).
-- The record a DCI subscription asked its notifications as (notify_record_type); NULL for a
-- subscription made over REST or SOAP.
ALTER TABLE suscripciones ADD COLUMN registro_dci TEXT CHECK (registro_dci IN ('Member', 'Group'));

-- dci_transacciones now keeps subscribe and unsubscribe messages too, and an async search's
-- answer (SQLite cannot widen a CHECK: the table is rebuilt).
CREATE TABLE dci_transacciones_nueva (
    convenio TEXT NOT NULL,
    correlation_id TEXT NOT NULL,
    transaction_id TEXT NOT NULL,
    -- The kind of transaction (txn_type).
    tipo TEXT NOT NULL CHECK (tipo IN ('search', 'subscribe', 'unsubscribe')),
    -- JSON: each item's reference_id, status (succ or rjct), reason code and, for a
    -- subscription, its SubscriptionInfo (never its RUN list).
    respuestas TEXT NOT NULL,
    registrada_us BIGINT NOT NULL,
    -- An async search only (JSON): the search_response items as answered, with their
    -- records (already projected), the persons they name and the fields they disclose, so
    -- that a status read is audited and charged as the disclosure it is. NULL otherwise.
    resultado TEXT,
    PRIMARY KEY (convenio, correlation_id)
);
INSERT INTO dci_transacciones_nueva
    (convenio, correlation_id, transaction_id, tipo, respuestas, registrada_us, resultado)
    SELECT convenio, correlation_id, transaction_id, tipo, respuestas, registrada_us, NULL
    FROM dci_transacciones;
DROP TABLE dci_transacciones;
ALTER TABLE dci_transacciones_nueva RENAME TO dci_transacciones;
CREATE INDEX dci_transacciones_transaction ON dci_transacciones (convenio, transaction_id, registrada_us);
