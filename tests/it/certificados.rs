//! EmitirCertificado and VerificarCertificado: issue → PDF → QR decode → offline verify →
//! tamper detected; online verification by folio and code; every refusal changes nothing.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use diesel::prelude::*;
use serde_json::{Value, json};
use siis::db::schema::{auditoria, certificados};
use siis::ops::certificados::Payload;

use crate::per_backend;
use crate::registry;
use crate::support::{Setup, TestDb, TestNode, convenios_with, make_pki, repo_path, test_config};

/// Decodes the QR code of the first image in a PDF, independently of the node's own reader.
fn qr_of_pdf(pdf: &[u8]) -> String {
    let doc = lopdf::Document::load_mem(pdf).expect("a PDF");
    assert_eq!(doc.get_pages().len(), 1, "one page");
    let page = doc.get_pages()[&1];
    let media_box = doc
        .get_dictionary(page)
        .unwrap()
        .get(b"MediaBox")
        .unwrap()
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o.as_i64().unwrap())
        .collect::<Vec<_>>();
    assert_eq!(media_box, [0, 0, 595, 842], "A4");
    for object in doc.objects.values() {
        if let lopdf::Object::Stream(s) = object
            && s.dict.get(b"Subtype").and_then(|o| o.as_name()).ok() == Some(b"Image")
        {
            let w = s.dict.get(b"Width").unwrap().as_i64().unwrap() as usize;
            let h = s.dict.get(b"Height").unwrap().as_i64().unwrap() as usize;
            let pixels = s.decompressed_content().unwrap();
            let mut img =
                rqrr::PreparedImage::prepare_from_greyscale(w, h, |x, y| pixels[y * w + x]);
            let grids = img.detect_grids();
            assert_eq!(grids.len(), 1, "one QR code");
            return grids[0].decode().expect("QR decodes").1;
        }
    }
    panic!("no image in the PDF");
}

fn public_key(node: &TestNode) -> openssl::pkey::PKey<openssl::pkey::Public> {
    siis::ops::certificados::firma::load_public(&node.pki.join("documentos.pem")).unwrap()
}

fn certificados_count(node: &TestNode) -> i64 {
    certificados::table
        .count()
        .get_result(&mut node.db())
        .unwrap()
}

fn last_audit(node: &TestNode) -> (String, String, String, String) {
    auditoria::table
        .order(auditoria::id.desc())
        .select((
            auditoria::operacion,
            auditoria::resultado,
            auditoria::sujetos,
            auditoria::campos,
        ))
        .first(&mut node.db())
        .unwrap()
}

/// Replaces the score in a payload's content, keeping the signature.
fn tamper(payload: &str) -> String {
    let (content, signature) = payload.split_once('.').unwrap();
    let content = String::from_utf8(URL_SAFE_NO_PAD.decode(content).unwrap()).unwrap();
    let mut fields: Vec<String> = content.split('|').map(str::to_owned).collect();
    fields[10] = if fields[10] == "16000" {
        "2100".into()
    } else {
        "16000".into()
    };
    format!("{}.{signature}", URL_SAFE_NO_PAD.encode(fields.join("|")))
}

per_backend!(
    async fn a_certificate_goes_from_issue_to_pdf_to_qr_to_offline_and_online_verification(
        backend
    ) {
        let node = TestNode::start_with(
            backend,
            Setup {
                persons: 10_000,
                ..Setup::default()
            },
        )
        .await;
        let run = registry::with_ficha(&mut node.db(), Some("13101"));
        let client = node.client(Some("muni-13101"));
        let ficha: Value = client
            .get(node.agency_url(&format!("/api/v1/personas/{run}/ficha")))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();

        let r = client
            .post(node.agency_url("/api/v1/certificados"))
            .json(&json!({ "run": run.dotted(), "tipo": "certificado_fps" }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{backend:?}");
        let issued: Value = r.json().await.unwrap();
        let folio = issued["folio"].as_str().unwrap().to_owned();
        let codigo = issued["codigo"].as_str().unwrap().to_owned();
        assert!(folio.starts_with("CFP-") && folio.len() == 18, "{folio}");
        assert_eq!(codigo.len(), 11);
        assert_eq!(issued["tipo"], "certificado_fps");
        assert_eq!(issued["datos"]["run"], run.to_string());
        assert_eq!(issued["datos"]["puntaje"], ficha["puntaje"]);
        assert_eq!(issued["datos"]["quintil"], ficha["quintil"]);
        assert_eq!(issued["datos"]["folioFicha"], ficha["folio"]);
        assert_eq!(issued["datos"]["comuna"], "13101");
        assert_eq!(
            issued["datos"]["integrantes"].as_u64().unwrap() as usize,
            ficha["integrantes"].as_array().unwrap().len()
        );
        assert!(
            issued["urlVerificacion"]
                .as_str()
                .unwrap()
                .ends_with(&format!("/verificar/{folio}"))
        );
        let (op, outcome, subjects, fields) = last_audit(&node);
        assert_eq!((op.as_str(), outcome.as_str()), ("EmitirCertificado", "OK"));
        assert!(subjects.contains(&run.numero().to_string()), "{subjects}");
        assert!(
            fields.contains("datos.puntaje") && fields.contains("pdf"),
            "{fields}"
        );

        // The PDF's QR code carries the payload, which verifies with the public key alone.
        let pdf = STANDARD.decode(issued["pdf"].as_str().unwrap()).unwrap();
        let qr = qr_of_pdf(&pdf);
        assert_eq!(qr, issued["payload"].as_str().unwrap());
        let key = public_key(&node);
        let payload = Payload::verify(&qr, &key).expect("signature verifies");
        assert_eq!(payload.contenido.folio.as_str(), folio);
        assert_eq!(payload.contenido.run, run);
        assert_eq!(
            payload.contenido.puntaje,
            ficha["puntaje"].as_u64().map(|p| p as u16)
        );
        assert_eq!(payload.code(), codigo);
        // Tampering with the score breaks the signature.
        let forged = tamper(&qr);
        assert!(Payload::verify(&forged, &key).is_err());

        // The same checks from the command line, offline: the PDF file, then the payloads.
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("cert.pdf");
        std::fs::write(&file, &pdf).unwrap();
        let key_path = node.pki.join("documentos.pem");
        let cli = |input: &str| {
            node.siis(&[
                "certificados",
                "verificar",
                input,
                "--clave-publica",
                key_path.to_str().unwrap(),
            ])
        };
        let out = cli(file.to_str().unwrap());
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(stdout.starts_with("VALIDO"), "{stdout}");
        assert!(stdout.contains(&format!("folio: {folio}")), "{stdout}");
        assert!(stdout.contains(&format!("codigo: {codigo}")), "{stdout}");
        let out = cli(&forged);
        assert!(!out.status.success());
        assert!(String::from_utf8_lossy(&out.stdout).contains("FIRMA_INVALIDA"));
        let out = cli("garbage");
        assert!(!out.status.success());
        assert!(String::from_utf8_lossy(&out.stdout).contains("PAYLOAD_INVALIDO"));
        let mut bad_pdf = pdf.clone();
        bad_pdf.truncate(200);
        std::fs::write(&file, &bad_pdf).unwrap();
        let out = cli(file.to_str().unwrap());
        assert!(!out.status.success());
        assert!(String::from_utf8_lossy(&out.stdout).contains("NO VALIDO"));

        // Online, on the public listener without a client certificate. One address may make
        // 10 verifications at once (the default burst): this test makes exactly 10.
        let public = node.client(None);
        let verify = |folio: String, codigo: String, json: bool| {
            let mut req = public
                .get(node.public_url(&format!("/verificar/{folio}")))
                .query(&[("codigo", codigo)]);
            if json {
                req = req.header("accept", "application/json");
            }
            req.send()
        };
        let r = verify(folio.clone(), codigo.to_lowercase(), true)
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["valido"], true);
        assert_eq!(v["motivo"], "VALIDO");
        assert_eq!(v["certificado"]["puntaje"], ficha["puntaje"]);
        assert_eq!(v["certificado"]["comunaNombre"], "SANTIAGO");
        let masked = v["certificado"]["run"].as_str().unwrap();
        assert!(
            masked.starts_with("**.***.") || masked.starts_with("*.***."),
            "{masked}"
        );
        assert!(!masked.contains(&run.numero().to_string()));
        let (op, outcome, subjects, _) = last_audit(&node);
        assert_eq!(
            (op.as_str(), outcome.as_str()),
            ("VerificarCertificado", "OK")
        );
        assert!(subjects.contains(&run.numero().to_string()));

        let html = verify(folio.clone(), codigo.clone(), false).await.unwrap();
        assert_eq!(html.status(), 200);
        assert!(
            html.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/html")
        );
        let page = html.text().await.unwrap();
        assert!(
            page.contains("Certificado válido") && page.contains(&folio),
            "{page}"
        );

        // A wrong code shows nothing of the certificate.
        let r = verify(folio.clone(), "00000-00000".into(), true)
            .await
            .unwrap();
        assert_eq!(r.status(), 422);
        let v: Value = r.json().await.unwrap();
        assert_eq!(
            (v["valido"].as_bool(), v["motivo"].as_str()),
            (Some(false), Some("CODIGO_INCORRECTO"))
        );
        assert!(v.get("certificado").is_none());
        assert_eq!(last_audit(&node).1, "CODIGO_INCORRECTO");
        // The record keeps the status the caller got.
        let status: i32 = auditoria::table
            .order(auditoria::id.desc())
            .select(auditoria::estado_http)
            .first(&mut node.db())
            .unwrap();
        assert_eq!(status, 422);
        let page = verify(folio.clone(), "00000-00000".into(), false)
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(page.contains("NO válido") && !page.contains(&ficha["puntaje"].to_string()));

        // An unknown folio, a malformed folio, a malformed code.
        let r = verify("CFP-0000-0000-0000".into(), codigo.clone(), true)
            .await
            .unwrap();
        assert_eq!(r.status(), 404);
        assert_eq!(
            r.json::<Value>().await.unwrap()["motivo"],
            "FOLIO_DESCONOCIDO"
        );
        let r = verify(folio.clone(), "!!".into(), true).await.unwrap();
        assert_eq!(r.status(), 400);
        let r = public
            .get(node.public_url(&format!("/verificar/{folio}")))
            .header("accept", "application/json")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400, "the code is required");
        let form = public
            .get(node.public_url(&format!("/verificar/{folio}")))
            .send()
            .await
            .unwrap();
        assert_eq!(form.status(), 200);
        assert!(form.text().await.unwrap().contains("<form"));

        // A record altered in the database no longer verifies.
        diesel::update(certificados::table.filter(certificados::folio.eq(&folio)))
            .set(certificados::payload.eq(&forged))
            .execute(&mut node.db())
            .unwrap();
        let r = verify(folio.clone(), codigo.clone(), true).await.unwrap();
        assert_eq!(r.status(), 422);
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["motivo"], "FIRMA_INVALIDA");
        assert!(v.get("certificado").is_none());

        // A constancia, as the PDF itself.
        let r = client
            .post(node.agency_url("/api/v1/certificados"))
            .header("accept", "application/pdf")
            .json(&json!({ "run": run.to_string(), "tipo": "constancia" }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()["content-type"], "application/pdf");
        let con_folio = r.headers()["x-certificado-folio"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(con_folio.starts_with("CON-"));
        assert!(r.headers().contains_key("x-request-id"));
        let pdf = r.bytes().await.unwrap();
        let payload = Payload::verify(&qr_of_pdf(&pdf), &key).unwrap();
        assert_eq!(
            payload.contenido.puntaje, None,
            "a constancia carries no score"
        );
        assert_eq!(certificados_count(&node), 2);
        node.stop().await;
    }
);

per_backend!(
    async fn refused_issues_are_clear_audited_and_write_nothing(backend) {
        // An agreement of the test's own, without scope, to reach a person without ficha anywhere.
        let muni = std::fs::read_to_string(repo_path("convenios/muni-13101.toml")).unwrap();
        // Working survey requests, keeping households and issuing decrees need a scope: those
        // grants go with it.
        let mut muni = muni;
        for grant in [
            "[operations.TrabajarEncuestaje]",
            "[operations.ActualizarHogar]",
            "[operations.EmitirDecreto]",
        ] {
            let start = muni.find(grant).expect("the municipality's grant");
            let mut end = start + muni[start..].find("\n]\n").expect("end of the grant") + 3;
            if muni[end..].starts_with("programas") {
                end += muni[end..].find('\n').expect("end of programas") + 1;
            }
            muni = format!("{}{}", &muni[..start], &muni[end..]);
        }
        // And the modules' grants that need a territory (each table up to the next one).
        for def in siis::catalog::MODULOS.iter().flat_map(|m| m.operaciones) {
            use siis::catalog::ExigeAmbito::{Alguno, Comuna};
            if !matches!(def.ambito, Comuna | Alguno) {
                continue;
            }
            let Some(start) = muni.find(&format!("[operations.{}]", def.nombre)) else {
                continue;
            };
            let end = muni[start + 1..]
                .find("\n[operations.")
                .map_or(muni.len(), |at| start + 1 + at + 1);
            muni = format!("{}{}", &muni[..start], &muni[end..]);
        }
        let unscoped = muni
            .replace("id = \"muni-13101\"", "id = \"certificador\"")
            .replace("ambito = \"13101\"\n", "")
            .replace(
                "subject_cn = \"muni-13101\"",
                "subject_cn = \"certificador\"",
            );
        // And one granted EmitirCertificado without the score fields.
        let narrow = unscoped
            .replace("id = \"certificador\"", "id = \"constancias\"")
            .replace(
                "subject_cn = \"certificador\"",
                "subject_cn = \"constancias\"",
            )
            .replace(
                "    \"datos.puntaje\",\n    \"datos.quintil\",\n    \"datos.integrantes\",\n]",
                "]",
            );
        assert_ne!(narrow, unscoped.replace("certificador", "constancias"));
        // And one granted EmitirCertificado without the PDF.
        let sin_pdf = unscoped
            .replace("id = \"certificador\"", "id = \"sin-pdf\"")
            .replace("subject_cn = \"certificador\"", "subject_cn = \"sin-pdf\"")
            .replace("    \"payload\",\n    \"pdf\",\n", "    \"payload\",\n");
        assert!(!sin_pdf.contains("\"pdf\""), "the PDF grant was found");
        let dir = tempfile::tempdir().unwrap();
        let convenios = convenios_with(
            dir.path(),
            &[
                ("certificador.toml", &unscoped),
                ("constancias.toml", &narrow),
                ("sin-pdf.toml", &sin_pdf),
            ],
        );
        let node = TestNode::start_with(
            backend,
            Setup {
                persons: 10_000,
                convenios: Some(convenios),
                ..Setup::default()
            },
        )
        .await;
        let other = registry::with_ficha_outside(&mut node.db(), "13101");
        let sin_ficha = registry::without_ficha(&mut node.db());
        let muni = node.client(Some("muni-13101"));
        let post = |client: reqwest::Client, body: Value| {
            let url = node.agency_url("/api/v1/certificados");
            async move { client.post(url).json(&body).send().await.unwrap() }
        };
        let expect = |status: u16, code: &'static str| {
            move |r: Value, s: u16| {
                assert_eq!((s, r["code"].as_str().unwrap()), (status, code), "{r}");
            }
        };
        let cases: Vec<(reqwest::Client, Value, u16, &str, &str)> = vec![
            // Outside the municipality's comuna: not found, audited as FUERA_DE_AMBITO.
            (
                muni.clone(),
                json!({"run": other.to_string(), "tipo": "certificado_fps"}),
                404,
                "NO_ENCONTRADO",
                "FUERA_DE_AMBITO",
            ),
            (
                node.client(Some("certificador")),
                json!({"run": sin_ficha.to_string(), "tipo": "certificado_fps"}),
                404,
                "SIN_FICHA",
                "SIN_FICHA",
            ),
            (
                node.client(Some("certificador")),
                json!({"run": registry::unknown().to_string(), "tipo": "constancia"}),
                404,
                "NO_ENCONTRADO",
                "NO_ENCONTRADO",
            ),
            (
                muni.clone(),
                json!({"run": "12.345.678-9", "tipo": "certificado_fps"}),
                400,
                "RUN_INVALIDO",
                "RUN_INVALIDO",
            ),
            (
                muni.clone(),
                json!({"run": other.to_string(), "tipo": "certificado"}),
                400,
                "TIPO_CERTIFICADO_DESCONOCIDO",
                "TIPO_CERTIFICADO_DESCONOCIDO",
            ),
            (
                muni.clone(),
                json!({"run": other.to_string()}),
                400,
                "SOLICITUD_INVALIDA",
                "SOLICITUD_INVALIDA",
            ),
            (
                muni.clone(),
                json!({"run": other.to_string(), "tipo": "constancia", "extra": 1}),
                400,
                "SOLICITUD_INVALIDA",
                "SOLICITUD_INVALIDA",
            ),
            // Agencies without the grant, and a grant that lacks the score fields.
            (
                node.client(Some("minvu")),
                json!({"run": other.to_string(), "tipo": "constancia"}),
                403,
                "NO_AUTORIZADO",
                "NO_AUTORIZADO",
            ),
            (
                node.client(Some("constancias")),
                json!({"run": other.to_string(), "tipo": "certificado_fps"}),
                403,
                "CAMPO_NO_PERMITIDO",
                "CAMPO_NO_PERMITIDO",
            ),
        ];
        for (client, body, status, code, audited) in cases {
            let r = post(client, body.clone()).await;
            let s = r.status().as_u16();
            assert_eq!(
                r.headers()["content-type"],
                "application/problem+json",
                "{body}"
            );
            expect(status, code)(r.json().await.unwrap(), s);
            assert_eq!(last_audit(&node).1, audited, "{body}");
            assert_eq!(certificados_count(&node), 0, "{body}");
        }
        let r = muni
            .post(node.agency_url("/api/v1/certificados"))
            .header("content-type", "application/json")
            .body("{not json")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400);
        let r = muni
            .post(node.agency_url("/api/v1/certificados"))
            .body("run=1")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 415);
        // The PDF itself, asked under a grant without `pdf` (which every certificate carries):
        // refused before anything is issued, and audited as refused.
        let r = node
            .client(Some("sin-pdf"))
            .post(node.agency_url("/api/v1/certificados"))
            .header("accept", "application/pdf")
            .json(&json!({"run": other.to_string(), "tipo": "constancia"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 403);
        let problem: Value = r.json().await.unwrap();
        assert_eq!(problem["code"], "CAMPO_NO_PERMITIDO", "{problem}");
        assert_eq!(last_audit(&node).1, "CAMPO_NO_PERMITIDO");
        assert_eq!(certificados_count(&node), 0);
        // The narrow grant still issues constancias.
        let r = post(
            node.client(Some("constancias")),
            json!({"run": other.to_string(), "tipo": "constancia"}),
        )
        .await;
        assert_eq!(r.status(), 200);
        assert_eq!(certificados_count(&node), 1);
        node.stop().await;
    }
);

/// A node with certificate settings of the test's own.
async fn node_with(
    backend: crate::support::Backend,
    change: impl FnOnce(&mut siis::config::Config, &std::path::Path),
) -> (
    Result<siis::startup::Node, siis::startup::StartError>,
    TestDb,
    tempfile::TempDir,
) {
    let dir = tempfile::tempdir().unwrap();
    let db = TestDb::new(backend, dir.path());
    let pki = make_pki(dir.path(), &["muni-13101"]);
    let mut config = test_config(&db, &pki, dir.path());
    change(&mut config, &pki);
    let node = siis::startup::Node::start(std::sync::Arc::new(config));
    (node, db, dir)
}

per_backend!(
    async fn verification_is_rate_limited_per_address(backend) {
        let (node, db, dir) = node_with(backend, |c, _| {
            c.certificados.verificar_rafaga = 3;
            c.certificados.verificar_por_minuto = 1;
        })
        .await;
        let node = node.expect("node starts");
        let client = crate::support::tls_client(
            &dir.path().join("pki/ca.pem"),
            None,
            &[node.agency, node.public],
        );
        let url = format!(
            "https://localhost:{}/verificar/CFP-0000-0000-0000?codigo=00000-00000",
            node.public.port()
        );
        let audited = || {
            let mut conn = siis::db::ConnectionManager::new(db.url.clone()).open().unwrap();
            auditoria::table.count().get_result::<i64>(&mut conn).unwrap()
        };
        let before = audited();
        // Bad input counts too: a malformed folio, an unknown query parameter, then a folio
        // never issued (the node's own public listener answers each with a stable code).
        let public = |path: &str| format!("https://localhost:{}{path}", node.public.port());
        for (path, status, code) in [
            (
                "/verificar/nope?codigo=00000-00000",
                400,
                "SOLICITUD_INVALIDA",
            ),
            (
                "/verificar/CFP-0000-0000-0000?codigo=00000-00000&otro=1",
                400,
                "SOLICITUD_INVALIDA",
            ),
        ] {
            let r = client
                .get(public(path))
                .header("accept", "application/json")
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), status, "{path}");
            assert_eq!(r.json::<Value>().await.unwrap()["code"], code, "{path}");
        }
        let r = client
            .get(&url)
            .header("accept", "application/json")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 404);
        assert_eq!(
            r.json::<Value>().await.unwrap()["motivo"],
            "FOLIO_DESCONOCIDO"
        );
        let r = client
            .get(&url)
            .header("accept", "application/json")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 429);
        let retry: u64 = r.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((1..=60).contains(&retry), "{retry}");
        assert_eq!(r.json::<Value>().await.unwrap()["code"], "LIMITE_EXCEDIDO");
        let html = client.get(&url).send().await.unwrap();
        assert_eq!(html.status(), 429);
        assert!(html.headers().contains_key("retry-after"));
        assert!(html.text().await.unwrap().contains("LIMITE_EXCEDIDO"));
        // None of these concerned a person: an anonymous caller leaves no audit record.
        assert_eq!(audited(), before);
        node.stop().await.unwrap();
    }
);

#[tokio::test]
async fn a_node_that_issues_will_not_start_without_its_document_key() {
    let backend = crate::support::Backend::Sqlite;
    let (node, _db, _dir) = node_with(backend, |_, pki| {
        std::fs::remove_file(pki.join("documentos-key.pem")).unwrap();
    })
    .await;
    let err = node.err().expect("refused").to_string();
    assert!(
        err.contains("documentos-key.pem") && err.contains("certificados"),
        "{err}"
    );

    let (node, _db, _dir) = node_with(backend, |_, pki| {
        std::fs::write(pki.join("documentos-key.pem"), "not a key").unwrap();
    })
    .await;
    assert!(
        node.err()
            .expect("refused")
            .to_string()
            .contains("documentos-key.pem")
    );

    // Not issuing, it starts (and verifies with the public key).
    let (node, _db, _dir) = node_with(backend, |c, pki| {
        std::fs::remove_file(pki.join("documentos-key.pem")).unwrap();
        c.certificados.emitir = false;
    })
    .await;
    node.expect("starts without issuing").stop().await.unwrap();
}

#[test]
fn pki_dev_writes_a_private_document_key_and_its_public_key() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let pki = make_pki(dir.path(), &[]);
    let mode = std::fs::metadata(pki.join("documentos-key.pem"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o077, 0, "private key mode {mode:o}");
    let keys = siis::ops::certificados::DocumentKeys::load(
        &pki.join("documentos-key.pem"),
        &pki.join("documentos.pem"),
    )
    .unwrap();
    assert!(keys.can_sign());
    // Kept on a second run.
    let before = std::fs::read(pki.join("documentos.pem")).unwrap();
    make_pki(dir.path(), &[]);
    assert_eq!(std::fs::read(pki.join("documentos.pem")).unwrap(), before);
}
