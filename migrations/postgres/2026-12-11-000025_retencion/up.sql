-- Keep in step with migrations/sqlite/2026-12-11-000025_retencion.
-- Retention (docs/eventos.md, "Retention"; src/ops/retencion.rs).
-- An event is purged only once no entregas row names it: this index answers that per event.
CREATE INDEX entregas_evento ON entregas (evento_id);
-- The async DCI answers still kept, oldest first: what the purge of resultado walks.
CREATE INDEX dci_transacciones_resultado ON dci_transacciones (registrada_us)
    WHERE resultado IS NOT NULL;
