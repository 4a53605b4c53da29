DROP TABLE estadisticas_calculo;
DROP TABLE estadisticas_celdas;
