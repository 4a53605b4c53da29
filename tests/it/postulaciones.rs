//! Postulations to SUF, PASIS and SAP (PostularBeneficio) and cupos (FijarCupos): the
//! municipality of a person's comuna postulates, the checks run on every read, a person
//! outside the comuna is answered as unknown, and the waiting list follows the program's
//! priority within the cupos.

mod ambito;
mod cupos;
mod decreto;
mod flujo;

use chrono::{Datelike, Months, NaiveDate};
use diesel::prelude::*;
use serde_json::{Value, json};
use siis::db::DbConnection;
use siis::db::models::{Ficha, Hogar, Integrante, Persona};
use siis::db::schema::{fichas, hogares, integrantes, personas, postulaciones};
use siis::domain::Run;

use crate::support::TestNode;

fn hoy() -> NaiveDate {
    siis::broker::local_today()
}

/// A person born `edad` whole years ago today.
pub(crate) fn persona(conn: &mut DbConnection, numero: u32, edad: u32) -> Run {
    let run = Run::from_numero(numero).unwrap();
    diesel::insert_into(personas::table)
        .values(Persona {
            run: numero as i32,
            nombres: "ANA".into(),
            apellido_paterno: "PRUEBA".into(),
            apellido_materno: "PRUEBA".into(),
            fecha_nacimiento: hoy() - Months::new(12 * edad),
            sexo: "F".into(),
            nacionalidad: "CL".into(),
            fecha_defuncion: None,
        })
        .execute(conn)
        .unwrap();
    run
}

/// A household in `cut` with a ficha in force of `puntaje` (none when `None`), and its members.
pub(crate) fn hogar(
    conn: &mut DbConnection,
    id: i64,
    cut: &str,
    puntaje: Option<i32>,
    miembros: &[Run],
) {
    diesel::insert_into(hogares::table)
        .values(Hogar {
            id,
            cut: cut.into(),
            direccion: String::new(),
        })
        .execute(conn)
        .unwrap();
    if let Some(puntaje) = puntaje {
        diesel::insert_into(fichas::table)
            .values(Ficha {
                folio: 5_000_000 + id,
                hogar_id: id,
                puntaje,
                fecha_aplicacion: hoy(),
                cut: cut.into(),
                estado: "vigente".into(),
            })
            .execute(conn)
            .unwrap();
    }
    for (i, run) in miembros.iter().enumerate() {
        diesel::insert_into(integrantes::table)
            .values(Integrante {
                run: run.numero() as i32,
                hogar_id: id,
                parentesco: if i == 0 { "jefe" } else { "hijo" }.into(),
            })
            .execute(conn)
            .unwrap();
    }
}

/// The questionnaire behind household `id`'s ficha (from [`hogar`]): its members with these
/// monthly incomes from work, pensions and other sources.
fn encuesta(conn: &mut DbConnection, id: i64, miembros: &[(Run, [i64; 3])]) {
    use siis::db::models::{EncuestaIntegranteRow, EncuestaRow};
    use siis::db::schema::{encuesta_integrantes, encuestajes, encuestas};
    let folio = 5_000_000 + id;
    let (run, _) = miembros[0];
    // The survey request it answered (a questionnaire always answers one).
    diesel::insert_into(encuestajes::table)
        .values((
            encuestajes::id.eq(format!("prueba-{id}")),
            encuestajes::run.eq(run.numero() as i32),
            encuestajes::cut.eq("13101"),
            encuestajes::convenio.eq("muni-13101"),
            encuestajes::estado.eq("encuestada"),
            encuestajes::visitas_fallidas.eq(0),
            encuestajes::fecha_solicitud.eq(hoy()),
            encuestajes::fecha_vencimiento.eq(hoy()),
            encuestajes::folio.eq(Some(folio)),
            encuestajes::version.eq(1),
            encuestajes::creada_us.eq(0),
            encuestajes::actualizada_us.eq(0),
        ))
        .execute(conn)
        .unwrap();
    diesel::insert_into(encuestas::table)
        .values(EncuestaRow {
            folio,
            encuestaje_id: format!("prueba-{id}"),
            modelo: "FPS-2026-1".into(),
            zona: "urbana".into(),
            direccion: "Prueba 1".into(),
            tenencia: "propia".into(),
            agua: "red_publica".into(),
            saneamiento: "alcantarillado".into(),
            piezas: 2,
            convenio: "muni-13101".into(),
            usuario: None,
            creada_us: 0,
        })
        .execute(conn)
        .unwrap();
    for (orden, (run, [trabajo, pensiones, otros])) in miembros.iter().enumerate() {
        diesel::insert_into(encuesta_integrantes::table)
            .values(EncuestaIntegranteRow {
                folio,
                orden: orden as i32,
                run: run.numero() as i32,
                parentesco: if orden == 0 { "jefe" } else { "hijo" }.into(),
                edad: 70,
                escolaridad_anios: 6,
                asiste_educacion: false,
                salud: "ninguna".into(),
                actividad: "inactivo".into(),
                ingreso_trabajo: *trabajo,
                ingreso_pensiones: *pensiones,
                ingreso_otros: *otros,
            })
            .execute(conn)
            .unwrap();
    }
}

/// Moves a person to another household.
fn mudar(conn: &mut DbConnection, run: Run, hogar_id: i64) {
    diesel::update(integrantes::table.find(run.numero() as i32))
        .set(integrantes::hogar_id.eq(hogar_id))
        .execute(conn)
        .unwrap();
}

fn postulaciones_guardadas(node: &TestNode) -> i64 {
    postulaciones::table
        .count()
        .get_result(&mut node.db())
        .unwrap()
}

async fn json_of(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let body = response.json().await.unwrap_or(Value::Null);
    (status, body)
}

pub(crate) async fn postular(node: &TestNode, convenio: &str, body: Value) -> (u16, Value) {
    json_of(
        node.client(Some(convenio))
            .post(node.agency_url("/api/v1/postulaciones"))
            .json(&body)
            .send()
            .await
            .unwrap(),
    )
    .await
}

async fn leer(node: &TestNode, convenio: &str, id: &str) -> (u16, Value) {
    json_of(
        node.client(Some(convenio))
            .get(node.agency_url(&format!("/api/v1/postulaciones/{id}")))
            .send()
            .await
            .unwrap(),
    )
    .await
}

async fn listar(node: &TestNode, convenio: &str, cut: &str, query: &str) -> (u16, Value) {
    json_of(
        node.client(Some(convenio))
            .get(node.agency_url(&format!("/api/v1/municipios/{cut}/postulaciones{query}")))
            .send()
            .await
            .unwrap(),
    )
    .await
}

async fn evento(node: &TestNode, convenio: &str, id: &str, body: Value) -> (u16, Value) {
    json_of(
        node.client(Some(convenio))
            .post(node.agency_url(&format!("/api/v1/postulaciones/{id}/eventos")))
            .json(&body)
            .send()
            .await
            .unwrap(),
    )
    .await
}

/// The checks of an answer as (regla, cumple).
fn chequeos(p: &Value) -> Vec<(String, bool)> {
    p["chequeos"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["regla"].as_str().unwrap().to_owned(),
                c["cumple"].as_bool().unwrap(),
            )
        })
        .collect()
}

/// The ids of the failing checks.
fn fallan(p: &Value) -> Vec<String> {
    chequeos(p)
        .into_iter()
        .filter(|(_, c)| !c)
        .map(|(r, _)| r)
        .collect()
}

fn anio() -> i32 {
    hoy().year()
}
