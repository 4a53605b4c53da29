//! ConsultarElegibilidad: does a RUN qualify for a program? The rules and thresholds come from
//! configuration (`conf/elegibilidad.toml`); the answer names the rule that decided and the data
//! it used.

use chrono::{Datelike, NaiveDate};

use super::{Core, Op, ficha};
use crate::broker::Admission;
use std::collections::BTreeSet;

use crate::catalog::Operation;
use crate::convenios::Convenio;
use crate::db::DbConnection;
use crate::domain::{Ambito, Cut, Puntaje, Run};
use crate::error::ApiError;
use crate::projection::FieldSet;
use crate::projection::{Project, recortar, revelados};
use crate::reglas::{Rules, Snapshot};
pub use crate::respuestas::{DatosUsados, Elegibilidad};

impl Project for Elegibilidad {
    fn project(&mut self, grant: &FieldSet) {
        recortar(self, grant);
    }

    fn disclosed(&self) -> BTreeSet<&'static str> {
        revelados(self)
    }
}

/// Whole years between a birth date and `today`.
pub fn age_on(birth: NaiveDate, today: NaiveDate) -> u32 {
    let mut years = today.year() - birth.year();
    if (today.month(), today.day()) < (birth.month(), birth.day()) {
        years -= 1;
    }
    years.max(0) as u32
}

/// The program must have rules, and the agreement must grant it.
pub fn check_program(convenio: &Convenio, rules: &Rules, programa: &str) -> Result<(), ApiError> {
    if !rules.programs().any(|p| p == programa) {
        return Err(ApiError::programa_desconocido(programa));
    }
    let granted = convenio
        .grant(Operation::ConsultarElegibilidad)
        .is_some_and(|g| g.programas.as_ref().is_some_and(|p| p.contains(programa)));
    if granted {
        Ok(())
    } else {
        Err(ApiError::no_autorizado(format!(
            "the agreement does not grant eligibility for {programa}"
        )))
    }
}

/// Evaluates `programa` (checked with [`check_program`]) for `run`.
pub fn consultar(
    conn: &mut DbConnection,
    rules: &Rules,
    run: Run,
    programa: &str,
    scope: Option<Ambito>,
    today: NaiveDate,
) -> Result<Elegibilidad, ApiError> {
    let Some((household, ficha)) = ficha::hogar_con_ficha(conn, run)? else {
        return Err(ApiError::no_encontrado());
    };
    if scope.is_some_and(|a| !a.contiene(&household.cut)) {
        return Err(ApiError::fuera_de_ambito());
    }
    let puntaje = ficha
        .as_ref()
        .and_then(|f| Puntaje::new(i64::from(f.puntaje)).ok());
    let comuna = Cut::parse(&household.cut).ok();
    let snapshot = Snapshot {
        puntaje,
        edad: age_on(household.fecha_nacimiento, today),
        fallecido: household.fallecido,
        comuna,
    };
    let Some(decision) = rules.evaluate(programa, &snapshot) else {
        return Err(ApiError::programa_desconocido(programa));
    };
    let used = |name: &str| decision.datos_usados.contains(&name);
    let datos = DatosUsados {
        puntaje: puntaje.filter(|_| used("puntaje")).map(Puntaje::value),
        quintil: puntaje
            .filter(|_| used("quintil"))
            .map(|p| p.quintil().number()),
        edad: used("edad").then_some(snapshot.edad),
        fallecido: used("fallecido").then_some(snapshot.fallecido),
        tiene_ficha: used("tieneFicha").then_some(puntaje.is_some()),
        comuna: comuna.filter(|_| used("comuna")).map(|c| c.to_string()),
    };
    Ok(Elegibilidad {
        run: Some(run.to_string()),
        programa: Some(decision.programa),
        elegible: Some(decision.elegible),
        regla: Some(decision.regla),
        motivo: Some(decision.motivo),
        datos: Some(datos),
    })
}

/// ConsultarElegibilidad as the agreement may ask it (the program must be granted).
pub fn responder(
    convenio: &Convenio,
    conn: &mut DbConnection,
    rules: &Rules,
    run: Run,
    programa: &str,
    today: NaiveDate,
) -> Result<Elegibilidad, ApiError> {
    check_program(convenio, rules, programa)?;
    consultar(conn, rules, run, programa, convenio.ambito, today)
}

/// ConsultarElegibilidad (REST `GET /api/v1/personas/{run}/elegibilidad/{programa}`, SOAP
/// ConsultarElegibilidad).
pub struct ConsultarElegibilidad;

/// A person and the program asked about.
#[derive(Debug, Clone)]
pub struct Pregunta {
    pub run: Run,
    pub programa: String,
}

impl Op for ConsultarElegibilidad {
    const OPERATION: Operation = Operation::ConsultarElegibilidad;
    type Request = Pregunta;
    type Response = Elegibilidad;

    fn subjects(p: &Pregunta) -> Vec<Run> {
        vec![p.run]
    }

    fn handle(
        core: &Core,
        admission: &Admission,
        conn: &mut DbConnection,
        p: Pregunta,
    ) -> Result<Elegibilidad, ApiError> {
        let rules = &core.broker.rules;
        responder(
            &admission.convenio,
            conn,
            rules,
            p.run,
            &p.programa,
            admission.today,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn age_counts_whole_years() {
        let d = |y, m, dd| NaiveDate::from_ymd_opt(y, m, dd).unwrap();
        assert_eq!(age_on(d(1961, 11, 28), d(2026, 11, 28)), 65);
        assert_eq!(age_on(d(1961, 11, 29), d(2026, 11, 28)), 64);
        assert_eq!(age_on(d(2026, 1, 1), d(2026, 11, 28)), 0);
    }
}
