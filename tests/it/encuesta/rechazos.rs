//! Refused questionnaires: each names its field by path (indexes, never a RUN) and changes
//! nothing; an unknown or deceased member is `PERSONA_NO_ENCUESTABLE` naming its index.

use serde_json::{Value, json};
use siis::domain::Run;

use super::{encuestar, estado_registro, integrante, lista, node_sin_limites};
use crate::encuestaje::{evento, stored};
use crate::per_backend;
use crate::registry;

pub(super) type Cambio = Box<dyn Fn(&mut Value)>;

fn en(path: &'static str, value: Value) -> Cambio {
    Box::new(move |b: &mut Value| *b.pointer_mut(path).unwrap() = value.clone())
}

fn sin(parent: &'static str, key: &'static str) -> Cambio {
    Box::new(move |b: &mut Value| {
        b.pointer_mut(parent)
            .unwrap()
            .as_object_mut()
            .unwrap()
            .remove(key);
    })
}

/// Each refused questionnaire as a change to [`base`]'s, and the field it must name.
pub(super) fn casos(jefe: Run, otro: Run) -> Vec<(Cambio, &'static str)> {
    let muchos: Vec<Value> = std::iter::once(integrante(jefe, "jefe", false))
        .chain((0..20).map(|k| integrante(Run::from_numero(1_500_000 + k).unwrap(), "hijo", true)))
        .collect();
    vec![
        (sin("", "encuesta"), "encuesta"),
        (Box::new(|b| b["modelo"] = json!("FPS-1999-1")), "modelo"),
        (en("/encuesta/direccion", json!("  ")), "direccion"),
        (sin("/encuesta", "direccion"), "direccion"),
        (en("/encuesta/zona", json!("costera")), "zona"),
        (sin("/encuesta", "vivienda"), "vivienda"),
        (
            en("/encuesta/vivienda/tenencia", json!("okupa")),
            "vivienda.tenencia",
        ),
        (en("/encuesta/vivienda/agua", json!("rio")), "vivienda.agua"),
        (
            sin("/encuesta/vivienda", "saneamiento"),
            "vivienda.saneamiento",
        ),
        (en("/encuesta/vivienda/piezas", json!(0)), "vivienda.piezas"),
        (en("/encuesta/integrantes", json!([])), "integrantes"),
        (en("/encuesta/integrantes", json!(muchos)), "integrantes"),
        (
            en("/encuesta/integrantes/1/run", json!("12345678-9")),
            "integrantes[1].run",
        ),
        (
            en("/encuesta/integrantes/1/run", json!(jefe.to_string())),
            "integrantes[1].run",
        ),
        (sin("/encuesta/integrantes/1", "run"), "integrantes[1].run"),
        (
            en("/encuesta/integrantes/1/parentesco", json!("jefe")),
            "integrantes[1].parentesco",
        ),
        (
            en("/encuesta/integrantes/1/parentesco", json!("primo")),
            "integrantes[1].parentesco",
        ),
        (
            en("/encuesta/integrantes/0/parentesco", json!("conyuge")),
            "integrantes",
        ),
        (
            en("/encuesta/integrantes/1/escolaridadAnios", json!(23)),
            "integrantes[1].escolaridadAnios",
        ),
        (
            sin("/encuesta/integrantes/1", "asisteEducacion"),
            "integrantes[1].asisteEducacion",
        ),
        (
            en("/encuesta/integrantes/1/salud", json!("regular")),
            "integrantes[1].salud",
        ),
        (
            en("/encuesta/integrantes/0/actividad", json!("jubilado")),
            "integrantes[0].actividad",
        ),
        (
            en("/encuesta/integrantes/1/ingresoTrabajo", json!(-1)),
            "integrantes[1].ingresoTrabajo",
        ),
        (
            en("/encuesta/integrantes/0/ingresoPensiones", json!(5_000_001)),
            "integrantes[0].ingresoPensiones",
        ),
        (
            sin("/encuesta/integrantes/1", "ingresoOtros"),
            "integrantes[1].ingresoOtros",
        ),
        // The request's person must be among the members.
        (
            en(
                "/encuesta/integrantes",
                json!([integrante(otro, "jefe", false)]),
            ),
            "integrantes",
        ),
    ]
}

/// The valid questionnaire the refusals change: the request's person and a child.
pub(super) fn base(jefe: Run, otro: Run) -> Value {
    encuestar(vec![
        integrante(jefe, "jefe", false),
        integrante(otro, "hijo", true),
    ])
}

per_backend!(
    async fn cada_dato_invalido_nombra_su_campo_y_no_cambia_nada(backend) {
        let (node, _convenios) = node_sin_limites(backend).await;
        let (id, jefe) = lista(&node, 0).await;
        let otro = crate::encuestaje::sin_ficha(&node, 3)[2];
        let base = base(jefe, otro);
        let cases = casos(jefe, otro);
        let antes = estado_registro(&node);
        let pedido = stored(&node, &id);
        for (cambio, campo) in cases {
            let mut body = base.clone();
            cambio(&mut body);
            let (status, r) = evento(&node, "muni-13101", &id, body).await;
            assert_eq!(status, 400, "{campo}: {r}");
            assert_eq!(r["code"], "ENCUESTA_INVALIDA", "{campo}: {r}");
            assert_eq!(r["campo"], campo, "{r}");
            let detail = r["detail"].as_str().unwrap();
            for run in [jefe, otro] {
                assert!(!detail.contains(&run.numero().to_string()), "no RUN: {detail}");
            }
        }
        // A score beside the questionnaire is an event error (the model computes it).
        let mut body = base.clone();
        body["puntaje"] = json!(9_000);
        let (status, r) = evento(&node, "muni-13101", &id, body).await;
        assert_eq!((status, r["code"].as_str()), (400, Some("EVENTO_INVALIDO")), "{r}");
        assert!(r.get("campo").is_none(), "{r}");
        assert_eq!(estado_registro(&node), antes, "nothing changed");
        assert_eq!(stored(&node, &id), pedido);
        // The same questionnaire, valid, is then recorded.
        let (status, r) = evento(&node, "muni-13101", &id, base).await;
        assert_eq!(status, 200, "{r}");
        node.stop().await;
    }
);

per_backend!(
    async fn un_integrante_desconocido_o_fallecido_no_es_encuestable(backend) {
        let (node, _convenios) = node_sin_limites(backend).await;
        let (id, jefe) = lista(&node, 0).await;
        let fallecido = registry::deceased_with_ficha(&mut node.db());
        let antes = estado_registro(&node);
        let pedido = stored(&node, &id);
        for (i, run) in [(1, registry::unknown()), (2, fallecido)] {
            let mut members = vec![
                integrante(jefe, "jefe", false),
                integrante(crate::encuestaje::sin_ficha(&node, 3)[2], "hijo", true),
            ];
            members.insert(i, integrante(run, "otro_pariente", false));
            let (status, r) =
                evento(&node, "muni-13101", &id, encuestar(members)).await;
            assert_eq!(status, 409, "{r}");
            assert_eq!(r["code"], "PERSONA_NO_ENCUESTABLE", "{r}");
            assert_eq!(r["campo"], format!("integrantes[{i}]"), "{r}");
            assert!(!r["detail"].as_str().unwrap().contains(&run.numero().to_string()));
        }
        assert_eq!(estado_registro(&node), antes, "nothing changed");
        assert_eq!(stored(&node, &id), pedido);
        node.stop().await;
    }
);
