//! Chile Crece Contigo (docs/crece_contigo.md): the follow-up of a gestante from her entry to
//! prenatal control through her child's first years: controls, risk alerts, referrals to
//! health, education and the municipality, the birth and the exit. Its contract (operation
//! names, answer types, grant lists) is `catalog::modulos::crece_contigo`; here are its
//! operations, each run through the broker like any other.
//!
//! Scope: RegistrarSeguimientoChCC and ConsultarSeguimientoChCC need a scoped agreement (a
//! municipality's comuna, a health service's region); a follow-up outside it does not exist for
//! the agreement. GestionarDerivacionChCC lists and answers the referrals to the sectors its
//! grant's `sectores` names, within its scope when it has one.

pub mod catalogo;
mod derivacion;
mod errores;
pub mod id;
mod respuesta;
mod seguimiento;
pub mod store;

pub use self::derivacion::{
    Filtro, FiltroEntrada, MAX_POR_PAGINA, POR_PAGINA, RespuestaDerivacionEntrada, RespuestaPedido,
    sectores_concedidos,
};
pub use self::respuesta::DerivacionesChCC;
pub use self::seguimiento::{
    EventoChCCEntrada, EventoPedido, Ingreso, IngresoChCCEntrada, MAX_MOTIVO,
};
use crate::broker::Admission;
use crate::catalog::Operation;
pub use crate::catalog::modulos::crece_contigo::{
    CONSULTAR, DerivacionChCC, GESTIONAR, REGISTRAR, SeguimientoChCC,
};
use crate::db::DbConnection;
use crate::domain::Run;
use crate::error::ApiError;
use crate::ops::{Core, Op};

/// A follow-up's entry (REST `POST /api/v1/crece-contigo/seguimientos`, SOAP
/// IngresarSeguimientoChCC): a write.
pub struct IngresarSeguimiento;

impl Op for IngresarSeguimiento {
    const OPERATION: Operation = Operation::Modulo(REGISTRAR);
    const WRITES: bool = true;
    type Request = Ingreso;
    type Response = SeguimientoChCC;

    fn subjects(i: &Ingreso) -> Vec<Run> {
        vec![i.run]
    }

    fn handle(
        _: &Core,
        admission: &Admission,
        conn: &mut DbConnection,
        i: Ingreso,
    ) -> Result<SeguimientoChCC, ApiError> {
        let e = seguimiento::ingresar(&admission.convenio, conn, &i, admission.today)?;
        Ok(respuesta::seguimiento(&e))
    }
}

/// An event on a follow-up (REST `POST /api/v1/crece-contigo/seguimientos/{id}/eventos`, SOAP
/// RegistrarEventoChCC): a write.
pub struct RegistrarEventoSeguimiento;

impl Op for RegistrarEventoSeguimiento {
    const OPERATION: Operation = Operation::Modulo(REGISTRAR);
    const WRITES: bool = true;
    type Request = EventoPedido;
    type Response = SeguimientoChCC;

    /// The child a birth names; the follow-up's own persons are named by the answer.
    fn subjects(p: &EventoPedido) -> Vec<Run> {
        p.nino.into_iter().collect()
    }

    fn handle(
        _: &Core,
        admission: &Admission,
        conn: &mut DbConnection,
        p: EventoPedido,
    ) -> Result<SeguimientoChCC, ApiError> {
        let e = seguimiento::registrar(&admission.convenio, conn, &p, admission.today)?;
        Ok(respuesta::seguimiento(&e))
    }
}

/// ConsultarSeguimientoChCC (REST `GET /api/v1/personas/{run}/crece-contigo`, SOAP
/// ConsultarSeguimientoChCC): the latest follow-up in scope naming the person.
pub struct ConsultarSeguimiento;

impl Op for ConsultarSeguimiento {
    const OPERATION: Operation = Operation::Modulo(CONSULTAR);
    type Request = Run;
    type Response = SeguimientoChCC;

    fn subjects(run: &Run) -> Vec<Run> {
        vec![*run]
    }

    fn handle(
        _: &Core,
        admission: &Admission,
        conn: &mut DbConnection,
        run: Run,
    ) -> Result<SeguimientoChCC, ApiError> {
        let e = seguimiento::consultar(&admission.convenio, conn, run)?;
        Ok(respuesta::seguimiento(&e))
    }
}

/// A sector's tray of referrals (REST `GET /api/v1/crece-contigo/derivaciones`, SOAP
/// ListarDerivacionesChCC).
pub struct ListarDerivaciones;

impl Op for ListarDerivaciones {
    const OPERATION: Operation = Operation::Modulo(GESTIONAR);
    type Request = Filtro;
    type Response = DerivacionesChCC;

    /// None can be named before it runs: the page's persons are named by the answer.
    fn subjects(_: &Filtro) -> Vec<Run> {
        Vec::new()
    }

    /// A page discloses up to two persons a referral (the child and the gestante), each a unit:
    /// charged up front, like a read of events.
    fn cobro_minimo(f: &Filtro) -> u64 {
        2 * u64::from(f.por_pagina)
    }

    fn handle(
        _: &Core,
        admission: &Admission,
        conn: &mut DbConnection,
        f: Filtro,
    ) -> Result<DerivacionesChCC, ApiError> {
        derivacion::listar(&admission.convenio, conn, &f)
    }
}

/// The receiving sector's answer to a referral (REST
/// `POST /api/v1/crece-contigo/derivaciones/{id}/eventos`, SOAP ResponderDerivacionChCC): a
/// write.
pub struct ResponderDerivacion;

impl Op for ResponderDerivacion {
    const OPERATION: Operation = Operation::Modulo(GESTIONAR);
    const WRITES: bool = true;
    type Request = RespuestaPedido;
    type Response = DerivacionChCC;

    fn subjects(_: &RespuestaPedido) -> Vec<Run> {
        Vec::new()
    }

    fn handle(
        _: &Core,
        admission: &Admission,
        conn: &mut DbConnection,
        p: RespuestaPedido,
    ) -> Result<DerivacionChCC, ApiError> {
        derivacion::responder(&admission.convenio, conn, &p, admission.today)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_operation_is_registered() {
        for op in [
            IngresarSeguimiento::OPERATION,
            RegistrarEventoSeguimiento::OPERATION,
            ConsultarSeguimiento::OPERATION,
            ListarDerivaciones::OPERATION,
            ResponderDerivacion::OPERATION,
        ] {
            assert_eq!(Operation::parse(op.name()), Some(op), "{op}");
        }
    }
}
