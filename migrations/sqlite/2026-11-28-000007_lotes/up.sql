-- Provider feeds (lotes): one row per batch applied, and the provenance of every value a
-- batch set. Keep in step with migrations/postgres/2026-11-28-000007_lotes.

-- A row exists only for a batch that was applied: it is written in the same transaction as the
-- batch's records, so a crash leaves neither. UNIQUE (convenio, clave) makes a batch apply once.
CREATE TABLE lotes (
    id INTEGER PRIMARY KEY NOT NULL,
    convenio TEXT NOT NULL,
    tipo TEXT NOT NULL,
    -- The provider's own batch id, or 'sha256:' and the content's hash when it gave none.
    clave TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    formato TEXT NOT NULL,
    transporte TEXT NOT NULL,
    id_mensaje TEXT,
    leidos BIGINT NOT NULL,
    aplicados BIGINT NOT NULL,
    rechazados BIGINT NOT NULL,
    -- The report sent back to the provider (JSON), returned again when the batch is resent.
    informe TEXT NOT NULL,
    recibido_us BIGINT NOT NULL,
    aplicado_us BIGINT NOT NULL,
    UNIQUE (convenio, clave)
);

-- Which batch set which values of a person: one row per record applied, with the values the
-- record carried (JSON). The fields a row set follow from its batch's tipo.
CREATE TABLE procedencia (
    run INTEGER NOT NULL,
    lote_id BIGINT NOT NULL REFERENCES lotes (id),
    valores TEXT NOT NULL,
    PRIMARY KEY (run, lote_id)
) WITHOUT ROWID;
