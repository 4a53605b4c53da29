//! Metaservices: what a client may call under its agreement, and with which fields.

use chrono::NaiveDate;
use serde::Serialize;

use std::collections::BTreeMap;
use std::sync::Arc;

use super::Core;
use crate::broker::{Call, Reply, Service};
use crate::convenios::Convenio;
use crate::domain::Nivel;

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OperacionesPermitidas {
    pub convenio: String,
    pub institucion: String,
    pub proposito: String,
    pub vigente_desde: NaiveDate,
    pub vigente_hasta: NaiveDate,
    /// The agreement's scope, when it has one: a comuna, a province or a region (one of the
    /// three).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ambito_comuna: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ambito_provincia: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ambito_region: Option<String>,
    pub operaciones: Vec<OperacionPermitida>,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct OperacionPermitida {
    pub operacion: &'static str,
    pub campos: Vec<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub programas: Option<Vec<String>>,
    /// A module operation's lists (`sectores`, `programas`, …), as its grant gives them.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub listas: BTreeMap<&'static str, Vec<String>>,
}

pub fn allowed_methods(convenio: &Convenio) -> OperacionesPermitidas {
    let nivel = |n: Nivel| {
        convenio
            .ambito
            .filter(|a| a.nivel() == n)
            .map(|a| a.prefijo().to_owned())
    };
    OperacionesPermitidas {
        convenio: convenio.id.to_string(),
        institucion: convenio.agency.clone(),
        proposito: convenio.purpose.clone(),
        vigente_desde: convenio.valid_from,
        vigente_hasta: convenio.valid_until,
        ambito_comuna: nivel(Nivel::Comuna),
        ambito_provincia: nivel(Nivel::Provincia),
        ambito_region: nivel(Nivel::Region),
        operaciones: convenio
            .grants
            .iter()
            .map(|(op, grant)| OperacionPermitida {
                operacion: op.name(),
                campos: grant.fields.iter().collect(),
                programas: grant
                    .programas
                    .as_ref()
                    .map(|p| p.iter().cloned().collect()),
                listas: grant
                    .listas
                    .iter()
                    .map(|(k, v)| (*k, v.iter().cloned().collect()))
                    .collect(),
            })
            .collect(),
    }
}
/// allowedMethods (REST `GET /api/v1/metaservicios/operaciones`, SOAP allowedMethods): what
/// the caller's agreement grants. Any agreement in force may ask; it reads no registry data.
pub async fn operaciones(core: Arc<Core>, mut call: Call) -> Reply<OperacionesPermitidas> {
    call.service = Service::Metaservicios;
    let broker = core.broker.clone();
    broker
        .call_local(call, |admission| Ok(allowed_methods(&admission.convenio)))
        .await
}

/// The empty authenticated request (REST `GET /api/v1/ping`): admitted, limited and audited
/// like any other, it reads nothing (the benchmark's baseline).
pub async fn ping(core: Arc<Core>, mut call: Call) -> Reply<()> {
    call.service = Service::Ping;
    let broker = core.broker.clone();
    broker.call_local(call, |_| Ok(())).await
}
