use std::collections::BTreeSet;

use chrono::NaiveDate;
use serde_json::Value;

use super::*;
use crate::projection::{Campos, FieldSet, Project};
use crate::respuestas::ComunaRef;

fn integrante(run: &str, parentesco: &str, sexo: &str) -> IntegranteFicha {
    IntegranteFicha {
        run: Some(run.to_owned()),
        nombres: Some("ANA".to_owned()),
        apellido_paterno: Some("PÉREZ".to_owned()),
        apellido_materno: Some("SOTO".to_owned()),
        fecha_nacimiento: NaiveDate::from_ymd_opt(1980, 1, 2),
        sexo: Some(sexo.to_owned()),
        parentesco: Some(parentesco.to_owned()),
    }
}

fn completa() -> FichaFps {
    FichaFps {
        run: Some("12345678-5".to_owned()),
        folio: Some(1_000_001),
        puntaje: Some(4_213),
        quintil: Some(1),
        fecha_aplicacion: NaiveDate::from_ymd_opt(2008, 5, 1),
        comuna: Some(ComunaRef {
            codigo: Some("13101".to_owned()),
            nombre: Some("Santiago".to_owned()),
        }),
        estado: Some("vigente".to_owned()),
        fallecido: Some(false),
        integrantes: Some(vec![
            integrante("12345678-5", "jefe", "F"),
            integrante("15509661-6", "hijo", "M"),
        ]),
    }
}

/// The DCI fields a rendered object carries: its keys as dotted paths down to the rules'
/// destinations (`additional_attributes` entries by name).
fn rutas(value: &Value, prefix: &str, out: &mut BTreeSet<String>) {
    let Some(map) = value.as_object() else { return };
    for (key, v) in map {
        let path = format!("{prefix}{key}");
        match (key.as_str(), v) {
            ("additional_attributes", Value::Array(list)) => {
                for entry in list {
                    out.insert(format!("{path}.{}", entry["name"].as_str().unwrap()));
                }
            }
            ("demographic_info" | "name", Value::Object(_)) => rutas(v, &format!("{path}."), out),
            _ => {
                out.insert(path);
            }
        }
    }
}

fn campos_de(value: &Value) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    rutas(value, "", &mut out);
    out
}

#[test]
fn each_grant_path_renders_exactly_its_dci_fields() {
    for path in FichaFps::campos() {
        let mut ficha = completa();
        ficha.project(&FieldSet::new([*path]));
        let grupo = grupo(&ficha);
        let mut esperado: BTreeSet<String> = GRUPO
            .iter()
            .filter(|r| {
                r.fuente == *path || (r.fuente == "integrantes" && path.starts_with("integrantes."))
            })
            .map(|r| r.destino.to_owned())
            .collect();
        esperado.insert("group_type".to_owned());
        assert_eq!(campos_de(&grupo), esperado, "grant {path}: Group");
        let esperado_miembro: BTreeSet<String> = INTEGRANTE
            .iter()
            .filter(|r| r.fuente == *path)
            .map(|r| r.destino.to_owned())
            .collect();
        for member in grupo["member_list"].as_array().into_iter().flatten() {
            assert_eq!(campos_de(member), esperado_miembro, "grant {path}: Member");
        }
        if !path.starts_with("integrantes.") {
            assert!(grupo.get("member_list").is_none(), "grant {path}");
        }
    }
}

#[test]
fn every_rule_names_a_grant_path_and_renders_from_a_full_ficha() {
    let campos = FichaFps::campos();
    for fuente in GRUPO
        .iter()
        .map(|r| r.fuente)
        .chain(INTEGRANTE.iter().map(|r| r.fuente))
    {
        assert!(
            campos.contains(&fuente) || fuente == "integrantes",
            "{fuente}"
        );
    }
    let grupo = grupo(&completa());
    for regla in GRUPO {
        assert!(
            campos_de(&grupo).contains(regla.destino),
            "{}",
            regla.destino
        );
    }
    for regla in INTEGRANTE {
        assert!(
            campos_de(&grupo["group_head_info"]).contains(regla.destino),
            "{}",
            regla.destino
        );
    }
    assert_eq!(grupo["poverty_score"], 4213);
    assert_eq!(
        grupo["group_head_info"]["member_identifier"][0]["identifier_value"],
        "12345678-5"
    );
    assert_eq!(grupo["member_list"][1]["demographic_info"]["sex"], "male");
}

#[test]
fn nothing_granted_renders_nothing_but_the_constant() {
    let mut ficha = completa();
    ficha.project(&FieldSet::new([]));
    assert_eq!(
        grupo(&ficha),
        serde_json::json!({ "group_type": "household" })
    );
    assert_eq!(persona(&ficha), serde_json::json!({}));
}

#[test]
fn the_member_answer_is_the_person_asked_about() {
    let member = persona(&completa());
    assert_eq!(
        member["member_identifier"][0]["identifier_value"],
        "12345678-5"
    );
    assert_eq!(member["demographic_info"]["name"]["given_name"], "ANA");
    assert_eq!(member["related_person"][0]["relationship_type"], "SELF");
    let mut sin_integrantes = completa();
    sin_integrantes.project(&FieldSet::new(["run", "puntaje"]));
    assert_eq!(
        campos_de(&persona(&sin_integrantes)),
        BTreeSet::from(["member_identifier".to_owned()])
    );
}
