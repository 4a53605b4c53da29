use std::path::Path;
use std::time::Duration;

use rand::SeedableRng;

use super::*;
use crate::receptor::{Estado, ReceptorOptions};

fn options(dir: &Path) -> PushOptions {
    PushOptions {
        cert: dir.join(crate::pki::NODE_CERT),
        key: dir.join(crate::pki::NODE_KEY),
        ca: dir.join(crate::pki::CA_CERT),
        connect_timeout: Duration::from_secs(2),
        timeout: Duration::from_secs(5),
        idle_per_host: 2,
    }
}

/// A receiver on a free port of the loopback, with the PKI of `dir`.
fn receptor(dir: &Path, fallar: u64) -> String {
    let started = crate::receptor::start(ReceptorOptions {
        listen: "127.0.0.1:0".parse().unwrap(),
        cert: dir.join(crate::pki::RECEPTOR_CERT),
        key: dir.join(crate::pki::RECEPTOR_KEY),
        ca: dir.join(crate::pki::CA_CERT),
        nodo_cn: crate::pki::NODE_CN.into(),
        claves: dir.join("claves.db"),
        fallar,
        lento: Duration::ZERO,
        imprimir: false,
        guardar: 0,
    })
    .unwrap();
    actix_web::rt::spawn(started.server);
    format!("https://localhost:{}", started.addr.port())
}

async fn estado(client: &reqwest::Client, base: &str) -> Estado {
    client
        .get(format!("{base}/estado"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[actix_web::test]
async fn a_notification_is_applied_once_by_its_key_and_a_refusal_is_retried() {
    let dir = tempfile::TempDir::new().unwrap();
    crate::pki::dev(dir.path(), &[]).unwrap();
    let base = receptor(dir.path(), 1);
    let client = client(&options(dir.path())).unwrap();
    let url = format!("{base}/eventos");
    let body = || br#"{"tipo":"defuncion"}"#.to_vec();

    // The receiver's first answer is a 503: try again.
    let first = enviar(&client, &url, "S1-7", body()).await;
    assert!(
        matches!(
            first,
            Resultado::Reintentar {
                estado: Some(503),
                ..
            }
        ),
        "{first:?}"
    );
    assert_eq!(
        enviar(&client, &url, "S1-7", body()).await,
        Resultado::Entregada { estado: 200 }
    );
    // Sent again (a node that died before recording the outcome): 200, not applied again.
    assert_eq!(
        enviar(&client, &url, "S1-7", body()).await,
        Resultado::Entregada { estado: 200 }
    );
    assert_eq!(
        estado(&client, &base).await,
        Estado {
            recibidas: 3,
            aplicadas: 1,
            repetidas: 1,
            fallidas: 1
        }
    );
}

#[actix_web::test]
async fn a_receiver_whose_certificate_another_ca_signed_is_never_sent_anything() {
    let ours = tempfile::TempDir::new().unwrap();
    let theirs = tempfile::TempDir::new().unwrap();
    crate::pki::dev(ours.path(), &[]).unwrap();
    crate::pki::dev(theirs.path(), &[]).unwrap();
    let base = receptor(theirs.path(), 0);
    let client = client(&options(ours.path())).unwrap();
    let outcome = enviar(&client, &format!("{base}/eventos"), "S1-1", b"{}".to_vec()).await;
    let Resultado::Reintentar {
        estado: None,
        motivo,
        ..
    } = outcome
    else {
        panic!("{outcome:?}")
    };
    assert!(motivo.contains("certificate"), "{motivo}");
}

#[actix_web::test]
async fn plain_http_is_never_called() {
    let dir = tempfile::TempDir::new().unwrap();
    crate::pki::dev(dir.path(), &[]).unwrap();
    let client = client(&options(dir.path())).unwrap();
    let outcome = enviar(
        &client,
        "http://127.0.0.1:9/eventos",
        "S1-1",
        b"{}".to_vec(),
    )
    .await;
    assert!(
        matches!(outcome, Resultado::Reintentar { estado: None, .. }),
        "{outcome:?}"
    );
}

#[test]
fn answers_are_told_apart_by_status() {
    assert_eq!(
        Resultado::de_estado(204, None),
        Resultado::Entregada { estado: 204 }
    );
    for estado in [408, 425, 429, 500, 502, 503] {
        assert!(
            matches!(
                Resultado::de_estado(estado, None),
                Resultado::Reintentar { .. }
            ),
            "{estado}"
        );
    }
    for estado in [301, 302, 307, 400, 401, 403, 404, 410, 422] {
        assert!(
            matches!(
                Resultado::de_estado(estado, None),
                Resultado::Rechazada { .. }
            ),
            "{estado}"
        );
    }
    assert_eq!(
        Resultado::de_estado(429, Some("30")),
        Resultado::Reintentar {
            estado: Some(429),
            despues: Some(Duration::from_secs(30)),
            motivo: "HTTP 429".into()
        }
    );
}

#[test]
fn backoff_grows_within_its_cap_and_honours_retry_after() {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
    let (base, tope) = (Duration::from_secs(1), Duration::from_secs(600));
    for intentos in 0..40 {
        let techo = (base * 2u32.pow(intentos.min(20))).min(tope);
        for _ in 0..50 {
            assert!(espera(intentos, base, tope, None, &mut rng) <= techo);
        }
    }
    // Full jitter: waits spread over the whole range, not all at the cap.
    let waits: Vec<_> = (0..200)
        .map(|_| espera(10, base, tope, None, &mut rng))
        .collect();
    assert!(waits.iter().any(|w| *w < Duration::from_secs(100)));
    assert!(waits.iter().any(|w| *w > Duration::from_secs(500)));
    let after = Duration::from_secs(120);
    for _ in 0..50 {
        let wait = espera(0, base, tope, Some(after), &mut rng);
        assert!(wait >= after && wait <= tope, "{wait:?}");
    }
}
