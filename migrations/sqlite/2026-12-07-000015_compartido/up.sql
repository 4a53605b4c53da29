-- The tables several nodes share over PostgreSQL (`cluster.nodo`; see the PostgreSQL
-- migration of the same name). SQLite runs one node alone, whose limits and replay memory live
-- in its process: these stay empty, and exist so that both backends have the same tables.
CREATE TABLE replay (
    convenio   TEXT    NOT NULL,
    id_mensaje TEXT    NOT NULL,
    expira_us  BIGINT  NOT NULL,
    nodo       TEXT    NOT NULL,
    PRIMARY KEY (convenio, id_mensaje)
);
CREATE INDEX replay_expira ON replay (expira_us);

CREATE TABLE limites (
    convenio    TEXT   NOT NULL,
    presupuesto TEXT   NOT NULL,
    tat_us      BIGINT NOT NULL DEFAULT 0,
    dia         DATE   NOT NULL DEFAULT '2000-01-01',
    usados      BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (convenio, presupuesto)
);

CREATE TABLE validaciones_fallidas (
    convenio TEXT    NOT NULL,
    run      INTEGER NOT NULL,
    dia      DATE    NOT NULL,
    fallidas INTEGER NOT NULL,
    PRIMARY KEY (convenio, run, dia)
);
