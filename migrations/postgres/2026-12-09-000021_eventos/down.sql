DROP INDEX eventos_run;
DROP TABLE eventos;
