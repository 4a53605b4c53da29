-- Keep in step with migrations/sqlite/2026-12-08-000020_decretos.
-- Decrees (EmitirDecreto): one per comuna, program and month, numbered per comuna and year
-- (the human "N° 15/2026"; the folio is random like a certificate's). The payload is the
-- signed content and its signature exactly as the PDF's QR code carries them; the lines are
-- the persons granted, whose SHA-256 the content names, kept so the PDF can be rendered again
-- and an online verification can check them against the signature.
CREATE TABLE decretos (
    folio TEXT PRIMARY KEY NOT NULL,
    cut TEXT NOT NULL,
    programa TEXT NOT NULL CHECK (programa IN ('SUF', 'PASIS', 'SAP')),
    periodo TEXT NOT NULL,
    anio INTEGER NOT NULL,
    numero INTEGER NOT NULL CHECK (numero >= 1),
    otorgadas INTEGER NOT NULL CHECK (otorgadas >= 0),
    lineas_sha256 TEXT NOT NULL,
    payload TEXT NOT NULL,
    convenio TEXT NOT NULL,
    usuario TEXT,
    emitido_us BIGINT NOT NULL,
    UNIQUE (cut, programa, periodo),
    UNIQUE (cut, anio, numero)
);
CREATE TABLE decreto_lineas (
    folio TEXT NOT NULL REFERENCES decretos (folio),
    orden INTEGER NOT NULL CHECK (orden >= 1),
    postulacion_id TEXT NOT NULL,
    run INTEGER NOT NULL,
    nombre TEXT NOT NULL,
    puntaje INTEGER,
    causantes INTEGER NOT NULL CHECK (causantes >= 1),
    monto BIGINT NOT NULL CHECK (monto >= 0),
    PRIMARY KEY (folio, orden)
);
CREATE INDEX decreto_lineas_run ON decreto_lineas (run);
CREATE INDEX decreto_lineas_postulacion ON decreto_lineas (postulacion_id);
-- The decree that granted a benefit (NULL: a provider's feed or the seed granted it).
ALTER TABLE beneficios ADD COLUMN decreto_folio TEXT;
