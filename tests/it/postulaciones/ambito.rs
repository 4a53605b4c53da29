//! Scope: a person outside the municipality's comuna (applicant or causante) is answered
//! exactly as an unknown one; another comuna's postulation does not exist; a foreign comuna
//! code is said plainly; a duplicate living in another comuna is never disclosed.

use super::*;
use crate::per_backend;

per_backend!(
    async fn a_person_outside_the_comuna_is_answered_as_unknown(backend) {
        let node = TestNode::start(backend).await;
        let (madre, hijo, fuera, desconocido) = {
            let mut conn = node.db();
            let madre = persona(&mut conn, 21_000_001, 30);
            let hijo = persona(&mut conn, 21_000_002, 5);
            let fuera = persona(&mut conn, 21_000_003, 6);
            hogar(&mut conn, 1, "13101", Some(5_000), &[madre, hijo]);
            hogar(&mut conn, 2, "05101", Some(5_000), &[fuera]);
            (madre, hijo, fuera, Run::from_numero(21_999_999).unwrap())
        };
        let con = |c: Run| {
            json!({ "run": madre.to_string(), "programa": "SUF",
                    "causantes": [{ "run": hijo.to_string(), "tipo": "menor" },
                                  { "run": c.to_string(), "tipo": "menor" }] })
        };
        let (s1, e1) = postular(&node, "muni-13101", con(fuera)).await;
        let (s2, e2) = postular(&node, "muni-13101", con(desconocido)).await;
        assert_eq!((s1, e1["code"].as_str()), (404, Some("NO_ENCONTRADO")), "{e1}");
        assert_eq!((s1, &e1["detail"]), (s2, &e2["detail"]), "{e1} {e2}");
        assert_eq!(e1["detail"], "causantes[1]: the registry holds no person with that RUN");
        assert_eq!(e1["title"], e2["title"]);

        // The applicant: another comuna's person and an unknown RUN alike.
        let (s1, e1) = postular(&node, "muni-13101", json!({ "run": fuera.to_string(), "programa": "SAP" })).await;
        let (s2, e2) = postular(&node, "muni-13101", json!({ "run": desconocido.to_string(), "programa": "SAP" })).await;
        assert_eq!((s1, e1["code"].as_str()), (404, Some("NO_ENCONTRADO")));
        assert_eq!((s1, &e1["detail"], &e1["title"]), (s2, &e2["detail"], &e2["title"]));
        assert_eq!(postulaciones_guardadas(&node), 0, "nothing stored");

        // The municipality of the other comuna postulates its own person.
        let (status, p) = postular(&node, "muni-05101", json!({ "run": fuera.to_string(), "programa": "SAP" })).await;
        assert_eq!(status, 201, "{p}");
        let id = p["id"].as_str().unwrap();
        // To 13101 it does not exist; its list is 05101's, and said so plainly.
        let (status, e) = leer(&node, "muni-13101", id).await;
        assert_eq!((status, e["code"].as_str()), (404, Some("NO_ENCONTRADO")), "{e}");
        let (status, e) = leer(&node, "muni-13101", "not-an-id").await;
        assert_eq!((status, e["code"].as_str()), (404, Some("NO_ENCONTRADO")), "{e}");
        let (status, e) = listar(&node, "muni-13101", "05101", "").await;
        assert_eq!((status, e["code"].as_str()), (403, Some("FUERA_DE_AMBITO")), "{e}");
        let (status, e) = listar(&node, "muni-13101", "99999", "").await;
        assert_eq!((status, e["code"].as_str()), (400, Some("COMUNA_DESCONOCIDA")), "{e}");
        let (status, e) = evento(&node, "muni-13101", id, json!({ "evento": "anular", "motivo": "x" })).await;
        assert_eq!((status, e["code"].as_str()), (404, Some("NO_ENCONTRADO")), "{e}");
        let (_, lista) = listar(&node, "muni-05101", "05101", "").await;
        assert_eq!(lista["total"], 1, "{lista}");
        let (_, lista) = listar(&node, "muni-13101", "13101", "").await;
        assert_eq!(lista["total"], 0, "{lista}");
    }
);

per_backend!(
    async fn a_duplicate_in_another_comuna_is_never_disclosed(backend) {
        let node = TestNode::start(backend).await;
        let vecina = {
            let mut conn = node.db();
            let vecina = persona(&mut conn, 22_000_001, 50);
            hogar(&mut conn, 1, "13101", Some(6_000), &[vecina]);
            hogar(&mut conn, 2, "05101", Some(6_000), &[]);
            vecina
        };
        let sap = json!({ "run": vecina.to_string(), "programa": "SAP" });
        let (status, p13) = postular(&node, "muni-13101", sap.clone()).await;
        assert_eq!((status, p13["estado"].as_str()), (201, Some("verificada")), "{p13}");
        // She moves to Valparaíso: its municipality takes her postulation as if none existed.
        mudar(&mut node.db(), vecina, 2);
        let (status, p05) = postular(&node, "muni-05101", sap.clone()).await;
        assert_eq!((status, p05["estado"].as_str()), (201, Some("verificada")), "{p05}");
        // Santiago's read now says she left, and nothing about where.
        let (_, p13) = leer(&node, "muni-13101", p13["id"].as_str().unwrap()).await;
        assert_eq!(fallan(&p13), ["SAP-COMUNA", "SAP-FICHA", "SAP-PUNTAJE"], "{p13}");
        assert!(p13.get("puntaje").is_none(), "no score read outside the comuna: {p13}");
        // In its own comuna a second one is refused.
        let (status, e) = postular(&node, "muni-05101", sap).await;
        assert_eq!((status, e["code"].as_str()), (409, Some("POSTULACION_EN_CURSO")), "{e}");
    }
);
