//! Test harness: per-test databases, development PKI, a running node and mutual-TLS clients.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use diesel::Connection;
use diesel::RunQueryDsl;
use diesel::pg::PgConnection;
use rustls::RootCertStore;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use siis::config::Config;
use siis::db::DatabaseUrl;
use siis::domain::ConvenioId;
use siis::startup::Node;
use tempfile::TempDir;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Whether the PostgreSQL half of the suite runs (`SIIS_TEST_POSTGRES_URL` names a server).
pub fn postgres_configured() -> bool {
    postgres_admin_url().is_some()
}

/// PostgreSQL, for a test case of that backend, when `SIIS_TEST_POSTGRES_URL` names a server
/// (as CI sets it); otherwise `None`, said on stderr, and the case passes without running:
///
/// ```ignore
/// let Some(backend) = postgres_only() else { return };
/// ```
pub fn postgres_only() -> Option<Backend> {
    if postgres_configured() {
        Some(Backend::Postgres)
    } else {
        eprintln!("SIIS_TEST_POSTGRES_URL is not set: the PostgreSQL case did not run");
        None
    }
}

/// One test case per backend, so that one backend's failure never hides the other's result:
///
/// ```ignore
/// per_backend!(async fn name(backend) { let node = TestNode::start(backend).await; ... });
/// ```
///
/// makes `name::sqlite` and `name::postgres` (which runs only when `SIIS_TEST_POSTGRES_URL` is
/// set, as CI sets it: see [`postgres_only`]). The body sees the test file's imports. The
/// cases are `#[tokio::test]`s; `#[actix_web::test]` among the attributes makes them that
/// instead (for bodies that spawn on actix's runtime), and a `fn` without `async` makes them
/// plain `#[test]`s. `#[ignore]` goes on both cases; other attributes (doc comments) go on the
/// module.
#[macro_export]
macro_rules! per_backend {
    // Sorts the attributes: [the cases' runtime] [the cases' own] [the module's].
    (@attrs [$($test:tt)*] [$($case:tt)*] [$($meta:tt)*] #[actix_web::test] $($rest:tt)*) => {
        $crate::per_backend!(@attrs [actix_web::test] [$($case)*] [$($meta)*] $($rest)*);
    };
    (@attrs [$($test:tt)*] [$($case:tt)*] [$($meta:tt)*] #[ignore $($why:tt)*] $($rest:tt)*) => {
        $crate::per_backend!(
            @attrs [$($test)*] [$($case)* #[ignore $($why)*]] [$($meta)*] $($rest)*
        );
    };
    (@attrs [$($test:tt)*] [$($case:tt)*] [$($meta:tt)*] #[$m:meta] $($rest:tt)*) => {
        $crate::per_backend!(@attrs [$($test)*] [$($case)*] [$($meta)* #[$m]] $($rest)*);
    };
    (@attrs [$($test:tt)*] [$($case:tt)*] [$($meta:tt)*]
        async fn $name:ident($backend:ident) $body:block) => {
        $($meta)*
        mod $name {
            #[allow(unused_imports, reason = "the body may use none of the test file's imports")]
            use super::*;

            async fn run($backend: $crate::support::Backend) $body

            #[$($test)*]
            $($case)*
            async fn sqlite() {
                run($crate::support::Backend::Sqlite).await
            }

            #[$($test)*]
            $($case)*
            async fn postgres() {
                if let Some(backend) = $crate::support::postgres_only() {
                    run(backend).await
                }
            }
        }
    };
    (@attrs [tokio::test] [$($case:tt)*] [$($meta:tt)*]
        fn $name:ident($backend:ident) $body:block) => {
        $($meta)*
        mod $name {
            #[allow(unused_imports, reason = "the body may use none of the test file's imports")]
            use super::*;

            fn run($backend: $crate::support::Backend) $body

            #[test]
            $($case)*
            fn sqlite() {
                run($crate::support::Backend::Sqlite)
            }

            #[test]
            $($case)*
            fn postgres() {
                if let Some(backend) = $crate::support::postgres_only() {
                    run(backend)
                }
            }
        }
    };
    (@attrs $($bad:tt)*) => {
        compile_error!("per_backend! expects `[attributes] [async] fn name(backend) { ... }`");
    };
    ($($test:tt)*) => {
        $crate::per_backend!(@attrs [tokio::test] [] [] $($test)*);
    };
}

fn postgres_admin_url() -> Option<String> {
    std::env::var("SIIS_TEST_POSTGRES_URL")
        .ok()
        .filter(|u| !u.is_empty())
}

/// A registry's URL as the command line takes it.
pub fn url_arg(url: &DatabaseUrl) -> String {
    match url {
        DatabaseUrl::Sqlite(path) => format!("sqlite://{}", path.display()),
        DatabaseUrl::Postgres(url) => url.clone(),
    }
}

/// Runs the `siis` binary against the registry `url`, with nothing else from the environment.
pub fn siis_at(url: &str, args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_siis"))
        .env_clear()
        .env("SIIS__DATABASE__URL", url)
        .args(args)
        .output()
        .expect("run siis")
}

/// The standard output of a `siis` run that must succeed (its output is shown when it did not).
pub fn succeeded(out: &std::process::Output) -> String {
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(out.status.success(), "{stdout}{stderr}");
    stdout.into_owned()
}

/// A database of its own for one test; PostgreSQL ones are dropped at the end.
pub struct TestDb {
    pub url: DatabaseUrl,
    pg_name: Option<String>,
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

impl TestDb {
    pub fn new(backend: Backend, dir: &Path) -> TestDb {
        match backend {
            Backend::Sqlite => TestDb {
                url: DatabaseUrl::Sqlite(dir.join("siis.db")),
                pg_name: None,
            },
            Backend::Postgres => {
                let admin = postgres_admin_url().expect("SIIS_TEST_POSTGRES_URL");
                let name = format!(
                    "siis_test_{}_{}",
                    std::process::id(),
                    COUNTER.fetch_add(1, Ordering::Relaxed)
                );
                let mut conn = PgConnection::establish(&admin).expect("connect to test PostgreSQL");
                diesel::sql_query(format!("CREATE DATABASE {name}"))
                    .execute(&mut conn)
                    .expect("create test database");
                let mut url = url::Url::parse(&admin).expect("admin URL");
                url.set_path(&name);
                TestDb {
                    url: DatabaseUrl::parse(url.as_str()).expect("test URL"),
                    pg_name: Some(name),
                }
            }
        }
    }
}

impl TestDb {
    /// Drops a PostgreSQL test database, closing its connections.
    pub fn destroy(&self) {
        if let (Some(name), Some(admin)) = (&self.pg_name, postgres_admin_url())
            && let Ok(mut conn) = PgConnection::establish(&admin)
        {
            let _ = diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .execute(&mut conn);
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        self.destroy();
    }
}

/// Development certificates for a test, with client certificates for the given agreements.
pub fn make_pki(dir: &Path, convenios: &[&str]) -> PathBuf {
    let pki_dir = dir.join("pki");
    let ids: Vec<ConvenioId> = convenios
        .iter()
        .map(|a| ConvenioId::parse(a).expect("agreement id"))
        .collect();
    siis::pki::dev(&pki_dir, &ids).expect("dev pki");
    pki_dir
}

/// A configuration for a test: port 0 everywhere, its own database and PKI.
pub fn test_config(db: &TestDb, pki_dir: &Path, dir: &Path) -> Config {
    let mut config = Config::default();
    config.database.url = db.url.clone();
    config.database.pool_size = 3;
    config.database.pool_timeout_secs = 1;
    config.listen.agency = "127.0.0.1:0".parse().expect("addr");
    config.listen.public = "127.0.0.1:0".parse().expect("addr");
    config.listen.admin = "127.0.0.1:0".parse().expect("addr");
    config.listen.workers = 1;
    // Tests of refused requests see each refusal answered and audited; the tests of the
    // refusal budget itself set it low (`Setup::refusal_budget`).
    config.broker.refusals_per_second = 1_000;
    config.broker.refusals_burst = 10_000;
    config.tls.dir = pki_dir.to_owned();
    config.convenios.dir = repo_path("convenios");
    config.elegibilidad.reglas = repo_path("conf/elegibilidad.toml");
    config.encuesta.modelos = repo_path("conf/modelos");
    config.audit.checkpoints = Some(dir.join("checkpoints.jsonl"));
    config
}

/// A file or folder of the project itself (shipped agreements, rules).
pub fn repo_path(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(relative)
}

/// A copy of the shipped agreements plus extra files, in a folder of the test's own.
pub fn convenios_with<S: AsRef<str>>(dir: &Path, extra: &[(&str, S)]) -> PathBuf {
    let out = dir.join("convenios");
    std::fs::create_dir_all(&out).expect("agreements folder");
    for entry in std::fs::read_dir(repo_path("convenios")).expect("shipped agreements") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "toml") {
            std::fs::copy(&path, out.join(path.file_name().expect("name"))).expect("copy");
        }
    }
    for (name, text) in extra {
        std::fs::write(out.join(name), text.as_ref()).expect("write agreement");
    }
    out
}

/// A copy of the shipped agreements whose limits are out of the way (for tests that compare
/// answers, not limits): the same grants, scopes and clients.
pub fn convenios_without_limits(dir: &Path) -> PathBuf {
    let out = convenios_with::<&str>(dir, &[]);
    for entry in std::fs::read_dir(&out).expect("agreements copy") {
        let path = entry.expect("entry").path();
        let text = std::fs::read_to_string(&path).expect("agreement");
        let mut lines: Vec<String> = Vec::new();
        for line in text.lines() {
            let key = line.split('=').next().unwrap_or("").trim();
            lines.push(match key {
                "per_second" => "per_second = 100000".into(),
                "burst" => "burst = 100000".into(),
                "daily_quota" => "daily_quota = 100000000".into(),
                _ => line.to_owned(),
            });
        }
        std::fs::write(&path, lines.join("\n") + "\n").expect("write agreement");
    }
    out
}

/// The seed thresholds of the shipped eligibility rules.
pub fn umbrales() -> siis::seed::Umbrales {
    let rules = siis::reglas::Rules::load(&repo_path("conf/elegibilidad.toml")).expect("rules");
    siis::seed::Umbrales::from_rules(&rules).expect("thresholds")
}

/// The shipped agreements' ids.
pub const SHIPPED: &[&str] = &[
    "bbnn",
    "fosis",
    "integra",
    "ips",
    "junji",
    "minvu",
    "muni-05101",
    "muni-10101",
    "muni-10401",
    "muni-13101",
    "operador",
    "orasmi-01",
    "orasmi-02",
    "orasmi-03",
    "orasmi-04",
    "orasmi-05",
    "orasmi-06",
    "orasmi-07",
    "orasmi-08",
    "orasmi-09",
    "orasmi-10",
    "orasmi-11",
    "orasmi-12",
    "orasmi-13",
    "orasmi-14",
    "orasmi-15",
    "salud-13",
    "senama",
    "srcei",
    "suseso",
];

pub struct TestNode {
    pub node: Node,
    pub pki: PathBuf,
    pub config: Arc<Config>,
    _db: TestDb,
    _dir: TempDir,
    /// An agreements folder the node was started with, kept while it runs.
    _convenios: Option<TempDir>,
}

/// How a test node is set up.
#[derive(Default)]
pub struct Setup {
    /// Persons to seed (seed 1) before the node starts; 0 leaves the registry empty.
    pub persons: u64,
    /// An agreements folder of the test's own (default: the shipped `convenios/`).
    pub convenios: Option<PathBuf>,
    /// Client certificates beyond the shipped agreements' (e.g. for an unknown agency).
    pub extra_clients: Vec<&'static str>,
    /// Agreements whose client certificates are revoked by a CRL the node honours.
    pub revoked: Vec<&'static str>,
    /// `database.pool_timeout_secs` (default: 1 s, so that refusals come quickly).
    pub pool_timeout_secs: Option<u64>,
    /// `broker.refusals_per_second` and `broker.refusals_burst` (default: out of the way).
    pub refusal_budget: Option<(u32, u32)>,
    /// `broker.failed_validations_per_day` (default: the node's).
    pub failed_validations_per_day: Option<u32>,
    /// `broker.lotes_max_concurrent` (default: the node's).
    pub lotes_max_concurrent: Option<usize>,
    /// `audit.stall_secs` (default: the node's).
    pub audit_stall_secs: Option<u64>,
    /// `database.wal_limit_mb` (default: the node's).
    pub wal_limit_mb: Option<u64>,
    /// `audit.checkpoint_secs` (default: the node's).
    pub checkpoint_secs: Option<u64>,
    /// `audit.checkpoints` (default: a file in the test's folder).
    pub checkpoints: Option<PathBuf>,
    /// Audit records written before the node starts (records 1, 2, …), e.g. old ones to
    /// archive: the node's own records follow them.
    pub audit_records: Vec<siis::audit::AuditRecord>,
    /// The public listener, bound by the test (which then knows the console's address).
    pub public: Option<std::net::TcpListener>,
    /// Changes to the configuration, made last (the console's provider, …).
    pub configure: Option<Configure>,
    /// A database of the test's own making (a cluster it started) instead of a fresh one;
    /// the test drops it.
    pub database: Option<DatabaseUrl>,
}

/// A change to a test node's configuration ([`Setup::configure`]).
pub type Configure = Box<dyn FnOnce(&mut Config)>;

impl TestNode {
    pub async fn start(backend: Backend) -> TestNode {
        Self::start_with(backend, Setup::default()).await
    }

    /// A node whose shipped agreements have limits out of the way: for a test of a flow that
    /// reads pages (each charged its page's persons up front), not of the limits.
    pub async fn start_without_limits(backend: Backend) -> TestNode {
        let dir = TempDir::new().expect("temporary folder");
        let convenios = convenios_without_limits(dir.path());
        let mut node = Self::start_with(
            backend,
            Setup {
                convenios: Some(convenios),
                ..Setup::default()
            },
        )
        .await;
        node._convenios = Some(dir);
        node
    }

    pub async fn start_with(backend: Backend, setup: Setup) -> TestNode {
        let dir = TempDir::new().expect("tempdir");
        let db = match setup.database.clone() {
            Some(url) => TestDb { url, pg_name: None },
            None => TestDb::new(backend, dir.path()),
        };
        let mut clients: Vec<&str> = SHIPPED.to_vec();
        clients.extend(setup.extra_clients.iter().copied());
        if let Some(convenios) = &setup.convenios {
            for id in siis::pki::convenio_ids(convenios).expect("agreement ids") {
                let id: &'static str = Box::leak(id.to_string().into_boxed_str());
                clients.push(id);
            }
        }
        clients.sort();
        clients.dedup();
        let pki = make_pki(dir.path(), &clients);
        let mut config = test_config(&db, &pki, dir.path());
        if let Some(convenios) = setup.convenios {
            config.convenios.dir = convenios;
        }
        if let Some(secs) = setup.pool_timeout_secs {
            config.database.pool_timeout_secs = secs;
        }
        if let Some((per_second, burst)) = setup.refusal_budget {
            config.broker.refusals_per_second = per_second;
            config.broker.refusals_burst = burst;
        }
        if let Some(max) = setup.failed_validations_per_day {
            config.broker.failed_validations_per_day = max;
        }
        if let Some(max) = setup.lotes_max_concurrent {
            config.broker.lotes_max_concurrent = max;
        }
        if let Some(secs) = setup.audit_stall_secs {
            config.audit.stall_secs = secs;
        }
        if let Some(mb) = setup.wal_limit_mb {
            config.database.wal_limit_mb = mb;
        }
        if let Some(secs) = setup.checkpoint_secs {
            config.audit.checkpoint_secs = secs;
        }
        if let Some(file) = setup.checkpoints {
            config.audit.checkpoints = Some(file);
        }
        if !setup.revoked.is_empty() {
            let ids: Vec<ConvenioId> = setup
                .revoked
                .iter()
                .map(|a| ConvenioId::parse(a).expect("id"))
                .collect();
            config.tls.crl = Some(siis::pki::revoke_dev(&pki, &ids).expect("crl"));
        }
        if setup.persons > 0 {
            let pool = siis::db::open_pool(&db.url, 1, std::time::Duration::from_secs(5))
                .expect("open registry");
            let options = siis::seed::SeedOptions {
                persons: setup.persons,
                seed: 1,
                sample: None,
                sample_size: 0,
                umbrales: crate::support::umbrales(),
            };
            siis::seed::seed(&mut pool.get().expect("connection"), &options, &mut |_| {})
                .expect("seed");
        }
        if !setup.audit_records.is_empty() {
            // The tables first: the node would create them at its start.
            drop(
                siis::db::open_pool(&db.url, 1, std::time::Duration::from_secs(5))
                    .expect("open registry"),
            );
            let log = siis::audit::AuditLog::start(&db.url).expect("audit log");
            for record in setup.audit_records {
                log.append(record).await.expect("audit record");
            }
            log.shutdown();
        }
        if let Some(configure) = setup.configure {
            configure(&mut config);
        }
        if std::env::var_os("SIIS_TEST_LOG").is_some() {
            // The node's own logs on standard error (`--nocapture`), to see why a test failed.
            siis::telemetry::init(&config.log);
        }
        let config = Arc::new(config);
        let node = match setup.public {
            None => Node::start(config.clone()).expect("node starts"),
            Some(public) => {
                let listeners = siis::startup::Listeners::bind_with_public(&config.listen, public)
                    .expect("listeners");
                let tls = siis::startup::load_tls(&config).expect("TLS");
                let pool = siis::startup::open_registry(&config).expect("registry");
                Node::start_with(config.clone(), listeners, tls, pool).expect("node starts")
            }
        };
        TestNode {
            node,
            pki,
            config,
            _db: db,
            _dir: dir,
            _convenios: None,
        }
    }

    /// The registry's URL as the command line takes it.
    pub fn database_url(&self) -> String {
        url_arg(&self.config.database.url)
    }

    /// Runs the `siis` binary against this node's registry.
    pub fn siis(&self, args: &[&str]) -> std::process::Output {
        siis_at(&self.database_url(), args)
    }

    /// A direct connection to the node's registry, for checking what the node wrote.
    pub fn db(&self) -> siis::db::DbConnection {
        siis::db::ConnectionManager::new(self.config.database.url.clone())
            .open()
            .expect("registry connection")
    }

    pub fn agency_url(&self, path: &str) -> String {
        format!("https://localhost:{}{path}", self.node.agency.port())
    }

    pub fn public_url(&self, path: &str) -> String {
        format!("https://localhost:{}{path}", self.node.public.port())
    }

    pub fn admin_url(&self, path: &str) -> String {
        format!("http://{}{path}", self.node.admin)
    }

    /// A client that trusts the test CA and, when `convenio` is given, presents that
    /// agreement's client certificate.
    pub fn client(&self, convenio: Option<&str>) -> reqwest::Client {
        let identity = convenio.map(|a| {
            (
                self.pki.join("clients").join(format!("{a}.pem")),
                self.pki.join("clients").join(format!("{a}-key.pem")),
            )
        });
        tls_client(
            &self.pki.join("ca.pem"),
            identity.as_ref().map(|(c, k)| (c.as_path(), k.as_path())),
            &[self.node.agency, self.node.public],
        )
    }

    /// Stops the node and starts it again on the same registry, PKI and configuration (what
    /// the broker remembers across a restart comes from the registry and the audit log).
    pub async fn restart(self) -> TestNode {
        let TestNode {
            node,
            pki,
            config,
            _db,
            _dir,
            _convenios,
        } = self;
        node.stop().await.expect("node stops cleanly");
        let node = Node::start(config.clone()).expect("node starts again");
        TestNode {
            node,
            pki,
            config,
            _db,
            _dir,
            _convenios,
        }
    }

    /// Stops the node and starts it again on the same registry and PKI with its configuration
    /// changed by `configure`; the start's error when the node refuses to start.
    pub async fn restart_with(
        self,
        configure: impl FnOnce(&mut Config),
    ) -> Result<TestNode, String> {
        let TestNode {
            node,
            pki,
            config,
            _db,
            _dir,
            _convenios,
        } = self;
        node.stop().await.expect("node stops cleanly");
        let mut changed = (*config).clone();
        configure(&mut changed);
        let config = Arc::new(changed);
        let node = Node::start(config.clone()).map_err(|e| e.to_string())?;
        Ok(TestNode {
            node,
            pki,
            config,
            _db,
            _dir,
            _convenios,
        })
    }

    pub fn destroy_database(&self) {
        self._db.destroy();
    }

    pub async fn stop(self) {
        self.node.stop().await.expect("node stops cleanly");
    }
}

/// A reqwest client over rustls with an explicit provider, trusting only `ca`.
pub fn tls_client(
    ca: &Path,
    identity: Option<(&Path, &Path)>,
    addrs: &[SocketAddr],
) -> reqwest::Client {
    tls_client_builder(ca, identity, addrs)
        .build()
        .expect("client")
}

/// [`tls_client`] before it is built, for a test that sets more (no redirects, …).
pub fn tls_client_builder(
    ca: &Path,
    identity: Option<(&Path, &Path)>,
    addrs: &[SocketAddr],
) -> reqwest::ClientBuilder {
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(ca).expect("ca") {
        roots.add(cert.expect("ca cert")).expect("add ca");
    }
    let builder = rustls::ClientConfig::builder_with_provider(siis::tls::provider())
        .with_safe_default_protocol_versions()
        .expect("protocols")
        .with_root_certificates(roots);
    let tls = match identity {
        Some((cert, key)) => {
            let chain = CertificateDer::pem_file_iter(cert)
                .expect("cert")
                .collect::<Result<Vec<_>, _>>()
                .expect("cert chain");
            let key = PrivateKeyDer::from_pem_file(key).expect("key");
            builder
                .with_client_auth_cert(chain, key)
                .expect("client auth")
        }
        None => builder.with_no_client_auth(),
    };
    let mut client = reqwest::Client::builder().use_preconfigured_tls(tls);
    for addr in addrs {
        client = client.resolve("localhost", *addr);
    }
    client
}

/// A person's access report (ConsultarAccesos) as the registry's operator reads it.
pub async fn access_report(node: &TestNode, run: impl std::fmt::Display) -> serde_json::Value {
    node.client(Some("operador"))
        .get(node.agency_url(&format!("/api/v1/personas/{run}/accesos")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}
