//! The synthetic registry: deterministic, realistically shaped, consistent with the thresholds,
//! and the same on both backends.

use std::collections::{HashMap, HashSet};

use chrono::Datelike;
use diesel::prelude::*;
use siis::db::models::{Beneficio, Ficha, Hogar, Integrante, Persona};
use siis::db::schema::{beneficios, fichas, hogares, integrantes, personas};
use siis::db::{ConnectionManager, DbConnection};
use siis::domain::{Puntaje, Quintil, Run};
use siis::seed::{FECHA_CORTE, SeedError, SeedOptions, seed};
use tempfile::TempDir;

use crate::per_backend;
use crate::support::{Backend, TestDb};

struct Seeded {
    conn: DbConnection,
    _db: TestDb,
    dir: TempDir,
}

fn seeded(backend: Backend, persons: u64, seed_value: u64) -> Seeded {
    let dir = TempDir::new().unwrap();
    let db = TestDb::new(backend, dir.path());
    let pool = siis::db::open_pool(&db.url, 2, std::time::Duration::from_secs(5)).unwrap();
    drop(pool);
    let mut conn = ConnectionManager::new(db.url.clone()).open().unwrap();
    let options = SeedOptions {
        persons,
        seed: seed_value,
        sample: Some(dir.path().join("sample.csv")),
        sample_size: 50,
        umbrales: crate::support::umbrales(),
    };
    let mut last = 0;
    let report = seed(&mut conn, &options, &mut |done| last = done).unwrap();
    assert_eq!(report.persons, persons);
    assert_eq!(last, persons, "progress reaches the total");
    Seeded { conn, _db: db, dir }
}

fn all_personas(conn: &mut DbConnection) -> Vec<Persona> {
    personas::table
        .order(personas::run)
        .select(Persona::as_select())
        .load(conn)
        .unwrap()
}

// Each case compares its backend's registry with one seeded on SQLite.
per_backend!(
    fn same_seed_gives_the_same_registry_on_every_backend(backend) {
        let reference = all_personas(&mut seeded(Backend::Sqlite, 3_000, 42).conn);
        let mut again = seeded(backend, 3_000, 42);
        assert_eq!(all_personas(&mut again.conn), reference, "{backend:?}");
        let other = all_personas(&mut seeded(Backend::Sqlite, 3_000, 43).conn);
        assert_ne!(other, reference);
    }
);

per_backend!(
    fn the_population_has_realistic_shapes(backend) {
        let mut s = seeded(backend, 40_000, 7);
        let conn = &mut s.conn;
        let people = all_personas(conn);
        let households: Vec<Hogar> = hogares::table
            .select(Hogar::as_select())
            .load(conn)
            .unwrap();
        let members: Vec<Integrante> = integrantes::table
            .select(Integrante::as_select())
            .load(conn)
            .unwrap();
        let fichas_rows: Vec<Ficha> = fichas::table.select(Ficha::as_select()).load(conn).unwrap();

        assert_eq!(people.len(), 40_000);
        assert_eq!(
            members.len(),
            40_000,
            "every person belongs to one household"
        );
        let mut size: HashMap<i64, usize> = HashMap::new();
        for m in &members {
            *size.entry(m.hogar_id).or_default() += 1;
        }
        assert_eq!(size.len(), households.len());
        assert!(size.values().all(|&n| (1..=10).contains(&n)));
        let mean = members.len() as f64 / households.len() as f64;
        assert!((3.3..=3.9).contains(&mean), "mean household size {mean}");

        // Comunas: many populated, and far from uniform (Santiago's region dominates).
        let mut by_comuna: HashMap<&str, usize> = HashMap::new();
        for h in &households {
            *by_comuna.entry(h.cut.as_str()).or_default() += 1;
        }
        assert!(
            by_comuna.len() > 300,
            "{} comunas populated",
            by_comuna.len()
        );
        let rm = households
            .iter()
            .filter(|h| h.cut.starts_with("13"))
            .count();
        let share = rm as f64 / households.len() as f64;
        assert!((0.30..=0.50).contains(&share), "RM share {share}");

        // Scores in every quintile.
        let mut quintiles: HashMap<Quintil, usize> = HashMap::new();
        for f in &fichas_rows {
            let q = Puntaje::new(i64::from(f.puntaje)).unwrap().quintil();
            *quintiles.entry(q).or_default() += 1;
        }
        for q in Quintil::ALL {
            let part = quintiles.get(&q).copied().unwrap_or(0) as f64 / fichas_rows.len() as f64;
            assert!(part > 0.08, "quintile {q:?} holds {part}");
        }

        // About 5% without a ficha and about 1% deceased.
        let with_ficha: HashSet<i64> = fichas_rows.iter().map(|f| f.hogar_id).collect();
        let without = members
            .iter()
            .filter(|m| !with_ficha.contains(&m.hogar_id))
            .count();
        let without = without as f64 / people.len() as f64;
        assert!((0.03..=0.07).contains(&without), "without ficha {without}");
        let deceased = people
            .iter()
            .filter(|p| p.fecha_defuncion.is_some())
            .count();
        let deceased = deceased as f64 / people.len() as f64;
        assert!((0.005..=0.02).contains(&deceased), "deceased {deceased}");
        for p in &people {
            assert!(Run::from_numero(p.run as u32).is_ok());
            if let Some(d) = p.fecha_defuncion {
                assert!(d > p.fecha_nacimiento && d <= FECHA_CORTE);
            }
        }
    }
);

per_backend!(
    fn benefits_agree_with_the_thresholds(backend) {
        let u = crate::support::umbrales();
        let mut s = seeded(backend, 30_000, 11);
        let conn = &mut s.conn;
        let rows: Vec<(Beneficio, Persona, Ficha)> = beneficios::table
            .inner_join(personas::table)
            .inner_join(integrantes::table.on(integrantes::run.eq(beneficios::run)))
            .inner_join(fichas::table.on(fichas::hogar_id.eq(integrantes::hogar_id)))
            .select((
                Beneficio::as_select(),
                Persona::as_select(),
                Ficha::as_select(),
            ))
            .load(conn)
            .unwrap();
        let total: i64 = beneficios::table.count().get_result(conn).unwrap();
        assert_eq!(rows.len() as i64, total, "every benefit holder has a ficha");
        let mut programs = HashSet::new();
        for (b, p, f) in &rows {
            programs.insert(b.programa.clone());
            let limit = match b.programa.as_str() {
                "PASIS" => u.pasis,
                "PBS" | "APS" => u.pbs_aps,
                "SUF" => u.suf,
                "FSV1" => u.fsv1,
                "FSV2" => u.fsv2,
                other => panic!("unknown program {other}"),
            };
            assert!(
                f.puntaje <= i32::from(limit),
                "{} above threshold",
                b.programa
            );
            let age_at_cut = FECHA_CORTE.year() - p.fecha_nacimiento.year();
            match b.programa.as_str() {
                "PASIS" | "PBS" | "APS" => assert!(age_at_cut >= i32::from(u.edad_vejez)),
                "SUF" => assert!(age_at_cut <= 19),
                _ => {}
            }
            assert!(b.fecha_inicio < FECHA_CORTE);
            match (p.fecha_defuncion, b.fecha_termino) {
                (Some(death), Some(end)) => {
                    assert_eq!(b.estado, "extinguido");
                    assert!(end <= death);
                }
                (Some(_), None) => panic!("a deceased person's benefit must have ended"),
                (None, None) => assert_eq!(b.estado, "vigente"),
                (None, Some(_)) => assert_eq!(b.estado, "extinguido"),
            }
        }
        for p in ["PBS", "APS", "SUF", "FSV1", "FSV2", "PASIS"] {
            assert!(programs.contains(p), "no {p} granted");
        }
    }
);

per_backend!(
    fn the_sample_file_lists_runs_by_their_true_category(backend) {
        let mut s = seeded(backend, 20_000, 5);
        let text = std::fs::read_to_string(s.dir.path().join("sample.csv")).unwrap();
        let mut lines = text.lines();
        assert_eq!(lines.next(), Some("categoria,run"));
        let mut seen: HashMap<String, usize> = HashMap::new();
        for line in lines {
            let (categoria, run) = line.split_once(',').unwrap();
            let run = Run::parse(run).unwrap();
            *seen.entry(categoria.to_string()).or_default() += 1;
            let person: Persona = personas::table
                .find(run.numero() as i32)
                .select(Persona::as_select())
                .first(&mut s.conn)
                .unwrap();
            let hogar: i64 = integrantes::table
                .find(run.numero() as i32)
                .select(integrantes::hogar_id)
                .first(&mut s.conn)
                .unwrap();
            let has_ficha: i64 = fichas::table
                .filter(fichas::hogar_id.eq(hogar))
                .count()
                .get_result(&mut s.conn)
                .unwrap();
            let actual = match (person.fecha_defuncion, has_ficha) {
                (Some(_), _) => "fallecido",
                (None, 0) => "sin_ficha",
                (None, _) => "con_ficha",
            };
            assert_eq!(categoria, actual, "{run}");
        }
        for categoria in ["con_ficha", "sin_ficha", "fallecido"] {
            assert_eq!(seen.get(categoria), Some(&50), "{categoria}");
        }
    }
);

per_backend!(
    fn seeding_refuses_a_registry_that_is_not_empty_and_changes_nothing(backend) {
        let mut s = seeded(backend, 1_000, 1);
        let before = all_personas(&mut s.conn);
        let options = SeedOptions {
            persons: 500,
            seed: 2,
            sample: None,
            sample_size: 10,
            umbrales: crate::support::umbrales(),
        };
        let err = seed(&mut s.conn, &options, &mut |_| {}).unwrap_err();
        assert!(matches!(err, SeedError::NotEmpty(1000)), "{err}");
        assert_eq!(all_personas(&mut s.conn), before);
    }
);

#[test]
fn seed_command_reports_figures_and_plain_progress() {
    let dir = TempDir::new().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_siis"))
        .current_dir(dir.path())
        .env_clear()
        .env("SIIS__DATABASE__URL", "sqlite://registry.db")
        .env(
            "SIIS__ELEGIBILIDAD__REGLAS",
            crate::support::repo_path("conf/elegibilidad.toml"),
        )
        .args([
            "seed",
            "--persons",
            "2500",
            "--seed",
            "3",
            "--sample",
            "s.csv",
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stdout.contains("seeded 2500 persons"), "{stdout}");
    assert!(stdout.contains("rows/s"), "{stdout}");
    assert!(
        stderr.contains("seeding: 2500/2500 persons (100%)"),
        "{stderr}"
    );
    assert!(dir.path().join("s.csv").is_file());

    let again = std::process::Command::new(env!("CARGO_BIN_EXE_siis"))
        .current_dir(dir.path())
        .env_clear()
        .env("SIIS__DATABASE__URL", "sqlite://registry.db")
        .env(
            "SIIS__ELEGIBILIDAD__REGLAS",
            crate::support::repo_path("conf/elegibilidad.toml"),
        )
        .args(["seed", "--persons", "10"])
        .output()
        .unwrap();
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("already holds 2500 persons"));
}

/// After a seed the SQLite planner keeps its table figures (`sqlite_stat1`) but no STAT4
/// samples: with samples, every lookup of a new RUN would prepare its statements again.
#[test]
fn sqlite_keeps_planner_figures_without_stat4_samples() {
    #[derive(QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let mut s = seeded(Backend::Sqlite, 2_000, 1);
    let count = |conn: &mut DbConnection, table: &str| {
        diesel::sql_query(format!("SELECT count(*) AS n FROM {table}"))
            .get_result::<Count>(conn)
            .unwrap()
            .n
    };
    assert!(count(&mut s.conn, "sqlite_stat1") > 0, "ANALYZE ran");
    assert_eq!(count(&mut s.conn, "sqlite_stat4"), 0);
}
