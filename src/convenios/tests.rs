//! Loading whole folders: the shipped agreements, every validation error (file and line), lookup
//! by certificate, and validity dates. The helpers here write agreement files into a temporary
//! folder; each test module uses them.

mod lookup;
mod shipped;
mod suscripciones;
mod validation;

use std::fs;

use chrono::NaiveDate;
use tempfile::TempDir;

use super::*;

/// A valid agreement; `ID` stands for its id.
const GOOD: &str = r#"id = "ID"
agency = "Servicio de prueba"
legal_basis = "Ley 19.628"
purpose = "Pruebas"
valid_from = 2026-01-01
valid_until = 2028-12-31

[limits]
per_second = 5
burst = 10
daily_quota = 1000

[[clients]]
subject_cn = "ID"

[operations.ConsultarFichaFPS]
fields = ["run", "puntaje"]
"#;

pub(super) fn good(id: &str) -> String {
    GOOD.replace("ID", id)
}

pub(super) fn write_all(files: &[(&str, &str)]) -> TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in files {
        fs::write(dir.path().join(name), text).unwrap();
    }
    dir
}

pub(super) fn issues(files: &[(&str, &str)]) -> Vec<ConvenioIssue> {
    let dir = write_all(files);
    match ConvenioSet::load_dir(dir.path()) {
        Ok(set) => panic!("loaded {} agreements, expected issues", set.len()),
        Err(ConvenioErrors(issues)) => issues,
    }
}

/// The 1-based line of the first line of `text` containing `needle`.
pub(super) fn line_of(text: &str, needle: &str) -> usize {
    text.lines().position(|l| l.contains(needle)).unwrap() + 1
}

/// Loads `text` as `demo.toml` and checks it gives exactly one issue, on the line holding
/// `needle`, whose message contains `message`.
pub(super) fn one_issue(text: &str, needle: &str, message: &str) {
    let found = issues(&[("demo.toml", text)]);
    assert_eq!(found.len(), 1, "{found:#?}");
    let issue = &found[0];
    assert_eq!(issue.file.file_name().unwrap(), "demo.toml");
    assert_eq!(issue.line, Some(line_of(text, needle)), "{issue}");
    assert!(issue.message.contains(message), "{issue}");
}

pub(super) fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}
