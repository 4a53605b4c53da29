-- Back to one open request per person and a RUN the registry holds (fails if requests for
-- unknown RUNs, or two open requests of one person, were made since).

CREATE TEMP TABLE encuestajes_copia AS SELECT * FROM encuestajes;
CREATE TEMP TABLE encuestaje_eventos_copia AS SELECT * FROM encuestaje_eventos;
DROP TABLE encuestaje_eventos;
DROP TABLE encuestajes;

CREATE TABLE encuestajes (
    id TEXT PRIMARY KEY NOT NULL,
    run INTEGER NOT NULL REFERENCES personas (run),
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
-- At most one open request per person: a second one is refused (ENCUESTAJE_EN_CURSO).
CREATE UNIQUE INDEX encuestajes_abierta ON encuestajes (run)
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
