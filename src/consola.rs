//! The web console: pages for officials (by the role their agreement gives them) and for each
//! person about themself, on the public listener under `/consola/`.
//!
//! A page is a transport like REST and SOAP: it decodes a form into an operation's request
//! and calls it through [`crate::ops`], so the broker admits it under the signed-in user's
//! agreement and role, charges the user's own allowance and the agreement's, projects the answer
//! and audits it naming the user. Nothing here reads the registry for a page's content itself.
//!
//! - [`oidc`]: sign-in with Clave Única (OpenID Connect, authorization code with PKCE).
//! - [`sesion`]: sessions kept in the registry's database, the cookie holding only a random key;
//!   CSRF tokens.
//! - [`paginas`]: the pages.
//!
//! Every answer carries a Content-Security-Policy without inline script or style, and is not
//! cached. No personal data travels in a URL: a RUN is posted in a form.

mod oidc;
mod paginas;
mod sesion;
pub mod usuarios;

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;

use actix_web::http::header;
use actix_web::{HttpResponse, web};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::config::Config;
use crate::ops::Core;

pub use sesion::COOKIE;

/// What the console's pages share: the service core, the sign-in client, and the limit on
/// sign-ins per address.
pub struct Consola {
    core: Arc<Core>,
    config: Arc<Config>,
    oidc: oidc::Cliente,
    ingresos: DefaultKeyedRateLimiter<IpAddr>,
    /// The Content-Security-Policy every page carries.
    csp: String,
}

impl Consola {
    pub fn new(core: Arc<Core>) -> Result<Consola, oidc::OidcError> {
        let config = core.broker.config.clone();
        let c = &config.consola;
        let per_minute = NonZeroU32::new(c.ingresos_por_minuto).unwrap_or(NonZeroU32::MIN);
        let burst = NonZeroU32::new(c.ingresos_rafaga).unwrap_or(NonZeroU32::MIN);
        // A form's submission may be redirected to the provider (signing out ends its session
        // too): `form-action` covers those redirects, so the provider's origin is listed.
        let mut form_action = String::from("'self'");
        for url in [&c.issuer, &c.url_cierre] {
            if let Some(origin) = origin(url) {
                form_action.push(' ');
                form_action.push_str(&origin);
            }
        }
        let csp = format!(
            "default-src 'none'; style-src 'self'; img-src 'self'; form-action {form_action}; \
             frame-ancestors 'none'; base-uri 'none'"
        );
        Ok(Consola {
            oidc: oidc::Cliente::new(c)?,
            ingresos: RateLimiter::keyed(Quota::per_minute(per_minute).allow_burst(burst)),
            csp,
            core,
            config,
        })
    }
}

/// `scheme://host[:port]` of an address, if it has one.
fn origin(url: &str) -> Option<String> {
    let url = url::Url::parse(url).ok()?;
    match url.origin() {
        url::Origin::Tuple(..) => Some(url.origin().ascii_serialization()),
        url::Origin::Opaque(_) => None,
    }
}

/// The console's routes, under `/consola`, with its headers on every answer.
pub fn routes(cfg: &mut web::ServiceConfig, consola: web::Data<Consola>) {
    let csp = consola.csp.clone();
    cfg.service(
        web::scope("/consola")
            .app_data(consola)
            .wrap(
                actix_web::middleware::DefaultHeaders::new()
                    .add((header::CONTENT_SECURITY_POLICY, csp))
                    .add((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
                    // Not `no-referrer`: with it Chromium sends `Origin: null` on a form's
                    // POST, and the same-origin check refuses every form.
                    .add((header::REFERRER_POLICY, "same-origin"))
                    .add((header::X_FRAME_OPTIONS, "DENY"))
                    .add((header::CACHE_CONTROL, "no-store")),
            )
            .app_data(web::FormConfig::default().error_handler(paginas::formulario_invalido))
            .configure(paginas::routes),
    );
}

/// The style sheet, the one file the pages load.
async fn estilo() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/css; charset=utf-8")
        .body(include_str!("../static/consola.css"))
}
