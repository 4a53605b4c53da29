//! Reading a rules file: TOML into checked [`Rules`], or the first problem in file order with
//! its line.

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

use super::{Condicion, PROGRAMAS, Programa, Regla, Rules, RulesError};
use crate::domain::{Puntaje, Quintil};

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

/// The oldest age a rule may name.
const EDAD_MAX: i64 = 150;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Archivo {
    programas: BTreeMap<Spanned<String>, ProgramaToml>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ProgramaToml {
    nombre: Spanned<String>,
    #[serde(default)]
    reglas: Vec<Spanned<ReglaToml>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReglaToml {
    id: Spanned<String>,
    condicion: Spanned<String>,
    valor: Option<Spanned<i64>>,
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
    let mut programas = Vec::new();
    let mut ids = Vec::new();
    for (codigo, programa) in archivo.programas {
        match PROGRAMAS.iter().find(|p| **p == codigo.get_ref()) {
            Some(codigo_ok) => {
                let (checked, rule_ids) =
                    check_programa(codigo_ok, &codigo, programa, &mut problemas);
                ids.extend(rule_ids);
                programas.extend(checked);
            }
            None => problemas.push((
                codigo.span().start,
                format!(
                    "unknown program `{}`; expected one of {}",
                    codigo.get_ref(),
                    PROGRAMAS.join(", ")
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
    match problemas.into_iter().min_by_key(|(offset, _)| *offset) {
        Some((offset, problem)) => Err(invalid(Some(line_of(text, offset)), problem)),
        None => {
            programas.sort_by_key(|p| PROGRAMAS.iter().position(|c| *c == p.codigo));
            Ok(Rules { programas })
        }
    }
}

/// Checks one program: the program when it is sound, and its rule ids with their offsets.
fn check_programa(
    codigo: &'static str,
    key: &Spanned<String>,
    programa: ProgramaToml,
    problemas: &mut Vec<Problema>,
) -> (Option<Programa>, Vec<(usize, String)>) {
    let before = problemas.len();
    if programa.nombre.get_ref().trim().is_empty() {
        problemas.push((programa.nombre.span().start, "empty nombre".into()));
    }
    if programa.reglas.is_empty() {
        problemas.push((
            key.span().start,
            format!("program `{codigo}` has no rules ([[programas.{codigo}.reglas]])"),
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
        let Some(condicion) = check_condicion(&regla, start, problemas) else {
            continue;
        };
        match condicion {
            Condicion::TieneFicha => ficha_vista = true,
            Condicion::PuntajeMax(_) | Condicion::PuntajeMin(_) | Condicion::QuintilMax(_)
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
    let programa = Programa {
        codigo,
        nombre: programa.nombre.into_inner().trim().to_owned(),
        reglas,
    };
    ((problemas.len() == before).then_some(programa), ids)
}

/// The rule's condition with its checked valor, or `None` after recording the problem.
fn check_condicion(
    regla: &ReglaToml,
    start: usize,
    problemas: &mut Vec<Problema>,
) -> Option<Condicion> {
    let id = regla.id.get_ref().trim();
    let nombre = regla.condicion.get_ref().as_str();
    if !CONDICIONES.contains(&nombre) {
        problemas.push((
            regla.condicion.span().start,
            format!(
                "rule `{id}`: unknown condition `{nombre}`; expected one of {}",
                CONDICIONES.join(", ")
            ),
        ));
        return None;
    }
    let sin_valor = match nombre {
        "vivo" => Some(Condicion::Vivo),
        "tiene_ficha" => Some(Condicion::TieneFicha),
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
        _ => edad().map(Condicion::EdadMax),
    };
    if checked.is_none() {
        let range = match nombre {
            "quintil_max" => "a quintile from 1 to 5".to_owned(),
            "edad_min" | "edad_max" => format!("an age from 0 to {EDAD_MAX}"),
            _ => format!("an FPS score from {} to {}", Puntaje::MIN, Puntaje::MAX),
        };
        problemas.push((
            at,
            format!("rule `{id}`: valor {valor} for `{nombre}` must be {range}"),
        ));
    }
    checked
}

/// The 1-based line holding a byte offset.
fn line_of(text: &str, offset: usize) -> usize {
    let before = text.as_bytes().get(..offset).unwrap_or(text.as_bytes());
    before.iter().filter(|b| **b == b'\n').count() + 1
}

/// A whole number with Chilean thousands dots: 11734 → "11.734".
fn miles(n: i64) -> String {
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
