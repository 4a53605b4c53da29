//! Every validation problem is reported with its file and line.

use super::*;
use crate::catalog::Operation::{ConsultarElegibilidad, ConsultarFichaFPS, ValidarIdentidad};
use crate::domain::{Ambito, Nivel};

#[test]
fn the_template_of_these_tests_loads() {
    let dir = write_all(&[("demo.toml", &good("demo")), ("README.md", "# not toml")]);
    let set = ConvenioSet::load_dir(dir.path()).unwrap();
    assert_eq!(set.len(), 1);
    let a = set.iter().next().unwrap();
    assert_eq!(
        a.grant(ConsultarFichaFPS).unwrap().fields,
        FieldSet::new(["run", "puntaje"])
    );
    assert!(a.grant(ValidarIdentidad).is_none());
    assert_eq!(a.ambito, None);
}

#[test]
fn toml_syntax_and_type_errors_name_their_line() {
    let g = good("demo");
    one_issue(&g.replace("burst = 10", "burst = "), "burst =", "");
    one_issue(
        &g.replace("burst = 10", "burst = \"diez\""),
        "burst =",
        "invalid type",
    );
    one_issue(&g.replace("burst = 10", "burst = -1"), "burst =", "u32");
    one_issue(
        &g.replace("valid_from = 2026-01-01", "valid_from = \"2026-01-01\""),
        "valid_from",
        "datetime",
    );
}

#[test]
fn unknown_keys_name_their_line() {
    let g = good("demo");
    one_issue(
        &g.replace("burst = 10", "burst = 10\nrafaga = 10"),
        "rafaga",
        "unknown field `rafaga`",
    );
    one_issue(
        &g.replace("purpose", "proposito"),
        "proposito",
        "unknown field `proposito`",
    );
    one_issue(
        &format!("{g}programa = [\"PBS\"]\n"),
        "programa =",
        "unknown field `programa`",
    );
    one_issue(
        &g.replace("subject_cn = \"demo\"", "subject = \"demo\""),
        "subject =",
        "unknown field `subject`",
    );
}

#[test]
fn the_id_must_be_the_file_name() {
    let text = good("demo").replacen("id = \"demo\"", "id = \"otro\"", 1);
    one_issue(&text, "id = ", "does not match the file name");
    let text = good("demo").replacen("id = \"demo\"", "id = \"Demo\"", 1);
    one_issue(&text, "id = ", "is not an agreement id");

    let found = issues(&[("Demo.toml", &good("demo"))]);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].line, None);
    assert!(
        found[0].message.contains("file name \"Demo\""),
        "{}",
        found[0]
    );
}

#[test]
fn operations_and_fields_must_come_from_the_catalogue() {
    let g = good("demo");
    one_issue(
        &g.replace("ConsultarFichaFPS", "ConsultarFicha"),
        "[operations.",
        "unknown operation \"ConsultarFicha\"",
    );
    one_issue(
        &g.replace("\"puntaje\"", "\"integrantes.rut\""),
        "fields =",
        "\"integrantes.rut\" is not a field of ConsultarFichaFPS",
    );
    // A field of another operation is not a field of this one.
    one_issue(
        &g.replace("\"puntaje\"", "\"vivo\""),
        "fields =",
        "not a field of ConsultarFichaFPS",
    );
    one_issue(
        &g.replace("[\"run\", \"puntaje\"]", "[]"),
        "fields =",
        "empty",
    );
    one_issue(
        &g.replace("\"puntaje\"", "\"run\""),
        "fields =",
        "listed twice",
    );

    let text = g.replace(
        "fields = [\"run\", \"puntaje\"]",
        "fields = [\n  \"run\",\n  \"nombres\",\n]",
    );
    one_issue(&text, "\"nombres\"", "\"nombres\" is not a field");

    let text = g.replace(
        "\n[operations.ConsultarFichaFPS]\nfields = [\"run\", \"puntaje\"]\n",
        "\n",
    );
    let found = issues(&[("demo.toml", &text)]);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].line, None);
    assert!(found[0].message.contains("grants no operation"));
}

#[test]
fn programas_only_for_elegibilidad_and_from_the_list() {
    let g = good("demo");
    one_issue(
        &format!("{g}programas = [\"PBS\"]\n"),
        "programas",
        "only to ConsultarElegibilidad",
    );
    let eleg = format!("{g}\n[operations.ConsultarElegibilidad]\nfields = [\"elegible\"]\n");
    let load = ConvenioSet::load_dir(
        write_all(&[(
            "demo.toml",
            &format!("{eleg}programas = [\"SUF\", \"FSV1\"]\n"),
        )])
        .path(),
    );
    let set = load.unwrap();
    assert!(
        set.iter()
            .next()
            .unwrap()
            .grant(ConsultarElegibilidad)
            .unwrap()
            .allows_programa("SUF")
    );
    assert!(
        !set.iter()
            .next()
            .unwrap()
            .grant(ConsultarElegibilidad)
            .unwrap()
            .allows_programa("PBS")
    );
    one_issue(
        &format!("{eleg}programas = [\"PBS\", \"BONO\"]\n"),
        "programas",
        "unknown program \"BONO\"",
    );
    let post = format!("{g}\n[operations.PostularBeneficio]\nfields = [\"estado\"]\n");
    one_issue(&post, "PostularBeneficio", "must list its programas");
    one_issue(
        &format!("{post}programas = [\"SUF\", \"PBS\"]\n"),
        "programas",
        "unknown program \"PBS\"; the programs are SUF, PASIS, SAP",
    );
    one_issue(
        &format!("{eleg}programas = []\n"),
        "programas",
        "list the programs the agreement grants",
    );
    one_issue(
        &format!("{eleg}programas = [\"PBS\", \"PBS\"]\n"),
        "programas",
        "listed twice",
    );
}

#[test]
fn validity_must_be_dates_in_order() {
    let g = good("demo");
    one_issue(
        &g.replace("valid_until = 2028-12-31", "valid_until = 2025-12-31"),
        "valid_until",
        "valid_until 2025-12-31 is before valid_from 2026-01-01",
    );
    one_issue(
        &g.replace(
            "valid_from = 2026-01-01",
            "valid_from = 2026-01-01T00:00:00",
        ),
        "valid_from",
        "without a time",
    );
}

#[test]
fn clients_need_a_criterion_and_well_formed_pins() {
    let g = good("demo");
    let text = g.replace("[[clients]]\nsubject_cn = \"demo\"\n", "");
    let found = issues(&[("demo.toml", &text)]);
    assert_eq!((found.len(), found[0].line), (1, None), "{found:?}");
    assert!(found[0].message.contains("names no client"));

    one_issue(
        &g.replace("subject_cn = \"demo\"\n", ""),
        "[[clients]]",
        "neither subject_cn nor spki_sha256",
    );
    one_issue(
        &g.replace("subject_cn = \"demo\"", "subject_cn = \" \""),
        "subject_cn",
        "subject_cn is empty",
    );
    let bad_pins = [
        "abc123",
        &"z".repeat(64),
        "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSu=",
    ];
    for pin in bad_pins {
        let text = g.replace(
            "subject_cn = \"demo\"",
            &format!("subject_cn = \"demo\"\nspki_sha256 = \"{pin}\""),
        );
        one_issue(&text, "spki_sha256", "is not a SHA-256 pin");
        let text = g.replace(
            "subject_cn = \"demo\"",
            &format!("subject_cn = \"demo\"\nca_spki_sha256 = \"{pin}\""),
        );
        one_issue(&text, "ca_spki_sha256", "ca_spki_sha256");
    }
    // A CA alone would admit whatever that CA issues.
    one_issue(
        &g.replace(
            "subject_cn = \"demo\"",
            &format!("ca_spki_sha256 = \"{}\"", "ab".repeat(32)),
        ),
        "[[clients]]",
        "ca_spki_sha256 alone",
    );
}

#[test]
fn limits_must_be_positive() {
    let g = good("demo");
    one_issue(
        &g.replace("per_second = 5", "per_second = 0"),
        "per_second",
        "limits.per_second must be at least 1",
    );
    one_issue(
        &g.replace("burst = 10", "burst = 0"),
        "burst",
        "limits.burst must be at least 1",
    );
    one_issue(
        &g.replace("daily_quota = 1000", "daily_quota = 0"),
        "daily_quota",
        "limits.daily_quota must be at least 1",
    );
}

/// `scope` became `ambito` (2026-12): a file that still says so is refused, naming the key,
/// rather than read as a national agreement.
#[test]
fn the_old_scope_key_is_refused() {
    let old = good("demo").replace(
        "valid_until = 2028-12-31",
        "valid_until = 2028-12-31\nscope = \"13101\"",
    );
    one_issue(&old, "scope", "unknown field `scope`");
}

#[test]
fn ambito_must_be_a_comuna() {
    let g = good("demo");
    let with = |s: &str| {
        g.replace(
            "valid_until = 2028-12-31",
            &format!("valid_until = 2028-12-31\nambito = \"{s}\""),
        )
    };
    one_issue(&with("99999"), "ambito", "no comuna has that code");
    one_issue(&with("131"), "ambito", "five digits");
    let set = ConvenioSet::load_dir(write_all(&[("demo.toml", &with("05101"))]).path()).unwrap();
    assert_eq!(
        set.iter().next().unwrap().ambito,
        Some(Ambito::Comuna(Cut::parse("05101").unwrap()))
    );
}

/// A Gobernación's agreement is scoped to its province, an Intendencia's to its region; the
/// codes are the catalogue's and the table names exactly one territory.
#[test]
fn ambito_may_be_a_province_or_a_region() {
    let g = good("demo");
    let with = |s: &str| {
        g.replace(
            "valid_until = 2028-12-31",
            &format!("valid_until = 2028-12-31\nambito = {s}"),
        )
    };
    let load = |text: &str| {
        let set = ConvenioSet::load_dir(write_all(&[("demo.toml", text)]).path()).unwrap();
        set.iter().next().unwrap().ambito
    };
    let palena = load(&with("{ provincia = \"104\" }")).unwrap();
    assert_eq!(palena.nivel(), Nivel::Provincia);
    assert!(palena.contiene("10401") && !palena.contiene("10101"));
    let los_lagos = load(&with("{ region = \"10\" }")).unwrap();
    assert!(los_lagos.contiene("10401") && los_lagos.contiene("10101"));
    assert!(!los_lagos.contiene("13101"));
    assert_eq!(
        load(&with("{ comuna = \"13101\" }")).and_then(|a| a.comuna().copied()),
        Some(Cut::parse("13101").unwrap())
    );
    one_issue(
        &with("{ provincia = \"105\" }"),
        "ambito",
        "not a provincia code",
    );
    one_issue(&with("{ region = \"16\" }"), "ambito", "not a region code");
    one_issue(&with("{ pais = \"CL\" }"), "ambito", "one territory");
    one_issue(
        &with("{ region = \"10\", provincia = \"104\" }"),
        "ambito",
        "one territory",
    );
    one_issue(&with("13"), "ambito", "one territory");
    // A municipality's work needs one comuna, not a territory.
    let grant = "[operations.TrabajarEncuestaje]\nfields = [\"id\", \"estado\"]\n";
    one_issue(
        &format!("{}{grant}", with("{ region = \"10\" }")),
        "ambito",
        "must be one comuna",
    );
    // Access reports are national, whatever the scope.
    let accesos = "[operations.ConsultarAccesos]\nfields = [\"run\", \"accesos.fecha\"]\n";
    one_issue(
        &format!("{}{accesos}", with("{ provincia = \"104\" }")),
        "ambito",
        "cannot be granted ConsultarAccesos",
    );
}

#[test]
fn two_convenios_cannot_claim_the_same_certificate() {
    let a = good("alfa");
    let b = good("beta").replace("subject_cn = \"beta\"", "subject_cn = \"alfa\"");
    let found = issues(&[("alfa.toml", &a), ("beta.toml", &b)]);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].file.file_name().unwrap(), "beta.toml");
    assert_eq!(found[0].line, Some(line_of(&b, "subject_cn")));
    let alfa_at = format!("alfa.toml:{}", line_of(&a, "subject_cn"));
    assert!(found[0].message.contains(&alfa_at), "{}", found[0]);

    // The same pin, once in hex and once in base64.
    let hex = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    let b64 = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=";
    let a = good("alfa").replace("subject_cn = \"alfa\"", &format!("spki_sha256 = \"{hex}\""));
    let b = good("beta").replace(
        "subject_cn = \"beta\"",
        &format!("subject_cn = \"beta\"\nspki_sha256 = \"{b64}\""),
    );
    let found = issues(&[("alfa.toml", &a), ("beta.toml", &b)]);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].file.file_name().unwrap(), "beta.toml");
    assert_eq!(found[0].line, Some(line_of(&b, "spki_sha256")));
    assert!(found[0].message.contains("alfa.toml:"), "{}", found[0]);
}

#[test]
fn every_problem_of_every_file_is_reported_in_order() {
    let a = good("alfa")
        .replace("burst = 10", "burst = 0")
        .replace("\"puntaje\"", "\"puntje\"");
    let b = good("beta").replace("valid_from", "desde");
    let dir = write_all(&[
        ("beta.toml", &b),
        ("alfa.toml", &a),
        ("gamma.toml", &good("gamma")),
    ]);
    let errors = ConvenioSet::load_dir(dir.path()).unwrap_err();
    let lines: Vec<String> = errors.to_string().lines().map(str::to_owned).collect();
    assert_eq!(lines.len(), 3, "{errors}");
    let alfa = dir.path().join("alfa.toml");
    let beta = dir.path().join("beta.toml");
    assert_eq!(
        lines[0],
        format!(
            "{}:{}: limits.burst must be at least 1",
            alfa.display(),
            line_of(&a, "burst")
        )
    );
    assert!(lines[1].starts_with(&format!("{}:{}: ", alfa.display(), line_of(&a, "fields"))));
    assert!(lines[2].starts_with(&format!(
        "{}:{}: unknown field `desde`",
        beta.display(),
        line_of(&b, "desde")
    )));
    let _: &dyn std::error::Error = &errors;
}

#[test]
fn a_missing_or_empty_folder_is_an_error() {
    let dir = write_all(&[("README.md", "# convenios")]);
    let errors = ConvenioSet::load_dir(dir.path()).unwrap_err();
    assert_eq!(errors.0.len(), 1);
    assert!(
        errors.0[0].message.contains("no agreement files"),
        "{errors}"
    );

    let missing = dir.path().join("no-existe");
    let errors = ConvenioSet::load_dir(&missing).unwrap_err();
    assert_eq!(errors.0[0].file, missing);
    assert!(
        errors.0[0]
            .message
            .contains("cannot read the agreements folder"),
        "{errors}"
    );
}

#[test]
fn eligibility_must_list_its_programs() {
    let g = good("demo");
    one_issue(
        &format!("{g}[operations.ConsultarElegibilidad]\nfields = [\"run\", \"elegible\"]\n"),
        "[operations.ConsultarElegibilidad]",
        "must list its programas",
    );
}

#[test]
fn a_scoped_convenio_cannot_read_access_reports() {
    let g = good("demo");
    let text = format!(
        "ambito = \"13101\"\n{g}[operations.ConsultarAccesos]\nfields = [\"run\", \"accesos.fecha\"]\n"
    );
    one_issue(&text, "ambito =", "cannot be granted ConsultarAccesos");
}

#[test]
fn working_survey_requests_needs_a_scope() {
    let g = good("demo");
    let grant = "[operations.TrabajarEncuestaje]\nfields = [\"id\", \"estado\"]\n";
    one_issue(
        &format!("{g}{grant}"),
        "[operations.TrabajarEncuestaje]",
        "needs the ambito",
    );
    let scoped = format!("ambito = \"13101\"\n{g}{grant}");
    assert!(ConvenioSet::load_dir(write_all(&[("demo.toml", &scoped)]).path()).is_ok());
}

#[test]
fn keeping_households_needs_a_scope() {
    let g = good("demo");
    let grant = "[operations.ActualizarHogar]\nfields = [\"run\", \"integrantes.run\"]\n";
    one_issue(
        &format!("{g}{grant}"),
        "[operations.ActualizarHogar]",
        "needs the ambito (its comuna)",
    );
    let scoped = format!("ambito = \"13101\"\n{g}{grant}");
    assert!(ConvenioSet::load_dir(write_all(&[("demo.toml", &scoped)]).path()).is_ok());
}

#[test]
fn tipos_only_for_recepcion_lotes_required_there_and_from_the_list() {
    use crate::catalog::Operation::RecepcionLotes;
    use crate::catalog::TipoLote;
    let g = good("demo");
    one_issue(
        &format!("{g}tipos = [\"personas\"]\n"),
        "tipos",
        "only to RecepcionLotes",
    );
    let lotes = format!("{g}\n[operations.RecepcionLotes]\nfields = [\"lote\", \"aplicados\"]\n");
    one_issue(&lotes, "[operations.RecepcionLotes]", "must list its tipos");
    let set = ConvenioSet::load_dir(
        write_all(&[("demo.toml", &format!("{lotes}tipos = [\"defunciones\"]\n"))]).path(),
    )
    .unwrap();
    let grant = set.iter().next().unwrap().grant(RecepcionLotes).unwrap();
    assert!(grant.allows_tipo(TipoLote::Defunciones));
    assert!(!grant.allows_tipo(TipoLote::Personas));
    one_issue(
        &format!("{lotes}tipos = [\"personas\", \"subsidios\"]\n"),
        "tipos",
        "unknown tipo \"subsidios\"",
    );
    one_issue(&format!("{lotes}tipos = []\n"), "tipos", "tipos is empty");
    one_issue(
        &format!("{lotes}tipos = [\"personas\", \"personas\"]\n"),
        "tipos",
        "listed twice",
    );
}

#[test]
fn a_budget_for_batches_needs_recepcion_lotes_and_its_three_keys() {
    let g = good("demo");
    let with_budget = |extra: &str| {
        g.replace(
            "daily_quota = 1000\n",
            &format!("daily_quota = 1000\n\n[limits.lotes]\n{extra}"),
        )
    };
    one_issue(
        &with_budget("per_second = 100\nburst = 1000\ndaily_quota = 10000\n"),
        "[limits.lotes]",
        "needs RecepcionLotes granted",
    );
    let provider = format!(
        "{}\n[operations.RecepcionLotes]\nfields = [\"lote\"]\ntipos = [\"personas\"]\n",
        with_budget("per_second = 100\nburst = 1000\ndaily_quota = 10000\n")
    );
    let dir = write_all(&[("demo.toml", &provider)]);
    let set = ConvenioSet::load_dir(dir.path()).unwrap();
    let budget = set.iter().next().unwrap().lotes.unwrap();
    assert_eq!((budget.rate.burst.get(), budget.daily_quota), (1000, 10000));
    one_issue(
        &provider.replace("burst = 1000\n", "burst = 0\n"),
        "burst = 0",
        "limits.lotes.burst must be at least 1",
    );
}

/// The agreement for persons: no certificate, no ambito, only what a person may read about
/// themself, and one per folder.
#[test]
fn the_agreement_for_persons_has_no_client_and_grants_only_a_persons_reading() {
    let personas = good("demo")
        .replace("[[clients]]\nsubject_cn = \"demo\"\n", "")
        .replacen(
            "valid_until = 2028-12-31\n",
            "valid_until = 2028-12-31\npersonas = true\n",
            1,
        );
    let dir = write_all(&[("demo.toml", &personas)]);
    let set = ConvenioSet::load_dir(dir.path()).unwrap();
    let a = set.personas().unwrap();
    assert!(a.personas && a.clients.is_empty());

    one_issue(
        &personas.replace(
            "personas = true\n",
            "personas = true\n[[clients]]\nsubject_cn = \"demo\"\n",
        ),
        "[[clients]]",
        "no client certificate acts under it",
    );
    one_issue(
        &personas.replace("personas = true\n", "personas = true\nambito = \"13101\"\n"),
        "ambito",
        "has no ambito",
    );
    one_issue(
        &format!("{personas}\n[operations.ValidarIdentidad]\nfields = [\"run\"]\n"),
        "[operations.ValidarIdentidad]",
        "cannot grant ValidarIdentidad",
    );
    // A certificate agreement still needs its client.
    let found = issues(&[(
        "demo.toml",
        &personas.replace("personas = true\n", "personas = false\n"),
    )]);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert!(found[0].message.contains("names no client"), "{}", found[0]);
    let found = issues(&[
        ("demo.toml", &personas),
        ("otra.toml", &personas.replace("\"demo\"", "\"otra\"")),
    ]);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert!(
        found[0].message.contains("a second agreement for persons"),
        "{}",
        found[0]
    );
}
