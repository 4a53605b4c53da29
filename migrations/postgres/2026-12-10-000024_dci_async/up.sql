-- Keep in step with migrations/sqlite/2026-12-10-000024_dci_async.
-- DCI subscribe, unsubscribe and async search (docs/dci.md).
-- The record a DCI subscription asked its notifications as (notify_record_type); NULL for a
-- subscription made over REST or SOAP.
ALTER TABLE suscripciones ADD COLUMN registro_dci TEXT CHECK (registro_dci IN ('Member', 'Group'));

-- dci_transacciones now keeps subscribe and unsubscribe messages too, and an async search's
-- answer.
ALTER TABLE dci_transacciones DROP CONSTRAINT dci_transacciones_tipo_check;
ALTER TABLE dci_transacciones ADD CONSTRAINT dci_transacciones_tipo_check
    CHECK (tipo IN ('search', 'subscribe', 'unsubscribe'));
-- An async search only (JSON): the search_response items as answered, with their records
-- (already projected), the persons they name and the fields they disclose, so that a status
-- read is audited and charged as the disclosure it is. NULL otherwise.
ALTER TABLE dci_transacciones ADD COLUMN resultado TEXT;
