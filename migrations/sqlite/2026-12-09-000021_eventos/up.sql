-- Keep in step with migrations/postgres/2026-12-09-000021_eventos.
-- The outbox (docs/eventos.md): one row per person per change the node applies that an agency
-- may subscribe to, written in the same transaction as the change, so that none is lost and
-- none is invented by a rollback. Not to be confused with hogar_eventos (a household's
-- history of upkeep) or encuestaje_eventos (a survey request's states).
-- The id is the order subscribers read in: AUTOINCREMENT so that an id is never reused once
-- old events are purged (a subscriber's cursor never meets an id twice).
CREATE TABLE eventos (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tipo TEXT NOT NULL CHECK (tipo IN ('defuncion', 'nacimiento', 'ficha_creada',
        'ficha_reemplazada', 'comuna_cambiada', 'beneficio_otorgado', 'beneficio_terminado')),
    -- The person it is about: the ordering key of deliveries.
    run INTEGER NOT NULL,
    -- Another person the event names (a birth's mother, a benefit's payee).
    run_relacionado INTEGER,
    hogar_id BIGINT,
    -- The comuna whose municipality may see it (the household's at the time); NULL: none.
    cut TEXT,
    -- JSON: what the event carries (its fields, projected per agreement on delivery).
    datos TEXT NOT NULL,
    -- What wrote it: 'lote' (a feed), 'encuestaje' (a survey), 'decreto' (a decree).
    origen TEXT NOT NULL CHECK (origen IN ('lote', 'encuestaje', 'decreto')),
    -- The batch id, the survey request id or the decree's folio.
    origen_id TEXT NOT NULL,
    registrado_us BIGINT NOT NULL
);
CREATE INDEX eventos_run ON eventos (run, id);
