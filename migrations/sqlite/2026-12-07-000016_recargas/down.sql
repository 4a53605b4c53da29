DROP TABLE recargas_nodos;
DROP TABLE recargas;
