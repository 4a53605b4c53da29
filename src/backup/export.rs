//! `siis export` and `siis import`: a registry moved between backends (the path from the
//! embedded SQLite default to PostgreSQL), through a folder that holds neither backend's format.
//!
//! The folder holds one gzip file of JSON lines per table (`personas.jsonl.gz`, one row per
//! line, every column by name) and a manifest (`manifest.json`: rows, size and SHA-256 of each
//! file, the migrations the registry had, the audit head and the persons). Records keep their
//! ids and hashes, so the audit chain verifies in the new database as it did in the old.
//!
//! Export reads one snapshot (SQLite: one read transaction, each file's snapshot taken at its
//! first read, in the order registry, by-person index, audit log, so that every write exported
//! has its audit record and the index never runs ahead of the log; PostgreSQL: one repeatable
//! read transaction). Import is all or nothing: into a database whose registry and audit tables
//! are empty, in one transaction that checks every file's digest and row count and the audit
//! chain before it commits.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;

use chrono::{DateTime, NaiveDate, Utc};
use diesel::connection::{DefaultLoadingMode, SimpleConnection};
use diesel::pg::PgRowByRowLoadingMode;
use diesel::prelude::*;
use flate2::Compression;
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{AuditHead, BackupError, MANIFEST, counts, digest, io, set_mode};
use crate::db::{ConnectionManager, DatabaseUrl, DbConnection, DbError};

const FORMAT: u32 = 1;
/// Rows per INSERT (SQLite): within its limit on bound parameters for the widest table. A
/// PostgreSQL COPY takes ten times as many (it binds nothing).
const BATCH: usize = 1_000;
const COPY_BATCH: usize = 10_000;

/// What an export holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExportManifest {
    pub format: u32,
    /// `export`: tells this manifest from a backup's.
    pub kind: String,
    /// The backend it was read from (`sqlite` or `postgres`).
    pub backend: String,
    pub created: DateTime<Utc>,
    pub version: String,
    /// The migrations the registry had (`__diesel_schema_migrations`), oldest first.
    pub migraciones: Vec<String>,
    pub tablas: Vec<TablaExportada>,
    pub audit_head: Option<AuditHead>,
    pub personas: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TablaExportada {
    pub tabla: String,
    pub archivo: String,
    pub filas: u64,
    pub bytes: u64,
    pub sha256: String,
}

/// How import treats a table already holding rows in the target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Must be empty in the target.
    Registro,
    /// The territory catalogue `siis migrate` loads: taken as it is when equal, refused when not.
    Catalogo,
    /// One row (`id`, `hasta`) the migrations write: how far the audit index goes, how far its
    /// rows may be deleted. Set to the exported value (such a mark may only rise).
    Marca,
}

/// Declares each table once: its row type (every column, for reading, writing and JSON), how
/// import treats it, and the code that streams it out and loads it in. Tables are listed in
/// import order (a table after those it refers to).
macro_rules! tablas {
    ($( $tabla:ident : $kind:ident { $($col:ident : $ty:ty),+ $(,)? } )+) => {
        #[expect(non_camel_case_types, reason = "a row type is named as its table")]
        mod filas {
            use super::*;
            $(
                #[derive(Debug, Queryable, Selectable, Insertable, Serialize, Deserialize)]
                #[diesel(table_name = crate::db::schema::$tabla, treat_none_as_default_value = false)]
                #[serde(deny_unknown_fields)]
                pub struct $tabla { $(pub $col: $ty),+ }
            )+
        }

        /// Every table the registry holds, in import order.
        const TABLAS: &[(&str, Kind)] = &[$((stringify!($tabla), Kind::$kind)),+];

        /// Writes every row of `tabla`, in primary-key order, through `put`; returns how many.
        fn export_table(
            conn: &mut DbConnection,
            tabla: &str,
            put: &mut dyn FnMut(&dyn erased::Fila) -> Result<(), BackupError>,
        ) -> Result<u64, BackupError> {
            let mut rows = 0u64;
            match tabla {
                $(stringify!($tabla) => {
                    use crate::db::schema::$tabla::table;
                    // Built in each arm: the selection's type names the backend.
                    macro_rules! query {
                        () => {
                            table
                                .order(diesel::Table::primary_key(&table))
                                .select(filas::$tabla::as_select())
                        };
                    }
                    match conn {
                        DbConnection::Sqlite(c) => {
                            for row in query!().load_iter::<filas::$tabla, DefaultLoadingMode>(c).map_err(DbError::from)? {
                                put(&row.map_err(DbError::from)?)?;
                                rows += 1;
                            }
                        }
                        DbConnection::Pg(c) => {
                            for row in query!().load_iter::<filas::$tabla, PgRowByRowLoadingMode>(c).map_err(DbError::from)? {
                                put(&row.map_err(DbError::from)?)?;
                                rows += 1;
                            }
                        }
                    }
                })+
                _ => unreachable!("{tabla} is not in TABLAS"),
            }
            Ok(rows)
        }

        /// Rows `tabla` holds in the target.
        fn count_table(conn: &mut DbConnection, tabla: &str) -> Result<i64, DbError> {
            Ok(match tabla {
                $(stringify!($tabla) => crate::db::schema::$tabla::table.count().get_result(conn)?,)+
                _ => unreachable!("{tabla} is not in TABLAS"),
            })
        }

        /// Loads the JSON lines of `tabla` from `lines` as its kind says; returns rows read.
        fn import_table(
            conn: &mut DbConnection,
            tabla: &str,
            kind: Kind,
            lines: &mut dyn Iterator<Item = Result<(u64, String), BackupError>>,
            name: &str,
        ) -> Result<u64, BackupError> {
            match tabla {
                $(stringify!($tabla) => {
                    use crate::db::schema::$tabla::table;
                    let mut rows: Vec<filas::$tabla> = Vec::new();
                    let mut read = 0u64;
                    let batch = match conn {
                        DbConnection::Pg(_) => COPY_BATCH,
                        DbConnection::Sqlite(_) => BATCH,
                    };
                    let flush = |conn: &mut DbConnection, rows: &mut Vec<filas::$tabla>| -> Result<(), DbError> {
                        if !rows.is_empty() {
                            match conn {
                                // COPY in binary format: 37 s for 3.8 M rows, 46-60 s with INSERT
                                // (docs/benchmarks.md, *Moving a registry to PostgreSQL*).
                                DbConnection::Pg(c) => diesel::copy_from(table).from_insertable(&*rows).execute(c)?,
                                DbConnection::Sqlite(c) => diesel::insert_into(table).values(&*rows).execute(c)?,
                            };
                            rows.clear();
                        }
                        Ok(())
                    };
                    match kind {
                        Kind::Registro => {
                            for line in lines {
                                let (number, line) = line?;
                                rows.push(parse(name, number, &line)?);
                                read += 1;
                                if rows.len() == batch {
                                    flush(conn, &mut rows)?;
                                }
                            }
                            flush(conn, &mut rows)?;
                        }
                        Kind::Marca => {
                            for line in lines {
                                let (number, line) = line?;
                                let row: filas::$tabla = parse(name, number, &line)?;
                                set_mark(conn, stringify!($tabla), &row, name)?;
                                read += 1;
                            }
                        }
                        Kind::Catalogo => {
                            let mut theirs: Vec<String> = Vec::new();
                            for line in lines {
                                let (number, line) = line?;
                                let row: filas::$tabla = parse(name, number, &line)?;
                                theirs.push(serde_json::to_string(&row).expect("a row serializes"));
                                rows.push(row);
                                read += 1;
                            }
                            let ours: Vec<String> = table
                                .order(diesel::Table::primary_key(&table))
                                .select(filas::$tabla::as_select())
                                .load(conn)
                                .map_err(DbError::from)?
                                .iter()
                                .map(|row| serde_json::to_string(row).expect("a row serializes"))
                                .collect();
                            if ours.is_empty() {
                                for chunk in rows.chunks(BATCH) {
                                    crate::db::on_backend!(conn, |c| diesel::insert_into(table).values(chunk).execute(c)).map_err(DbError::from)?;
                                }
                            } else if ours != theirs {
                                return Err(BackupError::Damaged {
                                    name: name.to_owned(),
                                    problem: format!(
                                        "the territory catalogue differs from the one this node loads ({} rows exported, {} here)",
                                        theirs.len(),
                                        ours.len()
                                    ),
                                });
                            }
                        }
                    }
                    Ok(read)
                })+
                _ => unreachable!("{tabla} is not in TABLAS"),
            }
        }
    };
}

/// A row of any table, as export writes it.
mod erased {
    pub trait Fila {
        fn json(&self) -> String;
    }
    impl<T: serde::Serialize> Fila for T {
        fn json(&self) -> String {
            serde_json::to_string(self).expect("a row serializes")
        }
    }
}

tablas! {
    regiones: Catalogo { codigo: String, nombre: String }
    comunas: Catalogo { cut: String, nombre: String, provincia: String, region: String }
    personas: Registro {
        run: i32, nombres: String, apellido_paterno: String, apellido_materno: String,
        fecha_nacimiento: NaiveDate, sexo: String, nacionalidad: String,
        fecha_defuncion: Option<NaiveDate>,
    }
    hogares: Registro { id: i64, cut: String, direccion: String, version: i32 }
    integrantes: Registro { run: i32, hogar_id: i64, parentesco: String }
    fichas: Registro {
        folio: i64, hogar_id: i64, puntaje: i32, fecha_aplicacion: NaiveDate, cut: String,
        estado: String, modelo: Option<String>, encuestador: Option<String>,
        revision: Option<String>,
    }
    beneficios: Registro {
        id: i64, run: i32, programa: String, estado: String, monto: i32,
        fecha_inicio: NaiveDate, fecha_termino: Option<NaiveDate>, fuente: String,
        decreto_folio: Option<String>,
    }
    certificados: Registro {
        folio: String, tipo: String, run: i32, convenio: String, emitido_us: i64,
        payload: String,
    }
    decretos: Registro {
        folio: String, cut: String, programa: String, periodo: String, anio: i32, numero: i32,
        otorgadas: i32, lineas_sha256: String, payload: String, convenio: String,
        usuario: Option<String>, emitido_us: i64,
    }
    decreto_lineas: Registro {
        folio: String, orden: i32, postulacion_id: String, run: i32, nombre: String,
        puntaje: Option<i32>, causantes: i32, monto: i64,
    }
    encuestajes: Registro {
        id: String, run: i32, cut: String, convenio: String, estado: String,
        visitas_fallidas: i32, fecha_solicitud: NaiveDate, fecha_vencimiento: NaiveDate,
        fecha_visita: Option<NaiveDate>, motivo_anulacion: Option<String>, folio: Option<i64>,
        puntaje: Option<i32>, fecha_aplicacion: Option<NaiveDate>, version: i32,
        creada_us: i64, actualizada_us: i64,
    }
    encuestaje_eventos: Registro {
        encuestaje_id: String, secuencia: i32, evento: String, estado: String,
        fecha: Option<NaiveDate>, motivo: Option<String>, convenio: String, ts_us: i64,
    }
    hogar_eventos: Registro {
        id: String, hogar_id: i64, secuencia: i32, evento: String, run: Option<i32>,
        hogar_destino: Option<i64>, datos: String, motivo: String, convenio: String,
        usuario: Option<String>, marca_revision: i32, ts_us: i64,
    }
    modelos_puntaje: Registro { nombre: String, sha256: String, registrado_us: i64 }
    encuestas: Registro {
        folio: i64, encuestaje_id: String, modelo: String, zona: String, direccion: String,
        tenencia: String, agua: String, saneamiento: String, piezas: i32, convenio: String,
        usuario: Option<String>, creada_us: i64,
    }
    encuesta_integrantes: Registro {
        folio: i64, orden: i32, run: i32, parentesco: String, edad: i32,
        escolaridad_anios: i32, asiste_educacion: bool, salud: String, actividad: String,
        ingreso_trabajo: i64, ingreso_pensiones: i64, ingreso_otros: i64,
    }
    estadisticas_celdas: Registro {
        cut: String, quintil: i32, personas: i64, hogares: i64, fichas: i64,
        suma_puntaje: i64,
    }
    estadisticas_calculo: Registro { id: i32, calculado_en_us: i64, duracion_ms: i64 }
    lotes: Registro {
        id: i64, convenio: String, tipo: String, clave: String, sha256: String,
        formato: String, transporte: String, id_mensaje: Option<String>, leidos: i64,
        aplicados: i64, rechazados: i64, informe: String, recibido_us: i64,
        aplicado_us: i64,
    }
    procedencia: Registro { run: i32, lote_id: i64, valores: String }
    eventos: Registro {
        id: i64, tipo: String, run: i32, run_relacionado: Option<i32>, hogar_id: Option<i64>,
        cut: Option<String>, datos: String, origen: String, origen_id: String,
        registrado_us: i64,
    }
    dci_transacciones: Registro {
        convenio: String, correlation_id: String, transaction_id: String, tipo: String,
        respuestas: String, registrada_us: i64, resultado: Option<String>,
        callback_url: Option<String>, callback_estado: Option<String>, callback_intentos: i32,
        callback_proximo_us: Option<i64>, callback_lease_us: Option<i64>,
        callback_estado_http: Option<i32>, callback_error: Option<String>,
    }
    suscripciones: Registro {
        id: String, convenio: String, tipos: String, entrega: String, url: Option<String>,
        formato: String, con_lista: bool, estado: String, ultima_secuencia: i64,
        creada_us: i64, cerrada_us: Option<i64>, registro_dci: Option<String>,
    }
    suscripcion_runs: Registro { suscripcion_id: String, run: i32 }
    entregas: Registro {
        suscripcion_id: String, secuencia: i64, evento_id: i64, run: i32, estado: String,
        intentos: i32, proximo_us: i64, lease_us: Option<i64>, ultimo_error: Option<String>,
        estado_http: Option<i32>, entregada_us: Option<i64>,
    }
    despacho: Marca { id: i32, hasta: i64 }
    consola_usuarios: Registro { run: i32, convenio: String, rol: String, alta_us: i64 }
    postulaciones: Registro {
        id: String, programa: String, run: i32, cut: String, convenio: String,
        usuario: Option<String>, estado: String, puntaje: Option<i32>,
        fecha_postulacion: NaiveDate, decreto_folio: Option<String>,
        motivo_cierre: Option<String>, corrida: i32, version: i32, creada_us: i64,
        actualizada_us: i64,
    }
    postulacion_causantes: Registro { postulacion_id: String, orden: i32, run: i32, tipo: String }
    postulacion_chequeos: Registro {
        postulacion_id: String, corrida: i32, orden: i32, regla: String, cumple: bool,
        motivo: String, dato: String, ts_us: i64,
    }
    cupos: Registro {
        cut: String, programa: String, anio: i32, total: i32, fijado_por: String, ts_us: i64,
    }
    chs_participaciones: Registro {
        id: String, hogar_id: i64, run_titular: i32, cut: String, programa: String,
        estado: String, fecha_ingreso: NaiveDate, fecha_egreso: Option<NaiveDate>,
        motivo_egreso: Option<String>, apoyo_familiar: String, convenio: String,
        usuario: Option<String>, version: i32, creada_us: i64, actualizada_us: i64,
    }
    chs_condiciones: Registro {
        participacion_id: String, codigo: String, estado: String, fecha: Option<NaiveDate>,
    }
    chs_sesiones: Registro {
        participacion_id: String, numero: i32, fecha: NaiveDate, tipo: String,
        convenio: String, usuario: Option<String>, registrada_us: i64,
    }
    chs_bonos: Registro {
        participacion_id: String, tipo: String, mes: i32, periodo: String, monto: i32,
        estado: String, pagado_us: Option<i64>,
    }
    emergencias: Registro {
        id: String, nombre: String, tipo: String, fecha_inicio: NaiveDate,
        fecha_termino: Option<NaiveDate>, estado: String, declarada_por: String,
        cerrada_por: Option<String>, declarada_us: i64, cerrada_us: Option<i64>, version: i32,
    }
    emergencia_comunas: Registro { emergencia_id: String, cut: String }
    emergencia_hogares: Registro {
        id: String, emergencia_id: String, run_jefe: i32, hogar_id: Option<i64>,
        integrantes: i32, cut_origen: String, cut_destino: String, alojamiento: String,
        dano: String, necesidades: String, convenio: String, registrado_us: i64,
    }
    emergencia_ayudas: Registro {
        id: String, registro_id: String, tipo: String, cantidad: i32, fecha: NaiveDate,
        convenio: String, registrada_us: i64,
    }
    // Chile Crece Contigo (src/modulos/crece_contigo).
    chcc_seguimientos: Registro {
        id: String, run_gestante: i32, run_nino: Option<i32>, cut: String, estado: String,
        fecha_ingreso: NaiveDate, semanas_ingreso: i32, fecha_probable_parto: NaiveDate,
        fecha_nacimiento: Option<NaiveDate>, motivo_egreso: Option<String>, convenio: String,
        version: i32, creado_us: i64, actualizado_us: i64,
    }
    chcc_controles: Registro {
        seguimiento_id: String, orden: i32, fecha: NaiveDate, tipo: String, resultado: String,
        convenio: String, registrado_us: i64,
    }
    chcc_alertas: Registro {
        seguimiento_id: String, orden: i32, codigo: String, fecha: NaiveDate, estado: String,
        convenio: String, registrado_us: i64,
    }
    chcc_derivaciones: Registro {
        id: String, seguimiento_id: String, alerta: Option<String>, sector_destino: String,
        prestacion: String, estado: String, fecha: NaiveDate, fecha_respuesta: Option<NaiveDate>,
        motivo_respuesta: Option<String>, convenio_origen: String,
        convenio_respuesta: Option<String>, version: i32, registrado_us: i64,
        actualizado_us: i64,
    }
    auditoria: Registro {
        id: i64, ts_us: i64, convenio: Option<String>, certificado: Option<String>,
        operacion: String, transporte: String, id_mensaje: String, sujetos: String,
        proposito: Option<String>, campos: String, resultado: String, estado_http: i32,
        latencia_us: i64, hash_anterior: String, hash: String, xroad: Option<String>,
        omitidos: Option<i64>, personas: Option<i64>, usuario: Option<String>,
        nodo: Option<String>,
    }
    auditoria_archivos: Registro {
        hasta: i64, desde: i64, registros: i64, hash_final: String, hash_anterior: String,
        archivo: String, sha256: String, bytes: i64, creado_us: i64,
    }
    auditoria_sujetos: Registro { run: i32, auditoria_id: i64 }
    auditoria_sujetos_hasta: Marca { id: i32, hasta: i64 }
    auditoria_sujetos_archivados: Marca { id: i32, hasta: i64 }
}

/// Sets a mark table's row to the exported one (the migrations wrote it; its triggers refuse a
/// delete and a mark that falls).
fn set_mark(
    conn: &mut DbConnection,
    tabla: &str,
    row: &impl Serialize,
    name: &str,
) -> Result<(), BackupError> {
    let value = serde_json::to_value(row).expect("a row serializes");
    let (Some(id), Some(hasta)) = (value["id"].as_i64(), value["hasta"].as_i64()) else {
        unreachable!("{tabla} is a mark: (id, hasta)");
    };
    // Integers formatted into the statement: nothing from the file reaches it as text.
    let changed = diesel::sql_query(format!(
        "UPDATE {tabla} SET hasta = {hasta} WHERE id = {id}"
    ))
    .execute(conn)
    .map_err(DbError::from)?;
    if changed != 1 {
        return Err(BackupError::Damaged {
            name: name.to_owned(),
            problem: format!("{tabla} has no row {id} to set"),
        });
    }
    Ok(())
}

/// The order export reads the tables in: the registry first, then the by-person index, then
/// the audit log with its archives' registrations (see the module's comment).
fn export_order() -> Vec<&'static str> {
    const LAST: [&str; 5] = [
        "auditoria_sujetos_hasta",
        "auditoria_sujetos_archivados",
        "auditoria_sujetos",
        "auditoria",
        "auditoria_archivos",
    ];
    let mut order: Vec<&str> = TABLAS
        .iter()
        .map(|(t, _)| *t)
        .filter(|t| !LAST.contains(t))
        .collect();
    order.extend(LAST);
    order
}

fn parse<T: serde::de::DeserializeOwned>(
    name: &str,
    number: u64,
    line: &str,
) -> Result<T, BackupError> {
    // Kind and position only: serde's message may quote a value (a RUN, a name).
    serde_json::from_str(line).map_err(|e| BackupError::Damaged {
        name: name.to_owned(),
        problem: format!(
            "line {number}: not a row of this table ({:?} error at column {})",
            e.classify(),
            e.column()
        ),
    })
}

#[derive(diesel::QueryableByName)]
struct Version {
    #[diesel(sql_type = diesel::sql_types::Text)]
    version: String,
}

fn migrations(conn: &mut DbConnection) -> Result<Vec<String>, DbError> {
    let rows: Vec<Version> =
        diesel::sql_query("SELECT version FROM __diesel_schema_migrations ORDER BY version")
            .load(conn)?;
    Ok(rows.into_iter().map(|r| r.version).collect())
}

fn file_of(tabla: &str) -> String {
    format!("{tabla}.jsonl.gz")
}

/// Exports the registry `url` into the new (or empty) folder `out`.
pub fn export(url: &DatabaseUrl, out: &Path) -> Result<ExportManifest, BackupError> {
    super::prepare_out(out)?;
    let mut conn = ConnectionManager::new(url.clone()).open()?;
    let migraciones = migrations(&mut conn)?;
    let expected = crate::db::migration_versions();
    if migraciones != expected {
        return Err(BackupError::Schema(format!(
            "{}: the registry has {} migration(s) and this node {}: run `siis migrate` first",
            url.redacted(),
            migraciones.len(),
            expected.len()
        )));
    }
    let begin = match url {
        DatabaseUrl::Sqlite(_) => "BEGIN",
        DatabaseUrl::Postgres(_) => "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY",
    };
    conn.batch_execute(begin).map_err(DbError::from)?;
    let result = export_tables(&mut conn, out);
    let end = conn.batch_execute("COMMIT").map_err(DbError::from);
    let (tablas, audit_head, personas) = result?;
    end?;
    let manifest = ExportManifest {
        format: FORMAT,
        kind: "export".into(),
        backend: url.backend().to_owned(),
        created: Utc::now(),
        version: env!("CARGO_PKG_VERSION").to_owned(),
        migraciones,
        tablas,
        audit_head,
        personas,
    };
    let text = serde_json::to_string_pretty(&manifest).expect("a manifest serializes");
    let path = out.join(MANIFEST);
    crate::fsperm::write_private(&path, text.as_bytes()).map_err(io(&path))?;
    Ok(manifest)
}

type Exported = (Vec<TablaExportada>, Option<AuditHead>, i64);

fn export_tables(conn: &mut DbConnection, out: &Path) -> Result<Exported, BackupError> {
    let mut tablas = Vec::new();
    for tabla in export_order() {
        let archivo = file_of(tabla);
        let path = out.join(&archivo);
        let file = crate::fsperm::create_private(&path).map_err(io(&path))?;
        let mut gz = GzEncoder::new(std::io::BufWriter::new(file), Compression::fast());
        let filas = export_table(conn, tabla, &mut |row| {
            let mut line = row.json();
            line.push('\n');
            gz.write_all(line.as_bytes()).map_err(io(&path))
        })?;
        let file = gz
            .finish()
            .and_then(|w| w.into_inner().map_err(|e| e.into_error()))
            .map_err(io(&path))?;
        file.sync_all().map_err(io(&path))?;
        set_mode(&path, 0o600)?;
        let (bytes, sha256) = digest(&path)?;
        tablas.push(TablaExportada {
            tabla: tabla.to_owned(),
            archivo,
            filas,
            bytes,
            sha256,
        });
    }
    // Read in the same snapshot as the tables: the counts are those of the files.
    let (audit_head, personas) = counts(conn)?;
    Ok((tablas, audit_head, personas))
}

pub fn read_export_manifest(dir: &Path) -> Result<ExportManifest, BackupError> {
    let path = dir.join(MANIFEST);
    let text = std::fs::read_to_string(&path).map_err(io(&path))?;
    let manifest: ExportManifest = serde_json::from_str(&text)
        .map_err(|e| BackupError::Manifest(path.clone(), e.to_string()))?;
    if manifest.format != FORMAT || manifest.kind != "export" {
        return Err(BackupError::Manifest(
            path,
            format!(
                "{} format {} (this node reads export format {FORMAT})",
                manifest.kind, manifest.format
            ),
        ));
    }
    Ok(manifest)
}

/// Hashes what it reads, so a file is checked in the same pass that loads it.
struct Hashing<R> {
    inner: R,
    hasher: Sha256,
    bytes: u64,
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }
}

/// What [`import`] loaded.
#[derive(Debug, Clone)]
pub struct ImportReport {
    pub manifest: ExportManifest,
    /// Rows loaded per table (the catalogue's are counted though it was already there).
    pub filas: u64,
}

/// Loads an export into the registry `url`: migrates it, then (in one transaction) loads every
/// table, checks each file against the manifest, the audit chain and its head, and commits
/// only when everything holds.
pub fn import(dir: &Path, url: &DatabaseUrl) -> Result<ImportReport, BackupError> {
    let manifest = read_export_manifest(dir)?;
    for tabla in &manifest.tablas {
        if !TABLAS.iter().any(|(t, _)| *t == tabla.tabla) {
            return Err(BackupError::Manifest(
                dir.join(MANIFEST),
                format!("unknown table {}", tabla.tabla),
            ));
        }
    }
    if let Some((missing, _)) = TABLAS
        .iter()
        .find(|(t, _)| !manifest.tablas.iter().any(|m| m.tabla == *t))
    {
        return Err(BackupError::Manifest(
            dir.join(MANIFEST),
            format!("no file for table {missing}"),
        ));
    }
    let mut conn = ConnectionManager::new(url.clone()).open()?;
    crate::db::run_migrations(&mut conn)?;
    let ours = migrations(&mut conn)?;
    if ours != manifest.migraciones {
        return Err(BackupError::Schema(format!(
            "exported with {} migration(s); this node has {}: export and import with the same release",
            manifest.migraciones.len(),
            ours.len()
        )));
    }
    for (tabla, kind) in TABLAS {
        if *kind == Kind::Registro && count_table(&mut conn, tabla)? > 0 {
            return Err(BackupError::DatabaseNotEmpty(format!(
                "{} (table {tabla} has rows)",
                url.redacted()
            )));
        }
    }
    let filas = conn.transaction(|conn| -> Result<u64, BackupError> {
        let mut filas = 0;
        for (tabla, kind) in TABLAS {
            let entry = manifest
                .tablas
                .iter()
                .find(|m| m.tabla == *tabla)
                .expect("checked above");
            filas += load_file(conn, dir, entry, *kind)?;
        }
        if let DbConnection::Pg(_) = conn {
            // Identity columns go on after the highest id loaded.
            conn.batch_execute(
                "SELECT setval(pg_get_serial_sequence('lotes', 'id'), \
                 COALESCE((SELECT max(id) FROM lotes), 0) + 1, false); \
                 SELECT setval(pg_get_serial_sequence('eventos', 'id'), \
                 COALESCE((SELECT max(id) FROM eventos), 0) + 1, false)",
            )
            .map_err(DbError::from)?;
        }
        let report = crate::audit::verify(conn)?;
        let (head, personas) = counts(conn)?;
        if report.first_broken.is_some() || head != manifest.audit_head || personas != manifest.personas
        {
            return Err(BackupError::Damaged {
                name: "imported registry".into(),
                problem: format!(
                    "ends at {head:?} with {personas} persons (chain broken at {:?}); the manifest says {:?} and {}",
                    report.first_broken, manifest.audit_head, manifest.personas
                ),
            });
        }
        Ok(filas)
    })?;
    Ok(ImportReport { manifest, filas })
}

fn load_file(
    conn: &mut DbConnection,
    dir: &Path,
    entry: &TablaExportada,
    kind: Kind,
) -> Result<u64, BackupError> {
    let path = dir.join(&entry.archivo);
    let file = std::fs::File::open(&path).map_err(io(&path))?;
    let mut hashing = Hashing {
        inner: file,
        hasher: Sha256::new(),
        bytes: 0,
    };
    let mut lines = BufReader::new(GzDecoder::new(&mut hashing))
        .lines()
        .zip(1u64..)
        .map(|(line, number)| {
            // A damaged gzip stream shows here (its CRC, or bytes that do not inflate).
            line.map(|l| (number, l)).map_err(|e| BackupError::Damaged {
                name: entry.archivo.clone(),
                problem: format!("line {number}: {e}"),
            })
        });
    let read = import_table(conn, &entry.tabla, kind, &mut lines, &entry.archivo)?;
    drop(lines);
    // Whatever gzip left unread after its end still counts toward the digest.
    std::io::copy(&mut hashing, &mut std::io::sink()).map_err(io(&path))?;
    let sha256 = hex::encode(hashing.hasher.finalize());
    if sha256 != entry.sha256 || hashing.bytes != entry.bytes || read != entry.filas {
        return Err(BackupError::Damaged {
            name: entry.archivo.clone(),
            problem: format!(
                "{read} rows, {} bytes, SHA-256 {sha256}; the manifest says {} rows, {} bytes, {}",
                hashing.bytes, entry.filas, entry.bytes, entry.sha256
            ),
        });
    }
    Ok(read)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(diesel::QueryableByName)]
    struct Name {
        #[diesel(sql_type = diesel::sql_types::Text)]
        name: String,
    }

    /// Tables an export leaves out, each for its reason: console sessions are worth nothing on
    /// another registry, and their pending sign-ins would only be copies of secrets; a
    /// cluster's agreement reloads (src/recargas.rs) are events of its nodes, and what several
    /// nodes share while they run (`backup::NO_RESPALDADAS`), not records.
    const NO_EXPORTADAS: &[&str] = &[
        "consola_sesiones",
        "recargas",
        "recargas_nodos",
        "replay",
        "limites",
        "validaciones_fallidas",
    ];

    /// A table a later migration adds is exported too, or this fails: an export that left one
    /// out would lose its rows on the move.
    #[test]
    fn every_table_the_migrations_make_is_exported() {
        let dir = tempfile::TempDir::new().unwrap();
        let url = DatabaseUrl::Sqlite(dir.path().join("siis.db"));
        let mut conn = ConnectionManager::new(url).open().unwrap();
        crate::db::run_migrations(&mut conn).unwrap();
        let mut made: Vec<String> = Vec::new();
        for schema in ["main", "audit", "indice"] {
            let names: Vec<Name> = diesel::sql_query(format!(
                "SELECT name FROM {schema}.sqlite_master WHERE type = 'table' \
                 AND name NOT LIKE 'sqlite_%' AND name <> '__diesel_schema_migrations'"
            ))
            .load(&mut conn)
            .unwrap();
            made.extend(
                names
                    .into_iter()
                    .map(|n| n.name)
                    .filter(|n| !NO_EXPORTADAS.contains(&n.as_str())),
            );
        }
        made.sort();
        let mut exported: Vec<String> = TABLAS.iter().map(|(t, _)| (*t).to_owned()).collect();
        exported.sort();
        assert_eq!(made, exported);
        let mut order: Vec<&str> = export_order();
        order.sort_unstable();
        assert_eq!(order.len(), TABLAS.len(), "export reads each table once");
    }
}
