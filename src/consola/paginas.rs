//! The console's pages. Each page that shows registry data builds the broker's [`Call`] for the
//! signed-in user and runs the operation as REST and SOAP do; what it renders is the projected
//! answer, and a refusal is shown with its stable code.

use std::sync::Arc;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::Consola;
use super::sesion::{self, Duracion, Nueva, Sesion};
use crate::broker::{Call, Transport, Usuario};
use crate::catalog::{Operation, Rol};
use crate::db::DbConnection;
use crate::domain::Run;
use crate::error::ApiError;
use crate::ops::accesos::{Accesos, ConsultarAccesos, Pedido};
use crate::respuestas::FichaFps;

mod certificados;
mod encuestajes;
mod estadisticas;
mod postulaciones;
mod usuarios;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("", web::get().to(a_inicio))
        .route("/", web::get().to(inicio))
        .route("/estilo.css", web::get().to(super::estilo))
        .route("/ingresar", web::get().to(ingresar))
        .route("/ingresar-demo", web::post().to(ingresar_demo))
        .route("/retorno", web::get().to(retorno))
        .route("/salir", web::post().to(salir))
        .route("/ficha", web::get().to(ficha_formulario))
        .route("/ficha", web::post().to(ficha_consultar))
        .route("/mi-ficha", web::get().to(mi_ficha))
        .route("/mis-accesos", web::get().to(mis_accesos))
        .configure(certificados::routes)
        .configure(encuestajes::routes)
        .configure(estadisticas::routes)
        .configure(postulaciones::routes)
        .configure(usuarios::routes)
        .default_service(web::to(no_encontrada));
}

/// What every page's frame shows: its title, who is signed in, their menu, the CSRF token.
struct Marco {
    titulo: &'static str,
    demo: bool,
    quien: Option<Quien>,
    menu: Vec<(&'static str, &'static str)>,
    csrf: String,
}

struct Quien {
    nombre: String,
    rol: &'static str,
    institucion: Option<String>,
}

#[derive(Template)]
#[template(path = "consola/ingreso.html")]
struct Ingreso {
    m: Marco,
}

#[derive(Template)]
#[template(path = "consola/inicio.html")]
struct Inicio {
    m: Marco,
    nombre: String,
}

#[derive(Template)]
#[template(path = "consola/error.html")]
struct PaginaError {
    m: Marco,
    mensaje: String,
    codigo: String,
    volver: String,
}

#[derive(Template)]
#[template(path = "consola/ficha.html")]
struct PaginaFicha {
    m: Marco,
    buscar: bool,
    /// A person's own page: the form for their constancia.
    constancia: bool,
    ficha: Option<VistaFicha>,
}

struct VistaFicha {
    datos: Vec<(&'static str, String)>,
    columnas: Vec<&'static str>,
    integrantes: Vec<Vec<String>>,
}

#[derive(Template)]
#[template(path = "consola/accesos.html")]
struct PaginaAccesos {
    m: Marco,
    total: u64,
    filas: Vec<FilaAcceso>,
    anterior: Option<u32>,
    siguiente: Option<u32>,
}

struct FilaAcceso {
    fecha: String,
    institucion: String,
    proposito: String,
    campos: String,
    resultado: String,
}

type Data = web::Data<Consola>;

impl Consola {
    fn duracion(&self) -> Duracion {
        Duracion::from_config(&self.config.consola)
    }

    /// The console's origin as browsers send it in `Origin`.
    fn origen(&self) -> String {
        super::origin(&self.config.consola.url_publica).unwrap_or_default()
    }

    /// Runs `work` on a registry connection off the async executor.
    async fn en_registro<R, F>(&self, work: F) -> Result<R, ApiError>
    where
        R: Send + 'static,
        F: FnOnce(&mut DbConnection) -> Result<R, crate::db::DbError> + Send + 'static,
    {
        let pool = self.core.broker.pool.clone();
        web::block(move || {
            let mut conn = pool.get().map_err(|e| {
                tracing::error!(error = %e, "console: no registry connection");
                ApiError::unavailable()
            })?;
            work(&mut conn).map_err(|e| {
                tracing::error!(error = %e, "console: session store failed");
                ApiError::unavailable()
            })
        })
        .await
        .unwrap_or_else(|_| Err(ApiError::unavailable()))
    }

    /// The request's session, if its cookie opens one.
    async fn sesion(&self, req: &HttpRequest) -> Result<Option<Sesion>, ApiError> {
        let Some(key) = sesion::clave(req) else {
            return Ok(None);
        };
        let duracion = self.duracion();
        self.en_registro(move |conn| sesion::leer(conn, &key, duracion))
            .await
    }

    fn marco(&self, titulo: &'static str, sesion: Option<&Sesion>) -> Marco {
        let usuario = sesion.and_then(|s| s.usuario.as_ref());
        let quien = usuario.map(|u| Quien {
            nombre: sesion
                .and_then(|s| s.nombre.clone())
                .unwrap_or_else(|| "Usuario".into()),
            rol: u.rol.nombre(),
            institucion: (u.rol != Rol::Persona)
                .then(|| {
                    self.core
                        .broker
                        .policy()
                        .convenios
                        .get(&u.convenio)
                        .map(|c| c.agency.clone())
                })
                .flatten(),
        });
        Marco {
            titulo,
            demo: self.config.consola.ingreso_demo,
            menu: usuario.map(|u| self.menu(u)).unwrap_or_default(),
            quien,
            csrf: sesion.map(|s| s.csrf.clone()).unwrap_or_default(),
        }
    }

    /// A page for a refusal or a failure, with its stable code.
    fn error(&self, sesion: Option<&Sesion>, error: &ApiError, volver: &str) -> HttpResponse {
        self.rechazo(sesion, error, volver, mensaje(error))
    }

    /// [`Consola::error`] with a page's own words for the refusal.
    fn rechazo(
        &self,
        sesion: Option<&Sesion>,
        error: &ApiError,
        volver: &str,
        mensaje: String,
    ) -> HttpResponse {
        tracing::info!(code = error.code.as_str(), "console page refused");
        let status = StatusCode::from_u16(error.status()).unwrap_or(StatusCode::BAD_REQUEST);
        let page = PaginaError {
            m: self.marco("No fue posible", sesion),
            mensaje,
            codigo: error.code.as_str().to_owned(),
            volver: volver.to_owned(),
        };
        let mut response = html(status, page.render());
        if let Some(retry) = error.retry_after {
            response.headers_mut().insert(
                actix_web::http::header::RETRY_AFTER,
                actix_web::http::header::HeaderValue::from(retry),
            );
        }
        response
    }

    /// The broker's call for a page of `usuario`: no client certificate, the user instead.
    fn call(&self, req: &HttpRequest, usuario: &Usuario) -> Call {
        Call {
            usuario: Some(usuario.clone()),
            ..crate::http::call(req, Transport::Consola)
        }
    }

    /// The user a signed-in RUN acts as: an official's agreement and role, or else a person
    /// under the agreement for persons.
    async fn usuario_de(&self, run: Run) -> Result<Usuario, ApiError> {
        if let Some((convenio, rol)) = self
            .en_registro(move |conn| super::usuarios::buscar(conn, run))
            .await?
        {
            return Ok(Usuario { run, convenio, rol });
        }
        let policy = self.core.broker.policy();
        let personas = policy.convenios.personas().ok_or_else(|| {
            ApiError::no_autorizado("this RUN is not a console user and persons are not served")
        })?;
        Ok(Usuario {
            run,
            convenio: personas.id.clone(),
            rol: Rol::Persona,
        })
    }

    /// Opens the signed-in session for `usuario` in place of `anterior` and goes to the start.
    async fn abrir(
        &self,
        anterior: Option<Sesion>,
        usuario: Usuario,
        nombre: String,
    ) -> Result<HttpResponse, ApiError> {
        let duracion = self.duracion();
        let (key, _) = self
            .en_registro(move |conn| {
                if let Some(anterior) = &anterior {
                    sesion::cerrar(conn, anterior)?;
                }
                sesion::crear(
                    conn,
                    Nueva::Usuario {
                        usuario: &usuario,
                        nombre: &nombre,
                    },
                    duracion,
                )
            })
            .await?;
        tracing::info!("console: signed in");
        Ok(HttpResponse::SeeOther()
            .cookie(sesion::cookie(&key, duracion.total_us / 1_000_000))
            .insert_header(("location", "/consola/"))
            .finish())
    }
}

/// The officials' pages: address, menu label, and the operation each runs. The menu offers
/// those whose operation both the role and the agreement allow.
const PAGINAS: &[(&str, &str, Operation)] = &[
    (
        "/consola/ficha",
        "Consultar ficha",
        Operation::ConsultarFichaFPS,
    ),
    (
        "/consola/certificados",
        "Emitir certificado",
        Operation::EmitirCertificado,
    ),
    (
        "/consola/encuestajes",
        "Encuestajes de la comuna",
        Operation::TrabajarEncuestaje,
    ),
    (
        "/consola/estadisticas",
        "Estadísticas territoriales",
        Operation::EstadisticasTerritoriales,
    ),
    (
        "/consola/postulaciones",
        "Postulaciones",
        Operation::PostularBeneficio,
    ),
];

/// A person's pages.
const PAGINAS_PERSONA: &[(&str, &str)] = &[
    ("/consola/mi-ficha", "Mi ficha"),
    ("/consola/mis-accesos", "Quién consultó mis datos"),
];

impl Consola {
    /// Whether a page may offer `usuario` the operation `op`: their role includes it and
    /// their agreement grants it. What the page runs is still admitted by the broker.
    fn permite(&self, usuario: &Usuario, op: Operation) -> bool {
        usuario.rol.permite(op)
            && self
                .core
                .broker
                .policy()
                .convenios
                .get(&usuario.convenio)
                .is_some_and(|c| c.grant(op).is_some())
    }

    /// The pages a user's menu offers.
    fn menu(&self, usuario: &Usuario) -> Vec<(&'static str, &'static str)> {
        if usuario.rol == Rol::Persona {
            return PAGINAS_PERSONA.to_vec();
        }
        let mut menu: Vec<_> = PAGINAS
            .iter()
            .filter(|(_, _, op)| self.permite(usuario, *op))
            .map(|(href, label, _)| (*href, *label))
            .collect();
        if usuario.rol.administra_usuarios() {
            menu.push(("/consola/usuarios", "Usuarios"));
        }
        menu
    }
}

/// What a person reads for a refusal.
fn mensaje(error: &ApiError) -> String {
    match error.code.as_str() {
        "NO_AUTORIZADO" => "Su convenio o su rol no permiten esta consulta.".into(),
        "FUERA_DE_AMBITO" => "La persona no pertenece al ámbito de su convenio.".into(),
        "RUN_INVALIDO" => "El RUN no es válido: revise el número y el dígito verificador.".into(),
        "LIMITE_EXCEDIDO" => "Ha hecho demasiadas consultas seguidas. Espere un momento.".into(),
        "CUOTA_EXCEDIDA" => "Se agotó el cupo diario de consultas. Se renueva a medianoche.".into(),
        "NO_ENCONTRADO" | "SIN_FICHA" => {
            "No hay datos que mostrar para ese RUN bajo su convenio.".into()
        }
        _ => error.title().to_owned(),
    }
}

fn html(status: StatusCode, rendered: askama::Result<String>) -> HttpResponse {
    match rendered {
        Ok(body) => HttpResponse::build(status)
            .content_type("text/html; charset=utf-8")
            .body(body),
        Err(e) => {
            tracing::error!(error = %e, "console: a page did not render");
            HttpResponse::InternalServerError().finish()
        }
    }
}

fn a(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header(("location", location))
        .finish()
}

async fn a_inicio() -> HttpResponse {
    a("/consola/")
}

async fn no_encontrada(consola: Data) -> HttpResponse {
    consola.error(None, &ApiError::not_found_route(), "/consola/")
}

/// The start: the sign-in page, or the signed-in user's menu.
async fn inicio(req: HttpRequest, consola: Data) -> HttpResponse {
    let sesion = match consola.sesion(&req).await {
        Ok(s) => s,
        Err(e) => return consola.error(None, &e, "/consola/"),
    };
    if let Some(s) = sesion.as_ref().filter(|s| s.usuario.is_some()) {
        let page = Inicio {
            m: consola.marco("Inicio", Some(s)),
            nombre: s.nombre.clone().unwrap_or_default(),
        };
        return html(StatusCode::OK, page.render());
    }
    // The demo's sign-in form needs a CSRF token, hence a session before sign-in.
    let mut cookie = None;
    let sesion = match (consola.config.consola.ingreso_demo, sesion) {
        (true, None) => {
            let duracion = consola.duracion();
            match consola
                .en_registro(move |conn| sesion::crear(conn, Nueva::Anonima(None), duracion))
                .await
            {
                Ok((key, s)) => {
                    cookie = Some(sesion::cookie(&key, duracion.inactividad_us / 1_000_000));
                    Some(s)
                }
                Err(e) => return consola.error(None, &e, "/consola/"),
            }
        }
        (_, s) => s,
    };
    let page = Ingreso {
        m: consola.marco("Ingreso", sesion.as_ref()),
    };
    let mut response = html(StatusCode::OK, page.render());
    if let Some(cookie) = cookie
        && let Err(e) = response.add_cookie(&cookie)
    {
        tracing::error!(error = %e, "console: cookie not set");
    }
    response
}

/// Starts a sign-in at the provider (limited per address).
async fn ingresar(req: HttpRequest, consola: Data) -> HttpResponse {
    if let Some(ip) = req.peer_addr().map(|a| a.ip())
        && consola.ingresos.check_key(&ip).is_err()
    {
        return consola.error(None, &ApiError::limite_excedido(60), "/consola/");
    }
    if !consola.oidc.configurado() {
        return consola.error(
            None,
            &ApiError {
                detail: "no OpenID provider is configured (consola.issuer)".into(),
                ..ApiError::unavailable()
            },
            "/consola/",
        );
    }
    let (url, pendiente) = match consola.oidc.autorizar().await {
        Ok(answer) => answer,
        Err(e) => {
            tracing::error!(error = %e, "console: sign-in could not start");
            return consola.error(None, &ApiError::unavailable(), "/consola/");
        }
    };
    let duracion = consola.duracion();
    match consola
        .en_registro(move |conn| sesion::crear(conn, Nueva::Anonima(Some(&pendiente)), duracion))
        .await
    {
        Ok((key, _)) => HttpResponse::SeeOther()
            .cookie(sesion::cookie(&key, duracion.inactividad_us / 1_000_000))
            .insert_header(("location", url))
            .finish(),
        Err(e) => consola.error(None, &e, "/consola/"),
    }
}

#[derive(Deserialize)]
struct Retorno {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
}

/// The provider sends the browser back here with a code for this sign-in.
async fn retorno(req: HttpRequest, consola: Data, query: web::Query<Retorno>) -> HttpResponse {
    let sesion = match consola.sesion(&req).await {
        Ok(s) => s,
        Err(e) => return consola.error(None, &e, "/consola/"),
    };
    let refused = |detail: &str| ApiError::no_autorizado(format!("sign-in: {detail}"));
    let Some(pendiente) = sesion.as_ref().and_then(|s| s.login.clone()) else {
        return consola.error(
            None,
            &refused("no sign-in in progress in this browser"),
            "/consola/",
        );
    };
    let Retorno { code, state, error } = query.into_inner();
    if error.is_some() {
        return consola.error(None, &refused("the provider refused it"), "/consola/");
    }
    let (Some(code), Some(state)) = (code, state) else {
        return consola.error(
            None,
            &ApiError::solicitud_invalida("sign-in: no code"),
            "/consola/",
        );
    };
    if state != pendiente.state {
        return consola.error(None, &refused("state does not match"), "/consola/");
    }
    let identidad = match consola.oidc.completar(pendiente, code).await {
        Ok(identidad) => identidad,
        Err(e) => {
            tracing::warn!(error = %e, "console: sign-in not completed");
            return consola.error(
                None,
                &refused("the provider's answer was not accepted"),
                "/consola/",
            );
        }
    };
    let usuario = match consola.usuario_de(identidad.run).await {
        Ok(u) => u,
        Err(e) => return consola.error(None, &e, "/consola/"),
    };
    consola
        .abrir(sesion, usuario, identidad.nombre)
        .await
        .unwrap_or_else(|e| consola.error(None, &e, "/consola/"))
}

#[derive(Deserialize)]
struct FormularioRun {
    run: String,
    csrf: String,
}

/// The demo's development sign-in: a RUN typed, no identity checked. Only with `serve --demo`.
async fn ingresar_demo(
    req: HttpRequest,
    consola: Data,
    form: web::Form<FormularioRun>,
) -> HttpResponse {
    if !consola.config.consola.ingreso_demo {
        return no_encontrada(consola).await;
    }
    let sesion = match consola.sesion(&req).await {
        Ok(Some(s)) => s,
        Ok(None) => return a("/consola/"),
        Err(e) => return consola.error(None, &e, "/consola/"),
    };
    if !sesion::csrf_valido(&req, &sesion, &form.csrf, &consola.origen()) {
        return consola.error(None, &csrf_invalido(), "/consola/");
    }
    let run = match Run::parse(form.run.trim()) {
        Ok(run) => run,
        Err(e) => return consola.error(Some(&sesion), &ApiError::run_invalido(e), "/consola/"),
    };
    let usuario = match consola.usuario_de(run).await {
        Ok(u) => u,
        Err(e) => return consola.error(None, &e, "/consola/"),
    };
    consola
        .abrir(Some(sesion), usuario, "Usuario de demostración".into())
        .await
        .unwrap_or_else(|e| consola.error(None, &e, "/consola/"))
}

/// A form that does not decode (a field missing, not text): the console's error page with
/// `SOLICITUD_INVALIDA`, not the framework's text.
pub fn formulario_invalido(
    error: actix_web::error::UrlencodedError,
    req: &HttpRequest,
) -> actix_web::Error {
    let error_page = match req.app_data::<Data>() {
        Some(consola) => consola.error(
            None,
            &ApiError::solicitud_invalida("the form is incomplete"),
            "/consola/",
        ),
        None => HttpResponse::BadRequest().finish(),
    };
    actix_web::error::InternalError::from_response(error, error_page).into()
}

fn csrf_invalido() -> ApiError {
    ApiError::solicitud_invalida("the form's token is not this session's: reload the page")
}

#[derive(Deserialize)]
struct FormularioCsrf {
    csrf: String,
}

/// Signs out: the session ends here, then at the provider.
async fn salir(req: HttpRequest, consola: Data, form: web::Form<FormularioCsrf>) -> HttpResponse {
    let sesion = match consola.sesion(&req).await {
        Ok(Some(s)) => s,
        Ok(None) => return a("/consola/"),
        Err(e) => return consola.error(None, &e, "/consola/"),
    };
    if !sesion::csrf_valido(&req, &sesion, &form.csrf, &consola.origen()) {
        return consola.error(Some(&sesion), &csrf_invalido(), "/consola/");
    }
    if let Err(e) = consola
        .en_registro(move |conn| sesion::cerrar(conn, &sesion))
        .await
    {
        return consola.error(None, &e, "/consola/");
    }
    let c = &consola.config.consola;
    // `Config::load` refuses a url_cierre that is not an https address; one set in code
    // and broken ends the console's session only.
    let destino = match url::Url::parse(&c.url_cierre) {
        _ if c.url_cierre.is_empty() => "/consola/".to_owned(),
        Ok(mut url) => {
            url.query_pairs_mut()
                .append_pair("redirect", &format!("{}/consola/", c.url_publica));
            url.to_string()
        }
        Err(e) => {
            tracing::error!(error = %e, "consola.url_cierre is not an address");
            "/consola/".to_owned()
        }
    };
    HttpResponse::SeeOther()
        .cookie(sesion::cookie("", 0))
        .insert_header(("location", destino))
        .finish()
}

/// The signed-in user of a page, or the answer that sends the browser to sign in.
async fn firmado(req: &HttpRequest, consola: &Data) -> Result<(Sesion, Usuario), HttpResponse> {
    match consola.sesion(req).await {
        Ok(Some(s)) => match s.usuario.clone() {
            Some(u) => Ok((s, u)),
            None => Err(a("/consola/")),
        },
        Ok(None) => Err(a("/consola/")),
        Err(e) => Err(consola.error(None, &e, "/consola/")),
    }
}

async fn ficha_formulario(req: HttpRequest, consola: Data) -> HttpResponse {
    let (sesion, usuario) = match firmado(&req, &consola).await {
        Ok(s) => s,
        Err(response) => return response,
    };
    if !usuario.rol.permite(Operation::ConsultarFichaFPS) || usuario.rol == Rol::Persona {
        return consola.error(Some(&sesion), &ApiError::no_autorizado("role"), "/consola/");
    }
    let page = PaginaFicha {
        m: consola.marco("Consultar ficha", Some(&sesion)),
        buscar: true,
        constancia: false,
        ficha: None,
    };
    html(StatusCode::OK, page.render())
}

/// An official's lookup: the RUN is posted, never put in the address.
async fn ficha_consultar(
    req: HttpRequest,
    consola: Data,
    form: web::Form<FormularioRun>,
) -> HttpResponse {
    let (sesion, usuario) = match firmado(&req, &consola).await {
        Ok(s) => s,
        Err(response) => return response,
    };
    if !sesion::csrf_valido(&req, &sesion, &form.csrf, &consola.origen()) {
        return consola.error(Some(&sesion), &csrf_invalido(), "/consola/ficha");
    }
    let mut call = consola.call(&req, &usuario);
    let run = crate::http::run_into(&mut call, form.run.trim());
    ficha(&consola, &sesion, call, run, "Consultar ficha").await
}

/// A person's own ficha.
async fn mi_ficha(req: HttpRequest, consola: Data) -> HttpResponse {
    let (sesion, usuario) = match firmado(&req, &consola).await {
        Ok(s) => s,
        Err(response) => return response,
    };
    let mut call = consola.call(&req, &usuario);
    call.subjects.push(usuario.run);
    ficha(&consola, &sesion, call, Some(usuario.run), "Mi ficha").await
}

/// A lookup's page: the ficha as the grant shows it (with the search form for an official),
/// or the refusal.
async fn ficha(
    consola: &Data,
    sesion: &Sesion,
    call: Call,
    run: Option<Run>,
    titulo: &'static str,
) -> HttpResponse {
    let buscar = call.usuario.as_ref().is_some_and(|u| u.rol != Rol::Persona);
    let reply = crate::ops::ficha::consultar(consola.core.broker.clone(), call, run).await;
    match reply.result {
        Ok(ficha) => {
            let page = PaginaFicha {
                m: consola.marco(titulo, Some(sesion)),
                buscar,
                constancia: !buscar,
                ficha: Some(vista_ficha(&ficha)),
            };
            html(StatusCode::OK, page.render())
        }
        Err(e) => {
            let volver = if buscar {
                "/consola/ficha"
            } else {
                "/consola/"
            };
            consola.error(Some(sesion), &e, volver)
        }
    }
}

#[derive(Deserialize)]
struct PaginaQuery {
    pagina: Option<String>,
}

/// A page's query string as name–value pairs, in order (a name may repeat). A malformed one,
/// or a name not in `permitidos`, is `SOLICITUD_INVALIDA`, so that a misspelt filter is never
/// silently ignored.
fn parametros(req: &HttpRequest, permitidos: &[&str]) -> Result<Vec<(String, String)>, ApiError> {
    let pares = web::Query::<Vec<(String, String)>>::from_query(req.query_string())
        .map(web::Query::into_inner)
        .map_err(|_| ApiError::solicitud_invalida("malformed query string"))?;
    match pares
        .iter()
        .find(|(k, _)| !permitidos.contains(&k.as_str()))
    {
        Some((k, _)) => Err(ApiError::solicitud_invalida(format!(
            "unknown query parameter {:?} ({})",
            k.chars().take(20).collect::<String>(),
            permitidos.join(", ")
        ))),
        None => Ok(pares),
    }
}

/// Who consulted the signed-in person's data (ConsultarAccesos about their own RUN).
async fn mis_accesos(
    req: HttpRequest,
    consola: Data,
    query: web::Query<PaginaQuery>,
) -> HttpResponse {
    let (sesion, usuario) = match firmado(&req, &consola).await {
        Ok(s) => s,
        Err(response) => return response,
    };
    let mut call = consola.call(&req, &usuario);
    let pedido = match Pedido::parse(Some(usuario.run), query.pagina.as_deref(), Some("50")) {
        Ok(pedido) => pedido,
        Err(e) => {
            call.input_error = Some(e);
            None
        }
    };
    call.subjects.push(usuario.run);
    let reply = crate::ops::run::<ConsultarAccesos>(Arc::clone(&consola.core), call, pedido).await;
    match reply.result {
        Ok(accesos) => {
            let page = vista_accesos(
                consola.marco("Quién consultó mis datos", Some(&sesion)),
                &accesos,
            );
            html(StatusCode::OK, page.render())
        }
        Err(e) => consola.error(Some(&sesion), &e, "/consola/"),
    }
}

/// An RFC 3339 instant as Chile's civil time reads it (`05-12-2026 03:57`).
fn hora_de_chile(rfc3339: &str) -> String {
    chrono::DateTime::parse_from_rfc3339(rfc3339)
        .map(|t| {
            t.with_timezone(&chrono_tz::America::Santiago)
                .format("%d-%m-%Y %H:%M")
                .to_string()
        })
        .unwrap_or_else(|_| rfc3339.to_owned())
}

fn vista_accesos(m: Marco, accesos: &Accesos) -> PaginaAccesos {
    let pagina = accesos.pagina.unwrap_or(1);
    let por_pagina = u64::from(accesos.por_pagina.unwrap_or(50));
    let total = accesos.total.unwrap_or(0);
    let filas = accesos
        .accesos
        .iter()
        .flatten()
        .map(|a| FilaAcceso {
            fecha: a.fecha.as_deref().map(hora_de_chile).unwrap_or_default(),
            institucion: a
                .institucion
                .clone()
                .or_else(|| a.convenio.clone())
                .unwrap_or_else(|| "—".into()),
            proposito: a.proposito.clone().unwrap_or_default(),
            campos: a
                .campos
                .as_ref()
                .filter(|c| !c.is_empty())
                .map_or_else(|| "ninguno".into(), |c| c.join(", ")),
            resultado: match a.resultado.as_deref() {
                Some("OK") => "Entregados".into(),
                Some(code) => format!("No entregados ({code})"),
                None => String::new(),
            },
        })
        .collect();
    PaginaAccesos {
        m,
        total,
        filas,
        anterior: (pagina > 1).then(|| pagina - 1),
        siguiente: (u64::from(pagina) * por_pagina < total).then(|| pagina + 1),
    }
}

/// The ficha's fields the answer carries (the projection removed the others), as labelled
/// rows; the household's members as a table of the columns granted.
fn vista_ficha(f: &FichaFps) -> VistaFicha {
    let mut datos: Vec<(&'static str, String)> = Vec::new();
    let mut put = |label: &'static str, value: Option<String>| {
        if let Some(value) = value {
            datos.push((label, value));
        }
    };
    put("RUN", f.run.clone());
    put("Folio", f.folio.map(|v| v.to_string()));
    put("Puntaje", f.puntaje.map(|v| v.to_string()));
    put("Quintil", f.quintil.map(|v| v.to_string()));
    put(
        "Fecha de aplicación",
        f.fecha_aplicacion.map(|d| d.format("%d-%m-%Y").to_string()),
    );
    put(
        "Comuna",
        f.comuna
            .as_ref()
            .and_then(|c| match (&c.nombre, &c.codigo) {
                (Some(n), Some(c)) => Some(format!("{n} ({c})")),
                (Some(n), None) => Some(n.clone()),
                (None, c) => c.clone(),
            }),
    );
    put("Estado", f.estado.clone());
    put(
        "Fallecido",
        f.fallecido.map(|v| if v { "Sí" } else { "No" }.to_owned()),
    );
    let miembros = f.integrantes.as_deref().unwrap_or_default();
    type Columna = (
        &'static str,
        fn(&crate::respuestas::IntegranteFicha) -> Option<String>,
    );
    let todas: [Columna; 7] = [
        ("RUN", |i| i.run.clone()),
        ("Nombres", |i| i.nombres.clone()),
        ("Apellido paterno", |i| i.apellido_paterno.clone()),
        ("Apellido materno", |i| i.apellido_materno.clone()),
        ("Nacimiento", |i| {
            i.fecha_nacimiento.map(|d| d.format("%d-%m-%Y").to_string())
        }),
        ("Sexo", |i| i.sexo.clone()),
        ("Parentesco", |i| i.parentesco.clone()),
    ];
    let presentes: Vec<&Columna> = todas
        .iter()
        .filter(|(_, get)| miembros.iter().any(|m| get(m).is_some()))
        .collect();
    VistaFicha {
        datos,
        columnas: presentes.iter().map(|(label, _)| *label).collect(),
        integrantes: miembros
            .iter()
            .map(|m| {
                presentes
                    .iter()
                    .map(|(_, get)| get(m).unwrap_or_default())
                    .collect()
            })
            .collect(),
    }
}
