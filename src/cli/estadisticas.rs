//! `siis estadisticas recalcular` (also run at the end of `siis seed`).

use crate::db::DbConnection;
use crate::ops::estadisticas::resumen;

/// Recomputes the territorial statistics and says what was stored.
pub fn recalcular(conn: &mut DbConnection) -> anyhow::Result<()> {
    let r = resumen::recalcular(conn)?;
    let when = r
        .calculado_en
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    if r.aplicado {
        println!(
            "territorial statistics computed at {when}: {} comuna-quintile cell(s) in {:.1} s",
            r.celdas,
            r.duracion.as_secs_f64()
        );
    } else {
        println!("territorial statistics: a newer computation was stored meanwhile; kept it");
    }
    Ok(())
}
