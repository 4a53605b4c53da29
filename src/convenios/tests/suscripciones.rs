//! The grant of `Suscripciones`: its kinds, delivery modes and callbacks are checked as the
//! other grants' lists are (`siis convenios check` names each problem's line).

use super::*;
use crate::catalog::Entrega;
use crate::catalog::Operation::Suscripciones;

const GRANT: &str = "\n[operations.Suscripciones]\nfields = [\"run\", \"tipo\"]\n";

#[test]
fn eventos_and_entrega_are_required_and_from_the_lists() {
    let g = good("demo");
    let base = format!("{g}{GRANT}");
    let ok = format!("{base}eventos = [\"defuncion\"]\nentrega = [\"pull\"]\n");
    let set = ConvenioSet::load_dir(write_all(&[("demo.toml", &ok)]).path()).unwrap();
    let grant = set.iter().next().unwrap().grant(Suscripciones).unwrap();
    assert!(grant.allows_evento("defuncion") && !grant.allows_evento("nacimiento"));
    assert!(grant.allows_entrega(Entrega::Pull) && !grant.allows_entrega(Entrega::Push));
    assert_eq!(grant.max_runs, None);

    one_issue(
        &format!("{base}entrega = [\"pull\"]\n"),
        "[operations.Suscripciones]",
        "must list its eventos",
    );
    one_issue(
        &format!("{base}eventos = [\"defuncion\"]\n"),
        "[operations.Suscripciones]",
        "must list its entrega",
    );
    one_issue(
        &format!("{base}eventos = [\"defunciones\"]\nentrega = [\"pull\"]\n"),
        "eventos =",
        "unknown eventos \"defunciones\"",
    );
    one_issue(
        &format!("{base}eventos = [\"defuncion\"]\nentrega = [\"email\"]\n"),
        "entrega =",
        "unknown entrega \"email\"",
    );
    one_issue(
        &format!("{base}eventos = [\"defuncion\", \"defuncion\"]\nentrega = [\"pull\"]\n"),
        "eventos =",
        "listed twice",
    );
    one_issue(
        &format!("{base}eventos = []\nentrega = [\"pull\"]\n"),
        "eventos =",
        "eventos is empty",
    );
}

#[test]
fn push_needs_https_callbacks() {
    let base = format!(
        "{}{GRANT}eventos = [\"defuncion\"]\nentrega = [\"push\"]\n",
        good("demo")
    );
    one_issue(&base, "[operations.Suscripciones]", "list the callbacks");
    for (url, message) in [
        ("http://agencia.example/eventos", "is not https"),
        ("https://u:p@agencia.example/eventos", "carries credentials"),
        ("https://agencia.example/eventos#x", "no fragment"),
        ("agencia", "callback"),
    ] {
        one_issue(
            &format!("{base}callbacks = [\"{url}\"]\n"),
            "callbacks =",
            message,
        );
    }
    let ok = format!("{base}callbacks = [\"https://agencia.example/eventos\"]\nmax_runs = 5\n");
    let set = ConvenioSet::load_dir(write_all(&[("demo.toml", &ok)]).path()).unwrap();
    let grant = set.iter().next().unwrap().grant(Suscripciones).unwrap();
    assert_eq!(
        grant.callbacks.as_ref().unwrap()[0].as_str(),
        "https://agencia.example/eventos"
    );
    assert_eq!(grant.max_runs, Some(5));
}

#[test]
fn the_subscription_keys_belong_to_suscripciones_only() {
    let g = good("demo");
    for key in [
        "eventos = [\"defuncion\"]",
        "entrega = [\"pull\"]",
        "callbacks = [\"https://a.example/\"]",
        "max_runs = 5",
    ] {
        one_issue(&format!("{g}{key}\n"), key, "only to Suscripciones");
    }
}

#[test]
fn a_run_list_longer_than_the_burst_loads_with_a_warning() {
    // The template's burst is 10; its client, named by its CN alone, has a warning of its own.
    let base = format!(
        "{}{GRANT}eventos = [\"defuncion\"]\nentrega = [\"pull\"]\n",
        good("demo")
    );
    let runs = |text: &str| -> Vec<ConvenioIssue> {
        let set = ConvenioSet::load_dir(write_all(&[("demo.toml", text)]).path()).unwrap();
        set.warnings()
            .iter()
            .filter(|w| w.message.contains("max_runs"))
            .cloned()
            .collect()
    };
    let text = format!("{base}max_runs = 11\n");
    let warnings = runs(&text);
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert_eq!(warnings[0].line, Some(line_of(&text, "max_runs")));
    assert!(
        warnings[0].message.contains("above limits.burst 10"),
        "{}",
        warnings[0]
    );
    assert!(runs(&format!("{base}max_runs = 10\n")).is_empty());
}

#[test]
fn the_demos_callback_is_added_to_push_grants_only() {
    let set =
        ConvenioSet::load_dir(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("convenios"))
            .unwrap();
    let demo = url::Url::parse("https://localhost:8490/eventos").unwrap();
    let callbacks = |set: &ConvenioSet, id: &str| {
        set.get(&crate::domain::ConvenioId::parse(id).unwrap())
            .and_then(|c| c.grant(Suscripciones).cloned())
            .and_then(|g| g.callbacks)
    };
    let antes = callbacks(&set, "ips").unwrap();
    assert!(!antes.contains(&demo));
    let set = set.con_callback(&demo);
    let despues = callbacks(&set, "ips").unwrap();
    assert_eq!(despues.len(), antes.len() + 1);
    assert!(despues.contains(&demo) && antes.iter().all(|c| despues.contains(c)));
    // A pull-only grant gets no callback.
    assert_eq!(callbacks(&set, "minvu"), None);
}
