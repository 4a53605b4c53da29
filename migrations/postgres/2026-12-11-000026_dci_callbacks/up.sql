-- Keep in step with migrations/sqlite/2026-12-11-000026_dci_callbacks.
-- The on-search callback of an async DCI search (docs/dci.md, "Async search"): a search
-- asked with a registered header.sender_uri is sent there by the leader's callback worker,
-- retried with the push backoff until it is delivered or dead. NULL callback_estado: no
-- callback asked (a sync search, a subscribe, an async search without sender_uri).
ALTER TABLE dci_transacciones ADD COLUMN callback_url TEXT;
ALTER TABLE dci_transacciones ADD COLUMN callback_estado TEXT
    CHECK (callback_estado IN ('pendiente', 'en_curso', 'entregada', 'muerta', 'revocada'));
-- Attempts so far (each one admitted and audited, transport push).
ALTER TABLE dci_transacciones ADD COLUMN callback_intentos INTEGER NOT NULL DEFAULT 0;
-- When a pendiente callback is due; until when an en_curso one is its sender's.
ALTER TABLE dci_transacciones ADD COLUMN callback_proximo_us BIGINT;
ALTER TABLE dci_transacciones ADD COLUMN callback_lease_us BIGINT;
-- The receiver's last HTTP status and the last cause of failure (never a body or a person).
ALTER TABLE dci_transacciones ADD COLUMN callback_estado_http INTEGER;
ALTER TABLE dci_transacciones ADD COLUMN callback_error TEXT;
CREATE INDEX dci_transacciones_callback ON dci_transacciones (callback_estado, callback_proximo_us);
