//! The module's answers built from its rows, and their projection onto a grant.

use std::collections::BTreeSet;

use serde::Serialize;

use super::store::{DerivacionFila, Expediente, SeguimientoFila};
use crate::catalog::modulos::crece_contigo::{
    AlertaChCC, ControlChCC, DerivacionChCC, DerivacionResumenChCC, SeguimientoChCC,
};
use crate::db::models::Persona;
use crate::domain::{Cut, Run};
use crate::projection::{FieldSet, Project, recortar, revelados};
use crate::respuestas::ComunaRef;

impl Project for SeguimientoChCC {
    fn project(&mut self, grant: &FieldSet) {
        recortar(self, grant);
    }

    fn disclosed(&self) -> BTreeSet<&'static str> {
        revelados(self)
    }

    /// The gestante and the child: an answer about a follow-up tells about both.
    fn subjects(&self) -> Option<Vec<Run>> {
        Some(self.sujetos.clone())
    }
}

impl Project for DerivacionChCC {
    fn project(&mut self, grant: &FieldSet) {
        recortar(self, grant);
    }

    fn disclosed(&self) -> BTreeSet<&'static str> {
        revelados(self)
    }

    fn subjects(&self) -> Option<Vec<Run>> {
        Some(self.sujetos.clone())
    }
}

/// One page of a sector's tray of referrals.
#[derive(Debug, Clone, Default, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DerivacionesChCC {
    /// The sectors listed (those asked for, within the grant).
    pub sectores: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub estado: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comuna: Option<String>,
    pub pagina: u32,
    pub por_pagina: u32,
    /// Referrals matching, on every page.
    pub total: i64,
    pub derivaciones: Vec<DerivacionChCC>,
}

impl Project for DerivacionesChCC {
    fn project(&mut self, grant: &FieldSet) {
        self.derivaciones.iter_mut().for_each(|d| d.project(grant));
    }

    fn disclosed(&self) -> BTreeSet<&'static str> {
        self.derivaciones
            .iter()
            .flat_map(|d| d.disclosed())
            .collect()
    }

    /// Every person of every referral on the page.
    fn subjects(&self) -> Option<Vec<Run>> {
        Some(
            self.derivaciones
                .iter()
                .flat_map(|d| d.sujetos.iter().copied())
                .collect(),
        )
    }
}

pub(super) fn run_de(numero: i32) -> Option<Run> {
    Run::from_numero(numero as u32).ok()
}

fn comuna(cut: &str) -> ComunaRef {
    ComunaRef {
        codigo: Some(cut.to_owned()),
        nombre: Cut::parse(cut).ok().map(|c| c.comuna().nombre.clone()),
    }
}

fn sujetos(s: &SeguimientoFila) -> Vec<Run> {
    std::iter::once(s.run_gestante)
        .chain(s.run_nino)
        .filter_map(run_de)
        .collect()
}

/// The whole follow-up; projection cuts it down to the grant.
pub fn seguimiento(e: &Expediente) -> SeguimientoChCC {
    let s = &e.seguimiento;
    SeguimientoChCC {
        sujetos: sujetos(s),
        id: Some(s.id.clone()),
        run_gestante: run_de(s.run_gestante).map(|r| r.to_string()),
        run_nino: s.run_nino.and_then(run_de).map(|r| r.to_string()),
        comuna: Some(comuna(&s.cut)),
        estado: Some(s.estado.clone()),
        fecha_ingreso: Some(s.fecha_ingreso),
        semanas_ingreso: u16::try_from(s.semanas_ingreso).ok(),
        fecha_probable_parto: Some(s.fecha_probable_parto),
        fecha_nacimiento: s.fecha_nacimiento,
        motivo_egreso: s.motivo_egreso.clone(),
        controles: Some(
            e.controles
                .iter()
                .map(|c| ControlChCC {
                    fecha: Some(c.fecha),
                    tipo: Some(c.tipo.clone()),
                    resultado: Some(c.resultado.clone()),
                })
                .collect(),
        ),
        alertas: Some(
            e.alertas
                .iter()
                .map(|a| AlertaChCC {
                    codigo: Some(a.codigo.clone()),
                    fecha: Some(a.fecha),
                    estado: Some(a.estado.clone()),
                })
                .collect(),
        ),
        derivaciones: Some(
            e.derivaciones
                .iter()
                .map(|d| DerivacionResumenChCC {
                    id: Some(d.id.clone()),
                    sector_destino: Some(d.sector_destino.clone()),
                    prestacion: Some(d.prestacion.clone()),
                    estado: Some(d.estado.clone()),
                })
                .collect(),
        ),
    }
}

/// The whole referral, with the child's names and birth date when there is one. The alert it
/// answers is never put into a referral to education, whatever the grant says.
pub fn derivacion(
    d: &DerivacionFila,
    s: &SeguimientoFila,
    nino: Option<&Persona>,
) -> DerivacionChCC {
    DerivacionChCC {
        sujetos: sujetos(s),
        id: Some(d.id.clone()),
        run_gestante: run_de(s.run_gestante).map(|r| r.to_string()),
        run_nino: s.run_nino.and_then(run_de).map(|r| r.to_string()),
        nombres_nino: nino.map(|p| p.nombres.clone()),
        fecha_nacimiento: nino.map(|p| p.fecha_nacimiento),
        comuna: Some(comuna(&s.cut)),
        sector_destino: Some(d.sector_destino.clone()),
        prestacion: Some(d.prestacion.clone()),
        estado: Some(d.estado.clone()),
        fecha_derivacion: Some(d.fecha),
        fecha_respuesta: d.fecha_respuesta,
        alerta: d.alerta.clone().filter(|_| d.sector_destino != "educacion"),
    }
}
