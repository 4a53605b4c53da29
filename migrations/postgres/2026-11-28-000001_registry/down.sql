DROP TABLE beneficios;
DROP TABLE fichas;
DROP TABLE integrantes;
DROP TABLE hogares;
DROP TABLE personas;
DROP TABLE comunas;
DROP TABLE regiones;
