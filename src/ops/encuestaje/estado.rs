//! The life of a survey request: `solicitada → visita_programada → visita_fallida (at most
//! two) → encuestada`, or `anulada` with a reason from any open state. One pure function
//! decides every transition; the store only applies what it allowed.

use chrono::NaiveDate;
use serde::Deserialize;

use super::cuestionario::{self, Cuestionario, EncuestaEntrada};
use super::errores;
use crate::domain::Puntaje;
use crate::error::ApiError;
use crate::modelos::Modelos;

/// Failed visits a request may record; a third is refused.
pub const MAX_VISITAS_FALLIDAS: i32 = 2;

/// Longest reason (motivo) accepted, in characters.
pub const MAX_MOTIVO: usize = 500;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Estado {
    Solicitada,
    VisitaProgramada,
    VisitaFallida,
    Encuestada,
    Anulada,
}

impl Estado {
    pub const ALL: [Estado; 5] = [
        Estado::Solicitada,
        Estado::VisitaProgramada,
        Estado::VisitaFallida,
        Estado::Encuestada,
        Estado::Anulada,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Estado::Solicitada => "solicitada",
            Estado::VisitaProgramada => "visita_programada",
            Estado::VisitaFallida => "visita_fallida",
            Estado::Encuestada => "encuestada",
            Estado::Anulada => "anulada",
        }
    }

    pub fn parse(text: &str) -> Option<Estado> {
        Self::ALL.into_iter().find(|e| e.as_str() == text)
    }
}

/// An event a municipality records on a request, validated.
#[derive(Debug, Clone, PartialEq)]
pub enum Evento {
    ProgramarVisita {
        fecha: NaiveDate,
    },
    VisitaFallida {
        motivo: Option<String>,
    },
    Encuestar {
        fecha_aplicacion: NaiveDate,
        datos: Datos,
    },
    Anular {
        motivo: String,
    },
}

/// What a survey carries: the questionnaire, scored by its model, or (the older form) a bare
/// score typed elsewhere, kept with no model as a feed's score is.
#[derive(Debug, Clone, PartialEq)]
pub enum Datos {
    Cuestionario(Box<Cuestionario>),
    Puntaje(Puntaje),
}

/// An event as a transport decoded it (JSON body or SOAP leaves), before validation.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EventoEntrada {
    pub evento: String,
    pub fecha_visita: Option<String>,
    pub motivo: Option<String>,
    pub puntaje: Option<i64>,
    pub fecha_aplicacion: Option<String>,
    /// `encuestar`: the scoring model (default: `encuesta.vigente`).
    pub modelo: Option<String>,
    /// `encuestar`: the questionnaire (the household as surveyed).
    pub encuesta: Option<EncuestaEntrada>,
}

pub const EVENTOS: [&str; 4] = ["programar_visita", "visita_fallida", "encuestar", "anular"];

fn fecha(name: &str, text: Option<&str>) -> Result<NaiveDate, ApiError> {
    let text = text.ok_or_else(|| errores::evento_invalido(format!("{name} is required")))?;
    text.parse()
        .map_err(|_| errores::evento_invalido(format!("{name} is a date YYYY-MM-DD")))
}

fn motivo(text: Option<&str>, required: bool) -> Result<Option<String>, ApiError> {
    match text.map(str::trim) {
        None | Some("") if required => Err(errores::evento_invalido("motivo is required")),
        None | Some("") => Ok(None),
        Some(m) if m.chars().count() > MAX_MOTIVO => Err(errores::evento_invalido(format!(
            "motivo holds at most {MAX_MOTIVO} characters"
        ))),
        Some(m) => Ok(Some(m.to_owned())),
    }
}

impl Evento {
    pub fn nombre(&self) -> &'static str {
        match self {
            Evento::ProgramarVisita { .. } => EVENTOS[0],
            Evento::VisitaFallida { .. } => EVENTOS[1],
            Evento::Encuestar { .. } => EVENTOS[2],
            Evento::Anular { .. } => EVENTOS[3],
        }
    }

    /// Validates what a transport decoded: the event is known, carries what it needs and
    /// nothing that belongs to another event; a visit is not scheduled in the past and a
    /// survey is not dated in the future (`today` is Chile's civil day) and its questionnaire
    /// keeps the bounds of its model (one of `modelos`).
    pub fn from_entrada(
        e: &EventoEntrada,
        today: NaiveDate,
        modelos: &Modelos,
    ) -> Result<Evento, ApiError> {
        let extra = |allowed: &[&str]| {
            let given = [
                ("fechaVisita", e.fecha_visita.is_some()),
                ("motivo", e.motivo.is_some()),
                ("puntaje", e.puntaje.is_some()),
                ("fechaAplicacion", e.fecha_aplicacion.is_some()),
                ("modelo", e.modelo.is_some()),
                ("encuesta", e.encuesta.is_some()),
            ];
            match given
                .iter()
                .find(|(name, present)| *present && !allowed.contains(name))
            {
                Some((name, _)) => Err(errores::evento_invalido(format!(
                    "{name} does not belong to the event {}",
                    e.evento
                ))),
                None => Ok(()),
            }
        };
        match e.evento.as_str() {
            "programar_visita" => {
                extra(&["fechaVisita"])?;
                let fecha = fecha("fechaVisita", e.fecha_visita.as_deref())?;
                if fecha < today {
                    return Err(errores::evento_invalido(
                        "fechaVisita is in the past (Chile time)",
                    ));
                }
                Ok(Evento::ProgramarVisita { fecha })
            }
            "visita_fallida" => {
                extra(&["motivo"])?;
                Ok(Evento::VisitaFallida {
                    motivo: motivo(e.motivo.as_deref(), false)?,
                })
            }
            "encuestar" => {
                extra(&["puntaje", "fechaAplicacion", "modelo", "encuesta"])?;
                let fecha_aplicacion = fecha("fechaAplicacion", e.fecha_aplicacion.as_deref())?;
                if fecha_aplicacion > today {
                    return Err(errores::evento_invalido(
                        "fechaAplicacion is in the future (Chile time)",
                    ));
                }
                let datos = match (&e.encuesta, e.puntaje) {
                    (Some(_), Some(_)) => {
                        return Err(errores::evento_invalido(
                            "puntaje does not go with encuesta: the model computes the score",
                        ));
                    }
                    (Some(encuesta), None) => {
                        let modelo = cuestionario::modelo(modelos, e.modelo.as_deref())?;
                        let c = cuestionario::validar(encuesta, modelo)?;
                        Datos::Cuestionario(Box::new(c))
                    }
                    (None, Some(puntaje)) if e.modelo.is_none() => {
                        let puntaje = Puntaje::new(puntaje).map_err(|error| {
                            errores::evento_invalido(format!("puntaje: {error}"))
                        })?;
                        Datos::Puntaje(puntaje)
                    }
                    (None, _) => {
                        return Err(cuestionario::invalida(
                            "encuesta",
                            "is required: the household as surveyed",
                        ));
                    }
                };
                Ok(Evento::Encuestar {
                    fecha_aplicacion,
                    datos,
                })
            }
            "anular" => {
                extra(&["motivo"])?;
                Ok(Evento::Anular {
                    motivo: motivo(e.motivo.as_deref(), true)?.unwrap_or_default(),
                })
            }
            _ => Err(errores::evento_invalido(format!(
                "evento is one of {}",
                EVENTOS.join(", ")
            ))),
        }
    }
}

/// The state an event leads to from `estado` (with `fallidas` failed visits so far), or why
/// it is refused. A survey may be recorded after a scheduled visit or after a failed one (the
/// person came to the office); after two failed visits only a survey or an annulment remain.
pub fn siguiente(estado: Estado, fallidas: i32, evento: &Evento) -> Result<Estado, ApiError> {
    use Estado::*;
    let open = matches!(estado, Solicitada | VisitaProgramada | VisitaFallida);
    let refused = || errores::transicion_no_permitida(evento.nombre(), estado.as_str());
    match evento {
        Evento::VisitaFallida { .. } | Evento::ProgramarVisita { .. }
            if open && fallidas >= MAX_VISITAS_FALLIDAS =>
        {
            Err(errores::visitas_agotadas())
        }
        Evento::ProgramarVisita { .. } if matches!(estado, Solicitada | VisitaFallida) => {
            Ok(VisitaProgramada)
        }
        Evento::VisitaFallida { .. } if estado == VisitaProgramada => Ok(VisitaFallida),
        Evento::Encuestar { .. } if matches!(estado, VisitaProgramada | VisitaFallida) => {
            Ok(Encuestada)
        }
        Evento::Anular { .. } if open => Ok(Anulada),
        _ => Err(refused()),
    }
}

/// The events [`siguiente`] accepts now on a request in `estado` with `fallidas` failed visits,
/// in [`EVENTOS`] order: what a municipality may record next (their data is checked when it
/// does).
pub fn posibles(estado: Estado, fallidas: i32) -> Vec<&'static str> {
    // `siguiente` reads only which event it is; the data of these samples never matters.
    let muestras = [
        Some(Evento::ProgramarVisita {
            fecha: NaiveDate::MIN,
        }),
        Some(Evento::VisitaFallida { motivo: None }),
        Puntaje::new(i64::from(Puntaje::MIN))
            .ok()
            .map(|puntaje| Evento::Encuestar {
                fecha_aplicacion: NaiveDate::MIN,
                datos: Datos::Puntaje(puntaje),
            }),
        Some(Evento::Anular {
            motivo: String::new(),
        }),
    ];
    muestras
        .iter()
        .flatten()
        .filter(|evento| siguiente(estado, fallidas, evento).is_ok())
        .map(Evento::nombre)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;
    use Estado::*;

    fn d(y: i32, m: u32, dd: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, dd).unwrap()
    }

    fn eventos() -> [Evento; 4] {
        [
            Evento::ProgramarVisita {
                fecha: d(2026, 12, 1),
            },
            Evento::VisitaFallida { motivo: None },
            Evento::Encuestar {
                fecha_aplicacion: d(2026, 11, 28),
                datos: Datos::Puntaje(Puntaje::new(8000).unwrap()),
            },
            Evento::Anular {
                motivo: "duplicada".into(),
            },
        ]
    }

    #[test]
    fn the_whole_table() {
        // (state, failed visits) -> outcome for each event in `eventos()` order.
        type Row = (Estado, i32, [Result<Estado, &'static str>; 4]);
        let table: [Row; 8] = [
            (
                Solicitada,
                0,
                [
                    Ok(VisitaProgramada),
                    Err("TRANSICION_NO_PERMITIDA"),
                    Err("TRANSICION_NO_PERMITIDA"),
                    Ok(Anulada),
                ],
            ),
            (
                VisitaProgramada,
                0,
                [
                    Err("TRANSICION_NO_PERMITIDA"),
                    Ok(VisitaFallida),
                    Ok(Encuestada),
                    Ok(Anulada),
                ],
            ),
            (
                VisitaProgramada,
                1,
                [
                    Err("TRANSICION_NO_PERMITIDA"),
                    Ok(VisitaFallida),
                    Ok(Encuestada),
                    Ok(Anulada),
                ],
            ),
            (
                VisitaFallida,
                1,
                [
                    Ok(VisitaProgramada),
                    Err("TRANSICION_NO_PERMITIDA"),
                    Ok(Encuestada),
                    Ok(Anulada),
                ],
            ),
            (
                VisitaFallida,
                2,
                [
                    Err("VISITAS_AGOTADAS"),
                    Err("VISITAS_AGOTADAS"),
                    Ok(Encuestada),
                    Ok(Anulada),
                ],
            ),
            (
                Encuestada,
                0,
                [
                    Err("TRANSICION_NO_PERMITIDA"),
                    Err("TRANSICION_NO_PERMITIDA"),
                    Err("TRANSICION_NO_PERMITIDA"),
                    Err("TRANSICION_NO_PERMITIDA"),
                ],
            ),
            (
                Anulada,
                0,
                [
                    Err("TRANSICION_NO_PERMITIDA"),
                    Err("TRANSICION_NO_PERMITIDA"),
                    Err("TRANSICION_NO_PERMITIDA"),
                    Err("TRANSICION_NO_PERMITIDA"),
                ],
            ),
            (
                Anulada,
                2,
                [
                    Err("TRANSICION_NO_PERMITIDA"),
                    Err("TRANSICION_NO_PERMITIDA"),
                    Err("TRANSICION_NO_PERMITIDA"),
                    Err("TRANSICION_NO_PERMITIDA"),
                ],
            ),
        ];
        for (estado, fallidas, expected) in table {
            for (evento, want) in eventos().iter().zip(expected) {
                let got = siguiente(estado, fallidas, evento).map_err(|e| e.code.as_str());
                assert_eq!(got, want, "{estado:?} ({fallidas}) + {}", evento.nombre());
            }
        }
    }

    #[test]
    fn the_events_offered_are_those_the_table_accepts() {
        assert_eq!(posibles(Solicitada, 0), ["programar_visita", "anular"]);
        assert_eq!(
            posibles(VisitaProgramada, 1),
            ["visita_fallida", "encuestar", "anular"]
        );
        assert_eq!(
            posibles(VisitaFallida, 1),
            ["programar_visita", "encuestar", "anular"]
        );
        assert_eq!(posibles(VisitaFallida, 2), ["encuestar", "anular"]);
        assert!(posibles(Encuestada, 0).is_empty());
        assert!(posibles(Anulada, 1).is_empty());
    }

    #[test]
    fn events_are_validated_before_any_state_is_read() {
        let today = d(2026, 11, 28);
        let modelos = Modelos::load(
            std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/conf/modelos")),
            "FPS-2026-1",
        )
        .unwrap();
        let ok = |e: EventoEntrada| Evento::from_entrada(&e, today, &modelos);
        let bad = |e: EventoEntrada| Evento::from_entrada(&e, today, &modelos).unwrap_err().code;
        let bad_full = |e: EventoEntrada| Evento::from_entrada(&e, today, &modelos).unwrap_err();
        let ev = |name: &str| EventoEntrada {
            evento: name.into(),
            ..EventoEntrada::default()
        };
        assert_eq!(bad(ev("volar")), "EVENTO_INVALIDO");
        assert_eq!(bad(ev("programar_visita")), "EVENTO_INVALIDO");
        assert_eq!(
            bad(EventoEntrada {
                fecha_visita: Some("2026-11-27".into()),
                ..ev("programar_visita")
            }),
            "EVENTO_INVALIDO",
            "a visit in the past"
        );
        assert_eq!(
            ok(EventoEntrada {
                fecha_visita: Some("2026-11-28".into()),
                ..ev("programar_visita")
            }),
            Ok(Evento::ProgramarVisita { fecha: today })
        );
        assert_eq!(
            bad(EventoEntrada {
                fecha_visita: Some("2026-11-30".into()),
                puntaje: Some(8000),
                ..ev("programar_visita")
            }),
            "EVENTO_INVALIDO",
            "a field of another event"
        );
        assert_eq!(
            bad(ev("anular")),
            "EVENTO_INVALIDO",
            "annulment needs a reason"
        );
        assert_eq!(
            bad(EventoEntrada {
                motivo: Some("   ".into()),
                ..ev("anular")
            }),
            "EVENTO_INVALIDO"
        );
        assert_eq!(
            bad(EventoEntrada {
                motivo: Some("x".repeat(MAX_MOTIVO + 1)),
                ..ev("anular")
            }),
            "EVENTO_INVALIDO"
        );
        let encuesta = |p: i64, f: &str| EventoEntrada {
            puntaje: Some(p),
            fecha_aplicacion: Some(f.into()),
            ..ev("encuestar")
        };
        assert_eq!(bad(encuesta(20_001, "2026-11-28")), "EVENTO_INVALIDO");
        assert_eq!(bad(encuesta(-1, "2026-11-28")), "EVENTO_INVALIDO");
        assert_eq!(bad(encuesta(8000, "2026-11-29")), "EVENTO_INVALIDO");
        assert_eq!(bad(encuesta(8000, "28-11-2026")), "EVENTO_INVALIDO");
        assert!(ok(encuesta(8000, "2026-11-28")).is_ok());
        // Without a score, the questionnaire is required, and named.
        let sin = bad_full(EventoEntrada {
            fecha_aplicacion: Some("2026-11-28".into()),
            ..ev("encuestar")
        });
        assert_eq!(
            (sin.code, sin.campo.as_deref()),
            (ErrorCode::EncuestaInvalida, Some("encuesta"))
        );
        // A model with a bare score: the score would not be the model's.
        let con_modelo = bad_full(EventoEntrada {
            modelo: Some("FPS-2026-1".into()),
            ..encuesta(8000, "2026-11-28")
        });
        assert_eq!(con_modelo.campo.as_deref(), Some("encuesta"));
        assert_eq!(
            ok(ev("visita_fallida")),
            Ok(Evento::VisitaFallida { motivo: None })
        );
    }
}
