//! Progress for long loads: a bar with rate and time left on a terminal, plain periodic lines
//! otherwise (for logs and CI).

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};

use crate::config::Config;
use crate::db::DbConnection;
use crate::seed::{self, SeedError, SeedOptions, SeedReport};

const PLAIN_EVERY: Duration = Duration::from_secs(10);

pub fn seed_with_progress(
    conn: &mut DbConnection,
    options: &SeedOptions,
) -> Result<SeedReport, SeedError> {
    let total = options.persons;
    let started = Instant::now();
    if std::io::stderr().is_terminal() {
        let bar = ProgressBar::new(total).with_style(
            ProgressStyle::with_template(
                "{spinner} seeding [{bar:40}] {human_pos}/{human_len} persons  {per_sec}  eta {eta}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        let report = seed::seed(conn, options, &mut |done| bar.set_position(done));
        bar.finish_and_clear();
        report
    } else {
        let mut last = Instant::now();
        seed::seed(conn, options, &mut |done| {
            if last.elapsed() >= PLAIN_EVERY || done == total {
                last = Instant::now();
                let secs = started.elapsed().as_secs_f64().max(0.001);
                let rate = done as f64 / secs;
                let left = (total - done) as f64 / rate.max(1.0);
                eprintln!(
                    "seeding: {done}/{total} persons ({:.0}%), {rate:.0} persons/s, {left:.0} s left",
                    100.0 * done as f64 / total as f64
                );
            }
        })
    }
}

pub fn print_seed_report(report: &SeedReport, config: &Config) {
    let secs = report.elapsed.as_secs_f64().max(0.001);
    let rows = report.persons * 2 + report.households + report.fichas + report.benefits;
    println!(
        "seeded {} persons in {} households: {} fichas, {} benefits, {} deceased, {} without ficha",
        report.persons,
        report.households,
        report.fichas,
        report.benefits,
        report.deceased,
        report.without_ficha
    );
    println!(
        "{rows} rows in {secs:.1} s ({:.0} rows/s, {:.0} persons/s) into {}",
        rows as f64 / secs,
        report.persons as f64 / secs,
        config.database.url
    );
}
