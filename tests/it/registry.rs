//! Picking RUNs of a seeded test registry by what they are.

use diesel::prelude::*;
use siis::db::DbConnection;
use siis::db::schema::{fichas, hogares, integrantes, personas};
use siis::domain::Run;

/// A living person whose household has a ficha, in comuna `cut` when given.
pub fn with_ficha(conn: &mut DbConnection, cut: Option<&str>) -> Run {
    let mut query = integrantes::table
        .inner_join(hogares::table)
        .inner_join(personas::table)
        .inner_join(fichas::table.on(fichas::hogar_id.eq(integrantes::hogar_id)))
        .filter(personas::fecha_defuncion.is_null())
        .select(personas::run)
        .order(personas::run)
        .into_boxed();
    // A comuna, or the code every comuna of a province or region starts with.
    if let Some(cut) = cut {
        query = query.filter(hogares::cut.like(format!("{cut}%")));
    }
    let run: i32 = query.first(conn).expect("a person with ficha");
    Run::from_numero(run as u32).expect("valid RUN")
}

/// A living person with ficha outside comuna `cut`.
pub fn with_ficha_outside(conn: &mut DbConnection, cut: &str) -> Run {
    let run: i32 = integrantes::table
        .inner_join(hogares::table)
        .inner_join(personas::table)
        .inner_join(fichas::table.on(fichas::hogar_id.eq(integrantes::hogar_id)))
        .filter(personas::fecha_defuncion.is_null())
        .filter(hogares::cut.ne(cut.to_owned()))
        .select(personas::run)
        .order(personas::run)
        .first(conn)
        .expect("a person outside the comuna");
    Run::from_numero(run as u32).expect("valid RUN")
}

/// A living person whose household has no ficha.
pub fn without_ficha(conn: &mut DbConnection) -> Run {
    let with: Vec<i64> = fichas::table
        .select(fichas::hogar_id)
        .load(conn)
        .expect("fichas");
    let run: i32 = integrantes::table
        .inner_join(personas::table)
        .filter(personas::fecha_defuncion.is_null())
        .filter(integrantes::hogar_id.ne_all(with))
        .select(personas::run)
        .order(personas::run)
        .first(conn)
        .expect("a person without ficha");
    Run::from_numero(run as u32).expect("valid RUN")
}

/// A deceased person whose household has a ficha.
pub fn deceased_with_ficha(conn: &mut DbConnection) -> Run {
    let run: i32 = integrantes::table
        .inner_join(personas::table)
        .inner_join(fichas::table.on(fichas::hogar_id.eq(integrantes::hogar_id)))
        .filter(personas::fecha_defuncion.is_not_null())
        .select(personas::run)
        .order(personas::run)
        .first(conn)
        .expect("a deceased person with ficha");
    Run::from_numero(run as u32).expect("valid RUN")
}

/// The registry's names and birth date of a person.
pub fn identity(conn: &mut DbConnection, run: Run) -> (String, String, String, chrono::NaiveDate) {
    personas::table
        .find(run.numero() as i32)
        .select((
            personas::nombres,
            personas::apellido_paterno,
            personas::apellido_materno,
            personas::fecha_nacimiento,
        ))
        .first(conn)
        .expect("person")
}

/// A valid RUN the seed never issues (its RUNs start at 1,000,000).
pub fn unknown() -> Run {
    Run::from_numero(999_999).expect("valid RUN")
}

/// A person on record without a household (as a birth not yet placed in one): added to the
/// registry, since the seed places everyone.
pub fn without_household(conn: &mut DbConnection) -> Run {
    use siis::db::models::Persona;
    let run = Run::from_numero(999_998).expect("valid RUN");
    diesel::insert_into(personas::table)
        .values(Persona {
            run: run.numero() as i32,
            nombres: "ANA MARÍA".into(),
            apellido_paterno: "SOTO".into(),
            apellido_materno: "PÉREZ".into(),
            fecha_nacimiento: chrono::NaiveDate::from_ymd_opt(2026, 3, 14).expect("date"),
            sexo: "F".into(),
            nacionalidad: "CHILENA".into(),
            fecha_defuncion: None,
        })
        .execute(conn)
        .expect("person without household");
    run
}

/// One RUN of every kind a lookup tells apart: with a ficha (anywhere, in comuna 13101,
/// outside it), without ficha, deceased, without household (added), unknown.
pub fn every_kind(conn: &mut DbConnection) -> Vec<Run> {
    vec![
        with_ficha(conn, None),
        with_ficha(conn, Some("13101")),
        with_ficha_outside(conn, "13101"),
        without_ficha(conn),
        deceased_with_ficha(conn),
        without_household(conn),
        unknown(),
    ]
}
