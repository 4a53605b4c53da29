-- Chile Solidario (Ley 19.949; docs/chile_solidario.md): a household's participation in the
-- Puente or Vínculos program, taken by the municipality of its comuna; the 53 condiciones
-- mínimas it works on (catalogue in src/modulos/chile_solidario/condiciones.csv), the Apoyo
-- Familiar's sessions and the schedule of the bono de protección (and de egreso).
-- Keep in step with migrations/postgres/2026-12-12-000028_chile_solidario (same tables and columns).

CREATE TABLE chs_participaciones (
    id TEXT PRIMARY KEY NOT NULL,
    hogar_id BIGINT NOT NULL REFERENCES hogares (id),
    run_titular INTEGER NOT NULL REFERENCES personas (run),
    cut TEXT NOT NULL REFERENCES comunas (cut),
    programa TEXT NOT NULL CHECK (programa IN ('puente', 'vinculos')),
    estado TEXT NOT NULL CHECK (estado IN ('apoyo', 'egresada', 'interrumpida')),
    fecha_ingreso DATE NOT NULL,
    fecha_egreso DATE,
    motivo_egreso TEXT CHECK (motivo_egreso IN ('cumplimiento', 'no_cumplimiento', 'renuncia',
        'traslado', 'fallecimiento')),
    apoyo_familiar TEXT NOT NULL,
    convenio TEXT NOT NULL,
    usuario TEXT,
    version INTEGER NOT NULL,
    creada_us BIGINT NOT NULL,
    actualizada_us BIGINT NOT NULL
);
-- One open participation per household: a second one is refused (PARTICIPACION_EN_CURSO).
CREATE UNIQUE INDEX chs_participaciones_abierta ON chs_participaciones (hogar_id)
    WHERE estado = 'apoyo';
CREATE INDEX chs_participaciones_hogar ON chs_participaciones (hogar_id);
CREATE INDEX chs_participaciones_lista ON chs_participaciones (cut, programa, estado);

CREATE TABLE chs_condiciones (
    participacion_id TEXT NOT NULL REFERENCES chs_participaciones (id),
    codigo TEXT NOT NULL,
    estado TEXT NOT NULL CHECK (estado IN ('a_trabajar', 'cumplida', 'no_corresponde')),
    fecha DATE,
    PRIMARY KEY (participacion_id, codigo)
);

CREATE TABLE chs_sesiones (
    participacion_id TEXT NOT NULL REFERENCES chs_participaciones (id),
    numero INTEGER NOT NULL CHECK (numero >= 1),
    fecha DATE NOT NULL,
    tipo TEXT NOT NULL CHECK (tipo IN ('domiciliaria', 'grupal')),
    convenio TEXT NOT NULL,
    usuario TEXT,
    registrada_us BIGINT NOT NULL,
    PRIMARY KEY (participacion_id, numero)
);

CREATE TABLE chs_bonos (
    participacion_id TEXT NOT NULL REFERENCES chs_participaciones (id),
    tipo TEXT NOT NULL CHECK (tipo IN ('proteccion', 'egreso')),
    mes INTEGER NOT NULL CHECK (mes BETWEEN 1 AND 36),
    periodo TEXT NOT NULL,
    monto INTEGER NOT NULL CHECK (monto >= 0),
    estado TEXT NOT NULL CHECK (estado IN ('programado', 'pagado', 'suspendido')),
    pagado_us BIGINT,
    PRIMARY KEY (participacion_id, tipo, mes)
);
