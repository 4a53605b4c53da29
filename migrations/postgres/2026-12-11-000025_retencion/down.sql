DROP INDEX dci_transacciones_resultado;
DROP INDEX entregas_evento;
