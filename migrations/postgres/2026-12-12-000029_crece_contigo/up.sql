-- Chile Crece Contigo (docs/crece_contigo.md): the follow-up (seguimiento) of a gestante from her
-- entry to prenatal control through her child's first years, its controls, its risk alerts and
-- the referrals (derivaciones) to health, education and the municipality. `cut` is the comuna
-- whose scope decides who may see the follow-up and its referrals.
-- Keep in step with migrations/sqlite/2026-12-12-000029_crece_contigo (same tables and columns).

CREATE TABLE chcc_seguimientos (
    id TEXT PRIMARY KEY NOT NULL,
    run_gestante INTEGER NOT NULL REFERENCES personas (run),
    run_nino INTEGER REFERENCES personas (run),
    cut TEXT NOT NULL REFERENCES comunas (cut),
    estado TEXT NOT NULL CHECK (estado IN ('gestacion', 'nino', 'egresado')),
    fecha_ingreso DATE NOT NULL,
    semanas_ingreso INTEGER NOT NULL CHECK (semanas_ingreso BETWEEN 1 AND 42),
    fecha_probable_parto DATE NOT NULL,
    fecha_nacimiento DATE,
    motivo_egreso TEXT,
    convenio TEXT NOT NULL,
    version INTEGER NOT NULL,
    creado_us BIGINT NOT NULL,
    actualizado_us BIGINT NOT NULL
);
CREATE INDEX chcc_seguimientos_gestante ON chcc_seguimientos (run_gestante);
CREATE INDEX chcc_seguimientos_nino ON chcc_seguimientos (run_nino);
-- A gestante has one follow-up in gestation at a time in a comuna. One in another comuna is
-- that territory's and is never disclosed (SEGUIMIENTO_EN_CURSO speaks of this comuna only).
CREATE UNIQUE INDEX chcc_seguimientos_gestacion ON chcc_seguimientos (run_gestante, cut)
    WHERE estado = 'gestacion';

CREATE TABLE chcc_controles (
    seguimiento_id TEXT NOT NULL REFERENCES chcc_seguimientos (id),
    orden INTEGER NOT NULL,
    fecha DATE NOT NULL,
    tipo TEXT NOT NULL CHECK (tipo IN ('prenatal', 'nino_sano', 'desarrollo')),
    resultado TEXT NOT NULL CHECK (resultado IN ('normal', 'rezago', 'riesgo', 'retraso')),
    convenio TEXT NOT NULL,
    registrado_us BIGINT NOT NULL,
    PRIMARY KEY (seguimiento_id, orden)
);

CREATE TABLE chcc_alertas (
    seguimiento_id TEXT NOT NULL REFERENCES chcc_seguimientos (id),
    orden INTEGER NOT NULL,
    codigo TEXT NOT NULL,
    fecha DATE NOT NULL,
    estado TEXT NOT NULL CHECK (estado IN ('activa', 'resuelta')),
    convenio TEXT NOT NULL,
    registrado_us BIGINT NOT NULL,
    PRIMARY KEY (seguimiento_id, orden)
);

CREATE TABLE chcc_derivaciones (
    id TEXT PRIMARY KEY NOT NULL,
    seguimiento_id TEXT NOT NULL REFERENCES chcc_seguimientos (id),
    alerta TEXT,
    sector_destino TEXT NOT NULL CHECK (sector_destino IN ('salud', 'educacion', 'municipio')),
    prestacion TEXT NOT NULL,
    estado TEXT NOT NULL CHECK (estado IN ('enviada', 'recibida', 'atendida', 'rechazada')),
    fecha DATE NOT NULL,
    fecha_respuesta DATE,
    motivo_respuesta TEXT,
    convenio_origen TEXT NOT NULL,
    convenio_respuesta TEXT,
    version INTEGER NOT NULL,
    registrado_us BIGINT NOT NULL,
    actualizado_us BIGINT NOT NULL
);
CREATE INDEX chcc_derivaciones_bandeja ON chcc_derivaciones (sector_destino, estado);
CREATE INDEX chcc_derivaciones_seguimiento ON chcc_derivaciones (seguimiento_id);
