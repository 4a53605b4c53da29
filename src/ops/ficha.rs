//! ConsultarFichaFPS: a person's ficha, score, quintile, comuna and household.

use chrono::NaiveDate;
use diesel::prelude::*;

use std::collections::{BTreeSet, HashMap, HashSet};

use std::sync::Arc;

use crate::broker::{Admission, Broker, Call, Reply, Service};
use crate::catalog::Operation;
use crate::convenios::Convenio;
use crate::db::models::{Ficha, FichaEnVigor};
use crate::db::schema::{fichas, hogares, integrantes, personas};
use crate::db::{DbConnection, DbError, on_backend};
use crate::domain::{Ambito, Cut, Puntaje, Run};
use crate::error::ApiError;
use crate::projection::FieldSet;
use crate::projection::{Project, any_below, recortar, revelados};
pub use crate::respuestas::{ComunaRef, FichaFps, IntegranteFicha};

mod grupo;

pub use grupo::{read_many, read_together};

impl Project for FichaFps {
    fn project(&mut self, grant: &FieldSet) {
        recortar(self, grant);
    }

    fn disclosed(&self) -> BTreeSet<&'static str> {
        revelados(self)
    }
}

/// What the registry knows of a RUN, for a caller limited (or not) to one comuna.
#[derive(Debug, Clone, PartialEq)]
pub enum Lookup {
    Found(FichaFps),
    NotFound,
    NoFicha,
    OutOfScope,
}

/// The person's household, its comuna and whether the person is deceased.
#[derive(Clone)]
pub struct HogarLeido {
    pub hogar_id: i64,
    pub cut: String,
    pub fallecido: bool,
    pub fecha_nacimiento: NaiveDate,
}

impl HogarLeido {
    fn new(
        hogar_id: i64,
        cut: String,
        defuncion: Option<NaiveDate>,
        fecha_nacimiento: NaiveDate,
    ) -> HogarLeido {
        HogarLeido {
            hogar_id,
            cut,
            fallecido: defuncion.is_some(),
            fecha_nacimiento,
        }
    }
}

/// Finds the household of `run`, or `None` if the person is unknown or has no household.
/// The same statement as [`hogar_con_ficha`], whose ficha this caller does not need.
pub fn hogar_de(conn: &mut DbConnection, run: Run) -> Result<Option<HogarLeido>, DbError> {
    Ok(hogar_con_ficha(conn, run)?.map(|(household, _)| household))
}

/// The household of `run` (its comuna, whether the person is deceased) and the household's
/// ficha in force, in one query: one round trip on PostgreSQL instead of two. The ficha is
/// joined with its `estado` written into the SQL ([`FichaEnVigor`]), so the statement stays
/// prepared. `None` if the person is unknown or has no household.
pub fn hogar_con_ficha(
    conn: &mut DbConnection,
    run: Run,
) -> Result<Option<(HogarLeido, Option<Ficha>)>, DbError> {
    let query = lookup_join()
        .filter(integrantes::run.eq(run.numero() as i32))
        .select(columnas_hogar());
    let row: Option<HogarConFicha> = on_backend!(conn, |c| query.get_result(c).optional())?;
    Ok(row.map(fila_hogar_con_ficha))
}

/// The join every lookup reads: each member with their household (its comuna), their person
/// row and the household's ficha in force. The ficha is joined to the household
/// (`hogares.id`), not to each member row, so PostgreSQL's plan probes `fichas` once per
/// household instead of once per member (about 9% less server CPU per REST lookup:
/// `git show dc52f25:README.md`, *Load benchmark*); its `estado` is written into the SQL ([`FichaEnVigor`]), so the
/// statements stay prepared.
#[diesel::dsl::auto_type]
fn lookup_join() -> _ {
    integrantes::table
        .inner_join(hogares::table)
        .inner_join(personas::table)
        .left_join(fichas::table.on(fichas::hogar_id.eq(hogares::id).and(FichaEnVigor)))
}

/// The columns of a [`Ficha`] row (the table has more, such as `revision`).
type FichaRow = (
    fichas::folio,
    fichas::hogar_id,
    fichas::puntaje,
    fichas::fecha_aplicacion,
    fichas::cut,
    fichas::estado,
);

const FICHA_ROW: FichaRow = (
    fichas::folio,
    fichas::hogar_id,
    fichas::puntaje,
    fichas::fecha_aplicacion,
    fichas::cut,
    fichas::estado,
);

/// The ficha's columns, absent when the household has none in force.
type FichaColumns = diesel::dsl::Nullable<FichaRow>;

/// A person's household, as [`lookup_join`] gives it: household, comuna, date of death, birth
/// date, the household's ficha in force.
fn columnas_hogar() -> (
    integrantes::hogar_id,
    hogares::cut,
    personas::fecha_defuncion,
    personas::fecha_nacimiento,
    FichaColumns,
) {
    (
        integrantes::hogar_id,
        hogares::cut,
        personas::fecha_defuncion,
        personas::fecha_nacimiento,
        FICHA_ROW.nullable(),
    )
}

/// A row of [`columnas_hogar`].
type HogarConFicha = (i64, String, Option<NaiveDate>, NaiveDate, Option<Ficha>);

fn fila_hogar_con_ficha(row: HogarConFicha) -> (HogarLeido, Option<Ficha>) {
    let (hogar_id, cut, defuncion, fecha_nacimiento, ficha) = row;
    let household = HogarLeido::new(hogar_id, cut, defuncion, fecha_nacimiento);
    (household, ficha)
}

/// Each member of a household, as [`lookup_join`] gives it: the household's comuna, the
/// member's date of death, the household's ficha in force, the member ([`MEMBER_COLUMNS`]).
fn columnas_integrantes() -> (
    hogares::cut,
    personas::fecha_defuncion,
    FichaColumns,
    MemberColumns,
) {
    (
        hogares::cut,
        personas::fecha_defuncion,
        FICHA_ROW.nullable(),
        MEMBER_COLUMNS,
    )
}

/// What the registry holds for one RUN, before any agreement's scope is applied.
pub enum Reading {
    /// No such person.
    Unknown,
    /// The person exists but has no household (e.g. a birth not yet placed).
    SinHogar,
    /// The person's household, its ficha in force if any, and its members (empty when they
    /// were not read).
    HogarLeido(LecturaHogar),
}

impl Reading {
    /// The answer for a caller limited (or not) to a territory: the one rule that single
    /// lookups, lookups read together ([`read_many`]) and batches ([`consultar_varios`]) share.
    pub fn judge(self, run: Run, scope: Option<Ambito>, con_integrantes: bool) -> Lookup {
        let (household, ficha, members) = match self {
            Reading::Unknown => return Lookup::NotFound,
            Reading::SinHogar if scope.is_some() => return Lookup::OutOfScope,
            Reading::SinHogar => return Lookup::NoFicha,
            Reading::HogarLeido(read) => read,
        };
        if scope.is_some_and(|a| !a.contiene(&household.cut)) {
            return Lookup::OutOfScope;
        }
        let Some(ficha) = ficha else {
            return Lookup::NoFicha;
        };
        Lookup::Found(build(
            run,
            &household,
            ficha,
            con_integrantes.then_some(members),
        ))
    }
}

/// What a single lookup asks the broker's groups for: the RUN, and whether its agreement sees
/// members (lookups with and without members are read apart).
#[derive(Debug, Clone, Copy)]
struct LookupKey {
    run: Run,
    con_integrantes: bool,
}

/// ConsultarFichaFPS for one RUN (`None`: the request's RUN was not valid), admitted, projected
/// onto the grant and audited by the broker, one record per request. Its registry read is
/// shared with the lookups waiting at the same time ([`Broker::call_grouped`]); the answer is
/// then judged by this request's own agreement (scope, members).
pub async fn consultar(broker: Arc<Broker>, mut call: Call, run: Option<Run>) -> Reply<FichaFps> {
    // Members are read, and the answer projected, by this operation's grant only.
    call.service = Service::Op(Operation::ConsultarFichaFPS);
    let key = move |admission: &Admission| {
        let run = run.ok_or_else(ApiError::no_encontrado)?;
        let con_integrantes = ve_integrantes(&admission.convenio);
        Ok(LookupKey {
            run,
            con_integrantes,
        })
    };
    let answer = |admission: &Admission, (key, reading): (LookupKey, Reading)| {
        let LookupKey {
            run,
            con_integrantes,
        } = key;
        reading
            .judge(run, admission.convenio.ambito, con_integrantes)
            .answer()
    };
    broker.call_grouped(call, key, read_group, answer).await
}

/// The broker's batch function for single lookups: reads the group on one connection, those
/// with members and those without apart ([`read_many`]). A part whose read fails answers each
/// of its lookups 503.
fn read_group(
    conn: &mut DbConnection,
    keys: &[LookupKey],
) -> Vec<Result<(LookupKey, Reading), ApiError>> {
    let mut out: Vec<Option<Result<(LookupKey, Reading), ApiError>>> =
        keys.iter().map(|_| None).collect();
    for con_integrantes in [true, false] {
        let part: Vec<usize> = (0..keys.len())
            .filter(|&i| keys[i].con_integrantes == con_integrantes)
            .collect();
        if part.is_empty() {
            continue;
        }
        let runs: Vec<Run> = part.iter().map(|&i| keys[i].run).collect();
        match read_many(conn, &runs, con_integrantes) {
            Ok(readings) => {
                for (i, reading) in part.into_iter().zip(readings) {
                    out[i] = Some(Ok((keys[i], reading)));
                }
            }
            Err(error) => {
                let error = ApiError::from(error);
                for i in part {
                    out[i] = Some(Err(error.clone()));
                }
            }
        }
    }
    out.into_iter()
        .map(|o| o.unwrap_or_else(|| Err(ApiError::unavailable())))
        .collect()
}

/// Reads a RUN in one query ([`hogar_con_integrantes`], or [`hogar_con_ficha`] when
/// the caller's grant has no `integrantes.*` field: members are then not read at all); a
/// second one only tells an unknown RUN from a person without a household.
///
/// Every query here is fixed SQL with one bound RUN, so Diesel keeps each one prepared on the
/// connection between requests (an `IN (…)` list of bound values is prepared again each time:
/// about 90 µs of a 160 µs lookup went to preparing before; the members' `IN (SELECT …)` is
/// not such a list). None binds a `LIMIT` (`get_result`, not `first`: each
/// reads one row by key) or the ficha's `estado` ([`FichaEnVigor`]): SQLite plans such a
/// statement by the bound value and so prepared it again at every execution.
pub fn read(conn: &mut DbConnection, run: Run, con_integrantes: bool) -> Result<Reading, DbError> {
    let found = if con_integrantes {
        hogar_con_integrantes(conn, run)?
    } else {
        hogar_con_ficha(conn, run)?.map(|(household, ficha)| (household, ficha, Vec::new()))
    };
    if let Some(read) = found {
        return Ok(Reading::HogarLeido(read));
    }
    let query = personas::table
        .find(run.numero() as i32)
        .select(personas::run);
    let exists = on_backend!(conn, |c| query.get_result::<i32>(c).optional())?.is_some();
    Ok(if exists {
        Reading::SinHogar
    } else {
        Reading::Unknown
    })
}

/// A person's household, its ficha in force if any, and its members.
pub type LecturaHogar = (HogarLeido, Option<Ficha>, Vec<IntegranteFicha>);

/// What [`hogar_con_ficha`] reads, and the household's members (ordered by RUN), in one
/// query: one round trip on PostgreSQL instead of two. Each row is a member with the
/// household's comuna and ficha; the person's own row gives their dates. `None` if the person
/// is unknown or has no household.
///
fn hogar_con_integrantes(
    conn: &mut DbConnection,
    run: Run,
) -> Result<Option<LecturaHogar>, DbError> {
    let key = run.numero() as i32;
    let propio = diesel::alias!(integrantes as propio);
    let of_the_person = propio
        .filter(propio.field(integrantes::run).eq(key))
        .select(propio.field(integrantes::hogar_id));
    let query = lookup_join()
        .filter(integrantes::hogar_id.eq_any(of_the_person))
        .order(integrantes::run)
        .select(columnas_integrantes());
    let rows: Vec<FilaHogar> = on_backend!(conn, |c| query.load(c))?;
    let (mut found, mut members) = hogares_leidos(rows, |member| member == key);
    Ok(found.pop().map(|(_, household, ficha)| {
        let members = members.remove(&household.hogar_id).unwrap_or_default();
        (household, ficha, members)
    }))
}

/// A row of the members query: the household's comuna, the member's date of death, the
/// household's ficha in force, and the member.
type FilaHogar = (String, Option<NaiveDate>, Option<Ficha>, MemberRow);

/// From the members query's rows: the household (and ficha) of each member `asked` for, and
/// every household's members in the rows' order.
type HogaresLeidos = (
    Vec<(i32, HogarLeido, Option<Ficha>)>,
    HashMap<i64, Vec<IntegranteFicha>>,
);

fn hogares_leidos(rows: Vec<FilaHogar>, asked: impl Fn(i32) -> bool) -> HogaresLeidos {
    let mut found = Vec::new();
    let mut members: HashMap<i64, Vec<IntegranteFicha>> = HashMap::new();
    for (cut, defuncion, ficha, member) in rows {
        let (hogar_id, member_run) = (member.0, member.1);
        if asked(member_run) {
            let household = HogarLeido::new(hogar_id, cut, defuncion, member.5);
            found.push((member_run, household, ficha));
        }
        members
            .entry(hogar_id)
            .or_default()
            .push(integrante(member).1);
    }
    (found, members)
}

/// Looks up many RUNs at once, as a caller limited (or not) to `scope` may see them, in the
/// order of `runs`: read as lookups waiting together are ([`read_many`]: one statement on
/// PostgreSQL, the single lookup's prepared statement per RUN on SQLite), then judged each as
/// alone. A batch and a group share this one read path.
pub fn consultar_varios(
    conn: &mut DbConnection,
    runs: &[Run],
    scope: Option<Ambito>,
    con_integrantes: bool,
) -> Result<Vec<Lookup>, DbError> {
    let readings = read_many(conn, runs, con_integrantes)?;
    Ok(readings
        .into_iter()
        .zip(runs)
        .map(|(reading, run)| reading.judge(*run, scope, con_integrantes))
        .collect())
}

/// Those of `keys` that have no household (`housed` is false) yet are persons on record (e.g.
/// a birth not yet placed): they exist but have no ficha. No query when every key is housed.
fn sin_hogar(
    conn: &mut DbConnection,
    keys: &[i32],
    housed: impl Fn(&i32) -> bool,
) -> Result<HashSet<i32>, DbError> {
    let homeless: Vec<i32> = keys.iter().copied().filter(|k| !housed(k)).collect();
    if homeless.is_empty() {
        return Ok(HashSet::new());
    }
    Ok(personas::table
        .filter(personas::run.eq_any(&homeless))
        .select(personas::run)
        .load::<i32>(conn)?
        .into_iter()
        .collect())
}

/// A household member as read: household, RUN, names, birth date, sex, relationship.
type MemberRow = (i64, i32, String, String, String, NaiveDate, String, String);

/// The column types of [`MEMBER_COLUMNS`].
type MemberColumns = (
    integrantes::hogar_id,
    personas::run,
    personas::nombres,
    personas::apellido_paterno,
    personas::apellido_materno,
    personas::fecha_nacimiento,
    personas::sexo,
    integrantes::parentesco,
);

/// The columns of a [`MemberRow`] (members joined with their persons).
const MEMBER_COLUMNS: MemberColumns = (
    integrantes::hogar_id,
    personas::run,
    personas::nombres,
    personas::apellido_paterno,
    personas::apellido_materno,
    personas::fecha_nacimiento,
    personas::sexo,
    integrantes::parentesco,
);

/// A member row as the answer carries it, with its household.
fn integrante(row: MemberRow) -> (i64, IntegranteFicha) {
    let (hogar, run, nombres, paterno, materno, nacimiento, sexo, parentesco) = row;
    let member = IntegranteFicha {
        run: Run::from_numero(run as u32).ok().map(|r| r.to_string()),
        nombres: Some(nombres),
        apellido_paterno: Some(paterno),
        apellido_materno: Some(materno),
        fecha_nacimiento: Some(nacimiento),
        sexo: Some(sexo),
        parentesco: Some(parentesco),
    };
    (hogar, member)
}

/// The full answer for one person from their household, its ficha and its members.
fn build(
    run: Run,
    household: &HogarLeido,
    ficha: Ficha,
    integrantes: Option<Vec<IntegranteFicha>>,
) -> FichaFps {
    let puntaje = Puntaje::new(i64::from(ficha.puntaje)).ok();
    let nombre = Cut::parse(&ficha.cut)
        .ok()
        .map(|c| c.comuna().nombre.clone());
    FichaFps {
        run: Some(run.to_string()),
        folio: Some(ficha.folio),
        puntaje: puntaje.map(Puntaje::value),
        quintil: puntaje.map(|p| p.quintil().number()),
        fecha_aplicacion: Some(ficha.fecha_aplicacion),
        comuna: Some(ComunaRef {
            codigo: Some(ficha.cut),
            nombre,
        }),
        estado: Some(ficha.estado),
        fallecido: Some(household.fallecido),
        integrantes,
    }
}

impl Lookup {
    /// The answer to ConsultarFichaFPS for one RUN, or the error the caller receives.
    pub fn answer(self) -> Result<FichaFps, ApiError> {
        match self {
            Lookup::Found(f) => Ok(f),
            Lookup::NotFound => Err(ApiError::no_encontrado()),
            Lookup::OutOfScope => Err(ApiError::fuera_de_ambito()),
            Lookup::NoFicha => Err(ApiError::sin_ficha()),
        }
    }
}

/// Whether the agreement may see household members (if not, they are not even read).
pub fn ve_integrantes(convenio: &Convenio) -> bool {
    convenio
        .grant(Operation::ConsultarFichaFPS)
        .is_some_and(|g| any_below(&g.fields, "integrantes."))
}
