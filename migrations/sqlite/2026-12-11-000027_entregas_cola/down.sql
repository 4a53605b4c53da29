DROP INDEX entregas_cola;
