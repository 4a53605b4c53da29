DROP TABLE encuestaje_eventos;
DROP TABLE encuestajes;
