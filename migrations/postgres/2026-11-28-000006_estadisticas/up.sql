-- Territorial statistics: the raw counts per comuna and quintile that EstadisticasTerritoriales
-- answers from (suppression is applied when answering, never stored), and when they were
-- computed. Recomputed by `siis estadisticas recalcular`, after `siis seed`, and by the node on
-- its interval (estadisticas.recalcular_cada_secs). Keep in step with migrations/sqlite/2026-11-28-000006_estadisticas.

CREATE TABLE estadisticas_celdas (
    cut TEXT NOT NULL REFERENCES comunas (cut),
    quintil INTEGER NOT NULL CHECK (quintil BETWEEN 1 AND 5),
    personas BIGINT NOT NULL CHECK (personas >= 0),
    hogares BIGINT NOT NULL CHECK (hogares >= 0),
    fichas BIGINT NOT NULL CHECK (fichas >= 0),
    suma_puntaje BIGINT NOT NULL CHECK (suma_puntaje >= 0),
    PRIMARY KEY (cut, quintil)
);

-- One row: when the counts above were computed (microseconds since the Unix epoch, UTC, taken
-- when the computation started) and how long it took.
CREATE TABLE estadisticas_calculo (
    id INTEGER PRIMARY KEY NOT NULL CHECK (id = 1),
    calculado_en_us BIGINT NOT NULL,
    duracion_ms BIGINT NOT NULL
);
