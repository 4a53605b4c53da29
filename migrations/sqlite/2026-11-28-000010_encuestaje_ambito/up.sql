-- A municipality asks for surveys in its own comuna for anyone who comes to it (a person who
-- moved asks where they now live), and what the registry holds about a person of another
-- comuna is not its to know: such a request is made alike for every RUN, known or not
-- (src/ops/encuestaje/solicitud.rs). So:
-- - a request may name a RUN the registry does not hold (the survey of an unknown person is
--   refused when it is recorded, PERSONA_NO_ENCUESTABLE): no foreign key to personas, the
--   RUN's range checked instead;
-- - one open request per person and comuna, no longer per person: a refusal caused by another
--   comuna's request (ENCUESTAJE_EN_CURSO) would tell that comuna's business.
-- SQLite cannot drop a foreign key: both tables are rebuilt (events first, as they refer to
-- requests; foreign keys stay on, so every copied row is checked again).
-- Keep in step with migrations/postgres/2026-11-28-000010_encuestaje_ambito and the tables of
-- 2026-11-28-000004_encuestajes.

CREATE TEMP TABLE encuestajes_copia AS SELECT * FROM encuestajes;
CREATE TEMP TABLE encuestaje_eventos_copia AS SELECT * FROM encuestaje_eventos;
DROP TABLE encuestaje_eventos;
DROP TABLE encuestajes;

CREATE TABLE encuestajes (
    id TEXT PRIMARY KEY NOT NULL,
    run INTEGER NOT NULL CHECK (run BETWEEN 1 AND 99999999),
    cut TEXT NOT NULL REFERENCES comunas (cut),
    convenio TEXT NOT NULL,
    estado TEXT NOT NULL CHECK (estado IN
        ('solicitada', 'visita_programada', 'visita_fallida', 'encuestada', 'anulada')),
    visitas_fallidas INTEGER NOT NULL CHECK (visitas_fallidas BETWEEN 0 AND 2),
    fecha_solicitud DATE NOT NULL,
    fecha_vencimiento DATE NOT NULL,
    fecha_visita DATE,
    motivo_anulacion TEXT,
    folio INTEGER REFERENCES fichas (folio),
    puntaje INTEGER CHECK (puntaje BETWEEN 0 AND 20000),
    fecha_aplicacion DATE,
    version INTEGER NOT NULL,
    creada_us BIGINT NOT NULL,
    actualizada_us BIGINT NOT NULL
);
CREATE INDEX encuestajes_cola ON encuestajes (cut, estado, fecha_vencimiento);
-- At most one open request per person and comuna (ENCUESTAJE_EN_CURSO).
CREATE UNIQUE INDEX encuestajes_abierta ON encuestajes (run, cut)
    WHERE estado IN ('solicitada', 'visita_programada', 'visita_fallida');

CREATE TABLE encuestaje_eventos (
    encuestaje_id TEXT NOT NULL REFERENCES encuestajes (id),
    secuencia INTEGER NOT NULL,
    evento TEXT NOT NULL,
    estado TEXT NOT NULL,
    fecha DATE,
    motivo TEXT,
    convenio TEXT NOT NULL,
    ts_us BIGINT NOT NULL,
    PRIMARY KEY (encuestaje_id, secuencia)
);

INSERT INTO encuestajes SELECT * FROM encuestajes_copia;
INSERT INTO encuestaje_eventos SELECT * FROM encuestaje_eventos_copia;
DROP TABLE encuestajes_copia;
DROP TABLE encuestaje_eventos_copia;
