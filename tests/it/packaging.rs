//! What the node ships with (docs/packaging.md): completions and manual pages generated from
//! the command line, the systemd unit (checked by systemd's own tools), the Debian package's
//! metadata and the container image's Dockerfile.

use std::path::Path;
use std::process::{Command, Output};

use clap::CommandFactory;
use tempfile::TempDir;

use crate::cli::siis;
use crate::soap::client::tool_available;
use crate::support::repo_path;

/// Every subcommand path of the command line: ["serve"], ["convenios", "check"], …
fn subcommands() -> Vec<Vec<String>> {
    fn walk(cmd: &clap::Command, path: &[String], out: &mut Vec<Vec<String>>) {
        for sub in cmd.get_subcommands() {
            let mut here = path.to_vec();
            here.push(sub.get_name().to_owned());
            out.push(here.clone());
            walk(sub, &here, out);
        }
    }
    let mut out = Vec::new();
    walk(&siis::cli::Cli::command(), &[], &mut out);
    out
}

fn stdout_of(output: &Output) -> String {
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout.clone()).unwrap()
}

#[test]
fn completions_name_the_real_subcommands_without_reading_a_configuration() {
    let dir = TempDir::new().unwrap();
    // A configuration that stops every other command: these do not read one.
    let run = |shell: &str| {
        siis(dir.path())
            .args(["completions", shell])
            .env("SIIS__DATABASE__NOPE", "1")
            .output()
            .unwrap()
    };
    let bash = stdout_of(&run("bash"));
    assert!(bash.contains("complete -F _siis"), "{bash}");
    for word in [
        "serve",
        "convenios",
        "check",
        "audit",
        "verify",
        "--config",
        "--demo",
    ] {
        assert!(bash.contains(word), "{word} not in the bash completion");
    }
    for shell in ["zsh", "fish"] {
        let script = stdout_of(&run(shell));
        assert!(
            script.contains("convenios") && script.contains("serve"),
            "{shell}"
        );
    }
    let out = run("tcsh");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("bash"));
}

#[test]
fn the_manual_pages_are_roff_naming_every_subcommand() {
    let dir = TempDir::new().unwrap();
    let page = stdout_of(&siis(dir.path()).arg("man").output().unwrap());
    assert!(page.contains(".TH siis 1"), "{page}");
    assert!(page.contains(".SH SUBCOMMANDS"), "{page}");
    let top: Vec<Vec<String>> = subcommands().into_iter().filter(|p| p.len() == 1).collect();
    for path in &top {
        assert!(
            page.contains(&format!("siis\\-{}(1)", path[0])),
            "{} not in siis.1",
            path[0]
        );
    }

    let out = dir.path().join("man1");
    stdout_of(
        &siis(dir.path())
            .args(["man", "--out"])
            .arg(&out)
            .output()
            .unwrap(),
    );
    let mut expected: Vec<String> = subcommands()
        .iter()
        .map(|p| format!("siis-{}.1", p.join("-")))
        .collect();
    expected.push("siis.1".into());
    expected.sort();
    let mut written: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    written.sort();
    assert_eq!(written, expected);

    if !tool_available(Command::new("man").arg("--version"), "man (man-db)") {
        return;
    }
    let render = |file: &str| {
        let out = Command::new("man")
            .arg("-l")
            .arg(out.join(file))
            .env("MANPAGER", "cat")
            .env("MANWIDTH", "100")
            .env("LC_ALL", "C")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.trim().is_empty(), "man -l {file}: {stderr}");
        stdout_of(&out)
    };
    let text = render("siis.1");
    assert!(text.contains("NAME"), "{text}");
    assert!(text.contains("siis - SIIS node"), "{text}");
    assert!(text.contains("siis-convenios(1)"), "{text}");
    assert!(text.contains("/etc/siis/siis.toml"), "{text}");
    let serve = render("siis-serve.1");
    assert!(serve.contains("--demo"), "{serve}");
}

/// The unit with ExecStart pointing at the binary under test (verify requires it to exist),
/// written as `siis.service` in `dir`.
fn unit_copy(dir: &Path, text: &str) -> std::path::PathBuf {
    let path = dir.join("siis.service");
    std::fs::write(
        &path,
        text.replace("/usr/bin/siis", env!("CARGO_BIN_EXE_siis")),
    )
    .unwrap();
    path
}

fn systemd_analyze(args: &[&str], unit: &Path, manpath: &Path) -> Output {
    Command::new("systemd-analyze")
        .args(args)
        .arg(unit)
        .env("MANPATH", manpath)
        .env("SYSTEMD_LOG_COLOR", "0")
        .output()
        .unwrap()
}

#[test]
fn the_unit_file_passes_systemd_analyze_verify_and_security() {
    if !tool_available(
        Command::new("systemd-analyze").arg("--version"),
        "systemd-analyze (systemd)",
    ) {
        return;
    }
    let dir = TempDir::new().unwrap();
    // Documentation=man:siis(1) must resolve: the generated pages, as the package installs them.
    let manpath = dir.path().join("man");
    stdout_of(
        &siis(dir.path())
            .args(["man", "--out"])
            .arg(manpath.join("man1"))
            .output()
            .unwrap(),
    );
    let shipped = std::fs::read_to_string(repo_path("packaging/siis.service")).unwrap();
    let unit = unit_copy(dir.path(), &shipped);
    let verify = systemd_analyze(&["verify"], &unit, &manpath);
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&verify.stdout),
        String::from_utf8_lossy(&verify.stderr)
    );
    assert!(verify.status.success(), "{said}");
    assert!(said.trim().is_empty(), "no warning expected: {said}");

    // The check sees a misspelt directive (which systemd would ignore, with a warning only).
    let misspelt = unit_copy(
        dir.path(),
        &shipped.replace("ProtectSystem=strict", "ProtectSytem=strict"),
    );
    let verify = systemd_analyze(&["verify"], &misspelt, &manpath);
    let said = String::from_utf8_lossy(&verify.stderr);
    assert!(said.contains("ProtectSytem"), "{said}");

    // systemd's exposure score (0 safest, 10 unprotected) stays at 2 or below; the same unit
    // without its hardening lines scores far worse.
    let unit = unit_copy(dir.path(), &shipped);
    let security = ["security", "--offline=yes", "--threshold=20"];
    let scored = systemd_analyze(&security, &unit, &manpath);
    assert!(
        scored.status.success(),
        "{}",
        String::from_utf8_lossy(&scored.stdout)
    );
    let bare: String = shipped
        .split_inclusive('\n')
        .take_while(|line| !line.starts_with("# Hardening"))
        .chain(["[Install]\n", "WantedBy=multi-user.target\n"])
        .collect();
    let unit = unit_copy(dir.path(), &bare);
    let scored = systemd_analyze(&security, &unit, &manpath);
    assert!(!scored.status.success(), "an unhardened unit must fail");
}

#[test]
fn the_debian_package_takes_every_file_it_names_from_the_repository() {
    let manifest: toml::Table = std::fs::read_to_string(repo_path("Cargo.toml"))
        .unwrap()
        .parse()
        .unwrap();
    let deb = &manifest["package"]["metadata"]["deb"];
    let assets = deb["assets"].as_array().unwrap();
    let mut dests = Vec::new();
    for asset in assets {
        let asset = asset.as_array().unwrap();
        let (source, dest) = (asset[0].as_str().unwrap(), asset[1].as_str().unwrap());
        dests.push(dest.to_owned());
        // The example agreements name their clients by subject CN alone: documentation, never
        // agreements in force on an installed node.
        assert!(
            !dest.starts_with("etc/siis/convenios"),
            "{source} installed as an agreement in force"
        );
        // The configuration may hold the database password.
        if dest == "etc/siis/siis.toml" {
            assert_eq!(asset[2].as_str(), Some("640"));
        }
        // Built or generated by packaging/build-deb.sh; everything else is in the repository.
        if source.starts_with("target/") {
            continue;
        }
        let found = match source.strip_suffix("/*") {
            Some(dir) => repo_path(dir).is_dir(),
            None => repo_path(source).is_file(),
        };
        assert!(found, "{source} is missing");
    }
    for dest in [
        "usr/bin/",
        "etc/siis/siis.toml",
        "etc/siis/elegibilidad.toml",
        "etc/siis/modelos/",
        "usr/share/man/man1/",
        "usr/share/bash-completion/completions/siis",
    ] {
        assert!(
            dests.iter().any(|d| d == dest),
            "nothing installed as {dest}"
        );
    }
    let scripts = deb["maintainer-scripts"].as_str().unwrap();
    let postinst = std::fs::read_to_string(repo_path(scripts).join("postinst")).unwrap();
    assert!(postinst.contains("#DEBHELPER#"));
    assert!(postinst.contains("install -d -o siis -g siis -m 0700 /var/lib/siis"));
    assert!(postinst.contains("install -d -o siis -g siis -m 0700 /etc/siis/tls"));
    assert!(postinst.contains("chmod 0640 /etc/siis/siis.toml"));
    let units = deb["systemd-units"]["unit-scripts"].as_str().unwrap();
    assert!(repo_path(units).join("siis.service").is_file());
    // The build script generates what the assets name.
    let build = std::fs::read_to_string(repo_path("packaging/build-deb.sh")).unwrap();
    for generated in [
        "man --out",
        "completions bash",
        "completions zsh",
        "completions fish",
    ] {
        assert!(build.contains(generated), "{generated}");
    }
}

#[test]
fn the_dockerfile_copies_only_what_the_repository_has_and_runs_unprivileged() {
    let dockerfile = std::fs::read_to_string(repo_path("Dockerfile")).unwrap();
    let ignored = std::fs::read_to_string(repo_path(".dockerignore")).unwrap();
    let ignored: Vec<&str> = ignored
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .collect();
    let mut copies = 0;
    for line in dockerfile.lines().filter(|l| l.starts_with("COPY ")) {
        let words: Vec<&str> = line.split_whitespace().skip(1).collect();
        if words.iter().any(|w| w.starts_with("--from=")) {
            continue;
        }
        let args: Vec<&str> = words.into_iter().filter(|w| !w.starts_with("--")).collect();
        for source in &args[..args.len() - 1] {
            let source = source.trim_end_matches('/');
            assert!(
                repo_path(source).exists(),
                "COPY {source}: not in the repository"
            );
            assert!(
                !ignored.contains(&source),
                "COPY {source}: excluded by .dockerignore"
            );
            copies += 1;
        }
    }
    assert!(copies >= 8, "{copies} COPY sources read");
    for ignored_dir in ["target", "var", ".git"] {
        assert!(
            ignored.contains(&ignored_dir),
            "{ignored_dir} in the context"
        );
    }
    let runtime = &dockerfile[dockerfile.rfind("\nFROM ").unwrap()..];
    assert!(runtime.contains("FROM debian:bookworm-slim"), "{runtime}");
    assert!(
        runtime.contains("\nUSER siis"),
        "the runtime stage runs as siis"
    );
    assert!(runtime.contains("EXPOSE 8443 8444"));
    assert!(runtime.contains("HEALTHCHECK"));
    assert!(crate::systemd::healthcheck_script(runtime).contains("127.0.0.1/8480"));
    assert!(runtime.contains("ENTRYPOINT [\"/usr/bin/siis\""));
    assert!(runtime.contains("CMD [\"serve\"]"));
}
