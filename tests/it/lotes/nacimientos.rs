//! A birth from the Registro Civil's feed is an event of the mother's household: in its
//! history with a fixed reason and the provider as author, raising its version, and marking
//! its ficha in force as the ficha's model says.

use diesel::prelude::*;
use serde_json::{Value, json};
use siis::db::schema::{fichas, hogar_eventos};
use siis::domain::Run;

use super::post;
use crate::hogar::{consultar, estado, evento, hogar_con};
use crate::per_backend;
use crate::support::{Setup, TestNode};

per_backend!(
    async fn a_birth_is_an_event_in_the_history_of_the_mothers_household(backend) {
        let node = TestNode::start_with(
            backend,
            Setup {
                persons: 3_000,
                ..Setup::default()
            },
        )
        .await;
        let (hogar, miembros) = hogar_con(&node, "13101", 1, 0);
        let madre = miembros[0].0;
        diesel::update(
            fichas::table
                .filter(fichas::hogar_id.eq(hogar))
                .filter(fichas::estado.eq("vigente")),
        )
        .set(fichas::modelo.eq("FPS-2026-1"))
        .execute(&mut node.db())
        .unwrap();
        let (antes, _, _) = estado(&node, hogar);
        // Twins: two events on one household in one batch, numbered in line order.
        let (uno, dos) = (
            Run::from_numero(74_000_001).unwrap(),
            Run::from_numero(74_000_002).unwrap(),
        );
        let csv = format!(
            "run,nombres,apellido_paterno,apellido_materno,fecha_nacimiento,sexo,run_madre\n\
             {uno},AGUSTÍN,ROJAS,MUÑOZ,2026-11-02,M,{madre}\n\
             {dos},LUZ,ROJAS,MUÑOZ,2026-11-02,F,{madre}\n"
        );
        let response = post(&node, "srcei", "nacimientos", "text/csv", csv.into_bytes(), None).await;
        assert_eq!(response.status(), 200);
        let report: Value = response.json().await.unwrap();
        assert_eq!(report["aplicados"], 2, "{report}");

        let (version, miembros, revision) = estado(&node, hogar);
        assert_eq!(version, antes + 2);
        assert!(miembros.contains(&(uno.numero() as i32)) && miembros.contains(&(dos.numero() as i32)));
        // The ficha is marked by the first birth (FPS-2026-1 lists agregar_integrante).
        let primero: String = hogar_eventos::table
            .filter(hogar_eventos::hogar_id.eq(hogar))
            .filter(hogar_eventos::secuencia.eq(antes + 1))
            .select(hogar_eventos::id)
            .first(&mut node.db())
            .unwrap();
        assert_eq!(revision, Some(Some(primero)));

        let (status, h) = consultar(&node, "muni-13101", madre).await;
        assert_eq!(status, 200, "{h}");
        assert_eq!(h["enRevision"], true);
        let eventos = h["eventos"].as_array().unwrap();
        let [.., a, b] = eventos.as_slice() else {
            panic!("{h}")
        };
        for (e, run, secuencia) in [(a, uno, antes + 1), (b, dos, antes + 2)] {
            assert_eq!(e["evento"], "agregar_integrante", "{e}");
            assert_eq!(e["integrantes"][0]["run"], run.to_string());
            assert_eq!(e["integrantes"][0]["parentesco"], "hijo");
            assert_eq!(e["motivo"], "nacimiento informado por el Registro Civil");
            assert_eq!(e["convenio"], "srcei");
            assert!(e.get("usuario").is_none(), "{e}");
            assert_eq!(e["marcaRevision"], true);
            assert_eq!(e["secuencia"], secuencia);
        }
        // Upkeep carries on from the version the feed left.
        let (status, h) = evento(
            &node,
            "muni-13101",
            madre,
            json!({"evento": "cambiar_domicilio", "direccion": "Av. Matta 1020", "motivo": "Arriendo nuevo"}),
        )
        .await;
        assert_eq!(status, 200, "{h}");
        assert_eq!(estado(&node, hogar).0, antes + 3);
        node.stop().await;
    }
);
