//! EmitirDecreto and ConsultarDecreto: a municipality's monthly decree per program, and
//! reading decrees (the municipality its own; SUSESO and IPS those of their programs, which is
//! how granted benefits reach them until events exist).
//!
//! Issuing runs in one write transaction with its audit record: the waiting list's checks run
//! again (`postulacion::clasificar`), the verified postulations within the comuna's cupos are
//! granted in priority order, the decree gets its number and random folio, its content is
//! signed, and its lines, the benefits in force (`beneficios`, from the decree month's first
//! day) and the postulations' new states are written. Nothing is written when any step fails.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use diesel::connection::SimpleConnection;
use diesel::prelude::*;

use super::certificados::pdf::PdfError;
use super::decretos::{self, ContenidoDecreto, FolioDecreto, Linea, Periodo, store};
use super::{Core, Op, postulacion};
use crate::broker::Admission;
use crate::catalog::Operation;
use crate::convenios::Convenio;
use crate::db::DbConnection;
use crate::db::schema::{beneficios, hogares, integrantes, personas};
use crate::domain::{Cut, Run};
use crate::error::{ApiError, ErrorCode};
use crate::eventos::{Evento, Origen, Tipo};
use crate::projection::{FieldSet, Project, recortar, revelados};
pub use crate::respuestas::{ComunaRef, Decreto, Decretos, LineaDecreto};

/// Key of the PostgreSQL advisory lock that serialises decrees (their numbers per comuna and
/// year). SQLite needs none: its one writer already is.
const DECRETO_LOCK: i64 = 0x5115_0012;

/// The programs a decree may grant.
pub const PROGRAMAS: [&str; 3] = ["SUF", "PASIS", "SAP"];

/// The fields a decree's PDF carries: granting `pdf` discloses the lines, so the agreement
/// must grant every one of them.
pub const CAMPOS_PDF: [&str; 6] = [
    "lineas.orden",
    "lineas.run",
    "lineas.nombre",
    "lineas.puntaje",
    "lineas.causantes",
    "lineas.monto",
];

impl Project for Decreto {
    fn project(&mut self, grant: &FieldSet) {
        recortar(self, grant);
    }

    fn disclosed(&self) -> BTreeSet<&'static str> {
        revelados(self)
    }

    /// The persons it names, once projected: those of its lines when the lines or the PDF
    /// are sent, nobody otherwise (a decree's heading is no personal data).
    fn subjects(&self) -> Option<Vec<Run>> {
        let names = self.lineas.is_some() || self.pdf.is_some();
        Some(if names {
            self.sujetos.clone()
        } else {
            Vec::new()
        })
    }
}

impl Project for Decretos {
    fn project(&mut self, grant: &FieldSet) {
        for d in &mut self.decretos {
            d.project(grant);
        }
    }

    fn disclosed(&self) -> BTreeSet<&'static str> {
        self.decretos.iter().flat_map(revelados).collect()
    }

    fn subjects(&self) -> Option<Vec<Run>> {
        Some(Vec::new())
    }
}

/// A decree asked for: the comuna, the program and the month.
#[derive(Debug, Clone)]
pub struct Pedido {
    pub cut: Cut,
    pub programa: String,
    pub periodo: Periodo,
}

/// What the transports decode (`POST /municipios/{cut}/decretos`, the console's form).
#[derive(Debug, Clone, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PedidoDecreto {
    pub programa: String,
    /// `YYYY-MM`: the current month or the next.
    pub periodo: String,
}

impl PedidoDecreto {
    pub fn parse(&self, cut: &str) -> Result<Pedido, ApiError> {
        let cut = Cut::parse(cut)
            .map_err(|_| ApiError::solicitud_invalida("cut is not a comuna code (5 digits)"))?;
        let periodo = Periodo::parse(&self.periodo).ok_or_else(|| {
            ApiError::solicitud_invalida("periodo is a month written YYYY-MM (2026-12)")
        })?;
        Ok(Pedido {
            cut,
            programa: self.programa.trim().to_owned(),
            periodo,
        })
    }
}

/// The program must be one a decree grants, and the agreement's grant of `op` must list it.
fn check_programa(convenio: &Convenio, op: Operation, programa: &str) -> Result<(), ApiError> {
    if !PROGRAMAS.contains(&programa) {
        let shown: String = programa.chars().take(40).collect();
        return Err(ApiError::new(
            ErrorCode::ProgramaDesconocido,
            format!("decrees grant SUF, PASIS or SAP, not {shown:?}"),
        ));
    }
    let granted = convenio
        .grant(op)
        .is_some_and(|g| g.programas.as_ref().is_some_and(|p| p.contains(programa)));
    if granted {
        Ok(())
    } else {
        Err(ApiError::no_autorizado(format!(
            "the agreement does not grant {op} for {programa}"
        )))
    }
}

/// The comuna must be the agreement's own (a comuna code is no personal data, so this is said
/// plainly).
fn check_comuna(convenio: &Convenio, cut: Cut) -> Result<(), ApiError> {
    if convenio.comuna() == Some(&cut) {
        return Ok(());
    }
    // An agreement without a comuna issues no decree (the loader refuses such a grant too).
    Err(ApiError::new(
        ErrorCode::FueraDeAmbito,
        "the agreement only covers its own comuna",
    ))
}

/// The PDF discloses the lines: granted only with them.
fn check_pdf(convenio: &Convenio, op: Operation) -> Result<(), ApiError> {
    let Some(grant) = convenio.grant(op) else {
        return Err(ApiError::no_autorizado(format!(
            "the agreement does not grant {op}"
        )));
    };
    if grant.fields.contains("pdf")
        && let Some(missing) = CAMPOS_PDF.iter().find(|f| !grant.fields.contains(f))
    {
        return Err(ApiError::campo_no_permitido(missing));
    }
    Ok(())
}

/// EmitirDecreto (REST `POST /api/v1/municipios/{cut}/decretos`, the console's "Emitir decreto
/// del mes").
pub struct EmitirDecreto;

impl Op for EmitirDecreto {
    const OPERATION: Operation = Operation::EmitirDecreto;
    const WRITES: bool = true;
    type Request = Pedido;
    type Response = Decreto;

    /// The persons are those the waiting list grants, known only as it runs: they are
    /// charged then ([`Admission::cobrar_personas`]) and named by the answer.
    fn subjects(_: &Pedido) -> Vec<Run> {
        Vec::new()
    }

    fn handle(
        core: &Core,
        admission: &Admission,
        conn: &mut DbConnection,
        p: Pedido,
    ) -> Result<Decreto, ApiError> {
        let convenio = &admission.convenio;
        check_programa(convenio, Operation::EmitirDecreto, &p.programa)?;
        check_comuna(convenio, p.cut)?;
        check_pdf(convenio, Operation::EmitirDecreto)?;
        let hoy = admission.today;
        let actual = Periodo::of(hoy);
        let siguiente = Periodo::of(actual.inicio() + chrono::Months::new(1));
        if p.periodo != actual && p.periodo != siguiente {
            return Err(ApiError::solicitud_invalida(format!(
                "periodo must be the current month ({actual}) or the next ({siguiente})"
            )));
        }
        let keys = core
            .certificados
            .keys
            .as_deref()
            .filter(|k| k.can_sign())
            .ok_or_else(|| {
                tracing::error!("decree asked of a node without a document signing key");
                ApiError::unavailable()
            })?;
        if matches!(conn, DbConnection::Pg(_)) {
            conn.batch_execute(&format!("SELECT pg_advisory_xact_lock({DECRETO_LOCK})"))?;
        }
        let periodo = p.periodo.to_string();
        if let Some(folio) = store::folio_de(conn, p.cut.as_str(), &p.programa, &periodo)? {
            return Err(ApiError::new(
                ErrorCode::DecretoYaEmitido,
                format!(
                    "the decree of {} for {periodo} was issued: {folio}",
                    p.programa
                ),
            ));
        }
        let rules = &core.broker.rules;
        let clasificacion = postulacion::clasificar(
            conn,
            rules,
            p.cut.as_str(),
            &p.programa,
            p.periodo.anio,
            hoy,
        )?;
        if clasificacion.otorgables.is_empty() {
            return Err(ApiError::new(
                ErrorCode::DecretoSinOtorgables,
                format!(
                    "no verified postulation to {} within the comuna's cupos for {}",
                    p.programa, p.periodo.anio
                ),
            ));
        }
        let monto = rules.monto(&p.programa).ok_or_else(|| {
            tracing::error!(programa = %p.programa, "no monto for a program a decree grants");
            ApiError::unavailable()
        })?;
        let mut lineas = Vec::with_capacity(clasificacion.otorgables.len());
        // Each person paid, and who is paid for them (a SUF causante's payee).
        let mut concedidos: Vec<(Run, Option<Run>)> = Vec::new();
        for (i, fila) in clasificacion.otorgables.iter().enumerate() {
            let run = run_of(fila.run)?;
            let causantes: Vec<Run> = postulacion::store::causantes(conn, &fila.id)?
                .iter()
                .map(|c| run_of(c.run))
                .collect::<Result<_, _>>()?;
            let n = causantes.len().max(1) as u32;
            // SUF pays each causante; the other programs, the person.
            if p.programa == "SUF" && !causantes.is_empty() {
                concedidos.extend(causantes.iter().map(|c| (*c, (*c != run).then_some(run))));
            } else {
                concedidos.push((run, None));
            }
            lineas.push(Linea {
                orden: i as u32 + 1,
                run,
                nombre: nombre(conn, run)?,
                puntaje: fila.puntaje.map(|v| v.clamp(0, i32::from(u16::MAX)) as u16),
                causantes: n,
                monto: monto * i64::from(n),
                postulacion: fila.id.clone(),
            });
        }
        // Every person it changes is charged and named: those in its lines, and the causantes
        // whose benefit it puts in force.
        let mut sujetos: Vec<Run> = lineas.iter().map(|l| l.run).collect();
        sujetos.extend(
            concedidos
                .iter()
                .map(|(r, _)| *r)
                .filter(|r| !sujetos.contains(r))
                .collect::<Vec<_>>(),
        );
        admission.cobrar_personas(sujetos.len() as u64)?;
        let emitido = DateTime::from_timestamp(Utc::now().timestamp(), 0).unwrap_or_default();
        let contenido = ContenidoDecreto {
            folio: FolioDecreto::generate().map_err(|e| {
                tracing::error!(error = %e, "no random folio for a decree");
                ApiError::unavailable()
            })?,
            emitido,
            emisor: convenio.id.to_string(),
            comuna: p.cut,
            programa: p.programa.clone(),
            periodo: p.periodo,
            numero: store::siguiente_numero(conn, p.cut.as_str(), p.periodo.anio)?,
            otorgadas: lineas.len() as u32,
            lineas_sha256: decretos::contenido::lineas_sha256(&lineas),
        };
        let firmado = keys.sign_text(contenido.canonical()).ok_or_else(|| {
            tracing::error!("a decree could not be signed");
            ApiError::unavailable()
        })?;
        let payload = firmado.encode();
        let usuario = admission.usuario.map(|r| r.to_string());
        store::insert(conn, &contenido, &lineas, &payload, usuario.as_deref())?;
        conceder(conn, &contenido, &concedidos, monto)?;
        let otorgadas: Vec<String> = lineas.iter().map(|l| l.postulacion.clone()).collect();
        let en_espera: Vec<String> = clasificacion
            .en_espera
            .iter()
            .map(|f| f.id.clone())
            .collect();
        // A postulation closed since it was ranked (desistida, anulada) is not marked: the
        // decree would grant it anyway, so the whole decree is given up (nothing written).
        let marcadas =
            postulacion::marcar(conn, &otorgadas, "otorgada", Some(contenido.folio.as_str()))?;
        if marcadas != otorgadas.len() {
            tracing::warn!("a postulation changed while its decree was issued: decree not issued");
            return Err(ApiError::unavailable());
        }
        postulacion::marcar(conn, &en_espera, "en_espera", None)?;
        // Last: `EVENTOS_LOCK` after every lock and row the decree takes.
        registrar_otorgados(conn, &contenido, &concedidos)?;
        let url = format!("{}{}", core.certificados.url_base, contenido.folio);
        let pdf = decretos::pdf::render(&contenido, &lineas, &payload, &firmado.code(), &url)
            .map_err(pdf_error)?;
        let mut decreto = respuesta(
            &contenido,
            &lineas,
            Some(en_espera.len() as u32),
            &firmado.code(),
            &url,
            payload,
            Some(pdf),
        );
        decreto.sujetos = sujetos;
        Ok(decreto)
    }
}

fn pdf_error(e: PdfError) -> ApiError {
    tracing::error!(error = %e, "a decree's PDF could not be rendered");
    ApiError::unavailable()
}

fn run_of(numero: i32) -> Result<Run, ApiError> {
    Run::from_numero(numero as u32).map_err(|e| {
        tracing::error!(error = %e, "a stored RUN does not parse");
        ApiError::unavailable()
    })
}

fn nombre(conn: &mut DbConnection, run: Run) -> Result<String, ApiError> {
    let (n, p, m): (String, String, String) = personas::table
        .find(run.numero() as i32)
        .select((
            personas::nombres,
            personas::apellido_paterno,
            personas::apellido_materno,
        ))
        .first(conn)?;
    Ok([n, p, m].join(" ").trim().to_owned())
}

/// The benefits in force from the decree month's first day: one row per person paid, with the
/// decree that granted it (ids numbered under the feeds' lock, like theirs).
fn conceder(
    conn: &mut DbConnection,
    c: &ContenidoDecreto,
    concedidos: &[(Run, Option<Run>)],
    monto: i64,
) -> Result<(), ApiError> {
    if matches!(conn, DbConnection::Pg(_)) {
        conn.batch_execute(&super::lotes::beneficio_bloqueo())?;
    }
    let base: Option<i64> = beneficios::table
        .select(diesel::dsl::max(beneficios::id))
        .first(conn)?;
    let monto = i32::try_from(monto).map_err(|_| ApiError::unavailable())?;
    for (i, (run, _)) in concedidos.iter().enumerate() {
        diesel::insert_into(beneficios::table)
            .values((
                beneficios::id.eq(base.unwrap_or(0) + 1 + i as i64),
                beneficios::run.eq(run.numero() as i32),
                beneficios::programa.eq(&c.programa),
                beneficios::estado.eq("vigente"),
                beneficios::monto.eq(monto),
                beneficios::fecha_inicio.eq(c.periodo.inicio()),
                beneficios::fuente.eq("MUNICIPALIDAD"),
                beneficios::decreto_folio.eq(c.folio.as_str()),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// A `beneficio_otorgado` for each benefit the decree put in force, in the order granted, in
/// the beneficiary's household comuna (docs/eventos.md).
fn registrar_otorgados(
    conn: &mut DbConnection,
    c: &ContenidoDecreto,
    concedidos: &[(Run, Option<Run>)],
) -> Result<(), ApiError> {
    let mut lista = Vec::with_capacity(concedidos.len());
    for (run, pagador) in concedidos {
        let hogar: Option<(i64, String)> = integrantes::table
            .inner_join(hogares::table)
            .filter(integrantes::run.eq(run.numero() as i32))
            .select((hogares::id, hogares::cut))
            .first(conn)
            .optional()?;
        lista.push(Evento {
            tipo: Tipo::BeneficioOtorgado,
            run: *run,
            run_relacionado: *pagador,
            hogar_id: hogar.as_ref().map(|(id, _)| *id),
            cut: hogar.map(|(_, cut)| cut),
            datos: serde_json::json!({
                "programa": c.programa,
                "estado": "vigente",
                "fechaInicio": c.periodo.inicio(),
                "decreto": c.folio.as_str(),
            }),
            origen: Origen::Decreto,
            origen_id: c.folio.as_str().to_owned(),
        });
    }
    crate::eventos::registrar_todos(conn, &lista)?;
    Ok(())
}

/// The whole decree; projection cuts it down to the grant.
fn respuesta(
    c: &ContenidoDecreto,
    lineas: &[Linea],
    en_espera: Option<u32>,
    codigo: &str,
    url: &str,
    payload: String,
    pdf: Option<Vec<u8>>,
) -> Decreto {
    Decreto {
        sujetos: lineas.iter().map(|l| l.run).collect(),
        folio: Some(c.folio.to_string()),
        numero: Some(c.numero),
        anio: u32::try_from(c.periodo.anio).ok(),
        comuna: Some(ComunaRef {
            codigo: Some(c.comuna.to_string()),
            nombre: Some(c.comuna.comuna().nombre.clone()),
        }),
        programa: Some(c.programa.clone()),
        periodo: Some(c.periodo.to_string()),
        emitido: Some(c.emitido),
        emisor: Some(c.emisor.clone()),
        otorgadas: Some(c.otorgadas),
        en_espera,
        lineas_sha256: Some(c.lineas_sha256.clone()),
        codigo: Some(codigo.to_owned()),
        url_verificacion: Some(url.to_owned()),
        payload: Some(payload),
        pdf,
        lineas: Some(
            lineas
                .iter()
                .map(|l| LineaDecreto {
                    orden: Some(l.orden),
                    run: Some(l.run.to_string()),
                    nombre: Some(l.nombre.clone()),
                    puntaje: l.puntaje,
                    causantes: Some(l.causantes),
                    monto: Some(l.monto),
                    postulacion: Some(l.postulacion.clone()),
                })
                .collect(),
        ),
    }
}

/// ConsultarDecreto (REST `GET /api/v1/decretos/{folio}`): one decree
/// with its lines and PDF as the grant allows. A municipality reads its comuna's; an agency
/// without ambito, those of the programs its grant lists. Any other folio answers as unknown
/// (folios are random: this says nothing about whether it exists).
pub struct ConsultarDecreto;

impl Op for ConsultarDecreto {
    const OPERATION: Operation = Operation::ConsultarDecreto;
    type Request = FolioDecreto;
    type Response = Decreto;

    fn subjects(_: &FolioDecreto) -> Vec<Run> {
        Vec::new()
    }

    fn handle(
        core: &Core,
        admission: &Admission,
        conn: &mut DbConnection,
        folio: FolioDecreto,
    ) -> Result<Decreto, ApiError> {
        let convenio = &admission.convenio;
        check_pdf(convenio, Operation::ConsultarDecreto)?;
        let desconocido = || {
            ApiError::new(
                ErrorCode::NoEncontrado,
                "the node issued no decree with that folio that the agreement may read",
            )
        };
        let Some(registro) = store::registro(conn, folio.as_str())? else {
            return Err(desconocido());
        };
        // Scope and program first, from the stored row: a folio the agreement may not read
        // answers as unknown whatever else is true of it.
        let in_scope = convenio.en_ambito(&registro.cut);
        let granted = convenio
            .grant(Operation::ConsultarDecreto)
            .is_some_and(|g| {
                g.programas
                    .as_ref()
                    .is_some_and(|p| p.contains(&registro.programa))
            });
        if !in_scope || !granted {
            return Err(desconocido());
        }
        let Some(keys) = core.certificados.keys.as_deref() else {
            tracing::error!("decree asked of a node without the document public key");
            return Err(ApiError::unavailable());
        };
        let firmado =
            super::certificados::firma::Firmado::verify(&registro.payload, keys.public()).ok();
        let Some((firmado, c)) = firmado.and_then(|f| {
            let c = ContenidoDecreto::parse(&f.text)?;
            Some((f, c))
        }) else {
            tracing::error!(folio = %folio, "stored decree fails its signature check");
            return Err(ApiError::unavailable());
        };
        let lineas = store::lineas(conn, folio.as_str())?;
        let grant = convenio.grant(Operation::ConsultarDecreto);
        let sees =
            |prefix: &str| grant.is_some_and(|g| g.fields.iter().any(|f| f.starts_with(prefix)));
        // The persons it names are read: one unit each, as any lookup of them.
        if sees("lineas.") || sees("pdf") {
            admission.cobrar_personas(lineas.len() as u64)?;
        }
        let url = format!("{}{}", core.certificados.url_base, c.folio);
        // Rendered only for an agreement granted the PDF.
        let pdf = if sees("pdf") {
            Some(
                decretos::pdf::render(&c, &lineas, &registro.payload, &firmado.code(), &url)
                    .map_err(pdf_error)?,
            )
        } else {
            None
        };
        Ok(respuesta(
            &c,
            &lineas,
            None,
            &firmado.code(),
            &url,
            registro.payload,
            pdf,
        ))
    }
}

/// The decrees of a program and month as a list of headings (no persons): what SUSESO and IPS
/// read to learn which grants are in force, then each decree by its folio.
pub fn listar(
    conn: &mut DbConnection,
    convenio: &Convenio,
    programa: &str,
    periodo: Periodo,
) -> Result<Decretos, ApiError> {
    check_programa(convenio, Operation::ConsultarDecreto, programa)?;
    use crate::db::schema::decretos as d;
    let mut q = d::table
        .filter(
            d::programa
                .eq(programa)
                .and(d::periodo.eq(periodo.to_string())),
        )
        .into_boxed();
    if let Some(prefijo) = convenio.ambito_prefijo() {
        q = q.filter(d::cut.like(format!("{prefijo}%")));
    }
    let filas: Vec<(String, String, i32, i32, i64, String)> = q
        .order(d::cut.asc())
        .select((
            d::folio,
            d::cut,
            d::numero,
            d::otorgadas,
            d::emitido_us,
            d::convenio,
        ))
        .load(conn)?;
    let decretos = filas
        .into_iter()
        .map(|(folio, cut, numero, otorgadas, emitido_us, emisor)| {
            let comuna = Cut::parse(&cut).ok();
            Decreto {
                folio: Some(folio),
                numero: Some(numero as u32),
                anio: u32::try_from(periodo.anio).ok(),
                comuna: Some(ComunaRef {
                    codigo: Some(cut),
                    nombre: comuna.map(|c| c.comuna().nombre.clone()),
                }),
                programa: Some(programa.to_owned()),
                periodo: Some(periodo.to_string()),
                emitido: DateTime::from_timestamp_micros(emitido_us),
                emisor: Some(emisor),
                otorgadas: Some(otorgadas as u32),
                ..Decreto::default()
            }
        })
        .collect();
    Ok(Decretos { decretos })
}

/// ListarDecretos (REST `GET /api/v1/decretos?programa=&periodo=`), under the grant of
/// ConsultarDecreto.
pub struct ListarDecretos;

/// The program and month listed.
#[derive(Debug, Clone)]
pub struct Lista {
    pub programa: String,
    pub periodo: Periodo,
}

impl Op for ListarDecretos {
    const OPERATION: Operation = Operation::ConsultarDecreto;
    type Request = Lista;
    type Response = Decretos;

    fn subjects(_: &Lista) -> Vec<Run> {
        Vec::new()
    }

    fn handle(
        _: &Core,
        admission: &Admission,
        conn: &mut DbConnection,
        l: Lista,
    ) -> Result<Decretos, ApiError> {
        listar(conn, &admission.convenio, &l.programa, l.periodo)
    }
}
