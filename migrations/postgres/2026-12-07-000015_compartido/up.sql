-- What several nodes over this database share (`cluster.nodo`, README "Running several
-- nodes"). Nothing here is a record: the tables are kept out of `siis backup`'s data and out of
-- `siis export`, and a restored registry starts with them empty, as a restarted node does.

-- Replay memory: an agency's message id, claimed by the first node that admits it, until it
-- expires (database clock, microseconds since the epoch).
CREATE TABLE replay (
    convenio   text   NOT NULL,
    id_mensaje text   NOT NULL,
    expira_us  bigint NOT NULL,
    nodo       text   NOT NULL,
    PRIMARY KEY (convenio, id_mensaje)
);
CREATE INDEX replay_expira ON replay (expira_us);

-- One budget (an agreement's lookups, its batch records, a console user's allowance): a GCRA
-- theoretical arrival time (database clock) and the units charged on the civil day `dia`
-- (Chile's, passed by the node). Nodes take units in small leases (limites_tomar).
CREATE TABLE limites (
    convenio    text   NOT NULL,
    presupuesto text   NOT NULL,
    tat_us      bigint NOT NULL DEFAULT 0,
    dia         date   NOT NULL DEFAULT '2000-01-01',
    usados      bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (convenio, presupuesto)
) WITH (fillfactor = 50);

-- Identity comparisons that did not match, per agreement, person and day.
CREATE TABLE validaciones_fallidas (
    convenio text    NOT NULL,
    run      integer NOT NULL,
    dia      date    NOT NULL,
    fallidas integer NOT NULL,
    PRIMARY KEY (convenio, run, dia)
);

-- Takes between p_min and p_max units of one budget (as many as its rate and today's quota
-- allow now), after giving back p_devolver units of an expired lease taken on p_dia_devuelto.
-- Returns concedido >= p_min (espera_us 0), or concedido 0 with the wait in microseconds
-- before p_min fits the rate, or -1 when today's quota cannot hold p_min. p_t_us is the time
-- of one unit (1e6 / per second), p_tau_us the burst's (burst * p_t_us). The rate is checked
-- first: a request over both is told to wait, as on one node.
CREATE FUNCTION limites_tomar(
    p_convenio text, p_presupuesto text, p_devolver bigint, p_dia_devuelto date,
    p_min bigint, p_max bigint, p_t_us bigint, p_tau_us bigint, p_cupo bigint, p_dia date,
    OUT concedido bigint, OUT espera_us bigint)
LANGUAGE plpgsql AS $$
DECLARE
    ahora bigint := (extract(epoch FROM clock_timestamp()) * 1000000)::bigint;
    r limites%ROWTYPE;
    base bigint;
    por_tasa bigint;
    por_cupo bigint;
    cambia boolean := p_devolver > 0;
BEGIN
    SELECT * INTO r FROM limites
     WHERE convenio = p_convenio AND presupuesto = p_presupuesto FOR UPDATE;
    IF NOT FOUND THEN
        INSERT INTO limites (convenio, presupuesto) VALUES (p_convenio, p_presupuesto)
            ON CONFLICT DO NOTHING;
        SELECT * INTO r FROM limites
         WHERE convenio = p_convenio AND presupuesto = p_presupuesto FOR UPDATE;
    END IF;
    IF p_devolver > 0 THEN
        r.tat_us := greatest(r.tat_us - p_devolver * p_t_us, ahora);
        IF r.dia = p_dia_devuelto THEN
            r.usados := greatest(r.usados - p_devolver, 0);
        END IF;
    END IF;
    IF p_dia > r.dia THEN
        r.dia := p_dia;
        r.usados := 0;
        cambia := true;
    END IF;
    base := greatest(r.tat_us, ahora);
    por_tasa := (p_tau_us - (base - ahora)) / p_t_us;
    por_cupo := p_cupo - r.usados;
    IF por_tasa < p_min THEN
        concedido := 0;
        espera_us := base + p_min * p_t_us - p_tau_us - ahora;
    ELSIF por_cupo < p_min THEN
        concedido := 0;
        espera_us := -1;
    ELSE
        concedido := least(por_tasa, por_cupo, p_max);
        espera_us := 0;
        r.tat_us := base + concedido * p_t_us;
        r.usados := r.usados + concedido;
        cambia := true;
    END IF;
    -- A refusal that gave nothing back writes nothing: a flood of them costs no row versions.
    IF NOT cambia THEN
        RETURN;
    END IF;
    UPDATE limites SET tat_us = r.tat_us, dia = r.dia, usados = r.usados
     WHERE convenio = p_convenio AND presupuesto = p_presupuesto;
END $$;
