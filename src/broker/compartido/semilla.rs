//! Today's counts seeded into the shared tables at a node's start-up, from what today's audit
//! records say: they matter only when the rows were lost (a restored backup leaves them out),
//! and a higher count already there (another node's) stays.

use chrono::NaiveDate;
use diesel::pg::PgConnection;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Date, Integer, Text};

use crate::broker::Restored;
use crate::db::DbError;

/// Seeds today's counts from what today's audit says, keeping any higher count the database
/// already holds (another node's): each agreement's persons and batch records, each console
/// user's persons, each failed comparison.
pub(super) fn sembrar(
    pg: &mut PgConnection,
    restored: &Restored,
    hoy: NaiveDate,
) -> Result<(), DbError> {
    let mut budgets: Vec<(String, String, i64)> = Vec::new();
    for (convenio, n) in &restored.used.persons {
        budgets.push((convenio.to_string(), "consultas".into(), *n as i64));
    }
    for (convenio, n) in &restored.used.lote_records {
        budgets.push((convenio.to_string(), "lotes".into(), *n as i64));
    }
    for (run, n) in &restored.usuarios {
        budgets.push((CONSOLA.into(), usuario(*run), *n as i64));
    }
    for (convenio, presupuesto, usados) in budgets.into_iter().filter(|b| b.2 > 0) {
        diesel::sql_query(
            "INSERT INTO limites AS l (convenio, presupuesto, dia, usados) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (convenio, presupuesto) DO UPDATE SET \
               usados = CASE WHEN l.dia = EXCLUDED.dia THEN greatest(l.usados, EXCLUDED.usados) \
                             ELSE EXCLUDED.usados END, \
               dia = EXCLUDED.dia \
             WHERE l.dia <= EXCLUDED.dia",
        )
        .bind::<Text, _>(convenio)
        .bind::<Text, _>(presupuesto)
        .bind::<Date, _>(hoy)
        .bind::<BigInt, _>(usados)
        .execute(pg)?;
    }
    for ((convenio, run), fallidas) in &restored.failed_validations {
        let (Ok(run), Ok(fallidas)) = (i32::try_from(*run), i32::try_from(*fallidas)) else {
            continue;
        };
        diesel::sql_query(
            "INSERT INTO validaciones_fallidas AS v (convenio, run, dia, fallidas) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (convenio, run, dia) DO UPDATE \
             SET fallidas = greatest(v.fallidas, EXCLUDED.fallidas)",
        )
        .bind::<Text, _>(convenio.as_str())
        .bind::<Integer, _>(run)
        .bind::<Date, _>(hoy)
        .bind::<Integer, _>(fallidas)
        .execute(pg)?;
    }
    Ok(())
}

/// The `limites.convenio` of console users' own allowances.
pub(crate) const CONSOLA: &str = "consola";

/// The `limites.presupuesto` of a console user's own allowance.
pub(crate) fn usuario(run: u32) -> String {
    format!("usuario:{run}")
}
