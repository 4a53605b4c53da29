//! GestionarDerivacionChCC, the receiving side of referrals: a sector's tray and its answer to
//! each referral. The grant's `sectores` decides which referrals exist for the agreement (JUNJI
//! and INTEGRA: education's only), and a scoped agreement sees only its territory's.

use chrono::NaiveDate;
use serde::Deserialize;

use super::catalogo::{self, codigos};
use super::errores;
use super::id::DerivacionId;
use super::respuesta::{self, DerivacionesChCC};
use super::seguimiento::{MAX_MOTIVO, comuna_en_ambito};
use super::store::{self, Bandeja, DerivacionFila, SeguimientoFila};
use crate::catalog::Operation;
use crate::catalog::modulos::crece_contigo::{DerivacionChCC, GESTIONAR};
use crate::convenios::Convenio;
use crate::db::DbConnection;
use crate::error::{ApiError, ErrorCode};

/// Referrals on a page when `porPagina` is not given, and at most.
pub const POR_PAGINA: u32 = 20;
pub const MAX_POR_PAGINA: u32 = 100;

/// The sectors the agreement's grant lists.
pub fn sectores_concedidos(convenio: &Convenio) -> Vec<&str> {
    convenio
        .grant(Operation::Modulo(GESTIONAR))
        .and_then(|g| g.lista("sectores"))
        .map(|s| s.iter().map(String::as_str).collect())
        .unwrap_or_default()
}

/// A tray's filter, as the query string (or SOAP body) gave it.
#[derive(Debug, Clone, Default)]
pub struct FiltroEntrada {
    pub sector: Option<String>,
    pub estado: Option<String>,
    pub comuna: Option<String>,
    pub pagina: Option<String>,
    pub por_pagina: Option<String>,
}

/// A tray's filter, checked against the catalogue (its grant and scope are checked when run).
#[derive(Debug, Clone, PartialEq)]
pub struct Filtro {
    pub sector: Option<&'static str>,
    pub estado: Option<&'static str>,
    pub comuna: Option<String>,
    pub pagina: u32,
    pub por_pagina: u32,
}

impl FiltroEntrada {
    pub fn parse(&self) -> Result<Filtro, ApiError> {
        let sector =
            match self.sector.as_deref() {
                None => None,
                Some(s) => Some(*catalogo::SECTORES.iter().find(|x| **x == s).ok_or_else(
                    || {
                        errores::invalido(
                            "sector",
                            format!(
                                "sector is one of {}",
                                codigos(catalogo::SECTORES.iter().copied())
                            ),
                        )
                    },
                )?),
            };
        let estado = match self.estado.as_deref() {
            None => None,
            Some(s) => Some(
                *catalogo::ESTADOS_DERIVACION
                    .iter()
                    .find(|x| **x == s)
                    .ok_or_else(|| {
                        ApiError::new(
                            ErrorCode::EstadoDesconocido,
                            format!(
                                "estado is one of {}",
                                codigos(catalogo::ESTADOS_DERIVACION.iter().copied())
                            ),
                        )
                    })?,
            ),
        };
        let numero = |campo: &str, v: Option<&str>, defecto: u32, max: u32| match v {
            None => Ok(defecto),
            Some(v) => v
                .parse::<u32>()
                .ok()
                .filter(|n| (1..=max).contains(n))
                .ok_or_else(|| {
                    ApiError::new(
                        ErrorCode::PaginacionInvalida,
                        format!("{campo} is a whole number from 1 to {max}"),
                    )
                    .en_campo(campo)
                }),
        };
        Ok(Filtro {
            sector,
            estado,
            comuna: self.comuna.clone(),
            pagina: numero("pagina", self.pagina.as_deref(), 1, 100_000)?,
            por_pagina: numero(
                "porPagina",
                self.por_pagina.as_deref(),
                POR_PAGINA,
                MAX_POR_PAGINA,
            )?,
        })
    }
}

/// The referrals as the agreement may see them, with their children's names.
fn vistas(
    conn: &mut DbConnection,
    filas: &[(DerivacionFila, SeguimientoFila)],
) -> Result<Vec<DerivacionChCC>, ApiError> {
    let ninos: Vec<i32> = filas.iter().filter_map(|(_, s)| s.run_nino).collect();
    let personas = store::personas_de(conn, &ninos)?;
    Ok(filas
        .iter()
        .map(|(d, s)| {
            let nino = s
                .run_nino
                .and_then(|n| personas.iter().find(|p| p.run == n));
            respuesta::derivacion(d, s, nino)
        })
        .collect())
}

/// The tray: referrals to the sectors asked for (all the grant lists when none is), within
/// the agreement's scope (and the comuna asked for), oldest first.
pub fn listar(
    convenio: &Convenio,
    conn: &mut DbConnection,
    filtro: &Filtro,
) -> Result<DerivacionesChCC, ApiError> {
    let concedidos = sectores_concedidos(convenio);
    let sectores: Vec<&str> = match filtro.sector {
        Some(s) if concedidos.contains(&s) => vec![s],
        Some(s) => return Err(errores::sector_no_concedido(s)),
        None => catalogo::SECTORES
            .iter()
            .copied()
            .filter(|s| concedidos.contains(s))
            .collect(),
    };
    let comuna = match &filtro.comuna {
        Some(c) => Some(comuna_en_ambito(convenio, c)?.to_string()),
        None => None,
    };
    let bandeja = Bandeja {
        sectores: &sectores,
        estado: filtro.estado,
        comuna: comuna.as_deref(),
        prefijo: convenio.ambito_prefijo(),
        desde: i64::from(filtro.pagina - 1) * i64::from(filtro.por_pagina),
        cuantos: i64::from(filtro.por_pagina),
    };
    let (total, filas) = store::bandeja(conn, &bandeja)?;
    Ok(DerivacionesChCC {
        sectores: sectores.iter().map(|s| s.to_string()).collect(),
        estado: filtro.estado.map(str::to_owned),
        comuna,
        pagina: filtro.pagina,
        por_pagina: filtro.por_pagina,
        total,
        derivaciones: vistas(conn, &filas)?,
    })
}

/// The answer of the receiving sector to a referral, as a transport received it.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RespuestaDerivacionEntrada {
    /// `recibida`, `atendida` or `rechazada`.
    pub evento: String,
    /// Why, up to 500 characters: required for `rechazada`.
    pub motivo: Option<String>,
}

/// An answer for a referral, by its id as sent.
#[derive(Debug, Clone)]
pub struct RespuestaPedido {
    pub id: String,
    pub entrada: RespuestaDerivacionEntrada,
}

/// Whether `evento` may follow `estado`.
pub fn transicion_permitida(estado: &str, evento: &str) -> bool {
    matches!(
        (estado, evento),
        ("enviada", "recibida" | "atendida" | "rechazada") | ("recibida", "atendida" | "rechazada")
    )
}

/// Attempts before a referral that keeps changing under us is given up on.
const INTENTOS: usize = 5;

/// Answers a referral the agreement may see (its sector granted, its comuna in scope).
pub fn responder(
    convenio: &Convenio,
    conn: &mut DbConnection,
    pedido: &RespuestaPedido,
    hoy: NaiveDate,
) -> Result<DerivacionChCC, ApiError> {
    let evento = pedido.entrada.evento.as_str();
    if !["recibida", "atendida", "rechazada"].contains(&evento) {
        return Err(errores::evento_invalido(
            "evento is one of recibida, atendida, rechazada",
        ));
    }
    let motivo = pedido
        .entrada
        .motivo
        .as_deref()
        .map(str::trim)
        .filter(|m| !m.is_empty());
    if motivo.is_some_and(|m| m.chars().count() > MAX_MOTIVO)
        || (evento == "rechazada" && motivo.is_none())
    {
        return Err(ApiError::new(
            ErrorCode::EventoInvalido,
            format!("motivo is at most {MAX_MOTIVO} characters, and required to reject"),
        )
        .en_campo("motivo"));
    }
    let id = DerivacionId::parse(&pedido.id).ok_or_else(errores::derivacion_no_encontrada)?;
    let concedidos = sectores_concedidos(convenio);
    for _ in 0..INTENTOS {
        let (antes, seguimiento) = match store::leer_derivacion(conn, &id.to_string())? {
            Some((d, s))
                if concedidos.contains(&d.sector_destino.as_str())
                    && convenio.en_ambito(&s.cut) =>
            {
                (d, s)
            }
            _ => return Err(errores::derivacion_no_encontrada()),
        };
        if !transicion_permitida(&antes.estado, evento) {
            return Err(errores::transicion(evento, &antes.estado, "referral"));
        }
        let mut despues = antes.clone();
        despues.estado = evento.to_owned();
        despues.fecha_respuesta = Some(hoy);
        despues.motivo_respuesta = motivo.map(str::to_owned);
        despues.convenio_respuesta = Some(convenio.id.to_string());
        despues.version += 1;
        despues.actualizado_us = store::now_us();
        if store::actualizar_derivacion(conn, antes.version, &despues)? {
            let mut vista = vistas(conn, &[(despues, seguimiento)])?;
            return Ok(vista.remove(0));
        }
    }
    Err(errores::en_conflicto())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_referral_moves_forward_only() {
        assert!(transicion_permitida("enviada", "recibida"));
        assert!(transicion_permitida("recibida", "atendida"));
        assert!(transicion_permitida("enviada", "rechazada"));
        assert!(!transicion_permitida("recibida", "recibida"));
        assert!(!transicion_permitida("atendida", "rechazada"));
        assert!(!transicion_permitida("rechazada", "atendida"));
    }

    #[test]
    fn a_filter_is_checked_against_the_catalogue() {
        let f = FiltroEntrada {
            sector: Some("educacion".into()),
            ..Default::default()
        }
        .parse()
        .unwrap();
        assert_eq!(
            (f.sector, f.pagina, f.por_pagina),
            (Some("educacion"), 1, POR_PAGINA)
        );
        let mal = |f: FiltroEntrada| f.parse().unwrap_err().code.as_str();
        assert_eq!(
            mal(FiltroEntrada {
                sector: Some("vivienda".into()),
                ..Default::default()
            }),
            "SEGUIMIENTO_INVALIDO"
        );
        assert_eq!(
            mal(FiltroEntrada {
                estado: Some("cerrada".into()),
                ..Default::default()
            }),
            "ESTADO_DESCONOCIDO"
        );
        assert_eq!(
            mal(FiltroEntrada {
                por_pagina: Some("201".into()),
                ..Default::default()
            }),
            "PAGINACION_INVALIDA"
        );
        assert_eq!(
            mal(FiltroEntrada {
                pagina: Some("0".into()),
                ..Default::default()
            }),
            "PAGINACION_INVALIDA"
        );
    }
}
