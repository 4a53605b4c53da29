DROP TABLE validaciones_fallidas;
DROP TABLE limites;
DROP TABLE replay;
