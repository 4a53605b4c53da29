//! ValidarIdentidad: does the claimed identity match the registry? Answers per field whether it
//! matches and whether the person is alive; registry values are never returned.

use chrono::NaiveDate;
use diesel::prelude::*;
use serde::Deserialize;

use std::collections::BTreeSet;

use super::{Core, Op};
use crate::broker::Admission;
use crate::catalog::Operation;
use crate::convenios::Convenio;
use crate::db::DbConnection;
use crate::db::schema::{hogares, integrantes, personas};
use crate::domain::{Ambito, Run};
use crate::error::ApiError;
use crate::projection::FieldSet;
use crate::projection::{Project, recortar, revelados};
pub use crate::respuestas::{Coincidencias, ValidacionIdentidad};

/// What the caller claims. Only the fields given are compared.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Afirmacion {
    pub run: String,
    pub nombres: Option<String>,
    pub apellido_paterno: Option<String>,
    pub apellido_materno: Option<String>,
    pub fecha_nacimiento: Option<NaiveDate>,
}

impl Project for ValidacionIdentidad {
    fn project(&mut self, grant: &FieldSet) {
        recortar(self, grant);
    }

    fn disclosed(&self) -> BTreeSet<&'static str> {
        revelados(self)
    }

    /// A comparison that did not match is audited as `NO_COINCIDE`: the limit on such
    /// comparisons per person and day is restored from it at start-up.
    fn audit_outcome(&self) -> Option<&'static str> {
        (!self.coincide_todo()).then_some(crate::audit::NO_COINCIDE)
    }
}

impl ValidacionIdentidad {
    /// Whether every field compared matched (true when nothing was compared).
    pub fn coincide_todo(&self) -> bool {
        self.coincidencias.as_ref().is_none_or(|c| {
            [
                c.nombres,
                c.apellido_paterno,
                c.apellido_materno,
                c.fecha_nacimiento,
            ]
            .iter()
            .all(|m| *m != Some(false))
        })
    }
}

impl Afirmacion {
    /// The response field paths this claim asks to compare (each must be granted).
    pub fn compared_fields(&self) -> Vec<&'static str> {
        let mut fields = Vec::new();
        if self.nombres.is_some() {
            fields.push("coincidencias.nombres");
        }
        if self.apellido_paterno.is_some() {
            fields.push("coincidencias.apellidoPaterno");
        }
        if self.apellido_materno.is_some() {
            fields.push("coincidencias.apellidoMaterno");
        }
        if self.fecha_nacimiento.is_some() {
            fields.push("coincidencias.fechaNacimiento");
        }
        fields
    }
}

/// Every field the claim asks to compare must be granted: comparing a field is disclosing it.
pub fn check_grant(convenio: &Convenio, claim: &Afirmacion) -> Result<(), ApiError> {
    let grant = convenio.grant(Operation::ValidarIdentidad);
    for field in claim.compared_fields() {
        if !grant.is_some_and(|g| g.fields.contains(field)) {
            return Err(ApiError::campo_no_permitido(field));
        }
    }
    Ok(())
}

/// Upper case, accents folded (Á→A, Ü→U; Ñ is kept), white space collapsed.
pub fn normalize(name: &str) -> String {
    name.split_whitespace()
        .map(|w| {
            w.chars()
                .flat_map(char::to_uppercase)
                .map(|c| match c {
                    'Á' | 'À' | 'Ä' | 'Â' => 'A',
                    'É' | 'È' | 'Ë' | 'Ê' => 'E',
                    'Í' | 'Ì' | 'Ï' | 'Î' => 'I',
                    'Ó' | 'Ò' | 'Ö' | 'Ô' => 'O',
                    'Ú' | 'Ù' | 'Ü' | 'Û' => 'U',
                    other => other,
                })
                .collect::<String>()
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Compares a claim with the registry.
pub fn validar(
    conn: &mut DbConnection,
    run: Run,
    claim: &Afirmacion,
    scope: Option<Ambito>,
) -> Result<ValidacionIdentidad, ApiError> {
    let person: Option<(String, String, String, NaiveDate, Option<NaiveDate>)> = personas::table
        .filter(personas::run.eq(run.numero() as i32))
        .select((
            personas::nombres,
            personas::apellido_paterno,
            personas::apellido_materno,
            personas::fecha_nacimiento,
            personas::fecha_defuncion,
        ))
        .get_result(conn)
        .optional()?;
    let Some((nombres, paterno, materno, nacimiento, defuncion)) = person else {
        return Err(ApiError::no_encontrado());
    };
    if let Some(ambito) = scope {
        let comuna: Option<String> = integrantes::table
            .inner_join(hogares::table)
            .filter(integrantes::run.eq(run.numero() as i32))
            .select(hogares::cut)
            .get_result(conn)
            .optional()?;
        if !comuna.is_some_and(|c| ambito.contiene(&c)) {
            return Err(ApiError::fuera_de_ambito());
        }
    }
    let same = |claimed: &Option<String>, actual: &str| {
        claimed.as_ref().map(|c| normalize(c) == normalize(actual))
    };
    Ok(ValidacionIdentidad {
        run: Some(run.to_string()),
        coincidencias: Some(Coincidencias {
            nombres: same(&claim.nombres, &nombres),
            apellido_paterno: same(&claim.apellido_paterno, &paterno),
            apellido_materno: same(&claim.apellido_materno, &materno),
            fecha_nacimiento: claim.fecha_nacimiento.map(|d| d == nacimiento),
        }),
        vivo: Some(defuncion.is_none()),
    })
}

/// ValidarIdentidad as the agreement may ask it: every compared field must be granted. An
/// empty claimed value is no claim (the same on every transport). A comparison that does not
/// match uses up one of the agreement's daily comparisons for this person
/// (`broker.failed_validations_per_day`): asked again and again, the answer would give the
/// registry's value away.
pub fn responder(
    admission: &Admission,
    conn: &mut DbConnection,
    run: Run,
    claim: &Afirmacion,
) -> Result<ValidacionIdentidad, ApiError> {
    let convenio = &admission.convenio;
    let given = |v: &Option<String>| v.clone().filter(|t| !t.trim().is_empty());
    let claim = Afirmacion {
        run: claim.run.clone(),
        nombres: given(&claim.nombres),
        apellido_paterno: given(&claim.apellido_paterno),
        apellido_materno: given(&claim.apellido_materno),
        fecha_nacimiento: claim.fecha_nacimiento,
    };
    check_grant(convenio, &claim)?;
    let reserva = admission.reservar_validacion(run)?;
    let answer = validar(conn, run, &claim, convenio.ambito);
    if answer.as_ref().is_ok_and(|a| !a.coincide_todo()) {
        // The place stays taken: this comparison did not match.
        drop(reserva);
    } else {
        reserva.liberar();
    }
    answer
}

/// ValidarIdentidad (REST `POST /api/v1/identidad/validaciones`, SOAP ValidarIdentidad).
pub struct ValidarIdentidad;

/// A claim about a person, with its RUN read.
#[derive(Debug, Clone)]
pub struct Validacion {
    pub run: Run,
    pub afirmacion: Afirmacion,
}

impl Op for ValidarIdentidad {
    const OPERATION: Operation = Operation::ValidarIdentidad;
    type Request = Validacion;
    type Response = ValidacionIdentidad;

    fn subjects(v: &Validacion) -> Vec<Run> {
        vec![v.run]
    }

    fn handle(
        _: &Core,
        admission: &Admission,
        conn: &mut DbConnection,
        v: Validacion,
    ) -> Result<ValidacionIdentidad, ApiError> {
        responder(admission, conn, v.run, &v.afirmacion)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_compare_without_accents_case_or_spacing() {
        assert_eq!(normalize("  maría   josé "), "MARIA JOSE");
        assert_eq!(normalize("NÚÑEZ"), "NUÑEZ");
        assert_ne!(normalize("NUÑEZ"), normalize("NUNEZ"));
    }
}
