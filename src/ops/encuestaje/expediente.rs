//! A request as its municipality works it (TrabajarEncuestaje): the request, the history of its
//! events, and the events its state admits now. The history is cut to the same grant as the
//! request, field by field: an event's resulting state needs `estado`, its date `fechaVisita`
//! (a visit) or `fechaAplicacion` (a survey), and its reason `motivoAnulacion` (an
//! annulment's, or a failed visit's: both are what the municipality wrote about the household).

use std::collections::BTreeSet;

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

use super::estado::{self, Estado};
use super::respuesta::vista;
use super::store::{self, EventoFila};
use super::{Encuestaje, en_ambito, leer};
use crate::broker::Admission;
use crate::catalog::Operation;
use crate::convenios::Convenio;
use crate::db::DbConnection;
use crate::domain::Run;
use crate::error::ApiError;
use crate::ops::{Core, Op};
use crate::projection::{FieldSet, Project};

/// One request with its history.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Expediente {
    pub encuestaje: Encuestaje,
    /// Oldest first; the first is the request's creation (`solicitar`).
    pub eventos: Vec<EventoHistorial>,
    /// The events that may be recorded now, in [`estado::EVENTOS`] order; none once final.
    pub siguientes: Vec<&'static str>,
}

/// One change of a request.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EventoHistorial {
    /// `solicitar`, or one of [`estado::EVENTOS`].
    pub evento: String,
    /// When it was recorded.
    pub registrado: DateTime<Utc>,
    /// The state it led to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub estado: Option<String>,
    /// The visit's date, or the survey's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fecha: Option<NaiveDate>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub motivo: Option<String>,
}

impl EventoHistorial {
    /// The request's field whose grant covers this event's date.
    fn campo_fecha(&self) -> &'static str {
        if self.evento == "encuestar" {
            "fechaAplicacion"
        } else {
            "fechaVisita"
        }
    }
}

fn historial(fila: &EventoFila) -> EventoHistorial {
    EventoHistorial {
        evento: fila.evento.clone(),
        registrado: DateTime::from_timestamp_micros(fila.ts_us).unwrap_or_default(),
        estado: Some(fila.estado.clone()),
        fecha: fila.fecha,
        motivo: fila.motivo.clone(),
    }
}

impl Project for Expediente {
    fn project(&mut self, grant: &FieldSet) {
        self.encuestaje.project(grant);
        for evento in &mut self.eventos {
            if !grant.contains("estado") {
                evento.estado = None;
            }
            if !grant.contains(evento.campo_fecha()) {
                evento.fecha = None;
            }
            if !grant.contains("motivoAnulacion") {
                evento.motivo = None;
            }
        }
        // What may come next tells the state.
        if !grant.contains("estado") {
            self.siguientes.clear();
        }
    }

    fn disclosed(&self) -> BTreeSet<&'static str> {
        let mut out = self.encuestaje.disclosed();
        for evento in &self.eventos {
            if evento.estado.is_some() {
                out.insert("estado");
            }
            if evento.fecha.is_some() {
                out.insert(evento.campo_fecha());
            }
            if evento.motivo.is_some() {
                out.insert("motivoAnulacion");
            }
        }
        if !self.siguientes.is_empty() {
            out.insert("estado");
        }
        out
    }

    fn subjects(&self) -> Option<Vec<Run>> {
        self.encuestaje.subjects()
    }
}

/// A request of the municipality's own comuna, with its history; to anyone else an unknown id
/// is `NO_ENCONTRADO` and another comuna's request `FUERA_DE_AMBITO`, as for its events.
pub fn expediente(
    convenio: &Convenio,
    conn: &mut DbConnection,
    id: &str,
) -> Result<Expediente, ApiError> {
    let fila = leer(conn, id)?;
    en_ambito(convenio, &fila.cut)?;
    let actual = Estado::parse(&fila.estado).ok_or_else(|| {
        tracing::error!(encuestaje.estado = %fila.estado, "stored request in an unknown state");
        ApiError::unavailable()
    })?;
    let eventos = store::eventos(conn, &fila.id)?;
    Ok(Expediente {
        encuestaje: vista(&fila),
        eventos: eventos.iter().map(historial).collect(),
        siguientes: estado::posibles(actual, fila.visitas_fallidas),
    })
}

/// ConsultarExpediente (the console's page of one request), under the TrabajarEncuestaje
/// grant.
pub struct ConsultarExpediente;

impl Op for ConsultarExpediente {
    const OPERATION: Operation = Operation::TrabajarEncuestaje;
    /// The request's id, as sent.
    type Request = String;
    type Response = Expediente;

    fn subjects(_: &String) -> Vec<Run> {
        Vec::new()
    }

    fn handle(
        _: &Core,
        admission: &Admission,
        conn: &mut DbConnection,
        id: String,
    ) -> Result<Expediente, ApiError> {
        expediente(&admission.convenio, conn, &id)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::domain::EncuestajeId;
    use crate::ops::encuestaje::store::Fila;

    fn d(day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, day).unwrap()
    }

    fn evento(evento: &str, fecha: Option<NaiveDate>, motivo: Option<&str>) -> EventoHistorial {
        EventoHistorial {
            evento: evento.into(),
            registrado: DateTime::from_timestamp(1_795_000_000, 0).unwrap(),
            estado: Some("visita_programada".into()),
            fecha,
            motivo: motivo.map(str::to_owned),
        }
    }

    /// A request with every field, and a history that carries every kind of datum.
    fn full() -> Expediente {
        let fila = Fila {
            id: EncuestajeId::new().to_string(),
            run: 12_345_678,
            cut: "13101".into(),
            convenio: "minvu".into(),
            estado: "visita_fallida".into(),
            visitas_fallidas: 1,
            fecha_solicitud: d(1),
            fecha_vencimiento: d(30),
            fecha_visita: Some(d(10)),
            motivo_anulacion: Some("x".into()),
            folio: Some(1_000_001),
            puntaje: Some(8_000),
            fecha_aplicacion: Some(d(12)),
            version: 3,
            creada_us: 0,
            actualizada_us: 0,
        };
        Expediente {
            encuestaje: vista(&fila),
            eventos: vec![
                evento("solicitar", None, None),
                evento("programar_visita", Some(d(10)), None),
                evento("visita_fallida", Some(d(10)), Some("nadie")),
                evento("encuestar", Some(d(12)), None),
                evento("anular", None, Some("duplicada")),
            ],
            siguientes: estado::posibles(Estado::VisitaFallida, 1),
        }
    }

    proptest! {
        /// Nothing of the request or its history survives that the grant does not cover, and
        /// the audit is told exactly the grant's fields that remain.
        #[test]
        fn the_history_discloses_no_more_than_the_request_may(
            grant in prop::sample::subsequence(
                Operation::TrabajarEncuestaje.fields().to_vec(),
                0..=Operation::TrabajarEncuestaje.fields().len(),
            )
        ) {
            let grant = FieldSet::new(grant);
            let mut value = full();
            value.project(&grant);
            let disclosed = value.disclosed();
            prop_assert!(disclosed.iter().all(|f| grant.contains(f)), "{disclosed:?}");
            let mut expected: BTreeSet<&str> = value.encuestaje.disclosed();
            for e in &value.eventos {
                prop_assert_eq!(e.estado.is_some(), grant.contains("estado"));
                prop_assert_eq!(e.motivo.is_some(), grant.contains("motivoAnulacion")
                    && matches!(e.evento.as_str(), "visita_fallida" | "anular"));
                if e.fecha.is_some() {
                    prop_assert!(grant.contains(e.campo_fecha()));
                }
                expected.extend(e.estado.as_ref().map(|_| "estado"));
                expected.extend(e.fecha.as_ref().map(|_| e.campo_fecha()));
                expected.extend(e.motivo.as_ref().map(|_| "motivoAnulacion"));
            }
            prop_assert_eq!(value.siguientes.is_empty(), !grant.contains("estado"));
            prop_assert_eq!(disclosed, expected);
            prop_assert_eq!(value.subjects(), Some(vec![Run::from_numero(12_345_678).unwrap()]));
        }
    }
}
