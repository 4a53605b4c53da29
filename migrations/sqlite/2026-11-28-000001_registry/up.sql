-- The registry's core: territory reference, persons, households, fichas FPS and benefits.
-- Keep in step with migrations/postgres/2026-11-28-000001_registry (same tables and columns).

CREATE TABLE regiones (
    codigo TEXT PRIMARY KEY NOT NULL,
    nombre TEXT NOT NULL
);

CREATE TABLE comunas (
    cut TEXT PRIMARY KEY NOT NULL,
    nombre TEXT NOT NULL,
    provincia TEXT NOT NULL,
    region TEXT NOT NULL REFERENCES regiones (codigo)
);

CREATE TABLE personas (
    run INTEGER PRIMARY KEY NOT NULL CHECK (run BETWEEN 1 AND 99999999),
    nombres TEXT NOT NULL,
    apellido_paterno TEXT NOT NULL,
    apellido_materno TEXT NOT NULL,
    fecha_nacimiento DATE NOT NULL,
    sexo TEXT NOT NULL CHECK (sexo IN ('F', 'M')),
    nacionalidad TEXT NOT NULL,
    fecha_defuncion DATE
);

CREATE TABLE hogares (
    id INTEGER PRIMARY KEY NOT NULL,
    cut TEXT NOT NULL REFERENCES comunas (cut),
    direccion TEXT NOT NULL
);

CREATE TABLE integrantes (
    run INTEGER PRIMARY KEY NOT NULL REFERENCES personas (run),
    hogar_id INTEGER NOT NULL REFERENCES hogares (id),
    parentesco TEXT NOT NULL
);
CREATE INDEX integrantes_hogar ON integrantes (hogar_id);

CREATE TABLE fichas (
    folio INTEGER PRIMARY KEY NOT NULL,
    hogar_id INTEGER NOT NULL REFERENCES hogares (id),
    puntaje INTEGER NOT NULL CHECK (puntaje BETWEEN 0 AND 20000),
    fecha_aplicacion DATE NOT NULL,
    cut TEXT NOT NULL REFERENCES comunas (cut),
    estado TEXT NOT NULL CHECK (estado IN ('vigente', 'reemplazada', 'anulada'))
);
CREATE UNIQUE INDEX fichas_hogar_vigente ON fichas (hogar_id) WHERE estado = 'vigente';

CREATE TABLE beneficios (
    id INTEGER PRIMARY KEY NOT NULL,
    run INTEGER NOT NULL REFERENCES personas (run),
    programa TEXT NOT NULL,
    estado TEXT NOT NULL CHECK (estado IN ('vigente', 'suspendido', 'extinguido')),
    monto INTEGER NOT NULL CHECK (monto >= 0),
    fecha_inicio DATE NOT NULL,
    fecha_termino DATE,
    fuente TEXT NOT NULL
);
CREATE INDEX beneficios_run ON beneficios (run);
