//! `siis serve --demo`: creates what is missing for a local trial and tells a newcomer how to
//! call the node.

mod chile_solidario;
mod crece_contigo;
mod emergencias;
mod municipal;

use std::path::Path;
use std::sync::Arc;

use crate::catalog::Rol;
use crate::config::Config;
use crate::db::{Pool, schema::personas};
use crate::pki;
use crate::reglas::Rules;
use crate::seed::{SeedOptions, Umbrales};
use crate::startup::Node;

/// Persons in the demo registry.
pub const DEMO_PERSONS: u64 = 100_000;
/// Where the demo writes its sample RUNs.
pub const DEMO_SAMPLE: &str = "var/sample.csv";

/// The callback of `siis receptor` run with its defaults, which every push grant accepts on
/// `serve --demo` (`notificaciones.callback_demo`).
pub fn callback() -> url::Url {
    url::Url::parse("https://localhost:8490/eventos").unwrap_or_else(|_| unreachable!())
}

/// Creates the database folder and the development certificates if missing.
pub fn prepare(config: &Config) -> anyhow::Result<()> {
    if let Some(folder) = sqlite_folder(config) {
        std::fs::create_dir_all(folder)
            .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", folder.display()))?;
    }
    let convenios = if config.convenios.dir.is_dir() {
        pki::convenio_ids(&config.convenios.dir)?
    } else {
        Vec::new()
    };
    let report = pki::dev(&config.tls.dir, &convenios)?;
    if !report.created.is_empty() {
        println!(
            "demo: wrote development certificates to {}",
            config.tls.dir.display()
        );
    }
    Ok(())
}

/// Seeds the demo population when the registry is empty. A sample file an earlier demo left
/// open to other users is set to 0600.
pub fn ensure_population(config: &Config, pool: &Pool) -> anyhow::Result<()> {
    use diesel::prelude::*;
    let mut conn = pool.get()?;
    let present: i64 = personas::table.count().get_result(&mut **conn)?;
    if present > 0 {
        crate::fsperm::tighten(Path::new(DEMO_SAMPLE))?;
        return Ok(());
    }
    println!("demo: generating a registry of {DEMO_PERSONS} persons (once)...");
    if let Some(folder) = Path::new(DEMO_SAMPLE).parent() {
        std::fs::create_dir_all(folder)?;
    }
    let options = SeedOptions {
        persons: DEMO_PERSONS,
        seed: 1,
        sample: Some(DEMO_SAMPLE.into()),
        sample_size: 1_000,
        umbrales: Umbrales::from_rules(&Rules::load(&config.elegibilidad.reglas)?)?,
    };
    let report = super::progress::seed_with_progress(&mut conn, &options)?;
    super::progress::print_seed_report(&report, config);
    Ok(())
}

/// The demo's console officials: RUN, agreement, role.
pub const DEMO_OFFICIALS: [(&str, &str, Rol); 4] = [
    ("11111111-1", "muni-13101", Rol::JefeComunal),
    ("22222222-2", "muni-05101", Rol::Atencion),
    ("44444444-4", "muni-05101", Rol::Encuestador),
    ("33333333-3", "operador", Rol::Operador),
];

/// Makes the demo's console officials (each time: a demo registry is a trial's).
pub fn ensure_officials(pool: &Pool) -> anyhow::Result<()> {
    let mut conn = pool.get()?;
    for (run, convenio, rol) in DEMO_OFFICIALS {
        crate::consola::usuarios::alta(
            &mut conn,
            run.parse()?,
            &crate::domain::ConvenioId::parse(convenio)?,
            rol,
        )?;
    }
    Ok(())
}

/// Seeds the municipal loop through the running node's broker, once per registry
/// ([`municipal`]); a failure is told and the node serves on.
pub async fn ensure_municipal(config: &Config, node: &Node) {
    let certificados = match crate::ops::certificados::Servicio::from_config(config) {
        Ok(s) => Arc::new(s),
        Err(e) => {
            println!("demo: the municipal loop is not seeded: {e}");
            return;
        }
    };
    let core = Arc::new(crate::ops::Core {
        broker: node.broker.clone().into_inner(),
        certificados,
    });
    match municipal::sembrar(config, core.clone()).await {
        Ok(Some(sembrado)) => println!("{}", municipal::resumen(&sembrado)),
        Ok(None) => {}
        Err(e) => println!(
            "demo: the municipal loop was not fully seeded ({e}); delete var/ to start over"
        ),
    }
    match chile_solidario::sembrar(config, core.clone()).await {
        Ok(Some(n)) => println!("demo: Chile Solidario: {n} households of Santiago taken in"),
        Ok(None) => {}
        Err(e) => println!("demo: Chile Solidario was not fully seeded ({e})"),
    }
    match crece_contigo::sembrar(config, core.clone()).await {
        Ok(Some(sembrado)) => println!("{}", crece_contigo::resumen(&sembrado)),
        Ok(None) => {}
        Err(e) => println!("demo: Chile Crece Contigo was not fully seeded ({e})"),
    }
    match emergencias::sembrar(config, core).await {
        Ok(Some(sembrado)) => println!("{}", emergencias::resumen(&sembrado)),
        Ok(None) => {}
        Err(e) => {
            println!("demo: the emergency was not fully seeded ({e}); delete var/ to start over")
        }
    }
}

/// A living person of a household of Santiago (13101) with a ficha in force, for the welcome
/// text: the demo's comuna head may look them up.
fn vecino_de_santiago(node: &Node) -> Option<crate::domain::Run> {
    use crate::db::schema::{fichas, hogares, integrantes, personas};
    use diesel::prelude::*;
    let mut conn = node.broker.pool.get().ok()?;
    let run: i32 = integrantes::table
        .inner_join(hogares::table)
        .inner_join(personas::table)
        .inner_join(fichas::table.on(fichas::hogar_id.eq(integrantes::hogar_id)))
        .filter(personas::fecha_defuncion.is_null())
        .filter(fichas::estado.eq("vigente"))
        .filter(hogares::cut.eq("13101"))
        .select(personas::run)
        .order(personas::run)
        .first(&mut **conn)
        .ok()?;
    crate::domain::Run::from_numero(u32::try_from(run).ok()?).ok()
}

/// The first RUN of a category in the demo's sample file.
fn sample_run(categoria: &str) -> Option<String> {
    let text = std::fs::read_to_string(DEMO_SAMPLE).ok()?;
    text.lines()
        .filter_map(|l| l.split_once(','))
        .find(|(c, _)| *c == categoria)
        .map(|(_, run)| run.to_owned())
}

pub fn print_welcome(config: &Config, node: &Node) {
    let pki = config.tls.dir.display();
    let agency = node.agency.port();
    let ids = pki::convenio_ids(&config.convenios.dir).unwrap_or_default();
    let client = ids
        .iter()
        .find(|id| id.as_str() == "minvu")
        .or_else(|| ids.first());
    println!();
    println!(
        "SIIS node is running ({} registry).",
        config.database.url.backend()
    );
    println!("  agency listener (mutual TLS): https://localhost:{agency}");
    println!(
        "  public listener (TLS):        https://localhost:{}",
        node.public.port()
    );
    println!(
        "  admin listener (loopback):    http://127.0.0.1:{}",
        node.admin.port()
    );
    println!();
    println!("Try it:");
    println!("  curl http://127.0.0.1:{}/readyz", node.admin.port());
    if let Some(id) = client {
        let curl = format!(
            "curl --cacert {pki}/ca.pem --cert {} --key {}",
            pki::client_cert_path(&config.tls.dir, id).display(),
            pki::client_key_path(&config.tls.dir, id).display(),
        );
        println!("  {curl} https://localhost:{agency}/api/v1/ping");
        println!("  {curl} https://localhost:{agency}/api/v1/metaservicios/operaciones");
        if let Some(run) = sample_run("con_ficha") {
            println!("  {curl} https://localhost:{agency}/api/v1/personas/{run}/ficha");
        }
    }
    println!();
    println!(
        "Console: https://localhost:{}/consola/ (development sign-in: type a RUN)",
        node.public.port()
    );
    for (run, convenio, rol) in DEMO_OFFICIALS {
        println!("  {run}  {} of {convenio}", rol.nombre());
    }
    if let Some(run) = vecino_de_santiago(node) {
        println!("  {run}  a person of Santiago with a ficha: look them up as 11111111-1");
    }
    if let Some(run) = sample_run("con_ficha") {
        println!("  {run}  a person: their ficha and who consulted it");
    }
    if sample_run("postulante_suf").is_some() {
        println!(
            "A municipality's day (surveys, postulations, the waiting list): README.md, with the \
             RUNs of {DEMO_SAMPLE} (jefe_encuestado, postulante_suf, causante_suf, postulado_suf)."
        );
    }
    println!(
        "Sample RUNs by category: {DEMO_SAMPLE}. Client certificates: {pki}/clients/. Stop with Ctrl-C."
    );
}

/// The folder that will hold an SQLite database file, if the URL names one.
fn sqlite_folder(config: &Config) -> Option<&Path> {
    match &config.database.url {
        crate::db::DatabaseUrl::Sqlite(path) => path.parent().filter(|p| !p.as_os_str().is_empty()),
        crate::db::DatabaseUrl::Postgres(_) => None,
    }
}
