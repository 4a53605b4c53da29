//! LeerEventos: a pull subscription's events after a cursor, in order, projected onto the grant
//! in force now. Charged its `limite` up front (at admission, as a batch lookup is charged its
//! RUNs), audited as one record naming every person returned.

use std::collections::BTreeSet;

use serde::Serialize;

use super::notificacion::vista;
use super::store::{self, NO_ENTREGADAS};
use super::{Notificacion, errores, grant, leer};
use crate::broker::Admission;
use crate::catalog::{Entrega, Operation};
use crate::config::Config;
use crate::db::DbConnection;
use crate::domain::Run;
use crate::error::ApiError;
use crate::ops::{Core, Op};
use crate::projection::{FieldSet, Project};

/// A read of a subscription's events.
#[derive(Debug, Clone, PartialEq)]
pub struct Lectura {
    /// The subscription's id, as sent.
    pub id: String,
    /// The last sequence number already read (0: from the start).
    pub despues: i64,
    /// Most events to answer with.
    pub limite: u32,
}

impl Lectura {
    /// From the query's texts; `limite` defaults to [`POR_DEFECTO`] (`CURSOR_INVALIDO` otherwise).
    pub fn parse(
        id: &str,
        despues: Option<&str>,
        limite: Option<&str>,
    ) -> Result<Lectura, ApiError> {
        let despues = match despues {
            None => 0,
            Some(t) => t
                .parse::<i64>()
                .ok()
                .filter(|d| *d >= 0)
                .ok_or_else(|| errores::cursor_invalido("despues is a whole number from 0"))?,
        };
        let limite = match limite {
            None => POR_DEFECTO,
            Some(t) => t
                .parse::<u32>()
                .ok()
                .filter(|l| *l >= 1)
                .ok_or_else(|| errores::cursor_invalido("limite is a whole number from 1"))?,
        };
        Ok(Lectura {
            id: id.to_owned(),
            despues,
            limite,
        })
    }
}

/// `limite` when the request gives none.
pub const POR_DEFECTO: u32 = 10;

/// One page of a subscription's events.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Eventos {
    pub suscripcion: String,
    /// The cursor the read was made after.
    pub despues: i64,
    /// The cursor of the next read: the last sequence number this read covered (events it
    /// skipped, revoked, included), or `despues` when there was nothing new.
    pub hasta: i64,
    pub notificaciones: Vec<Notificacion>,
    /// The persons of the page, for the audit record (never sent).
    #[serde(skip)]
    #[schema(ignore)]
    pub sujetos: Vec<Run>,
}

impl Project for Eventos {
    fn project(&mut self, grant: &FieldSet) {
        self.notificaciones
            .iter_mut()
            .for_each(|n| n.project(grant));
    }

    fn disclosed(&self) -> BTreeSet<&'static str> {
        self.notificaciones
            .iter()
            .flat_map(|n| n.disclosed())
            .collect()
    }

    /// Every person an event of the page is about (none for an empty page).
    fn subjects(&self) -> Option<Vec<Run>> {
        Some(self.sujetos.clone())
    }
}

/// Reads the page, marking what it returns `entregada` (its first read) and revoking what the
/// agreement may no longer see (a kind no longer granted, an event outside its comuna).
pub fn leer_eventos(
    admission: &Admission,
    conn: &mut DbConnection,
    lectura: &Lectura,
) -> Result<Eventos, ApiError> {
    let convenio = &admission.convenio;
    let grant = grant(convenio)?;
    let fila = leer(convenio, conn, &lectura.id)?;
    if fila.estado != "activa" {
        return Err(errores::cerrada());
    }
    if fila.entrega != Entrega::Pull.as_str() {
        return Err(errores::invalida(
            "id",
            "a push subscription's events are sent to its url, not read",
        ));
    }
    let filas = store::siguientes(conn, &fila.id, lectura.despues, lectura.limite)?;
    // After the page is read: a purge that committed before the read shows here too (on
    // PostgreSQL each statement sees what committed before it), so a page with a hole is
    // never answered.
    let desde = store::purgada_hasta(conn, &fila.id)?;
    if lectura.despues < desde {
        return Err(errores::cursor_vencido(desde));
    }
    let hasta = filas.last().map_or(lectura.despues, |f| f.secuencia);
    let mut page = Eventos {
        suscripcion: fila.id.clone(),
        despues: lectura.despues,
        hasta,
        notificaciones: Vec::new(),
        sujetos: Vec::new(),
    };
    let (mut leidas, mut revocadas) = (Vec::new(), Vec::new());
    for f in &filas {
        if !NO_ENTREGADAS.contains(&f.estado.as_str()) && f.estado != "entregada" {
            continue;
        }
        let en_ambito = match &convenio.ambito {
            None => true,
            Some(ambito) => f.cut.as_deref().is_some_and(|c| ambito.contiene(c)),
        };
        if !grant.allows_evento(&f.tipo) || !en_ambito {
            revocadas.push(f.secuencia);
            continue;
        }
        let (n, sujetos) = vista(&fila.id, f);
        page.notificaciones.push(n);
        page.sujetos.extend(sujetos);
        leidas.push(f.secuencia);
    }
    store::marcar(conn, &fila.id, &revocadas, &NO_ENTREGADAS, "revocada", None)?;
    let ahora = store::now_us();
    store::marcar(
        conn,
        &fila.id,
        &leidas,
        &["disponible"],
        "entregada",
        Some(ahora),
    )?;
    Ok(page)
}

/// LeerEventos (REST `GET /api/v1/suscripciones/{id}/eventos`, SOAP LeerEventos): a write,
/// since it records the first read of each event (and revokes what may no longer be seen).
pub struct LeerEventos;

impl Op for LeerEventos {
    const OPERATION: Operation = Operation::Suscripciones;
    const WRITES: bool = true;
    type Request = Lectura;
    type Response = Eventos;

    fn subjects(_: &Lectura) -> Vec<Run> {
        Vec::new()
    }

    fn check(l: &Lectura, config: &Config) -> Result<(), ApiError> {
        let max = config.notificaciones.max_limite;
        if l.limite > max {
            return Err(errores::cursor_invalido(format!("limite is at most {max}")));
        }
        Ok(())
    }

    fn cobro_minimo(l: &Lectura) -> u64 {
        u64::from(l.limite)
    }

    fn handle(
        _: &Core,
        admission: &Admission,
        conn: &mut DbConnection,
        l: Lectura,
    ) -> Result<Eventos, ApiError> {
        leer_eventos(admission, conn, &l)
    }
}
