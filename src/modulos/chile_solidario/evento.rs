//! RegistrarEventoCHS: the events of a participation. `parse` checks an event's data alone;
//! `aplicar` checks it against the participation and writes it (in the operation's
//! transaction with its audit record, so a refusal changes nothing).

use chrono::{Months, NaiveDate};
use serde::Deserialize;

use super::errores;
use super::reglas;
use super::store::{self, BonoFila, Expediente, ParticipacionFila, SesionFila};
use crate::db::DbConnection;
use crate::error::ApiError;

/// The events a participation takes.
pub const EVENTOS: [&str; 4] = ["sesion", "condicion", "pago_bono", "egreso"];
/// The kinds of session of the Apoyo Familiar.
pub const TIPOS_SESION: [&str; 2] = ["domiciliaria", "grupal"];
/// The states a condición may be set to.
pub const ESTADOS_CONDICION: [&str; 3] = ["a_trabajar", "cumplida", "no_corresponde"];
/// Why a participation ends: `cumplimiento` is an egreso (and earns the bono de egreso), any
/// other an interruption.
pub const MOTIVOS_EGRESO: [&str; 5] = [
    "cumplimiento",
    "no_cumplimiento",
    "renuncia",
    "traslado",
    "fallecimiento",
];

/// An event as a transport received it.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EventoEntrada {
    /// `sesion`, `condicion`, `pago_bono` or `egreso`.
    pub evento: String,
    /// `YYYY-MM-DD`, not in the future (default today): sesion, condicion, egreso.
    pub fecha: Option<String>,
    /// sesion: `domiciliaria` or `grupal`.
    pub tipo: Option<String>,
    /// condicion: its code in the catalogue (`HAB3`).
    pub condicion: Option<String>,
    /// condicion: `cumplida`, `no_corresponde` or `a_trabajar`.
    pub estado: Option<String>,
    /// egreso: `cumplimiento`, `no_cumplimiento`, `renuncia`, `traslado` or `fallecimiento`.
    pub motivo: Option<String>,
}

/// An event, checked on its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Evento {
    Sesion {
        fecha: NaiveDate,
        tipo: &'static str,
    },
    Condicion {
        fecha: NaiveDate,
        codigo: &'static str,
        estado: &'static str,
    },
    PagoBono,
    Egreso {
        fecha: NaiveDate,
        motivo: &'static str,
    },
}

fn uno_de(
    campo: &str,
    valor: Option<&str>,
    valores: &'static [&'static str],
) -> Result<&'static str, ApiError> {
    valor
        .and_then(|v| valores.iter().find(|x| **x == v).copied())
        .ok_or_else(|| {
            errores::evento_invalido(campo, format!("{campo} is one of {}", valores.join(", ")))
        })
}

impl EventoEntrada {
    /// The event, or `EVENTO_INVALIDO` naming the field: an unknown event, a missing or
    /// unknown value, data of another event, a date in the future.
    pub fn parse(&self, hoy: NaiveDate) -> Result<Evento, ApiError> {
        let evento = uno_de("evento", Some(&self.evento), &EVENTOS)?;
        let permitidos: &[&str] = match evento {
            "sesion" => &["fecha", "tipo"],
            "condicion" => &["fecha", "condicion", "estado"],
            "pago_bono" => &[],
            _ => &["fecha", "motivo"],
        };
        let dados = [
            ("fecha", self.fecha.is_some()),
            ("tipo", self.tipo.is_some()),
            ("condicion", self.condicion.is_some()),
            ("estado", self.estado.is_some()),
            ("motivo", self.motivo.is_some()),
        ];
        if let Some((campo, _)) = dados
            .iter()
            .find(|(c, dado)| *dado && !permitidos.contains(c))
        {
            return Err(errores::evento_invalido(
                campo,
                format!("{campo} is not data of the event {evento}"),
            ));
        }
        let fecha = match self.fecha.as_deref() {
            None => hoy,
            Some(text) => text
                .parse::<NaiveDate>()
                .ok()
                .filter(|f| *f <= hoy)
                .ok_or_else(|| {
                    errores::evento_invalido(
                        "fecha",
                        "fecha is a date (YYYY-MM-DD), not in the future",
                    )
                })?,
        };
        Ok(match evento {
            "sesion" => Evento::Sesion {
                fecha,
                tipo: uno_de("tipo", self.tipo.as_deref(), &TIPOS_SESION)?,
            },
            "condicion" => Evento::Condicion {
                fecha,
                codigo: self
                    .condicion
                    .as_deref()
                    .and_then(reglas::condicion)
                    .map(|c| c.codigo)
                    .ok_or_else(|| {
                        errores::evento_invalido(
                            "condicion",
                            "condicion is a code of the 53 condiciones mínimas (IDE1 to ING7)",
                        )
                    })?,
                estado: uno_de("estado", self.estado.as_deref(), &ESTADOS_CONDICION)?,
            },
            "pago_bono" => Evento::PagoBono,
            _ => Evento::Egreso {
                fecha,
                motivo: uno_de("motivo", self.motivo.as_deref(), &MOTIVOS_EGRESO)?,
            },
        })
    }
}

impl Evento {
    pub fn nombre(&self) -> &'static str {
        match self {
            Evento::Sesion { .. } => "sesion",
            Evento::Condicion { .. } => "condicion",
            Evento::PagoBono => "pago_bono",
            Evento::Egreso { .. } => "egreso",
        }
    }

    fn fecha(&self) -> Option<NaiveDate> {
        match self {
            Evento::Sesion { fecha, .. }
            | Evento::Condicion { fecha, .. }
            | Evento::Egreso { fecha, .. } => Some(*fecha),
            Evento::PagoBono => None,
        }
    }
}

/// Who writes the event.
pub struct Autor<'a> {
    pub convenio: &'a str,
    pub usuario: Option<String>,
}

/// Applies `evento` to the participation as read (`antes`): the participation's version is
/// raised first, so a concurrent event on it fails rather than both applying.
pub fn aplicar(
    conn: &mut DbConnection,
    antes: &Expediente,
    evento: &Evento,
    autor: &Autor,
) -> Result<(), ApiError> {
    let fila = &antes.fila;
    let abierta = fila.estado == "apoyo";
    if !abierta && !matches!(evento, Evento::PagoBono) {
        return Err(errores::transicion_no_permitida(
            evento.nombre(),
            &fila.estado,
        ));
    }
    if let Some(fecha) = evento.fecha()
        && fecha < fila.fecha_ingreso
    {
        return Err(errores::evento_invalido(
            "fecha",
            "fecha is not before the participation's fechaIngreso",
        ));
    }
    let now = store::now_us();
    let mut despues: ParticipacionFila = fila.clone();
    despues.version += 1;
    despues.actualizada_us = now;
    if let Evento::Egreso { fecha, motivo } = evento {
        despues.estado = if *motivo == "cumplimiento" {
            "egresada"
        } else {
            "interrumpida"
        }
        .to_owned();
        despues.fecha_egreso = Some(*fecha);
        despues.motivo_egreso = Some((*motivo).to_owned());
    }
    // A bono to pay is found before anything is written.
    let por_pagar = antes.bonos.iter().find(|b| b.estado == "programado");
    if matches!(evento, Evento::PagoBono) && por_pagar.is_none() {
        return Err(errores::sin_bono_programado());
    }
    if !store::actualizar(conn, fila.version, &despues)? {
        return Err(errores::en_conflicto());
    }
    match evento {
        Evento::Sesion { fecha, tipo } => store::insertar_sesion(
            conn,
            &SesionFila {
                participacion_id: fila.id.clone(),
                numero: antes.sesiones.iter().map(|s| s.numero).max().unwrap_or(0) + 1,
                fecha: *fecha,
                tipo: (*tipo).to_owned(),
                convenio: autor.convenio.to_owned(),
                usuario: autor.usuario.clone(),
                registrada_us: now,
            },
        )?,
        Evento::Condicion {
            fecha,
            codigo,
            estado,
        } => store::fijar_condicion(conn, &fila.id, codigo, estado, *fecha)?,
        Evento::PagoBono => {
            if let Some(b) = por_pagar {
                store::pagar_bono(conn, &fila.id, &b.tipo, b.mes, now)?;
            }
        }
        Evento::Egreso { fecha, motivo } => {
            store::suspender_bonos(conn, &fila.id, "proteccion")?;
            if *motivo == "cumplimiento" {
                // The bono de egreso from the month after the egreso.
                let desde = *fecha + Months::new(1);
                store::insertar_bonos(conn, &bonos(&fila.id, "egreso", desde))?;
            }
        }
    }
    Ok(())
}

/// The rows of a bono's schedule from `desde`'s month.
pub fn bonos(id: &str, tipo: &str, desde: NaiveDate) -> Vec<BonoFila> {
    reglas::calendario(tipo, desde)
        .into_iter()
        .map(|c| BonoFila {
            participacion_id: id.to_owned(),
            tipo: c.tipo.to_owned(),
            mes: c.mes,
            periodo: c.periodo,
            monto: c.monto,
            estado: "programado".into(),
            pagado_us: None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hoy() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 12, 12).unwrap()
    }

    fn e(evento: &str) -> EventoEntrada {
        EventoEntrada {
            evento: evento.into(),
            ..Default::default()
        }
    }

    #[test]
    fn events_parse_with_their_own_data_only() {
        let sesion = EventoEntrada {
            tipo: Some("grupal".into()),
            ..e("sesion")
        };
        assert_eq!(
            sesion.parse(hoy()),
            Ok(Evento::Sesion {
                fecha: hoy(),
                tipo: "grupal"
            })
        );
        let condicion = EventoEntrada {
            condicion: Some("HAB3".into()),
            estado: Some("cumplida".into()),
            fecha: Some("2026-12-01".into()),
            ..e("condicion")
        };
        assert_eq!(
            condicion.parse(hoy()),
            Ok(Evento::Condicion {
                fecha: NaiveDate::from_ymd_opt(2026, 12, 1).unwrap(),
                codigo: "HAB3",
                estado: "cumplida"
            })
        );
        assert_eq!(e("pago_bono").parse(hoy()), Ok(Evento::PagoBono));
        let campo = |entrada: EventoEntrada| {
            let error = entrada.parse(hoy()).unwrap_err();
            assert_eq!(error.code, crate::error::ErrorCode::EventoInvalido);
            error.campo.unwrap()
        };
        assert_eq!(campo(e("otro")), "evento");
        assert_eq!(campo(e("sesion")), "tipo");
        assert_eq!(
            campo(EventoEntrada {
                condicion: Some("XYZ9".into()),
                estado: Some("cumplida".into()),
                ..e("condicion")
            }),
            "condicion"
        );
        assert_eq!(
            campo(EventoEntrada {
                condicion: Some("HAB3".into()),
                estado: Some("lista".into()),
                ..e("condicion")
            }),
            "estado"
        );
        assert_eq!(
            campo(EventoEntrada {
                motivo: Some("cumplimiento".into()),
                ..e("sesion")
            }),
            "motivo"
        );
        assert_eq!(
            campo(EventoEntrada {
                fecha: Some("2026-12-13".into()),
                motivo: Some("renuncia".into()),
                ..e("egreso")
            }),
            "fecha"
        );
        assert_eq!(
            campo(EventoEntrada {
                fecha: Some("ayer".into()),
                motivo: Some("renuncia".into()),
                ..e("egreso")
            }),
            "fecha"
        );
        assert_eq!(
            campo(EventoEntrada {
                fecha: Some("2026-12-01".into()),
                ..e("pago_bono")
            }),
            "fecha"
        );
        assert_eq!(campo(e("egreso")), "motivo");
    }
}
