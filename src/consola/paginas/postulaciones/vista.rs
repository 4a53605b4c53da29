//! What the postulation pages show: the comuna's list (the waiting list when one program is
//! chosen), the form to postulate, and one postulation with its checks and the forms that
//! close it. Built from the operation's projected answer only: a field the agreement is not
//! granted is absent here too.

use askama::Template;
use chrono::NaiveDate;

use super::formulario::{FILAS, FILAS_VISIBLES};
use super::{LISTA, pagina_de};
use crate::consola::paginas::Marco;
use crate::domain::Cut;
use crate::ops::postulacion::{ESTADOS, Postulacion, Postulaciones, TIPOS_CAUSANTE, store};

#[derive(Template)]
#[template(path = "consola/postulaciones.html")]
pub(super) struct PaginaLista {
    pub m: Marco,
    pub comuna: String,
    /// The filter's and the form's programs: value, label, chosen in the filter.
    pub programas: Vec<(&'static str, &'static str, bool)>,
    pub estados: Vec<(&'static str, &'static str, bool)>,
    /// One program chosen: the list is its waiting list, in priority order.
    pub programa: Option<String>,
    pub total: i64,
    pub pagina: u32,
    pub paginas: u32,
    pub filas: Vec<Fila>,
    pub anterior: Option<String>,
    pub siguiente: Option<String>,
    /// The causantes' rows of the form: (number from 1, in view).
    pub causantes: Vec<(usize, bool)>,
    pub tipos: Vec<(&'static str, &'static str)>,
    /// "Emitir decreto del mes": the month (`YYYY-MM`) whose decree of the chosen program the
    /// user may issue; none while EmitirDecreto is not wired ([`super::decreto_del_mes`]).
    pub decreto: Option<String>,
}

pub(super) struct Fila {
    /// Place in the program's priority order (one program chosen), counted over every page.
    pub lugar: Option<i64>,
    pub href: String,
    pub run: String,
    pub programa: String,
    pub estado: &'static str,
    pub puntaje: String,
    pub fecha: String,
    pub causantes: String,
}

#[derive(Template)]
#[template(path = "consola/postulacion.html")]
pub(super) struct PaginaPostulacion {
    pub m: Marco,
    pub accion: String,
    pub datos: Vec<(&'static str, String)>,
    pub causantes: Vec<(String, &'static str)>,
    pub chequeos: Vec<Chequeo>,
    /// The postulation is open: the forms that close it are offered.
    pub abierta: bool,
}

pub(super) struct Chequeo {
    pub regla: String,
    pub cumple: bool,
    pub motivo: String,
    pub dato: String,
}

pub(super) fn programa_legible(programa: &str) -> &'static str {
    match programa {
        "SUF" => "Subsidio familiar (SUF)",
        "PASIS" => "Pensión asistencial (PASIS)",
        "SAP" => "Subsidio de agua potable (SAP)",
        _ => "Otro programa",
    }
}

pub(super) fn estado_legible(estado: &str) -> &'static str {
    match estado {
        "postulada" => "Postulada",
        "verificada" => "Verificada",
        "rechazada" => "Rechazada",
        "en_espera" => "En espera",
        "otorgada" => "Otorgada",
        "desistida" => "Desistida",
        "anulada" => "Anulada",
        _ => "Desconocido",
    }
}

fn tipo_legible(tipo: &str) -> &'static str {
    match tipo {
        "menor" => "Menor de edad",
        "invalido" => "Inválido",
        "madre" => "Madre",
        "gestante" => "Gestante",
        _ => "Otro",
    }
}

fn fecha(d: Option<NaiveDate>) -> String {
    d.map(|d| d.format("%d-%m-%Y").to_string())
        .unwrap_or_default()
}

fn comuna_legible(codigo: &str) -> String {
    Cut::parse(codigo)
        .map(|cut| format!("{} ({cut})", cut.comuna().nombre))
        .unwrap_or_else(|_| codigo.to_owned())
}

/// The list's page from the operation's answer; `programas` are those the agreement grants.
pub(super) fn lista(
    m: Marco,
    lista: &Postulaciones,
    programas: &[&'static str],
    decreto: Option<String>,
) -> PaginaLista {
    let elegido = lista.programa.as_deref().unwrap_or_default();
    let estado = lista.estado.as_deref().unwrap_or_default();
    let por_pagina = i64::from(lista.por_pagina.max(1));
    let paginas = u32::try_from((lista.total + por_pagina - 1) / por_pagina)
        .unwrap_or(u32::MAX)
        .max(1);
    let enlace = |pagina: u32| {
        let mut q = String::new();
        if let Some(p) = &lista.programa {
            q.push_str(&format!("programa={p}&"));
        }
        if let Some(e) = &lista.estado {
            q.push_str(&format!("estado={e}&"));
        }
        format!("{LISTA}?{q}pagina={pagina}")
    };
    let desde = i64::from(lista.pagina.saturating_sub(1)) * por_pagina;
    let filas = lista
        .postulaciones
        .iter()
        .enumerate()
        .map(|(i, p)| Fila {
            lugar: lista.programa.is_some().then_some(desde + i as i64 + 1),
            href: p
                .id
                .as_deref()
                .map(pagina_de)
                .unwrap_or_else(|| LISTA.to_owned()),
            run: p.run.clone().unwrap_or_else(|| "Ver postulación".into()),
            programa: p.programa.clone().unwrap_or_default(),
            estado: p.estado.as_deref().map(estado_legible).unwrap_or_default(),
            puntaje: p.puntaje.map(|v| v.to_string()).unwrap_or_default(),
            fecha: fecha(p.fecha_postulacion),
            causantes: p
                .causantes
                .as_ref()
                .filter(|c| !c.is_empty())
                .map(|c| c.len().to_string())
                .unwrap_or_default(),
        })
        .collect();
    let mut estados = vec![("", "Todos", estado.is_empty())];
    estados.extend(
        ESTADOS
            .iter()
            .map(|e| (*e, estado_legible(e), *e == estado)),
    );
    PaginaLista {
        m,
        comuna: comuna_legible(&lista.comuna),
        programas: programas
            .iter()
            .map(|p| (*p, programa_legible(p), *p == elegido))
            .collect(),
        estados,
        programa: lista.programa.clone(),
        total: lista.total,
        pagina: lista.pagina,
        paginas,
        filas,
        anterior: (lista.pagina > 1).then(|| enlace(lista.pagina - 1)),
        siguiente: (lista.pagina < paginas).then(|| enlace(lista.pagina + 1)),
        causantes: (1..=FILAS).map(|n| (n, n <= FILAS_VISIBLES)).collect(),
        tipos: TIPOS_CAUSANTE
            .iter()
            .map(|t| (*t, tipo_legible(t)))
            .collect(),
        decreto,
    }
}

/// One postulation's page from the operation's answer.
pub(super) fn postulacion(m: Marco, id: &str, p: &Postulacion) -> PaginaPostulacion {
    let mut datos: Vec<(&'static str, String)> = Vec::new();
    let mut put = |label: &'static str, value: Option<String>| {
        if let Some(value) = value.filter(|v| !v.is_empty()) {
            datos.push((label, value));
        }
    };
    put("RUN", p.run.clone());
    put(
        "Programa",
        p.programa
            .as_deref()
            .map(|s| programa_legible(s).to_owned()),
    );
    put(
        "Estado",
        p.estado.as_deref().map(|s| estado_legible(s).to_owned()),
    );
    put(
        "Comuna",
        p.comuna
            .as_ref()
            .and_then(|c| match (&c.nombre, &c.codigo) {
                (Some(n), Some(c)) => Some(format!("{n} ({c})")),
                (Some(n), None) => Some(n.clone()),
                (None, c) => c.clone(),
            }),
    );
    put(
        "Fecha de postulación",
        p.fecha_postulacion.map(|d| fecha(Some(d))),
    );
    put("Puntaje", p.puntaje.map(|v| v.to_string()));
    put("Folio del decreto", p.decreto_folio.clone());
    put("Motivo de cierre", p.motivo_cierre.clone());
    put("Identificador", p.id.clone());
    PaginaPostulacion {
        m,
        accion: format!("{}/eventos", pagina_de(id)),
        datos,
        causantes: p
            .causantes
            .iter()
            .flatten()
            .map(|c| {
                (
                    c.run.clone().unwrap_or_default(),
                    c.tipo.as_deref().map(tipo_legible).unwrap_or_default(),
                )
            })
            .collect(),
        chequeos: p
            .chequeos
            .iter()
            .flatten()
            .map(|c| Chequeo {
                regla: c.regla.clone().unwrap_or_default(),
                cumple: c.cumple.unwrap_or(false),
                motivo: c.motivo.clone().unwrap_or_default(),
                dato: c.dato.clone().unwrap_or_default(),
            })
            .collect(),
        // Which states admit an event is the operation's (store::ABIERTAS), not the page's.
        abierta: p
            .estado
            .as_deref()
            .is_some_and(|e| store::ABIERTAS.contains(&e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::postulacion::{CausantePostulacion, ChequeoPostulacion};
    use crate::respuestas::ComunaRef;

    fn marco() -> Marco {
        Marco {
            titulo: "Postulaciones",
            demo: false,
            quien: None,
            menu: Vec::new(),
            csrf: "token".into(),
        }
    }

    fn una(estado: &str, run: &str, puntaje: u16) -> Postulacion {
        Postulacion {
            id: Some(crate::domain::PostulacionId::new().to_string()),
            programa: Some("SUF".into()),
            run: Some(run.into()),
            comuna: Some(ComunaRef {
                codigo: Some("13101".into()),
                nombre: Some("SANTIAGO".into()),
            }),
            estado: Some(estado.into()),
            puntaje: Some(puntaje),
            causantes: Some(vec![CausantePostulacion {
                run: Some("15.509.661-6".into()),
                tipo: Some("menor".into()),
            }]),
            chequeos: Some(vec![
                ChequeoPostulacion {
                    regla: Some("SUF-VIVO".into()),
                    cumple: Some(true),
                    motivo: Some("Cumple".into()),
                    dato: Some("fallecido".into()),
                },
                ChequeoPostulacion {
                    regla: Some("SUF-PUNTAJE".into()),
                    cumple: Some(false),
                    motivo: Some("Puntaje <script>".into()),
                    dato: Some("puntaje".into()),
                },
            ]),
            ..Postulacion::default()
        }
    }

    #[test]
    fn the_waiting_list_numbers_its_places_over_pages_and_keeps_the_filter_in_its_links() {
        let answer = Postulaciones {
            comuna: "13101".into(),
            programa: Some("SUF".into()),
            estado: Some("verificada".into()),
            pagina: 2,
            por_pagina: 2,
            total: 5,
            postulaciones: vec![
                una("verificada", "6-K", 7000),
                una("verificada", "14-0", 9000),
            ],
        };
        let page = lista(marco(), &answer, &["SUF", "SAP"], None);
        let lugares: Vec<_> = page.filas.iter().map(|f| f.lugar).collect();
        assert_eq!(lugares, [Some(3), Some(4)]);
        assert_eq!(page.paginas, 3);
        assert_eq!(
            page.anterior.as_deref(),
            Some("/consola/postulaciones?programa=SUF&estado=verificada&pagina=1")
        );
        let html = page.render().unwrap();
        assert!(html.contains("SANTIAGO (13101)"), "{html}");
        assert!(html.contains("<option value=\"SUF\" selected>"), "{html}");
        assert!(html.contains("id=\"lista-espera\""), "{html}");
        assert!(!html.contains("id=\"emitir-decreto\""), "{html}");
        for bad in ["<script", "style=", " onclick", " onload"] {
            assert!(!html.contains(bad), "{bad}");
        }
        // Without a program the list is by date: no places.
        let todas = Postulaciones {
            programa: None,
            ..answer
        };
        let page = lista(marco(), &todas, &["SUF"], None);
        assert!(page.filas.iter().all(|f| f.lugar.is_none()));
    }

    #[test]
    fn the_decree_button_shows_only_when_the_page_is_given_a_month() {
        let answer = Postulaciones {
            comuna: "13101".into(),
            programa: Some("SAP".into()),
            pagina: 1,
            por_pagina: 20,
            ..Postulaciones::default()
        };
        let html = lista(marco(), &answer, &["SAP"], Some("2026-12".into()))
            .render()
            .unwrap();
        assert!(html.contains("id=\"emitir-decreto\""), "{html}");
        assert!(
            html.contains("name=\"periodo\" value=\"2026-12\""),
            "{html}"
        );
        assert!(html.contains("name=\"programa\" value=\"SAP\""), "{html}");
    }

    #[test]
    fn a_postulation_shows_its_checks_and_only_an_open_one_the_forms_that_close_it() {
        let p = una("rechazada", "6-K", 12000);
        let id = p.id.clone().unwrap();
        let page = postulacion(marco(), &id, &p);
        assert!(page.abierta);
        assert_eq!(page.accion, format!("/consola/postulaciones/{id}/eventos"));
        let html = page.render().unwrap();
        assert!(html.contains("SUF-PUNTAJE"), "{html}");
        assert!(html.contains("No cumple"), "{html}");
        assert!(
            html.contains("Puntaje &#60;script&#62;") || html.contains("Puntaje &lt;script&gt;"),
            "{html}"
        );
        assert!(
            html.contains("id=\"desistir\"") && html.contains("id=\"anular\""),
            "{html}"
        );
        for estado in ["otorgada", "desistida", "anulada"] {
            let p = una(estado, "6-K", 12000);
            let html = postulacion(marco(), &id, &p).render().unwrap();
            assert!(!html.contains("id=\"desistir\""), "{estado}");
            assert!(html.contains("id=\"cerrada\""), "{estado}");
        }
        // A field the grant withholds is absent from the page too.
        let sin_chequeos = Postulacion {
            chequeos: None,
            run: None,
            ..una("verificada", "6-K", 1)
        };
        let html = postulacion(marco(), &id, &sin_chequeos).render().unwrap();
        assert!(
            !html.contains("6-K") && !html.contains("SUF-VIVO"),
            "{html}"
        );
    }
}
