//! Loads the embedded territory catalogue (15 regions, 346 comunas) into its tables.

use diesel::prelude::*;

use super::models::{ComunaRow, RegionRow};
use super::schema::{comunas, regiones};
use super::{DbConnection, DbError};
use crate::domain;

/// Fills `regiones` and `comunas` when they are empty; a no-op once loaded.
pub fn sync_reference(conn: &mut DbConnection) -> Result<(), DbError> {
    let present: i64 = comunas::table.count().get_result(conn)?;
    if present > 0 {
        return Ok(());
    }
    let regions: Vec<RegionRow> = domain::regiones()
        .iter()
        .map(|r| RegionRow {
            codigo: r.codigo.clone(),
            nombre: r.nombre.clone(),
        })
        .collect();
    let comunas_rows: Vec<ComunaRow> = domain::comunas()
        .iter()
        .map(|c| ComunaRow {
            cut: c.cut.to_string(),
            nombre: c.nombre.clone(),
            provincia: c.provincia.clone(),
            region: c.region.clone(),
        })
        .collect();
    conn.transaction(|conn| {
        for row in &regions {
            diesel::insert_into(regiones::table)
                .values(row)
                .execute(conn)?;
        }
        for row in &comunas_rows {
            diesel::insert_into(comunas::table)
                .values(row)
                .execute(conn)?;
        }
        Ok::<_, diesel::result::Error>(())
    })?;
    Ok(())
}
