//! The answers as transports carry them, built from the rows, and their projection onto an
//! agreement's grant.

use std::collections::BTreeSet;

use serde::Serialize;

use super::informe::{Nivel, Tabla};
use super::store::{AyudaFila, EmergenciaFila, HogarFila};
use super::{Ayuda, CeldaEmergencia, Emergencia, InformeEmergencia, RegistroDamnificado};
use crate::domain::{Ambito, Run};
use crate::ops::encuestaje::store::nombre_comuna;
use crate::projection::{FieldSet, Project, recortar, revelados};
use crate::respuestas::ComunaRef;

fn comuna_ref(cut: &str) -> ComunaRef {
    ComunaRef {
        codigo: Some(cut.to_owned()),
        nombre: nombre_comuna(cut),
    }
}

/// The whole emergency; projection cuts it down to the grant.
pub fn emergencia(fila: &EmergenciaFila, comunas: &[String]) -> Emergencia {
    Emergencia {
        id: Some(fila.id.clone()),
        nombre: Some(fila.nombre.clone()),
        tipo: Some(fila.tipo.clone()),
        estado: Some(fila.estado.clone()),
        fecha_inicio: Some(fila.fecha_inicio),
        fecha_termino: fila.fecha_termino,
        comunas: Some(comunas.iter().map(|c| comuna_ref(c)).collect()),
    }
}

/// The whole record with its aid; projection cuts it down to the grant.
pub fn registro(fila: &HogarFila, ayudas: &[AyudaFila]) -> RegistroDamnificado {
    let run = Run::from_numero(fila.run_jefe as u32).ok();
    RegistroDamnificado {
        sujetos: run.into_iter().collect(),
        id: Some(fila.id.clone()),
        emergencia: Some(fila.emergencia_id.clone()),
        run: run.map(|r| r.to_string()),
        integrantes: u32::try_from(fila.integrantes).ok(),
        comuna_origen: Some(comuna_ref(&fila.cut_origen)),
        comuna_destino: Some(comuna_ref(&fila.cut_destino)),
        alojamiento: Some(fila.alojamiento.clone()),
        dano: Some(fila.dano.clone()),
        necesidades: Some(
            fila.necesidades
                .split(',')
                .filter(|n| !n.is_empty())
                .map(str::to_owned)
                .collect(),
        ),
        ayudas: Some(
            ayudas
                .iter()
                .map(|a| Ayuda {
                    tipo: Some(a.tipo.clone()),
                    cantidad: u32::try_from(a.cantidad).ok(),
                    fecha: Some(a.fecha),
                })
                .collect(),
        ),
    }
}

/// The report: the table's cells, a reserved one without counts.
pub fn informe(emergencia: &str, nivel: Nivel, tabla: &Tabla) -> InformeEmergencia {
    let nombre = |codigo: &str| {
        Ambito::parse(nivel, codigo)
            .ok()
            .map(|a| a.nombre().to_owned())
    };
    let celdas = tabla
        .del_nivel(nivel)
        .map(|c| {
            let visible = |n: u64| (!c.reservada).then_some(n);
            CeldaEmergencia {
                ambito: Some(
                    if c.territorio.is_some() {
                        nivel.as_str()
                    } else {
                        "nacional"
                    }
                    .to_owned(),
                ),
                codigo: c.territorio.clone(),
                nombre: match &c.territorio {
                    Some(t) => nombre(t),
                    None => Some("CHILE".to_owned()),
                },
                tipo_ayuda: Some(c.tipo.unwrap_or("total").to_owned()),
                reservado: Some(c.reservada),
                hogares: visible(c.hogares),
                entregas: visible(c.entregas),
            }
        })
        .collect();
    InformeEmergencia {
        emergencia: Some(emergencia.to_owned()),
        calculado_en: Some(chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
        celdas: Some(celdas),
    }
}

impl Project for Emergencia {
    fn project(&mut self, grant: &FieldSet) {
        recortar(self, grant);
    }

    fn disclosed(&self) -> BTreeSet<&'static str> {
        revelados(self)
    }

    /// An emergency names no person.
    fn subjects(&self) -> Option<Vec<Run>> {
        Some(Vec::new())
    }
}

impl Project for RegistroDamnificado {
    fn project(&mut self, grant: &FieldSet) {
        recortar(self, grant);
    }

    fn disclosed(&self) -> BTreeSet<&'static str> {
        revelados(self)
    }

    /// The head of household: the record tells about them.
    fn subjects(&self) -> Option<Vec<Run>> {
        Some(self.sujetos.clone())
    }
}

impl Project for InformeEmergencia {
    fn project(&mut self, grant: &FieldSet) {
        recortar(self, grant);
    }

    fn disclosed(&self) -> BTreeSet<&'static str> {
        revelados(self)
    }

    /// Suppressed aggregates: no person.
    fn subjects(&self) -> Option<Vec<Run>> {
        Some(Vec::new())
    }
}

/// Every emergency (or those in one state), the latest declared first.
#[derive(Debug, Clone, Default, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Emergencias {
    pub emergencias: Vec<Emergencia>,
}

impl Project for Emergencias {
    fn project(&mut self, grant: &FieldSet) {
        self.emergencias.iter_mut().for_each(|e| e.project(grant));
    }

    fn disclosed(&self) -> BTreeSet<&'static str> {
        self.emergencias
            .iter()
            .flat_map(|e| e.disclosed())
            .collect()
    }

    fn subjects(&self) -> Option<Vec<Run>> {
        Some(Vec::new())
    }
}

/// One page of an emergency's records within the agreement's scope.
#[derive(Debug, Clone, Default, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RegistrosDamnificados {
    pub emergencia: String,
    pub pagina: u32,
    pub por_pagina: u32,
    /// Records within scope, on every page.
    pub total: i64,
    pub registros: Vec<RegistroDamnificado>,
}

impl Project for RegistrosDamnificados {
    fn project(&mut self, grant: &FieldSet) {
        self.registros.iter_mut().for_each(|r| r.project(grant));
    }

    fn disclosed(&self) -> BTreeSet<&'static str> {
        self.registros.iter().flat_map(|r| r.disclosed()).collect()
    }

    /// Every head on the page.
    fn subjects(&self) -> Option<Vec<Run>> {
        Some(
            self.registros
                .iter()
                .flat_map(|r| r.sujetos.iter().copied())
                .collect(),
        )
    }
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;
    use proptest::prelude::*;

    use super::*;
    use crate::projection::Campos;

    fn full() -> RegistroDamnificado {
        let dia = NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();
        registro(
            &HogarFila {
                id: "DAM-AAAA-BBBB-CCCC".into(),
                emergencia_id: "EMG-2026-ABCDEFGH".into(),
                run_jefe: 12_345_678,
                hogar_id: None,
                integrantes: 4,
                cut_origen: "10401".into(),
                cut_destino: "10101".into(),
                alojamiento: "albergue".into(),
                dano: "destruida".into(),
                necesidades: "agua,abrigo".into(),
                convenio: "muni-10101".into(),
                registrado_us: 0,
            },
            &[AyudaFila {
                id: "AYU-X".into(),
                registro_id: "DAM-AAAA-BBBB-CCCC".into(),
                tipo: "agua".into(),
                cantidad: 2,
                fecha: dia,
                convenio: "muni-10101".into(),
                registrada_us: 0,
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
        fn a_record_never_discloses_beyond_the_grant(
            grant in prop::sample::subsequence(
                RegistroDamnificado::campos().to_vec(),
                0..=RegistroDamnificado::campos().len(),
            )
        ) {
            let mut value = full();
            value.project(&FieldSet::new(grant.iter().copied()));
            let mut after = BTreeSet::new();
            leaves(&serde_json::to_value(&value).unwrap(), "", &mut after);
            let granted: BTreeSet<String> = grant.iter().map(|s| s.to_string()).collect();
            prop_assert_eq!(&after, &granted, "the full record carries every path");
            let reported: BTreeSet<String> =
                value.disclosed().iter().map(|s| s.to_string()).collect();
            prop_assert_eq!(reported, after);
            prop_assert_eq!(value.subjects(), Some(vec![Run::from_numero(12_345_678).unwrap()]));
        }
    }

    #[test]
    fn a_reserved_cell_carries_no_count() {
        let t = super::super::informe::tabla(&["10404".to_owned()], &[], &[]);
        let i = informe("EMG-2026-ABCDEFGH", Nivel::Comuna, &t);
        let celdas = i.celdas.unwrap();
        assert!(
            celdas
                .iter()
                .all(|c| c.reservado == Some(true) && c.hogares.is_none() && c.entregas.is_none())
        );
        assert_eq!(celdas[0].nombre.as_deref(), Some("PALENA"));
        // A province is named from the catalogue too (10401's is Palena, 104).
        let t = super::super::informe::tabla(&["10401".to_owned()], &[], &[]);
        let i = informe("EMG-2026-ABCDEFGH", Nivel::Provincia, &t);
        let celdas = i.celdas.unwrap();
        assert_eq!(celdas[0].codigo.as_deref(), Some("104"));
        assert_eq!(celdas[0].nombre.as_deref(), Some("PALENA"));
    }
}
