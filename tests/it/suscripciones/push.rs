//! Push: the node sends each event of a push subscription to the agreement's callback, an
//! example receiver (`siis::receptor`) in the test's process, over mutual TLS with a PKI of the
//! test's own. Every delivery goes through the broker (audited, transport `push`, naming the
//! person), is applied once by its key, retried, dead-lettered, kept in order per person, and
//! revoked when the agreement no longer grants its kind.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use diesel::prelude::*;
use serde_json::{Value, json};
use siis::config::NotificacionesConfig;
use siis::db::schema::{auditoria, entregas};
use siis::receptor::{Estado, ReceptorOptions, Recibida};
use tempfile::TempDir;

use super::outbox::{Evento, registrar};
use super::{defuncion, persona, suscribir};
use crate::per_backend;
use crate::support::{Backend, Setup, TestNode, convenios_with};

/// An agreement for push tests: deaths and ended benefits, pushed to `callback`.
pub fn convenio(callback: &str, eventos: &[&str]) -> String {
    let eventos: Vec<String> = eventos.iter().map(|e| format!("{e:?}")).collect();
    format!(
        r#"id = "avisos"
agency = "Avisos de prueba"
legal_basis = "Prueba"
purpose = "Probar la entrega push"
valid_from = 2026-01-01
valid_until = 2099-12-31

[limits]
per_second = 100000
burst = 100000
daily_quota = 100000000

[[clients]]
subject_cn = "avisos"

[operations.Suscripciones]
fields = ["id", "suscripcion", "secuencia", "tipo", "registrado", "run", "fechaDefuncion"]
eventos = [{}]
entrega = ["push"]
callbacks = ["{callback}"]
"#,
        eventos.join(", ")
    )
}

/// A receiver on a free port of the loopback: its server certificate from `pki`, trusting
/// client certificates of `ca` (the node's CA) from the node's name only.
pub fn receptor(pki: &Path, ca: &Path, claves: &Path, fallar: u64, lento: Duration) -> u16 {
    receptor_con(pki, ca, claves, fallar, lento, 0)
}

/// [`receptor`], keeping the last `guardar` notifications for [`recibidas`].
pub fn receptor_con(
    pki: &Path,
    ca: &Path,
    claves: &Path,
    fallar: u64,
    lento: Duration,
    guardar: usize,
) -> u16 {
    let started = siis::receptor::start(ReceptorOptions {
        listen: "127.0.0.1:0".parse().unwrap(),
        cert: pki.join(siis::pki::RECEPTOR_CERT),
        key: pki.join(siis::pki::RECEPTOR_KEY),
        ca: ca.to_owned(),
        nodo_cn: siis::pki::NODE_CN.into(),
        claves: claves.to_owned(),
        fallar,
        lento,
        imprimir: false,
        guardar,
    })
    .unwrap();
    actix_web::rt::spawn(started.server);
    started.addr.port()
}

pub async fn estado(node_pki: &Path, port: u16) -> Estado {
    leer_receptor(node_pki, port, "/estado").await
}

/// What a receiver started with `guardar` kept, oldest first.
pub async fn recibidas(node_pki: &Path, port: u16) -> Vec<Recibida> {
    leer_receptor(node_pki, port, "/recibidas").await
}

async fn leer_receptor<T: serde::de::DeserializeOwned>(
    node_pki: &Path,
    port: u16,
    path: &str,
) -> T {
    // The receiver's pages want the node's certificate too.
    let client = siis::push::client(&siis::push::PushOptions {
        cert: node_pki.join(siis::pki::NODE_CERT),
        key: node_pki.join(siis::pki::NODE_KEY),
        ca: node_pki.join(siis::pki::CA_CERT),
        connect_timeout: Duration::from_secs(2),
        timeout: Duration::from_secs(5),
        idle_per_host: 1,
    })
    .unwrap();
    client
        .get(format!("https://localhost:{port}{path}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// A node with the `avisos` agreement pushing to a receiver, and its push subscription.
struct Push {
    node: TestNode,
    port: u16,
    suscripcion: String,
    convenios: PathBuf,
    _dir: TempDir,
}

struct Opciones {
    fallar: u64,
    /// The receiver's certificate comes from another CA's PKI.
    otra_ca: bool,
    eventos: &'static [&'static str],
    notificaciones: fn(&mut NotificacionesConfig),
}

impl Default for Opciones {
    fn default() -> Self {
        Opciones {
            fallar: 0,
            otra_ca: false,
            eventos: &["defuncion", "beneficio_terminado"],
            notificaciones: |_| {},
        }
    }
}

impl Push {
    async fn start(backend: Backend, opciones: Opciones) -> Push {
        let dir = TempDir::new().unwrap();
        // The receiver's port is known only once the node's PKI exists: the agreement names a
        // placeholder first, and is reloaded with the receiver's URL.
        let placeholder = convenio("https://localhost:1/eventos", opciones.eventos);
        let convenios = convenios_with(dir.path(), &[("avisos.toml", placeholder)]);
        let ajustes = opciones.notificaciones;
        let node = TestNode::start_with(
            backend,
            Setup {
                convenios: Some(convenios.clone()),
                configure: Some(Box::new(move |c| {
                    c.notificaciones.sondeo_ms = 50;
                    c.notificaciones.espera_base_ms = 20;
                    c.notificaciones.espera_tope_ms = 100;
                    c.notificaciones.lease_ms = 5_000;
                    c.notificaciones.timeout_ms = 2_000;
                    ajustes(&mut c.notificaciones);
                })),
                ..Setup::default()
            },
        )
        .await;
        let receptor_pki = match opciones.otra_ca {
            false => node.pki.clone(),
            true => {
                let otra = dir.path().join("otra-pki");
                siis::pki::dev(&otra, &[]).unwrap();
                otra
            }
        };
        let port = receptor(
            &receptor_pki,
            &node.pki.join(siis::pki::CA_CERT),
            &dir.path().join("claves.db"),
            opciones.fallar,
            Duration::ZERO,
        );
        let url = format!("https://localhost:{port}/eventos");
        std::fs::write(
            convenios.join("avisos.toml"),
            convenio(&url, opciones.eventos),
        )
        .unwrap();
        node.node.reload().expect("agreements reload");
        let (status, answer) = suscribir(
            &node,
            "avisos",
            json!({"tipos": opciones.eventos, "entrega": "push", "url": url}),
        )
        .await;
        assert_eq!(status, 201, "{answer}");
        Push {
            node,
            port,
            suscripcion: answer["id"].as_str().unwrap().to_owned(),
            convenios,
            _dir: dir,
        }
    }

    async fn estado(&self) -> Estado {
        estado(&self.node.pki, self.port).await
    }

    /// The subscription's rows as (secuencia, estado, intentos).
    fn filas(&self) -> Vec<(i64, String, i32)> {
        entregas::table
            .filter(entregas::suscripcion_id.eq(&self.suscripcion))
            .order(entregas::secuencia)
            .select((entregas::secuencia, entregas::estado, entregas::intentos))
            .load(&mut self.node.db())
            .unwrap()
    }

    /// Waits until `listo` holds of the rows.
    async fn esperar(&self, what: &str, listo: impl Fn(&[(i64, String, i32)]) -> bool) {
        let limite = Instant::now() + Duration::from_secs(30);
        loop {
            let filas = self.filas();
            if listo(&filas) {
                return;
            }
            assert!(Instant::now() < limite, "{what}: {filas:?}");
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// The push records' (message id, subjects, outcome, fields).
    fn registros(&self) -> Vec<(String, String, String, String)> {
        auditoria::table
            .filter(auditoria::transporte.eq("push"))
            .order(auditoria::id)
            .select((
                auditoria::id_mensaje,
                auditoria::sujetos,
                auditoria::resultado,
                auditoria::campos,
            ))
            .load(&mut self.node.db())
            .unwrap()
    }
}

fn todas(estado: &'static str) -> impl Fn(&[(i64, String, i32)]) -> bool {
    move |filas| !filas.is_empty() && filas.iter().all(|f| f.1 == estado)
}

per_backend!(
    #[actix_web::test]
    async fn each_event_is_applied_once_and_audited_before_it_is_sent(backend) {
        let push = Push::start(backend, Opciones::default()).await;
        let personas: Vec<u32> = (1..=20).map(|n| 6_000_000 + n).collect();
        registrar(&push.node, &personas.iter().map(|n| defuncion(*n, "13101")).collect::<Vec<_>>()).await;
        push.esperar("every event delivered", todas("entregada")).await;
        assert_eq!(push.filas().len(), 20);
        let estado = push.estado().await;
        assert_eq!((estado.aplicadas, estado.repetidas, estado.fallidas), (20, 0, 0), "{estado:?}");
        // One record per delivery, under the agreement, naming the person, with the fields
        // its grant discloses; the message id is the key and the attempt.
        let registros = push.registros();
        assert_eq!(registros.len(), 20, "{registros:?}");
        let mut vistos = Vec::new();
        for (id, sujetos, resultado, campos) in &registros {
            assert_eq!(resultado, "OK");
            let clave = id.strip_prefix(&format!("{}-", push.suscripcion)).and_then(|c| c.strip_suffix(".1")).unwrap_or_else(|| panic!("{id}"));
            let secuencia: usize = clave.parse().unwrap();
            vistos.push(secuencia);
            assert!(sujetos.contains(&persona(personas[secuencia - 1]).to_string()), "{sujetos}");
            assert!(campos.contains("fechaDefuncion") && campos.contains("run"), "{campos}");
        }
        vistos.sort_unstable();
        assert_eq!(vistos, (1..=20).collect::<Vec<_>>());
        // The person's access report shows who was told.
        let report = crate::support::access_report(&push.node, persona(personas[0])).await;
        let avisos: Vec<&Value> = report["accesos"].as_array().unwrap().iter().filter(|a| a["convenio"] == "avisos").collect();
        assert_eq!(avisos.len(), 1, "{report}");
        let metrics = crate::metricas::scrape(&push.node).await;
        assert!(metrics.contains("siis_entrega_intentos_total{resultado=\"entregada\"} 20"), "{metrics}");
        assert!(metrics.contains("siis_entrega_latencia_seconds_count 20"), "{metrics}");
        push.node.stop().await;
    }
);

per_backend!(
    #[actix_web::test]
    async fn a_failing_receiver_is_tried_again_until_it_answers(backend) {
        let push = Push::start(backend, Opciones { fallar: 3, ..Opciones::default() }).await;
        registrar(&push.node, &[defuncion(6_100_001, "13101")]).await;
        push.esperar("delivered after three failures", todas("entregada")).await;
        assert_eq!(push.filas()[0].2, 4, "four attempts");
        let estado = push.estado().await;
        assert_eq!((estado.recibidas, estado.aplicadas, estado.fallidas), (4, 1, 3), "{estado:?}");
        // Every attempt is a disclosure with a record of its own, one message id each.
        let ids: Vec<String> = push.registros().into_iter().map(|r| r.0).collect();
        let clave = format!("{}-1", push.suscripcion);
        assert_eq!(ids, (1..=4).map(|n| format!("{clave}.{n}")).collect::<Vec<_>>());
        push.node.stop().await;
    }
);

per_backend!(
    #[actix_web::test]
    async fn a_receiver_that_keeps_failing_gets_a_dead_letter(backend) {
        let push = Push::start(
            backend,
            Opciones { fallar: 1_000, notificaciones: |n| n.intentos_max = 3, ..Opciones::default() },
        )
        .await;
        registrar(&push.node, &[defuncion(6_200_001, "13101")]).await;
        push.esperar("a dead letter", todas("muerta")).await;
        assert_eq!(push.filas()[0].2, 3);
        // Nothing more is sent once it is dead.
        tokio::time::sleep(Duration::from_millis(300)).await;
        let estado = push.estado().await;
        assert_eq!((estado.recibidas, estado.aplicadas), (3, 0), "{estado:?}");
        let error: Option<String> = entregas::table.select(entregas::ultimo_error).first(&mut push.node.db()).unwrap();
        assert_eq!(error.as_deref(), Some("HTTP 503"));
        // A dead letter is the operator's business, not the balancer's: the node stays ready.
        let ready = push.node.client(None).get(push.node.admin_url("/readyz")).send().await.unwrap();
        assert_eq!(ready.status(), 200);
        let metrics = crate::metricas::scrape(&push.node).await;
        assert!(metrics.contains("siis_entrega_intentos_total{resultado=\"muerta\"} 1"), "{metrics}");
        push.node.stop().await;
    }
);

per_backend!(
    #[actix_web::test]
    async fn a_persons_next_event_waits_for_the_first_while_others_pass(backend) {
        // One call at a time and one attempt each: the first call fails and dies.
        let push = Push::start(
            backend,
            Opciones {
                fallar: 1,
                notificaciones: |n| {
                    n.en_vuelo = 1;
                    n.intentos_max = 1;
                },
                ..Opciones::default()
            },
        )
        .await;
        let (a, b) = (6_300_001, 6_300_002);
        let termino = Evento::new("beneficio_terminado", persona(a), "13101", json!({"programa": "PBS", "estado": "extinguido"}));
        registrar(&push.node, &[defuncion(a, "13101"), defuncion(b, "13101"), termino]).await;
        push.esperar("the other person's event delivered", |f| f.len() == 3 && f[1].1 == "entregada").await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        // A's first event is a dead letter; A's second waits behind it, never tried; B's passed.
        assert_eq!(
            push.filas(),
            [(1, "muerta".into(), 1), (2, "entregada".into(), 1), (3, "pendiente".into(), 0)]
        );
        push.node.stop().await;
    }
);

per_backend!(
    #[actix_web::test]
    async fn an_event_of_a_kind_no_longer_granted_is_revoked_not_sent(backend) {
        let push = Push::start(backend, Opciones::default()).await;
        let estado_antes = push.estado().await;
        // The agreement now grants ended benefits only; the subscription stays open.
        let url = format!("https://localhost:{}/eventos", push.port);
        std::fs::write(push.convenios.join("avisos.toml"), convenio(&url, &["beneficio_terminado"])).unwrap();
        push.node.node.reload().expect("reload");
        // A row the fan-out made under the old grant (the fan-out no longer would).
        let ids = registrar(&push.node, &[defuncion(6_400_001, "13101")]).await;
        let mut conn = push.node.db();
        diesel::insert_into(entregas::table)
            .values((
                entregas::suscripcion_id.eq(&push.suscripcion),
                entregas::secuencia.eq(1_i64),
                entregas::evento_id.eq(ids[0]),
                entregas::run.eq(6_400_001),
                entregas::estado.eq("pendiente"),
                entregas::proximo_us.eq(0_i64),
            ))
            .execute(&mut conn)
            .unwrap();
        push.node.node.broker.entregas_nuevas.notify_one();
        push.esperar("revoked", todas("revocada")).await;
        assert_eq!(push.estado().await, estado_antes, "nothing was sent");
        let registros = push.registros();
        assert_eq!(registros.len(), 1, "{registros:?}");
        assert_eq!(registros[0].2, "EVENTO_NO_CONCEDIDO");
        assert_eq!(registros[0].3, "", "no field disclosed");
        push.node.stop().await;
    }
);

per_backend!(
    #[actix_web::test]
    async fn a_receiver_whose_certificate_another_ca_signed_gets_nothing(backend) {
        let push = Push::start(
            backend,
            Opciones { otra_ca: true, notificaciones: |n| n.intentos_max = 2, ..Opciones::default() },
        )
        .await;
        registrar(&push.node, &[defuncion(6_500_001, "13101")]).await;
        push.esperar("a dead letter", todas("muerta")).await;
        let error: Option<String> = entregas::table.select(entregas::ultimo_error).first(&mut push.node.db()).unwrap();
        assert!(error.as_deref().is_some_and(|e| e.contains("certificate")), "{error:?}");
        // The receiver's /estado is asked with the node's CA: it cannot be read either, so
        // ask the receiver's own database.
        let claves: i64 = {
            use diesel::sqlite::SqliteConnection;
            let path = push._dir.path().join("claves.db");
            let mut c = SqliteConnection::establish(path.to_str().unwrap()).unwrap();
            diesel::sql_query("SELECT COUNT(*) AS n FROM claves")
                .get_result::<Cuenta>(&mut c)
                .unwrap()
                .n
        };
        assert_eq!(claves, 0);
        push.node.stop().await;
    }
);

#[derive(QueryableByName)]
pub struct Cuenta {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub n: i64,
}
