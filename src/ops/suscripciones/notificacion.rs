//! An event as a subscriber receives it ([`Notificacion`]), made from its outbox row, and its
//! projection onto the agreement's grant.

use std::collections::BTreeSet;

use chrono::{DateTime, NaiveDate};
use serde_json::{Map, Value};

use super::store::Fila;
use crate::domain::Run;
use crate::projection::{FieldSet, Project, recortar, revelados};
pub use crate::respuestas::Notificacion;

/// The idempotency key of the event at `secuencia` of subscription `suscripcion`: the same
/// for every delivery of it, and built from the subscription's own sequence, never from the
/// outbox's id (whose gaps would tell how many events other persons had).
pub fn clave(suscripcion: &str, secuencia: i64) -> String {
    format!("{suscripcion}-{secuencia}")
}

fn run_de(numero: i32) -> Option<Run> {
    Run::from_numero(u32::try_from(numero).ok()?).ok()
}

/// The persons an event is about: its person and the one it relates them to (a birth's
/// mother, a benefit's payee).
pub fn sujetos(fila: &Fila) -> Vec<Run> {
    std::iter::once(fila.run)
        .chain(fila.run_relacionado)
        .filter_map(run_de)
        .collect()
}

/// The whole notification (projection cuts it down to the grant).
pub fn vista(suscripcion: &str, fila: &Fila) -> (Notificacion, Vec<Run>) {
    let datos: Map<String, Value> = serde_json::from_str(&fila.datos).unwrap_or_default();
    let texto = |k: &str| datos.get(k).and_then(Value::as_str).map(str::to_owned);
    let entero = |k: &str| {
        datos.get(k).and_then(|v| match v {
            Value::Number(n) => n.as_i64(),
            Value::String(s) => s.parse().ok(),
            _ => None,
        })
    };
    let fecha = |k: &str| texto(k).and_then(|t| NaiveDate::parse_from_str(&t, "%Y-%m-%d").ok());
    let n = Notificacion {
        id: Some(clave(suscripcion, fila.secuencia)),
        suscripcion: Some(suscripcion.to_owned()),
        secuencia: Some(fila.secuencia),
        tipo: Some(fila.tipo.clone()),
        registrado: DateTime::from_timestamp_micros(fila.registrado_us),
        run: run_de(fila.run).map(|r| r.to_string()),
        run_relacionado: fila.run_relacionado.and_then(run_de).map(|r| r.to_string()),
        fecha_defuncion: fecha("fechaDefuncion"),
        fecha_nacimiento: fecha("fechaNacimiento"),
        sexo: texto("sexo"),
        folio: entero("folio"),
        folio_anterior: entero("folioAnterior"),
        puntaje: entero("puntaje").and_then(|p| u16::try_from(p).ok()),
        quintil: entero("quintil").and_then(|q| u8::try_from(q).ok()),
        fecha_aplicacion: fecha("fechaAplicacion"),
        comuna: texto("comuna"),
        comuna_anterior: texto("comunaAnterior"),
        programa: texto("programa"),
        estado: texto("estado"),
        fecha_inicio: fecha("fechaInicio"),
        fecha_termino: fecha("fechaTermino"),
        decreto: texto("decreto").or_else(|| entero("decreto").map(|d| d.to_string())),
    };
    (n, sujetos(fila))
}

impl Project for Notificacion {
    fn project(&mut self, grant: &FieldSet) {
        recortar(self, grant);
    }

    fn disclosed(&self) -> BTreeSet<&'static str> {
        revelados(self)
    }
}
