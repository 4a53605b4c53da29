DROP TABLE procedencia;
DROP TABLE lotes;
