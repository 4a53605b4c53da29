use super::*;

fn shipped() -> Modelos {
    let dir = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/conf/modelos"));
    Modelos::load(dir, "FPS-2026-1").expect("shipped models")
}

fn adulto(edad: u32, anios: u32, actividad: Actividad, trabajo: i64) -> IntegranteEncuesta {
    IntegranteEncuesta {
        edad,
        escolaridad_anios: anios,
        asiste_educacion: false,
        salud: Salud::Ninguna,
        actividad,
        ingreso_trabajo: trabajo,
        ingreso_pensiones: 0,
        ingreso_otros: 0,
    }
}

fn escolar(edad: u32) -> IntegranteEncuesta {
    IntegranteEncuesta {
        asiste_educacion: true,
        ..adulto(edad, edad.saturating_sub(6), Actividad::Inactivo, 0)
    }
}

/// Two adults (one working for 350.000 a month, one at home) and two school children.
fn familia() -> Encuesta {
    Encuesta {
        integrantes: vec![
            adulto(38, 10, Actividad::Ocupado, 350_000),
            adulto(35, 8, Actividad::Inactivo, 0),
            escolar(10),
            escolar(6),
        ],
    }
}

/// An old person alone with a severe disability and a pension of 110.000.
fn anciana() -> Encuesta {
    Encuesta {
        integrantes: vec![IntegranteEncuesta {
            salud: Salud::DiscapacidadSevera,
            ingreso_pensiones: 110_000,
            ..adulto(78, 4, Actividad::Inactivo, 0)
        }],
    }
}

fn score(m: &Modelo, e: &Encuesta) -> u16 {
    puntuar(m, e).value()
}

#[test]
fn the_shipped_models_load_and_the_first_is_in_force() {
    let modelos = shipped();
    assert_eq!(modelos.vigente().nombre, "FPS-2026-1");
    let nombres: Vec<_> = modelos.iter().map(|c| c.modelo.nombre.as_str()).collect();
    assert_eq!(nombres, ["FPS-2026-1", "FPS-2026-2"]);
    for c in modelos.iter() {
        assert!(c.modelo.descripcion.contains("no es la fórmula oficial"));
        assert_eq!(c.sha256.len(), 64);
    }
}

/// The family by hand under FPS-2026-1: capacity 150.000 + 175.000 (half the wage) for the
/// worker, 132.000 × 0,5 = 66.000 for the adult at home, none for the pupils: 391.000;
/// needs 1000 + 1000 + 800 + 800 = 3600, index isqrt(3.600.000) = 1897; equivalent income
/// 391.000 × 1000 / 1897 = 206.114; between [180.000, 11.734] and [260.000, 13.484]:
/// 11.734 + 1.750 × 26.114 / 80.000 = 12.305.
#[test]
fn the_same_facts_give_pinned_scores_under_each_model() {
    let modelos = shipped();
    let uno = modelos.get("FPS-2026-1").unwrap();
    let dos = modelos.get("FPS-2026-2").unwrap();
    assert_eq!(uno.ingreso_equivalente(&familia()), 206_114);
    assert_eq!(score(uno, &familia()), 12_305);
    assert_eq!(score(dos, &familia()), 12_379);
    assert_eq!(score(uno, &anciana()), 8_324);
    assert_eq!(score(dos, &anciana()), 7_126);
    assert_ne!(score(uno, &familia()), score(dos, &familia()));
}

#[test]
fn scores_are_clamped_and_monotonic_in_income() {
    let modelos = shipped();
    let uno = modelos.vigente();
    let sola = |trabajo| Encuesta {
        integrantes: vec![IntegranteEncuesta {
            asiste_educacion: true,
            ..adulto(20, 12, Actividad::Desocupado, trabajo)
        }],
    };
    assert_eq!(score(uno, &sola(0)), 2_072);
    assert_eq!(score(uno, &sola(5_000_000)), 16_316);
    let mut previo = 0;
    for trabajo in (0..1_500_000).step_by(25_000) {
        let s = score(uno, &sola(trabajo));
        assert!(s >= previo, "{trabajo}: {s} < {previo}");
        previo = s;
    }
}

#[test]
fn review_marks_come_from_the_file() {
    let modelos = shipped();
    let uno = modelos.get("FPS-2026-1").unwrap();
    assert!(uno.marca_revision("agregar_integrante"));
    assert!(uno.marca_revision("dividir"));
    assert!(!uno.marca_revision("cambiar_domicilio"));
    assert!(!uno.marca_revision("encuestar"));
    assert!(
        modelos
            .get("FPS-2026-2")
            .unwrap()
            .marca_revision("cambiar_domicilio")
    );
}

const BASE: &str = include_str!("../../conf/modelos/FPS-2026-1.toml");

/// The error for the shipped text with `from` replaced by `to`, as (line, message).
fn error(from: &str, to: &str) -> (Option<usize>, String) {
    assert!(BASE.contains(from), "{from}");
    let text = BASE.replacen(from, to, 1);
    let err = Modelos::parse(&text, "m.toml").unwrap_err();
    (err.line(), err.to_string())
}

fn line_of(needle: &str) -> usize {
    BASE[..BASE.find(needle).unwrap()].matches('\n').count() + 1
}

#[test]
fn bad_files_name_their_line_and_problem() {
    let cases: &[(&str, &str, &str, &str)] = &[
        (
            "eventos = [\"agregar",
            "eventos = [\"mudar\", \"agregar",
            "eventos = [",
            "unknown event \"mudar\"",
        ),
        (
            "[340000, 14557]",
            "[240000, 14557]",
            "[240000, 14557]",
            "after a smaller first value",
        ),
        (
            "[340000, 14557]",
            "[340000, 13000]",
            "tramos = [\n    [0",
            "higher income may not give a lower score",
        ),
        (
            "edades = [[0, 600]",
            "edades = [[1, 600]",
            "edades = [[1",
            "must start at 0",
        ),
        (
            "trabajo = 500",
            "trabajo = 50000",
            "trabajo = 50000",
            "capacidad.trabajo (thousandths) = 50000",
        ),
        (
            "min = 2072",
            "min = 20000",
            "max = 16316",
            "greater than puntaje.min",
        ),
        (
            "integrantes_max = 20",
            "integrantes_max = 0",
            "integrantes_max = 0",
            "from 1 to 50",
        ),
        (
            "otros = 1000",
            "otras = 1000",
            "otras",
            "unknown field `otras`",
        ),
    ];
    for (from, to, at, words) in cases {
        let (line, message) = error(from, to);
        let text = BASE.replacen(from, to, 1);
        let expected = text[..text.find(at).unwrap()].matches('\n').count() + 1;
        assert_eq!(line, Some(expected), "{to}: {message}");
        assert!(
            message.starts_with(&format!("scoring model m.toml:{expected}: ")),
            "{message}"
        );
        assert!(message.contains(words), "{words:?} not in {message}");
    }
    let (line, message) = error("[ingresos]\n", "");
    // Without its table header, `pensiones` falls into the table above it.
    assert_eq!(line, Some(line_of("pensiones = 1000") - 1), "{message}");
    assert!(message.contains("unknown field `pensiones`"), "{message}");
}

#[test]
fn a_file_holds_the_model_of_its_name_and_vigente_must_exist() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("FPS-X.toml"), BASE).unwrap();
    let err = Modelos::load(dir.path(), "FPS-X").unwrap_err();
    assert!(err.to_string().contains("FPS-X.toml"), "{err}");
    assert!(
        err.to_string().contains("must equal the file's name"),
        "{err}"
    );
    assert_eq!(err.line(), Some(line_of("modelo = ")));
    std::fs::remove_file(dir.path().join("FPS-X.toml")).unwrap();
    std::fs::write(dir.path().join("FPS-2026-1.toml"), BASE).unwrap();
    let err = Modelos::load(dir.path(), "FPS-2027-1").unwrap_err();
    assert!(err.to_string().contains("\"FPS-2027-1\""), "{err}");
    assert!(err.to_string().contains("FPS-2026-1"), "{err}");
    assert!(Modelos::load(dir.path(), "FPS-2026-1").is_ok());
    let err = Modelos::load(&dir.path().join("nada"), "FPS-2026-1").unwrap_err();
    assert!(matches!(err, ModeloError::Read { .. }), "{err}");
}

/// A shipped model file is never edited once released: a node that used it refuses to start
/// on the changed file (even a comment). This pins each file's digest, so an edit fails here
/// first; a changed model is a new file with a new name.
#[test]
fn the_shipped_model_files_never_change() {
    let pinned = [
        (
            "FPS-2026-1",
            "d8ce779c234f82515f6049bdd0fc8d3fc0133bc374e1ba6c9e1df224b6216aa0",
        ),
        (
            "FPS-2026-2",
            "b562ee869ebc0af208cefdb0298a33661947a572bccbc877bb1fd95e9a959aeb",
        ),
    ];
    let modelos = shipped();
    let found: Vec<(&str, &str)> = modelos
        .iter()
        .map(|c| (c.modelo.nombre.as_str(), c.sha256.as_str()))
        .collect();
    assert_eq!(found, pinned);
}
