//! The emergency registry (docs/emergencias.md): the operator declares an emergency and its
//! affected comunas (DeclararEmergencia); municipalities register the affected households,
//! by origin (an affected comuna) or by where they are sheltered, and the aid they receive
//! (RegistrarDamnificados); anyone granted it reads the emergency's report, small counts
//! suppressed (InformeEmergencia). Once closed, nothing under an emergency is written again;
//! its records and report stay readable.
//!
//! Scope: a record exists for an agreement when its origin or its destination lies within the
//! agreement's scope; any other answers exactly like an unknown id (`NO_ENCONTRADO`, audited
//! as `FUERA_DE_AMBITO`). The report is national and the same for every agreement.

pub mod catalogo;
mod errores;
pub mod informe;
pub mod store;
mod vista;

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::Deserialize;

use self::store::{AyudaFila, EmergenciaFila, HogarFila};
pub use self::vista::{Emergencias, RegistrosDamnificados};
use crate::broker::Admission;
use crate::catalog::Operation;
pub use crate::catalog::modulos::emergencias::{
    Ayuda, CeldaEmergencia, DECLARAR, Emergencia, INFORME, InformeEmergencia, REGISTRAR,
    RegistroDamnificado,
};
use crate::convenios::Convenio;
use crate::db::DbConnection;
use crate::domain::{Cut, Run};
use crate::error::ApiError;
use crate::ops::pagina::Pagina;
use crate::ops::{Core, Op};

/// Most records on one page of a list, and the default.
pub const MAX_POR_PAGINA: u32 = 100;
pub const POR_PAGINA: u32 = 20;

/// A declaration as a transport received it.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct DeclaracionEntrada {
    pub nombre: String,
    /// `erupcion`, `terremoto`, `tsunami`, `incendio`, `inundacion` or `otra`.
    pub tipo: String,
    /// The affected comunas (CUT, five digits), 1 to 60.
    pub comunas: Vec<String>,
    /// `YYYY-MM-DD`, not after today; today when absent.
    pub fecha_inicio: Option<String>,
}

/// A close as a transport received it.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CierreEntrada {
    /// `YYYY-MM-DD`, from the start to today; today when absent.
    pub fecha_termino: Option<String>,
}

/// An affected household as a transport received it.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct HogarEntrada {
    /// The head of household's RUN (`12345678-5`).
    pub run: String,
    /// Persons in the household, the head included (1 to 30).
    pub integrantes: u32,
    /// Where it lived: one of the emergency's affected comunas.
    pub comuna_origen: String,
    /// Where it is sheltered now.
    pub comuna_destino: String,
    /// `albergue`, `familiares`, `propia`, `arriendo` or `otro`.
    pub alojamiento: String,
    /// `sin_dano`, `menor`, `mayor`, `inhabitable` or `destruida`.
    pub dano: String,
    /// Of `agua`, `alimentos`, `abrigo`, `alojamiento`, `salud`, `enseres`, `vivienda`.
    #[serde(default)]
    pub necesidades: Vec<String>,
}

/// An aid delivery as a transport received it.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AyudaEntrada {
    /// `alimentos`, `agua`, `abrigo`, `kit_higiene`, `colchones`, `enseres`, `bono`,
    /// `subsidio_arriendo` or `vivienda_emergencia`.
    pub tipo: String,
    /// Units delivered (1 to 1000).
    pub cantidad: u32,
    /// `YYYY-MM-DD`, not after today; today when absent.
    pub fecha: Option<String>,
}

/// A date sent as text: `YYYY-MM-DD`, not after `hoy` (and not before `desde`), else
/// `EMERGENCIA_INVALIDA` naming `campo`; `hoy` when absent.
fn fecha(
    text: Option<&str>,
    campo: &str,
    desde: Option<NaiveDate>,
    hoy: NaiveDate,
) -> Result<NaiveDate, ApiError> {
    let Some(text) = text.map(str::trim).filter(|t| !t.is_empty()) else {
        return Ok(hoy);
    };
    let date = NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .map_err(|_| errores::invalida(campo, format!("{campo} is a date, YYYY-MM-DD")))?;
    if date > hoy {
        return Err(errores::invalida(campo, format!("{campo} is after today")));
    }
    if let Some(desde) = desde.filter(|d| date < *d) {
        return Err(errores::invalida(
            campo,
            format!("{campo} is before the emergency's start ({desde})"),
        ));
    }
    Ok(date)
}

/// A comuna code sent as text, else `EMERGENCIA_INVALIDA` naming `campo`.
fn comuna(text: &str, campo: &str) -> Result<Cut, ApiError> {
    Cut::parse(text.trim()).map_err(|e| errores::invalida(campo, format!("{campo}: {e}")))
}

/// The emergency by its id as sent.
fn leer(conn: &mut DbConnection, id: &str) -> Result<EmergenciaFila, ApiError> {
    if id.len() > catalogo::MAX_ID {
        return Err(errores::emergencia_no_encontrada());
    }
    store::emergencia(conn, id)?.ok_or_else(errores::emergencia_no_encontrada)
}

/// Takes an active emergency for a write under it: `EMERGENCIA_CERRADA` once it is closed.
fn tomar(conn: &mut DbConnection, id: &str) -> Result<EmergenciaFila, ApiError> {
    let fila = leer(conn, id)?;
    if store::tomar(conn, &fila.id)? {
        Ok(fila)
    } else {
        Err(errores::cerrada())
    }
}

fn con_comunas(conn: &mut DbConnection, fila: &EmergenciaFila) -> Result<Emergencia, ApiError> {
    let comunas = store::comunas(conn, &fila.id)?;
    Ok(vista::emergencia(fila, &comunas))
}

/// Declares an emergency.
pub fn declarar(
    convenio: &Convenio,
    conn: &mut DbConnection,
    entrada: &DeclaracionEntrada,
    hoy: NaiveDate,
) -> Result<Emergencia, ApiError> {
    let nombre = entrada.nombre.trim();
    if nombre.is_empty() || nombre.chars().count() > catalogo::MAX_NOMBRE {
        return Err(errores::invalida(
            "nombre",
            format!(
                "nombre is required, at most {} characters",
                catalogo::MAX_NOMBRE
            ),
        ));
    }
    let tipo = catalogo::de(&catalogo::TIPOS, &entrada.tipo).ok_or_else(|| {
        errores::invalida(
            "tipo",
            format!("tipo is one of {}", catalogo::TIPOS.join(", ")),
        )
    })?;
    if entrada.comunas.is_empty() || entrada.comunas.len() > catalogo::MAX_COMUNAS {
        return Err(errores::invalida(
            "comunas",
            format!("comunas names 1 to {} comunas", catalogo::MAX_COMUNAS),
        ));
    }
    let mut comunas: Vec<String> = Vec::new();
    for (i, text) in entrada.comunas.iter().enumerate() {
        let campo = format!("comunas[{i}]");
        let cut = comuna(text, &campo)?.to_string();
        if comunas.contains(&cut) {
            return Err(errores::invalida(&campo, format!("{campo} is named twice")));
        }
        comunas.push(cut);
    }
    comunas.sort();
    let fecha_inicio = fecha(entrada.fecha_inicio.as_deref(), "fechaInicio", None, hoy)?;
    let fila = EmergenciaFila {
        id: catalogo::id_emergencia(chrono::Datelike::year(&fecha_inicio)),
        nombre: nombre.to_owned(),
        tipo: tipo.to_owned(),
        fecha_inicio,
        fecha_termino: None,
        estado: "activa".into(),
        declarada_por: convenio.id.to_string(),
        cerrada_por: None,
        declarada_us: store::now_us(),
        cerrada_us: None,
        version: 0,
    };
    store::insertar_emergencia(conn, &fila, &comunas)?;
    Ok(vista::emergencia(&fila, &comunas))
}

/// Closes an emergency: from then on every write under it is `EMERGENCIA_CERRADA`.
pub fn cerrar(
    convenio: &Convenio,
    conn: &mut DbConnection,
    id: &str,
    entrada: &CierreEntrada,
    hoy: NaiveDate,
) -> Result<Emergencia, ApiError> {
    let fila = leer(conn, id)?;
    if fila.estado != "activa" {
        return Err(errores::cerrada());
    }
    let termino = fecha(
        entrada.fecha_termino.as_deref(),
        "fechaTermino",
        Some(fila.fecha_inicio),
        hoy,
    )?;
    if !store::cerrar(conn, &fila.id, termino, &convenio.id.to_string())? {
        return Err(errores::cerrada());
    }
    let fila = leer(conn, id)?;
    con_comunas(conn, &fila)
}

/// Whether a record lies within the agreement's scope (its origin or its destination).
fn en_ambito(convenio: &Convenio, fila: &HogarFila) -> bool {
    convenio.en_ambito(&fila.cut_origen) || convenio.en_ambito(&fila.cut_destino)
}

/// A record of the emergency by its id as sent, if the agreement may see it.
fn registro(
    convenio: &Convenio,
    conn: &mut DbConnection,
    emergencia: &str,
    id: &str,
) -> Result<HogarFila, ApiError> {
    if id.len() > catalogo::MAX_ID {
        return Err(errores::registro_no_encontrado());
    }
    match store::hogar(conn, emergencia, id)? {
        Some(fila) if en_ambito(convenio, &fila) => Ok(fila),
        Some(_) => Err(ApiError {
            audit_code: Some(crate::error::ErrorCode::FueraDeAmbito),
            ..errores::registro_no_encontrado()
        }),
        None => Err(errores::registro_no_encontrado()),
    }
}

fn con_ayudas(conn: &mut DbConnection, fila: &HogarFila) -> Result<RegistroDamnificado, ApiError> {
    let ayudas = store::ayudas(conn, std::slice::from_ref(&fila.id))?;
    Ok(vista::registro(fila, &ayudas))
}

/// Registers an affected household.
pub fn registrar_hogar(
    convenio: &Convenio,
    conn: &mut DbConnection,
    emergencia: &str,
    run: Run,
    entrada: &HogarEntrada,
) -> Result<RegistroDamnificado, ApiError> {
    let emergencia = tomar(conn, emergencia)?;
    if !(1..=catalogo::MAX_INTEGRANTES).contains(&entrada.integrantes) {
        return Err(errores::invalida(
            "integrantes",
            format!("integrantes is 1 to {}", catalogo::MAX_INTEGRANTES),
        ));
    }
    let origen = comuna(&entrada.comuna_origen, "comunaOrigen")?.to_string();
    let destino = comuna(&entrada.comuna_destino, "comunaDestino")?.to_string();
    if !store::comunas(conn, &emergencia.id)?.contains(&origen) {
        return Err(errores::comuna_no_afectada());
    }
    if !convenio.en_ambito(&origen) && !convenio.en_ambito(&destino) {
        return Err(errores::fuera_de_ambito());
    }
    let alojamiento =
        catalogo::de(&catalogo::ALOJAMIENTOS, &entrada.alojamiento).ok_or_else(|| {
            errores::invalida(
                "alojamiento",
                format!(
                    "alojamiento is one of {}",
                    catalogo::ALOJAMIENTOS.join(", ")
                ),
            )
        })?;
    let dano = catalogo::de(&catalogo::DANOS, &entrada.dano).ok_or_else(|| {
        errores::invalida(
            "dano",
            format!("dano is one of {}", catalogo::DANOS.join(", ")),
        )
    })?;
    let mut necesidades = Vec::new();
    for (i, n) in entrada.necesidades.iter().enumerate() {
        let campo = format!("necesidades[{i}]");
        let n = catalogo::de(&catalogo::NECESIDADES, n).ok_or_else(|| {
            errores::invalida(
                &campo,
                format!("{campo} is one of {}", catalogo::NECESIDADES.join(", ")),
            )
        })?;
        if necesidades.contains(&n) {
            return Err(errores::invalida(&campo, format!("{campo} is named twice")));
        }
        necesidades.push(n);
    }
    necesidades.sort_by_key(|n| catalogo::NECESIDADES.iter().position(|x| x == n));
    let numero = run.numero() as i32;
    // Refused only for a record the agreement may see (its own, or one whose origin or
    // destination is of its territory): whether another municipality registered this head
    // elsewhere is a fact about a person outside its scope.
    if store::de_jefe(conn, &emergencia.id, numero)?
        .iter()
        .any(|f| f.convenio == convenio.id.as_str() || en_ambito(convenio, f))
    {
        return Err(errores::ya_registrado());
    }
    let fila = HogarFila {
        id: catalogo::id_registro(),
        emergencia_id: emergencia.id.clone(),
        run_jefe: numero,
        hogar_id: crate::ops::ficha::hogar_de(conn, run)?.map(|h| h.hogar_id),
        integrantes: entrada.integrantes as i32,
        cut_origen: origen,
        cut_destino: destino,
        alojamiento: alojamiento.to_owned(),
        dano: dano.to_owned(),
        necesidades: necesidades.join(","),
        convenio: convenio.id.to_string(),
        registrado_us: store::now_us(),
    };
    match store::insertar_hogar(conn, &fila) {
        Ok(()) => Ok(vista::registro(&fila, &[])),
        // Registered by another request of this agreement between the check and the insert.
        Err(diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::UniqueViolation,
            _,
        )) => Err(errores::ya_registrado()),
        Err(e) => Err(e.into()),
    }
}

/// Records an aid delivery to a household the agreement may see.
pub fn registrar_ayuda(
    convenio: &Convenio,
    conn: &mut DbConnection,
    emergencia: &str,
    id: &str,
    entrada: &AyudaEntrada,
    hoy: NaiveDate,
) -> Result<RegistroDamnificado, ApiError> {
    let emergencia = tomar(conn, emergencia)?;
    let fila = registro(convenio, conn, &emergencia.id, id)?;
    let tipo = catalogo::de(&catalogo::AYUDAS, &entrada.tipo).ok_or_else(|| {
        errores::invalida(
            "tipo",
            format!("tipo is one of {}", catalogo::AYUDAS.join(", ")),
        )
    })?;
    if !(1..=catalogo::MAX_CANTIDAD).contains(&entrada.cantidad) {
        return Err(errores::invalida(
            "cantidad",
            format!("cantidad is 1 to {}", catalogo::MAX_CANTIDAD),
        ));
    }
    let fecha = fecha(
        entrada.fecha.as_deref(),
        "fecha",
        Some(emergencia.fecha_inicio),
        hoy,
    )?;
    store::insertar_ayuda(
        conn,
        &AyudaFila {
            id: catalogo::id_ayuda(),
            registro_id: fila.id.clone(),
            tipo: tipo.to_owned(),
            cantidad: entrada.cantidad as i32,
            fecha,
            convenio: convenio.id.to_string(),
            registrada_us: store::now_us(),
        },
    )?;
    con_ayudas(conn, &fila)
}

/// One page of the emergency's records the agreement may see.
pub fn listar_registros(
    convenio: &Convenio,
    conn: &mut DbConnection,
    emergencia: &str,
    pagina: Pagina,
) -> Result<RegistrosDamnificados, ApiError> {
    let emergencia = leer(conn, emergencia)?;
    let (filas, total) = store::hogares(
        conn,
        &emergencia.id,
        convenio.ambito_prefijo(),
        pagina.offset(),
        pagina.por_pagina,
    )?;
    let ids: Vec<String> = filas.iter().map(|f| f.id.clone()).collect();
    let ayudas = store::ayudas(conn, &ids)?;
    let registros = filas
        .iter()
        .map(|f| {
            let suyas: Vec<AyudaFila> = ayudas
                .iter()
                .filter(|a| a.registro_id == f.id)
                .cloned()
                .collect();
            vista::registro(f, &suyas)
        })
        .collect();
    Ok(RegistrosDamnificados {
        emergencia: emergencia.id,
        pagina: pagina.pagina,
        por_pagina: pagina.por_pagina,
        total,
        registros,
    })
}

/// The emergency's report at `nivel`.
pub fn informar(
    conn: &mut DbConnection,
    emergencia: &str,
    nivel: informe::Nivel,
) -> Result<InformeEmergencia, ApiError> {
    let emergencia = leer(conn, emergencia)?;
    let afectadas = store::comunas(conn, &emergencia.id)?;
    let (registros, entregas) = un_hogar_por_jefe(
        store::origenes(conn, &emergencia.id)?,
        store::entregas(conn, &emergencia.id)?,
    );
    let tabla = informe::tabla(&afectadas, &registros, &entregas);
    Ok(vista::informe(&emergencia.id, nivel, &tabla))
}

/// `(record, origin)` or `(record, aid type)`, as the report's table reads them.
type Par = (String, String);

/// A head registered by two municipalities (each outside the other's scope) is one household:
/// counted once, at its first record's origin (`origenes` come oldest first), with the aid of
/// every record of it.
fn un_hogar_por_jefe(
    origenes: Vec<(String, String, i32)>,
    entregas: Vec<Par>,
) -> (Vec<Par>, Vec<Par>) {
    let mut primero: BTreeMap<i32, String> = BTreeMap::new();
    let mut canonico: BTreeMap<String, String> = BTreeMap::new();
    let mut registros = Vec::new();
    for (id, origen, jefe) in origenes {
        let uno = primero.entry(jefe).or_insert_with(|| id.clone()).clone();
        if uno == id {
            registros.push((id.clone(), origen));
        }
        canonico.insert(id, uno);
    }
    let entregas = entregas
        .into_iter()
        .filter_map(|(registro, tipo)| Some((canonico.get(&registro)?.clone(), tipo)))
        .collect();
    (registros, entregas)
}

/// A page asked for, from the texts a transport received.
pub fn pagina(pagina: Option<&str>, por_pagina: Option<&str>) -> Result<Pagina, ApiError> {
    Pagina::parse(pagina, por_pagina, POR_PAGINA, MAX_POR_PAGINA)
}

/// The report's level, from the text a transport received (`comuna` when absent).
pub fn nivel(text: Option<&str>) -> Result<informe::Nivel, ApiError> {
    match text.map(str::trim).filter(|t| !t.is_empty()) {
        None => Ok(informe::Nivel::Comuna),
        Some(text) => informe::Nivel::parse(text).ok_or_else(|| {
            let nombres = informe::Nivel::TODOS.map(informe::Nivel::as_str);
            ApiError::nivel_invalido(format!("nivel is one of {}", nombres.join(", ")))
        }),
    }
}

// The operations, one `Op` each (REST and SOAP call the same).

/// DeclararEmergencia (REST `POST /api/v1/emergencias`, SOAP DeclararEmergencia).
pub struct Declarar;

impl Op for Declarar {
    const OPERATION: Operation = Operation::Modulo(DECLARAR);
    const WRITES: bool = true;
    type Request = DeclaracionEntrada;
    type Response = Emergencia;

    fn subjects(_: &DeclaracionEntrada) -> Vec<Run> {
        Vec::new()
    }

    fn handle(
        _: &Core,
        admission: &Admission,
        conn: &mut DbConnection,
        entrada: DeclaracionEntrada,
    ) -> Result<Emergencia, ApiError> {
        declarar(&admission.convenio, conn, &entrada, admission.today)
    }
}

/// An emergency by its id as sent (REST `GET /api/v1/emergencias/{id}`, SOAP
/// ConsultarEmergencia), under DeclararEmergencia.
pub struct ConsultarEmergencia;

impl Op for ConsultarEmergencia {
    const OPERATION: Operation = Operation::Modulo(DECLARAR);
    type Request = String;
    type Response = Emergencia;

    fn subjects(_: &String) -> Vec<Run> {
        Vec::new()
    }

    fn handle(
        _: &Core,
        _: &Admission,
        conn: &mut DbConnection,
        id: String,
    ) -> Result<Emergencia, ApiError> {
        let fila = leer(conn, &id)?;
        con_comunas(conn, &fila)
    }
}

/// Every emergency, or those in one state (REST `GET /api/v1/emergencias?estado=`, SOAP
/// ListarEmergencias), under DeclararEmergencia.
pub struct ListarEmergencias;

impl Op for ListarEmergencias {
    const OPERATION: Operation = Operation::Modulo(DECLARAR);
    /// The state asked for, checked by the transport.
    type Request = Option<&'static str>;
    type Response = Emergencias;

    fn subjects(_: &Option<&'static str>) -> Vec<Run> {
        Vec::new()
    }

    fn handle(
        _: &Core,
        _: &Admission,
        conn: &mut DbConnection,
        estado: Option<&'static str>,
    ) -> Result<Emergencias, ApiError> {
        let mut emergencias = Vec::new();
        for fila in store::emergencias(conn, estado)? {
            emergencias.push(con_comunas(conn, &fila)?);
        }
        Ok(Emergencias { emergencias })
    }
}

/// The state a list asks for, from the text a transport received.
pub fn estado(text: Option<&str>) -> Result<Option<&'static str>, ApiError> {
    match text.map(str::trim).filter(|t| !t.is_empty()) {
        None => Ok(None),
        Some(t) => catalogo::de(&catalogo::ESTADOS, t)
            .map(Some)
            .ok_or_else(|| {
                ApiError::new(
                    crate::error::ErrorCode::EstadoDesconocido,
                    format!("estado is one of {}", catalogo::ESTADOS.join(", ")),
                )
            }),
    }
}

/// A close of an emergency, by its id as sent.
#[derive(Debug, Clone)]
pub struct PedidoCierre {
    pub id: String,
    pub entrada: CierreEntrada,
}

/// REST `POST /api/v1/emergencias/{id}/cierre`, SOAP CerrarEmergencia, under
/// DeclararEmergencia.
pub struct CerrarEmergencia;

impl Op for CerrarEmergencia {
    const OPERATION: Operation = Operation::Modulo(DECLARAR);
    const WRITES: bool = true;
    type Request = PedidoCierre;
    type Response = Emergencia;

    fn subjects(_: &PedidoCierre) -> Vec<Run> {
        Vec::new()
    }

    fn handle(
        _: &Core,
        admission: &Admission,
        conn: &mut DbConnection,
        p: PedidoCierre,
    ) -> Result<Emergencia, ApiError> {
        cerrar(
            &admission.convenio,
            conn,
            &p.id,
            &p.entrada,
            admission.today,
        )
    }
}

/// A household to register in an emergency; its head's RUN already parsed.
#[derive(Debug, Clone)]
pub struct PedidoHogar {
    pub emergencia: String,
    pub run: Run,
    pub entrada: HogarEntrada,
}

impl PedidoHogar {
    /// The typed request: the head's RUN must be valid (`RUN_INVALIDO`).
    pub fn parse(emergencia: String, entrada: HogarEntrada) -> Result<PedidoHogar, ApiError> {
        let run = Run::parse(entrada.run.trim()).map_err(ApiError::run_invalido)?;
        Ok(PedidoHogar {
            emergencia,
            run,
            entrada,
        })
    }
}

/// RegistrarDamnificados: a household (REST `POST /api/v1/emergencias/{id}/hogares`, SOAP
/// RegistrarHogarDamnificado).
pub struct RegistrarHogar;

impl Op for RegistrarHogar {
    const OPERATION: Operation = Operation::Modulo(REGISTRAR);
    const WRITES: bool = true;
    type Request = PedidoHogar;
    type Response = RegistroDamnificado;

    fn subjects(p: &PedidoHogar) -> Vec<Run> {
        vec![p.run]
    }

    fn handle(
        _: &Core,
        admission: &Admission,
        conn: &mut DbConnection,
        p: PedidoHogar,
    ) -> Result<RegistroDamnificado, ApiError> {
        registrar_hogar(&admission.convenio, conn, &p.emergencia, p.run, &p.entrada)
    }
}

/// An aid delivery to a record of an emergency.
#[derive(Debug, Clone)]
pub struct PedidoAyuda {
    pub emergencia: String,
    pub registro: String,
    pub entrada: AyudaEntrada,
}

/// RegistrarDamnificados: aid (REST `POST /api/v1/emergencias/{id}/hogares/{registro}/ayudas`,
/// SOAP RegistrarAyuda).
pub struct RegistrarAyuda;

impl Op for RegistrarAyuda {
    const OPERATION: Operation = Operation::Modulo(REGISTRAR);
    const WRITES: bool = true;
    type Request = PedidoAyuda;
    type Response = RegistroDamnificado;

    fn subjects(_: &PedidoAyuda) -> Vec<Run> {
        Vec::new()
    }

    fn handle(
        _: &Core,
        admission: &Admission,
        conn: &mut DbConnection,
        p: PedidoAyuda,
    ) -> Result<RegistroDamnificado, ApiError> {
        registrar_ayuda(
            &admission.convenio,
            conn,
            &p.emergencia,
            &p.registro,
            &p.entrada,
            admission.today,
        )
    }
}

/// A record of an emergency, by ids as sent.
#[derive(Debug, Clone)]
pub struct ClaveRegistro {
    pub emergencia: String,
    pub registro: String,
}

/// RegistrarDamnificados: one record (REST `GET /api/v1/emergencias/{id}/hogares/{registro}`,
/// SOAP ConsultarHogarDamnificado).
pub struct ConsultarRegistro;

impl Op for ConsultarRegistro {
    const OPERATION: Operation = Operation::Modulo(REGISTRAR);
    type Request = ClaveRegistro;
    type Response = RegistroDamnificado;

    fn subjects(_: &ClaveRegistro) -> Vec<Run> {
        Vec::new()
    }

    fn handle(
        _: &Core,
        admission: &Admission,
        conn: &mut DbConnection,
        k: ClaveRegistro,
    ) -> Result<RegistroDamnificado, ApiError> {
        let emergencia = leer(conn, &k.emergencia)?;
        let fila = registro(&admission.convenio, conn, &emergencia.id, &k.registro)?;
        con_ayudas(conn, &fila)
    }
}

/// A page of an emergency's records.
#[derive(Debug, Clone)]
pub struct PaginaRegistros {
    pub emergencia: String,
    pub pagina: Pagina,
}

/// RegistrarDamnificados: the records within scope (REST
/// `GET /api/v1/emergencias/{id}/hogares`, SOAP ListarHogaresDamnificados).
pub struct ListarRegistros;

impl Op for ListarRegistros {
    const OPERATION: Operation = Operation::Modulo(REGISTRAR);
    type Request = PaginaRegistros;
    type Response = RegistrosDamnificados;

    fn subjects(_: &PaginaRegistros) -> Vec<Run> {
        Vec::new()
    }

    /// A page discloses its records' heads, each a unit: charged up front like a read of events.
    fn cobro_minimo(p: &PaginaRegistros) -> u64 {
        u64::from(p.pagina.por_pagina)
    }

    fn handle(
        _: &Core,
        admission: &Admission,
        conn: &mut DbConnection,
        p: PaginaRegistros,
    ) -> Result<RegistrosDamnificados, ApiError> {
        listar_registros(&admission.convenio, conn, &p.emergencia, p.pagina)
    }
}

/// The report asked for.
#[derive(Debug, Clone)]
pub struct PedidoInforme {
    pub emergencia: String,
    pub nivel: informe::Nivel,
}

/// InformeEmergencia (REST `GET /api/v1/emergencias/{id}/informe?nivel=`, SOAP
/// InformeEmergencia): aggregates, it names no person.
pub struct Informe;

impl Op for Informe {
    const OPERATION: Operation = Operation::Modulo(INFORME);
    type Request = PedidoInforme;
    type Response = InformeEmergencia;

    fn subjects(_: &PedidoInforme) -> Vec<Run> {
        Vec::new()
    }

    fn handle(
        _: &Core,
        _: &Admission,
        conn: &mut DbConnection,
        p: PedidoInforme,
    ) -> Result<InformeEmergencia, ApiError> {
        informar(conn, &p.emergencia, p.nivel)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_operation_is_registered() {
        for op in [
            <Declarar as Op>::OPERATION,
            <ConsultarEmergencia as Op>::OPERATION,
            <ListarEmergencias as Op>::OPERATION,
            <CerrarEmergencia as Op>::OPERATION,
            <RegistrarHogar as Op>::OPERATION,
            <RegistrarAyuda as Op>::OPERATION,
            <ConsultarRegistro as Op>::OPERATION,
            <ListarRegistros as Op>::OPERATION,
            <Informe as Op>::OPERATION,
        ] {
            assert!(
                Operation::parse(op.name()).is_some(),
                "{op} is not registered"
            );
        }
    }

    #[test]
    fn a_head_registered_twice_is_one_household_with_the_aid_of_both() {
        let t = |a: &str, b: &str| (a.to_owned(), b.to_owned());
        let origenes = vec![
            (t("A", "10401").0, "10401".to_owned(), 7),
            (t("B", "10402").0, "10402".to_owned(), 8),
            (t("C", "10401").0, "10401".to_owned(), 7),
        ];
        let entregas = vec![t("A", "agua"), t("C", "abrigo"), t("B", "agua")];
        let (registros, entregas) = un_hogar_por_jefe(origenes, entregas);
        assert_eq!(registros, [t("A", "10401"), t("B", "10402")]);
        assert_eq!(entregas, [t("A", "agua"), t("A", "abrigo"), t("B", "agua")]);
    }

    #[test]
    fn dates_are_checked() {
        let hoy = NaiveDate::from_ymd_opt(2026, 12, 6).unwrap();
        assert_eq!(fecha(None, "fecha", None, hoy).unwrap(), hoy);
        assert_eq!(
            fecha(Some("2026-12-01"), "fecha", None, hoy).unwrap(),
            NaiveDate::from_ymd_opt(2026, 12, 1).unwrap()
        );
        for bad in ["2026-13-01", "ayer", "2026-12-07"] {
            let e = fecha(Some(bad), "fecha", None, hoy).unwrap_err();
            assert_eq!(e.code, crate::error::ErrorCode::EmergenciaInvalida, "{bad}");
            assert_eq!(e.campo.as_deref(), Some("fecha"));
        }
        let desde = NaiveDate::from_ymd_opt(2026, 12, 2);
        assert!(fecha(Some("2026-12-01"), "fecha", desde, hoy).is_err());
    }

    #[test]
    fn levels_and_states_are_checked() {
        assert_eq!(nivel(Some("provincia")).unwrap(), informe::Nivel::Provincia);
        assert_eq!(
            nivel(Some("pais")).unwrap_err().code,
            crate::error::ErrorCode::NivelInvalido
        );
        assert_eq!(estado(Some("cerrada")).unwrap(), Some("cerrada"));
        assert!(estado(Some("abierta")).is_err());
    }
}
