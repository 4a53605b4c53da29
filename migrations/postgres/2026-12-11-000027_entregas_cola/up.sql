-- Keep in step with migrations/sqlite/2026-12-11-000027_entregas_cola.
-- The push worker's claim (ops::suscripciones::cola): a subscription's due rows in the order
-- they are sent. Without it each claim read every row the subscription ever had (delivered
-- ones included) and sorted the pending ones: O(all its rows) per claim, several claims a
-- second (docs/benchmarks.md, *Push delivery*). With it a claim reads the rows it takes.
CREATE INDEX entregas_cola ON entregas (suscripcion_id, proximo_us, secuencia)
    WHERE estado IN ('pendiente', 'en_curso');
