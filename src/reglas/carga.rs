//! Reading a rules file: TOML into checked [`Rules`], or the first problem in file order with
//! its line.

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

use super::{
    Condicion, Cortes, POSTULABLES, PROGRAMAS, Prioridad, Programa, Regla, Rules, RulesError,
};
use crate::domain::{Cut, Puntaje, Quintil};

/// The conditions a rule may name, as written in the file.
const CONDICIONES: [&str; 7] = [
    "vivo",
    "tiene_ficha",
    "puntaje_max",
    "puntaje_min",
    "quintil_max",
    "edad_min",
    "edad_max",
];

/// The conditions only a postulation's checks may name (`[postulaciones]`).
const CONDICIONES_POSTULACION: [&str; 6] = [
    "en_comuna",
    "sin_beneficio",
    "causante_edad_max",
    "mismo_hogar",
    "ingreso_pc_max",
    "puntaje_corte",
];

/// Which section of the file a program is read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Seccion {
    /// `[programas]`: ConsultarElegibilidad.
    Programas,
    /// `[postulaciones]`: the checks of a postulation.
    Postulaciones,
}

impl Seccion {
    fn nombre(self) -> &'static str {
        match self {
            Seccion::Programas => "programas",
            Seccion::Postulaciones => "postulaciones",
        }
    }

    fn codigos(self) -> &'static [&'static str] {
        match self {
            Seccion::Programas => &PROGRAMAS,
            Seccion::Postulaciones => &POSTULABLES,
        }
    }
}

/// The oldest age a rule may name.
const EDAD_MAX: i64 = 150;

/// The highest monthly income per head (CLP) a rule may name.
const INGRESO_MAX: i64 = 100_000_000;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Archivo {
    programas: BTreeMap<Spanned<String>, ProgramaToml>,
    #[serde(default)]
    postulaciones: BTreeMap<Spanned<String>, ProgramaToml>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ProgramaToml {
    nombre: Spanned<String>,
    #[serde(default)]
    reglas: Vec<Spanned<ReglaToml>>,
    /// Postulations only: the waiting list's order.
    prioridad: Option<Spanned<Vec<Spanned<String>>>>,
    /// Postulations only: the cut-offs of a `puntaje_corte` rule.
    cortes: Option<Spanned<BTreeMap<Spanned<String>, Spanned<i64>>>>,
    /// Postulations only: the monthly amount a decree grants (SUF: per causante).
    monto: Option<Spanned<i64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReglaToml {
    id: Spanned<String>,
    condicion: Spanned<String>,
    valor: Option<Spanned<i64>>,
    /// `sin_beneficio` only: the programs.
    programas: Option<Spanned<Vec<Spanned<String>>>>,
    motivo: Spanned<String>,
}

/// A problem at a byte offset of the text.
type Problema = (usize, String);

pub(super) fn parse(text: &str, origin: &str) -> Result<Rules, RulesError> {
    let invalid = |line, problem| RulesError::Invalid {
        origin: origin.to_owned(),
        line,
        problem,
    };
    let archivo: Archivo = toml::from_str(text).map_err(|e| {
        invalid(
            e.span().map(|s| line_of(text, s.start)),
            // toml's messages may span lines ("invalid table header\nduplicate key …").
            e.message().trim().replace('\n', ": "),
        )
    })?;
    let mut problemas = Vec::new();
    let programas = seccion(text, Seccion::Programas, archivo.programas, &mut problemas);
    let postulaciones = seccion(
        text,
        Seccion::Postulaciones,
        archivo.postulaciones,
        &mut problemas,
    );
    match problemas.into_iter().min_by_key(|(offset, _)| *offset) {
        Some((offset, problem)) => Err(invalid(Some(line_of(text, offset)), problem)),
        None => Ok(Rules {
            programas,
            postulaciones,
        }),
    }
}

/// Checks the programs of one section; rule ids are unique within it.
fn seccion(
    text: &str,
    seccion: Seccion,
    tabla: BTreeMap<Spanned<String>, ProgramaToml>,
    problemas: &mut Vec<Problema>,
) -> Vec<Programa> {
    let codigos = seccion.codigos();
    let mut programas = Vec::new();
    let mut ids = Vec::new();
    for (codigo, programa) in tabla {
        match codigos.iter().find(|p| **p == codigo.get_ref()) {
            Some(codigo_ok) => {
                let (checked, rule_ids) =
                    check_programa(codigo_ok, &codigo, programa, seccion, problemas);
                ids.extend(rule_ids);
                programas.extend(checked);
            }
            None => problemas.push((
                codigo.span().start,
                format!(
                    "unknown program `{}` in [{}]; expected one of {}",
                    codigo.get_ref(),
                    seccion.nombre(),
                    codigos.join(", ")
                ),
            )),
        }
    }
    ids.sort_by_key(|(offset, _)| *offset);
    for (i, (offset, id)) in ids.iter().enumerate() {
        if let Some((first, _)) = ids[..i].iter().find(|(_, other)| other == id) {
            problemas.push((
                *offset,
                format!(
                    "duplicate rule id `{id}` (first used on line {})",
                    line_of(text, *first)
                ),
            ));
        }
    }
    programas.sort_by_key(|p| codigos.iter().position(|c| *c == p.codigo));
    programas
}

/// Checks one program: the program when it is sound, and its rule ids with their offsets.
fn check_programa(
    codigo: &'static str,
    key: &Spanned<String>,
    programa: ProgramaToml,
    seccion: Seccion,
    problemas: &mut Vec<Problema>,
) -> (Option<Programa>, Vec<(usize, String)>) {
    let before = problemas.len();
    let prioridad = check_prioridad(programa.prioridad.as_ref(), seccion, problemas);
    let cortes = check_cortes(programa.cortes.as_ref(), seccion, problemas);
    let monto = check_monto(codigo, key, programa.monto.as_ref(), seccion, problemas);
    if programa.nombre.get_ref().trim().is_empty() {
        problemas.push((programa.nombre.span().start, "empty nombre".into()));
    }
    if programa.reglas.is_empty() {
        problemas.push((
            key.span().start,
            format!(
                "program `{codigo}` has no rules ([[{}.{codigo}.reglas]])",
                seccion.nombre()
            ),
        ));
    }
    let mut ficha_vista = false;
    let mut reglas = Vec::new();
    let mut ids = Vec::new();
    for regla in programa.reglas {
        let start = regla.span().start;
        let regla = regla.into_inner();
        let id = regla.id.get_ref().trim();
        if id.is_empty() || PROGRAMAS.contains(&id) {
            problemas.push((
                regla.id.span().start,
                format!("rule id `{id}` must be non-empty and not a program name"),
            ));
        }
        ids.push((regla.id.span().start, id.to_owned()));
        let Some(condicion) = check_condicion(&regla, start, seccion, problemas) else {
            continue;
        };
        match condicion {
            Condicion::TieneFicha => ficha_vista = true,
            Condicion::PuntajeCorte if cortes.is_none() => problemas.push((
                regla.condicion.span().start,
                format!("rule `{id}`: `puntaje_corte` needs the program's cortes with a defecto"),
            )),
            Condicion::PuntajeMax(_)
            | Condicion::PuntajeMin(_)
            | Condicion::QuintilMax(_)
            | Condicion::PuntajeCorte
                if !ficha_vista =>
            {
                problemas.push((
                    regla.condicion.span().start,
                    format!(
                        "rule `{id}`: a score condition must come after a `tiene_ficha` rule \
                         of the same program"
                    ),
                ));
            }
            _ => {}
        }
        let motivo = regla.motivo.get_ref().trim();
        if motivo.is_empty() {
            problemas.push((
                regla.motivo.span().start,
                format!("rule `{id}`: empty motivo"),
            ));
        }
        let motivo = match &regla.valor {
            Some(valor) => motivo.replace("{valor}", &miles(*valor.get_ref())),
            // The cut-off of the postulation's comuna, put in when the check runs.
            None if condicion == Condicion::PuntajeCorte => motivo.to_owned(),
            None if motivo.contains("{valor}") => {
                problemas.push((
                    regla.motivo.span().start,
                    format!("rule `{id}`: motivo uses {{valor}} but the rule has no valor"),
                ));
                continue;
            }
            None => motivo.to_owned(),
        };
        reglas.push(Regla {
            id: id.to_owned(),
            condicion,
            motivo,
        });
    }
    if let (Some(raw), Some(_)) = (&programa.cortes, &cortes)
        && !reglas
            .iter()
            .any(|r| r.condicion == Condicion::PuntajeCorte)
    {
        problemas.push((
            raw.span().start,
            format!("cortes of `{codigo}` without a `puntaje_corte` rule"),
        ));
    }
    let programa = Programa {
        codigo,
        nombre: programa.nombre.into_inner().trim().to_owned(),
        reglas,
        prioridad,
        cortes,
        monto,
    };
    ((problemas.len() == before).then_some(programa), ids)
}

/// Highest monthly amount a program may grant (CLP): far above any of these benefits.
const MONTO_MAX: i64 = 10_000_000;

/// A postulation program's monthly amount (required there, 1 to [`MONTO_MAX`]); none under
/// `[programas]`.
fn check_monto(
    codigo: &str,
    key: &Spanned<String>,
    raw: Option<&Spanned<i64>>,
    seccion: Seccion,
    problemas: &mut Vec<Problema>,
) -> Option<i64> {
    match (seccion, raw) {
        (Seccion::Programas, None) => None,
        (Seccion::Programas, Some(raw)) => {
            problemas.push((
                raw.span().start,
                "monto applies only under [postulaciones]".into(),
            ));
            None
        }
        (Seccion::Postulaciones, None) => {
            problemas.push((
                key.span().start,
                format!(
                    "postulation program `{codigo}` has no monto (CLP a month a decree grants)"
                ),
            ));
            None
        }
        (Seccion::Postulaciones, Some(raw)) => {
            let monto = *raw.get_ref();
            if (1..=MONTO_MAX).contains(&monto) {
                Some(monto)
            } else {
                problemas.push((
                    raw.span().start,
                    format!("monto must be from 1 to {MONTO_MAX} CLP a month"),
                ));
                None
            }
        }
    }
}

/// The rule's condition with its checked valor, or `None` after recording the problem.
fn check_condicion(
    regla: &ReglaToml,
    start: usize,
    seccion: Seccion,
    problemas: &mut Vec<Problema>,
) -> Option<Condicion> {
    let id = regla.id.get_ref().trim();
    let nombre = regla.condicion.get_ref().as_str();
    let de_postulacion = CONDICIONES_POSTULACION.contains(&nombre);
    if de_postulacion && seccion == Seccion::Programas {
        problemas.push((
            regla.condicion.span().start,
            format!("rule `{id}`: condition `{nombre}` applies only under [postulaciones]"),
        ));
        return None;
    }
    if !CONDICIONES.contains(&nombre) && !de_postulacion {
        let mut todas = CONDICIONES.to_vec();
        if seccion == Seccion::Postulaciones {
            todas.extend(CONDICIONES_POSTULACION);
        }
        problemas.push((
            regla.condicion.span().start,
            format!(
                "rule `{id}`: unknown condition `{nombre}`; expected one of {}",
                todas.join(", ")
            ),
        ));
        return None;
    }
    match (&regla.programas, nombre) {
        (Some(programas), "sin_beneficio") => {
            if regla.valor.is_some() {
                problemas.push((
                    start,
                    format!("rule `{id}`: `sin_beneficio` takes programas, not a valor"),
                ));
                return None;
            }
            return check_sin_beneficio(id, programas, problemas);
        }
        (None, "sin_beneficio") => {
            problemas.push((
                start,
                format!("rule `{id}`: condition `sin_beneficio` needs programas = [...]"),
            ));
            return None;
        }
        (Some(programas), _) => {
            problemas.push((
                programas.span().start,
                format!("rule `{id}`: programas applies only to `sin_beneficio`"),
            ));
            return None;
        }
        (None, _) => {}
    }
    let sin_valor = match nombre {
        "vivo" => Some(Condicion::Vivo),
        "tiene_ficha" => Some(Condicion::TieneFicha),
        "en_comuna" => Some(Condicion::EnComuna),
        "mismo_hogar" => Some(Condicion::MismoHogar),
        "puntaje_corte" => Some(Condicion::PuntajeCorte),
        _ => None,
    };
    let (valor, at) = match (&regla.valor, sin_valor) {
        (None, Some(c)) => return Some(c),
        (Some(valor), Some(_)) => {
            problemas.push((
                valor.span().start,
                format!("rule `{id}`: condition `{nombre}` takes no valor"),
            ));
            return None;
        }
        (None, None) => {
            problemas.push((
                start,
                format!("rule `{id}`: condition `{nombre}` needs a valor"),
            ));
            return None;
        }
        (Some(valor), None) => (*valor.get_ref(), valor.span().start),
    };
    let edad = || {
        u32::try_from(valor)
            .ok()
            .filter(|e| i64::from(*e) <= EDAD_MAX)
    };
    let checked = match nombre {
        "puntaje_max" => Puntaje::new(valor).ok().map(Condicion::PuntajeMax),
        "puntaje_min" => Puntaje::new(valor).ok().map(Condicion::PuntajeMin),
        "quintil_max" => usize::try_from(valor)
            .ok()
            .and_then(|q| Quintil::ALL.get(q.checked_sub(1)?))
            .map(|q| Condicion::QuintilMax(*q)),
        "edad_min" => edad().map(Condicion::EdadMin),
        "causante_edad_max" => edad().map(Condicion::CausanteEdadMax),
        "ingreso_pc_max" => (0..=INGRESO_MAX)
            .contains(&valor)
            .then_some(Condicion::IngresoPcMax(valor)),
        _ => edad().map(Condicion::EdadMax),
    };
    if checked.is_none() {
        let range = match nombre {
            "quintil_max" => "a quintile from 1 to 5".to_owned(),
            "edad_min" | "edad_max" | "causante_edad_max" => format!("an age from 0 to {EDAD_MAX}"),
            "ingreso_pc_max" => format!("an income from 0 to {INGRESO_MAX} CLP a month"),
            _ => format!("an FPS score from {} to {}", Puntaje::MIN, Puntaje::MAX),
        };
        problemas.push((
            at,
            format!("rule `{id}`: valor {valor} for `{nombre}` must be {range}"),
        ));
    }
    checked
}

/// The programs of a `sin_beneficio` rule: known, not repeated, at least one.
fn check_sin_beneficio(
    id: &str,
    raw: &Spanned<Vec<Spanned<String>>>,
    problemas: &mut Vec<Problema>,
) -> Option<Condicion> {
    let before = problemas.len();
    if raw.get_ref().is_empty() {
        problemas.push((raw.span().start, format!("rule `{id}`: programas is empty")));
    }
    let mut programas = Vec::new();
    for nombre in raw.get_ref() {
        match PROGRAMAS.iter().find(|p| **p == nombre.get_ref()) {
            None => problemas.push((
                nombre.span().start,
                format!(
                    "rule `{id}`: unknown program `{}`; expected one of {}",
                    nombre.get_ref(),
                    PROGRAMAS.join(", ")
                ),
            )),
            Some(p) if programas.contains(p) => problemas.push((
                nombre.span().start,
                format!("rule `{id}`: program `{p}` is listed twice"),
            )),
            Some(p) => programas.push(*p),
        }
    }
    (problemas.len() == before).then_some(Condicion::SinBeneficio(programas))
}

/// The waiting list's order: postulations only, each key known and once.
fn check_prioridad(
    raw: Option<&Spanned<Vec<Spanned<String>>>>,
    seccion: Seccion,
    problemas: &mut Vec<Problema>,
) -> Vec<Prioridad> {
    let Some(raw) = raw else {
        return Vec::new();
    };
    if seccion == Seccion::Programas {
        problemas.push((
            raw.span().start,
            "prioridad applies only under [postulaciones]".into(),
        ));
        return Vec::new();
    }
    let mut prioridad = Vec::new();
    for clave in raw.get_ref() {
        match Prioridad::ALL
            .into_iter()
            .find(|p| p.as_str() == clave.get_ref())
        {
            None => problemas.push((
                clave.span().start,
                format!(
                    "unknown prioridad `{}`; expected {}",
                    clave.get_ref(),
                    Prioridad::ALL.map(Prioridad::as_str).join(", ")
                ),
            )),
            Some(p) if prioridad.contains(&p) => problemas.push((
                clave.span().start,
                format!("prioridad `{}` is listed twice", p.as_str()),
            )),
            Some(p) => prioridad.push(p),
        }
    }
    if raw.get_ref().is_empty() {
        problemas.push((raw.span().start, "prioridad is empty".into()));
    }
    prioridad
}

/// The cut-offs: `defecto`, two-digit region codes and CUTs of the catalogue, each a score.
fn check_cortes(
    raw: Option<&Spanned<BTreeMap<Spanned<String>, Spanned<i64>>>>,
    seccion: Seccion,
    problemas: &mut Vec<Problema>,
) -> Option<Cortes> {
    let raw = raw?;
    if seccion == Seccion::Programas {
        problemas.push((
            raw.span().start,
            "cortes applies only under [postulaciones]".into(),
        ));
        return None;
    }
    let before = problemas.len();
    let mut cortes = Cortes::default();
    for (clave, valor) in raw.get_ref() {
        let Ok(puntaje) = Puntaje::new(*valor.get_ref()) else {
            problemas.push((
                valor.span().start,
                format!(
                    "cortes.{}: {} must be an FPS score from {} to {}",
                    clave.get_ref(),
                    valor.get_ref(),
                    Puntaje::MIN,
                    Puntaje::MAX
                ),
            ));
            continue;
        };
        let clave_str = clave.get_ref().as_str();
        if clave_str == "defecto" {
            cortes.defecto = Some(puntaje);
        } else if clave_str.len() == 2
            && crate::domain::regiones()
                .iter()
                .any(|r| r.codigo == clave_str)
        {
            cortes.regiones.insert(clave_str.to_owned(), puntaje);
        } else if let Ok(cut) = Cut::parse(clave_str) {
            cortes.comunas.insert(cut.to_string(), puntaje);
        } else {
            problemas.push((
                clave.span().start,
                format!(
                    "cortes: `{clave_str}` is neither defecto, a region code (13) nor a comuna's CUT (13101)"
                ),
            ));
        }
    }
    if cortes.defecto.is_none() {
        problemas.push((raw.span().start, "cortes needs a defecto".into()));
    }
    (problemas.len() == before).then_some(cortes)
}

/// The 1-based line holding a byte offset.
fn line_of(text: &str, offset: usize) -> usize {
    let before = text.as_bytes().get(..offset).unwrap_or(text.as_bytes());
    before.iter().filter(|b| **b == b'\n').count() + 1
}

/// A whole number with Chilean thousands dots: 11734 → "11.734".
pub(super) fn miles(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    if n < 0 {
        out.push('-');
    }
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push('.');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    const PBS: &str = "\
[programas.PBS]
nombre = \"Pensión Básica Solidaria\"

[[programas.PBS.reglas]]
id = \"PBS-VIVO\"
condicion = \"vivo\"
motivo = \"Fallecido\"

[[programas.PBS.reglas]]
id = \"PBS-FICHA\"
condicion = \"tiene_ficha\"
motivo = \"Sin ficha\"
";

    /// The error for `PBS` followed by `extra`, as (line, message).
    fn error(extra: &str) -> (Option<usize>, String) {
        let text = format!("{PBS}{extra}");
        let err = Rules::from_toml(&text, "reglas.toml").unwrap_err();
        (err.line(), err.to_string())
    }

    fn assert_error(extra: &str, line: usize, words: &[&str]) {
        let (at, message) = error(extra);
        assert_eq!(at, Some(line), "{message}");
        assert!(
            message.starts_with(&format!("eligibility rules reglas.toml:{line}: ")),
            "{message}"
        );
        for word in words {
            assert!(message.contains(word), "{word:?} not in {message}");
        }
    }

    #[test]
    fn the_base_text_is_valid() {
        let rules = Rules::from_toml(PBS, "reglas.toml").unwrap();
        assert_eq!(rules.programs().collect::<Vec<_>>(), ["PBS"]);
    }

    #[test]
    fn unknown_condition_names_its_line() {
        let extra = "\n[[programas.PBS.reglas]]\nid = \"PBS-X\"\ncondicion = \"ingreso_max\"\n\
                     valor = 1\nmotivo = \"m\"\n";
        assert_error(
            extra,
            16,
            &["unknown condition `ingreso_max`", "PBS-X", "edad_min"],
        );
    }

    #[test]
    fn missing_or_misplaced_valor() {
        let extra = "\n[[programas.PBS.reglas]]\nid = \"PBS-P\"\ncondicion = \"puntaje_max\"\n\
                     motivo = \"m\"\n";
        assert_error(extra, 14, &["PBS-P", "`puntaje_max` needs a valor"]);
        let extra = "\n[[programas.PBS.reglas]]\nid = \"PBS-V\"\ncondicion = \"vivo\"\n\
                     valor = 3\nmotivo = \"m\"\n";
        assert_error(extra, 17, &["`vivo` takes no valor"]);
        let extra = "\n[[programas.PBS.reglas]]\nid = \"PBS-P\"\ncondicion = \"puntaje_max\"\n\
                     valor = 20001\nmotivo = \"m\"\n";
        assert_error(extra, 17, &["valor 20001", "FPS score from 0 to 20000"]);
        let extra = "\n[[programas.PBS.reglas]]\nid = \"PBS-Q\"\ncondicion = \"quintil_max\"\n\
                     valor = 0\nmotivo = \"m\"\n";
        assert_error(extra, 17, &["quintile from 1 to 5"]);
        let extra = "\n[[programas.PBS.reglas]]\nid = \"PBS-E\"\ncondicion = \"edad_min\"\n\
                     valor = -1\nmotivo = \"m\"\n";
        assert_error(extra, 17, &["age from 0 to 150"]);
        let extra = "\n[[programas.PBS.reglas]]\nid = \"PBS-E\"\ncondicion = \"edad_min\"\n\
                     valor = 65.5\nmotivo = \"m\"\n";
        assert_error(extra, 17, &["i64"]);
        let extra = "\n[[programas.PBS.reglas]]\nid = \"PBS-E\"\ncondicion = \"vivo\"\n\
                     motivo = \"Menor de {valor}\"\n";
        assert_error(extra, 17, &["{valor}", "no valor"]);
    }

    #[test]
    fn unknown_program_names_its_line() {
        let extra = "\n[programas.ORASMI]\nnombre = \"ORASMI\"\nreglas = []\n";
        assert_error(extra, 14, &["unknown program `ORASMI`", "BBNN_GRATUIDAD"]);
    }

    #[test]
    fn duplicate_rule_ids_name_the_later_line_and_the_first() {
        let extra = "\n[programas.APS]\nnombre = \"APS\"\n\n[[programas.APS.reglas]]\n\
                     id = \"PBS-FICHA\"\ncondicion = \"vivo\"\nmotivo = \"m\"\n";
        // APS sorts before PBS, yet the later definition in the file is the one reported.
        assert_error(
            extra,
            18,
            &["duplicate rule id `PBS-FICHA`", "first used on line 10"],
        );
        let extra = "\n[[programas.PBS.reglas]]\nid = \"APS\"\ncondicion = \"vivo\"\n\
                     motivo = \"m\"\n";
        assert_error(extra, 15, &["`APS`", "not a program name"]);
    }

    #[test]
    fn a_program_without_rules_is_refused() {
        assert_error(
            "\n[programas.SUF]\nnombre = \"SUF\"\n",
            14,
            &["`SUF` has no rules"],
        );
        assert_error(
            "\n[programas.SUF]\nnombre = \"SUF\"\nreglas = []\n",
            14,
            &["no rules"],
        );
    }

    #[test]
    fn a_score_rule_needs_a_ficha_rule_before_it() {
        let text = "[programas.FSV1]\nnombre = \"FSV I\"\n\n[[programas.FSV1.reglas]]\n\
                    id = \"F-P\"\ncondicion = \"puntaje_max\"\nvalor = 8500\nmotivo = \"m\"\n";
        let err = Rules::from_toml(text, "x.toml").unwrap_err();
        assert_eq!(err.line(), Some(6), "{err}");
        assert!(
            err.to_string().contains("after a `tiene_ficha` rule"),
            "{err}"
        );
    }

    #[test]
    fn toml_and_shape_errors_name_their_line() {
        assert_error(
            "\n[[programas.PBS.reglas]]\nid = \"PBS-Z\"\nmotiv = \"m\"\n",
            16,
            &["motiv"],
        );
        assert_error(
            "\n[[programas.PBS.reglas]]\nid = \"PBS-Z\"\ncondicion = \"vivo\"\n",
            14,
            &["missing field `motivo`"],
        );
        assert_error("\n[[programas.PBS.reglas]]\nid = \"PBS-Z\n", 15, &[]);
        assert_error("\n[programas.PBS]\nnombre = \"otra vez\"\n", 14, &["PBS"]);
        let err = Rules::from_toml("", "vacío.toml").unwrap_err();
        assert!(err.to_string().contains("vacío.toml"), "{err}");
        assert!(err.to_string().contains("programas"), "{err}");
    }

    #[test]
    fn the_first_problem_in_file_order_is_reported() {
        let extra = "\n[[programas.PBS.reglas]]\nid = \"PBS-A\"\ncondicion = \"nada\"\nmotivo = \"m\"\
                     \n\n[[programas.PBS.reglas]]\nid = \"PBS-B\"\ncondicion = \"otra\"\nmotivo = \"m\"\n";
        assert_error(extra, 16, &["`nada`"]);
    }

    #[test]
    fn load_names_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("elegibilidad.toml");
        let err = Rules::load(&path).unwrap_err();
        assert!(matches!(err, RulesError::Read { .. }));
        assert!(err.to_string().contains("elegibilidad.toml"), "{err}");
        std::fs::write(&path, format!("{PBS}\n[programas.NOPE]\nnombre = \"x\"\n")).unwrap();
        let err = Rules::load(&path).unwrap_err();
        let expected = format!("eligibility rules {}:14: unknown program", path.display());
        assert!(err.to_string().starts_with(&expected), "{err}");
        std::fs::write(&path, PBS).unwrap();
        assert!(Rules::load(Path::new(&path)).is_ok());
    }

    #[test]
    fn thousands_are_dotted() {
        assert_eq!(miles(0), "0");
        assert_eq!(miles(999), "999");
        assert_eq!(miles(8_500), "8.500");
        assert_eq!(miles(11_734), "11.734");
        assert_eq!(miles(1_234_567), "1.234.567");
        assert_eq!(miles(-1_000), "-1.000");
    }
}
