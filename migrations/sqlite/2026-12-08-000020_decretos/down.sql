ALTER TABLE beneficios DROP COLUMN decreto_folio;
DROP TABLE decreto_lineas;
DROP TABLE decretos;
