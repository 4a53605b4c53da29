//! A node killed with `kill -9` in mid-delivery and started again: every event reaches the
//! receiver, and the receiver applies none twice (the rows the dead node had claimed are
//! claimed again once their lease is past and sent with the same key).

use std::path::Path;
use std::time::{Duration, Instant};

use diesel::prelude::*;
use siis::db::schema::{entregas, eventos};
use siis::domain::SuscripcionId;
use siis::ops::suscripciones::store::{self, SuscripcionFila};
use tempfile::TempDir;

use super::push::{convenio, estado, receptor};
use crate::cluster::nodos::{Comun, Nodo};
use crate::per_backend;
use crate::support::{TestDb, convenios_with, make_pki, url_arg};

const EVENTOS: usize = 2_000;

fn contar(db: &TestDb, estado: &str) -> i64 {
    let pool = siis::db::open_pool(&db.url, 1, Duration::from_secs(5)).unwrap();
    let mut conn = pool.get().unwrap();
    entregas::table
        .filter(entregas::estado.eq(estado))
        .count()
        .get_result(&mut **conn)
        .unwrap()
}

/// The subscription and its events, written before any node starts.
fn preparar(db: &TestDb, url: &str) {
    let pool = siis::db::open_pool(&db.url, 1, Duration::from_secs(5)).unwrap();
    let mut conn = pool.get().unwrap();
    let fila = SuscripcionFila {
        id: SuscripcionId::new().to_string(),
        convenio: "avisos".into(),
        tipos: r#"["defuncion"]"#.into(),
        entrega: "push".into(),
        url: Some(url.to_owned()),
        formato: "json".into(),
        con_lista: false,
        estado: "activa".into(),
        ultima_secuencia: 0,
        creada_us: store::now_us(),
        cerrada_us: None,
        registro_dci: None,
    };
    store::insertar(&mut conn, &fila, &[]).unwrap();
    siis::db::write_transaction(&mut conn, |conn| {
        for n in 0..EVENTOS {
            diesel::insert_into(eventos::table)
                .values((
                    eventos::tipo.eq("defuncion"),
                    eventos::run.eq(7_000_000 + n as i32),
                    eventos::cut.eq(Some("13101")),
                    eventos::datos.eq(r#"{"fechaDefuncion":"2026-11-30"}"#),
                    eventos::origen.eq("lote"),
                    eventos::origen_id.eq("1"),
                    eventos::registrado_us.eq(store::now_us()),
                ))
                .execute(conn)?;
        }
        Ok::<_, diesel::result::Error>(())
    })
    .unwrap();
}

fn claves_distintas(path: &Path) -> i64 {
    let mut c = diesel::sqlite::SqliteConnection::establish(path.to_str().unwrap()).unwrap();
    diesel::sql_query("SELECT COUNT(DISTINCT clave) AS n FROM claves")
        .get_result::<super::push::Cuenta>(&mut c)
        .unwrap()
        .n
}

per_backend!(
    #[actix_web::test]
    async fn a_node_killed_in_mid_delivery_loses_nothing_and_nothing_is_applied_twice(backend) {
        let dir = TempDir::new().unwrap();
        let db = TestDb::new(backend, dir.path());
        let pki = make_pki(dir.path(), &["avisos"]);
        let claves = dir.path().join("claves.db");
        // A receiver a little slow, so that calls are in flight when the node dies.
        let port = receptor(&pki, &pki.join(siis::pki::CA_CERT), &claves, 0, Duration::from_millis(3));
        let url = format!("https://localhost:{port}/eventos");
        let convenios = convenios_with(dir.path(), &[("avisos.toml", convenio(&url, &["defuncion"]))]);
        preparar(&db, &url);
        let env = |k: &str, v: &str| (format!("SIIS__NOTIFICACIONES__{k}"), v.to_owned());
        let comun = Comun {
            database: url_arg(&db.url),
            pki: pki.clone(),
            convenios,
            dir: dir.path().to_owned(),
            env: vec![
                env("SONDEO_MS", "50"),
                env("LEASE_MS", "3000"),
                env("TIMEOUT_MS", "2000"),
                env("ESPERA_BASE_MS", "20"),
                env("ESPERA_TOPE_MS", "100"),
            ],
        };
        let mut nodo = Nodo::solo(&comun);
        let limite = Instant::now() + Duration::from_secs(120);
        while estado(&pki, port).await.aplicadas < (EVENTOS / 4) as u64 {
            assert!(Instant::now() < limite, "no deliveries:\n{}", nodo.logged());
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        nodo.kill();
        // It died with calls in flight: their rows are still claimed.
        assert!(contar(&db, "en_curso") > 0, "nothing was in flight");
        let antes = estado(&pki, port).await;
        assert!(antes.aplicadas < EVENTOS as u64, "{antes:?}");

        let mut nodo = Nodo::solo(&comun);
        let limite = Instant::now() + Duration::from_secs(180);
        while contar(&db, "entregada") < EVENTOS as i64 {
            assert!(Instant::now() < limite, "not every event delivered:\n{}", nodo.logged());
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let despues = estado(&pki, port).await;
        assert_eq!(despues.aplicadas, EVENTOS as u64, "{despues:?}");
        // A call cut short by the kill before its key was stored counts as received only.
        assert!(despues.recibidas >= despues.aplicadas + despues.repetidas, "{despues:?}");
        assert_eq!(claves_distintas(&claves), EVENTOS as i64);
        nodo.terminate();
        nodo.wait(Duration::from_secs(20));
    }
);
