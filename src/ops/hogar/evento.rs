//! The events of household upkeep: what a transport decoded ([`EventoEntrada`]), checked into
//! an [`Evento`] that carries exactly what its kind needs, and whether it calls for the ficha's
//! review ([`marca_revision`]). Pure: nothing here reads the registry.

use std::collections::BTreeSet;

use serde::Deserialize;

use super::errores;
use crate::domain::Run;
use crate::error::ApiError;
use crate::modelos::Modelo;
use crate::ops::encuestaje::estado::MAX_MOTIVO;

/// Longest address accepted, in characters.
pub const MAX_DIRECCION: usize = 200;

/// Most members one split may move.
pub const MAX_DIVIDIR: usize = 50;

/// The relationships to the household's head a member may hold (as the registry records them).
pub const PARENTESCOS: [&str; 6] = [
    "jefe",
    "conyuge",
    "hijo",
    "padre_madre",
    "otro_pariente",
    "no_pariente",
];

/// The kinds of event, as stored in `hogar_eventos.evento`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TipoEventoHogar {
    AgregarIntegrante,
    QuitarIntegrante,
    CambiarDomicilio,
    Dividir,
}

impl TipoEventoHogar {
    pub const ALL: [TipoEventoHogar; 4] = [
        TipoEventoHogar::AgregarIntegrante,
        TipoEventoHogar::QuitarIntegrante,
        TipoEventoHogar::CambiarDomicilio,
        TipoEventoHogar::Dividir,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            TipoEventoHogar::AgregarIntegrante => "agregar_integrante",
            TipoEventoHogar::QuitarIntegrante => "quitar_integrante",
            TipoEventoHogar::CambiarDomicilio => "cambiar_domicilio",
            TipoEventoHogar::Dividir => "dividir",
        }
    }

    pub fn parse(text: &str) -> Option<TipoEventoHogar> {
        Self::ALL.into_iter().find(|t| t.as_str() == text)
    }
}

/// Whether an event of kind `evento` marks the ficha in force of the household it changes for
/// review. The one place this is decided. `modelo` is the scoring model the ficha was scored
/// with, as the node holds it: its `[revision] eventos` say which events change its score.
/// `None` (a score without facts behind it, from a feed, the seed or the bare form of a
/// survey, or a model this node no longer holds): every change of members marks it, and a
/// change of address does not.
pub fn marca_revision(modelo: Option<&Modelo>, evento: TipoEventoHogar) -> bool {
    match modelo {
        Some(m) => m.marca_revision(evento.as_str()),
        None => !matches!(evento, TipoEventoHogar::CambiarDomicilio),
    }
}

/// An event as a transport decoded it (JSON body or SOAP leaves), before it is checked.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(as = EventoHogarEntrada)]
pub struct EventoEntrada {
    /// `agregar_integrante`, `quitar_integrante`, `cambiar_domicilio` or `dividir`.
    pub evento: String,
    /// The member added or removed.
    pub run: Option<String>,
    /// The added member's relationship to the head (`agregar_integrante`).
    pub parentesco: Option<String>,
    /// The new address (`cambiar_domicilio`), or the new household's (`dividir`).
    pub direccion: Option<String>,
    /// The members who form a new household (`dividir`).
    pub runs: Option<Vec<String>>,
    /// `cambiar_domicilio` only, optional: must be the household's own comuna.
    pub comuna: Option<String>,
    /// Why (required, at most 500 characters).
    pub motivo: Option<String>,
}

/// An event, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Evento {
    AgregarIntegrante {
        run: Run,
        parentesco: &'static str,
    },
    QuitarIntegrante {
        run: Run,
    },
    CambiarDomicilio {
        direccion: String,
        comuna: Option<String>,
    },
    Dividir {
        runs: Vec<Run>,
        direccion: String,
    },
}

impl Evento {
    pub fn tipo(&self) -> TipoEventoHogar {
        match self {
            Evento::AgregarIntegrante { .. } => TipoEventoHogar::AgregarIntegrante,
            Evento::QuitarIntegrante { .. } => TipoEventoHogar::QuitarIntegrante,
            Evento::CambiarDomicilio { .. } => TipoEventoHogar::CambiarDomicilio,
            Evento::Dividir { .. } => TipoEventoHogar::Dividir,
        }
    }

    /// The persons it moves.
    pub fn movidos(&self) -> Vec<Run> {
        match self {
            Evento::AgregarIntegrante { run, .. } | Evento::QuitarIntegrante { run } => vec![*run],
            Evento::CambiarDomicilio { .. } => Vec::new(),
            Evento::Dividir { runs, .. } => runs.clone(),
        }
    }
}

/// An event with its reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventoMotivado {
    pub evento: Evento,
    pub motivo: String,
}

/// Every RUN the entry names that parses (for the audit log and the limits, before the entry
/// is checked).
pub fn runs_nombrados(e: &EventoEntrada) -> Vec<Run> {
    e.run
        .iter()
        .chain(e.runs.iter().flatten())
        .filter_map(|r| Run::parse(r).ok())
        .collect()
}

fn run(text: &str) -> Result<Run, ApiError> {
    Run::parse(text).map_err(ApiError::run_invalido)
}

fn motivo(text: Option<&str>) -> Result<String, ApiError> {
    match text.map(str::trim) {
        None | Some("") => Err(errores::evento_invalido("motivo is required")),
        Some(m) if m.chars().count() > MAX_MOTIVO => Err(errores::evento_invalido(format!(
            "motivo holds at most {MAX_MOTIVO} characters"
        ))),
        Some(m) => Ok(m.to_owned()),
    }
}

fn direccion(text: Option<&str>) -> Result<String, ApiError> {
    match text.map(str::trim) {
        None | Some("") => Err(errores::evento_invalido("direccion is required")),
        Some(d) if d.chars().count() > MAX_DIRECCION => Err(errores::evento_invalido(format!(
            "direccion holds at most {MAX_DIRECCION} characters"
        ))),
        Some(d) if d.chars().any(char::is_control) => Err(errores::evento_invalido(
            "direccion holds no control characters",
        )),
        Some(d) => Ok(d.to_owned()),
    }
}

impl EventoMotivado {
    /// Checks what a transport decoded: the event is known, carries what it needs and nothing
    /// that belongs to another event, with a reason.
    pub fn from_entrada(e: &EventoEntrada) -> Result<EventoMotivado, ApiError> {
        let tipo = TipoEventoHogar::parse(&e.evento).ok_or_else(|| {
            errores::evento_invalido(format!(
                "evento must be one of {}",
                TipoEventoHogar::ALL.map(TipoEventoHogar::as_str).join(", ")
            ))
        })?;
        let given = [
            ("run", e.run.is_some()),
            ("parentesco", e.parentesco.is_some()),
            ("direccion", e.direccion.is_some()),
            ("runs", e.runs.is_some()),
            ("comuna", e.comuna.is_some()),
        ];
        let allowed: &[&str] = match tipo {
            TipoEventoHogar::AgregarIntegrante => &["run", "parentesco"],
            TipoEventoHogar::QuitarIntegrante => &["run"],
            TipoEventoHogar::CambiarDomicilio => &["direccion", "comuna"],
            TipoEventoHogar::Dividir => &["runs", "direccion"],
        };
        if let Some((name, _)) = given.iter().find(|(n, g)| *g && !allowed.contains(n)) {
            return Err(errores::evento_invalido(format!(
                "{name} does not belong to the event {}",
                tipo.as_str()
            )));
        }
        let required_run = || {
            e.run
                .as_deref()
                .ok_or_else(|| errores::evento_invalido("run is required"))
                .and_then(run)
        };
        let evento = match tipo {
            TipoEventoHogar::AgregarIntegrante => {
                let run = required_run()?;
                let given = e
                    .parentesco
                    .as_deref()
                    .ok_or_else(|| errores::evento_invalido("parentesco is required"))?;
                let parentesco =
                    PARENTESCOS
                        .into_iter()
                        .find(|p| *p == given)
                        .ok_or_else(|| {
                            errores::evento_invalido(format!(
                                "parentesco must be one of {}",
                                PARENTESCOS.join(", ")
                            ))
                        })?;
                Evento::AgregarIntegrante { run, parentesco }
            }
            TipoEventoHogar::QuitarIntegrante => Evento::QuitarIntegrante {
                run: required_run()?,
            },
            TipoEventoHogar::CambiarDomicilio => Evento::CambiarDomicilio {
                direccion: direccion(e.direccion.as_deref())?,
                comuna: e.comuna.clone(),
            },
            TipoEventoHogar::Dividir => {
                let texts = e.runs.as_deref().unwrap_or_default();
                if texts.is_empty() {
                    return Err(errores::evento_invalido("runs names at least one member"));
                }
                if texts.len() > MAX_DIVIDIR {
                    return Err(errores::evento_invalido(format!(
                        "runs names at most {MAX_DIVIDIR} members"
                    )));
                }
                let runs = texts
                    .iter()
                    .map(|t| run(t))
                    .collect::<Result<Vec<_>, _>>()?;
                if runs.iter().collect::<BTreeSet<_>>().len() != runs.len() {
                    return Err(errores::evento_invalido("runs names a member twice"));
                }
                Evento::Dividir {
                    runs,
                    direccion: direccion(e.direccion.as_deref())?,
                }
            }
        };
        Ok(EventoMotivado {
            evento,
            motivo: motivo(e.motivo.as_deref())?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;

    fn entrada(evento: &str) -> EventoEntrada {
        EventoEntrada {
            evento: evento.into(),
            motivo: Some("cambio informado por la jefa de hogar".into()),
            ..EventoEntrada::default()
        }
    }

    #[test]
    fn only_member_changes_mark_a_ficha_without_model_for_review() {
        use TipoEventoHogar::*;
        let marks: Vec<bool> = TipoEventoHogar::ALL
            .into_iter()
            .map(|t| marca_revision(None, t))
            .collect();
        assert_eq!(marks, [true, true, false, true]);
        assert_eq!(
            [
                AgregarIntegrante,
                QuitarIntegrante,
                CambiarDomicilio,
                Dividir
            ],
            TipoEventoHogar::ALL
        );
    }

    #[test]
    fn each_event_takes_its_own_data_and_a_reason() {
        let ok = EventoMotivado::from_entrada(&EventoEntrada {
            run: Some("12.345.678-5".into()),
            parentesco: Some("hijo".into()),
            ..entrada("agregar_integrante")
        })
        .unwrap();
        assert_eq!(ok.evento.movidos(), [Run::parse("12345678-5").unwrap()]);
        let split = EventoMotivado::from_entrada(&EventoEntrada {
            runs: Some(vec!["12345678-5".into(), "6-K".into()]),
            direccion: Some(" Calle 1 ".into()),
            ..entrada("dividir")
        })
        .unwrap();
        assert_eq!(
            split.evento,
            Evento::Dividir {
                runs: vec![
                    Run::parse("12345678-5").unwrap(),
                    Run::parse("6-K").unwrap()
                ],
                direccion: "Calle 1".into()
            }
        );
    }

    #[test]
    fn bad_events_are_refused_with_a_stable_code() {
        let long = "x".repeat(MAX_MOTIVO + 1);
        let cases: Vec<(EventoEntrada, ErrorCode, &str)> = vec![
            (
                entrada("mudar"),
                ErrorCode::EventoInvalido,
                "evento must be",
            ),
            (
                EventoEntrada {
                    motivo: None,
                    direccion: Some("Calle 1".into()),
                    ..entrada("cambiar_domicilio")
                },
                ErrorCode::EventoInvalido,
                "motivo is required",
            ),
            (
                EventoEntrada {
                    motivo: Some("  ".into()),
                    direccion: Some("Calle 1".into()),
                    ..entrada("cambiar_domicilio")
                },
                ErrorCode::EventoInvalido,
                "motivo is required",
            ),
            (
                EventoEntrada {
                    motivo: Some(long),
                    direccion: Some("Calle 1".into()),
                    ..entrada("cambiar_domicilio")
                },
                ErrorCode::EventoInvalido,
                "at most 500",
            ),
            (
                EventoEntrada {
                    run: Some("12345678-9".into()),
                    ..entrada("quitar_integrante")
                },
                ErrorCode::RunInvalido,
                "",
            ),
            (
                entrada("quitar_integrante"),
                ErrorCode::EventoInvalido,
                "run is required",
            ),
            (
                EventoEntrada {
                    run: Some("6-K".into()),
                    parentesco: Some("vecino".into()),
                    ..entrada("agregar_integrante")
                },
                ErrorCode::EventoInvalido,
                "parentesco must be",
            ),
            (
                EventoEntrada {
                    run: Some("6-K".into()),
                    direccion: Some("Calle 1".into()),
                    ..entrada("quitar_integrante")
                },
                ErrorCode::EventoInvalido,
                "direccion does not belong",
            ),
            (
                EventoEntrada {
                    runs: Some(vec![]),
                    direccion: Some("Calle 1".into()),
                    ..entrada("dividir")
                },
                ErrorCode::EventoInvalido,
                "at least one",
            ),
            (
                EventoEntrada {
                    runs: Some(vec!["6-K".into(), "6-k".into()]),
                    direccion: Some("Calle 1".into()),
                    ..entrada("dividir")
                },
                ErrorCode::EventoInvalido,
                "twice",
            ),
            (
                EventoEntrada {
                    runs: Some(vec!["6-K".into()]),
                    ..entrada("dividir")
                },
                ErrorCode::EventoInvalido,
                "direccion is required",
            ),
            (
                EventoEntrada {
                    direccion: Some("Calle\n1".into()),
                    ..entrada("cambiar_domicilio")
                },
                ErrorCode::EventoInvalido,
                "control",
            ),
        ];
        for (e, code, detail) in cases {
            let error = EventoMotivado::from_entrada(&e).unwrap_err();
            assert_eq!(error.code, code, "{e:?}");
            assert!(error.detail.contains(detail), "{e:?}: {}", error.detail);
        }
    }
}
