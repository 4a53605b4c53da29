DROP TABLE encuesta_integrantes;
DROP TABLE encuestas;
ALTER TABLE fichas DROP COLUMN encuestador;
ALTER TABLE fichas DROP COLUMN modelo;
DROP TABLE modelos_puntaje;
