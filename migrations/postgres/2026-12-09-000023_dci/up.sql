-- Keep in step with migrations/sqlite/2026-12-09-000023_dci.
-- What the node keeps of each DCI (spdci) search it answered (docs/dci.md), so that the
-- agreement that sent it can ask its status (sync/txn/status). Only statuses: never a record,
-- a RUN or a field of the answer. An agreement reads only its own rows.
CREATE TABLE dci_transacciones (
    convenio TEXT NOT NULL,
    -- The broker's message id of the search (its header.message_id, unique per agreement
    -- within the replay window): the answer's correlation_id.
    correlation_id TEXT NOT NULL,
    -- The sender's transaction_id, as it sent it.
    transaction_id TEXT NOT NULL,
    -- The kind of transaction (txn_type): 'search' for now.
    tipo TEXT NOT NULL CHECK (tipo IN ('search')),
    -- JSON: each search_request item's reference_id, status (succ or rjct) and reason code.
    respuestas TEXT NOT NULL,
    registrada_us BIGINT NOT NULL,
    PRIMARY KEY (convenio, correlation_id)
);
CREATE INDEX dci_transacciones_transaction ON dci_transacciones (convenio, transaction_id, registrada_us);
