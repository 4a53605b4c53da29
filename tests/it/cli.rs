//! The `siis` binary: start-up failures are one clear line and a non-zero exit, with nothing
//! half-created; SIGTERM stops the node cleanly.

mod demo;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

pub(crate) fn siis(dir: &Path) -> Command {
    with_test_env(Command::new(env!("CARGO_BIN_EXE_siis")), dir)
}

/// `siis` under the usual umask (022), which leaves new files readable by everyone unless the
/// program says otherwise: what the node's files must not depend on.
fn siis_umask_022(dir: &Path) -> Command {
    let mut cmd = Command::new("/bin/sh");
    cmd.args([
        "-c",
        "umask 022 && exec \"$0\" \"$@\"",
        env!("CARGO_BIN_EXE_siis"),
    ]);
    with_test_env(cmd, dir)
}

fn with_test_env(mut cmd: Command, dir: &Path) -> Command {
    cmd.current_dir(dir)
        .env_clear()
        .env("SIIS__LISTEN__AGENCY", "127.0.0.1:0")
        .env("SIIS__LISTEN__PUBLIC", "127.0.0.1:0")
        .env("SIIS__LISTEN__ADMIN", "127.0.0.1:0")
        .env(
            "SIIS__CONVENIOS__DIR",
            crate::support::repo_path("convenios"),
        )
        .env(
            "SIIS__ELEGIBILIDAD__REGLAS",
            crate::support::repo_path("conf/elegibilidad.toml"),
        )
        .env(
            "SIIS__ENCUESTA__MODELOS",
            crate::support::repo_path("conf/modelos"),
        )
        .stdin(Stdio::null());
    cmd
}

/// The command failed with exactly one line on standard error, which contains `needle`.
fn assert_one_line_failure(output: &Output, needle: &str) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "should fail: {stderr}");
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "one line expected, got: {stderr}");
    assert!(lines[0].starts_with("siis: error: "), "{stderr}");
    assert!(lines[0].contains(needle), "{needle:?} not in: {stderr}");
}

/// The permission bits of a file, in octal.
fn mode(path: &Path) -> String {
    use std::os::unix::fs::PermissionsExt;
    let meta = std::fs::metadata(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    format!("{:o}", meta.permissions().mode() & 0o777)
}

fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn a_malformed_database_url_names_the_key() {
    let dir = TempDir::new().unwrap();
    for url in [
        "mysql://db/siis",
        "host=localhost dbname=siis",
        "postgres://",
    ] {
        let out = siis(dir.path())
            .args(["serve"])
            .env("SIIS__DATABASE__URL", url)
            .output()
            .unwrap();
        assert_one_line_failure(&out, "database.url");
        assert!(entries(dir.path()).is_empty(), "nothing may be created");
    }
}

#[test]
fn unknown_keys_and_bad_values_name_the_key() {
    let dir = TempDir::new().unwrap();
    let out = siis(dir.path())
        .arg("serve")
        .env("SIIS__DATABASE__NOPE", "1")
        .output()
        .unwrap();
    assert_one_line_failure(&out, "database.nope");
    let out = siis(dir.path())
        .arg("serve")
        .env("SIIS__DATABASE__POOL_SIZE", "many")
        .output()
        .unwrap();
    assert_one_line_failure(&out, "SIIS__DATABASE__POOL_SIZE");
    std::fs::write(
        dir.path().join("bad.toml"),
        "[database]\npool_size = \"lots\"\n",
    )
    .unwrap();
    let out = siis(dir.path())
        .args(["serve", "--config", "bad.toml"])
        .output()
        .unwrap();
    assert_one_line_failure(&out, "database.pool_size");
    assert_one_line_failure(&out, "bad.toml");
    let out = siis(dir.path())
        .args(["serve", "--config", "missing.toml"])
        .output()
        .unwrap();
    assert_one_line_failure(&out, "missing.toml");
}

#[test]
fn a_missing_certificate_file_is_named_and_nothing_is_created() {
    let dir = TempDir::new().unwrap();
    let out = siis(dir.path())
        .arg("serve")
        .env("SIIS__TLS__DIR", "no-such-pki")
        .output()
        .unwrap();
    assert_one_line_failure(&out, "no-such-pki/ca.pem");
    assert!(entries(dir.path()).is_empty(), "{:?}", entries(dir.path()));
}

#[test]
fn a_port_in_use_stops_even_the_demo_before_it_creates_anything() {
    let dir = TempDir::new().unwrap();
    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = busy.local_addr().unwrap().to_string();
    let out = siis(dir.path())
        .args(["serve", "--demo"])
        .env("SIIS__LISTEN__AGENCY", &addr)
        .output()
        .unwrap();
    assert_one_line_failure(&out, &format!("listen.agency {addr}"));
    assert!(entries(dir.path()).is_empty(), "{:?}", entries(dir.path()));
}

#[test]
fn an_unwritable_database_folder_stops_startup() {
    let dir = TempDir::new().unwrap();
    siis::pki::dev(&dir.path().join("pki"), &[]).unwrap();
    // /proc refuses new files even to root, so this holds in CI too.
    let out = siis(dir.path())
        .arg("serve")
        .env("SIIS__TLS__DIR", "pki")
        .env("SIIS__DATABASE__URL", "sqlite:///proc/siis.db")
        .output()
        .unwrap();
    assert_one_line_failure(&out, "/proc/siis.db");
    let out = siis(dir.path())
        .arg("serve")
        .env("SIIS__TLS__DIR", "pki")
        .env("SIIS__DATABASE__URL", "sqlite://no/such/folder/siis.db")
        .output()
        .unwrap();
    assert_one_line_failure(&out, "no/such/folder");
}

#[test]
fn an_unreachable_postgres_keeps_the_real_error() {
    let dir = TempDir::new().unwrap();
    siis::pki::dev(&dir.path().join("pki"), &[]).unwrap();
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let out = siis(dir.path())
        .arg("serve")
        .env("SIIS__TLS__DIR", "pki")
        .env(
            "SIIS__DATABASE__URL",
            format!("postgres://siis:secret@127.0.0.1:{port}/siis"),
        )
        .output()
        .unwrap();
    assert_one_line_failure(&out, "Connection refused");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.contains("secret"),
        "the password is never printed: {stderr}"
    );
    assert!(entries(dir.path()).iter().all(|e| e == "pki"));
}

#[test]
fn demo_serves_then_stops_cleanly_on_sigterm() {
    let dir = TempDir::new().unwrap();
    let mut child = siis_umask_022(dir.path())
        .args(["serve", "--demo"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The start-up log line carries the bound addresses.
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut log = Vec::new();
    let admin = loop {
        let line = rx
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .unwrap_or_else(|_| panic!("node did not start: {log:?}"));
        if let Some(rest) = line.split("admin=").nth(1) {
            break rest.split_whitespace().next().unwrap().to_string();
        }
        log.push(line);
    };
    let ready = blocking_get(
        &dir.path().join("var/pki/ca.pem"),
        &format!("http://{admin}/readyz"),
    );
    assert_eq!(ready, 200);
    for file in [
        "var/siis.db",
        "var/sample.csv",
        "var/pki/ca.pem",
        "var/pki/server.pem",
    ] {
        assert!(dir.path().join(file).is_file(), "{file} missing");
    }
    // Whatever holds personal data is the node's user's alone, SQLite's WAL files included
    // (present while the node runs).
    for file in [
        "var/siis.db",
        "var/siis.db-wal",
        "var/siis.db-shm",
        "var/siis-auditoria.db",
        "var/siis-auditoria.db-wal",
        "var/siis-auditoria-indice.db",
        "var/sample.csv",
    ] {
        assert_eq!(mode(&dir.path().join(file)), "600", "{file}");
    }
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = wait_with_timeout(&mut child, Duration::from_secs(20));
    assert!(exit.success(), "exit status {exit:?}");
    let rest: Vec<String> = rx.try_iter().collect();
    assert!(rest.iter().any(|l| l.contains("stopped")), "{rest:?}");
    let stdout = std::io::read_to_string(child.stdout.take().unwrap()).unwrap();
    assert!(
        stdout.contains("curl"),
        "the demo tells a newcomer how to call it: {stdout}"
    );
    assert!(stdout.contains("seeded 100000 persons"), "{stdout}");
}

pub(crate) fn wait_with_timeout(
    child: &mut std::process::Child,
    limit: Duration,
) -> std::process::ExitStatus {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the node did not stop within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A GET to the loopback admin listener from a synchronous test; returns the status code.
pub(crate) fn blocking_get(ca: &Path, url: &str) -> u16 {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let client = crate::support::tls_client(ca, None, &[]);
    runtime.block_on(async { client.get(url).send().await.unwrap().status().as_u16() })
}

/// `siis agreements nuevo` writes an agreement that `check` accepts, for any comuna or region;
/// it never overwrites without `--force`, and an unknown code is refused with the catalogue's
/// reason (nothing written).
#[test]
fn a_new_municipal_agreement_is_written_checked_and_never_overwritten() {
    let dir = TempDir::new().unwrap();
    let out_dir = dir.path().join("nuevos");
    std::fs::create_dir(&out_dir).unwrap();
    let nuevo = |args: &[&str]| {
        let mut all = vec!["agreements", "nuevo", "--dir", "nuevos"];
        all.extend_from_slice(args);
        siis(dir.path()).args(&all).output().unwrap()
    };
    let ok = nuevo(&["--comuna", "10401"]);
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let path = out_dir.join("muni-10401.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains("ambito = \"10401\""), "{text}");
    assert!(text.contains("Municipalidad de Chaitén"), "{text}");
    let ok = nuevo(&[
        "--region",
        "10",
        "--desde",
        "2026-06-01",
        "--hasta",
        "2027-05-31",
    ]);
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let check = siis(dir.path())
        .args(["agreements", "check", "nuevos"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&check.stdout);
    assert!(check.status.success(), "{stdout}");
    assert!(stdout.contains("2 agreement(s), all valid"), "{stdout}");
    assert!(
        stdout.contains("in force 2026-06-01 to 2027-05-31"),
        "{stdout}"
    );

    // Kept without --force; replaced with it.
    std::fs::write(&path, "# edited by hand\n").unwrap();
    let again = nuevo(&["--comuna", "10401"]);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("--force"));
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        "# edited by hand\n"
    );
    let forced = nuevo(&["--comuna", "10401", "--force"]);
    assert!(forced.status.success());
    assert_eq!(std::fs::read_to_string(&path).unwrap(), text);

    for (args, reason) in [
        (&["--comuna", "99999"][..], "no comuna has that code"),
        (&["--region", "16"][..], "region"),
        (
            &[
                "--comuna",
                "13101",
                "--desde",
                "2027-01-01",
                "--hasta",
                "2026-01-01",
            ][..],
            "before",
        ),
    ] {
        let bad = nuevo(args);
        assert!(!bad.status.success(), "{args:?}");
        let stderr = String::from_utf8_lossy(&bad.stderr);
        assert!(stderr.contains(reason), "{args:?}: {stderr}");
    }
    assert!(!out_dir.join("muni-99999.toml").exists());
    assert!(!out_dir.join("muni-13101.toml").exists());
}

#[test]
fn convenios_check_names_file_line_and_problem() {
    let dir = TempDir::new().unwrap();
    // Every shipped agreement passes, under either name of the command.
    let shipped = std::fs::read_dir(crate::support::repo_path("convenios"))
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "toml")
        })
        .count();
    for command in ["convenios", "agreements"] {
        let ok = siis(dir.path()).args([command, "check"]).output().unwrap();
        let stdout = String::from_utf8_lossy(&ok.stdout);
        assert!(ok.status.success(), "{stdout}");
        assert!(
            stdout.contains(&format!("{shipped} agreement(s), all valid")),
            "{stdout}"
        );
        assert!(stdout.contains("orasmi-10: "), "{stdout}");
        assert!(stdout.contains("ambito region 10"), "{stdout}");
    }

    let bad = dir.path().join("bad");
    std::fs::create_dir(&bad).unwrap();
    std::fs::write(
        bad.join("minvu.toml"),
        std::fs::read_to_string(crate::support::repo_path("convenios/minvu.toml"))
            .unwrap()
            .replacen("\"folio\"", "\"folioo\"", 1),
    )
    .unwrap();
    let out = siis(dir.path())
        .args(["convenios", "check", "bad"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let listed = String::from_utf8_lossy(&out.stdout);
    let line = listed
        .lines()
        .find(|l| l.contains("folioo"))
        .unwrap_or_else(|| panic!("{listed}"));
    let mut parts = line.splitn(3, ':');
    assert!(parts.next().unwrap().ends_with("bad/minvu.toml"), "{line}");
    assert!(
        parts.next().unwrap().parse::<usize>().is_ok(),
        "a line number: {line}"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("1 problem(s)"));
}

#[test]
fn sighup_reloads_convenios_and_keeps_the_old_set_when_broken() {
    let dir = TempDir::new().unwrap();
    let convenios = dir.path().join("convenios");
    std::fs::create_dir(&convenios).unwrap();
    std::fs::copy(
        crate::support::repo_path("convenios/minvu.toml"),
        convenios.join("minvu.toml"),
    )
    .unwrap();
    let mut child = siis(dir.path())
        .args(["serve", "--demo"])
        .env("SIIS__CONVENIOS__DIR", "convenios")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let wait_for = |needle: &str| {
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let line = rx
                .recv_timeout(deadline.saturating_duration_since(Instant::now()))
                .unwrap_or_else(|_| panic!("no line with {needle:?}"));
            if line.contains(needle) {
                return line;
            }
        }
    };
    wait_for("node started");
    let hup = |pid: u32| {
        assert!(
            Command::new("kill")
                .args(["-HUP", &pid.to_string()])
                .status()
                .unwrap()
                .success()
        );
    };
    std::fs::copy(
        crate::support::repo_path("convenios/ips.toml"),
        convenios.join("ips.toml"),
    )
    .unwrap();
    hup(child.id());
    assert!(wait_for("agreements reloaded").contains("convenios=2"));
    std::fs::write(convenios.join("roto.toml"), "id = 1\n").unwrap();
    hup(child.id());
    wait_for("agreements not reloaded");
    wait_for("roto.toml");
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(wait_with_timeout(&mut child, Duration::from_secs(20)).success());
}

#[test]
fn files_holding_personal_data_are_created_for_their_owner_only() {
    let dir = TempDir::new().unwrap();
    std::fs::create_dir(dir.path().join("var")).unwrap();
    let run = |args: &[&str]| {
        let out = siis_umask_022(dir.path())
            .args(args)
            .env("SIIS__DATABASE__URL", "sqlite://var/siis.db")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(out.status.success(), "{args:?}: {stderr}");
        stderr
    };
    let seeded = run(&["seed", "--persons", "300", "--sample", "var/sample.csv"]);
    run(&["lotes", "generar", "--registros", "20", "feed.csv"]);
    run(&[
        "ingest",
        "--provider",
        "srcei",
        "--tipo",
        "personas",
        "--informe",
        "informe.json",
        "feed.csv",
    ]);
    for file in [
        "var/siis.db",
        "var/siis-auditoria.db",
        "var/siis-auditoria-indice.db",
        "var/sample.csv",
        "feed.csv",
        "informe.json",
    ] {
        assert_eq!(mode(&dir.path().join(file)), "600", "{file}");
    }
    assert!(!seeded.contains("0600"), "nothing to tighten: {seeded}");
}

#[test]
fn a_registry_open_to_others_is_set_to_0600_at_start_with_a_warning_naming_the_file() {
    use std::os::unix::fs::PermissionsExt;
    let dir = TempDir::new().unwrap();
    let siis_in = |args: &[&str]| {
        let out = siis(dir.path())
            .args(args)
            .env("SIIS__DATABASE__URL", "sqlite://siis.db")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(out.status.success(), "{args:?}: {stderr}");
        stderr
    };
    siis_in(&["migrate"]);
    // As an earlier version, or a copy made under umask 022, would have left them.
    for (file, loose) in [("siis.db", 0o644), ("siis-auditoria.db", 0o640)] {
        std::fs::set_permissions(
            dir.path().join(file),
            std::fs::Permissions::from_mode(loose),
        )
        .unwrap();
    }
    // `siis audit` only reads (an auditor may run it as another user): it names the files
    // and changes nothing.
    let audited = siis_in(&["audit", "verify"]);
    assert!(audited.contains("file=siis.db "), "{audited}");
    assert_eq!(mode(&dir.path().join("siis.db")), "644");
    // `estadisticas recalcular` opens the registry as `serve` does (startup::open_registry).
    let stderr = siis_in(&["estadisticas", "recalcular"]);
    for (file, was) in [("siis.db", "0644"), ("siis-auditoria.db", "0640")] {
        assert_eq!(mode(&dir.path().join(file)), "600", "{file}");
        let warning = stderr
            .lines()
            .find(|l| l.contains("WARN") && l.contains(&format!("file={file} ")))
            .unwrap_or_else(|| panic!("no warning names {file}: {stderr}"));
        assert!(
            warning.contains(was) && warning.contains("0600"),
            "{warning}"
        );
    }
    assert_eq!(mode(&dir.path().join("siis-auditoria-indice.db")), "600");
    // Once private, nothing more is said.
    let again = siis_in(&["estadisticas", "recalcular"]);
    assert!(!again.contains("0600"), "{again}");
}

/// `siis config check` reads what `serve` would and lists every problem at once; exit codes
/// tell a problem found (1) from a configuration it cannot read (2).
#[test]
fn config_check_lists_every_problem_and_exits_by_kind() {
    let dir = TempDir::new().unwrap();
    let pki = siis(dir.path())
        .args(["pki", "dev", "--out", "var/pki"])
        .output()
        .unwrap();
    assert!(
        pki.status.success(),
        "{}",
        String::from_utf8_lossy(&pki.stderr)
    );
    let check = || {
        siis(dir.path())
            .env("SIIS__TLS__ALLOW_CA_KEY", "true")
            .args(["config", "check"])
            .output()
            .unwrap()
    };
    let ok = check();
    assert_eq!(
        ok.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&ok.stdout)
    );
    assert!(String::from_utf8_lossy(&ok.stdout).contains("all valid"));

    std::fs::remove_file(dir.path().join("var/pki/auditoria-key.pem")).unwrap();
    std::fs::write(dir.path().join("reglas.toml"), "no es toml [").unwrap();
    let broken = siis(dir.path())
        .env("SIIS__TLS__ALLOW_CA_KEY", "true")
        .env("SIIS__ELEGIBILIDAD__REGLAS", "reglas.toml")
        .args(["config", "check"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&broken.stdout);
    assert_eq!(broken.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("audit: ") && stdout.contains("auditoria-key.pem"),
        "{stdout}"
    );
    assert!(stdout.contains("elegibilidad: "), "{stdout}");

    let unreadable = siis(dir.path())
        .env("SIIS__AUDIT__NO_EXISTE", "1")
        .args(["config", "check"])
        .output()
        .unwrap();
    assert_eq!(unreadable.status.code(), Some(2));
    // A malformed RUN is a usage error too.
    let usage = siis(dir.path())
        .args(["audit", "accesos", "12.345.678-0"])
        .output()
        .unwrap();
    assert_eq!(
        usage.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&usage.stderr)
    );
}
