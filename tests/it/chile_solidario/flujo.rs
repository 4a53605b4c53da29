//! The whole path of a participation over REST: ingreso, a session, a condition met, a bono
//! paid, egreso; each bad request refused with its code and nothing changed; the audit
//! record names the titular.

use super::*;
use crate::per_backend;
use crate::soap::{audit_after, last_audit_id};

per_backend!(
    async fn ingreso_sesion_condicion_bono_egreso(backend) {
        let node = TestNode::start_without_limits(backend).await;
        let f = familias(&mut node.db());
        let before = last_audit_id(&node);
        let (status, p) = ingresar(&node, "muni-13101", ingreso(f.titular, "puente")).await;
        assert_eq!(status, 201, "{p}");
        let id = p["id"].as_str().unwrap().to_owned();
        assert!(id.starts_with("CHS-"), "{id}");
        assert_eq!(p["estado"], "apoyo");
        assert_eq!(p["run"], f.titular.to_string());
        assert_eq!(p["comuna"]["codigo"], "13101");
        assert_eq!(p["condiciones"].as_array().unwrap().len(), 53);
        assert_eq!(con(&p, "condiciones", "estado", "a_trabajar").len(), 53);
        assert_eq!(con(&p, "bonos", "tipo", "proteccion").len(), 24);
        assert_eq!(p["sesiones"], json!([]));
        let audit = audit_after(&node, before);
        assert_eq!(audit[0].operacion, "TrabajarParticipacionCHS", "{audit:?}");
        assert!(audit[0].sujetos.contains(&f.titular.numero().to_string()), "{audit:?}");

        // One open participation per household, whichever member and program.
        for (run, programa) in [(f.titular, "puente"), (f.hijo, "vinculos")] {
            let (status, e) = ingresar(&node, "muni-13101", ingreso(run, programa)).await;
            assert_eq!((status, e["code"].as_str()), (409, Some("PARTICIPACION_EN_CURSO")), "{e}");
        }

        let (status, p) = evento(&node, "muni-13101", &id, json!({ "evento": "sesion", "tipo": "domiciliaria" })).await;
        assert_eq!(status, 200, "{p}");
        assert_eq!(p["sesiones"][0]["numero"], 1);
        let (status, p) = evento(&node, "muni-13101", &id,
            json!({ "evento": "condicion", "condicion": "HAB3", "estado": "cumplida" })).await;
        assert_eq!(status, 200, "{p}");
        let hab3 = con(&p, "condiciones", "codigo", "HAB3")[0];
        assert_eq!((hab3["estado"].as_str(), hab3["dimension"].as_str()), (Some("cumplida"), Some("habitabilidad")));
        let (status, p) = evento(&node, "muni-13101", &id, json!({ "evento": "pago_bono" })).await;
        assert_eq!(status, 200, "{p}");
        assert_eq!(con(&p, "bonos", "estado", "pagado").len(), 1);
        assert_eq!(p["bonos"][0]["estado"], "pagado");

        // Bad events: each its code, the participation unchanged.
        let (_, antes) = leer(&node, "muni-13101", &id).await;
        for (body, code, campo) in [
            (json!({ "evento": "visita" }), "EVENTO_INVALIDO", "evento"),
            (json!({ "evento": "condicion", "condicion": "XYZ9", "estado": "cumplida" }), "EVENTO_INVALIDO", "condicion"),
            (json!({ "evento": "sesion", "tipo": "domiciliaria", "motivo": "renuncia" }), "EVENTO_INVALIDO", "motivo"),
            (json!({ "evento": "sesion", "tipo": "domiciliaria", "fecha": "2000-01-01" }), "EVENTO_INVALIDO", "fecha"),
            (json!({ "evento": "egreso", "motivo": "aburrimiento" }), "EVENTO_INVALIDO", "motivo"),
        ] {
            let (status, e) = evento(&node, "muni-13101", &id, body.clone()).await;
            assert_eq!((status, e["code"].as_str(), e["campo"].as_str()), (400, Some(code), Some(campo)), "{body} {e}");
        }
        let (status, e) = evento(&node, "muni-13101", &id, json!({ "evento": "sesion", "otro": 1 })).await;
        assert_eq!((status, e["code"].as_str()), (400, Some("SOLICITUD_INVALIDA")), "{e}");
        assert_eq!(leer(&node, "muni-13101", &id).await.1, antes);

        let (status, p) = evento(&node, "muni-13101", &id, json!({ "evento": "egreso", "motivo": "cumplimiento" })).await;
        assert_eq!(status, 200, "{p}");
        assert_eq!((p["estado"].as_str(), p["motivoEgreso"].as_str()), (Some("egresada"), Some("cumplimiento")));
        assert_eq!(con(&p, "bonos", "estado", "suspendido").len(), 23);
        assert_eq!(con(&p, "bonos", "tipo", "egreso").len(), 36);
        // Egreso twice, or a session after it: refused, nothing changes.
        let (_, antes) = leer(&node, "muni-13101", &id).await;
        for body in [json!({ "evento": "egreso", "motivo": "renuncia" }), json!({ "evento": "sesion", "tipo": "grupal" })] {
            let (status, e) = evento(&node, "muni-13101", &id, body).await;
            assert_eq!((status, e["code"].as_str()), (409, Some("TRANSICION_NO_PERMITIDA")), "{e}");
        }
        assert_eq!(leer(&node, "muni-13101", &id).await.1, antes);
        // The bono de egreso is still paid after the egreso.
        let (status, p) = evento(&node, "muni-13101", &id, json!({ "evento": "pago_bono" })).await;
        assert_eq!(status, 200, "{p}");
        let egreso: Vec<_> = con(&p, "bonos", "tipo", "egreso");
        assert_eq!(egreso[0]["estado"], "pagado");

        // A new participation for the household once the first is closed; the list shows both.
        let (status, p2) = ingresar(&node, "muni-13101", ingreso(f.hijo, "vinculos")).await;
        assert_eq!(status, 201, "{p2}");
        let (status, lista) = listar(&node, "muni-13101", "13101", "").await;
        assert_eq!((status, lista["total"].as_i64()), (200, Some(2)), "{lista}");
        let (_, lista) = listar(&node, "muni-13101", "13101", "?programa=vinculos&estado=apoyo").await;
        assert_eq!(lista["total"], 1, "{lista}");
        for (query, code) in [("?estado=cerrada", "ESTADO_DESCONOCIDO"), ("?programa=chcc", "PARTICIPACION_INVALIDA"), ("?porPagina=101", "PAGINACION_INVALIDA"), ("?otro=1", "SOLICITUD_INVALIDA")] {
            let (status, e) = listar(&node, "muni-13101", "13101", query).await;
            assert_eq!((status, e["code"].as_str().unwrap_or("")), (400, code), "{query} {e}");
        }
    }
);

per_backend!(
    async fn a_bad_ingreso_changes_nothing(backend) {
        let node = TestNode::start_without_limits(backend).await;
        let f = familias(&mut node.db());
        for (body, status, code) in [
            (json!({ "run": f.titular.to_string(), "programa": "chcc", "apoyoFamiliar": "AF-1" }), 400, "PARTICIPACION_INVALIDA"),
            (json!({ "run": f.titular.to_string(), "programa": "puente", "apoyoFamiliar": f.hijo.to_string() }), 400, "PARTICIPACION_INVALIDA"),
            (json!({ "run": f.titular.to_string(), "programa": "puente", "apoyoFamiliar": "AF-1", "fechaIngreso": "2999-01-01" }), 400, "PARTICIPACION_INVALIDA"),
            (json!({ "run": "12345678-0", "programa": "puente", "apoyoFamiliar": "AF-1" }), 400, "RUN_INVALIDO"),
        ] {
            let (s, e) = ingresar(&node, "muni-13101", body.clone()).await;
            assert_eq!((s, e["code"].as_str().unwrap_or("")), (status, code), "{body} {e}");
        }
        // An agreement without the grant.
        let (s, e) = ingresar(&node, "minvu", ingreso(f.titular, "puente")).await;
        assert_eq!((s, e["code"].as_str()), (403, Some("NO_AUTORIZADO")), "{e}");
        let (s, e) = consultar(&node, "minvu", &f.titular.to_string()).await;
        assert_eq!((s, e["code"].as_str()), (403, Some("NO_AUTORIZADO")), "{e}");
        let (_, lista) = listar(&node, "muni-13101", "13101", "").await;
        assert_eq!(lista["total"], 0, "{lista}");
    }
);
