//! The statistics page's chart: persons as horizontal bars, in the SVG's own units, for the
//! template to draw inline. A reserved cell keeps its row, with its label and the word
//! "reservado", and has no bar.

use super::{miles, quintil, reservada, territorio};
use crate::ops::estadisticas::{CeldaPublicada, Estadisticas};

/// Most bars the chart draws (one per territory when the answer has several).
const MAX_BARRAS: usize = 60;

/// A horizontal bar chart, in the SVG's own units.
pub(super) struct Grafico {
    pub(super) titulo: String,
    pub(super) descripcion: String,
    pub(super) ancho: u32,
    pub(super) alto: u32,
    /// Where labels end (they are right-aligned) and bars start.
    pub(super) x_etiqueta: u32,
    pub(super) x_barra: u32,
    /// A bar's thickness.
    pub(super) grosor: u32,
    pub(super) barras: Vec<Barra>,
}

pub(super) struct Barra {
    pub(super) etiqueta: String,
    /// What a pointer over the bar shows: its whole label and figure.
    pub(super) detalle: String,
    pub(super) y: u32,
    pub(super) y_texto: u32,
    /// The bar's length; none for a reserved cell, which is not drawn.
    pub(super) largo: Option<u32>,
    pub(super) x_texto: u32,
    pub(super) texto: String,
    pub(super) reservada: bool,
}

/// [`territorio`] in at most `letras` characters: a long name is cut, its code kept.
fn territorio_corto(c: &CeldaPublicada, letras: usize) -> String {
    let entero = territorio(c);
    if entero.chars().count() <= letras {
        return entero;
    }
    let codigo = c
        .codigo
        .as_deref()
        .map(|codigo| format!(" ({codigo})"))
        .unwrap_or_default();
    let nombre: String = c
        .nombre
        .as_deref()
        .unwrap_or_default()
        .chars()
        .take(letras.saturating_sub(codigo.chars().count() + 1))
        .collect();
    format!("{}…{codigo}", nombre.trim_end())
}

/// The cells the chart draws: one territory's quintiles, or each territory's total.
fn celdas_del_grafico(respuesta: &Estadisticas) -> Option<(String, Vec<&CeldaPublicada>)> {
    let celdas = respuesta.celdas.as_deref().unwrap_or_default();
    if !celdas.iter().any(|c| c.personas.is_some()) {
        return None;
    }
    let mut territorios: Vec<(Option<&str>, Option<&str>)> = Vec::new();
    for c in celdas {
        let t = (c.ambito, c.codigo.as_deref());
        if !territorios.contains(&t) {
            territorios.push(t);
        }
    }
    match territorios.len() {
        1 => {
            let quintiles: Vec<&CeldaPublicada> = celdas
                .iter()
                .filter(|c| c.quintil.as_deref() != Some("total"))
                .collect();
            let titulo = format!(
                "Personas por quintil: {}",
                celdas.first().map(territorio).unwrap_or_default()
            );
            (!quintiles.is_empty()).then_some((titulo, quintiles))
        }
        n if n <= MAX_BARRAS => {
            let totales: Vec<&CeldaPublicada> = celdas
                .iter()
                .filter(|c| c.quintil.as_deref() == Some("total"))
                .collect();
            let titulo = match celdas.first().and_then(|c| c.ambito) {
                Some("region") => "Personas por región (todos los quintiles)",
                _ => "Personas por comuna (todos los quintiles)",
            };
            Some((titulo.to_owned(), totales))
        }
        _ => None,
    }
}

pub(super) fn por_que_sin_grafico(respuesta: &Estadisticas) -> &'static str {
    if respuesta
        .celdas
        .iter()
        .flatten()
        .all(|c| c.personas.is_none())
    {
        "No hay cifras publicadas que graficar."
    } else {
        "El gráfico muestra hasta 60 territorios: elija una región para verlo."
    }
}

/// Persons as horizontal bars, scaled to the largest published cell. A reserved cell keeps
/// its row, with its label and the word "reservado", and no bar.
pub(super) fn grafico(respuesta: &Estadisticas) -> Option<Grafico> {
    const ANCHO: u32 = 720;
    const ETIQUETAS: u32 = 300;
    const LARGO_MAX: u32 = 340;
    /// Longest label drawn whole (longer ones are cut, and whole in the bar's title).
    const LETRAS: usize = 36;
    const FILA: u32 = 28;
    const BARRA: u32 = 18;
    let (titulo, celdas) = celdas_del_grafico(respuesta)?;
    let mayor = celdas.iter().filter_map(|c| c.personas).max().unwrap_or(0);
    let barras = celdas
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let y = 8 + FILA * i as u32;
            let (etiqueta, corta) = match c.quintil.as_deref() {
                Some("total") => (territorio(c), territorio_corto(c, LETRAS)),
                _ => {
                    let q = format!("Quintil {}", quintil(c));
                    (q.clone(), q)
                }
            };
            let largo = (!reservada(c))
                .then_some(c.personas)
                .flatten()
                .map(|n| match mayor {
                    0 => 0,
                    _ => ((n as f64 / mayor as f64) * f64::from(LARGO_MAX)).round() as u32,
                });
            let texto = match largo.and(c.personas) {
                Some(n) => miles(n),
                None => "reservado".to_owned(),
            };
            Barra {
                detalle: format!("{etiqueta}: {texto}"),
                etiqueta: corta,
                y,
                y_texto: y + 13,
                x_texto: ETIQUETAS + 6 + largo.unwrap_or(0),
                largo,
                texto,
                reservada: largo.is_none(),
            }
        })
        .collect::<Vec<_>>();
    let alto = 16 + FILA * barras.len() as u32;
    Some(Grafico {
        descripcion: format!(
            "Barras horizontales de personas en hogares con ficha vigente; {} de {} celdas \
             reservadas, que no se dibujan.",
            barras.iter().filter(|b| b.reservada).count(),
            barras.len()
        ),
        titulo,
        ancho: ANCHO,
        alto,
        x_etiqueta: ETIQUETAS - 6,
        x_barra: ETIQUETAS,
        grosor: BARRA,
        barras,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::consola::paginas::estadisticas::tests::celda;

    #[test]
    fn a_long_territory_keeps_its_code_in_the_chart() {
        let mut c = celda("13", "total", Some(10));
        c.nombre = Some("REGION METROPOLITANA DE SANTIAGO".into());
        assert_eq!(
            territorio_corto(&c, 40),
            "REGION METROPOLITANA DE SANTIAGO (13)"
        );
        let corto = territorio_corto(&c, 20);
        assert_eq!(corto, "REGION METROPO… (13)");
        assert_eq!(corto.chars().count(), 20);
    }

    #[test]
    fn reserved_cells_have_no_bar_and_show_no_figure() {
        let respuesta = Estadisticas {
            calculado_en: None,
            celdas: Some(vec![
                celda("13101", "1", Some(40)),
                celda("13101", "2", None),
                celda("13101", "3", Some(20)),
                celda("13101", "total", Some(75)),
            ]),
        };
        let g = grafico(&respuesta).expect("a chart of one comuna's quintiles");
        let drawn: Vec<(Option<u32>, &str)> = g
            .barras
            .iter()
            .map(|b| (b.largo, b.texto.as_str()))
            .collect();
        assert_eq!(
            drawn,
            [(Some(340), "40"), (None, "reservado"), (Some(170), "20")]
        );
    }

    #[test]
    fn several_territories_chart_their_totals_up_to_a_limit() {
        let many = |n: usize| Estadisticas {
            calculado_en: None,
            celdas: Some(
                (0..n)
                    .flat_map(|i| {
                        let codigo = format!("{:05}", 13101 + i);
                        [celda(&codigo, "1", None), celda(&codigo, "total", Some(10))]
                    })
                    .collect(),
            ),
        };
        let g = grafico(&many(3)).expect("three comunas");
        assert_eq!(g.barras.len(), 3);
        assert!(g.barras.iter().all(|b| b.largo == Some(340)));
        assert!(grafico(&many(MAX_BARRAS + 1)).is_none());
    }
}
