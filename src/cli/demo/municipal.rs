//! `serve --demo` seeds the municipal loop once per registry, after the synthetic population:
//! households of Santiago (13101) and Valparaíso (05101) surveyed with the questionnaire and
//! scored by the model in force, cupos for SUF, PASIS and SAP in both comunas this year, and
//! postulations in Santiago with their checks. Every step is a request of one of the demo's
//! console officials through the broker ([`oficial`]): the same operations, rules, limits and
//! audit as a municipality's own requests, so the registry holds nothing the API could not
//! have produced. The RUNs a newcomer needs for the README's walkthrough go to the sample file
//! under categories of their own.
//!
//! A registry that already holds a survey questionnaire, a postulation or a cupo is not seeded
//! again (a second start seeds nothing); one whose agreements lack a municipality or the
//! operator, or whose population lacks the households needed, is left as it is, and the demo
//! says so.

mod eleccion;
mod encuesta;
pub(super) mod oficial;

use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use chrono::{Datelike, NaiveDate};
use diesel::prelude::*;

use self::eleccion::{Eleccion, Hogar};
use self::oficial::Oficial;
use crate::broker::local_today;
use crate::catalog::Rol;
use crate::config::Config;
use crate::db::schema::{cupos, encuestas, postulaciones};
use crate::domain::{ConvenioId, Run};
use crate::error::ApiError;
use crate::ops::Core;
use crate::ops::cupos::{Clave, Fijacion, FijarCupos};
use crate::ops::encuestaje::estado::EventoEntrada;
use crate::ops::encuestaje::{
    EventoPedido, RegistrarEventoEncuestaje, SolicitarEncuestaje, Solicitud,
};
use crate::ops::postulacion::{CausantePedido, Pedido, Postular};

/// The agreements the loop acts under.
const CONVENIOS: [&str; 3] = ["muni-13101", "muni-05101", "operador"];
/// Cupos set for each program in each comuna: fewer than Santiago's verified SUF
/// postulations, so that its waiting list runs past them.
pub const CUPOS: i64 = 3;
/// The programs and comunas the cupos are set for.
const PROGRAMAS: [&str; 3] = ["SUF", "PASIS", "SAP"];
const COMUNAS: [&str; 2] = ["13101", "05101"];

/// What the seeding did, for the welcome text.
pub struct Sembrado {
    pub encuestados: usize,
    pub modelo: String,
    pub postulaciones: Vec<(&'static str, String)>,
}

/// A step that failed: which, and its stable code (no personal data).
fn paso(que: &str) -> impl Fn(ApiError) -> anyhow::Error + '_ {
    move |e| anyhow::anyhow!("{que}: {} ({})", e.code.as_str(), e.detail)
}

/// Seeds the loop unless the registry has some of it already or cannot have it; says on
/// standard output what it did or why not.
pub async fn sembrar(config: &Config, core: Arc<Core>) -> anyhow::Result<Option<Sembrado>> {
    let policy = core.broker.policy();
    for id in CONVENIOS {
        if policy.convenios.get(&ConvenioId::parse(id)?).is_none() {
            println!("demo: the municipal loop is not seeded: agreement {id} is not loaded");
            return Ok(None);
        }
    }
    let hoy = local_today();
    let pool = core.broker.pool.clone();
    let eleccion = actix_web::web::block(move || -> anyhow::Result<_> {
        let mut conn = pool.get()?;
        let hay: i64 = encuestas::table.count().get_result(&mut **conn)?;
        let hay = hay
            + postulaciones::table
                .count()
                .get_result::<i64>(&mut **conn)?
            + cupos::table.count().get_result::<i64>(&mut **conn)?;
        if hay > 0 {
            return Ok(None);
        }
        Ok(Some(eleccion::elegir(&mut conn, hoy)))
    })
    .await??;
    let eleccion = match eleccion {
        None => return Ok(None),
        Some(Err(why)) => {
            println!("demo: the municipal loop is not seeded: {why}");
            return Ok(None);
        }
        Some(Ok(eleccion)) => eleccion,
    };
    println!(
        "demo: seeding the municipal loop (once): surveys, cupos and postulations, at the \
         pace of the console officials' allowance..."
    );
    let sembrado = trabajar(config, &core, &eleccion, hoy).await?;
    escribir_muestra(Path::new(super::DEMO_SAMPLE), &eleccion)?;
    Ok(Some(sembrado))
}

/// The municipalities' day, request by request.
async fn trabajar(
    config: &Config,
    core: &Arc<Core>,
    e: &Eleccion,
    hoy: NaiveDate,
) -> anyhow::Result<Sembrado> {
    let mut jefe = Oficial::new(config, "11111111-1", "muni-13101", Rol::JefeComunal)?;
    let mut atencion = Oficial::new(config, "22222222-2", "muni-05101", Rol::Atencion)?;
    let mut encuestador = Oficial::new(config, "44444444-4", "muni-05101", Rol::Encuestador)?;
    let mut operador = Oficial::new(config, "33333333-3", "operador", Rol::Operador)?;

    // Santiago's comuna head asks for each survey and records it; in Valparaíso the counter
    // asks and the surveyor records.
    let mut encuestados = 0;
    let familias = e.familias.iter().chain([&e.readme]);
    for (k, hogar) in familias.enumerate() {
        let c = encuesta::familia(hogar, k);
        encuestar(core, &mut jefe, None, hogar, c, hoy).await?;
        encuestados += 1;
    }
    encuestar(
        core,
        &mut jefe,
        None,
        &e.anciano,
        encuesta::anciano(&e.anciano),
        hoy,
    )
    .await?;
    let c = encuesta::casi_anciano(&e.casi_anciano);
    encuestar(core, &mut jefe, None, &e.casi_anciano, c, hoy).await?;
    encuestados += 2;
    for hogar in &e.valparaiso {
        let c = encuesta::valparaiso(hogar);
        encuestar(core, &mut atencion, Some(&mut encuestador), hogar, c, hoy).await?;
        encuestados += 1;
    }

    for comuna in COMUNAS {
        for programa in PROGRAMAS {
            let fijacion = Fijacion {
                clave: Clave {
                    comuna: comuna.into(),
                    programa: programa.into(),
                    anio: hoy.year().to_string(),
                },
                cupos: Some(CUPOS),
            };
            operador
                .pedir::<FijarCupos>(core, fijacion)
                .await
                .map_err(paso("FijarCupos"))?;
        }
    }

    // The families (not the README's) postulate to SUF, each with its children, the heads of
    // those with two children to SAP too; both elderly to PASIS.
    let mut pedidos: Vec<(&'static str, Pedido)> = e
        .familias
        .iter()
        .map(|h| ("SUF", pedido(h.jefe().run, "SUF", h)))
        .collect();
    pedidos.push(("PASIS", pedido(e.anciano.jefe().run, "PASIS", &e.anciano)));
    let casi = e.casi_anciano.jefe().run;
    pedidos.push(("PASIS", pedido(casi, "PASIS", &e.casi_anciano)));
    for h in e.familias.iter().filter(|h| h.hijos().count() > 1) {
        pedidos.push(("SAP", pedido(h.jefe().run, "SAP", h)));
    }
    let mut postulaciones = Vec::new();
    for (programa, p) in pedidos {
        let hecha = jefe
            .pedir::<Postular>(core, p)
            .await
            .map_err(paso("Postular"))?;
        postulaciones.push((programa, hecha.estado.unwrap_or_default()));
    }
    Ok(Sembrado {
        encuestados,
        modelo: core.broker.modelos.vigente().nombre.clone(),
        postulaciones,
    })
}

/// A postulation of `run` to `programa`; a SUF names the household's children under 18.
fn pedido(run: Run, programa: &str, hogar: &Hogar) -> Pedido {
    let causantes = match programa {
        "SUF" => hogar
            .hijos()
            .map(|m| CausantePedido {
                run: m.run,
                tipo: "menor".into(),
            })
            .collect(),
        _ => Vec::new(),
    };
    Pedido {
        run,
        programa: programa.into(),
        causantes,
    }
}

/// A survey of `hogar` from request to questionnaire: asked for by `solicita` (for the head),
/// a visit scheduled for today and the questionnaire recorded by `encuesta` (the same official
/// when `None`).
async fn encuestar(
    core: &Arc<Core>,
    solicita: &mut Oficial,
    encuesta: Option<&mut Oficial>,
    hogar: &Hogar,
    cuestionario: crate::ops::encuestaje::cuestionario::EncuestaEntrada,
    hoy: NaiveDate,
) -> anyhow::Result<()> {
    let solicitud = Solicitud {
        run: hogar.jefe().run,
        comuna: None,
    };
    let pedida = solicita
        .pedir::<SolicitarEncuestaje>(core, solicitud)
        .await
        .map_err(paso("SolicitarEncuestaje"))?;
    let id = pedida
        .id
        .ok_or_else(|| anyhow::anyhow!("SolicitarEncuestaje answered no id"))?;
    let encuesta = match encuesta {
        Some(o) => o,
        None => solicita,
    };
    let visita = EventoPedido {
        id: id.clone(),
        entrada: EventoEntrada {
            evento: "programar_visita".into(),
            fecha_visita: Some(hoy.to_string()),
            ..EventoEntrada::default()
        },
    };
    encuesta
        .pedir::<RegistrarEventoEncuestaje>(core, visita)
        .await
        .map_err(paso("programar_visita"))?;
    let encuestar = EventoPedido {
        id,
        entrada: EventoEntrada {
            evento: "encuestar".into(),
            fecha_aplicacion: Some(hoy.to_string()),
            encuesta: Some(cuestionario),
            ..EventoEntrada::default()
        },
    };
    encuesta
        .pedir::<RegistrarEventoEncuestaje>(core, encuestar)
        .await
        .map_err(paso("encuestar"))?;
    Ok(())
}

/// Appends the walkthrough's RUNs to the sample file (created, private, if missing).
fn escribir_muestra(path: &Path, e: &Eleccion) -> anyhow::Result<()> {
    let mut filas: Vec<(&str, Run)> = Vec::new();
    filas.extend(e.santiago().map(|h| ("jefe_encuestado", h.jefe().run)));
    filas.extend(
        e.valparaiso
            .iter()
            .map(|h| ("jefe_encuestado_05101", h.jefe().run)),
    );
    filas.push(("postulante_suf", e.readme.jefe().run));
    filas.extend(e.readme.hijos().map(|m| ("causante_suf", m.run)));
    filas.extend(e.familias.iter().map(|h| ("postulado_suf", h.jefe().run)));
    filas.push(("postulado_pasis", e.anciano.jefe().run));
    filas.push(("rechazado_pasis", e.casi_anciano.jefe().run));
    let sap = e.familias.iter().filter(|h| h.hijos().count() > 1);
    filas.extend(sap.map(|h| ("postulado_sap", h.jefe().run)));
    let existe = path.exists();
    let mut file = if existe {
        std::fs::OpenOptions::new().append(true).open(path)?
    } else {
        crate::fsperm::create_private(path)?
    };
    if !existe {
        writeln!(file, "categoria,run")?;
    }
    for (categoria, run) in filas {
        writeln!(file, "{categoria},{run}")?;
    }
    Ok(())
}

/// One line for the welcome text.
pub fn resumen(s: &Sembrado) -> String {
    let mut estados: std::collections::BTreeMap<(&str, &str), usize> = Default::default();
    for (programa, estado) in &s.postulaciones {
        *estados.entry((programa, estado.as_str())).or_default() += 1;
    }
    let estados: Vec<String> = estados
        .iter()
        .map(|((p, e), n)| format!("{p} {e} {n}"))
        .collect();
    format!(
        "demo: municipal loop seeded: {} households surveyed (model {}), cupos {CUPOS} for \
         SUF, PASIS and SAP in 13101 and 05101, {} postulations in 13101 ({})",
        s.encuestados,
        s.modelo,
        s.postulaciones.len(),
        estados.join(", ")
    )
}
