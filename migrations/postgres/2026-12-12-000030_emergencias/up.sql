-- The emergency registry (docs/emergencias.md): emergencies the operator declares with their
-- affected comunas, the affected households each municipality registers (origin an affected
-- comuna, destination where they are sheltered) and the aid delivered to them.
-- Keep in step with migrations/sqlite/2026-12-12-000030_emergencias (same tables and columns).

CREATE TABLE emergencias (
    id TEXT PRIMARY KEY NOT NULL,
    nombre TEXT NOT NULL,
    tipo TEXT NOT NULL CHECK (tipo IN ('erupcion', 'terremoto', 'tsunami', 'incendio',
        'inundacion', 'otra')),
    fecha_inicio DATE NOT NULL,
    fecha_termino DATE,
    estado TEXT NOT NULL CHECK (estado IN ('activa', 'cerrada')),
    declarada_por TEXT NOT NULL,
    cerrada_por TEXT,
    declarada_us BIGINT NOT NULL,
    cerrada_us BIGINT,
    -- Raised by every write under the emergency: a write and the close take the same row, so
    -- no write lands after the close has committed.
    version INTEGER NOT NULL
);

CREATE TABLE emergencia_comunas (
    emergencia_id TEXT NOT NULL REFERENCES emergencias (id),
    cut TEXT NOT NULL REFERENCES comunas (cut),
    PRIMARY KEY (emergencia_id, cut)
);

CREATE TABLE emergencia_hogares (
    id TEXT PRIMARY KEY NOT NULL,
    emergencia_id TEXT NOT NULL REFERENCES emergencias (id),
    run_jefe INTEGER NOT NULL,
    hogar_id BIGINT,
    integrantes INTEGER NOT NULL CHECK (integrantes BETWEEN 1 AND 30),
    cut_origen TEXT NOT NULL,
    cut_destino TEXT NOT NULL REFERENCES comunas (cut),
    alojamiento TEXT NOT NULL CHECK (alojamiento IN ('albergue', 'familiares', 'propia',
        'arriendo', 'otro')),
    dano TEXT NOT NULL CHECK (dano IN ('sin_dano', 'menor', 'mayor', 'inhabitable',
        'destruida')),
    -- A comma-separated set of agua, alimentos, abrigo, alojamiento, salud, enseres, vivienda.
    necesidades TEXT NOT NULL,
    convenio TEXT NOT NULL,
    registrado_us BIGINT NOT NULL,
    -- One record of a head per emergency and agreement: another agreement's record of the same
    -- head may lie outside this one's scope, and must not be disclosed by a refusal.
    UNIQUE (emergencia_id, run_jefe, convenio),
    -- The origin is one of the emergency's affected comunas.
    FOREIGN KEY (emergencia_id, cut_origen) REFERENCES emergencia_comunas (emergencia_id, cut)
);
CREATE INDEX emergencia_hogares_origen ON emergencia_hogares (emergencia_id, cut_origen);
CREATE INDEX emergencia_hogares_destino ON emergencia_hogares (emergencia_id, cut_destino);

CREATE TABLE emergencia_ayudas (
    id TEXT PRIMARY KEY NOT NULL,
    registro_id TEXT NOT NULL REFERENCES emergencia_hogares (id),
    tipo TEXT NOT NULL CHECK (tipo IN ('alimentos', 'agua', 'abrigo', 'kit_higiene',
        'colchones', 'enseres', 'bono', 'subsidio_arriendo', 'vivienda_emergencia')),
    cantidad INTEGER NOT NULL CHECK (cantidad BETWEEN 1 AND 1000),
    fecha DATE NOT NULL,
    convenio TEXT NOT NULL,
    registrada_us BIGINT NOT NULL
);
CREATE INDEX emergencia_ayudas_registro ON emergencia_ayudas (registro_id);
