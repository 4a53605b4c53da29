//! Concurrent events on one household, REST and SOAP alike, and the audit naming every person.

use super::*;
use crate::per_backend;
use crate::soap::client::{HOGAR, V, call, estado as estado_sobre, run_xml, validate};
use crate::soap::xml::{json_pairs, soap_pairs};

per_backend!(
    async fn concurrent_events_on_one_household_all_apply_in_turn_or_say_so(backend) {
        let node = node(backend).await;
        let (hogar, members) = hogar_con(&node, COMUNA, 4, 0);
        let jefe = members[0].0;
        let bodies: Vec<Value> = vec![
            json!({ "evento": "cambiar_domicilio", "direccion": "Calle A 1", "motivo": "a" }),
            json!({ "evento": "quitar_integrante", "run": members[1].0.to_string(), "motivo": "b" }),
            json!({ "evento": "cambiar_domicilio", "direccion": "Calle B 2", "motivo": "c" }),
            json!({ "evento": "quitar_integrante", "run": members[2].0.to_string(), "motivo": "d" }),
            // The same member twice: one removes them, the other finds them gone.
            json!({ "evento": "quitar_integrante", "run": members[2].0.to_string(), "motivo": "e" }),
        ];
        let attempts = bodies.into_iter().map(|b| {
            let node = &node;
            async move { evento(node, MUNI, jefe, b).await }
        });
        let outcomes = futures_util::future::join_all(attempts).await;
        let ok = outcomes.iter().filter(|(s, _)| *s == 200).count();
        for (status, body) in outcomes.iter().filter(|(s, _)| *s != 200) {
            assert_eq!(status, &409, "{body}");
            assert!(
                matches!(body["code"].as_str(), Some("NO_ES_INTEGRANTE" | "HOGAR_EN_CONFLICTO")),
                "{body}"
            );
        }
        assert!(ok >= 4, "{outcomes:?}");
        let (version, miembros, _) = estado(&node, hogar);
        assert_eq!(version as usize, ok, "one version per applied event");
        assert_eq!(miembros.len(), members.len() - 2);
        let (_, body) = consultar(&node, MUNI, jefe).await;
        let secuencias: Vec<i64> = body["eventos"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["secuencia"].as_i64().unwrap())
            .collect();
        assert_eq!(secuencias, (1..=ok as i64).collect::<Vec<_>>(), "nothing lost: {body}");
        node.stop().await;
    }
);

per_backend!(
    /// The guard itself: an event decided on a version no longer stored applies nothing.
    async fn an_event_decided_on_a_stale_household_is_not_applied(backend) {
        use siis::ops::hogar::store::{self, Aplicacion, Escritura, EventoFila};
        let node = node(backend).await;
        let (hogar, members) = hogar_con(&node, COMUNA, 2, 0);
        let mut conn = node.db();
        let stale = store::hogar(&mut conn, hogar).unwrap();
        let (status, _) = evento(
            &node,
            MUNI,
            members[0].0,
            json!({ "evento": "cambiar_domicilio", "direccion": "Nueva 1", "motivo": "primero" }),
        )
        .await;
        assert_eq!(status, 200);
        let escritura = Escritura {
            hogar: stale.clone(),
            direccion: Some("Carrera 2".into()),
            nuevo: None,
            salen: Vec::new(),
            llega: None,
            evento: EventoFila {
                id: "carrera".into(),
                hogar_id: hogar,
                secuencia: 0,
                evento: "cambiar_domicilio".into(),
                run: None,
                hogar_destino: None,
                datos: "{}".into(),
                motivo: "segundo".into(),
                convenio: MUNI.into(),
                usuario: None,
                marca_revision: 0,
                ts_us: 0,
            },
            revisar: false,
        };
        assert_eq!(store::aplicar(&mut conn, &escritura).unwrap(), Aplicacion::Cambiada);
        let now = store::hogar(&mut conn, hogar).unwrap();
        assert_eq!((now.version, now.direccion.as_str()), (1, "Nueva 1"));
        assert_eq!(eventos_guardados(&node), 1);
        node.stop().await;
    }
);

/// A SOAP call of the ActualizacionHogar service by Santiago.
async fn soap(node: &TestNode, v: V, op: &str, cuerpo: &str) -> crate::soap::client::Answer {
    call(&node.client(Some(MUNI)), node, v, &HOGAR, op, None, cuerpo).await
}

per_backend!(
    async fn rest_and_soap_keep_households_alike(backend) {
        let node = node(backend).await;
        let (_, members) = hogar_con(&node, COMUNA, 3, 0);
        let jefe = members[0].0;
        for v in V::BOTH {
            // A write over SOAP answers what REST then reads.
            let cuerpo = format!(
                "{}<h:evento>cambiar_domicilio</h:evento><h:direccion>Calle {v:?}</h:direccion>\
                 <h:motivo>por SOAP</h:motivo>",
                run_xml("h", jefe)
            );
            let a = soap(&node, v, "RegistrarEventoHogar", &cuerpo).await;
            let r = a.respuesta(v, &HOGAR, "RegistrarEventoHogar");
            assert_eq!(estado_sobre(&r), "00", "{}", a.shown());
            validate(HOGAR.xsd, &r, "RegistrarEventoHogar");
            let escrito = soap_pairs(r.at("cuerpo/hogar").expect("hogar"));
            let (status, leido) = consultar(&node, MUNI, jefe).await;
            assert_eq!(status, 200);
            assert_eq!(escrito, json_pairs(&leido), "{v:?}");
            // A read over SOAP discloses what REST does.
            let a = soap(&node, v, "ConsultarHogar", &run_xml("h", jefe)).await;
            let r = a.respuesta(v, &HOGAR, "ConsultarHogar");
            validate(HOGAR.xsd, &r, "ConsultarHogar");
            assert_eq!(soap_pairs(r.at("cuerpo/hogar").expect("hogar")), json_pairs(&leido));
        }
        // A split over SOAP, with its list of RUNs.
        let cuerpo = format!(
            "{}<h:evento>dividir</h:evento><h:direccion>Pasaje 9</h:direccion><h:runs>{}</h:runs>\
             <h:motivo>por SOAP</h:motivo>",
            run_xml("h", jefe),
            run_xml("h", members[1].0)
        );
        let a = soap(&node, V::V11, "RegistrarEventoHogar", &cuerpo).await;
        let r = a.respuesta(V::V11, &HOGAR, "RegistrarEventoHogar");
        assert_eq!(estado_sobre(&r), "00", "{}", a.shown());
        assert_ne!(hogar_de(&node, members[1].0), hogar_de(&node, jefe));
        // Refusals: the same code (an outcome with estadoSobre 03 or 05 over SOAP).
        let unknown = crate::registry::unknown();
        let cases = [
            (jefe, "<h:evento>mudar</h:evento><h:motivo>x</h:motivo>".to_owned(), json!({ "evento": "mudar", "motivo": "x" }), "03", "EVENTO_INVALIDO"),
            (jefe, "<h:evento>cambiar_domicilio</h:evento><h:direccion>X</h:direccion>".to_owned(), json!({ "evento": "cambiar_domicilio", "direccion": "X" }), "03", "EVENTO_INVALIDO"),
            (jefe, format!("<h:evento>quitar_integrante</h:evento>{}<h:motivo>x</h:motivo>", run_xml("h", unknown).replace("h:run", "h:integrante")), json!({ "evento": "quitar_integrante", "run": unknown.to_string(), "motivo": "x" }), "03", "NO_ES_INTEGRANTE"),
            (unknown, "<h:evento>cambiar_domicilio</h:evento><h:direccion>X</h:direccion><h:motivo>x</h:motivo>".to_owned(), json!({ "evento": "cambiar_domicilio", "direccion": "X", "motivo": "x" }), "05", "NO_ENCONTRADO"),
        ];
        for (run, xml, body, sobre, code) in cases {
            let (_, rest) = evento(&node, MUNI, run, body).await;
            assert_eq!(rest["code"], code, "{rest}");
            let a = soap(&node, V::V12, "RegistrarEventoHogar", &format!("{}{xml}", run_xml("h", run))).await;
            let r = a.respuesta(V::V12, &HOGAR, "RegistrarEventoHogar");
            assert_eq!(estado_sobre(&r), sobre, "{code}: {}", a.shown());
            assert!(r.child("cuerpo").is_none());
            validate(HOGAR.xsd, &r, code);
        }
        node.stop().await;
    }
);

per_backend!(
    /// Each person an event names is audited (and charged): the member it is addressed by,
    /// the members it moves and those the answer shows.
    async fn the_audit_names_every_person_an_event_concerns(backend) {
        let node = node(backend).await;
        let (_, members) = hogar_con(&node, COMUNA, 3, 0);
        let jefe = members[0].0;
        let se_van: Vec<Run> = members[1..].iter().map(|(r, _)| *r).collect();
        let (status, body) = evento(
            &node,
            MUNI,
            jefe,
            json!({ "evento": "dividir", "runs": se_van.iter().map(Run::to_string).collect::<Vec<_>>(),
                    "direccion": "Pasaje 1", "motivo": "allegados" }),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        for run in std::iter::once(jefe).chain(se_van.iter().copied()) {
            let seen = crate::ambito::report(&node, run).await;
            assert!(
                seen.iter().any(|(c, o, r, campos)| c == MUNI
                    && o == "ActualizarHogar"
                    && r == "OK"
                    && !campos.is_empty()),
                "{run}: {seen:?}"
            );
        }
        // One unit of the agreement's limits for each person the request names.
        let charged: Option<i64> = siis::db::schema::auditoria::table
            .filter(siis::db::schema::auditoria::operacion.eq("ActualizarHogar"))
            .order(siis::db::schema::auditoria::id.desc())
            .select(siis::db::schema::auditoria::personas)
            .first(&mut node.db())
            .unwrap();
        assert_eq!(charged, Some(1 + se_van.len() as i64));
        // A split naming more persons than Valparaíso's burst (40) is refused whole, unread.
        let (_, valpo) = hogar_con(&node, OTRA, 1, 0);
        let many: Vec<String> = (0..45)
            .map(|i| Run::from_numero(5_000_000 + i).unwrap().to_string())
            .collect();
        let (status, body) = evento(
            &node,
            "muni-05101",
            valpo[0].0,
            json!({ "evento": "dividir", "runs": many, "direccion": "X", "motivo": "x" }),
        )
        .await;
        assert_eq!((status, body["code"].as_str()), (413, Some("LOTE_SUPERA_RAFAGA")), "{body}");
        // A refused event names the persons it named too.
        let unknown = crate::registry::unknown();
        let (status, _) = evento(
            &node,
            MUNI,
            jefe,
            json!({ "evento": "quitar_integrante", "run": unknown.to_string(), "motivo": "x" }),
        )
        .await;
        assert_eq!(status, 409);
        let seen = crate::ambito::report(&node, unknown).await;
        assert_eq!(seen.len(), 1, "{seen:?}");
        assert_eq!((seen[0].1.as_str(), seen[0].2.as_str()), ("ActualizarHogar", "NO_ES_INTEGRANTE"));
        node.stop().await;
    }
);
