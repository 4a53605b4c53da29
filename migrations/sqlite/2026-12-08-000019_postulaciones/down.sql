DROP TABLE cupos;
DROP TABLE postulacion_chequeos;
DROP TABLE postulacion_causantes;
DROP TABLE postulaciones;
