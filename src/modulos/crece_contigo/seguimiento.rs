//! A follow-up's entry, its events and its reading by RUN. Every rule is here; the transports
//! only decode into [`Ingreso`] and [`EventoPedido`].
//!
//! Scope: a follow-up belongs to its comuna; one outside the agreement's scope does not exist
//! for it (`NO_ENCONTRADO`, audited `FUERA_DE_AMBITO` when asked by RUN), and a comuna code
//! outside the scope is said plainly (`FUERA_DE_AMBITO`), being no personal data.

use chrono::{Days, NaiveDate};
use serde::Deserialize;

use super::catalogo::{self, codigos};
use super::errores;
use super::id::{DerivacionId, SeguimientoId};
use super::store::{self, AlertaFila, ControlFila, DerivacionFila, Expediente, SeguimientoFila};
use crate::convenios::Convenio;
use crate::db::DbConnection;
use crate::domain::{Cut, Run};
use crate::error::ApiError;

/// Longest `motivo`.
pub const MAX_MOTIVO: usize = 500;

/// Days a due date may stray from the one the weeks of gestation give.
pub const TOLERANCIA_PARTO_DIAS: i64 = 28;

/// Attempts before a follow-up that keeps changing under us is given up on.
const INTENTOS: usize = 5;

/// An entry as a transport received it.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct IngresoChCCEntrada {
    /// The gestante's RUN (`12345678-5`).
    pub run: String,
    /// The comuna whose health centre follows her (a CUT code, within the agreement's scope).
    pub comuna: String,
    /// Weeks of gestation at entry, 1 to 42.
    pub semanas: i32,
    pub fecha_probable_parto: NaiveDate,
}

/// An entry, its RUN parsed.
#[derive(Debug, Clone, PartialEq)]
pub struct Ingreso {
    pub run: Run,
    pub comuna: String,
    pub semanas: i32,
    pub fecha_probable_parto: NaiveDate,
}

impl IngresoChCCEntrada {
    pub fn parse(self) -> Result<Ingreso, ApiError> {
        Ok(Ingreso {
            run: Run::parse(&self.run).map_err(ApiError::run_invalido)?,
            comuna: self.comuna,
            semanas: self.semanas,
            fecha_probable_parto: self.fecha_probable_parto,
        })
    }
}

/// An event on a follow-up as a transport received it: `evento` and the data that event takes.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct EventoChCCEntrada {
    /// `control`, `alerta`, `resolucion`, `derivacion`, `nacimiento` or `egreso`.
    pub evento: String,
    /// When it happened (today when absent); not in the future nor before the entry.
    pub fecha: Option<NaiveDate>,
    /// control: `prenatal`, `nino_sano` or `desarrollo`.
    pub tipo: Option<String>,
    /// control: `normal`, `rezago`, `riesgo` or `retraso`.
    pub resultado: Option<String>,
    /// alerta, resolucion: the alert's code.
    pub codigo: Option<String>,
    /// derivacion: the service asked for (its sector follows from it).
    pub prestacion: Option<String>,
    /// derivacion: the sector, if given must be the service's.
    pub sector: Option<String>,
    /// derivacion: the code of an alert of this follow-up it answers.
    pub alerta: Option<String>,
    /// nacimiento: the child's RUN.
    pub run_nino: Option<String>,
    /// egreso: why it ends.
    pub motivo: Option<String>,
}

/// An event for a follow-up, by its id as sent; the child's RUN of a birth parsed.
#[derive(Debug, Clone)]
pub struct EventoPedido {
    pub id: String,
    pub entrada: EventoChCCEntrada,
    pub nino: Option<Run>,
}

impl EventoPedido {
    /// The request, its child's RUN (a birth) parsed: `RUN_INVALIDO` when it is not one.
    pub fn parse(id: String, entrada: EventoChCCEntrada) -> Result<EventoPedido, ApiError> {
        let nino = match &entrada.run_nino {
            Some(r) => Some(Run::parse(r).map_err(ApiError::run_invalido)?),
            None => None,
        };
        Ok(EventoPedido { id, entrada, nino })
    }
}

/// The comuna as sent, known and within the agreement's scope.
pub(super) fn comuna_en_ambito(convenio: &Convenio, comuna: &str) -> Result<Cut, ApiError> {
    let cut = Cut::parse(comuna)
        .map_err(|e| ApiError::comuna_desconocida(e.to_string()).en_campo("comuna"))?;
    if convenio.en_ambito(cut.as_str()) {
        Ok(cut)
    } else {
        Err(errores::comuna_fuera_de_ambito())
    }
}

/// The alerts an entry raises by itself: a late entry, an adolescent gestante.
pub fn alertas_de_ingreso(
    semanas: i32,
    nacimiento: NaiveDate,
    hoy: NaiveDate,
) -> Vec<&'static str> {
    let mut out = Vec::new();
    if semanas >= catalogo::SEMANAS_INGRESO_TARDIO {
        out.push("ingreso_tardio");
    }
    if hoy
        .years_since(nacimiento)
        .is_some_and(|e| e < catalogo::EDAD_ADOLESCENTE)
    {
        out.push("gestante_adolescente");
    }
    out
}

/// The weeks of gestation and the due date agree: the due date lies within
/// [`TOLERANCIA_PARTO_DIAS`] of the one 40 weeks give.
pub fn check_gestacion(semanas: i32, parto: NaiveDate, hoy: NaiveDate) -> Result<(), ApiError> {
    if !(1..=42).contains(&semanas) {
        return Err(errores::invalido("semanas", "semanas is 1 to 42"));
    }
    let esperado = hoy + chrono::Duration::weeks(i64::from(40 - semanas));
    if (parto - esperado).num_days().abs() > TOLERANCIA_PARTO_DIAS {
        return Err(errores::invalido(
            "fechaProbableParto",
            format!(
                "fechaProbableParto is more than {TOLERANCIA_PARTO_DIAS} days from the one {semanas} weeks of gestation give"
            ),
        ));
    }
    Ok(())
}

/// RegistrarSeguimientoChCC's entry: stores the follow-up with the alerts it raises.
pub fn ingresar(
    convenio: &Convenio,
    conn: &mut DbConnection,
    ingreso: &Ingreso,
    hoy: NaiveDate,
) -> Result<Expediente, ApiError> {
    let cut = comuna_en_ambito(convenio, &ingreso.comuna)?;
    check_gestacion(ingreso.semanas, ingreso.fecha_probable_parto, hoy)?;
    let numero = ingreso.run.numero() as i32;
    let gestante = store::persona(conn, numero)?.ok_or_else(ApiError::no_encontrado)?;
    let abierta = store::de_persona(conn, numero)?
        .into_iter()
        .any(|s| s.run_gestante == numero && s.estado == "gestacion" && s.cut == cut.as_str());
    if abierta {
        return Err(errores::en_curso());
    }
    let now = store::now_us();
    let fila = SeguimientoFila {
        id: SeguimientoId::new().to_string(),
        run_gestante: numero,
        run_nino: None,
        cut: cut.to_string(),
        estado: "gestacion".into(),
        fecha_ingreso: hoy,
        semanas_ingreso: ingreso.semanas,
        fecha_probable_parto: ingreso.fecha_probable_parto,
        fecha_nacimiento: None,
        motivo_egreso: None,
        convenio: convenio.id.to_string(),
        version: 0,
        creado_us: now,
        actualizado_us: now,
    };
    match store::insertar(conn, &fila) {
        Ok(()) => {}
        // The unique index on a gestante's follow-up in gestation in this comuna (a race with
        // the check above): this comuna's own, so saying so discloses nothing beyond it.
        Err(diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::UniqueViolation,
            _,
        )) => return Err(errores::en_curso()),
        Err(e) => return Err(e.into()),
    }
    for (orden, codigo) in alertas_de_ingreso(ingreso.semanas, gestante.fecha_nacimiento, hoy)
        .into_iter()
        .enumerate()
    {
        store::insertar_alerta(
            conn,
            &AlertaFila {
                seguimiento_id: fila.id.clone(),
                orden: orden as i32,
                codigo: codigo.into(),
                fecha: hoy,
                estado: "activa".into(),
                convenio: convenio.id.to_string(),
                registrado_us: now,
            },
        )?;
    }
    Ok(store::expediente(conn, fila)?)
}

/// A follow-up of the agreement's scope by its id as sent; any other does not exist.
fn leer(
    convenio: &Convenio,
    conn: &mut DbConnection,
    id: &str,
) -> Result<SeguimientoFila, ApiError> {
    let id = SeguimientoId::parse(id).ok_or_else(errores::seguimiento_no_encontrado)?;
    match store::leer(conn, &id.to_string())? {
        Some(fila) if convenio.en_ambito(&fila.cut) => Ok(fila),
        _ => Err(errores::seguimiento_no_encontrado()),
    }
}

/// ConsultarSeguimientoChCC: the latest follow-up within the agreement's scope that names the
/// person as gestante or child. None in scope is answered as an unknown RUN.
pub fn consultar(
    convenio: &Convenio,
    conn: &mut DbConnection,
    run: Run,
) -> Result<Expediente, ApiError> {
    let todas = store::de_persona(conn, run.numero() as i32)?;
    let fuera = !todas.is_empty();
    match todas.into_iter().find(|s| convenio.en_ambito(&s.cut)) {
        Some(fila) => Ok(store::expediente(conn, fila)?),
        None => Err(errores::persona_no_encontrada(fuera)),
    }
}

/// The fields each event takes (besides `evento` and `fecha`).
fn campos_del_evento(evento: &str) -> Option<&'static [&'static str]> {
    Some(match evento {
        "control" => &["tipo", "resultado"],
        "alerta" | "resolucion" => &["codigo"],
        "derivacion" => &["prestacion", "sector", "alerta"],
        "nacimiento" => &["runNino"],
        "egreso" => &["motivo"],
        _ => return None,
    })
}

/// Refuses an unknown event, and data that belongs to another event.
fn check_forma(e: &EventoChCCEntrada) -> Result<(), ApiError> {
    let propios = campos_del_evento(&e.evento).ok_or_else(|| {
        errores::evento_invalido(
            "evento is one of control, alerta, resolucion, derivacion, nacimiento, egreso",
        )
    })?;
    let dados = [
        ("tipo", e.tipo.is_some()),
        ("resultado", e.resultado.is_some()),
        ("codigo", e.codigo.is_some()),
        ("prestacion", e.prestacion.is_some()),
        ("sector", e.sector.is_some()),
        ("alerta", e.alerta.is_some()),
        ("runNino", e.run_nino.is_some()),
        ("motivo", e.motivo.is_some()),
    ];
    match dados.iter().find(|(c, dado)| *dado && !propios.contains(c)) {
        Some((campo, _)) => Err(ApiError::new(
            crate::error::ErrorCode::EventoInvalido,
            format!("{campo} is not data of the event {}", e.evento),
        )
        .en_campo(*campo)),
        None => Ok(()),
    }
}

/// One of `valores`, or `SEGUIMIENTO_INVALIDO` naming the field.
fn uno_de<'a>(campo: &str, valor: Option<&'a str>, valores: &[&str]) -> Result<&'a str, ApiError> {
    match valor {
        Some(v) if valores.contains(&v) => Ok(v),
        _ => Err(errores::invalido(
            campo,
            format!("{campo} is one of {}", codigos(valores.iter().copied())),
        )),
    }
}

/// What an event adds to a follow-up besides the change of its own row.
enum Anexo {
    Ninguno,
    /// A control, and the alert its result raises.
    Control(ControlFila, Option<AlertaFila>),
    Alerta(AlertaFila),
    Resolucion(String),
    Derivacion(DerivacionFila),
}

/// Decides an event on the follow-up as it is (`e`): its new row and what it adds.
fn decidir(
    convenio: &Convenio,
    conn: &mut DbConnection,
    e: &Expediente,
    pedido: &EventoPedido,
    fecha: NaiveDate,
    hoy: NaiveDate,
) -> Result<(SeguimientoFila, Anexo), ApiError> {
    let entrada = &pedido.entrada;
    let antes = &e.seguimiento;
    let mut despues = antes.clone();
    let now = store::now_us();
    let evento = entrada.evento.as_str();
    if antes.estado == "egresado" {
        return Err(errores::transicion(evento, &antes.estado, "follow-up"));
    }
    let alerta = |orden: usize, codigo: &str| AlertaFila {
        seguimiento_id: antes.id.clone(),
        orden: orden as i32,
        codigo: codigo.to_owned(),
        fecha,
        estado: "activa".into(),
        convenio: convenio.id.to_string(),
        registrado_us: now,
    };
    let activa = |codigo: &str| {
        e.alertas
            .iter()
            .any(|a| a.codigo == codigo && a.estado == "activa")
    };
    let anexo = match evento {
        "control" => {
            let tipo = uno_de("tipo", entrada.tipo.as_deref(), catalogo::TIPOS_CONTROL)?;
            let resultado = uno_de(
                "resultado",
                entrada.resultado.as_deref(),
                catalogo::RESULTADOS_CONTROL,
            )?;
            let debe = if tipo == "prenatal" {
                "gestacion"
            } else {
                "nino"
            };
            if antes.estado != debe {
                return Err(errores::invalido(
                    "tipo",
                    format!("a {tipo} control is for a follow-up in state {debe}"),
                ));
            }
            let control = ControlFila {
                seguimiento_id: antes.id.clone(),
                orden: e.controles.len() as i32,
                fecha,
                tipo: tipo.into(),
                resultado: resultado.into(),
                convenio: convenio.id.to_string(),
                registrado_us: now,
            };
            // A development screening with a delay raises its alert (once while active).
            if tipo == "desarrollo"
                && matches!(resultado, "rezago" | "retraso")
                && !activa("rezago_desarrollo")
            {
                Anexo::Control(control, Some(alerta(e.alertas.len(), "rezago_desarrollo")))
            } else {
                Anexo::Control(control, None)
            }
        }
        "alerta" => {
            let codigo = entrada.codigo.as_deref().unwrap_or("");
            if catalogo::alerta(codigo).is_none() {
                return Err(errores::invalido(
                    "codigo",
                    format!(
                        "codigo is one of {}",
                        codigos(catalogo::ALERTAS.iter().map(|a| a.codigo))
                    ),
                ));
            }
            if activa(codigo) {
                Anexo::Ninguno
            } else {
                Anexo::Alerta(alerta(e.alertas.len(), codigo))
            }
        }
        "resolucion" => {
            let codigo = entrada.codigo.as_deref().unwrap_or("");
            if !activa(codigo) {
                return Err(errores::invalido(
                    "codigo",
                    "codigo names no active alert of this follow-up",
                ));
            }
            Anexo::Resolucion(codigo.to_owned())
        }
        "derivacion" => Anexo::Derivacion(derivacion(convenio, e, entrada, fecha, now)?),
        "nacimiento" => {
            let Some(nino) = pedido.nino else {
                return Err(errores::invalido("runNino", "runNino is required"));
            };
            if antes.estado != "gestacion" {
                return Err(errores::transicion(evento, &antes.estado, "follow-up"));
            }
            let numero = nino.numero() as i32;
            if numero == antes.run_gestante {
                return Err(errores::invalido("runNino", "runNino is the gestante's"));
            }
            let persona = store::persona(conn, numero)?.ok_or_else(ApiError::no_encontrado)?;
            // A child of a household outside the agreement's territory answers as an unknown
            // RUN, before anything else about them is looked at (a newborn the feed has not
            // placed in a household yet is the follow-up's to name).
            if crate::ops::ficha::hogar_de(conn, nino)?.is_some_and(|h| !convenio.en_ambito(&h.cut))
            {
                return Err(ApiError::fuera_de_ambito());
            }
            let seguido = store::de_persona(conn, numero)?
                .iter()
                .any(|s| s.run_nino == Some(numero) && convenio.en_ambito(&s.cut));
            if seguido {
                return Err(ApiError::new(
                    crate::error::ErrorCode::SeguimientoEnCurso,
                    "this child is already followed",
                ));
            }
            if persona.fecha_nacimiento < antes.fecha_ingreso - Days::new(7 * 42)
                || persona.fecha_nacimiento > hoy
            {
                return Err(errores::invalido(
                    "runNino",
                    "the child's birth date does not fall within this gestation",
                ));
            }
            despues.run_nino = Some(numero);
            despues.fecha_nacimiento = Some(persona.fecha_nacimiento);
            despues.estado = "nino".into();
            Anexo::Ninguno
        }
        "egreso" => {
            let motivo = uno_de(
                "motivo",
                entrada.motivo.as_deref(),
                catalogo::MOTIVOS_EGRESO,
            )?;
            despues.estado = "egresado".into();
            despues.motivo_egreso = Some(motivo.to_owned());
            Anexo::Ninguno
        }
        _ => unreachable!("check_forma admits the events above only"),
    };
    despues.version += 1;
    despues.actualizado_us = now;
    Ok((despues, anexo))
}

/// A referral from the follow-up: a known service, its sector, an alert of this follow-up.
fn derivacion(
    convenio: &Convenio,
    e: &Expediente,
    entrada: &EventoChCCEntrada,
    fecha: NaiveDate,
    now: i64,
) -> Result<DerivacionFila, ApiError> {
    let codigo = entrada.prestacion.as_deref().unwrap_or("");
    let prestacion = catalogo::prestacion(codigo).ok_or_else(|| {
        errores::invalido(
            "prestacion",
            format!(
                "prestacion is one of {}",
                codigos(catalogo::PRESTACIONES.iter().map(|p| p.codigo))
            ),
        )
    })?;
    if let Some(sector) = entrada.sector.as_deref()
        && sector != prestacion.sector
    {
        return Err(errores::invalido(
            "sector",
            format!(
                "{} is given by the sector {}",
                prestacion.codigo, prestacion.sector
            ),
        ));
    }
    if prestacion.para_nino && e.seguimiento.run_nino.is_none() {
        return Err(errores::invalido(
            "prestacion",
            format!(
                "{} is for the child: register the nacimiento first",
                prestacion.codigo
            ),
        ));
    }
    if let Some(alerta) = entrada.alerta.as_deref()
        && !e.alertas.iter().any(|a| a.codigo == alerta)
    {
        return Err(errores::invalido(
            "alerta",
            "alerta names no alert of this follow-up",
        ));
    }
    Ok(DerivacionFila {
        id: DerivacionId::new().to_string(),
        seguimiento_id: e.seguimiento.id.clone(),
        alerta: entrada.alerta.clone(),
        sector_destino: prestacion.sector.into(),
        prestacion: prestacion.codigo.into(),
        estado: "enviada".into(),
        fecha,
        fecha_respuesta: None,
        motivo_respuesta: None,
        convenio_origen: convenio.id.to_string(),
        convenio_respuesta: None,
        version: 0,
        registrado_us: now,
        actualizado_us: now,
    })
}

/// RegistrarSeguimientoChCC's events: applies one under the follow-up's version.
pub fn registrar(
    convenio: &Convenio,
    conn: &mut DbConnection,
    pedido: &EventoPedido,
    hoy: NaiveDate,
) -> Result<Expediente, ApiError> {
    check_forma(&pedido.entrada)?;
    for _ in 0..INTENTOS {
        let fila = leer(convenio, conn, &pedido.id)?;
        let fecha = pedido.entrada.fecha.unwrap_or(hoy);
        if fecha > hoy || fecha < fila.fecha_ingreso {
            return Err(errores::invalido(
                "fecha",
                "fecha is not in the future nor before the follow-up's entry",
            ));
        }
        let e = store::expediente(conn, fila)?;
        let version = e.seguimiento.version;
        let (despues, anexo) = decidir(convenio, conn, &e, pedido, fecha, hoy)?;
        if !store::actualizar(conn, version, &despues)? {
            continue;
        }
        match anexo {
            Anexo::Ninguno => {}
            Anexo::Control(c, alerta) => {
                store::insertar_control(conn, &c)?;
                if let Some(a) = alerta {
                    store::insertar_alerta(conn, &a)?;
                }
            }
            Anexo::Alerta(a) => store::insertar_alerta(conn, &a)?,
            Anexo::Resolucion(codigo) => {
                store::resolver_alerta(conn, &despues.id, &codigo)?;
            }
            Anexo::Derivacion(d) => store::insertar_derivacion(conn, &d)?,
        }
        return Ok(store::expediente(conn, despues)?);
    }
    Err(errores::en_conflicto())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, dia: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, dia).unwrap()
    }

    #[test]
    fn an_entry_raises_late_and_adolescent_alerts() {
        let hoy = d(2026, 12, 12);
        assert!(alertas_de_ingreso(8, d(1995, 1, 1), hoy).is_empty());
        assert_eq!(
            alertas_de_ingreso(20, d(1995, 1, 1), hoy),
            ["ingreso_tardio"]
        );
        assert_eq!(
            alertas_de_ingreso(19, d(2010, 1, 1), hoy),
            ["gestante_adolescente"]
        );
        // Seventeen today: no longer an adolescent for the alert.
        assert!(alertas_de_ingreso(10, d(2009, 12, 12), hoy).is_empty());
        assert_eq!(
            alertas_de_ingreso(30, d(2010, 6, 1), hoy),
            ["ingreso_tardio", "gestante_adolescente"]
        );
    }

    #[test]
    fn the_due_date_must_agree_with_the_weeks() {
        let hoy = d(2026, 12, 12);
        let parto = hoy + chrono::Duration::weeks(30);
        assert!(check_gestacion(10, parto, hoy).is_ok());
        assert!(check_gestacion(10, parto + chrono::Duration::days(28), hoy).is_ok());
        let e = check_gestacion(10, parto + chrono::Duration::days(29), hoy).unwrap_err();
        assert_eq!(e.campo.as_deref(), Some("fechaProbableParto"));
        for semanas in [0, 43, -1] {
            let e = check_gestacion(semanas, parto, hoy).unwrap_err();
            assert_eq!(
                (e.code.as_str(), e.campo.as_deref()),
                ("SEGUIMIENTO_INVALIDO", Some("semanas"))
            );
        }
    }

    #[test]
    fn an_event_takes_only_its_own_data() {
        let ok = EventoChCCEntrada {
            evento: "control".into(),
            tipo: Some("prenatal".into()),
            resultado: Some("normal".into()),
            ..Default::default()
        };
        assert!(check_forma(&ok).is_ok());
        let ajeno = EventoChCCEntrada {
            prestacion: Some("sala_cuna".into()),
            ..ok.clone()
        };
        let e = check_forma(&ajeno).unwrap_err();
        assert_eq!(
            (e.code.as_str(), e.campo.as_deref()),
            ("EVENTO_INVALIDO", Some("prestacion"))
        );
        let desconocido = EventoChCCEntrada {
            evento: "parto".into(),
            ..Default::default()
        };
        assert_eq!(
            check_forma(&desconocido).unwrap_err().code.as_str(),
            "EVENTO_INVALIDO"
        );
    }
}
