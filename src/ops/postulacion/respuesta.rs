//! A postulation as answers carry it, and its projection onto an agreement's grant.

use std::collections::BTreeSet;

use serde::Serialize;

use crate::db::models::{CausanteFila, ChequeoFila, PostulacionFila};
use crate::domain::Run;
use crate::ops::encuestaje::store::nombre_comuna;
use crate::ops::ficha::ComunaRef;
use crate::projection::{FieldSet, Project, recortar, revelados};
pub use crate::respuestas::{CausantePostulacion, ChequeoPostulacion, Postulacion};

impl Project for Postulacion {
    fn project(&mut self, grant: &FieldSet) {
        recortar(self, grant);
    }

    fn disclosed(&self) -> BTreeSet<&'static str> {
        revelados(self)
    }

    /// The applicant and every causante: an answer about a postulation tells about each.
    fn subjects(&self) -> Option<Vec<Run>> {
        Some(self.sujetos.clone())
    }
}

/// One page of a comuna's postulations (in the program's priority order when one program is
/// asked for: the waiting list).
#[derive(Debug, Clone, Default, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Postulaciones {
    pub comuna: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub programa: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub estado: Option<String>,
    pub pagina: u32,
    pub por_pagina: u32,
    /// Postulations matching the filter, on every page.
    pub total: i64,
    pub postulaciones: Vec<Postulacion>,
}

impl Project for Postulaciones {
    fn project(&mut self, grant: &FieldSet) {
        self.postulaciones.iter_mut().for_each(|p| p.project(grant));
    }

    fn disclosed(&self) -> BTreeSet<&'static str> {
        self.postulaciones
            .iter()
            .flat_map(|p| p.disclosed())
            .collect()
    }

    /// Every person of every postulation on the page.
    fn subjects(&self) -> Option<Vec<Run>> {
        Some(
            self.postulaciones
                .iter()
                .flat_map(|p| p.sujetos.iter().copied())
                .collect(),
        )
    }
}

fn run_de(numero: i32) -> Option<Run> {
    Run::from_numero(numero as u32).ok()
}

/// The whole postulation; projection cuts it down to the grant.
pub fn vista(
    fila: &PostulacionFila,
    causantes: &[CausanteFila],
    chequeos: &[ChequeoFila],
) -> Postulacion {
    Postulacion {
        sujetos: std::iter::once(fila.run)
            .chain(causantes.iter().map(|c| c.run))
            .filter_map(run_de)
            .collect(),
        id: Some(fila.id.clone()),
        programa: Some(fila.programa.clone()),
        run: run_de(fila.run).map(|r| r.to_string()),
        comuna: Some(ComunaRef {
            codigo: Some(fila.cut.clone()),
            nombre: nombre_comuna(&fila.cut),
        }),
        estado: Some(fila.estado.clone()),
        fecha_postulacion: Some(fila.fecha_postulacion),
        puntaje: fila.puntaje.and_then(|p| u16::try_from(p).ok()),
        decreto_folio: fila.decreto_folio.clone(),
        motivo_cierre: fila.motivo_cierre.clone(),
        causantes: Some(
            causantes
                .iter()
                .map(|c| CausantePostulacion {
                    run: run_de(c.run).map(|r| r.to_string()),
                    tipo: Some(c.tipo.clone()),
                })
                .collect(),
        ),
        chequeos: Some(
            chequeos
                .iter()
                .map(|c| ChequeoPostulacion {
                    regla: Some(c.regla.clone()),
                    cumple: Some(c.cumple),
                    motivo: Some(c.motivo.clone()),
                    dato: Some(c.dato.clone()),
                })
                .collect(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;
    use proptest::prelude::*;

    use super::*;
    use crate::domain::PostulacionId;

    fn full() -> Postulacion {
        let id = PostulacionId::new().to_string();
        vista(
            &PostulacionFila {
                id: id.clone(),
                programa: "SUF".into(),
                run: 12_345_678,
                cut: "13101".into(),
                convenio: "muni-13101".into(),
                usuario: None,
                estado: "desistida".into(),
                puntaje: Some(7_000),
                fecha_postulacion: NaiveDate::from_ymd_opt(2026, 12, 1).unwrap(),
                decreto_folio: Some("DEC-X".into()),
                motivo_cierre: Some("x".into()),
                corrida: 1,
                version: 1,
                creada_us: 0,
                actualizada_us: 0,
            },
            &[CausanteFila {
                postulacion_id: id.clone(),
                orden: 0,
                run: 15_509_661,
                tipo: "menor".into(),
            }],
            &[ChequeoFila {
                postulacion_id: id,
                corrida: 1,
                orden: 0,
                regla: "SUF-VIVO".into(),
                cumple: true,
                motivo: "Cumple".into(),
                dato: "fallecido".into(),
                ts_us: 0,
            }],
        )
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
            serde_json::Value::Array(items) => items.iter().for_each(|v| leaves(v, prefix, out)),
            _ => {
                out.insert(prefix.to_owned());
            }
        }
    }

    proptest! {
        #[test]
        fn a_postulation_never_discloses_beyond_the_grant(
            grant in prop::sample::subsequence(
                crate::catalog::Operation::PostularBeneficio.fields().to_vec(),
                0..=crate::catalog::Operation::PostularBeneficio.fields().len(),
            )
        ) {
            let mut value = full();
            value.project(&FieldSet::new(grant.iter().copied()));
            let mut after = BTreeSet::new();
            leaves(&serde_json::to_value(&value).unwrap(), "", &mut after);
            let granted: BTreeSet<String> = grant.iter().map(|s| s.to_string()).collect();
            // An emptied list keeps its (empty) array, which carries no leaf.
            prop_assert_eq!(&after, &granted, "the full postulation carries every path");
            let reported: BTreeSet<String> =
                value.disclosed().iter().map(|s| s.to_string()).collect();
            prop_assert_eq!(reported, after);
            prop_assert_eq!(
                value.subjects(),
                Some(vec![
                    Run::from_numero(12_345_678).unwrap(),
                    Run::from_numero(15_509_661).unwrap()
                ])
            );
        }
    }
}
