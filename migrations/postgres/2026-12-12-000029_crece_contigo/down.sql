DROP TABLE chcc_derivaciones;
DROP TABLE chcc_alertas;
DROP TABLE chcc_controles;
DROP TABLE chcc_seguimientos;
