//! The feed kinds: the columns of each, how one record is checked, the staging table it goes
//! to, the checks that need the registry, and the set-based statements that apply it.

use chrono::NaiveDate;
use diesel::prelude::*;

use super::TipoLote;
use crate::db::DbConnection;
use crate::domain::{Cut, Run};

/// Rows per multi-row INSERT into a staging table on SQLite (8 columns × 2,000 stays under its
/// 32,766 parameters). PostgreSQL stages with COPY.
pub(super) const STAGE_ROWS: usize = 2_000;

const PERSONAS: &[&str] = &[
    "run",
    "nombres",
    "apellido_paterno",
    "apellido_materno",
    "fecha_nacimiento",
    "sexo",
    "nacionalidad",
];
const DEFUNCIONES: &[&str] = &["run", "fecha_defuncion", "comuna"];
const FICHAS: &[&str] = &["run", "puntaje", "fecha_aplicacion"];
const NACIMIENTOS: &[&str] = &[
    "run",
    "nombres",
    "apellido_paterno",
    "apellido_materno",
    "fecha_nacimiento",
    "sexo",
    "run_madre",
];

pub(super) fn columnas(tipo: TipoLote) -> &'static [&'static str] {
    match tipo {
        TipoLote::Personas => PERSONAS,
        TipoLote::Defunciones => DEFUNCIONES,
        TipoLote::Nacimientos => NACIMIENTOS,
        TipoLote::Fichas => FICHAS,
        TipoLote::Suf | TipoLote::Pensiones => super::beneficios::COLUMNAS,
    }
}

pub(super) fn campos(tipo: TipoLote) -> &'static [&'static str] {
    match tipo {
        TipoLote::Personas => &PERSONAS[1..],
        TipoLote::Defunciones => &["fecha_defuncion"],
        TipoLote::Nacimientos => &[
            "nombres",
            "apellido_paterno",
            "apellido_materno",
            "fecha_nacimiento",
            "sexo",
            "nacionalidad",
            "hogar",
        ],
        TipoLote::Fichas => &["puntaje", "quintil", "fecha_aplicacion"],
        TipoLote::Suf | TipoLote::Pensiones => super::beneficios::CAMPOS,
    }
}

pub(super) fn feed(tipo: TipoLote) -> TipoLote {
    tipo
}

diesel::table! {
    lote_stage_personas (linea) {
        linea -> BigInt,
        run -> Integer,
        nombres -> Text,
        apellido_paterno -> Text,
        apellido_materno -> Text,
        fecha_nacimiento -> Date,
        sexo -> Text,
        nacionalidad -> Text,
        valores -> Text,
    }
}

diesel::table! {
    lote_stage_nacimientos (linea) {
        linea -> BigInt,
        run -> Integer,
        nombres -> Text,
        apellido_paterno -> Text,
        apellido_materno -> Text,
        fecha_nacimiento -> Date,
        sexo -> Text,
        run_madre -> Integer,
        valores -> Text,
    }
}

diesel::table! {
    lote_stage_defunciones (linea) {
        linea -> BigInt,
        run -> Integer,
        fecha_defuncion -> Date,
        comuna -> Text,
        valores -> Text,
    }
}

diesel::table! {
    lote_stage_fichas (linea) {
        linea -> BigInt,
        run -> Integer,
        puntaje -> Integer,
        fecha_aplicacion -> Date,
        valores -> Text,
    }
}

#[derive(Insertable)]
#[diesel(table_name = lote_stage_personas, treat_none_as_default_value = false)]
pub(super) struct PersonaFila {
    linea: i64,
    run: i32,
    nombres: String,
    apellido_paterno: String,
    apellido_materno: String,
    fecha_nacimiento: NaiveDate,
    sexo: String,
    nacionalidad: String,
    valores: String,
}

#[derive(Insertable)]
#[diesel(table_name = lote_stage_nacimientos, treat_none_as_default_value = false)]
pub(super) struct NacimientoFila {
    linea: i64,
    run: i32,
    nombres: String,
    apellido_paterno: String,
    apellido_materno: String,
    fecha_nacimiento: NaiveDate,
    sexo: String,
    run_madre: i32,
    valores: String,
}

#[derive(Insertable)]
#[diesel(table_name = lote_stage_defunciones, treat_none_as_default_value = false)]
pub(super) struct DefuncionFila {
    linea: i64,
    run: i32,
    fecha_defuncion: NaiveDate,
    comuna: String,
    valores: String,
}

#[derive(Insertable)]
#[diesel(table_name = lote_stage_fichas, treat_none_as_default_value = false)]
pub(super) struct FichaFila {
    linea: i64,
    run: i32,
    puntaje: i32,
    fecha_aplicacion: NaiveDate,
    valores: String,
}

/// The valid records read so far and not yet staged.
pub(super) enum Filas {
    Personas(Vec<PersonaFila>),
    Defunciones(Vec<DefuncionFila>),
    Nacimientos(Vec<NacimientoFila>),
    Fichas(Vec<FichaFila>),
    Beneficios(TipoLote, Vec<super::beneficios::BeneficioFila>),
}

impl Filas {
    pub fn new(tipo: TipoLote) -> Filas {
        match tipo {
            TipoLote::Personas => Filas::Personas(Vec::with_capacity(STAGE_ROWS)),
            TipoLote::Defunciones => Filas::Defunciones(Vec::with_capacity(STAGE_ROWS)),
            TipoLote::Nacimientos => Filas::Nacimientos(Vec::with_capacity(STAGE_ROWS)),
            TipoLote::Fichas => Filas::Fichas(Vec::with_capacity(STAGE_ROWS)),
            TipoLote::Suf | TipoLote::Pensiones => {
                Filas::Beneficios(tipo, Vec::with_capacity(STAGE_ROWS))
            }
        }
    }

    pub fn len(&self) -> usize {
        match self {
            Filas::Personas(v) => v.len(),
            Filas::Defunciones(v) => v.len(),
            Filas::Nacimientos(v) => v.len(),
            Filas::Fichas(v) => v.len(),
            Filas::Beneficios(_, v) => v.len(),
        }
    }

    /// Drops the rows buffered after the first `len` (a record found to be a duplicate).
    pub fn truncate(&mut self, len: usize) {
        match self {
            Filas::Personas(v) => v.truncate(len),
            Filas::Defunciones(v) => v.truncate(len),
            Filas::Nacimientos(v) => v.truncate(len),
            Filas::Fichas(v) => v.truncate(len),
            Filas::Beneficios(_, v) => v.truncate(len),
        }
    }

    /// Writes the buffered rows to the staging table and empties the buffer.
    pub fn stage(&mut self, conn: &mut DbConnection) -> QueryResult<()> {
        macro_rules! bulk {
            ($table:expr, $rows:expr) => {{
                if !$rows.is_empty() {
                    match conn {
                        DbConnection::Sqlite(c) => {
                            diesel::insert_into($table).values(&*$rows).execute(c)?;
                        }
                        DbConnection::Pg(c) => {
                            diesel::copy_from($table)
                                .from_insertable(&*$rows)
                                .execute(c)?;
                        }
                    }
                    $rows.clear();
                }
            }};
        }
        match self {
            Filas::Personas(rows) => bulk!(lote_stage_personas::table, rows),
            Filas::Defunciones(rows) => bulk!(lote_stage_defunciones::table, rows),
            Filas::Nacimientos(rows) => bulk!(lote_stage_nacimientos::table, rows),
            Filas::Fichas(rows) => bulk!(lote_stage_fichas::table, rows),
            Filas::Beneficios(_, rows) => {
                bulk!(super::beneficios::lote_stage_beneficios::table, rows)
            }
        }
        Ok(())
    }
}

/// Why one record was rejected: a stable code and a message.
pub(super) type Falla = (&'static str, String);

/// Checks one record (its fields in the kind's column order) and buffers it; returns its RUN
/// (for the duplicate check, done by the caller before buffering is final).
pub(super) fn parse(filas: &mut Filas, linea: u64, campos: &[&str]) -> Result<Run, Falla> {
    let run = parse_run(campos[0])?;
    let linea = linea as i64;
    match filas {
        Filas::Personas(rows) => {
            let persona = Persona::parse(campos)?;
            let nacionalidad = campos[6].trim();
            if nacionalidad.len() != 2 || !nacionalidad.bytes().all(|b| b.is_ascii_uppercase()) {
                return Err((
                    "NACIONALIDAD_INVALIDA",
                    "nacionalidad must be an ISO 3166 alpha-2 code such as CL".to_owned(),
                ));
            }
            let valores = persona.valores(&[("nacionalidad", nacionalidad)]);
            let Persona {
                nombres,
                apellido_paterno,
                apellido_materno,
                fecha_nacimiento,
                sexo,
            } = persona;
            rows.push(PersonaFila {
                linea,
                run: run.numero() as i32,
                nombres,
                apellido_paterno,
                apellido_materno,
                fecha_nacimiento,
                sexo,
                nacionalidad: nacionalidad.to_owned(),
                valores,
            });
        }
        Filas::Nacimientos(rows) => {
            let persona = Persona::parse(campos)?;
            let madre =
                Run::parse(campos[6]).map_err(|e| ("RUN_INVALIDO", format!("run_madre: {e}")))?;
            if madre == run {
                return Err((
                    "RUN_INVALIDO",
                    "run_madre is the newborn's own RUN".to_owned(),
                ));
            }
            let valores =
                persona.valores(&[("nacionalidad", "CL"), ("run_madre", &madre.to_string())]);
            let Persona {
                nombres,
                apellido_paterno,
                apellido_materno,
                fecha_nacimiento,
                sexo,
            } = persona;
            rows.push(NacimientoFila {
                linea,
                run: run.numero() as i32,
                nombres,
                apellido_paterno,
                apellido_materno,
                fecha_nacimiento,
                sexo,
                run_madre: madre.numero() as i32,
                valores,
            });
        }
        Filas::Beneficios(tipo, rows) => {
            rows.push(super::beneficios::parse(
                *tipo,
                linea,
                run.numero() as i32,
                campos,
                fecha,
            )?);
        }
        Filas::Fichas(rows) => {
            let puntaje = crate::domain::Puntaje::parse(campos[1])
                .map_err(|e| ("PUNTAJE_INVALIDO", format!("puntaje: {e}")))?;
            let fecha_aplicacion = fecha("fecha_aplicacion", campos[2])?;
            let valores = serde_json::json!({
                "puntaje": puntaje.value(),
                "quintil": puntaje.quintil().number(),
                "fecha_aplicacion": fecha_aplicacion,
            })
            .to_string();
            rows.push(FichaFila {
                linea,
                run: run.numero() as i32,
                puntaje: i32::from(puntaje.value()),
                fecha_aplicacion,
                valores,
            });
        }
        Filas::Defunciones(rows) => {
            let fecha_defuncion = fecha("fecha_defuncion", campos[1])?;
            let comuna = Cut::parse(campos[2])
                .map_err(|e| ("COMUNA_DESCONOCIDA", format!("comuna: {e}")))?;
            let valores = serde_json::json!({
                "fecha_defuncion": fecha_defuncion,
                "comuna": comuna.as_str(),
            })
            .to_string();
            rows.push(DefuncionFila {
                linea,
                run: run.numero() as i32,
                fecha_defuncion,
                comuna: comuna.as_str().to_owned(),
                valores,
            });
        }
    }
    Ok(run)
}

/// What a person's record and a birth's share, in columns 1 to 5: names, birth date and sex.
struct Persona {
    nombres: String,
    apellido_paterno: String,
    apellido_materno: String,
    fecha_nacimiento: NaiveDate,
    sexo: String,
}

impl Persona {
    fn parse(campos: &[&str]) -> Result<Persona, Falla> {
        Ok(Persona {
            nombres: texto("nombres", campos[1])?,
            apellido_paterno: texto("apellido_paterno", campos[2])?,
            apellido_materno: texto("apellido_materno", campos[3])?,
            fecha_nacimiento: fecha("fecha_nacimiento", campos[4])?,
            sexo: match campos[5].trim() {
                s @ ("F" | "M") => s.to_owned(),
                _ => return Err(("SEXO_INVALIDO", "sexo must be F or M".to_owned())),
            },
        })
    }

    /// The values the record sets, with the kind's own `more`, as its provenance keeps them.
    fn valores(&self, more: &[(&str, &str)]) -> String {
        let mut valores = serde_json::json!({
            "nombres": self.nombres,
            "apellido_paterno": self.apellido_paterno,
            "apellido_materno": self.apellido_materno,
            "fecha_nacimiento": self.fecha_nacimiento,
            "sexo": self.sexo,
        });
        for (k, v) in more {
            valores[*k] = serde_json::Value::from(*v);
        }
        valores.to_string()
    }
}

fn parse_run(text: &str) -> Result<Run, Falla> {
    Run::parse(text).map_err(|e| ("RUN_INVALIDO", format!("run: {e}")))
}

/// Longest text field accepted (names).
const MAX_TEXTO: usize = 100;

fn texto(campo: &str, text: &str) -> Result<String, Falla> {
    let text = text.trim();
    if text.is_empty() {
        return Err(("CAMPO_VACIO", format!("{campo} is empty")));
    }
    if text.chars().count() > MAX_TEXTO || text.chars().any(char::is_control) {
        return Err((
            "CAMPO_INVALIDO",
            format!("{campo} must be at most {MAX_TEXTO} characters, without control characters"),
        ));
    }
    Ok(text.to_owned())
}

fn fecha(campo: &str, text: &str) -> Result<NaiveDate, Falla> {
    let date = NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d").map_err(|_| {
        (
            "FECHA_INVALIDA",
            format!("{campo} must be a date YYYY-MM-DD"),
        )
    })?;
    let today = crate::broker::local_today();
    if date > today || date < NaiveDate::from_ymd_opt(1850, 1, 1).unwrap_or(date) {
        return Err((
            "FECHA_INVALIDA",
            format!("{campo} must lie between 1850-01-01 and today"),
        ));
    }
    Ok(date)
}

/// Creates the kind's staging table on this connection (temporary: invisible to every other
/// connection, gone with the connection). On SQLite it is kept on disk, not in memory.
pub(super) fn prepare(conn: &mut DbConnection, tipo: TipoLote) -> QueryResult<()> {
    use diesel::connection::SimpleConnection;
    drop_stage(conn, tipo)?;
    if let DbConnection::Sqlite(c) = conn {
        // Staging on disk, and no memory-mapped reads of the registry while a batch applies,
        // so that memory stays flat however large the batch and the registry are. Set before
        // the batch's transaction: SQLite cannot change `temp_store` inside one.
        c.batch_execute("PRAGMA temp_store = FILE; PRAGMA mmap_size = 0;")?;
    }
    let columns = match tipo {
        TipoLote::Personas => {
            "run INTEGER NOT NULL, nombres TEXT NOT NULL, apellido_paterno TEXT NOT NULL, \
             apellido_materno TEXT NOT NULL, fecha_nacimiento DATE NOT NULL, sexo TEXT NOT NULL, \
             nacionalidad TEXT NOT NULL"
        }
        TipoLote::Defunciones => {
            "run INTEGER NOT NULL, fecha_defuncion DATE NOT NULL, comuna TEXT NOT NULL"
        }
        TipoLote::Nacimientos => {
            "run INTEGER NOT NULL, nombres TEXT NOT NULL, apellido_paterno TEXT NOT NULL, \
             apellido_materno TEXT NOT NULL, fecha_nacimiento DATE NOT NULL, sexo TEXT NOT NULL, \
             run_madre INTEGER NOT NULL"
        }
        TipoLote::Fichas => {
            "run INTEGER NOT NULL, puntaje INTEGER NOT NULL, fecha_aplicacion DATE NOT NULL"
        }
        TipoLote::Suf | TipoLote::Pensiones => super::beneficios::STAGE_COLUMNAS,
    };
    conn.batch_execute(&format!(
        "CREATE TEMPORARY TABLE {} (linea BIGINT PRIMARY KEY NOT NULL, {columns}, valores TEXT NOT NULL);",
        stage_name(tipo)
    ))?;
    let sql = crate::eventos::Sql::de(conn);
    conn.batch_execute(&sql.tabla_temporal(super::eventos::TEMPORAL))
}

pub(super) fn drop_stage(conn: &mut DbConnection, tipo: TipoLote) -> QueryResult<()> {
    use diesel::connection::SimpleConnection;
    conn.batch_execute(&format!(
        "DROP TABLE IF EXISTS {}; DROP TABLE IF EXISTS {};",
        stage_name(tipo),
        super::eventos::TEMPORAL
    ))?;
    if let DbConnection::Sqlite(c) = conn {
        // Back to the serving settings of `db::conn` (`SQLITE_PRAGMAS`).
        c.batch_execute("PRAGMA temp_store = MEMORY; PRAGMA mmap_size = 2147418112;")?;
    }
    Ok(())
}

pub(super) fn stage_name(tipo: TipoLote) -> &'static str {
    match tipo {
        TipoLote::Personas => "lote_stage_personas",
        TipoLote::Defunciones => "lote_stage_defunciones",
        TipoLote::Nacimientos => "lote_stage_nacimientos",
        TipoLote::Fichas => "lote_stage_fichas",
        TipoLote::Suf | TipoLote::Pensiones => super::beneficios::STAGE,
    }
}

/// A check that needs the registry: the SQL condition over the staged row `s` (and the person
/// `p` with its RUN, if any), its code and message.
pub(super) struct Cruce {
    pub codigo: &'static str,
    pub motivo: &'static str,
    pub condicion: std::borrow::Cow<'static, str>,
}

/// The checks against the registry of a batch of `tipo` sent under an agreement scoped to
/// `alcance` (if any); they run in order, each over the records the earlier ones kept.
pub(super) fn cruces(tipo: TipoLote, alcance: Option<crate::domain::Ambito>) -> Vec<Cruce> {
    match tipo {
        TipoLote::Fichas => return super::fichas::cruces(alcance),
        TipoLote::Suf | TipoLote::Pensiones => return super::beneficios::cruces(),
        _ => {}
    }
    cruces_fijos(tipo)
        .iter()
        .map(|c| Cruce {
            codigo: c.codigo,
            motivo: c.motivo,
            condicion: c.condicion.clone(),
        })
        .collect()
}

fn cruces_fijos(tipo: TipoLote) -> &'static [Cruce] {
    match tipo {
        TipoLote::Personas | TipoLote::Fichas | TipoLote::Suf | TipoLote::Pensiones => &[],
        TipoLote::Nacimientos => &[
            Cruce {
                codigo: "RUN_EXISTENTE",
                motivo: "the registry already holds a person with this RUN",
                condicion: std::borrow::Cow::Borrowed("p.run IS NOT NULL"),
            },
            Cruce {
                codigo: "MADRE_SIN_HOGAR",
                motivo: "run_madre is not a member of any household in the registry",
                condicion: std::borrow::Cow::Borrowed(
                    "NOT EXISTS (SELECT 1 FROM integrantes i WHERE i.run = s.run_madre)",
                ),
            },
            Cruce {
                codigo: "NACIMIENTO_ANTES_QUE_MADRE",
                motivo: "fecha_nacimiento is not after the mother's fecha_nacimiento",
                condicion: std::borrow::Cow::Borrowed(
                    "s.fecha_nacimiento <= (SELECT m.fecha_nacimiento FROM personas m \
                     WHERE m.run = s.run_madre)",
                ),
            },
        ],
        TipoLote::Defunciones => &[
            Cruce {
                codigo: "RUN_DESCONOCIDO",
                motivo: "the registry holds no person with this RUN",
                condicion: std::borrow::Cow::Borrowed("p.run IS NULL"),
            },
            Cruce {
                codigo: "DEFUNCION_ANTES_DE_NACIMIENTO",
                motivo: "fecha_defuncion is before the person's fecha_nacimiento in the registry",
                condicion: std::borrow::Cow::Borrowed("s.fecha_defuncion < p.fecha_nacimiento"),
            },
        ],
    }
}

/// The statements that apply the staged lines `range` (over `s`) of batch `lote`, sent as `envio`: the
/// registry change and the provenance rows.
pub(super) fn aplicar(tipo: TipoLote, envio: &super::Envio, lote: i64, range: &str) -> Vec<String> {
    let stage = stage_name(tipo);
    let mut statements = match tipo {
        TipoLote::Fichas => super::fichas::aplicar(stage, range),
        TipoLote::Suf | TipoLote::Pensiones => super::beneficios::aplicar(tipo, range),
        TipoLote::Personas => vec![format!(
            "INSERT INTO personas (run, nombres, apellido_paterno, apellido_materno, \
             fecha_nacimiento, sexo, nacionalidad) \
             SELECT s.run, s.nombres, s.apellido_paterno, s.apellido_materno, s.fecha_nacimiento, \
             s.sexo, s.nacionalidad FROM {stage} s WHERE {range} \
             ON CONFLICT (run) DO UPDATE SET nombres = excluded.nombres, \
             apellido_paterno = excluded.apellido_paterno, \
             apellido_materno = excluded.apellido_materno, \
             fecha_nacimiento = excluded.fecha_nacimiento, sexo = excluded.sexo, \
             nacionalidad = excluded.nacionalidad"
        )],
        TipoLote::Nacimientos => {
            super::nacimientos::aplicar(stage, range, lote, &envio.convenio, &envio.revision)
        }
        TipoLote::Defunciones => vec![
            format!(
                "UPDATE personas SET fecha_defuncion = (SELECT s.fecha_defuncion FROM {stage} s \
                 WHERE s.run = personas.run) \
                 WHERE run IN (SELECT s.run FROM {stage} s WHERE {range})"
            ),
            // Benefits end on the day of death.
            format!(
                "UPDATE beneficios SET estado = 'extinguido', fecha_termino = (SELECT \
                 s.fecha_defuncion FROM {stage} s WHERE s.run = beneficios.run) \
                 WHERE estado <> 'extinguido' \
                 AND run IN (SELECT s.run FROM {stage} s WHERE {range})"
            ),
        ],
    };
    statements.push(format!(
        "INSERT INTO procedencia (run, lote_id, valores) \
         SELECT s.run, {lote}, s.valores FROM {stage} s WHERE {range}"
    ));
    statements
}

/// The PostgreSQL statement that serialises the new ids a kind numbers itself, if any: fichas
/// take TrabajarEncuestaje's folio lock, benefits their own.
pub(super) fn bloqueo(tipo: TipoLote) -> Option<String> {
    match tipo {
        TipoLote::Fichas => Some(format!(
            "SELECT pg_advisory_xact_lock({})",
            crate::db::FOLIO_LOCK
        )),
        TipoLote::Suf | TipoLote::Pensiones => Some(super::beneficios::bloqueo()),
        TipoLote::Personas | TipoLote::Defunciones | TipoLote::Nacimientos => None,
    }
}
