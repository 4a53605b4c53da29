-- Household upkeep (src/ops/hogar.rs): every change a municipality makes to a household (a
-- member added or removed, a change of address, a split) is one row of hogar_eventos, with its
-- reason and author; `hogares.version` guards concurrent events on one household, and
-- `fichas.revision` marks a ficha in force whose household changed since its survey.
-- Columns are only added (SQLite cannot change a CHECK or a key in place).
-- Keep in step with migrations/sqlite/2026-12-08-000018_hogar_eventos (same columns).

ALTER TABLE hogares ADD COLUMN version INTEGER NOT NULL DEFAULT 0;

-- NULL: not under review; otherwise the id of the hogar_eventos row that marked it.
ALTER TABLE fichas ADD COLUMN revision TEXT;

CREATE TABLE hogar_eventos (
    id TEXT PRIMARY KEY NOT NULL,
    hogar_id BIGINT NOT NULL REFERENCES hogares (id),
    -- The household's version after the event.
    secuencia INTEGER NOT NULL,
    -- `encuestar` is kept for the survey's own record of a household's composition.
    evento TEXT NOT NULL CHECK (evento IN ('encuestar', 'agregar_integrante',
        'quitar_integrante', 'cambiar_domicilio', 'dividir')),
    -- The member the event moved (agregar_integrante, quitar_integrante).
    run INTEGER REFERENCES personas (run),
    -- The household the event created (quitar_integrante, dividir).
    hogar_destino BIGINT REFERENCES hogares (id),
    -- JSON: what else the event carried (parentesco, direccion, runs, …).
    datos TEXT NOT NULL,
    motivo TEXT NOT NULL,
    convenio TEXT NOT NULL,
    -- The console user (their RUN) when the event came from the console.
    usuario TEXT,
    marca_revision INTEGER NOT NULL CHECK (marca_revision IN (0, 1)),
    ts_us BIGINT NOT NULL,
    UNIQUE (hogar_id, secuencia)
);
