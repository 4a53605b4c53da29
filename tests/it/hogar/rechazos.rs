//! Every refusal has its stable code and changes nothing; a RUN outside the comuna is answered
//! as an unknown one.

use super::*;
use crate::per_backend;

per_backend!(
    async fn bad_events_get_a_stable_code_and_change_nothing(backend) {
        let node = node(backend).await;
        let (hogar, members) = hogar_con(&node, COMUNA, 3, 0);
        let jefe = members[0].0;
        let otro = members[1].0;
        let ajeno = crate::registry::with_ficha(&mut node.db(), Some(OTRA));
        let vecino = (0..)
            .map(|s| hogar_con(&node, COMUNA, 1, s))
            .find(|(id, _)| *id != hogar)
            .unwrap()
            .1[0]
            .0;
        let todos: Vec<String> = members.iter().map(|(r, _)| r.to_string()).collect();
        let m = "motivo suficiente";
        let cases: Vec<(&str, Run, Value, u16, &str)> = vec![
            ("unknown event", jefe, json!({ "evento": "mudar", "motivo": m }), 400, "EVENTO_INVALIDO"),
            ("no motivo", jefe, json!({ "evento": "cambiar_domicilio", "direccion": "X 1" }), 400, "EVENTO_INVALIDO"),
            ("blank motivo", jefe, json!({ "evento": "cambiar_domicilio", "direccion": "X 1", "motivo": " " }), 400, "EVENTO_INVALIDO"),
            ("long motivo", jefe, json!({ "evento": "cambiar_domicilio", "direccion": "X 1", "motivo": "x".repeat(501) }), 400, "EVENTO_INVALIDO"),
            ("another comuna", jefe, json!({ "evento": "cambiar_domicilio", "direccion": "X 1", "comuna": OTRA, "motivo": m }), 400, "EVENTO_INVALIDO"),
            ("no direccion", jefe, json!({ "evento": "cambiar_domicilio", "motivo": m }), 400, "EVENTO_INVALIDO"),
            ("data of another event", jefe, json!({ "evento": "quitar_integrante", "run": otro.to_string(), "direccion": "X", "motivo": m }), 400, "EVENTO_INVALIDO"),
            ("unknown parentesco", jefe, json!({ "evento": "agregar_integrante", "run": ajeno.to_string(), "parentesco": "vecino", "motivo": m }), 400, "EVENTO_INVALIDO"),
            ("bad RUN", jefe, json!({ "evento": "quitar_integrante", "run": "12345678-9", "motivo": m }), 400, "RUN_INVALIDO"),
            ("bad RUN in a split", jefe, json!({ "evento": "dividir", "runs": ["12345678-9"], "direccion": "X", "motivo": m }), 400, "RUN_INVALIDO"),
            ("unknown field", jefe, json!({ "evento": "quitar_integrante", "run": otro.to_string(), "motivo": m, "hogar": 1 }), 400, "SOLICITUD_INVALIDA"),
            ("split with a non-member", jefe, json!({ "evento": "dividir", "runs": [otro.to_string(), vecino.to_string()], "direccion": "X", "motivo": m }), 409, "NO_ES_INTEGRANTE"),
            ("split with a person of another comuna", jefe, json!({ "evento": "dividir", "runs": [ajeno.to_string()], "direccion": "X", "motivo": m }), 409, "NO_ES_INTEGRANTE"),
            ("split of everyone", jefe, json!({ "evento": "dividir", "runs": todos, "direccion": "X", "motivo": m }), 409, "HOGAR_SIN_INTEGRANTES"),
            ("remove a non-member", jefe, json!({ "evento": "quitar_integrante", "run": vecino.to_string(), "motivo": m }), 409, "NO_ES_INTEGRANTE"),
            ("remove an unknown RUN", jefe, json!({ "evento": "quitar_integrante", "run": crate::registry::unknown().to_string(), "motivo": m }), 409, "NO_ES_INTEGRANTE"),
            ("add a member", jefe, json!({ "evento": "agregar_integrante", "run": otro.to_string(), "parentesco": "hijo", "motivo": m }), 409, "YA_ES_INTEGRANTE"),
            ("a second jefe", jefe, json!({ "evento": "agregar_integrante", "run": vecino.to_string(), "parentesco": "jefe", "motivo": m }), 409, "HOGAR_CON_JEFE"),
            ("household of another comuna", ajeno, json!({ "evento": "cambiar_domicilio", "direccion": "X 1", "motivo": m }), 404, "NO_ENCONTRADO"),
            ("unknown household", crate::registry::unknown(), json!({ "evento": "cambiar_domicilio", "direccion": "X 1", "motivo": m }), 404, "NO_ENCONTRADO"),
        ];
        let antes = (estado(&node, hogar), estado(&node, hogar_de(&node, ajeno)), eventos_guardados(&node));
        for (what, run, body, status, code) in cases {
            let got = evento(&node, MUNI, run, body).await;
            assert_eq!((got.0, got.1["code"].as_str()), (status, Some(code)), "{what}: {}", got.1);
        }
        let despues = (estado(&node, hogar), estado(&node, hogar_de(&node, ajeno)), eventos_guardados(&node));
        assert_eq!(despues, antes, "nothing changed");
        // Removing the only member of a household: `otro` alone in a household of their own.
        let got = evento(&node, MUNI, jefe, json!({ "evento": "quitar_integrante", "run": otro.to_string(), "motivo": m })).await;
        assert_eq!(got.0, 200, "{}", got.1);
        let solo = hogar_de(&node, otro);
        let got = evento(&node, MUNI, otro, json!({ "evento": "quitar_integrante", "run": otro.to_string(), "motivo": m })).await;
        assert_eq!(got.1["code"], "HOGAR_SIN_INTEGRANTES", "{}", got.1);
        assert_eq!(estado(&node, solo).0, 0, "unchanged");
        node.stop().await;
    }
);

per_backend!(
    /// The household of a person of another comuna is answered as an unknown RUN's, and audited
    /// as out of scope.
    async fn a_household_of_another_comuna_is_answered_as_unknown(backend) {
        let node = node(backend).await;
        let ajeno = crate::registry::with_ficha(&mut node.db(), Some(OTRA));
        let unknown = crate::registry::unknown();
        let strip = |mut v: Value| {
            v["detail"] = json!(v["detail"].as_str().map(|_| "…"));
            v.as_object_mut().map(|o| o.remove("instance"));
            v
        };
        let a = consultar(&node, MUNI, ajeno).await;
        let b = consultar(&node, MUNI, unknown).await;
        assert_eq!(a.0, 404);
        assert_eq!((a.0, strip(a.1.clone())), (b.0, strip(b.1.clone())));
        let body = json!({ "evento": "cambiar_domicilio", "direccion": "X 1", "motivo": "m" });
        let a = evento(&node, MUNI, ajeno, body.clone()).await;
        let b = evento(&node, MUNI, unknown, body).await;
        assert_eq!((a.0, strip(a.1.clone())), (b.0, strip(b.1.clone())));
        let seen = crate::ambito::report(&node, ajeno).await;
        let ours: Vec<(&str, &str)> = seen
            .iter()
            .filter(|(c, ..)| c == MUNI)
            .map(|(_, o, r, _)| (o.as_str(), r.as_str()))
            .collect();
        assert_eq!(
            ours,
            [("ActualizarHogar", "FUERA_DE_AMBITO"), ("ActualizarHogar", "FUERA_DE_AMBITO")]
        );
        // Valparaíso keeps the household.
        let (status, _) = consultar(&node, "muni-05101", ajeno).await;
        assert_eq!(status, 200);
        node.stop().await;
    }
);

per_backend!(
    /// A deceased member is a fact of the comuna's own household: they may address it and be
    /// removed from it (a death is a reason), but no deceased person joins a household.
    async fn a_deceased_member_addresses_their_household_and_may_be_removed(backend) {
        let node = node(backend).await;
        let fallecido = crate::ambito::deceased(&mut node.db(), COMUNA, true);
        let hogar = hogar_de(&node, fallecido);
        let (status, body) = consultar(&node, MUNI, fallecido).await;
        assert_eq!(status, 200, "{body}");
        let members = integrantes_de(&body);
        let (status, body) = evento(
            &node,
            MUNI,
            fallecido,
            json!({ "evento": "quitar_integrante", "run": fallecido.to_string(), "motivo": "Falleció" }),
        )
        .await;
        if members.len() == 1 {
            assert_eq!(body["code"], "HOGAR_SIN_INTEGRANTES", "{body}");
        } else {
            assert_eq!(status, 200, "{body}");
            assert_ne!(hogar_de(&node, fallecido), hogar);
            assert_eq!(ultimo(&body)["motivo"], "Falleció");
        }
        node.stop().await;
    }
);
