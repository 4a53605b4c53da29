//! Console sessions, kept in the registry's database (`consola_sesiones`): the browser's cookie
//! holds only 32 random bytes, and the table only their SHA-256, so neither a copy of the table
//! nor a log opens a session. A session ends at sign-out, after `consola.sesion_minutos` from
//! sign-in, or after `consola.inactividad_minutos` without a page. Sign-in replaces the
//! anonymous session that started it with a new one (a key planted before sign-in is worth
//! nothing after it).
//!
//! The cookie is `__Host-` (Secure, `Path=/`, no `Domain`), HttpOnly and `SameSite=Lax`: `Strict`
//! would drop it on the provider's redirect back to `/consola/retorno`, losing the pending
//! sign-in. Every form carries the session's CSRF token, compared in constant time, and a
//! POST from another origin is refused.

use actix_web::HttpRequest;
use actix_web::cookie::{Cookie, SameSite};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use diesel::prelude::*;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::broker::Usuario;
use crate::catalog::Rol;
use crate::db::schema::consola_sesiones;
use crate::db::{DbConnection, DbError};
use crate::domain::{ConvenioId, Run};

/// The session cookie's name.
pub const COOKIE: &str = "__Host-siis-consola";

/// A sign-in in progress: what the provider's answer must match.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Pendiente {
    pub state: String,
    pub nonce: String,
    pub verifier: String,
}

/// A session as a page sees it.
#[derive(Debug, Clone)]
pub struct Sesion {
    /// SHA-256 (hex) of the cookie's key.
    id: String,
    pub usuario: Option<Usuario>,
    /// The name Clave Única gave, for the page's header only.
    pub nombre: Option<String>,
    pub csrf: String,
    pub login: Option<Pendiente>,
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = consola_sesiones)]
struct Fila {
    id: String,
    usuario: Option<i32>,
    rol: Option<String>,
    convenio: Option<String>,
    nombre: Option<String>,
    csrf: String,
    login: Option<String>,
    creada_us: i64,
    expira_us: i64,
}

/// How long sessions last, in microseconds.
#[derive(Debug, Clone, Copy)]
pub struct Duracion {
    pub total_us: i64,
    pub inactividad_us: i64,
}

impl Duracion {
    pub fn from_config(c: &crate::config::ConsolaConfig) -> Duracion {
        let minutes = |m: u64| i64::try_from(m.saturating_mul(60_000_000)).unwrap_or(i64::MAX);
        Duracion {
            total_us: minutes(c.sesion_minutos),
            inactividad_us: minutes(c.inactividad_minutos),
        }
    }
}

fn random_text() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

fn digest(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

fn now_us() -> i64 {
    chrono::Utc::now().timestamp_micros()
}

/// What a new session holds.
pub enum Nueva<'a> {
    /// Before sign-in: the pending sign-in (or none, for a page's CSRF token alone).
    Anonima(Option<&'a Pendiente>),
    Usuario {
        usuario: &'a Usuario,
        nombre: &'a str,
    },
}

/// Opens a session; returns the cookie's key (to send once) and the session. Expired sessions
/// are deleted on the way.
pub fn crear(
    conn: &mut DbConnection,
    nueva: Nueva<'_>,
    duracion: Duracion,
) -> Result<(String, Sesion), DbError> {
    let now = now_us();
    diesel::delete(consola_sesiones::table.filter(consola_sesiones::expira_us.lt(now)))
        .execute(conn)?;
    let key = random_text();
    let (usuario, nombre, login, expira) = match nueva {
        Nueva::Anonima(login) => (None, None, login.cloned(), now + duracion.inactividad_us),
        Nueva::Usuario { usuario, nombre } => (
            Some(usuario.clone()),
            Some(nombre.to_owned()),
            None,
            now + duracion.inactividad_us.min(duracion.total_us),
        ),
    };
    let fila = Fila {
        id: digest(&key),
        usuario: usuario
            .as_ref()
            .map(|u| i32::try_from(u.run.numero()).unwrap_or(i32::MAX)),
        rol: usuario.as_ref().map(|u| u.rol.as_str().to_owned()),
        convenio: usuario.as_ref().map(|u| u.convenio.to_string()),
        nombre: nombre.clone(),
        csrf: random_text(),
        login: login
            .as_ref()
            .map(|p| serde_json::to_string(p).expect("a pending sign-in serializes")),
        creada_us: now,
        expira_us: expira,
    };
    diesel::insert_into(consola_sesiones::table)
        .values(&fila)
        .execute(conn)?;
    let sesion = Sesion {
        id: fila.id,
        usuario,
        nombre,
        csrf: fila.csrf,
        login,
    };
    Ok((key, sesion))
}

/// The session of a cookie's key, if it is open; its inactivity clock starts again.
pub fn leer(
    conn: &mut DbConnection,
    key: &str,
    duracion: Duracion,
) -> Result<Option<Sesion>, DbError> {
    let now = now_us();
    let id = digest(key);
    let fila: Option<Fila> = consola_sesiones::table
        .find(&id)
        .filter(consola_sesiones::expira_us.gt(now))
        .select(Fila::as_select())
        .first(conn)
        .optional()?;
    let Some(fila) = fila else {
        return Ok(None);
    };
    let limite = match fila.usuario {
        Some(_) => fila.creada_us.saturating_add(duracion.total_us),
        None => i64::MAX,
    };
    let expira = now.saturating_add(duracion.inactividad_us).min(limite);
    diesel::update(consola_sesiones::table.find(&id))
        .set(consola_sesiones::expira_us.eq(expira))
        .execute(conn)?;
    let usuario = match (fila.usuario, fila.rol.as_deref(), fila.convenio.as_deref()) {
        (Some(run), Some(rol), Some(convenio)) => {
            let run = u32::try_from(run)
                .ok()
                .and_then(|n| Run::from_numero(n).ok());
            let rol = Rol::parse(rol);
            let convenio = ConvenioId::parse(convenio).ok();
            match (run, rol, convenio) {
                (Some(run), Some(rol), Some(convenio)) => Some(Usuario { run, convenio, rol }),
                // A row this node cannot read opens nothing.
                _ => return Ok(None),
            }
        }
        _ => None,
    };
    let login = match fila.login {
        Some(text) => serde_json::from_str(&text).ok(),
        None => None,
    };
    Ok(Some(Sesion {
        id,
        usuario,
        nombre: fila.nombre,
        csrf: fila.csrf,
        login,
    }))
}

/// Ends a session.
pub fn cerrar(conn: &mut DbConnection, sesion: &Sesion) -> Result<(), DbError> {
    diesel::delete(consola_sesiones::table.find(&sesion.id)).execute(conn)?;
    Ok(())
}

/// The cookie that carries `key`: `max_age` in seconds (0 deletes it).
pub fn cookie(key: &str, max_age: i64) -> Cookie<'static> {
    Cookie::build(COOKIE, key.to_owned())
        .path("/")
        .secure(true)
        .http_only(true)
        .same_site(SameSite::Lax)
        .max_age(actix_web::cookie::time::Duration::seconds(max_age))
        .finish()
}

/// The session cookie's key, if the request has one.
pub fn clave(req: &HttpRequest) -> Option<String> {
    req.cookie(COOKIE).map(|c| c.value().to_owned())
}

/// Whether a form's token is the session's (constant time) and the POST came from the
/// console's own origin (`Origin`, or `Sec-Fetch-Site` when the browser sends no Origin).
pub fn csrf_valido(req: &HttpRequest, sesion: &Sesion, token: &str, origen: &str) -> bool {
    let same_token = token.len() == sesion.csrf.len()
        && token
            .bytes()
            .zip(sesion.csrf.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0;
    let headers = req.headers();
    let same_origin = match headers.get("origin").and_then(|v| v.to_str().ok()) {
        Some(origin) => origin == origen,
        None => headers
            .get("sec-fetch-site")
            .and_then(|v| v.to_str().ok())
            .is_none_or(|site| site == "same-origin"),
    };
    same_token && same_origin
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::{ConnectionManager, DatabaseUrl};

    fn registry() -> (tempfile::TempDir, DbConnection) {
        let dir = tempfile::TempDir::new().unwrap();
        let url = DatabaseUrl::Sqlite(dir.path().join("siis.db"));
        let mut conn = ConnectionManager::new(url).open().unwrap();
        crate::db::run_migrations(&mut conn).unwrap();
        (dir, conn)
    }

    fn usuario() -> Usuario {
        Usuario {
            run: "44444444-4".parse().unwrap(),
            convenio: ConvenioId::parse("muni-13101").unwrap(),
            rol: Rol::JefeComunal,
        }
    }

    #[test]
    fn the_table_holds_only_a_digest_and_a_session_ends_when_idle_or_closed() {
        let (_dir, mut conn) = registry();
        let long = Duracion {
            total_us: 60_000_000,
            inactividad_us: 60_000_000,
        };
        let u = usuario();
        let nueva = || Nueva::Usuario {
            usuario: &u,
            nombre: "María",
        };
        let (key, sesion) = crear(&mut conn, nueva(), long).unwrap();
        let stored: Vec<String> = consola_sesiones::table
            .select(consola_sesiones::id)
            .load(&mut conn)
            .unwrap();
        assert_eq!(stored, [digest(&key)]);
        assert_ne!(stored[0], key, "the key itself is never stored");
        let read = leer(&mut conn, &key, long).unwrap().unwrap();
        assert_eq!(read.usuario, Some(u.clone()));
        assert_eq!(read.csrf, sesion.csrf);
        assert!(leer(&mut conn, "another key", long).unwrap().is_none());
        cerrar(&mut conn, &read).unwrap();
        assert!(leer(&mut conn, &key, long).unwrap().is_none());

        // Idle longer than allowed: gone, even though its total time is not up.
        let short = Duracion {
            total_us: 60_000_000,
            inactividad_us: 50_000,
        };
        let (key, _) = crear(&mut conn, nueva(), short).unwrap();
        assert!(leer(&mut conn, &key, short).unwrap().is_some());
        std::thread::sleep(std::time::Duration::from_millis(80));
        assert!(leer(&mut conn, &key, short).unwrap().is_none());

        // Used all the time, a session still ends when its total time is up.
        let capped = Duracion {
            total_us: 150_000,
            inactividad_us: 100_000,
        };
        let (key, _) = crear(&mut conn, nueva(), capped).unwrap();
        let mut open = 0;
        for _ in 0..10 {
            std::thread::sleep(std::time::Duration::from_millis(30));
            if leer(&mut conn, &key, capped).unwrap().is_some() {
                open += 1;
            }
        }
        assert!((3..10).contains(&open), "open for {open} of 10 reads");
        assert!(leer(&mut conn, &key, capped).unwrap().is_none());
    }
}
