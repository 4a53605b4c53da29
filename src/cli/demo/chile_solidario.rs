//! The demo's Chile Solidario participations, seeded once through the broker by Santiago's
//! comuna head (the console official of `muni-13101`): a few households of 13101 taken into
//! Puente and Vínculos, with a session, a condition met, bonos paid and one egreso.

use std::sync::Arc;

use diesel::prelude::*;

use super::municipal::oficial::Oficial;
use crate::catalog::Rol;
use crate::config::Config;
use crate::db::schema::{chs_participaciones, hogares, integrantes, personas};
use crate::domain::Run;
use crate::modulos::chile_solidario::{
    EventoEntrada, EventoPedido, IngresarFamiliaCHS, Ingreso, RegistrarEventoCHS,
};
use crate::ops::Core;

/// How many households the demo takes in (the last into Vínculos).
const HOGARES: i64 = 4;

/// Seeds the participations unless the registry has some; the number seeded.
pub async fn sembrar(config: &Config, core: Arc<Core>) -> anyhow::Result<Option<usize>> {
    let pool = core.broker.pool.clone();
    let titulares = actix_web::web::block(move || -> anyhow::Result<Option<Vec<i32>>> {
        let mut conn = pool.get()?;
        let hay: i64 = chs_participaciones::table.count().get_result(&mut **conn)?;
        if hay > 0 {
            return Ok(None);
        }
        let runs = integrantes::table
            .inner_join(hogares::table)
            .inner_join(personas::table)
            .filter(hogares::cut.eq("13101"))
            .filter(integrantes::parentesco.eq("jefe"))
            .filter(personas::fecha_defuncion.is_null())
            .select(personas::run)
            .order(personas::run)
            .limit(HOGARES)
            .load(&mut **conn)?;
        Ok(Some(runs))
    })
    .await??;
    let Some(titulares) = titulares else {
        return Ok(None);
    };
    let mut jefe = Oficial::new(config, "11111111-1", "muni-13101", Rol::JefeComunal)?;
    let fallo = |que: &'static str| {
        move |e: crate::error::ApiError| {
            anyhow::anyhow!("{que}: {} ({})", e.code.as_str(), e.detail)
        }
    };
    let n = titulares.len();
    for (i, numero) in titulares.into_iter().enumerate() {
        let ingreso = Ingreso {
            run: Run::from_numero(numero as u32)?,
            programa: if i + 1 == n { "vinculos" } else { "puente" },
            apoyo_familiar: format!("AF-{:04}", i + 1),
            fecha_ingreso: None,
        };
        let p = jefe
            .pedir::<IngresarFamiliaCHS>(&core, ingreso)
            .await
            .map_err(fallo("ingreso"))?;
        let id = p.id.unwrap_or_default();
        let mut eventos = vec![EventoEntrada {
            evento: "sesion".into(),
            tipo: Some("domiciliaria".into()),
            ..Default::default()
        }];
        if i < 2 {
            eventos.push(EventoEntrada {
                evento: "condicion".into(),
                condicion: Some("IDE1".into()),
                estado: Some("cumplida".into()),
                ..Default::default()
            });
            eventos.push(EventoEntrada {
                evento: "pago_bono".into(),
                ..Default::default()
            });
        }
        if i == 2 {
            eventos.push(EventoEntrada {
                evento: "egreso".into(),
                motivo: Some("cumplimiento".into()),
                ..Default::default()
            });
        }
        for entrada in eventos {
            let pedido = EventoPedido {
                id: id.clone(),
                entrada,
            };
            jefe.pedir::<RegistrarEventoCHS>(&core, pedido)
                .await
                .map_err(fallo("evento"))?;
        }
    }
    Ok(Some(n))
}
