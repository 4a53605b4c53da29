DROP FUNCTION limites_tomar(text, text, bigint, date, bigint, bigint, bigint, bigint, bigint, date);
DROP TABLE validaciones_fallidas;
DROP TABLE limites;
DROP TABLE replay;
