DROP TABLE despacho;
DROP INDEX entregas_orden;
DROP INDEX entregas_pendientes;
DROP TABLE entregas;
DROP INDEX suscripcion_runs_run;
DROP TABLE suscripcion_runs;
DROP INDEX suscripciones_convenio;
DROP TABLE suscripciones;
