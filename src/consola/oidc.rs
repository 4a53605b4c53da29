//! Sign-in with Clave Única: OpenID Connect's authorization code flow with PKCE (S256), `state`
//! and `nonce`, the client authenticated by its secret in the token request's body
//! (`client_secret_post`, as Clave Única asks).
//!
//! The ID token's signature (the provider's published keys), issuer, audience, expiry and nonce
//! are checked by the `openidconnect` crate. The person is then read from the userinfo
//! endpoint, which Clave Única answers to a POST in its own shape: `RolUnico {numero, DV,
//! tipo}` and `name {nombres[], apellidos[]}`. The node keys on the RUN (with its check digit
//! verified), never on `sub`, which is an opaque number; the userinfo's `sub` must be the ID
//! token's.
//!
//! The provider is reached over HTTPS only (`consola.issuer` must be `https://`), trusting
//! Mozilla's public CAs and `consola.ca_proveedor`; redirects are not followed.

use std::sync::Arc;
use std::time::{Duration, Instant};

use openidconnect::core::{CoreAuthenticationFlow, CoreClient, CoreProviderMetadata};
use openidconnect::{
    AuthType, AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndpointMaybeSet,
    EndpointNotSet, EndpointSet, IssuerUrl, Nonce, OAuth2TokenResponse, PkceCodeChallenge,
    PkceCodeVerifier, RedirectUrl, Scope,
};
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;
use serde::Deserialize;
use tokio::sync::Mutex;

use super::sesion::Pendiente;
use crate::config::ConsolaConfig;
use crate::domain::Run;

/// How long the provider's metadata and keys are kept before they are read again.
const METADATA_TTL: Duration = Duration::from_secs(600);

/// Why a sign-in could not be completed. The console shows the code only; the detail goes to
/// the log, and never holds a token or a RUN.
#[derive(Debug, thiserror::Error)]
pub enum OidcError {
    #[error("the console has no OpenID provider configured (consola.issuer)")]
    SinProveedor,
    #[error("cannot read consola.ca_proveedor {0}: {1}")]
    Ca(String, String),
    #[error("the OpenID provider could not be reached or answered wrongly: {0}")]
    Proveedor(String),
    #[error("the provider's answer does not belong to this sign-in: {0}")]
    Respuesta(&'static str),
}

type Client = CoreClient<
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

/// The provider as discovered, with the time it was read.
struct Descubierto {
    client: Client,
    userinfo: Option<String>,
    leido: Instant,
}

/// The console's OpenID client.
pub struct Cliente {
    config: Option<(IssuerUrl, ClientId, ClientSecret, RedirectUrl)>,
    http: reqwest::Client,
    descubierto: Mutex<Option<Arc<Descubierto>>>,
}

/// Who Clave Única says signed in.
#[derive(Debug, Clone)]
pub struct Identidad {
    pub run: Run,
    /// Nombres and apellidos, joined.
    pub nombre: String,
}

#[derive(Deserialize)]
struct UserInfo {
    sub: String,
    #[serde(rename = "RolUnico")]
    rol_unico: RolUnico,
    #[serde(default)]
    name: Option<Nombre>,
}

#[derive(Deserialize)]
struct RolUnico {
    numero: u64,
    #[serde(rename = "DV")]
    dv: String,
    #[serde(default)]
    tipo: Option<String>,
}

#[derive(Deserialize)]
struct Nombre {
    #[serde(default)]
    nombres: Vec<String>,
    #[serde(default)]
    apellidos: Vec<String>,
}

impl Cliente {
    pub fn new(c: &ConsolaConfig) -> Result<Cliente, OidcError> {
        let mut builder = reqwest::Client::builder()
            .use_preconfigured_tls(tls(c)?)
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(10));
        builder = builder.https_only(true);
        let http = builder
            .build()
            .map_err(|e| OidcError::Proveedor(e.to_string()))?;
        let config = if c.issuer.is_empty() {
            None
        } else {
            let bad = |what: &str, e: String| OidcError::Proveedor(format!("{what}: {e}"));
            Some((
                IssuerUrl::new(c.issuer.clone())
                    .map_err(|e| bad("consola.issuer", e.to_string()))?,
                ClientId::new(c.client_id.clone()),
                ClientSecret::new(c.client_secret.clone()),
                RedirectUrl::new(format!("{}/consola/retorno", c.url_publica))
                    .map_err(|e| bad("consola.url_publica", e.to_string()))?,
            ))
        };
        Ok(Cliente {
            config,
            http,
            descubierto: Mutex::new(None),
        })
    }

    /// Whether a provider is configured.
    pub fn configurado(&self) -> bool {
        self.config.is_some()
    }

    /// The provider's metadata and keys, read again every [`METADATA_TTL`] (or when `fresh`).
    async fn descubierto(&self, fresh: bool) -> Result<Arc<Descubierto>, OidcError> {
        let Some((issuer, id, secret, redirect)) = &self.config else {
            return Err(OidcError::SinProveedor);
        };
        let mut cached = self.descubierto.lock().await;
        if let Some(d) = cached.as_ref()
            && !fresh
            && d.leido.elapsed() < METADATA_TTL
        {
            return Ok(d.clone());
        }
        let metadata = CoreProviderMetadata::discover_async(issuer.clone(), &self.http)
            .await
            .map_err(|e| OidcError::Proveedor(format!("discovery: {e}")))?;
        let userinfo = metadata.userinfo_endpoint().map(|u| u.url().to_string());
        let client = CoreClient::from_provider_metadata(metadata, id.clone(), Some(secret.clone()))
            .set_redirect_uri(redirect.clone())
            .set_auth_type(AuthType::RequestBody);
        let d = Arc::new(Descubierto {
            client,
            userinfo,
            leido: Instant::now(),
        });
        *cached = Some(d.clone());
        Ok(d)
    }

    /// Where to send the browser to sign in, and what its return must match.
    pub async fn autorizar(&self) -> Result<(String, Pendiente), OidcError> {
        let d = self.descubierto(false).await?;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let (url, state, nonce) = d
            .client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                CsrfToken::new_random,
                Nonce::new_random,
            )
            .add_scope(Scope::new("run".into()))
            .add_scope(Scope::new("name".into()))
            .set_pkce_challenge(challenge)
            .url();
        Ok((
            url.to_string(),
            Pendiente {
                state: state.secret().clone(),
                nonce: nonce.secret().clone(),
                verifier: verifier.secret().clone(),
            },
        ))
    }

    /// Completes a sign-in: the code for tokens, the ID token checked, the person read.
    pub async fn completar(
        &self,
        pendiente: Pendiente,
        code: String,
    ) -> Result<Identidad, OidcError> {
        let d = self.descubierto(false).await?;
        let tokens = d
            .client
            .exchange_code(AuthorizationCode::new(code))
            .map_err(|e| OidcError::Proveedor(format!("token endpoint: {e}")))?
            .set_pkce_verifier(PkceCodeVerifier::new(pendiente.verifier))
            .request_async(&self.http)
            .await
            .map_err(|e| OidcError::Proveedor(format!("token: {e}")))?;
        let id_token = tokens
            .extra_fields()
            .id_token()
            .ok_or(OidcError::Respuesta("no ID token"))?;
        let claims = match id_token.claims(
            &d.client.id_token_verifier(),
            &Nonce::new(pendiente.nonce.clone()),
        ) {
            Ok(claims) => claims.clone(),
            Err(e) => {
                // Keys may have rotated since discovery: read them again once.
                tracing::warn!(error = %e, "ID token not verified with the cached keys; reading the provider's keys again");
                let d = self.descubierto(true).await?;
                id_token
                    .claims(&d.client.id_token_verifier(), &Nonce::new(pendiente.nonce))
                    .map_err(|e| OidcError::Proveedor(format!("ID token: {e}")))?
                    .clone()
            }
        };
        let userinfo = d.userinfo.as_deref().ok_or(OidcError::Respuesta(
            "the provider publishes no userinfo endpoint",
        ))?;
        let response = self
            .http
            .post(userinfo)
            .bearer_auth(tokens.access_token().secret())
            .send()
            .await
            .map_err(|e| OidcError::Proveedor(format!("userinfo: {e}")))?;
        if !response.status().is_success() {
            return Err(OidcError::Proveedor(format!(
                "userinfo answered {}",
                response.status()
            )));
        }
        let info: UserInfo = response
            .json()
            .await
            .map_err(|_| OidcError::Respuesta("userinfo is not Clave Única's shape"))?;
        if info.sub != claims.subject().as_str() {
            return Err(OidcError::Respuesta("userinfo's sub is not the ID token's"));
        }
        identidad(info)
    }
}

/// The person of a userinfo answer: a RUN whose check digit is right.
fn identidad(info: UserInfo) -> Result<Identidad, OidcError> {
    if info.rol_unico.tipo.as_deref().is_some_and(|t| t != "RUN") {
        return Err(OidcError::Respuesta("RolUnico is not a RUN"));
    }
    let run: Run = format!("{}-{}", info.rol_unico.numero, info.rol_unico.dv)
        .parse()
        .map_err(|_| OidcError::Respuesta("RolUnico is not a valid RUN"))?;
    let nombre = info
        .name
        .map(|n| {
            n.nombres
                .iter()
                .chain(n.apellidos.iter())
                .map(String::as_str)
                .collect::<Vec<_>>()
                .join(" ")
        })
        .filter(|n| !n.trim().is_empty())
        .unwrap_or_else(|| "Usuario".to_owned());
    Ok(Identidad { run, nombre })
}

/// TLS for the provider: Mozilla's CAs and `ca_proveedor`'s.
fn tls(c: &ConsolaConfig) -> Result<rustls::ClientConfig, OidcError> {
    let mut roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    if let Some(path) = &c.ca_proveedor {
        let shown = path.display().to_string();
        let certs = CertificateDer::pem_file_iter(path)
            .map_err(|e| OidcError::Ca(shown.clone(), e.to_string()))?;
        let mut added = 0;
        for cert in certs {
            let cert = cert.map_err(|e| OidcError::Ca(shown.clone(), e.to_string()))?;
            roots
                .add(cert)
                .map_err(|e| OidcError::Ca(shown.clone(), e.to_string()))?;
            added += 1;
        }
        if added == 0 {
            return Err(OidcError::Ca(shown, "no certificate in it".into()));
        }
    }
    Ok(
        rustls::ClientConfig::builder_with_provider(crate::tls::provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| OidcError::Proveedor(e.to_string()))?
            .with_root_certificates(roots)
            .with_no_client_auth(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(json: &str) -> Result<Identidad, OidcError> {
        identidad(serde_json::from_str(json).unwrap())
    }

    #[test]
    fn the_person_is_the_run_of_rol_unico_never_sub() {
        let who = info(
            r#"{"sub":"2594","RolUnico":{"numero":44444444,"DV":"4","tipo":"RUN"},
                "name":{"nombres":["María","Carmen"],"apellidos":["Del Río","González"]}}"#,
        )
        .unwrap();
        assert_eq!(who.run.to_string(), "44444444-4");
        assert_eq!(who.nombre, "María Carmen Del Río González");
        // A check digit that does not match, or another kind of document, is refused.
        assert!(
            info(r#"{"sub":"1","RolUnico":{"numero":44444444,"DV":"5","tipo":"RUN"}}"#).is_err()
        );
        assert!(
            info(r#"{"sub":"1","RolUnico":{"numero":44444444,"DV":"4","tipo":"PASAPORTE"}}"#)
                .is_err()
        );
        // No name: the page says "Usuario".
        let nameless = info(r#"{"sub":"1","RolUnico":{"numero":44444444,"DV":"4"}}"#).unwrap();
        assert_eq!(nameless.nombre, "Usuario");
    }
}
