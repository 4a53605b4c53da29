//! A survey request as answers carry it, and its projection onto an agreement's grant.

use std::collections::BTreeSet;

use serde::Serialize;

use super::store;
use super::store::Fila;
use crate::domain::{Puntaje, Run};
use crate::ops::ficha::ComunaRef;
use crate::projection::FieldSet;
use crate::projection::{Project, recortar, revelados};
pub use crate::respuestas::Encuestaje;

impl Project for Encuestaje {
    fn project(&mut self, grant: &FieldSet) {
        recortar(self, grant);
    }

    fn disclosed(&self) -> BTreeSet<&'static str> {
        revelados(self)
    }

    fn subjects(&self) -> Option<Vec<Run>> {
        let mut runs: Vec<Run> = self.sujeto.into_iter().collect();
        runs.extend(self.encuestados.iter().filter(|r| Some(**r) != self.sujeto));
        Some(runs)
    }
}

/// One page of a municipality's queue.
#[derive(Debug, Clone, Default, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Cola {
    pub comuna: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub estado: Option<String>,
    pub pagina: u32,
    pub por_pagina: u32,
    /// Requests matching the filter, on every page.
    pub total: i64,
    pub encuestajes: Vec<Encuestaje>,
}

impl Project for Cola {
    fn project(&mut self, grant: &FieldSet) {
        self.encuestajes.iter_mut().for_each(|e| e.project(grant));
    }

    fn disclosed(&self) -> BTreeSet<&'static str> {
        self.encuestajes
            .iter()
            .flat_map(|e| e.disclosed())
            .collect()
    }

    fn subjects(&self) -> Option<Vec<Run>> {
        Some(self.encuestajes.iter().filter_map(|e| e.sujeto).collect())
    }
}

/// The whole request; projection cuts it down to the grant of the operation that answers.
pub(super) fn vista(fila: &Fila) -> Encuestaje {
    let puntaje = fila.puntaje.and_then(|p| Puntaje::new(i64::from(p)).ok());
    Encuestaje {
        sujeto: Run::from_numero(fila.run as u32).ok(),
        encuestados: Vec::new(),
        id: Some(fila.id.clone()),
        run: Run::from_numero(fila.run as u32)
            .ok()
            .map(|r| r.to_string()),
        comuna: Some(ComunaRef {
            codigo: Some(fila.cut.clone()),
            nombre: store::nombre_comuna(&fila.cut),
        }),
        estado: Some(fila.estado.clone()),
        solicitante: Some(fila.convenio.clone()),
        fecha_solicitud: Some(fila.fecha_solicitud),
        fecha_vencimiento: Some(fila.fecha_vencimiento),
        fecha_visita: fila.fecha_visita,
        visitas_fallidas: u8::try_from(fila.visitas_fallidas).ok(),
        motivo_anulacion: fila.motivo_anulacion.clone(),
        folio: fila.folio,
        puntaje: puntaje.map(|p| p.value()),
        quintil: puntaje.map(|p| p.quintil().number()),
        fecha_aplicacion: fila.fecha_aplicacion,
    }
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;
    use proptest::prelude::*;

    use super::*;
    use crate::domain::EncuestajeId;

    fn full() -> Encuestaje {
        vista(&Fila {
            id: EncuestajeId::new().to_string(),
            run: 12_345_678,
            cut: "13101".into(),
            convenio: "minvu".into(),
            estado: "encuestada".into(),
            visitas_fallidas: 1,
            fecha_solicitud: NaiveDate::from_ymd_opt(2026, 11, 1).unwrap(),
            fecha_vencimiento: NaiveDate::from_ymd_opt(2026, 12, 1).unwrap(),
            fecha_visita: NaiveDate::from_ymd_opt(2026, 11, 10),
            motivo_anulacion: Some("x".into()),
            folio: Some(1_000_001),
            puntaje: Some(8_000),
            fecha_aplicacion: NaiveDate::from_ymd_opt(2026, 11, 10),
            version: 3,
            creada_us: 0,
            actualizada_us: 0,
        })
    }

    fn leaves(value: &serde_json::Value, prefix: &str, out: &mut BTreeSet<String>) {
        match value {
            serde_json::Value::Object(map) => map.iter().for_each(|(k, v)| {
                let path = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                leaves(v, &path, out);
            }),
            _ => {
                out.insert(prefix.to_owned());
            }
        }
    }

    proptest! {
        #[test]
        fn a_request_never_discloses_beyond_the_grant(
            grant in prop::sample::subsequence(
                crate::catalog::Operation::TrabajarEncuestaje.fields().to_vec(),
                0..=crate::catalog::Operation::TrabajarEncuestaje.fields().len(),
            )
        ) {
            let mut value = full();
            value.project(&FieldSet::new(grant.iter().copied()));
            let mut after = BTreeSet::new();
            leaves(&serde_json::to_value(&value).unwrap(), "", &mut after);
            let granted: BTreeSet<String> = grant.iter().map(|s| s.to_string()).collect();
            prop_assert_eq!(&after, &granted, "the full request carries every path");
            let reported: BTreeSet<String> =
                value.disclosed().iter().map(|s| s.to_string()).collect();
            prop_assert_eq!(reported, after);
            prop_assert_eq!(value.subjects(), Some(vec![Run::from_numero(12_345_678).unwrap()]));
        }
    }
}
