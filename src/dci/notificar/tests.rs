use std::collections::BTreeSet;

use chrono::NaiveDate;
use serde_json::Value;

use super::*;
use crate::projection::{Campos, FieldSet, Project};

fn completa() -> Notificacion {
    Notificacion {
        id: Some("sub-7".to_owned()),
        suscripcion: Some("sub".to_owned()),
        secuencia: Some(7),
        tipo: Some("ficha_reemplazada".to_owned()),
        registrado: chrono::DateTime::from_timestamp(1_764_000_000, 0),
        run: Some("12345678-5".to_owned()),
        run_relacionado: Some("15509661-6".to_owned()),
        fecha_defuncion: NaiveDate::from_ymd_opt(2026, 11, 30),
        fecha_nacimiento: NaiveDate::from_ymd_opt(1950, 1, 2),
        sexo: Some("F".to_owned()),
        folio: Some(1_000_002),
        folio_anterior: Some(1_000_001),
        puntaje: Some(4_213),
        quintil: Some(1),
        fecha_aplicacion: NaiveDate::from_ymd_opt(2008, 5, 1),
        comuna: Some("13101".to_owned()),
        comuna_anterior: Some("01101".to_owned()),
        programa: Some("PBS".to_owned()),
        estado: Some("extinguido".to_owned()),
        fecha_inicio: NaiveDate::from_ymd_opt(2010, 1, 1),
        fecha_termino: NaiveDate::from_ymd_opt(2026, 11, 30),
        decreto: Some("42".to_owned()),
    }
}

/// The DCI fields of a record as dotted paths (`additional_attributes` entries by name,
/// `member_list.` for the Group's member).
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
            ("demographic_info", Value::Object(_)) => rutas(v, &format!("{path}."), out),
            ("member_list", Value::Array(list)) => {
                assert_eq!(list.len(), 1, "one member: the person of the event");
                rutas(&list[0], "member_list.", out);
            }
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

/// The DCI fields the rules render from the grant path `path` in a record of `registro`.
fn esperado(path: &str, registro: Registro) -> BTreeSet<String> {
    let de = |reglas: &[Regla<Notificacion>]| -> Vec<&'static str> {
        reglas
            .iter()
            .filter(|r| r.fuente == path)
            .map(|r| r.destino)
            .collect()
    };
    let mut out = BTreeSet::new();
    match registro {
        Registro::Member => {
            out.extend(de(MIEMBRO).into_iter().map(str::to_owned));
            for d in de(HOGAR) {
                let nombre = d.strip_prefix("additional_attributes.").unwrap_or(d);
                out.insert(format!("additional_attributes.{nombre}"));
            }
        }
        Registro::Group => {
            out.insert("group_type".to_owned());
            out.extend(de(MIEMBRO).into_iter().map(|d| format!("member_list.{d}")));
            out.extend(de(HOGAR).into_iter().map(str::to_owned));
        }
    }
    out.extend(de(EVENTO).into_iter().map(str::to_owned));
    out
}

#[test]
fn each_grant_path_renders_exactly_its_dci_fields() {
    for registro in [Registro::Member, Registro::Group] {
        for path in Notificacion::campos() {
            let mut n = completa();
            n.project(&FieldSet::new([*path]));
            let record = super::registro(&n, registro);
            assert_eq!(
                campos_de(&record),
                esperado(path, registro),
                "grant {path}: {registro:?}"
            );
        }
    }
}

#[test]
fn every_grant_path_has_a_rule_and_every_rule_a_grant_path() {
    let campos = Notificacion::campos();
    let fuentes: BTreeSet<&str> = MIEMBRO
        .iter()
        .chain(HOGAR)
        .chain(EVENTO)
        .map(|r| r.fuente)
        .collect();
    for fuente in &fuentes {
        assert!(
            campos.contains(fuente),
            "{fuente} is not a Notificacion field"
        );
    }
    for campo in campos {
        assert!(fuentes.contains(campo), "{campo} has no DCI rendering");
    }
}

#[test]
fn nothing_granted_renders_nothing_but_the_constant() {
    let mut n = completa();
    n.project(&FieldSet::new([]));
    assert_eq!(super::registro(&n, Registro::Member), serde_json::json!({}));
    assert_eq!(
        super::registro(&n, Registro::Group),
        serde_json::json!({ "group_type": "household" })
    );
}

#[test]
fn the_envelope_carries_the_key_and_one_event_with_one_record() {
    let n = completa();
    let aviso = Aviso {
        clave: "sub-7",
        suscripcion: "sub",
        sender_id: "siis",
        receiver_id: "ips",
        registro: Registro::Member,
        ahora: "2026-12-05T10:00:00.000Z",
    };
    let body = cuerpo(&n, &aviso);
    assert_eq!(body["header"]["action"], "notify");
    assert_eq!(body["header"]["message_id"], "sub-7");
    assert_eq!(body["header"]["receiver_id"], "ips");
    assert_eq!(body["message"]["transaction_id"], "sub");
    let events = body["message"]["notify_event"].as_array().unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["reference_id"], "sub-7");
    assert_eq!(events[0]["timestamp"], "2025-11-24T16:00:00.000Z");
    let data = &events[0]["data"];
    assert!(data["reg_records"].is_object(), "one record, not a list");
    assert!(
        data.get("reg_event_type").is_none(),
        "only ficha_creada is REGISTER"
    );
    assert_eq!(
        data["reg_records"]["demographic_info"]["death_date"],
        "2026-11-30"
    );
    let mut creada = completa();
    creada.tipo = Some("ficha_creada".to_owned());
    creada.registrado = None;
    let body = cuerpo(&creada, &aviso);
    let event = &body["message"]["notify_event"][0];
    assert_eq!(event["data"]["reg_event_type"], "REGISTER");
    assert_eq!(event["timestamp"], "2026-12-05T10:00:00.000Z");
}

#[test]
fn record_types_parse_with_or_without_a_namespace() {
    assert_eq!(Registro::parse("Member"), Some(Registro::Member));
    assert_eq!(
        Registro::parse("spdci-extensions-dci:Group"),
        Some(Registro::Group)
    );
    assert_eq!(Registro::parse("Beneficiary"), None);
}
