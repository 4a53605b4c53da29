-- Certificates issued by the node (EmitirCertificado): one row per folio. The payload is the
-- signed content and its signature exactly as carried by the PDF's QR code, so online
-- verification (/verificar/{folio}) checks the same bytes a holder has.
CREATE TABLE certificados (
    folio TEXT PRIMARY KEY NOT NULL,
    tipo TEXT NOT NULL,
    run INTEGER NOT NULL,
    convenio TEXT NOT NULL,
    emitido_us BIGINT NOT NULL,
    payload TEXT NOT NULL
);
CREATE INDEX certificados_run ON certificados (run);
