-- Postulations to monetary benefits (SUF, PASIS, SAP) taken by the municipality of the
-- applicant's comuna, their causantes (SUF), the outcome of each automatic check per run
-- (corrida: a new one only when an outcome changed) and the cupos per comuna, program and year.
-- Keep in step with migrations/postgres/2026-12-08-000019_postulaciones (same tables and columns).

CREATE TABLE postulaciones (
    id TEXT PRIMARY KEY NOT NULL,
    programa TEXT NOT NULL CHECK (programa IN ('SUF', 'PASIS', 'SAP')),
    run INTEGER NOT NULL REFERENCES personas (run),
    cut TEXT NOT NULL REFERENCES comunas (cut),
    convenio TEXT NOT NULL,
    usuario TEXT,
    estado TEXT NOT NULL CHECK (estado IN ('postulada', 'verificada', 'rechazada', 'en_espera',
        'otorgada', 'desistida', 'anulada')),
    puntaje INTEGER CHECK (puntaje BETWEEN 0 AND 20000),
    fecha_postulacion DATE NOT NULL,
    decreto_folio TEXT,
    motivo_cierre TEXT,
    corrida INTEGER NOT NULL,
    version INTEGER NOT NULL,
    creada_us BIGINT NOT NULL,
    actualizada_us BIGINT NOT NULL
);
CREATE INDEX postulaciones_lista ON postulaciones (cut, programa, estado);
-- One open postulation per person and program in a comuna: a second one there is refused
-- (POSTULACION_EN_CURSO). One in another comuna is that comuna's and is never disclosed.
CREATE UNIQUE INDEX postulaciones_abierta ON postulaciones (run, programa, cut)
    WHERE estado IN ('postulada', 'verificada', 'rechazada', 'en_espera');

CREATE TABLE postulacion_causantes (
    postulacion_id TEXT NOT NULL REFERENCES postulaciones (id),
    orden INTEGER NOT NULL,
    run INTEGER NOT NULL REFERENCES personas (run),
    tipo TEXT NOT NULL CHECK (tipo IN ('menor', 'invalido', 'madre', 'gestante')),
    PRIMARY KEY (postulacion_id, orden),
    UNIQUE (postulacion_id, run)
);

CREATE TABLE postulacion_chequeos (
    postulacion_id TEXT NOT NULL REFERENCES postulaciones (id),
    corrida INTEGER NOT NULL,
    orden INTEGER NOT NULL,
    regla TEXT NOT NULL,
    cumple BOOLEAN NOT NULL,
    motivo TEXT NOT NULL,
    dato TEXT NOT NULL,
    ts_us BIGINT NOT NULL,
    PRIMARY KEY (postulacion_id, corrida, orden)
);

CREATE TABLE cupos (
    cut TEXT NOT NULL REFERENCES comunas (cut),
    programa TEXT NOT NULL CHECK (programa IN ('SUF', 'PASIS', 'SAP')),
    anio INTEGER NOT NULL CHECK (anio BETWEEN 2000 AND 2100),
    total INTEGER NOT NULL CHECK (total >= 0),
    fijado_por TEXT NOT NULL,
    ts_us BIGINT NOT NULL,
    PRIMARY KEY (cut, programa, anio)
);
