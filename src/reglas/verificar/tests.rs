//! Each postulation check of the shipped file at its edge values.

use super::*;
use crate::reglas::Snapshot;

const SHIPPED: &str = include_str!("../../../conf/elegibilidad.toml");

fn shipped() -> Rules {
    Rules::from_toml(SHIPPED, "conf/elegibilidad.toml").unwrap()
}

fn cut(c: &str) -> Option<Cut> {
    Some(Cut::parse(c).unwrap())
}

/// A living applicant of 13101 with `puntaje` and `edad`, no benefits, incomes known.
fn postulante(puntaje: Option<u16>, edad: u32) -> SnapshotPostulacion {
    SnapshotPostulacion {
        persona: Snapshot {
            puntaje: puntaje.map(|p| Puntaje::new(p.into()).unwrap()),
            edad,
            fallecido: false,
            comuna: cut("13101"),
        },
        en_comuna: true,
        beneficios: Vec::new(),
        causantes: Vec::new(),
        ingreso_per_capita: Some(10_000),
    }
}

fn nino(edad: u32) -> Causante {
    Causante {
        edad,
        fallecido: false,
        mismo_hogar: true,
        beneficios: Vec::new(),
    }
}

/// The failing checks' ids.
fn fallan(rules: &Rules, programa: &str, s: &SnapshotPostulacion) -> Vec<String> {
    rules
        .verificar(programa, s)
        .unwrap()
        .into_iter()
        .filter(|c| !c.cumple)
        .map(|c| c.regla)
        .collect()
}

fn chequeo(rules: &Rules, programa: &str, s: &SnapshotPostulacion, regla: &str) -> Chequeo {
    rules
        .verificar(programa, s)
        .unwrap()
        .into_iter()
        .find(|c| c.regla == regla)
        .unwrap()
}

#[test]
fn the_shipped_file_has_the_three_programs_and_every_rule_runs() {
    let rules = shipped();
    assert_eq!(
        rules.postulables().collect::<Vec<_>>(),
        ["SUF", "PASIS", "SAP"]
    );
    let mut s = postulante(None, 30);
    s.persona.fallecido = true;
    s.en_comuna = false;
    s.ingreso_per_capita = None;
    // Nothing stops at the first failure: each check has its own outcome.
    let all = rules.verificar("PASIS", &s).unwrap();
    assert_eq!(
        all.iter()
            .map(|c| (c.regla.as_str(), c.cumple, c.dato))
            .collect::<Vec<_>>(),
        [
            ("PASIS-VIVO", false, "fallecido"),
            ("PASIS-COMUNA", false, "comuna"),
            ("PASIS-FICHA", false, "tieneFicha"),
            ("PASIS-PUNTAJE", false, "puntaje"),
            ("PASIS-EDAD", false, "edad"),
            ("PASIS-BENEFICIO", true, "beneficios"),
            ("PASIS-INGRESO", false, "ingresoPerCapita"),
        ]
    );
    assert_eq!(all[5].motivo, "Cumple");
    assert_eq!(all[4].motivo, "Menor de 65 años");
    assert_eq!(rules.verificar("PBS", &s), None, "no postulation to PBS");
    assert_eq!(rules.prioridad("SUF"), Prioridad::ALL);
}

#[test]
fn pasis_at_its_edges() {
    let rules = shipped();
    assert_eq!(
        fallan(&rules, "PASIS", &postulante(Some(8_500), 65)),
        Vec::<String>::new()
    );
    assert_eq!(
        fallan(&rules, "PASIS", &postulante(Some(8_500), 64)),
        ["PASIS-EDAD"]
    );
    assert_eq!(
        fallan(&rules, "PASIS", &postulante(Some(8_501), 65)),
        ["PASIS-PUNTAJE"]
    );
    let c = chequeo(
        &rules,
        "PASIS",
        &postulante(Some(8_501), 65),
        "PASIS-PUNTAJE",
    );
    assert_eq!(
        c.motivo,
        "Puntaje FPS sobre 8.500 (fuera del primer quintil)"
    );
    // Income per head: at the line, over it, and unknown (no survey with incomes).
    let mut s = postulante(Some(5_000), 70);
    s.ingreso_per_capita = Some(24_000);
    assert!(fallan(&rules, "PASIS", &s).is_empty());
    s.ingreso_per_capita = Some(24_001);
    assert_eq!(fallan(&rules, "PASIS", &s), ["PASIS-INGRESO"]);
    s.ingreso_per_capita = None;
    let c = chequeo(&rules, "PASIS", &s, "PASIS-INGRESO");
    assert!(!c.cumple);
    assert!(
        c.motivo.ends_with("(sin encuesta con ingresos)"),
        "{}",
        c.motivo
    );
}

#[test]
fn suf_causantes_at_their_edges() {
    let rules = shipped();
    let mut s = postulante(Some(11_734), 35);
    s.causantes = vec![nino(3), nino(17)];
    assert!(fallan(&rules, "SUF", &s).is_empty());
    s.causantes[1] = nino(18);
    assert_eq!(fallan(&rules, "SUF", &s), ["SUF-CAUSANTE-EDAD"]);
    let c = chequeo(&rules, "SUF", &s, "SUF-CAUSANTE-EDAD");
    assert_eq!(c.motivo, "causantes[1]: Causante mayor de 17 años");
    assert_eq!(c.dato, "causantes.edad");
    s.causantes[1] = Causante {
        mismo_hogar: false,
        ..nino(5)
    };
    assert_eq!(fallan(&rules, "SUF", &s), ["SUF-HOGAR"]);
    s.causantes[1] = Causante {
        fallecido: true,
        ..nino(5)
    };
    assert_eq!(fallan(&rules, "SUF", &s), ["SUF-VIVO"]);
    assert!(
        chequeo(&rules, "SUF", &s, "SUF-VIVO")
            .motivo
            .starts_with("causantes[1]: ")
    );
    s.causantes[1] = nino(5);
    s.persona.puntaje = Puntaje::new(11_735).ok();
    assert_eq!(fallan(&rules, "SUF", &s), ["SUF-PUNTAJE"]);
}

#[test]
fn a_benefit_in_force_fails_and_an_ended_one_does_not() {
    let rules = shipped();
    let mut s = postulante(Some(5_000), 70);
    // The snapshot holds only benefits in force: an ended one is simply not there.
    s.beneficios = vec!["APS".into()];
    assert!(fallan(&rules, "PASIS", &s).is_empty());
    s.beneficios = vec!["PBS".into()];
    assert_eq!(fallan(&rules, "PASIS", &s), ["PASIS-BENEFICIO"]);
    let mut s = postulante(Some(5_000), 30);
    s.causantes = vec![
        nino(4),
        Causante {
            beneficios: vec!["SUF".into()],
            ..nino(6)
        },
    ];
    let c = chequeo(&rules, "SUF", &s, "SUF-BENEFICIO");
    assert_eq!(
        (c.cumple, c.motivo.as_str()),
        (false, "causantes[1]: Ya tiene un Subsidio Familiar vigente")
    );
}

#[test]
fn the_deceased_fail_vivo_and_nothing_else_changes() {
    let rules = shipped();
    for programa in ["SUF", "PASIS", "SAP"] {
        let mut s = postulante(Some(5_000), 70);
        s.causantes = if programa == "SUF" {
            vec![nino(2)]
        } else {
            Vec::new()
        };
        s.persona.fallecido = true;
        assert_eq!(fallan(&rules, programa, &s), [format!("{programa}-VIVO")]);
    }
}

#[test]
fn sap_cut_off_by_comuna_then_region_then_default() {
    let rules = Rules::from_toml(
        &format!(
            "{}\n{}",
            "[programas.PBS]\nnombre = \"PBS\"\nreglas = [{ id = \"V\", condicion = \"vivo\", motivo = \"m\" }]\n",
            "[postulaciones.SAP]\nnombre = \"SAP\"\nmonto = 1\ncortes = { defecto = 9000, \"05\" = 10000, \"05101\" = 11000 }\n\
             reglas = [\n{ id = \"F\", condicion = \"tiene_ficha\", motivo = \"sin ficha\" },\n\
             { id = \"P\", condicion = \"puntaje_corte\", motivo = \"sobre {valor}\" },\n]\n"
        ),
        "t.toml",
    )
    .unwrap();
    for (comuna, corte) in [("05101", 11_000), ("05102", 10_000), ("13101", 9_000)] {
        let mut s = postulante(Some(corte), 40);
        s.persona.comuna = cut(comuna);
        assert!(fallan(&rules, "SAP", &s).is_empty(), "{comuna} at {corte}");
        s.persona.puntaje = Puntaje::new(i64::from(corte) + 1).ok();
        let c = chequeo(&rules, "SAP", &s, "P");
        assert!(!c.cumple, "{comuna} over {corte}");
        assert_eq!(
            c.motivo,
            format!("sobre {}", super::super::carga::miles(corte.into()))
        );
    }
    // The shipped cut-offs: 11.734 in the Metropolitana, 11.000 in Valparaíso.
    let rules = shipped();
    let mut s = postulante(Some(11_734), 40);
    assert!(fallan(&rules, "SAP", &s).is_empty());
    s.persona.puntaje = Puntaje::new(11_735).ok();
    assert_eq!(fallan(&rules, "SAP", &s), ["SAP-PUNTAJE"]);
    s.persona.comuna = cut("05101");
    s.persona.puntaje = Puntaje::new(11_001).ok();
    assert_eq!(fallan(&rules, "SAP", &s), ["SAP-PUNTAJE"]);
}

#[test]
fn the_eligibility_answers_do_not_read_the_postulation_section() {
    let shipped = shipped();
    let sin = Rules::from_toml(
        &SHIPPED[..SHIPPED.find("[postulaciones.SUF]").unwrap()],
        "x",
    )
    .unwrap();
    assert_eq!(sin.postulables().count(), 0);
    for programa in shipped.programs() {
        for (puntaje, edad, fallecido) in [
            (Some(8_500), 65, false),
            (Some(11_735), 17, false),
            (None, 70, true),
        ] {
            let s = Snapshot {
                fallecido,
                ..postulante(puntaje, edad).persona
            };
            assert_eq!(
                shipped.evaluate(programa, &s),
                sin.evaluate(programa, &s),
                "{programa}"
            );
        }
    }
    assert_eq!(
        shipped.evaluate("SAP", &postulante(Some(1), 1).persona),
        None
    );
}

/// `(line, message)` of a file made of a valid `[programas]` and `extra`.
fn error(extra: &str) -> (Option<usize>, String) {
    let text = format!(
        "[programas.PBS]\nnombre = \"PBS\"\nreglas = [{{ id = \"V\", condicion = \"vivo\", motivo = \"m\" }}]\n{extra}"
    );
    let err = Rules::from_toml(&text, "r.toml").unwrap_err();
    (err.line(), err.to_string())
}

#[test]
fn loader_errors_name_the_line() {
    let cases: &[(&str, usize, &str)] = &[
        (
            "[postulaciones.PBS]\nnombre = \"x\"\nreglas = [{ id = \"A\", condicion = \"vivo\", motivo = \"m\" }]\n",
            4,
            "unknown program `PBS` in [postulaciones]",
        ),
        (
            "[programas.SUF]\nnombre = \"x\"\nreglas = [{ id = \"A\", condicion = \"mismo_hogar\", motivo = \"m\" }]\n",
            6,
            "applies only under [postulaciones]",
        ),
        (
            "[postulaciones.SUF]\nnombre = \"x\"\nreglas = [\n{ id = \"A\", condicion = \"sin_beneficio\", motivo = \"m\" }]\nmonto = 1\n",
            7,
            "needs programas",
        ),
        (
            "[postulaciones.SUF]\nnombre = \"x\"\nreglas = [\n{ id = \"A\", condicion = \"sin_beneficio\", programas = [\"SUF\", \"BONO\"], motivo = \"m\" }]\nmonto = 1\n",
            7,
            "unknown program `BONO`",
        ),
        (
            "[postulaciones.SUF]\nnombre = \"x\"\nreglas = [\n{ id = \"A\", condicion = \"vivo\", programas = [\"SUF\"], motivo = \"m\" }]\nmonto = 1\n",
            7,
            "only to `sin_beneficio`",
        ),
        (
            "[postulaciones.SUF]\nnombre = \"x\"\nreglas = [\n{ id = \"A\", condicion = \"causante_edad_max\", valor = 151, motivo = \"m\" }]\nmonto = 1\n",
            7,
            "age from 0 to 150",
        ),
        (
            "[postulaciones.PASIS]\nnombre = \"x\"\nreglas = [\n{ id = \"A\", condicion = \"ingreso_pc_max\", valor = -1, motivo = \"m\" }]\nmonto = 1\n",
            7,
            "an income from 0",
        ),
        (
            "[postulaciones.SAP]\nnombre = \"x\"\nreglas = [\n{ id = \"F\", condicion = \"tiene_ficha\", motivo = \"m\" },\n{ id = \"A\", condicion = \"puntaje_corte\", motivo = \"m\" }]\nmonto = 1\n",
            8,
            "needs the program's cortes",
        ),
        (
            "[postulaciones.SAP]\nnombre = \"x\"\ncortes = { defecto = 9000, \"99\" = 1 }\nreglas = [\n{ id = \"F\", condicion = \"tiene_ficha\", motivo = \"m\" },\n{ id = \"A\", condicion = \"puntaje_corte\", motivo = \"m\" }]\nmonto = 1\n",
            6,
            "`99` is neither",
        ),
        (
            "[postulaciones.SAP]\nnombre = \"x\"\ncortes = { \"13\" = 9000 }\nreglas = [\n{ id = \"F\", condicion = \"tiene_ficha\", motivo = \"m\" },\n{ id = \"A\", condicion = \"puntaje_corte\", motivo = \"m\" }]\nmonto = 1\n",
            6,
            "cortes needs a defecto",
        ),
        (
            "[postulaciones.SAP]\nnombre = \"x\"\nprioridad = [\"puntaje\", \"edad\"]\nreglas = [{ id = \"V\", condicion = \"vivo\", motivo = \"m\" }]\nmonto = 1\n",
            6,
            "unknown prioridad `edad`",
        ),
        (
            "[postulaciones.SUF]\nnombre = \"x\"\nreglas = [{ id = \"A\", condicion = \"vivo\", motivo = \"m\" }]\n",
            4,
            "has no monto",
        ),
        (
            "[postulaciones.SUF]\nnombre = \"x\"\nmonto = 0\nreglas = [{ id = \"A\", condicion = \"vivo\", motivo = \"m\" }]\n",
            6,
            "monto must be from 1",
        ),
        (
            "[programas.SUF]\nnombre = \"x\"\nmonto = 5\nreglas = [{ id = \"A\", condicion = \"vivo\", motivo = \"m\" }]\n",
            6,
            "monto applies only under [postulaciones]",
        ),
        (
            "[programas.SUF]\nnombre = \"x\"\nprioridad = [\"id\"]\nreglas = [{ id = \"A\", condicion = \"vivo\", motivo = \"m\" }]\n",
            6,
            "prioridad applies only under [postulaciones]",
        ),
        (
            "[postulaciones.SUF]\nnombre = \"x\"\nreglas = [\n{ id = \"A\", condicion = \"vivo\", motivo = \"m\" },\n{ id = \"A\", condicion = \"mismo_hogar\", motivo = \"m\" }]\nmonto = 1\n",
            8,
            "duplicate rule id `A`",
        ),
    ];
    for (extra, line, words) in cases {
        let (at, message) = error(extra);
        assert_eq!(at, Some(*line), "{message}");
        assert!(
            message.starts_with(&format!("eligibility rules r.toml:{line}: ")),
            "{message}"
        );
        assert!(message.contains(words), "{words:?} not in {message}");
    }
    // Ids are unique per section: a postulation check may reuse an eligibility rule's id.
    let (at, message) = (
        None::<usize>,
        "[postulaciones.SUF]\nnombre = \"x\"\nreglas = [{ id = \"V\", condicion = \"vivo\", motivo = \"m\" }]\nmonto = 1\n",
    );
    let text = format!(
        "[programas.PBS]\nnombre = \"PBS\"\nreglas = [{{ id = \"V\", condicion = \"vivo\", motivo = \"m\" }}]\n{message}"
    );
    assert!(Rules::from_toml(&text, "r.toml").is_ok(), "{at:?}");
}
