DROP TABLE emergencia_ayudas;
DROP TABLE emergencia_hogares;
DROP TABLE emergencia_comunas;
DROP TABLE emergencias;
