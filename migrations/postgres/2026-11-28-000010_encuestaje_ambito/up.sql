-- A municipality asks for surveys in its own comuna for anyone who comes to it (a person who
-- moved asks where they now live), and what the registry holds about a person of another
-- comuna is not its to know: such a request is made alike for every RUN, known or not
-- (src/ops/encuestaje/solicitud.rs). So:
-- - a request may name a RUN the registry does not hold (the survey of an unknown person is
--   refused when it is recorded, PERSONA_NO_ENCUESTABLE): no foreign key to personas, the
--   RUN's range checked instead;
-- - one open request per person and comuna, no longer per person: a refusal caused by another
--   comuna's request (ENCUESTAJE_EN_CURSO) would tell that comuna's business.
-- Keep in step with migrations/sqlite/2026-11-28-000010_encuestaje_ambito.

ALTER TABLE encuestajes DROP CONSTRAINT encuestajes_run_fkey;
ALTER TABLE encuestajes ADD CONSTRAINT encuestajes_run_valido CHECK (run BETWEEN 1 AND 99999999);
DROP INDEX encuestajes_abierta;
CREATE UNIQUE INDEX encuestajes_abierta ON encuestajes (run, cut)
    WHERE estado IN ('solicitada', 'visita_programada', 'visita_fallida');
