-- Back to one open request per person and a RUN the registry holds (fails if requests for
-- unknown RUNs, or two open requests of one person, were made since).
DROP INDEX encuestajes_abierta;
CREATE UNIQUE INDEX encuestajes_abierta ON encuestajes (run)
    WHERE estado IN ('solicitada', 'visita_programada', 'visita_fallida');
ALTER TABLE encuestajes DROP CONSTRAINT encuestajes_run_valido;
ALTER TABLE encuestajes ADD CONSTRAINT encuestajes_run_fkey FOREIGN KEY (run) REFERENCES personas (run);
