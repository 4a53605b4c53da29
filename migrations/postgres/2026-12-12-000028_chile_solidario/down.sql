DROP TABLE chs_bonos;
DROP TABLE chs_sesiones;
DROP TABLE chs_condiciones;
DROP TABLE chs_participaciones;
