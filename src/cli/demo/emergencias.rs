//! `serve --demo` seeds the emergency registry once per registry: the operator declares
//! "Erupción volcán Chaitén" (comunas 10401 Chaitén, 10402 Futaleufú and 10404 Palena); Chaitén's
//! officials register the affected households of the three comunas sheltered in Chaitén, and
//! Puerto Montt's counter registers evacuees from Chaitén sheltered in Puerto Montt; both
//! record food for every household and water for Chaitén's. Enough households that the report
//! publishes Chaitén's cells and reserves Futaleufú's and Palena's (3 households, and Futaleufú's
//! 11 as its complement). Every step is a demo official's request through the
//! broker ([`Oficial`]), admitted, limited and audited like any other.
//!
//! A registry that already holds an emergency is not seeded again; one whose agreements lack
//! Chaitén, Puerto Montt or the operator is left as it is, and the demo says so.

use std::sync::Arc;

use diesel::prelude::*;

use super::municipal::oficial::Oficial;
use crate::catalog::Rol;
use crate::config::Config;
use crate::db::schema::{emergencias, hogares, integrantes, personas};
use crate::domain::{ConvenioId, Run};
use crate::error::ApiError;
use crate::modulos::emergencias::{
    AyudaEntrada, DeclaracionEntrada, Declarar, HogarEntrada, PedidoAyuda, PedidoHogar,
    RegistrarAyuda, RegistrarHogar,
};
use crate::ops::Core;

/// The demo's emergency officials: RUN, agreement, role.
pub const OFICIALES: [(&str, &str, Rol); 3] = [
    ("55555555-5", "muni-10401", Rol::JefeComunal),
    ("77777777-7", "muni-10401", Rol::Atencion),
    ("66666666-6", "muni-10101", Rol::Atencion),
];
const OPERADOR: &str = "33333333-3";

/// Households registered from each affected comuna (Chaitén's by Chaitén and by Puerto Montt).
const CHAITEN: usize = 16;
const PUERTO_MONTT: usize = 4;
const FUTALEUFU: usize = 11;
const PALENA: usize = 3;

/// What the seeding did, for the welcome text.
pub struct Sembrado {
    pub emergencia: String,
    pub hogares: usize,
    pub ayudas: usize,
}

fn paso(que: &str) -> impl Fn(ApiError) -> anyhow::Error + '_ {
    move |e| anyhow::anyhow!("{que}: {} ({})", e.code.as_str(), e.detail)
}

/// Heads of household living in `cut` (the demo population's), the first `n` by RUN; fewer
/// when the comuna has fewer.
fn jefes(conn: &mut crate::db::DbConnection, cut: &str, n: usize) -> QueryResult<Vec<Run>> {
    let runs: Vec<i32> = integrantes::table
        .inner_join(hogares::table)
        .inner_join(personas::table)
        .filter(hogares::cut.eq(cut.to_owned()))
        .filter(integrantes::parentesco.eq("jefe"))
        .filter(personas::fecha_defuncion.is_null())
        .select(integrantes::run)
        .order(integrantes::run.asc())
        .limit(n as i64)
        .load(conn)?;
    Ok(runs
        .into_iter()
        .filter_map(|r| Run::from_numero(r as u32).ok())
        .collect())
}

/// Who is registered where: (origin, destination, head). Heads are the comuna's own; when the
/// demo population has too few there, heads of Puerto Montt stand in (a record's origin is its
/// own field, not the person's household).
type Plan = Vec<(&'static str, &'static str, Run)>;

fn planear(conn: &mut crate::db::DbConnection) -> anyhow::Result<(Plan, Plan)> {
    let mut suplentes = jefes(conn, "10101", 60)?.into_iter();
    let mut de = |cut: &'static str, n: usize, saltar: usize| -> anyhow::Result<Vec<Run>> {
        let mut runs: Vec<Run> = jefes(conn, cut, n + saltar)?
            .into_iter()
            .skip(saltar)
            .collect();
        while runs.len() < n {
            runs.push(
                suplentes
                    .next()
                    .ok_or_else(|| anyhow::anyhow!("the population has too few households"))?,
            );
        }
        Ok(runs)
    };
    let chaiten = de("10401", CHAITEN, 0)?;
    let evacuados = de("10401", PUERTO_MONTT, CHAITEN)?;
    let futaleufu = de("10402", FUTALEUFU, 0)?;
    let palena = de("10404", PALENA, 0)?;
    let en_chaiten = chaiten
        .into_iter()
        .map(|r| ("10401", "10401", r))
        .chain(futaleufu.into_iter().map(|r| ("10402", "10401", r)))
        .chain(palena.into_iter().map(|r| ("10404", "10401", r)))
        .collect();
    let en_puerto_montt = evacuados
        .into_iter()
        .map(|r| ("10401", "10101", r))
        .collect();
    Ok((en_chaiten, en_puerto_montt))
}

/// Seeds the emergency unless the registry has one already or cannot have it.
pub async fn sembrar(config: &Config, core: Arc<Core>) -> anyhow::Result<Option<Sembrado>> {
    let policy = core.broker.policy();
    for id in ["muni-10401", "muni-10101", "operador"] {
        if policy.convenios.get(&ConvenioId::parse(id)?).is_none() {
            println!("demo: the emergency is not seeded: agreement {id} is not loaded");
            return Ok(None);
        }
    }
    let pool = core.broker.pool.clone();
    let plan = actix_web::web::block(move || -> anyhow::Result<Option<(Plan, Plan)>> {
        let mut conn = pool.get()?;
        let hay: i64 = emergencias::table.count().get_result(&mut **conn)?;
        if hay > 0 {
            return Ok(None);
        }
        for (run, convenio, rol) in OFICIALES {
            crate::consola::usuarios::alta(
                &mut conn,
                run.parse()?,
                &ConvenioId::parse(convenio)?,
                rol,
            )?;
        }
        Ok(Some(planear(&mut conn)?))
    })
    .await??;
    let Some((en_chaiten, en_puerto_montt)) = plan else {
        return Ok(None);
    };
    println!(
        "demo: seeding the emergency registry (once): the Chaitén eruption, its households and \
         aid, at the pace of the officials' allowance..."
    );
    let mut operador = Oficial::new(config, OPERADOR, "operador", Rol::Operador)?;
    let emergencia = operador
        .pedir::<Declarar>(
            &core,
            DeclaracionEntrada {
                nombre: "Erupción volcán Chaitén".into(),
                tipo: "erupcion".into(),
                comunas: vec!["10401".into(), "10402".into(), "10404".into()],
                fecha_inicio: None,
            },
        )
        .await
        .map_err(paso("DeclararEmergencia"))?
        .id
        .unwrap_or_default();
    // Chaitén's two officials share its households (its own, then those from elsewhere);
    // Puerto Montt's counter its evacuees. The three work at once.
    let (propios, llegados) = en_chaiten.split_at(CHAITEN);
    let [
        (jefe, convenio_a, rol_a),
        (atencion, convenio_b, rol_b),
        (pm, convenio_c, rol_c),
    ] = OFICIALES;
    let trabajos = [
        (Oficial::new(config, jefe, convenio_a, rol_a)?, propios),
        (Oficial::new(config, atencion, convenio_b, rol_b)?, llegados),
        (
            Oficial::new(config, pm, convenio_c, rol_c)?,
            &en_puerto_montt[..],
        ),
    ];
    let hechos = futures_util::future::join_all(
        trabajos
            .into_iter()
            .map(|(oficial, plan)| atender(&core, oficial, &emergencia, plan)),
    )
    .await;
    let mut sembrado = Sembrado {
        emergencia,
        hogares: 0,
        ayudas: 0,
    };
    for hecho in hechos {
        let (hogares, ayudas) = hecho?;
        sembrado.hogares += hogares;
        sembrado.ayudas += ayudas;
    }
    Ok(Some(sembrado))
}

/// One official registers their households, each with food; those from Chaitén water too.
async fn atender(
    core: &Arc<Core>,
    mut oficial: Oficial,
    emergencia: &str,
    plan: &[(&'static str, &'static str, Run)],
) -> anyhow::Result<(usize, usize)> {
    let mut ayudas = 0;
    for (k, (origen, destino, run)) in plan.iter().enumerate() {
        let entrada = HogarEntrada {
            run: run.to_string(),
            integrantes: 2 + (k % 4) as u32,
            comuna_origen: (*origen).into(),
            comuna_destino: (*destino).into(),
            alojamiento: if destino == origen {
                "albergue"
            } else {
                "familiares"
            }
            .into(),
            dano: ["inhabitable", "destruida", "mayor"][k % 3].into(),
            necesidades: vec!["agua".into(), "alimentos".into(), "abrigo".into()],
        };
        let registro = oficial
            .pedir::<RegistrarHogar>(core, PedidoHogar::parse(emergencia.into(), entrada)?)
            .await
            .map_err(paso("RegistrarHogarDamnificado"))?
            .id
            .unwrap_or_default();
        let tipos: &[&str] = if *origen == "10401" {
            &["alimentos", "agua"]
        } else {
            &["alimentos"]
        };
        for tipo in tipos {
            let pedido = PedidoAyuda {
                emergencia: emergencia.into(),
                registro: registro.clone(),
                entrada: AyudaEntrada {
                    tipo: (*tipo).into(),
                    cantidad: 2,
                    fecha: None,
                },
            };
            oficial
                .pedir::<RegistrarAyuda>(core, pedido)
                .await
                .map_err(paso("RegistrarAyuda"))?;
            ayudas += 1;
        }
    }
    Ok((plan.len(), ayudas))
}

pub fn resumen(s: &Sembrado) -> String {
    format!(
        "demo: emergency seeded: {} (Erupción volcán Chaitén), {} households, {} aid deliveries",
        s.emergencia, s.hogares, s.ayudas
    )
}
