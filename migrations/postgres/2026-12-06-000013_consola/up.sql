-- The web console (src/consola/): its users, their sessions, and the official an audit record
-- names. Keep in step with migrations/sqlite/2026-12-06-000013_consola.

-- The console user (an official, or a person about themself) a request was made by: the RUN
-- they signed in with. NULL for a machine call (the client certificate names who asked).
-- Covered by the record's hash when present (src/audit/row.rs), so older records still verify.
ALTER TABLE auditoria ADD COLUMN usuario TEXT;

-- Officials who may sign in to the console: each acts under one agreement with one role, which
-- narrows what the agreement grants (src/catalog.rs, `Rol`).
CREATE TABLE consola_usuarios (
    run INTEGER PRIMARY KEY NOT NULL,
    convenio TEXT NOT NULL,
    rol TEXT NOT NULL CHECK (rol IN ('atencion', 'encuestador', 'jefe_comunal', 'supervisor', 'operador')),
    alta_us BIGINT NOT NULL
);

-- Console sessions, kept by the node: the browser's cookie holds only a random key, stored
-- here as its SHA-256 (a copy of this table opens no session). A session begins anonymous
-- (`login` holds the pending sign-in's state, nonce and PKCE verifier) and is replaced by a
-- new one at sign-in. Sessions are not exported (`siis export`): they are worth nothing
-- elsewhere.
CREATE TABLE consola_sesiones (
    id TEXT PRIMARY KEY NOT NULL,
    usuario INTEGER,
    -- 'persona' for a person about themself, else the official's role.
    rol TEXT,
    convenio TEXT,
    nombre TEXT,
    csrf TEXT NOT NULL,
    login TEXT,
    creada_us BIGINT NOT NULL,
    expira_us BIGINT NOT NULL
);
CREATE INDEX consola_sesiones_expira ON consola_sesiones (expira_us);
