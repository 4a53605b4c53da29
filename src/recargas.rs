//! Agreement reloads reaching every node of a cluster (`cluster.nodo`, PostgreSQL).
//!
//! The agreements stay files, deployed to every machine by the ministry's configuration
//! management; the database carries only the event and what each node made of it. The node
//! where a reload was asked (SIGHUP, `POST /admin/convenios/reload`), once its own succeeded,
//! inserts a version into `recargas` and sends `pg_notify('siis_recarga', version)` in the same
//! transaction. Every node listens ([`escucha`]): it reloads its own folder and revocation
//! list and records its result and the digest of its files in `recargas_nodos`. The admin
//! answer waits a few seconds for the nodes connected now and names each one's result, and any
//! whose files differ: a mismatch is named, not hidden.

mod escucha;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use diesel::pg::PgConnection;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Integer, Nullable, Text};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::config::Config;
use crate::db::DatabaseUrl;

pub use escucha::Escucha;

/// The notification channel.
pub const CANAL: &str = "siis_recarga";

/// The prefix of the listener's `application_name`: the nodes connected now are those whose
/// listener session shows in `pg_stat_activity`.
const APLICACION: &str = "siis-recargas:";

/// How long the admin answer waits for the other nodes' results.
pub const ESPERA: Duration = Duration::from_secs(5);

/// This node's part in the cluster's reloads.
#[derive(Debug)]
pub struct Recargas {
    nodo: String,
    url: String,
    dir: PathBuf,
}

/// A version this node published.
#[derive(Debug, Clone, Serialize)]
pub struct Publicada {
    pub version: i64,
    pub digest: String,
}

/// What one node made of a version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, QueryableByName)]
pub struct Resultado {
    #[diesel(sql_type = Text)]
    pub nodo: String,
    /// `ok`, or why the node refused the set (the previous one stays in force there).
    #[diesel(sql_type = Text)]
    pub resultado: String,
    #[diesel(sql_type = Text)]
    pub digest: String,
    #[diesel(sql_type = Nullable<Integer>)]
    pub convenios: Option<i32>,
}

/// The admin answer's `cluster` part.
#[derive(Debug, Clone, Serialize)]
pub struct Informe {
    pub version: i64,
    /// The digest of this node's files.
    pub digest: String,
    /// Every node that recorded a result for this version, this one included.
    pub nodos: Vec<Resultado>,
    /// Nodes connected now that recorded nothing within [`ESPERA`].
    pub sin_respuesta: Vec<String>,
    /// Nodes whose files differ from this node's.
    pub digest_distinto: Vec<String>,
    /// Nodes that refused the set.
    pub fallidos: Vec<String>,
}

impl Recargas {
    /// Set up when `cluster.nodo` is set (which needs PostgreSQL).
    pub fn from_config(config: &Config) -> Option<Arc<Recargas>> {
        let nodo = config.cluster.nodo.clone()?;
        let DatabaseUrl::Postgres(url) = &config.database.url else {
            return None;
        };
        Some(Arc::new(Recargas {
            nodo,
            url: url.clone(),
            dir: config.convenios.dir.clone(),
        }))
    }

    pub fn nodo(&self) -> &str {
        &self.nodo
    }

    /// The digest of the agreement files as they are now ([`digest`]).
    fn digest_now(&self) -> String {
        digest(&self.dir).unwrap_or_else(|error| {
            tracing::warn!(error = %error, "agreement files unreadable for their digest");
            String::new()
        })
    }

    /// After this node's own reload succeeded: a new version, this node's result and the
    /// notification, in one transaction (the notification leaves at its commit).
    pub fn publicar(&self, conn: &mut PgConnection, convenios: usize) -> QueryResult<Publicada> {
        let digest = self.digest_now();
        let version = conn.transaction(|conn| {
            #[derive(QueryableByName)]
            struct Version {
                #[diesel(sql_type = BigInt)]
                version: i64,
            }
            let Version { version } = diesel::sql_query(
                "INSERT INTO recargas (nodo, digest) VALUES ($1, $2) RETURNING version",
            )
            .bind::<Text, _>(&self.nodo)
            .bind::<Text, _>(&digest)
            .get_result(conn)?;
            anotar(conn, version, &self.nodo, "ok", &digest, Some(convenios))?;
            diesel::sql_query("SELECT pg_notify($1, $2)")
                .bind::<Text, _>(CANAL)
                .bind::<Text, _>(version.to_string())
                .execute(conn)?;
            Ok::<_, diesel::result::Error>(version)
        })?;
        tracing::info!(
            recarga.version = version,
            "agreements reload announced to the other nodes"
        );
        Ok(Publicada { version, digest })
    }

    /// The nodes' results for `publicada`, waiting up to `limit` for every node connected now
    /// to record one.
    pub fn informe(
        &self,
        conn: &mut PgConnection,
        publicada: &Publicada,
        limit: Duration,
    ) -> QueryResult<Informe> {
        let deadline = Instant::now() + limit;
        loop {
            let nodos = resultados(conn, publicada.version)?;
            let sin_respuesta: Vec<String> = conectados(conn)?
                .into_iter()
                .filter(|n| !nodos.iter().any(|r| &r.nodo == n))
                .collect();
            if sin_respuesta.is_empty() || Instant::now() >= deadline {
                let distinto = |r: &&Resultado| r.digest != publicada.digest;
                return Ok(Informe {
                    version: publicada.version,
                    digest: publicada.digest.clone(),
                    digest_distinto: nodos
                        .iter()
                        .filter(distinto)
                        .map(|r| r.nodo.clone())
                        .collect(),
                    fallidos: nodos
                        .iter()
                        .filter(|r| r.resultado != "ok")
                        .map(|r| r.nodo.clone())
                        .collect(),
                    nodos,
                    sin_respuesta,
                });
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// Records what `nodo` made of `version` (again, if it restarted with other files).
fn anotar(
    conn: &mut PgConnection,
    version: i64,
    nodo: &str,
    resultado: &str,
    digest: &str,
    convenios: Option<usize>,
) -> QueryResult<()> {
    diesel::sql_query(
        "INSERT INTO recargas_nodos (version, nodo, resultado, digest, convenios) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (version, nodo) DO UPDATE SET \
         resultado = excluded.resultado, digest = excluded.digest, \
         convenios = excluded.convenios, ts = now()",
    )
    .bind::<BigInt, _>(version)
    .bind::<Text, _>(nodo)
    .bind::<Text, _>(resultado)
    .bind::<Text, _>(digest)
    .bind::<Nullable<Integer>, _>(convenios.and_then(|n| i32::try_from(n).ok()))
    .execute(conn)
    .map(drop)
}

fn resultados(conn: &mut PgConnection, version: i64) -> QueryResult<Vec<Resultado>> {
    diesel::sql_query(
        "SELECT nodo, resultado, digest, convenios FROM recargas_nodos WHERE version = $1 \
         ORDER BY nodo",
    )
    .bind::<BigInt, _>(version)
    .load(conn)
}

/// The nodes whose listener is connected to this database now.
fn conectados(conn: &mut PgConnection) -> QueryResult<Vec<String>> {
    #[derive(QueryableByName)]
    struct Nombre {
        #[diesel(sql_type = Text)]
        application_name: String,
    }
    let nombres: Vec<Nombre> = diesel::sql_query(
        "SELECT DISTINCT application_name FROM pg_stat_activity \
         WHERE datname = current_database() AND starts_with(application_name, $1)",
    )
    .bind::<Text, _>(APLICACION)
    .load(conn)?;
    let mut nodos: Vec<String> = nombres
        .into_iter()
        .filter_map(|n| {
            n.application_name
                .strip_prefix(APLICACION)
                .map(str::to_owned)
        })
        .collect();
    nodos.sort();
    Ok(nodos)
}

/// SHA-256 (hex) over the agreement files (`*.toml`) of `dir`, sorted by name: each name and
/// content preceded by its length, so that no two sets share a digest by moving bytes from
/// one file to the next.
pub fn digest(dir: &Path) -> std::io::Result<String> {
    let mut files: Vec<(String, PathBuf)> = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "toml") && path.is_file() {
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            files.push((name, path));
        }
    }
    files.sort();
    let mut hash = Sha256::new();
    for (name, path) in files {
        let content = std::fs::read(&path)?;
        hash.update((name.len() as u64).to_be_bytes());
        hash.update(name.as_bytes());
        hash.update((content.len() as u64).to_be_bytes());
        hash.update(&content);
    }
    Ok(hex::encode(hash.finalize()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_digest_covers_names_and_contents_in_order_and_only_agreement_files() {
        let dir = tempfile::TempDir::new().unwrap();
        let write = |name: &str, text: &str| std::fs::write(dir.path().join(name), text).unwrap();
        write("a.toml", "x = 1\n");
        write("b.toml", "y = 2\n");
        let first = digest(dir.path()).unwrap();
        assert_eq!(first.len(), 64);
        write("notas.txt", "not an agreement");
        assert_eq!(digest(dir.path()).unwrap(), first);
        write("b.toml", "y = 3\n");
        let changed = digest(dir.path()).unwrap();
        assert_ne!(changed, first);
        // The same bytes split differently between the files.
        write("a.toml", "x = 1\ny");
        write("b.toml", " = 3\n");
        assert_ne!(digest(dir.path()).unwrap(), changed);
        std::fs::rename(dir.path().join("b.toml"), dir.path().join("c.toml")).unwrap();
        write("a.toml", "x = 1\n");
        write("c.toml", "y = 3\n");
        assert_ne!(
            digest(dir.path()).unwrap(),
            changed,
            "a renamed file changes it"
        );
    }
}
