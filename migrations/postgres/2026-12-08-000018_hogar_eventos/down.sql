DROP TABLE hogar_eventos;
ALTER TABLE fichas DROP COLUMN revision;
ALTER TABLE hogares DROP COLUMN version;
