//! The whole life of an emergency over REST: declared, households registered by origin and by
//! destination, aid, the report, the close, and what each agreement may see.

use super::*;
use crate::per_backend;

/// The cell of the comuna-level report for `codigo` (`None`: the nation) and `tipo`.
fn celda<'a>(informe: &'a Value, codigo: Option<&str>, tipo: &str) -> &'a Value {
    informe["celdas"]
        .as_array()
        .unwrap_or_else(|| panic!("{informe}"))
        .iter()
        .find(|c| c["codigo"].as_str() == codigo && c["tipoAyuda"] == tipo)
        .unwrap_or_else(|| panic!("no cell {codigo:?} {tipo}: {informe}"))
}

per_backend!(
    async fn an_emergency_from_declaration_to_close(backend) {
        let (node, _dir) = node(backend).await;
        // Only the operator declares: a municipality's agreement does not grant it.
        let (status, body) = post(
            &node,
            CHAITEN,
            "/emergencias",
            json!({ "nombre": "x", "tipo": "erupcion", "comunas": ["10401"] }),
        )
        .await;
        assert_eq!((status, body["code"].as_str()), (403, Some("NO_AUTORIZADO")), "{body}");
        let (status, body) = post(
            &node,
            "operador",
            "/emergencias",
            json!({ "nombre": "x", "tipo": "volcan", "comunas": ["10401"] }),
        )
        .await;
        assert_eq!(status, 400, "{body}");
        assert_eq!((body["code"].as_str(), body["campo"].as_str()), (Some("EMERGENCIA_INVALIDA"), Some("tipo")));
        let id = declarar(&node).await;
        let (status, e) = get(&node, "operador", &format!("/emergencias/{id}")).await;
        assert_eq!(status, 200, "{e}");
        assert_eq!(e["estado"], "activa");
        assert_eq!(e["comunas"].as_array().unwrap().len(), 3);
        assert_eq!(e["comunas"][0]["nombre"], "CHAITÉN");

        // Chaitén registers its own households, and those from Futaleufú and Palena sheltered
        // in Chaitén (in its scope by destination); each gets food.
        let mut registros = Vec::new();
        for (i, origen, n) in [(0, "10401", 15), (100, "10402", 11), (200, "10404", 3)] {
            for k in 0..n {
                let r = registrar(&node, CHAITEN, &id, jefe(i + k), origen, "10401").await;
                registros.push((r, origen));
            }
        }
        for (r, _) in &registros {
            let (status, body) = post(
                &node,
                CHAITEN,
                &format!("/emergencias/{id}/hogares/{r}/ayudas"),
                json!({ "tipo": "alimentos", "cantidad": 2, "fecha": "2026-11-03" }),
            )
            .await;
            assert_eq!(status, 200, "{body}");
        }
        // Puerto Montt registers an evacuee from Chaitén sheltered in Puerto Montt, with aid.
        let evacuado = registrar(&node, PUERTO_MONTT, &id, jefe(500), "10401", "10101").await;
        let (status, r) = post(
            &node,
            PUERTO_MONTT,
            &format!("/emergencias/{id}/hogares/{evacuado}/ayudas"),
            json!({ "tipo": "alimentos", "cantidad": 1 }),
        )
        .await;
        assert_eq!(status, 200, "{r}");
        assert_eq!(r["run"], jefe(500).to_string());
        assert_eq!(r["comunaDestino"]["codigo"], "10101");
        assert_eq!(r["necesidades"], json!(["agua", "abrigo"]), "in the catalogue's order");
        assert_eq!(r["ayudas"][0]["tipo"], "alimentos");

        // Refusals that change nothing, each with its stable code.
        let antes = filas(&node);
        let (status, body) = post(
            &node,
            CHAITEN,
            &format!("/emergencias/{id}/hogares"),
            hogar(jefe(900), "10403", "10401"),
        )
        .await;
        assert_eq!((status, body["code"].as_str()), (400, Some("COMUNA_NO_AFECTADA")), "{body}");
        let (status, body) = post(
            &node,
            CHAITEN,
            &format!("/emergencias/{id}/hogares"),
            hogar(jefe(0), "10401", "10401"),
        )
        .await;
        assert_eq!((status, body["code"].as_str()), (409, Some("DAMNIFICADO_YA_REGISTRADO")), "{body}");
        // Neither origin nor destination in Valparaíso's scope.
        let (status, body) = post(
            &node,
            "muni-05101",
            &format!("/emergencias/{id}/hogares"),
            hogar(jefe(901), "10401", "10401"),
        )
        .await;
        assert_eq!((status, body["code"].as_str()), (403, Some("FUERA_DE_AMBITO")), "{body}");
        let mut malo = hogar(jefe(902), "10401", "10401");
        malo["necesidades"] = json!(["agua", "internet"]);
        let (status, body) = post(&node, CHAITEN, &format!("/emergencias/{id}/hogares"), malo).await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(body["campo"], "necesidades[1]");
        let (status, body) = post(
            &node,
            CHAITEN,
            &format!("/emergencias/{id}/hogares/{}/ayudas", registros[0].0),
            json!({ "tipo": "alimentos", "cantidad": 0 }),
        )
        .await;
        assert_eq!((status, body["campo"].as_str()), (400, Some("cantidad")), "{body}");
        let (status, body) = post(&node, CHAITEN, "/emergencias/EMG-2026-NOEXISTE/hogares", hogar(jefe(903), "10401", "10401")).await;
        assert_eq!((status, body["code"].as_str()), (404, Some("NO_ENCONTRADO")), "{body}");
        assert_eq!(filas(&node), antes);

        // Scope: Puerto Montt sees its evacuee, not Chaitén's own households; Valparaíso sees
        // nothing, answered exactly as an unknown record.
        let solo_chaiten = &registros[0].0;
        let (status, _) = get(&node, PUERTO_MONTT, &format!("/emergencias/{id}/hogares/{evacuado}")).await;
        assert_eq!(status, 200);
        let (status, _) = get(&node, CHAITEN, &format!("/emergencias/{id}/hogares/{evacuado}")).await;
        assert_eq!(status, 200, "Chaitén sees its evacuee by origin");
        let ajeno = get(&node, PUERTO_MONTT, &format!("/emergencias/{id}/hogares/{solo_chaiten}")).await;
        let fuera = get(&node, "muni-05101", &format!("/emergencias/{id}/hogares/{solo_chaiten}")).await;
        let desconocido = get(&node, "muni-05101", &format!("/emergencias/{id}/hogares/DAM-2222-3333-4444")).await;
        let visto = |(status, body): &(u16, Value)| (*status, body["code"].clone(), body["detail"].clone());
        assert_eq!(visto(&ajeno).0, 404);
        assert_eq!(visto(&ajeno), visto(&fuera));
        assert_eq!(visto(&fuera), visto(&desconocido), "out of scope is answered as unknown");
        let (_, lista) = get(&node, PUERTO_MONTT, &format!("/emergencias/{id}/hogares")).await;
        assert_eq!(lista["total"], 1, "{lista}");
        let (_, lista) = get(&node, CHAITEN, &format!("/emergencias/{id}/hogares?porPagina=100")).await;
        assert_eq!(lista["total"], 30);
        assert_eq!(lista["registros"].as_array().unwrap().len(), 30);
        let (_, lista) = get(&node, "muni-05101", &format!("/emergencias/{id}/hogares")).await;
        assert_eq!(lista["total"], 0);

        // The report: Chaitén's 16 households are published; Palena's 3 are reserved, and so
        // is Futaleufú's 11 (or the nation less Chaitén would give Palena's 3 away).
        let (status, informe) = get(&node, CHAITEN, &format!("/emergencias/{id}/informe")).await;
        assert_eq!(status, 200, "{informe}");
        let total = |c: Option<&str>| celda(&informe, c, "total").clone();
        assert_eq!(total(Some("10401"))["hogares"], 16);
        assert_eq!(total(Some("10401"))["entregas"], 16);
        assert_eq!(total(None)["hogares"], 30);
        assert_eq!(total(Some("10404"))["reservado"], true);
        assert!(total(Some("10404")).get("hogares").is_none(), "a reserved cell carries no count");
        assert_eq!(total(Some("10402"))["reservado"], true);
        let alimentos = celda(&informe, Some("10401"), "alimentos");
        assert_eq!((alimentos["hogares"].as_u64(), alimentos["entregas"].as_u64()), (Some(16), Some(16)));
        // No subtraction of published cells recovers a reserved one or a sum of them under 10.
        for tipo in ["total", "alimentos"] {
            let nacion = celda(&informe, None, tipo)["hogares"].as_u64().unwrap();
            let publicados: u64 = ["10401", "10402", "10404"]
                .iter()
                .filter_map(|c| celda(&informe, Some(c), tipo)["hogares"].as_u64())
                .sum();
            assert!(nacion - publicados >= 10, "{tipo}: {}", nacion - publicados);
        }
        let (status, provincias) = get(&node, "operador", &format!("/emergencias/{id}/informe?nivel=provincia")).await;
        assert_eq!(status, 200);
        assert_eq!(celda(&provincias, Some("104"), "total")["hogares"], 30);
        let (status, body) = get(&node, "operador", &format!("/emergencias/{id}/informe?nivel=pais")).await;
        assert_eq!((status, body["code"].as_str()), (400, Some("NIVEL_INVALIDO")));

        // The close: every write refused and nothing changed; reads and the report stay.
        let (status, e) = post(&node, "operador", &format!("/emergencias/{id}/cierre"), json!({ "fechaTermino": "2026-11-20" })).await;
        assert_eq!(status, 200, "{e}");
        assert_eq!((e["estado"].as_str(), e["fechaTermino"].as_str()), (Some("cerrada"), Some("2026-11-20")));
        let antes = filas(&node);
        let cerrada = |(status, body): (u16, Value)| {
            assert_eq!((status, body["code"].as_str()), (409, Some("EMERGENCIA_CERRADA")), "{body}");
        };
        cerrada(post(&node, CHAITEN, &format!("/emergencias/{id}/hogares"), hogar(jefe(700), "10401", "10401")).await);
        cerrada(post(&node, PUERTO_MONTT, &format!("/emergencias/{id}/hogares/{evacuado}/ayudas"), json!({ "tipo": "agua", "cantidad": 1 })).await);
        cerrada(post(&node, "operador", &format!("/emergencias/{id}/cierre"), json!({})).await);
        assert_eq!(filas(&node), antes);
        let (status, _) = get(&node, PUERTO_MONTT, &format!("/emergencias/{id}/hogares/{evacuado}")).await;
        assert_eq!(status, 200);
        let (status, despues) = get(&node, CHAITEN, &format!("/emergencias/{id}/informe")).await;
        assert_eq!(status, 200);
        assert_eq!(celda(&despues, None, "total")["hogares"], 30);
        let (_, lista) = get(&node, "operador", "/emergencias?estado=cerrada").await;
        assert_eq!(lista["emergencias"][0]["id"], id.as_str());

        // The audit: every registration names its head; the refusals are there with their
        // codes; the report names nobody.
        let registros_auditados = auditados(&node, "RegistrarDamnificados");
        for k in 0..15 {
            let run = jefe(k).numero().to_string();
            assert!(
                registros_auditados.iter().any(|(c, s, r, _)| c == CHAITEN && s.contains(&run) && r == "OK"),
                "{run}"
            );
        }
        assert!(registros_auditados.iter().any(|(c, s, _, _)| c == PUERTO_MONTT && s.contains(&jefe(500).numero().to_string())));
        for code in ["EMERGENCIA_CERRADA", "COMUNA_NO_AFECTADA", "DAMNIFICADO_YA_REGISTRADO", "FUERA_DE_AMBITO"] {
            assert!(registros_auditados.iter().any(|(_, _, r, _)| r == code), "{code}");
        }
        let informes = auditados(&node, "InformeEmergencia");
        assert_eq!(informes.len(), 4);
        assert!(informes.iter().all(|(_, s, _, _)| s.is_empty()), "{informes:?}");
        let declaraciones = auditados(&node, "DeclararEmergencia");
        assert!(declaraciones.iter().any(|(c, _, r, _)| c == "operador" && r == "EMERGENCIA_CERRADA"));
        node.stop().await;
    }
);

per_backend!(
    /// Whether another municipality registered a head is a fact about a person outside the
    /// asker's scope: a head Chaitén sheltered in Chaitén is registered by Puerto Montt exactly
    /// like a head nobody registered; a second time, or one whose record Puerto Montt can see,
    /// is refused.
    async fn a_head_registered_outside_the_scope_is_never_disclosed_by_a_refusal(backend) {
        let (node, _dir) = node(backend).await;
        let id = declarar(&node).await;
        let ruta = format!("/emergencias/{id}/hogares");
        let (status, body) = post(&node, CHAITEN, &ruta, hogar(jefe(0), "10401", "10401")).await;
        assert_eq!(status, 201, "{body}");
        let (s1, b1) = post(&node, PUERTO_MONTT, &ruta, hogar(jefe(0), "10401", "10101")).await;
        let (s2, b2) = post(&node, PUERTO_MONTT, &ruta, hogar(jefe(1), "10401", "10101")).await;
        assert_eq!((s1, s2), (201, 201), "{b1} {b2}");
        let (status, body) = post(&node, PUERTO_MONTT, &ruta, hogar(jefe(0), "10401", "10101")).await;
        assert_eq!((status, body["code"].as_str()), (409, Some("DAMNIFICADO_YA_REGISTRADO")), "{body}");
        // Sheltered in Puerto Montt by Chaitén: Puerto Montt sees that record, and is refused.
        let (status, body) = post(&node, CHAITEN, &ruta, hogar(jefe(2), "10401", "10101")).await;
        assert_eq!(status, 201, "{body}");
        let (status, body) = post(&node, PUERTO_MONTT, &ruta, hogar(jefe(2), "10401", "10101")).await;
        assert_eq!((status, body["code"].as_str()), (409, Some("DAMNIFICADO_YA_REGISTRADO")), "{body}");
        assert_eq!(filas(&node).0, 4);
        node.stop().await;
    }
);
