//! A participation as answers carry it, and the projection of the answers onto a grant.

use std::collections::BTreeSet;

use serde::Serialize;

use super::reglas;
use super::store::Expediente;
pub use crate::catalog::modulos::chile_solidario::ParticipacionChs;
use crate::catalog::modulos::chile_solidario::{BonoChs, CondicionChs, SesionChs};
use crate::domain::{Cut, Run};
use crate::projection::{FieldSet, Project, recortar, revelados};
use crate::respuestas::ComunaRef;

impl Project for ParticipacionChs {
    fn project(&mut self, grant: &FieldSet) {
        recortar(self, grant);
    }

    fn disclosed(&self) -> BTreeSet<&'static str> {
        revelados(self)
    }

    /// The titular (and the member asked about): an answer about a participation tells
    /// about them.
    fn subjects(&self) -> Option<Vec<Run>> {
        Some(self.sujetos.clone())
    }
}

/// A household's participations that the agreement may see, newest first (ConsultarParticipacionCHS).
#[derive(Debug, Clone, Default, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ParticipacionesChs {
    pub participaciones: Vec<ParticipacionChs>,
}

/// One page of a comuna's participations (ListarParticipacionesCHS).
#[derive(Debug, Clone, Default, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ListaParticipacionesChs {
    pub comuna: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub programa: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub estado: Option<String>,
    pub pagina: u32,
    pub por_pagina: u32,
    /// Participations matching the filter, on every page.
    pub total: i64,
    pub participaciones: Vec<ParticipacionChs>,
}

fn proyectar_todas(ps: &mut [ParticipacionChs], grant: &FieldSet) {
    ps.iter_mut().for_each(|p| p.project(grant));
}

fn sujetos_de(ps: &[ParticipacionChs]) -> Option<Vec<Run>> {
    let mut out: Vec<Run> = Vec::new();
    for r in ps.iter().flat_map(|p| p.sujetos.iter()) {
        if !out.contains(r) {
            out.push(*r);
        }
    }
    Some(out)
}

impl Project for ParticipacionesChs {
    fn project(&mut self, grant: &FieldSet) {
        proyectar_todas(&mut self.participaciones, grant);
    }

    fn disclosed(&self) -> BTreeSet<&'static str> {
        self.participaciones
            .iter()
            .flat_map(|p| p.disclosed())
            .collect()
    }

    fn subjects(&self) -> Option<Vec<Run>> {
        sujetos_de(&self.participaciones)
    }
}

impl Project for ListaParticipacionesChs {
    fn project(&mut self, grant: &FieldSet) {
        proyectar_todas(&mut self.participaciones, grant);
    }

    fn disclosed(&self) -> BTreeSet<&'static str> {
        self.participaciones
            .iter()
            .flat_map(|p| p.disclosed())
            .collect()
    }

    /// Every titular on the page.
    fn subjects(&self) -> Option<Vec<Run>> {
        sujetos_de(&self.participaciones)
    }
}

fn run_de(numero: i32) -> Option<Run> {
    Run::from_numero(numero as u32).ok()
}

/// The whole participation; projection cuts it down to the grant. `tambien` is a member asked
/// about besides the titular.
pub fn vista(e: &Expediente, tambien: Option<Run>) -> ParticipacionChs {
    let f = &e.fila;
    let titular = run_de(f.run_titular);
    let mut sujetos: Vec<Run> = titular.into_iter().collect();
    if let Some(r) = tambien.filter(|r| Some(*r) != titular) {
        sujetos.push(r);
    }
    // The catalogue's order, whatever order the rows came in.
    let mut condiciones: Vec<CondicionChs> = Vec::with_capacity(e.condiciones.len());
    for c in reglas::condiciones() {
        if let Some(fila) = e.condiciones.iter().find(|fila| fila.codigo == c.codigo) {
            condiciones.push(CondicionChs {
                codigo: Some(fila.codigo.clone()),
                dimension: Some(c.dimension.to_owned()),
                estado: Some(fila.estado.clone()),
                fecha: fila.fecha,
            });
        }
    }
    ParticipacionChs {
        sujetos,
        id: Some(f.id.clone()),
        run: titular.map(|r| r.to_string()),
        programa: Some(f.programa.clone()),
        comuna: Some(ComunaRef {
            codigo: Some(f.cut.clone()),
            nombre: Cut::parse(&f.cut).ok().map(|c| c.comuna().nombre.clone()),
        }),
        estado: Some(f.estado.clone()),
        fecha_ingreso: Some(f.fecha_ingreso),
        fecha_egreso: f.fecha_egreso,
        motivo_egreso: f.motivo_egreso.clone(),
        apoyo_familiar: Some(f.apoyo_familiar.clone()),
        condiciones: Some(condiciones),
        sesiones: Some(
            e.sesiones
                .iter()
                .map(|s| SesionChs {
                    numero: u32::try_from(s.numero).ok(),
                    fecha: Some(s.fecha),
                    tipo: Some(s.tipo.clone()),
                })
                .collect(),
        ),
        bonos: Some(
            e.bonos
                .iter()
                .map(|b| BonoChs {
                    tipo: Some(b.tipo.clone()),
                    mes: u32::try_from(b.mes).ok(),
                    periodo: Some(b.periodo.clone()),
                    monto: u32::try_from(b.monto).ok(),
                    estado: Some(b.estado.clone()),
                })
                .collect(),
        ),
    }
}
