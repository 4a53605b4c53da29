DROP TABLE certificados;
