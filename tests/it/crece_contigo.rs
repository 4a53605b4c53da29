//! Chile Crece Contigo (docs/crece_contigo.md): a follow-up from entry to a referral that the
//! education sector lists and answers without ever seeing an alert; another territory's
//! follow-up answered as unknown; the health service holding no Chile Solidario operation; bad
//! input refused with its code and nothing stored; the same operations over SOAP.

mod soap;

use chrono::Duration;
use diesel::prelude::*;
use serde_json::{Value, json};
use siis::db::schema::{chcc_derivaciones, chcc_seguimientos};
use siis::domain::Run;

use crate::ambito::report;
use crate::per_backend;
use crate::postulaciones::persona;
use crate::support::TestNode;

pub(crate) const SALUD: &str = "salud-13";

fn hoy() -> chrono::NaiveDate {
    siis::broker::local_today()
}

async fn json_of(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn post(node: &TestNode, convenio: &str, path: &str, body: Value) -> (u16, Value) {
    json_of(
        node.client(Some(convenio))
            .post(node.agency_url(&format!("/api/v1{path}")))
            .json(&body)
            .send()
            .await
            .unwrap(),
    )
    .await
}

async fn get(node: &TestNode, convenio: &str, path: &str) -> (u16, Value) {
    json_of(
        node.client(Some(convenio))
            .get(node.agency_url(&format!("/api/v1{path}")))
            .send()
            .await
            .unwrap(),
    )
    .await
}

/// An entry of `run` in `comuna`, 22 weeks of gestation.
pub(crate) fn ingreso(run: Run, comuna: &str) -> Value {
    json!({
        "run": run.to_string(),
        "comuna": comuna,
        "semanas": 22,
        "fechaProbableParto": (hoy() + Duration::weeks(18)).to_string(),
    })
}

async fn ingresar(node: &TestNode, convenio: &str, body: Value) -> (u16, Value) {
    post(node, convenio, "/crece-contigo/seguimientos", body).await
}

async fn evento(node: &TestNode, convenio: &str, id: &str, body: Value) -> (u16, Value) {
    post(
        node,
        convenio,
        &format!("/crece-contigo/seguimientos/{id}/eventos"),
        body,
    )
    .await
}

async fn consultar(node: &TestNode, convenio: &str, run: impl std::fmt::Display) -> (u16, Value) {
    get(node, convenio, &format!("/personas/{run}/crece-contigo")).await
}

async fn bandeja(node: &TestNode, convenio: &str, query: &str) -> (u16, Value) {
    get(
        node,
        convenio,
        &format!("/crece-contigo/derivaciones{query}"),
    )
    .await
}

async fn responder(node: &TestNode, convenio: &str, id: &str, body: Value) -> (u16, Value) {
    post(
        node,
        convenio,
        &format!("/crece-contigo/derivaciones/{id}/eventos"),
        body,
    )
    .await
}

fn codes(v: &Value, list: &str, key: &str) -> Vec<String> {
    v[list]
        .as_array()
        .unwrap_or_else(|| panic!("{v}"))
        .iter()
        .map(|x| x[key].as_str().unwrap().to_owned())
        .collect()
}

fn guardados(node: &TestNode) -> (i64, i64) {
    let mut conn = node.db();
    (
        chcc_seguimientos::table
            .count()
            .get_result(&mut conn)
            .unwrap(),
        chcc_derivaciones::table
            .count()
            .get_result(&mut conn)
            .unwrap(),
    )
}

per_backend!(
    async fn a_follow_up_reaches_education_without_its_alert(backend) {
        let node = TestNode::start_without_limits(backend).await;
        let (madre, nino) = {
            let mut conn = node.db();
            (persona(&mut conn, 23_000_001, 16), persona(&mut conn, 23_000_002, 0))
        };
        // The entry: late and adolescent, both alerts raised by themselves.
        let (status, s) = ingresar(&node, SALUD, ingreso(madre, "13101")).await;
        assert_eq!(status, 201, "{s}");
        let id = s["id"].as_str().unwrap().to_owned();
        assert!(id.starts_with("CCC-"), "{s}");
        assert_eq!(s["estado"], "gestacion");
        assert_eq!(codes(&s, "alertas", "codigo"), ["ingreso_tardio", "gestante_adolescente"]);

        let (status, s) = evento(&node, SALUD, &id, json!({ "evento": "control", "tipo": "prenatal", "resultado": "normal" })).await;
        assert_eq!((status, codes(&s, "controles", "tipo")), (200, vec!["prenatal".to_owned()]), "{s}");
        let (status, s) = evento(&node, SALUD, &id, json!({ "evento": "alerta", "codigo": "sintomas_depresivos" })).await;
        assert_eq!(status, 200, "{s}");
        assert_eq!(codes(&s, "alertas", "codigo").len(), 3);
        // A service for the child before the birth: refused, naming the field.
        let (status, e) = evento(&node, SALUD, &id, json!({ "evento": "derivacion", "prestacion": "sala_cuna" })).await;
        assert_eq!((status, e["code"].as_str(), e["campo"].as_str()), (400, Some("SEGUIMIENTO_INVALIDO"), Some("prestacion")), "{e}");

        let (status, s) = evento(&node, SALUD, &id, json!({ "evento": "nacimiento", "runNino": nino.to_string() })).await;
        assert_eq!((status, s["estado"].as_str(), s["runNino"].as_str()), (200, Some("nino"), Some(nino.to_string().as_str())), "{s}");
        let (status, s) = evento(&node, SALUD, &id, json!({ "evento": "derivacion", "prestacion": "sala_cuna", "alerta": "sintomas_depresivos" })).await;
        assert_eq!(status, 200, "{s}");
        let (status, s) = evento(&node, SALUD, &id, json!({ "evento": "derivacion", "prestacion": "visita_domiciliaria", "alerta": "sintomas_depresivos" })).await;
        assert_eq!(status, 200, "{s}");
        assert_eq!(codes(&s, "derivaciones", "sectorDestino"), ["educacion", "salud"]);

        // JUNJI lists education's tray: the child, the service; never the alert nor the mother.
        let (status, lista) = bandeja(&node, "junji", "").await;
        assert_eq!((status, lista["total"].as_i64()), (200, Some(1)), "{lista}");
        let d = &lista["derivaciones"][0];
        let keys: Vec<&str> = d.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            ["comuna", "estado", "fechaDerivacion", "fechaNacimiento", "id", "nombresNino", "prestacion", "runNino", "sectorDestino"],
            "{d}"
        );
        assert_eq!((d["prestacion"].as_str(), d["estado"].as_str()), (Some("sala_cuna"), Some("enviada")));
        let der = d["id"].as_str().unwrap().to_owned();
        // Another sector is not JUNJI's to list, nor this one the municipality's to answer.
        let (status, e) = bandeja(&node, "junji", "?sector=salud").await;
        assert_eq!((status, e["code"].as_str()), (403, Some("NO_AUTORIZADO")), "{e}");
        let (status, e) = responder(&node, "muni-13101", &der, json!({ "evento": "recibida" })).await;
        assert_eq!((status, e["code"].as_str()), (404, Some("NO_ENCONTRADO")), "{e}");
        // The health service sees its own referral with the alert it answers.
        let (_, salud) = bandeja(&node, SALUD, "").await;
        assert_eq!(salud["total"], 1, "{salud}");
        assert_eq!(salud["derivaciones"][0]["alerta"], "sintomas_depresivos");

        let (status, r) = responder(&node, "junji", &der, json!({ "evento": "recibida" })).await;
        assert_eq!((status, r["estado"].as_str()), (200, Some("recibida")), "{r}");
        assert!(r.get("alerta").is_none(), "{r}");
        let (status, r) = responder(&node, "junji", &der, json!({ "evento": "atendida" })).await;
        assert_eq!((status, r["estado"].as_str(), r["fechaRespuesta"].as_str()), (200, Some("atendida"), Some(hoy().to_string().as_str())), "{r}");
        let (status, e) = responder(&node, "junji", &der, json!({ "evento": "rechazada", "motivo": "x" })).await;
        assert_eq!((status, e["code"].as_str()), (409, Some("TRANSICION_NO_PERMITIDA")), "{e}");
        let (status, e) = responder(&node, "junji", &der, json!({ "evento": "cerrar" })).await;
        assert_eq!((status, e["code"].as_str()), (400, Some("EVENTO_INVALIDO")), "{e}");
        let (_, lista) = bandeja(&node, "junji", "?estado=enviada").await;
        assert_eq!(lista["total"], 0, "{lista}");

        // The follow-up, read by the child's RUN, shows the answer.
        let (status, s) = consultar(&node, SALUD, nino).await;
        assert_eq!((status, s["id"].as_str()), (200, Some(id.as_str())), "{s}");
        assert_eq!(codes(&s, "derivaciones", "estado"), ["atendida", "enviada"]);
        // The audit names the child for JUNJI's reads and the mother for the health service's.
        let accesos = report(&node, nino).await;
        assert!(accesos.iter().any(|(c, op, r, _)| c == "junji" && op == "GestionarDerivacionChCC" && r == "OK"), "{accesos:?}");
        let accesos = report(&node, madre).await;
        assert!(accesos.iter().any(|(c, op, _, _)| c == SALUD && op == "RegistrarSeguimientoChCC"), "{accesos:?}");
        node.stop().await;
    }
);

per_backend!(
    async fn another_territory_is_answered_as_unknown(backend) {
        let node = TestNode::start_without_limits(backend).await;
        let madre = persona(&mut node.db(), 23_100_001, 28);
        let desconocido = Run::from_numero(23_199_999).unwrap();
        let (status, s) = ingresar(&node, "muni-13101", ingreso(madre, "13101")).await;
        assert_eq!(status, 201, "{s}");
        let id = s["id"].as_str().unwrap();
        // Valparaíso: the follow-up and the person do not exist for it.
        let (s1, e1) = consultar(&node, "muni-05101", madre).await;
        let (s2, e2) = consultar(&node, "muni-05101", desconocido).await;
        assert_eq!((s1, e1["code"].as_str()), (404, Some("NO_ENCONTRADO")), "{e1}");
        assert_eq!((s1, &e1["detail"], &e1["title"]), (s2, &e2["detail"], &e2["title"]));
        let (status, e) = evento(&node, "muni-05101", id, json!({ "evento": "alerta", "codigo": "violencia" })).await;
        assert_eq!((status, e["code"].as_str()), (404, Some("NO_ENCONTRADO")), "{e}");
        let (status, e) = ingresar(&node, "muni-05101", ingreso(madre, "13101")).await;
        assert_eq!((status, e["code"].as_str(), e["campo"].as_str()), (403, Some("FUERA_DE_AMBITO"), Some("comuna")), "{e}");
        // Santiago and the health service see it; a second entry in gestation is refused.
        let (status, s) = consultar(&node, SALUD, madre).await;
        assert_eq!((status, s["id"].as_str()), (200, Some(id)), "{s}");
        let (status, e) = ingresar(&node, "muni-13101", ingreso(madre, "13101")).await;
        assert_eq!((status, e["code"].as_str()), (409, Some("SEGUIMIENTO_EN_CURSO")), "{e}");
        // Valparaíso may follow her in its own comuna: Santiago's is never disclosed to it.
        let (status, s) = ingresar(&node, "muni-05101", ingreso(madre, "05101")).await;
        assert_eq!(status, 201, "{s}");
        // The health service's scope is its region: another comuna of it, never Valparaíso's.
        let otra = persona(&mut node.db(), 23_100_002, 30);
        let (status, s) = ingresar(&node, SALUD, ingreso(otra, "13110")).await;
        assert_eq!(status, 201, "{s}");
        let (status, e) = ingresar(&node, SALUD, ingreso(otra, "05101")).await;
        assert_eq!((status, e["code"].as_str()), (403, Some("FUERA_DE_AMBITO")), "{e}");
        let (status, _) = consultar(&node, "muni-13101", otra).await;
        assert_eq!(status, 404, "Santiago does not see La Florida's follow-up");
        // A child of a household outside Santiago (and its region) named at birth: answered as an unknown RUN
        // (nothing about that child, not even their birth date, is weighed).
        let ajeno = persona(&mut node.db(), 23_100_050, 0);
        crate::postulaciones::hogar(&mut node.db(), 990_001, "05101", None, &[ajeno]);
        let nacimiento = |run: Run| json!({ "evento": "nacimiento", "runNino": run.to_string() });
        let (s1, e1) = evento(&node, "muni-13101", id, nacimiento(ajeno)).await;
        let (s2, e2) = evento(&node, "muni-13101", id, nacimiento(desconocido)).await;
        assert_eq!((s1, e1["code"].as_str()), (404, Some("NO_ENCONTRADO")), "{e1}");
        assert_eq!((s1, &e1["detail"], &e1["title"]), (s2, &e2["detail"], &e2["title"]));
        // The refused read is audited as out of scope, the caller told NO_ENCONTRADO.
        let accesos = report(&node, madre).await;
        assert!(accesos.iter().any(|(c, op, r, _)| c == "muni-05101" && op == "ConsultarSeguimientoChCC" && r == "FUERA_DE_AMBITO"), "{accesos:?}");
        node.stop().await;
    }
);

per_backend!(
    async fn the_health_service_holds_no_chile_solidario_operation(backend) {
        let node = TestNode::start_without_limits(backend).await;
        let (status, meta) = get(&node, SALUD, "/metaservicios/operaciones").await;
        assert_eq!(status, 200, "{meta}");
        let mut ops: Vec<String> = codes(&meta, "operaciones", "operacion");
        ops.sort();
        // Chile Crece Contigo only: ConsultarParticipacionCHS (Chile Solidario) is absent.
        assert_eq!(
            ops,
            ["ConsultarSeguimientoChCC", "GestionarDerivacionChCC", "RegistrarSeguimientoChCC"],
            "{meta}"
        );
        assert!(!ops.iter().any(|o| o.contains("CHS")), "{meta}");
        node.stop().await;
    }
);

per_backend!(
    async fn bad_input_is_refused_with_its_code_and_nothing_is_stored(backend) {
        let node = TestNode::start_without_limits(backend).await;
        let madre = persona(&mut node.db(), 23_200_001, 30);
        let desconocido = Run::from_numero(23_299_999).unwrap();
        let mut body = ingreso(madre, "13101");
        let with = |k: &str, v: Value| {
            let mut b = body.clone();
            b[k] = v;
            b
        };
        let cases = [
            (with("run", json!("1-1")), 400, "RUN_INVALIDO", None),
            (with("semanas", json!(50)), 400, "SEGUIMIENTO_INVALIDO", Some("semanas")),
            (with("fechaProbableParto", json!((hoy() + Duration::weeks(40)).to_string())), 400, "SEGUIMIENTO_INVALIDO", Some("fechaProbableParto")),
            (with("comuna", json!("99999")), 400, "COMUNA_DESCONOCIDA", Some("comuna")),
            (with("run", json!(desconocido.to_string())), 404, "NO_ENCONTRADO", None),
            (with("extra", json!(1)), 400, "SOLICITUD_INVALIDA", None),
        ];
        for (b, status, code, campo) in cases {
            let (s, e) = ingresar(&node, SALUD, b.clone()).await;
            assert_eq!((s, e["code"].as_str(), e["campo"].as_str()), (status, Some(code), campo), "{b} {e}");
        }
        assert_eq!(guardados(&node), (0, 0));
        body["semanas"] = json!(10);
        body["fechaProbableParto"] = json!((hoy() + Duration::weeks(30)).to_string());
        let (status, s) = ingresar(&node, SALUD, body).await;
        assert_eq!(status, 201, "{s}");
        assert!(s["alertas"].as_array().unwrap().is_empty(), "{s}");
        let id = s["id"].as_str().unwrap();
        let eventos = [
            (json!({ "evento": "parto" }), 400, "EVENTO_INVALIDO", Some("evento")),
            (json!({ "evento": "control", "tipo": "prenatal", "resultado": "normal", "codigo": "violencia" }), 400, "EVENTO_INVALIDO", Some("codigo")),
            (json!({ "evento": "control", "tipo": "nino_sano", "resultado": "normal" }), 400, "SEGUIMIENTO_INVALIDO", Some("tipo")),
            (json!({ "evento": "control", "tipo": "prenatal", "resultado": "bien" }), 400, "SEGUIMIENTO_INVALIDO", Some("resultado")),
            (json!({ "evento": "alerta", "codigo": "otra" }), 400, "SEGUIMIENTO_INVALIDO", Some("codigo")),
            (json!({ "evento": "resolucion", "codigo": "violencia" }), 400, "SEGUIMIENTO_INVALIDO", Some("codigo")),
            (json!({ "evento": "derivacion", "prestacion": "suf", "sector": "salud" }), 400, "SEGUIMIENTO_INVALIDO", Some("sector")),
            (json!({ "evento": "derivacion", "prestacion": "suf", "alerta": "violencia" }), 400, "SEGUIMIENTO_INVALIDO", Some("alerta")),
            (json!({ "evento": "control", "tipo": "prenatal", "resultado": "normal", "fecha": (hoy() + Duration::days(1)).to_string() }), 400, "SEGUIMIENTO_INVALIDO", Some("fecha")),
            (json!({ "evento": "nacimiento", "runNino": "2-2" }), 400, "RUN_INVALIDO", None),
            (json!({ "evento": "nacimiento", "runNino": desconocido.to_string() }), 404, "NO_ENCONTRADO", None),
            (json!({ "evento": "nacimiento", "runNino": madre.to_string() }), 400, "SEGUIMIENTO_INVALIDO", Some("runNino")),
            (json!({ "evento": "egreso", "motivo": "mudanza" }), 400, "SEGUIMIENTO_INVALIDO", Some("motivo")),
        ];
        for (b, status, code, campo) in eventos {
            let (s, e) = evento(&node, SALUD, id, b.clone()).await;
            assert_eq!((s, e["code"].as_str(), e["campo"].as_str()), (status, Some(code), campo), "{b} {e}");
        }
        let (status, e) = evento(&node, SALUD, "CCC-nada", json!({ "evento": "egreso", "motivo": "traslado" })).await;
        assert_eq!((status, e["code"].as_str()), (404, Some("NO_ENCONTRADO")), "{e}");
        // Nothing of the refused events was stored: the follow-up is as it entered.
        let (_, s) = consultar(&node, SALUD, madre).await;
        for list in ["controles", "alertas", "derivaciones"] {
            assert!(s[list].as_array().unwrap().is_empty(), "{s}");
        }
        // An exit closes it to every event.
        let (status, s) = evento(&node, SALUD, id, json!({ "evento": "egreso", "motivo": "traslado" })).await;
        assert_eq!((status, s["estado"].as_str()), (200, Some("egresado")), "{s}");
        let (status, e) = evento(&node, SALUD, id, json!({ "evento": "alerta", "codigo": "violencia" })).await;
        assert_eq!((status, e["code"].as_str()), (409, Some("TRANSICION_NO_PERMITIDA")), "{e}");
        // A tray's bad filters.
        for (q, status, code) in [
            ("?sector=vivienda", 400, "SEGUIMIENTO_INVALIDO"),
            ("?estado=cerrada", 400, "ESTADO_DESCONOCIDO"),
            ("?porPagina=0", 400, "PAGINACION_INVALIDA"),
            ("?comuna=05101", 403, "FUERA_DE_AMBITO"),
            ("?otro=1", 400, "SOLICITUD_INVALIDA"),
        ] {
            let (s, e) = bandeja(&node, "muni-13101", q).await;
            assert_eq!((s, e["code"].as_str()), (status, Some(code)), "{q} {e}");
        }
        node.stop().await;
    }
);

per_backend!(
    /// A tray's page is charged two units a referral of `porPagina` up front (the child and
    /// the gestante): a page larger than the agreement's burst is refused whole, before it is
    /// read, and a page within it is served.
    async fn a_tray_page_is_charged_its_persons_up_front(backend) {
        let node = TestNode::start(backend).await;
        let (status, e) = bandeja(&node, "junji", "?porPagina=100").await;
        assert_eq!((status, e["code"].as_str()), (413, Some("LOTE_SUPERA_RAFAGA")), "{e}");
        let (status, page) = bandeja(&node, "junji", "?porPagina=20").await;
        assert_eq!(status, 200, "{page}");
        node.stop().await;
    }
);
