//! ConsultarElegibilidad: does a RUN qualify for a program? The rules and thresholds come from
//! configuration (`conf/elegibilidad.toml`); the answer names the rule that decided and the data
//! it used.

use chrono::{Datelike, NaiveDate};
use serde::Serialize;

use super::{Core, Op, ficha};
use crate::broker::Admission;
use std::collections::BTreeSet;

use crate::agreements::{Agreement, FieldSet};
use crate::catalog::Operation;
use crate::db::DbConnection;
use crate::domain::{Cut, Puntaje, Run};
use crate::error::ApiError;
use crate::projection::{Project, any_below, keep, note};
use crate::reglas::{Rules, Snapshot};

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Elegibilidad {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub programa: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub elegible: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub regla: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub motivo: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub datos: Option<DatosUsados>,
}

/// The registry data the deciding rules read (only those).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DatosUsados {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub puntaje: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quintil: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub edad: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fallecido: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tiene_ficha: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comuna: Option<String>,
}

impl Project for Elegibilidad {
    fn project(&mut self, grant: &FieldSet) {
        keep(&mut self.run, grant, "run");
        keep(&mut self.programa, grant, "programa");
        keep(&mut self.elegible, grant, "elegible");
        keep(&mut self.regla, grant, "regla");
        keep(&mut self.motivo, grant, "motivo");
        if let Some(d) = &mut self.datos {
            keep(&mut d.puntaje, grant, "datos.puntaje");
            keep(&mut d.quintil, grant, "datos.quintil");
            keep(&mut d.edad, grant, "datos.edad");
            keep(&mut d.fallecido, grant, "datos.fallecido");
            keep(&mut d.tiene_ficha, grant, "datos.tieneFicha");
            keep(&mut d.comuna, grant, "datos.comuna");
        }
        if !any_below(grant, "datos.") {
            self.datos = None;
        }
    }

    fn disclosed(&self) -> BTreeSet<&'static str> {
        let mut out = BTreeSet::new();
        note(&mut out, &self.run, "run");
        note(&mut out, &self.programa, "programa");
        note(&mut out, &self.elegible, "elegible");
        note(&mut out, &self.regla, "regla");
        note(&mut out, &self.motivo, "motivo");
        if let Some(d) = &self.datos {
            note(&mut out, &d.puntaje, "datos.puntaje");
            note(&mut out, &d.quintil, "datos.quintil");
            note(&mut out, &d.edad, "datos.edad");
            note(&mut out, &d.fallecido, "datos.fallecido");
            note(&mut out, &d.tiene_ficha, "datos.tieneFicha");
            note(&mut out, &d.comuna, "datos.comuna");
        }
        out
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
pub fn check_program(agreement: &Agreement, rules: &Rules, programa: &str) -> Result<(), ApiError> {
    if !rules.programs().any(|p| p == programa) {
        return Err(ApiError::programa_desconocido(programa));
    }
    let granted = agreement
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
    scope: Option<Cut>,
    today: NaiveDate,
) -> Result<Elegibilidad, ApiError> {
    let Some((household, ficha)) = ficha::hogar_con_ficha(conn, run)? else {
        return Err(ApiError::no_encontrado());
    };
    if scope.is_some_and(|cut| cut.as_str() != household.cut) {
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
    agreement: &Agreement,
    conn: &mut DbConnection,
    rules: &Rules,
    run: Run,
    programa: &str,
    today: NaiveDate,
) -> Result<Elegibilidad, ApiError> {
    check_program(agreement, rules, programa)?;
    consultar(conn, rules, run, programa, agreement.scope, today)
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
            &admission.agreement,
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
