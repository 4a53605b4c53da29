//! Scope and projection: another comuna's municipality is answered exactly as for an unknown
//! id or RUN; SENAMA sees only Vínculos, FOSIS never a bono, SUSESO three fields.

use super::*;
use crate::per_backend;

per_backend!(
    async fn another_comuna_is_answered_as_unknown(backend) {
        let node = TestNode::start(backend).await;
        let f = familias(&mut node.db());
        let (status, p) = ingresar(&node, "muni-13101", ingreso(f.titular, "puente")).await;
        assert_eq!(status, 201, "{p}");
        let id = p["id"].as_str().unwrap().to_owned();
        let otro = "CHS-00000000-0000-4000-8000-000000000000";

        // Reading and writing 13101's participation from 05101: as an unknown id.
        let (s1, e1) = leer(&node, "muni-05101", &id).await;
        let (s2, e2) = leer(&node, "muni-05101", otro).await;
        assert_eq!((s1, e1["code"].as_str()), (404, Some("NO_ENCONTRADO")), "{e1}");
        assert_eq!((s1, refusal(&e1)), (s2, refusal(&e2)));
        let sesion = json!({ "evento": "sesion", "tipo": "grupal" });
        let (s1, e1) = evento(&node, "muni-05101", &id, sesion.clone()).await;
        let (s2, e2) = evento(&node, "muni-05101", otro, sesion).await;
        assert_eq!((s1, refusal(&e1)), (s2, refusal(&e2)));
        assert_eq!(s1, 404, "{e1}");
        // By RUN: a 13101 member and an unknown RUN alike.
        let (s1, e1) = consultar(&node, "muni-05101", &f.hijo.to_string()).await;
        let (s2, e2) = consultar(&node, "muni-05101", &desconocido().to_string()).await;
        assert_eq!((s1, e1["code"].as_str()), (404, Some("NO_ENCONTRADO")), "{e1}");
        assert_eq!((s1, refusal(&e1)), (s2, refusal(&e2)));
        // Taking in a 13101 person: as an unknown RUN.
        let (s1, e1) = ingresar(&node, "muni-05101", ingreso(f.adulta_mayor, "vinculos")).await;
        let (s2, e2) = ingresar(&node, "muni-05101", ingreso(desconocido(), "vinculos")).await;
        assert_eq!((s1, e1["code"].as_str()), (404, Some("NO_ENCONTRADO")), "{e1}");
        assert_eq!((s1, refusal(&e1)), (s2, refusal(&e2)));
        // Its list is 13101's: said plainly.
        let (s, e) = listar(&node, "muni-05101", "13101", "").await;
        assert_eq!((s, e["code"].as_str()), (403, Some("FUERA_DE_AMBITO")), "{e}");
        // Its own comuna's person, and 13101's unchanged.
        let (s, p) = ingresar(&node, "muni-05101", ingreso(f.porteno, "puente")).await;
        assert_eq!(s, 201, "{p}");
        let (_, lista) = listar(&node, "muni-13101", "13101", "").await;
        assert_eq!(lista["total"], 1, "{lista}");
        assert_eq!(lista["participaciones"][0]["sesiones"], json!([]));
    }
);

per_backend!(
    async fn agencies_see_only_their_programs_and_fields(backend) {
        let node = TestNode::start(backend).await;
        let f = familias(&mut node.db());
        let (s, _) = ingresar(&node, "muni-13101", ingreso(f.titular, "puente")).await;
        assert_eq!(s, 201);
        let (s, v) = ingresar(&node, "muni-13101", ingreso(f.adulta_mayor, "vinculos")).await;
        assert_eq!(s, 201, "{v}");
        let vid = v["id"].as_str().unwrap();
        let (s, _) = evento(&node, "muni-13101", vid, json!({ "evento": "pago_bono" })).await;
        assert_eq!(s, 200);

        // FOSIS reads Puente by the RUN of any member, never a bono, session or worker code.
        let (s, r) = consultar(&node, "fosis", &f.hijo.to_string()).await;
        assert_eq!(s, 200, "{r}");
        let p = &r["participaciones"][0];
        assert_eq!((p["programa"].as_str(), p["run"].as_str()), (Some("puente"), Some(f.titular.to_string().as_str())));
        assert_eq!(p["condiciones"].as_array().unwrap().len(), 53);
        for withheld in ["bonos", "sesiones", "apoyoFamiliar", "motivoEgreso"] {
            assert!(p.get(withheld).is_none(), "{withheld} in {p}");
        }
        assert!(p["condiciones"][0].get("fecha").is_none(), "{p}");
        // FOSIS does not see Vínculos: as an unknown RUN.
        let (s1, e1) = consultar(&node, "fosis", &f.adulta_mayor.to_string()).await;
        let (s2, e2) = consultar(&node, "fosis", &desconocido().to_string()).await;
        assert_eq!((s1, e1["code"].as_str()), (404, Some("NO_ENCONTRADO")), "{e1}");
        assert_eq!((s1, refusal(&e1)), (s2, refusal(&e2)));

        // SENAMA sees Vínculos only, the bonos without their amounts.
        let (s, r) = consultar(&node, "senama", &f.adulta_mayor.to_string()).await;
        assert_eq!(s, 200, "{r}");
        let p = &r["participaciones"][0];
        assert_eq!(p["programa"], "vinculos");
        assert_eq!(p["bonos"][0], json!({ "tipo": "proteccion", "mes": 1, "estado": "pagado" }));
        let (s1, e1) = consultar(&node, "senama", &f.titular.to_string()).await;
        assert_eq!((s1, refusal(&e1)), (s2, refusal(&e2)));

        // SUSESO: run, programa, estado of Puente.
        let (s, r) = consultar(&node, "suseso", &f.titular.to_string()).await;
        assert_eq!(s, 200, "{r}");
        assert_eq!(r["participaciones"][0], json!({ "run": f.titular.to_string(), "programa": "puente", "estado": "apoyo" }));
        // The municipality, by any member, sees everything of its own comuna.
        let (s, r) = consultar(&node, "muni-13101", &f.hijo.to_string()).await;
        assert_eq!(s, 200, "{r}");
        assert_eq!(r["participaciones"][0]["bonos"].as_array().unwrap().len(), 24);
        // An invalid RUN is RUN_INVALIDO, before anything is read.
        let (s, e) = consultar(&node, "fosis", "12345678-0").await;
        assert_eq!((s, e["code"].as_str()), (400, Some("RUN_INVALIDO")), "{e}");
    }
);
