//! Rows of the registry as Rust structs, for reading and for bulk loading.

use chrono::NaiveDate;
use diesel::prelude::*;

use super::schema::{
    beneficios, comunas, cupos, encuesta_integrantes, encuestas, fichas, hogares, integrantes,
    personas, postulacion_causantes, postulacion_chequeos, postulaciones, regiones,
};

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = regiones, treat_none_as_default_value = false)]
pub struct RegionRow {
    pub codigo: String,
    pub nombre: String,
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = comunas, treat_none_as_default_value = false)]
pub struct ComunaRow {
    pub cut: String,
    pub nombre: String,
    pub provincia: String,
    pub region: String,
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = personas, treat_none_as_default_value = false)]
pub struct Persona {
    pub run: i32,
    pub nombres: String,
    pub apellido_paterno: String,
    pub apellido_materno: String,
    pub fecha_nacimiento: NaiveDate,
    pub sexo: String,
    pub nacionalidad: String,
    pub fecha_defuncion: Option<NaiveDate>,
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = hogares, treat_none_as_default_value = false)]
pub struct Hogar {
    pub id: i64,
    pub cut: String,
    pub direccion: String,
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = integrantes, treat_none_as_default_value = false)]
pub struct Integrante {
    pub run: i32,
    pub hogar_id: i64,
    pub parentesco: String,
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = fichas, treat_none_as_default_value = false)]
pub struct Ficha {
    pub folio: i64,
    pub hogar_id: i64,
    pub puntaje: i32,
    pub fecha_aplicacion: NaiveDate,
    pub cut: String,
    pub estado: String,
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = beneficios, treat_none_as_default_value = false)]
pub struct Beneficio {
    pub id: i64,
    pub run: i32,
    pub programa: String,
    pub estado: String,
    pub monto: i32,
    pub fecha_inicio: NaiveDate,
    pub fecha_termino: Option<NaiveDate>,
    pub fuente: String,
    /// The decree that granted it (`None`: a provider's feed or the seed).
    pub decreto_folio: Option<String>,
}

/// The condition `fichas.estado = 'vigente'` with the value written into the SQL, not bound.
///
/// SQLite can use the partial index `fichas_hogar_vigente` for a bound `estado = ?` only by
/// looking at the bound value, so it re-prepares such a statement at every execution (the
/// planner ran again for every lookup). With the literal the plan holds for any household
/// and Diesel keeps the statement prepared (its query id is static).
#[derive(Debug, Clone, Copy, diesel::query_builder::QueryId, diesel::expression::ValidGrouping)]
pub struct FichaEnVigor;

impl diesel::Expression for FichaEnVigor {
    type SqlType = diesel::sql_types::Bool;
}

impl<DB: diesel::backend::Backend> diesel::query_builder::QueryFragment<DB> for FichaEnVigor {
    fn walk_ast<'b>(
        &'b self,
        mut out: diesel::query_builder::AstPass<'_, 'b, DB>,
    ) -> QueryResult<()> {
        out.push_identifier("fichas")?;
        out.push_sql(".");
        out.push_identifier("estado")?;
        out.push_sql(" = 'vigente'");
        Ok(())
    }
}

impl<QS> diesel::AppearsOnTable<QS> for FichaEnVigor where fichas::estado: diesel::AppearsOnTable<QS>
{}

impl<QS> diesel::SelectableExpression<QS> for FichaEnVigor where
    fichas::estado: diesel::SelectableExpression<QS>
{
}

/// The questionnaire behind a ficha a survey created (one per folio).
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = encuestas, treat_none_as_default_value = false)]
pub struct EncuestaRow {
    pub folio: i64,
    pub encuestaje_id: String,
    pub modelo: String,
    pub zona: String,
    pub direccion: String,
    pub tenencia: String,
    pub agua: String,
    pub saneamiento: String,
    pub piezas: i32,
    pub convenio: String,
    /// The console user's RUN, when one recorded it.
    pub usuario: Option<String>,
    pub creada_us: i64,
}

/// One member as surveyed, frozen with the folio (`orden` from 0, as error paths count).
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = encuesta_integrantes, treat_none_as_default_value = false)]
pub struct EncuestaIntegranteRow {
    pub folio: i64,
    pub orden: i32,
    pub run: i32,
    pub parentesco: String,
    pub edad: i32,
    pub escolaridad_anios: i32,
    pub asiste_educacion: bool,
    pub salud: String,
    pub actividad: String,
    pub ingreso_trabajo: i64,
    pub ingreso_pensiones: i64,
    pub ingreso_otros: i64,
}

/// A postulation to SUF, PASIS or SAP as stored (`ops/postulacion`).
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = postulaciones, treat_none_as_default_value = false)]
pub struct PostulacionFila {
    pub id: String,
    pub programa: String,
    pub run: i32,
    pub cut: String,
    /// The agreement that took it.
    pub convenio: String,
    /// The console official who took it (none through a machine call).
    pub usuario: Option<String>,
    pub estado: String,
    /// The applicant's score at the last check (the waiting list's first key).
    pub puntaje: Option<i32>,
    pub fecha_postulacion: NaiveDate,
    pub decreto_folio: Option<String>,
    /// Why it was withdrawn (desistida) or annulled (anulada).
    pub motivo_cierre: Option<String>,
    /// The number of its last stored check run.
    pub corrida: i32,
    pub version: i32,
    pub creada_us: i64,
    pub actualizada_us: i64,
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = postulacion_causantes, treat_none_as_default_value = false)]
pub struct CausanteFila {
    pub postulacion_id: String,
    /// Its index in the postulation, from 0 (how errors and checks name it).
    pub orden: i32,
    pub run: i32,
    pub tipo: String,
}

/// One check's outcome in one run of a postulation's checks.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = postulacion_chequeos, treat_none_as_default_value = false)]
pub struct ChequeoFila {
    pub postulacion_id: String,
    pub corrida: i32,
    pub orden: i32,
    pub regla: String,
    pub cumple: bool,
    pub motivo: String,
    pub dato: String,
    pub ts_us: i64,
}

/// How many benefits of a program may be in force in a comuna in a year.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = cupos, treat_none_as_default_value = false)]
pub struct CupoFila {
    pub cut: String,
    pub programa: String,
    pub anio: i32,
    /// The cupos (`cupos.total`: diesel cannot name a column like its table).
    pub total: i32,
    pub fijado_por: String,
    pub ts_us: i64,
}
