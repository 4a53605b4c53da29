//! Territorial statistics (EstadisticasTerritoriales): a form of the operation's parameters
//! (in the address: they are no personal data), the projected cells as a table, and persons as
//! a bar chart drawn on the node as inline SVG ([`grafico`]). A reserved cell shows as
//! "reservado" in both, never as a number, and has no bar.

mod grafico;

use std::sync::Arc;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use self::grafico::{Grafico, grafico, por_que_sin_grafico};
use super::{Data, Marco, firmado, html, mensaje};
use crate::broker::Usuario;
use crate::catalog::Operation;
use crate::domain::regiones;
use crate::error::{ApiError, ErrorCode};
use crate::ops;
use crate::ops::estadisticas::{
    CeldaPublicada, Consulta, Estadisticas, EstadisticasTerritoriales, Parametros,
};

const PAGINA: &str = "/consola/estadisticas";

/// The parameters the page reads; any other is refused, as REST does.
const PARAMETROS: [&str; 4] = ["nivel", "region", "comuna", "quintil"];

pub(super) fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/estadisticas", web::get().to(estadisticas));
}

#[derive(Template)]
#[template(path = "consola/estadisticas.html")]
struct PaginaEstadisticas {
    m: Marco,
    niveles: Vec<Opcion>,
    regiones: Vec<Opcion>,
    comuna: String,
    /// The quintile boxes: number, ticked.
    quintiles: Vec<(u8, bool)>,
    calculado: String,
    columnas: Columnas,
    filas: Vec<FilaCelda>,
    grafico: Option<Grafico>,
    sin_grafico: Option<&'static str>,
}

struct Opcion {
    valor: String,
    etiqueta: String,
    elegida: bool,
}

/// The figures the agreement is granted, one column each.
struct Columnas {
    personas: bool,
    hogares: bool,
    fichas: bool,
    promedio: bool,
    /// How many figure columns there are (a reserved cell spans them all).
    cuantas: usize,
}

struct FilaCelda {
    id: String,
    territorio: String,
    quintil: String,
    reservado: bool,
    personas: String,
    hogares: String,
    fichas: String,
    promedio: String,
}

#[derive(Default)]
struct Pedido {
    nivel: Option<String>,
    region: Option<String>,
    comuna: Option<String>,
    quintil: Option<String>,
}

/// The query string as the operation's parameters: the last of each, empty ones not given;
/// the quintile boxes (`quintil=1&quintil=3`) joined as the operation's list (`1,3`).
fn pedido(req: &HttpRequest) -> Result<Pedido, ApiError> {
    let pares = super::parametros(req, &PARAMETROS)?;
    let ultimo = |name: &str| {
        pares
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    };
    let quintiles: Vec<&str> = pares
        .iter()
        .filter(|(k, v)| k == "quintil" && !v.trim().is_empty())
        .map(|(_, v)| v.trim())
        .collect();
    Ok(Pedido {
        nivel: ultimo("nivel"),
        region: ultimo("region"),
        comuna: ultimo("comuna"),
        quintil: (!quintiles.is_empty()).then(|| quintiles.join(",")),
    })
}

async fn estadisticas(req: HttpRequest, consola: Data) -> HttpResponse {
    let (sesion, usuario) = match firmado(&req, &consola).await {
        Ok(s) => s,
        Err(response) => return response,
    };
    let mut call = consola.call(&req, &usuario);
    let parsed = pedido(&req).and_then(|p| {
        Consulta::parse(&Parametros {
            nivel: p.nivel.as_deref(),
            region: p.region.as_deref(),
            comuna: p.comuna.as_deref(),
            quintil: p.quintil.as_deref(),
        })
        .map(|consulta| (p, consulta))
    });
    let (pedido, consulta) = match parsed {
        Ok((p, c)) => (p, Some(c)),
        Err(e) => {
            call.input_error = Some(e);
            (Pedido::default(), None)
        }
    };
    let elegidos = consulta.as_ref().map(|c| c.quintiles.clone());
    let reply =
        ops::run::<EstadisticasTerritoriales>(Arc::clone(&consola.core), call, consulta).await;
    match reply.result {
        Ok(respuesta) => {
            let grafico = grafico(&respuesta);
            let page = PaginaEstadisticas {
                m: consola.marco("Estadísticas territoriales", Some(&sesion)),
                niveles: niveles(pedido.nivel.as_deref()),
                regiones: opciones_region(pedido.region.as_deref()),
                comuna: pedido.comuna.unwrap_or_default(),
                quintiles: (1..=5)
                    .map(|q| (q, elegidos.as_ref().is_none_or(|e| e.contains(&q))))
                    .collect(),
                calculado: respuesta
                    .calculado_en
                    .as_deref()
                    .map(super::hora_de_chile)
                    .unwrap_or_default(),
                columnas: columnas(&consola, &usuario),
                filas: filas(&respuesta),
                sin_grafico: grafico.is_none().then(|| por_que_sin_grafico(&respuesta)),
                grafico,
            };
            html(StatusCode::OK, page.render())
        }
        Err(e) => consola.rechazo(Some(&sesion), &e, PAGINA, mensaje_estadisticas(&e)),
    }
}

fn mensaje_estadisticas(error: &ApiError) -> String {
    let texto = match error.code {
        ErrorCode::NivelInvalido => {
            "El nivel no es válido, o es más amplio que el territorio elegido."
        }
        ErrorCode::RegionDesconocida => "No hay una región con ese código (01 a 15).",
        ErrorCode::ComunaDesconocida => {
            "El código de comuna no existe o no es de la región elegida."
        }
        ErrorCode::QuintilInvalido => "Los quintiles van del 1 al 5.",
        ErrorCode::EstadisticasNoCalculadas => {
            "Las estadísticas aún no se han calculado. Intente en unos minutos."
        }
        ErrorCode::SolicitudInvalida => "La consulta tiene un parámetro que no se conoce.",
        _ => return mensaje(error),
    };
    texto.to_owned()
}

fn niveles(elegido: Option<&str>) -> Vec<Opcion> {
    [
        ("", "Según el territorio elegido"),
        ("nacional", "Nacional"),
        ("region", "Regiones"),
        ("comuna", "Comunas"),
    ]
    .into_iter()
    .map(|(valor, etiqueta)| Opcion {
        valor: valor.to_owned(),
        etiqueta: etiqueta.to_owned(),
        elegida: elegido.unwrap_or_default() == valor,
    })
    .collect()
}

fn opciones_region(elegida: Option<&str>) -> Vec<Opcion> {
    let mut out = vec![Opcion {
        valor: String::new(),
        etiqueta: "Todas".into(),
        elegida: elegida.is_none(),
    }];
    out.extend(regiones().iter().map(|r| Opcion {
        valor: r.codigo.clone(),
        etiqueta: format!("{} {}", r.codigo, r.nombre),
        elegida: elegida == Some(r.codigo.as_str()),
    }));
    out
}

/// The figures the user's agreement is granted (what projection leaves in a published cell).
fn columnas(consola: &Data, usuario: &Usuario) -> Columnas {
    let policy = consola.core.broker.policy();
    let grant = policy
        .convenios
        .get(&usuario.convenio)
        .and_then(|c| c.grant(Operation::EstadisticasTerritoriales));
    let has = |path: &str| grant.is_some_and(|g| g.fields.contains(path));
    let (personas, hogares, fichas, promedio) = (
        has("celdas.personas"),
        has("celdas.hogares"),
        has("celdas.fichas"),
        has("celdas.puntajePromedio"),
    );
    Columnas {
        personas,
        hogares,
        fichas,
        promedio,
        cuantas: [personas, hogares, fichas, promedio]
            .iter()
            .filter(|c| **c)
            .count()
            .max(1),
    }
}

/// `1234567` as `1.234.567`.
fn miles(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push('.');
        }
        out.push(c);
    }
    out
}

/// `6120.4` as `6.120,4`.
fn decimal(x: f64) -> String {
    let decimas = (x * 10.0).round().max(0.0) as u64;
    format!("{},{}", miles(decimas / 10), decimas % 10)
}

fn territorio(c: &CeldaPublicada) -> String {
    let nombre = c.nombre.clone().unwrap_or_default();
    match &c.codigo {
        Some(codigo) => format!("{nombre} ({codigo})"),
        None => nombre,
    }
}

fn quintil(c: &CeldaPublicada) -> String {
    match c.quintil.as_deref() {
        Some("total") => "Total".into(),
        Some(q) => q.to_owned(),
        None => String::new(),
    }
}

fn reservada(c: &CeldaPublicada) -> bool {
    c.reservado != Some(false)
}

fn filas(respuesta: &Estadisticas) -> Vec<FilaCelda> {
    let cifra = |v: Option<u64>| v.map(miles).unwrap_or_default();
    respuesta
        .celdas
        .iter()
        .flatten()
        .map(|c| FilaCelda {
            id: format!(
                "celda-{}-{}",
                c.codigo.as_deref().unwrap_or("CL"),
                c.quintil.as_deref().unwrap_or_default()
            ),
            territorio: territorio(c),
            quintil: quintil(c),
            reservado: reservada(c),
            personas: cifra(c.personas),
            hogares: cifra(c.hogares),
            fichas: cifra(c.fichas),
            promedio: c.puntaje_promedio.map(decimal).unwrap_or_default(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(super) fn celda(codigo: &str, q: &str, personas: Option<u64>) -> CeldaPublicada {
        CeldaPublicada {
            ambito: Some("comuna"),
            codigo: Some(codigo.into()),
            nombre: Some("SANTIAGO".into()),
            quintil: Some(q.into()),
            reservado: Some(personas.is_none()),
            personas,
            hogares: personas,
            fichas: personas,
            puntaje_promedio: personas.map(|_| 6120.44),
        }
    }

    #[test]
    fn figures_read_the_chilean_way() {
        assert_eq!(miles(0), "0");
        assert_eq!(miles(999), "999");
        assert_eq!(miles(1_000), "1.000");
        assert_eq!(miles(11_234_567), "11.234.567");
        assert_eq!(decimal(6120.44), "6.120,4");
        assert_eq!(decimal(0.05), "0,1");
    }

    #[test]
    fn a_reserved_row_shows_no_figure() {
        let respuesta = Estadisticas {
            calculado_en: None,
            celdas: Some(vec![
                celda("13101", "1", Some(40)),
                celda("13101", "2", None),
            ]),
        };
        let rows = filas(&respuesta);
        assert!(!rows[0].reservado && rows[0].personas == "40");
        assert!(rows[1].reservado && rows[1].personas.is_empty() && rows[1].promedio.is_empty());
        assert_eq!(rows[0].promedio, "6.120,4");
    }
}
