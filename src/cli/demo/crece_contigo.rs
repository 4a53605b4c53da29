//! The demo's Chile Crece Contigo follow-ups, seeded once through the broker by Santiago's comuna
//! head (the console official of `muni-13101`): a gestante of 13101 in her second trimester
//! with a prenatal control and a referral to the municipality (SUF), and, when the registry holds
//! a child of 13101 born in the last nine months, a gestante whose child is born and referred to
//! a nursery (sala cuna): the referral JUNJI and INTEGRA read in their tray.

use std::sync::Arc;

use chrono::{Days, NaiveDate};
use diesel::prelude::*;

use super::municipal::oficial::Oficial;
use crate::catalog::Rol;
use crate::config::Config;
use crate::db::schema::{chcc_seguimientos, hogares, integrantes, personas};
use crate::domain::Run;
use crate::modulos::crece_contigo::{
    EventoChCCEntrada, EventoPedido, IngresarSeguimiento, Ingreso, RegistrarEventoSeguimiento,
};
use crate::ops::Core;

/// What was seeded: the follow-ups, and whether one has a child referred to a nursery.
pub struct Sembrado {
    pub seguimientos: usize,
    pub con_nino: bool,
}

/// Seeds the follow-ups unless the registry has some.
pub async fn sembrar(config: &Config, core: Arc<Core>) -> anyhow::Result<Option<Sembrado>> {
    let hoy = crate::broker::local_today();
    let pool = core.broker.pool.clone();
    let elegidos =
        actix_web::web::block(move || -> anyhow::Result<Option<(Vec<i32>, Option<i32>)>> {
            let mut conn = pool.get()?;
            let hay: i64 = chcc_seguimientos::table.count().get_result(&mut **conn)?;
            if hay > 0 {
                return Ok(None);
            }
            // Women of Santiago of an age to be expecting, the last ones by RUN (the first are taken
            // by the other demo modules' households).
            let desde = hoy - Days::new(45 * 365);
            let hasta = hoy - Days::new(18 * 365);
            let gestantes: Vec<i32> = integrantes::table
                .inner_join(hogares::table)
                .inner_join(personas::table)
                .filter(hogares::cut.eq("13101"))
                .filter(personas::sexo.eq("F"))
                .filter(personas::fecha_defuncion.is_null())
                .filter(personas::fecha_nacimiento.between(desde, hasta))
                .select(personas::run)
                .order(personas::run.desc())
                .limit(2)
                .load(&mut **conn)?;
            let nino: Option<i32> = integrantes::table
                .inner_join(hogares::table)
                .inner_join(personas::table)
                .filter(hogares::cut.eq("13101"))
                .filter(personas::fecha_nacimiento.gt(hoy - Days::new(270)))
                .filter(personas::fecha_nacimiento.le(hoy))
                .select(personas::run)
                .order(personas::run)
                .first(&mut **conn)
                .optional()?;
            Ok(Some((gestantes, nino)))
        })
        .await??;
    let Some((gestantes, nino)) = elegidos else {
        return Ok(None);
    };
    let mut jefe = Oficial::new(config, "11111111-1", "muni-13101", Rol::JefeComunal)?;
    let fallo = |que: &'static str| {
        move |e: crate::error::ApiError| {
            anyhow::anyhow!("{que}: {} ({})", e.code.as_str(), e.detail)
        }
    };
    let mut sembrado = Sembrado {
        seguimientos: 0,
        con_nino: false,
    };
    for (i, numero) in gestantes.into_iter().enumerate() {
        // The first in her 22nd week; the second at term, when a child can be born.
        let semanas = if i == 0 { 22 } else { 40 };
        let ingreso = Ingreso {
            run: Run::from_numero(numero as u32)?,
            comuna: "13101".into(),
            semanas,
            fecha_probable_parto: parto(hoy, semanas),
        };
        let s = jefe
            .pedir::<IngresarSeguimiento>(&core, ingreso)
            .await
            .map_err(fallo("ingreso"))?;
        sembrado.seguimientos += 1;
        let id = s.id.unwrap_or_default();
        let mut eventos = vec![EventoChCCEntrada {
            evento: "control".into(),
            tipo: Some("prenatal".into()),
            resultado: Some("normal".into()),
            ..Default::default()
        }];
        match (i, nino) {
            (0, _) => eventos.push(EventoChCCEntrada {
                evento: "derivacion".into(),
                prestacion: Some("suf".into()),
                ..Default::default()
            }),
            (_, Some(nino)) => {
                eventos.push(EventoChCCEntrada {
                    evento: "nacimiento".into(),
                    run_nino: Some(Run::from_numero(nino as u32)?.to_string()),
                    ..Default::default()
                });
                eventos.push(EventoChCCEntrada {
                    evento: "derivacion".into(),
                    prestacion: Some("sala_cuna".into()),
                    ..Default::default()
                });
                sembrado.con_nino = true;
            }
            (_, None) => {}
        }
        for entrada in eventos {
            let pedido = EventoPedido::parse(id.clone(), entrada).map_err(fallo("evento"))?;
            jefe.pedir::<RegistrarEventoSeguimiento>(&core, pedido)
                .await
                .map_err(fallo("evento"))?;
        }
    }
    Ok(Some(sembrado))
}

/// The due date `semanas` weeks of gestation give today.
fn parto(hoy: NaiveDate, semanas: i32) -> NaiveDate {
    hoy + Days::new(7 * u64::try_from(40 - semanas).unwrap_or(0))
}

/// The line the demo prints.
pub fn resumen(s: &Sembrado) -> String {
    format!(
        "demo: Chile Crece Contigo: {} follow-ups in Santiago{}",
        s.seguimientos,
        if s.con_nino {
            ", one child referred to a nursery (JUNJI's and INTEGRA's tray)"
        } else {
            ""
        }
    )
}
