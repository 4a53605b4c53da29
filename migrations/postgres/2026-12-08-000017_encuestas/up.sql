-- Surveys as household records (issue 22): the scoring models a ficha may name, the
-- questionnaire behind each surveyed ficha, one row per member, frozen with its folio.
-- Keep in step with migrations/sqlite/2026-12-08-000017_encuestas.

-- Every scoring model (conf/modelos/<nombre>.toml) the node has used, with the SHA-256 of its
-- file: a file whose digest differs from the one recorded for its name is refused at start-up,
-- so a changed model must take a new name and old fichas are never rescored silently.
CREATE TABLE modelos_puntaje (
    nombre TEXT PRIMARY KEY NOT NULL,
    sha256 TEXT NOT NULL,
    registrado_us BIGINT NOT NULL
);

-- The model that computed a ficha's score (NULL: a score received from a feed or the seed,
-- with no facts behind it) and who recorded the survey (the agreement, or agreement/user).
ALTER TABLE fichas ADD COLUMN modelo TEXT;
ALTER TABLE fichas ADD COLUMN encuestador TEXT;

-- One questionnaire per ficha that a survey created.
CREATE TABLE encuestas (
    folio BIGINT PRIMARY KEY NOT NULL REFERENCES fichas (folio),
    encuestaje_id TEXT NOT NULL REFERENCES encuestajes (id),
    modelo TEXT NOT NULL REFERENCES modelos_puntaje (nombre),
    zona TEXT NOT NULL CHECK (zona IN ('urbana', 'rural')),
    direccion TEXT NOT NULL,
    tenencia TEXT NOT NULL CHECK (tenencia IN ('propia', 'arrendada', 'cedida', 'otra')),
    agua TEXT NOT NULL CHECK (agua IN ('red_publica', 'pozo', 'camion', 'otra')),
    saneamiento TEXT NOT NULL
        CHECK (saneamiento IN ('alcantarillado', 'fosa_septica', 'pozo_negro', 'ninguno')),
    piezas INTEGER NOT NULL CHECK (piezas BETWEEN 1 AND 30),
    convenio TEXT NOT NULL,
    usuario TEXT,
    creada_us BIGINT NOT NULL
);

-- The members as surveyed, in questionnaire order (orden from 0: the index that error paths
-- such as integrantes[2].ingresoTrabajo name). Incomes in CLP a month; edad in whole years on
-- the date of application, frozen so that a later correction of a birth date never changes
-- what the score was computed from.
CREATE TABLE encuesta_integrantes (
    folio BIGINT NOT NULL REFERENCES encuestas (folio),
    orden INTEGER NOT NULL CHECK (orden >= 0),
    run INTEGER NOT NULL,
    parentesco TEXT NOT NULL,
    edad INTEGER NOT NULL CHECK (edad >= 0),
    escolaridad_anios INTEGER NOT NULL CHECK (escolaridad_anios >= 0),
    asiste_educacion BOOLEAN NOT NULL,
    salud TEXT NOT NULL CHECK (salud IN ('ninguna', 'cronica', 'discapacidad_leve',
        'discapacidad_moderada', 'discapacidad_severa')),
    actividad TEXT NOT NULL CHECK (actividad IN ('ocupado', 'desocupado', 'inactivo')),
    ingreso_trabajo BIGINT NOT NULL CHECK (ingreso_trabajo >= 0),
    ingreso_pensiones BIGINT NOT NULL CHECK (ingreso_pensiones >= 0),
    ingreso_otros BIGINT NOT NULL CHECK (ingreso_otros >= 0),
    PRIMARY KEY (folio, orden),
    UNIQUE (folio, run)
);
