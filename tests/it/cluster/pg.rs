//! A PostgreSQL primary and streaming replicas of the test's own, started with the server's
//! own tools (`initdb`, `pg_basebackup`, `pg_ctl`) in a temporary folder, so that a test can
//! stop the primary, pause a replica's replay or kill either without touching the shared test
//! cluster. As root (CI), every tool runs as the `postgres` user, which owns the folder.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use diesel::prelude::*;
use tempfile::TempDir;

/// The server's binaries: `pg_config --bindir`, or the newest `/usr/lib/postgresql/*/bin`.
fn bin_dir() -> Option<PathBuf> {
    let from_config = Command::new("pg_config")
        .arg("--bindir")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()));
    if let Some(dir) = from_config.filter(|d| d.join("initdb").is_file()) {
        return Some(dir);
    }
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
        .filter(|d| d.join("initdb").is_file())
        .collect();
    found.sort_by_key(|d| {
        d.parent()
            .and_then(|v| v.file_name())
            .and_then(|v| v.to_str())
            .and_then(|v| v.parse::<u32>().ok())
            .unwrap_or(0)
    });
    found.pop()
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// A free port on the loopback (free when asked; a small race with other processes).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// One server of the cluster.
struct Server {
    data: PathBuf,
    port: u16,
}

/// A primary and its replicas, stopped and removed on drop.
pub struct PgCluster {
    dir: TempDir,
    bin: PathBuf,
    as_postgres: bool,
    primary: Server,
    replicas: Vec<Server>,
}

impl PgCluster {
    /// A new primary, or `None` (with a notice) when PostgreSQL's server tools are missing.
    /// The tests that need one run where PostgreSQL is configured for the suite
    /// (`SIIS_TEST_POSTGRES_URL`); there, missing tools fail the test.
    pub fn start() -> Option<PgCluster> {
        let Some(bin) = bin_dir() else {
            assert!(
                !crate::support::postgres_configured(),
                "SIIS_TEST_POSTGRES_URL is set but PostgreSQL's initdb was not found"
            );
            eprintln!("skipped: PostgreSQL's server tools (initdb) are not installed");
            return None;
        };
        let dir = tempfile::Builder::new()
            .prefix("siis-pgcluster")
            .tempdir()
            .expect("tempdir");
        let as_postgres = is_root();
        let cluster = PgCluster {
            primary: Server {
                data: dir.path().join("primario"),
                port: free_port(),
            },
            dir,
            bin,
            as_postgres,
            replicas: Vec::new(),
        };
        if as_postgres {
            cluster.run(Command::new("chown").args([
                "postgres:postgres",
                &cluster.dir.path().display().to_string(),
            ]));
        }
        let data = cluster.primary.data.display().to_string();
        cluster.tool(
            "initdb",
            &[
                "-D",
                &data,
                "-A",
                "trust",
                "-U",
                "postgres",
                "-E",
                "UTF8",
                "--no-locale",
                "--no-sync",
            ],
        );
        cluster.start_server(0);
        Some(cluster)
    }

    /// Adds a streaming replica of the primary (`pg_basebackup -R`), started and connected.
    pub fn add_replica(&mut self) -> usize {
        let index = self.replicas.len();
        let server = Server {
            data: self.dir.path().join(format!("replica{}", index + 1)),
            port: free_port(),
        };
        let source = format!(
            "host=127.0.0.1 port={} user=postgres application_name=replica{}",
            self.primary.port,
            index + 1
        );
        let data = server.data.display().to_string();
        self.tool(
            "pg_basebackup",
            &[
                "-d", &source, "-D", &data, "-R", "-X", "stream", "-c", "fast",
            ],
        );
        // Read last, so these win over what the copy brought from the primary. The replica
        // retries its stream every second (the default is 5 s), keeps no horizon on the
        // primary, and cancels a query that holds up replay for more than a second.
        let settings = "wal_retrieve_retry_interval = '1s'\nhot_standby_feedback = off\n\
                        max_standby_streaming_delay = '1s'\n";
        let auto = server.data.join("postgresql.auto.conf");
        let mut text = std::fs::read_to_string(&auto).expect("postgresql.auto.conf");
        text.push_str(settings);
        std::fs::write(&auto, text).expect("postgresql.auto.conf");
        self.replicas.push(server);
        self.start_server(index + 1);
        index
    }

    /// `postgres://` URL of database `db` on the primary.
    pub fn primary_url(&self, db: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{db}", self.primary.port)
    }

    /// `postgres://` URL of database `db` on replica `index`.
    pub fn replica_url(&self, index: usize, db: &str) -> String {
        format!(
            "postgres://postgres@127.0.0.1:{}/{db}",
            self.replicas[index].port
        )
    }

    /// Runs SQL on the primary's `postgres` database.
    pub fn on_primary(&self, sql: &str) {
        let mut conn =
            PgConnection::establish(&self.primary_url("postgres")).expect("connect to primary");
        diesel::sql_query(sql).execute(&mut conn).expect(sql);
    }

    /// Runs SQL on replica `index`'s `postgres` database.
    pub fn on_replica(&self, index: usize, sql: &str) {
        let mut conn = PgConnection::establish(&self.replica_url(index, "postgres"))
            .expect("connect to replica");
        diesel::sql_query(sql).execute(&mut conn).expect(sql);
    }

    /// Stops the primary (`pg_ctl stop -m fast`); its replicas keep serving reads.
    pub fn stop_primary(&self) {
        let out = self.pg_ctl(&self.primary.data, &["stop", "-m", "fast", "-w"]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Starts the primary again after [`PgCluster::stop_primary`].
    pub fn start_primary(&self) {
        self.start_server(0);
    }

    /// Stops replica `index` (`pg_ctl stop -m immediate`).
    pub fn stop_replica(&self, index: usize) {
        self.pg_ctl(
            &self.replicas[index].data,
            &["stop", "-m", "immediate", "-w"],
        );
    }

    fn start_server(&self, index: usize) {
        let server = match index {
            0 => &self.primary,
            n => &self.replicas[n - 1],
        };
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200",
            server.port,
            self.dir.path().display()
        );
        let log = self
            .dir
            .path()
            .join(format!("servidor{index}.log"))
            .display()
            .to_string();
        let data = server.data.display().to_string();
        let out = self.command(
            "pg_ctl",
            &["-D", &data, "-l", &log, "-w", "-o", &options, "start"],
        );
        if !out.status.success() {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            panic!(
                "pg_ctl start failed: {}{}\n{text}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }

    fn pg_ctl(&self, data: &Path, args: &[&str]) -> Output {
        let data = data.display().to_string();
        let mut all = vec!["-D", &data];
        all.extend_from_slice(args);
        self.command("pg_ctl", &all)
    }

    /// Runs one of the server's tools and requires it to succeed.
    fn tool(&self, name: &str, args: &[&str]) {
        let out = self.command(name, args);
        assert!(
            out.status.success(),
            "{name} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn command(&self, name: &str, args: &[&str]) -> Output {
        let program = self.bin.join(name);
        let mut command = match self.as_postgres {
            true => {
                let mut c = Command::new("runuser");
                c.args(["-u", "postgres", "--"]).arg(&program);
                c
            }
            false => Command::new(&program),
        };
        command.args(args).current_dir(self.dir.path());
        command
            .output()
            .unwrap_or_else(|e| panic!("run {name}: {e}"))
    }

    fn run(&self, command: &mut Command) {
        let out = command.output().expect("run");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        for server in self.replicas.iter().chain([&self.primary]) {
            let _ = self.pg_ctl(&server.data, &["stop", "-m", "immediate", "-w"]);
        }
    }
}
