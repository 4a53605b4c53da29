-- Keep in step with migrations/sqlite/2026-12-09-000022_suscripciones.
-- Subscriptions to the outbox (docs/eventos.md): an agency's standing request to hear about
-- events of some kinds (optionally only about the RUNs of its list), each matching event
-- fanned out into entregas with a gap-free sequence per subscription, read by the agency
-- (pull) or sent to it (push).
CREATE TABLE suscripciones (
    -- A random UUID: the agency names it in every later request.
    id TEXT PRIMARY KEY NOT NULL,
    convenio TEXT NOT NULL,
    -- JSON list of event kinds (eventos.tipo).
    tipos TEXT NOT NULL,
    entrega TEXT NOT NULL CHECK (entrega IN ('push', 'pull')),
    -- Push only: one of the agreement's callbacks.
    url TEXT,
    formato TEXT NOT NULL CHECK (formato IN ('json', 'dci')),
    -- Whether only the RUNs of suscripcion_runs are of interest.
    con_lista BOOLEAN NOT NULL,
    estado TEXT NOT NULL CHECK (estado IN ('activa', 'cerrada')),
    -- The last secuencia given to one of its entregas.
    ultima_secuencia BIGINT NOT NULL DEFAULT 0,
    creada_us BIGINT NOT NULL,
    cerrada_us BIGINT,
    CHECK ((entrega = 'push') = (url IS NOT NULL))
);
CREATE INDEX suscripciones_convenio ON suscripciones (convenio, creada_us);

CREATE TABLE suscripcion_runs (
    suscripcion_id TEXT NOT NULL REFERENCES suscripciones (id),
    run INTEGER NOT NULL,
    PRIMARY KEY (suscripcion_id, run)
);
CREATE INDEX suscripcion_runs_run ON suscripcion_runs (run);

-- One row per event per subscription. Pull rows are 'disponible' until first read
-- ('entregada'); push rows go pendiente -> en_curso (claimed with a lease) -> entregada, or
-- muerta (dead letter) / descartada (by an operator). Closing the subscription, or an
-- agreement that no longer grants the kind, turns the rows not yet delivered 'revocada'.
CREATE TABLE entregas (
    suscripcion_id TEXT NOT NULL REFERENCES suscripciones (id),
    -- 1, 2, 3, ... per subscription, without gaps: the pull cursor.
    secuencia BIGINT NOT NULL,
    evento_id BIGINT NOT NULL,
    -- The event's person (the order of a push subscription's deliveries is per person).
    run INTEGER NOT NULL,
    estado TEXT NOT NULL CHECK (estado IN ('disponible', 'pendiente', 'en_curso', 'entregada',
        'muerta', 'descartada', 'revocada')),
    intentos INTEGER NOT NULL DEFAULT 0,
    -- Push: not before this time (the backoff).
    proximo_us BIGINT NOT NULL,
    -- Push: an 'en_curso' row whose lease is past is claimed again.
    lease_us BIGINT,
    ultimo_error TEXT,
    estado_http INTEGER,
    entregada_us BIGINT,
    PRIMARY KEY (suscripcion_id, secuencia),
    UNIQUE (suscripcion_id, evento_id)
) WITH (fillfactor = 80);  -- every row is updated at least once
CREATE INDEX entregas_pendientes ON entregas (proximo_us)
    WHERE estado IN ('pendiente', 'en_curso');
CREATE INDEX entregas_orden ON entregas (suscripcion_id, run, secuencia);

-- The fan-out cursor: every event up to `hasta` has its entregas.
CREATE TABLE despacho (
    id INTEGER PRIMARY KEY NOT NULL CHECK (id = 1),
    hasta BIGINT NOT NULL
);
INSERT INTO despacho (id, hasta) VALUES (1, 0);
