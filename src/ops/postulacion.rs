//! PostularBeneficio: the municipality of a person's comuna takes their postulation to SUF,
//! PASIS or SAP; the registry checks it automatically against the rules of `[postulaciones]`
//! in the rules file (every rule, each outcome stored with the rule's id) and checks it again
//! whenever it is read, listed or decreed, so a death, a new ficha or a benefit fed after the
//! postulation shows at once. The municipality lists its comuna's postulations (the waiting
//! list, in the program's priority order) and may withdraw or annul one. See
//! docs/postulaciones.md.
//!
//! Scope: a person (applicant or causante) outside the agreement's comuna is answered exactly
//! as an unknown one; another comuna's postulation does not exist for the agreement; a comuna
//! code outside its own is said plainly (`FUERA_DE_AMBITO`), being no personal data.

mod clasificar;
mod errores;
mod lista;
mod respuesta;
pub mod store;
mod verificacion;

use chrono::NaiveDate;
use serde::Deserialize;

pub use self::clasificar::{Clasificacion, clasificar, cupos_de, marcar, ordenar};
pub use self::errores::cupos_invalidos;
pub use self::lista::{
    Filtro, ListarPostulaciones, MAX_POR_PAGINA, POR_PAGINA, PaginaLista, listar,
};
use self::respuesta::vista;
pub use self::respuesta::{CausantePostulacion, ChequeoPostulacion, Postulacion, Postulaciones};
pub use self::verificacion::ingreso_per_capita;
use super::{Core, Op};
use crate::broker::Admission;
use crate::catalog::Operation;
use crate::convenios::Convenio;
use crate::db::DbConnection;
use crate::db::models::{CausanteFila, PostulacionFila};
use crate::domain::{Cut, PostulacionId, Run};
use crate::error::ApiError;
use crate::reglas::Rules;

/// The kinds of causante of a SUF postulation.
pub const TIPOS_CAUSANTE: [&str; 4] = ["menor", "invalido", "madre", "gestante"];

/// Most causantes one SUF postulation may name.
pub const MAX_CAUSANTES: usize = 12;

/// Longest `motivo` of an event.
pub const MAX_MOTIVO: usize = 500;

/// Every state a postulation may be in.
pub const ESTADOS: [&str; 7] = [
    "postulada",
    "verificada",
    "rechazada",
    "en_espera",
    "otorgada",
    "desistida",
    "anulada",
];

/// A causante as asked (SUF).
#[derive(Debug, Clone, PartialEq)]
pub struct CausantePedido {
    pub run: Run,
    pub tipo: String,
}

/// A postulation as asked.
#[derive(Debug, Clone, PartialEq)]
pub struct Pedido {
    pub run: Run,
    pub programa: String,
    pub causantes: Vec<CausantePedido>,
}

/// The texts a transport received for a causante.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CausanteEntrada {
    pub run: String,
    pub tipo: String,
}

/// A postulation as a transport received it.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PedidoEntrada {
    pub run: String,
    pub programa: String,
    #[serde(default)]
    pub causantes: Vec<CausanteEntrada>,
}

impl PedidoEntrada {
    /// The typed request. An applicant's bad RUN is `RUN_INVALIDO`; a causante's is
    /// `POSTULACION_INVALIDA` naming its index. The RUNs read so far go to `subjects`.
    pub fn parse(&self, subjects: &mut Vec<Run>) -> Result<Pedido, ApiError> {
        let run = Run::parse(&self.run).map_err(ApiError::run_invalido)?;
        subjects.push(run);
        let mut causantes = Vec::new();
        for (i, c) in self.causantes.iter().enumerate() {
            let r = Run::parse(&c.run)
                .map_err(|e| errores::invalida(format!("causantes[{i}].run: {e}")))?;
            subjects.push(r);
            causantes.push(CausantePedido {
                run: r,
                tipo: c.tipo.clone(),
            });
        }
        Ok(Pedido {
            run,
            programa: self.programa.clone(),
            causantes,
        })
    }
}

/// The program must have postulation checks and the agreement's grant must list it.
pub(super) fn check_programa(
    convenio: &Convenio,
    rules: &Rules,
    programa: &str,
) -> Result<(), ApiError> {
    if !rules.postulables().any(|p| p == programa) {
        return Err(ApiError::programa_desconocido(programa));
    }
    if programas_concedidos(convenio).contains(&programa) {
        Ok(())
    } else {
        Err(ApiError::no_autorizado(format!(
            "the agreement does not grant postulations to {programa}"
        )))
    }
}

/// The programs an agreement's grant of PostularBeneficio lists.
pub fn programas_concedidos(convenio: &Convenio) -> Vec<&str> {
    convenio
        .grant(Operation::PostularBeneficio)
        .and_then(|g| g.programas.as_ref())
        .map(|p| p.iter().map(String::as_str).collect())
        .unwrap_or_default()
}

/// The agreement's comuna: postulations are a municipality's.
fn comuna_propia(convenio: &Convenio) -> Result<Cut, ApiError> {
    convenio
        .comuna()
        .copied()
        .ok_or_else(errores::fuera_de_ambito)
}

/// The shape a program takes: SUF names 1 to [`MAX_CAUSANTES`] causantes of known kinds, none
/// twice and not the applicant; PASIS and SAP name none.
fn check_forma(pedido: &Pedido) -> Result<(), ApiError> {
    let n = pedido.causantes.len();
    match pedido.programa.as_str() {
        "SUF" if n == 0 => {
            return Err(errores::invalida(
                "causantes: SUF names at least one causante",
            ));
        }
        "SUF" if n > MAX_CAUSANTES => {
            return Err(errores::invalida(format!(
                "causantes: at most {MAX_CAUSANTES} in one postulation"
            )));
        }
        "SUF" => {}
        programa if n > 0 => {
            return Err(errores::invalida(format!(
                "causantes: {programa} takes no causantes"
            )));
        }
        _ => {}
    }
    for (i, c) in pedido.causantes.iter().enumerate() {
        if !TIPOS_CAUSANTE.contains(&c.tipo.as_str()) {
            return Err(errores::invalida(format!(
                "causantes[{i}].tipo is one of {}",
                TIPOS_CAUSANTE.join(", ")
            )));
        }
        if c.run == pedido.run {
            return Err(errores::invalida(format!(
                "causantes[{i}].run is the applicant's"
            )));
        }
        if pedido.causantes[..i].iter().any(|o| o.run == c.run) {
            return Err(errores::invalida(format!(
                "causantes[{i}].run is named twice"
            )));
        }
    }
    Ok(())
}

/// Where a person lives as far as the agreement may know: `Ok` for its comuna, else the error
/// an unknown RUN gets (audited as out of scope when the person lives elsewhere).
fn en_comuna(
    conn: &mut DbConnection,
    run: Run,
    cut: Cut,
    fuera: impl Fn(bool) -> ApiError,
) -> Result<(), ApiError> {
    match crate::ops::ficha::hogar_de(conn, run)? {
        Some(h) if h.cut == cut.as_str() => Ok(()),
        Some(_) => Err(fuera(true)),
        None => Err(fuera(false)),
    }
}

/// Postular: checks the request, stores the postulation with its first check run, and
/// answers it.
pub fn postular(
    convenio: &Convenio,
    conn: &mut DbConnection,
    rules: &Rules,
    pedido: &Pedido,
    hoy: NaiveDate,
) -> Result<Postulacion, ApiError> {
    postular_por(convenio, None, conn, rules, pedido, hoy)
}

/// [`postular`], recording the console official who took it (`usuario`).
pub fn postular_por(
    convenio: &Convenio,
    usuario: Option<Run>,
    conn: &mut DbConnection,
    rules: &Rules,
    pedido: &Pedido,
    hoy: NaiveDate,
) -> Result<Postulacion, ApiError> {
    check_programa(convenio, rules, &pedido.programa)?;
    let cut = comuna_propia(convenio)?;
    check_forma(pedido)?;
    en_comuna(conn, pedido.run, cut, |fuera| {
        if fuera {
            ApiError::fuera_de_ambito()
        } else {
            ApiError::no_encontrado()
        }
    })?;
    for (i, c) in pedido.causantes.iter().enumerate() {
        en_comuna(conn, c.run, cut, |fuera| {
            errores::causante_no_encontrado(i, fuera)
        })?;
    }
    let now = store::now_us();
    let id = PostulacionId::new().to_string();
    let causantes: Vec<CausanteFila> = pedido
        .causantes
        .iter()
        .enumerate()
        .map(|(i, c)| CausanteFila {
            postulacion_id: id.clone(),
            orden: i as i32,
            run: c.run.numero() as i32,
            tipo: c.tipo.clone(),
        })
        .collect();
    let mut fila = PostulacionFila {
        id: id.clone(),
        programa: pedido.programa.clone(),
        run: pedido.run.numero() as i32,
        cut: cut.to_string(),
        convenio: convenio.id.to_string(),
        usuario: usuario.map(|u| u.to_string()),
        estado: "postulada".into(),
        puntaje: None,
        fecha_postulacion: hoy,
        decreto_folio: None,
        motivo_cierre: None,
        corrida: 1,
        version: 0,
        creada_us: now,
        actualizada_us: now,
    };
    let s = verificacion::snapshot(conn, &fila, &causantes, hoy)?;
    let resultado = rules
        .verificar(&pedido.programa, &s)
        .ok_or_else(|| ApiError::programa_desconocido(&pedido.programa))?;
    fila.estado = verificacion::estado_por(&fila.estado, &resultado).to_owned();
    fila.puntaje = s.persona.puntaje.map(|p| i32::from(p.value()));
    let chequeos = verificacion::filas(&id, 1, &resultado, now);
    match store::insertar(conn, &fila, &causantes, &chequeos) {
        Ok(()) => Ok(vista(&fila, &causantes, &chequeos)),
        // The unique index on open postulations per person, program and comuna: the other one
        // is this comuna's own, so saying so discloses nothing beyond it.
        Err(diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::UniqueViolation,
            _,
        )) => Err(errores::en_curso()),
        Err(e) => Err(e.into()),
    }
}

/// A postulation of the agreement's comuna by its id as sent; any other does not exist.
fn leer(
    convenio: &Convenio,
    conn: &mut DbConnection,
    id: &str,
) -> Result<PostulacionFila, ApiError> {
    let id = PostulacionId::parse(id).map_err(|_| errores::no_encontrada())?;
    let fila = store::leer(conn, &id.to_string())?.ok_or_else(errores::no_encontrada)?;
    let propia = convenio.comuna().is_some_and(|c| c.as_str() == fila.cut);
    if !propia || !programas_concedidos(convenio).contains(&fila.programa.as_str()) {
        return Err(errores::no_encontrada());
    }
    Ok(fila)
}

/// The postulation with its checks run again now.
fn al_dia(
    conn: &mut DbConnection,
    rules: &Rules,
    fila: PostulacionFila,
    hoy: NaiveDate,
) -> Result<Postulacion, ApiError> {
    let (fila, chequeos) = verificacion::reverificar(conn, rules, fila, hoy)?;
    let causantes = store::causantes(conn, &fila.id)?;
    Ok(vista(&fila, &causantes, &chequeos))
}

/// ConsultarPostulacion: a postulation of the comuna, its checks run again.
pub fn consultar(
    convenio: &Convenio,
    conn: &mut DbConnection,
    rules: &Rules,
    id: &str,
    hoy: NaiveDate,
) -> Result<Postulacion, ApiError> {
    let fila = leer(convenio, conn, id)?;
    al_dia(conn, rules, fila, hoy)
}

/// An event on a postulation: `desistir` (the person withdraws) or `anular` (the
/// municipality annuls it), each with its reason.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EventoEntrada {
    pub evento: String,
    pub motivo: Option<String>,
}

/// Attempts before a postulation that keeps changing under us is given up on.
const INTENTOS: usize = 5;

/// RegistrarEventoPostulacion: closes an open postulation (not a granted one).
pub fn registrar(
    convenio: &Convenio,
    conn: &mut DbConnection,
    id: &str,
    entrada: &EventoEntrada,
) -> Result<Postulacion, ApiError> {
    let estado = match entrada.evento.as_str() {
        "desistir" => "desistida",
        "anular" => "anulada",
        _ => {
            return Err(errores::evento_invalido(
                "evento is one of desistir, anular",
            ));
        }
    };
    let motivo = entrada.motivo.as_deref().map(str::trim).unwrap_or("");
    if motivo.is_empty() || motivo.chars().count() > MAX_MOTIVO {
        return Err(errores::evento_invalido(format!(
            "motivo is required, at most {MAX_MOTIVO} characters"
        )));
    }
    for _ in 0..INTENTOS {
        let antes = leer(convenio, conn, id)?;
        if !store::ABIERTAS.contains(&antes.estado.as_str()) {
            return Err(errores::transicion_no_permitida(
                &entrada.evento,
                &antes.estado,
            ));
        }
        let mut despues = antes.clone();
        despues.estado = estado.to_owned();
        despues.motivo_cierre = Some(motivo.to_owned());
        despues.version += 1;
        despues.actualizada_us = store::now_us();
        if store::actualizar(conn, antes.version, &despues)? {
            let causantes = store::causantes(conn, &despues.id)?;
            let chequeos = store::chequeos(conn, &despues.id, despues.corrida)?;
            return Ok(vista(&despues, &causantes, &chequeos));
        }
    }
    Err(errores::en_conflicto())
}

/// Postular (REST `POST /api/v1/postulaciones`, SOAP Postular): a write.
pub struct Postular;

impl Op for Postular {
    const OPERATION: Operation = Operation::PostularBeneficio;
    const WRITES: bool = true;
    type Request = Pedido;
    type Response = Postulacion;

    /// The applicant and every causante: one unit each.
    fn subjects(p: &Pedido) -> Vec<Run> {
        std::iter::once(p.run)
            .chain(p.causantes.iter().map(|c| c.run))
            .collect()
    }

    fn handle(
        core: &Core,
        admission: &Admission,
        conn: &mut DbConnection,
        p: Pedido,
    ) -> Result<Postulacion, ApiError> {
        postular_por(
            &admission.convenio,
            admission.usuario,
            conn,
            &core.broker.rules,
            &p,
            admission.today,
        )
    }
}

/// ConsultarPostulacion (REST `GET /api/v1/postulaciones/{id}`, SOAP ConsultarPostulacion): a
/// write, since it stores the checks' new run when an outcome changed.
pub struct ConsultarPostulacion;

impl Op for ConsultarPostulacion {
    const OPERATION: Operation = Operation::PostularBeneficio;
    const WRITES: bool = true;
    /// The postulation's id, as sent.
    type Request = String;
    type Response = Postulacion;

    fn subjects(_: &String) -> Vec<Run> {
        Vec::new()
    }

    fn handle(
        core: &Core,
        admission: &Admission,
        conn: &mut DbConnection,
        id: String,
    ) -> Result<Postulacion, ApiError> {
        consultar(
            &admission.convenio,
            conn,
            &core.broker.rules,
            &id,
            admission.today,
        )
    }
}

/// An event for a postulation, by its id as sent.
#[derive(Debug, Clone)]
pub struct EventoPedido {
    pub id: String,
    pub entrada: EventoEntrada,
}

/// RegistrarEventoPostulacion (REST `POST /api/v1/postulaciones/{id}/eventos`, SOAP
/// RegistrarEventoPostulacion): a write.
pub struct RegistrarEventoPostulacion;

impl Op for RegistrarEventoPostulacion {
    const OPERATION: Operation = Operation::PostularBeneficio;
    const WRITES: bool = true;
    type Request = EventoPedido;
    type Response = Postulacion;

    fn subjects(_: &EventoPedido) -> Vec<Run> {
        Vec::new()
    }

    fn handle(
        _: &Core,
        admission: &Admission,
        conn: &mut DbConnection,
        e: EventoPedido,
    ) -> Result<Postulacion, ApiError> {
        registrar(&admission.convenio, conn, &e.id, &e.entrada)
    }
}
