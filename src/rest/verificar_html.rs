//! The verification pages for people (Spanish, no scripts, no external resources).

use crate::error::ApiError;
use crate::ops::certificados::verificar::Verificacion;

/// Escapes text for HTML.
fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn page(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"es\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width\">\
         <title>{}</title></head><body style=\"font-family:sans-serif;max-width:40em;margin:2em auto\">\
         <p>Sistema Integrado de Información Social</p><h1>{}</h1>{body}</body></html>\n",
        esc(title),
        esc(title)
    )
}

fn form(folio: &str) -> String {
    format!(
        "<form method=\"get\" action=\"/verificar/{f}\"><label>Código de verificación \
         <input name=\"codigo\" placeholder=\"XXXXX-XXXXX\" required></label> \
         <button>Verificar</button></form>",
        f = esc(folio)
    )
}

/// Asks for the code of `folio`.
pub fn form_page(folio: &str) -> String {
    page(
        "Verificar certificado",
        &format!(
            "<p>Folio <strong>{}</strong>. Ingrese el código de verificación impreso en el documento.</p>{}",
            esc(folio),
            form(folio)
        ),
    )
}

pub fn error_page(error: &ApiError) -> String {
    page(
        "No se pudo verificar",
        &format!(
            "<p>{} (<code>{}</code>): {}</p>",
            esc(error.title()),
            esc(error.code.as_str()),
            esc(&error.detail)
        ),
    )
}

fn tabla(rows: &[(&str, String)]) -> String {
    rows.iter()
        .map(|(k, v)| {
            format!(
                "<tr><th align=\"left\">{}</th><td>{}</td></tr>",
                esc(k),
                esc(v)
            )
        })
        .collect()
}

/// A valid decree: its heading and how many it grants, never whom.
fn decreto_page(
    v: &Verificacion,
    d: &crate::ops::certificados::verificar::DecretoPublico,
) -> String {
    let rows = [
        ("Folio", v.folio.clone()),
        ("Decreto", format!("N° {} / {}", d.numero, &d.periodo[..4])),
        (
            "Programa",
            crate::ops::decretos::pdf::nombre_programa(&d.programa).to_owned(),
        ),
        ("Comuna", format!("{} ({})", d.comuna_nombre, d.comuna)),
        ("Período", d.periodo.clone()),
        (
            "Personas a las que concede el beneficio",
            d.otorgadas.to_string(),
        ),
        (
            "Emitido",
            d.emitido.format("%d-%m-%Y %H:%M UTC").to_string(),
        ),
        ("Emisor", d.emisor.clone()),
    ];
    page(
        "Decreto válido",
        &format!(
            "<p>El decreto fue emitido por este nodo, su firma es válida y sus líneas son las \
             que firmó. Compare estos datos con los impresos; la verificación pública no \
             muestra las personas que nombra.</p><table>{}</table>",
            tabla(&rows)
        ),
    )
}

pub fn result_page(v: &Verificacion) -> String {
    if let Some(d) = &v.decreto {
        return decreto_page(v, d);
    }
    let Some(c) = &v.certificado else {
        let why = match v.motivo {
            "FOLIO_DESCONOCIDO" => "Este nodo no ha emitido ningún documento con ese folio.",
            "CODIGO_INCORRECTO" => "El código de verificación no corresponde a ese folio.",
            _ => "El registro del documento no supera la comprobación de su firma.",
        };
        return page(
            "Documento NO válido",
            &format!(
                "<p>Folio <strong>{}</strong>: {} (<code>{}</code>)</p>{}",
                esc(&v.folio),
                why,
                v.motivo,
                form(&v.folio)
            ),
        );
    };
    let mut rows = vec![
        ("Folio", v.folio.clone()),
        ("Tipo", c.tipo.to_owned()),
        (
            "Emitido",
            c.emitido.format("%d-%m-%Y %H:%M UTC").to_string(),
        ),
        ("Emisor", c.emisor.clone()),
        ("Nombre", c.nombre.clone()),
        ("RUN", c.run.clone()),
        ("Comuna", format!("{} ({})", c.comuna_nombre, c.comuna)),
        ("Folio de la ficha", c.folio_ficha.to_string()),
        (
            "Fecha de aplicación",
            c.fecha_aplicacion.format("%d-%m-%Y").to_string(),
        ),
    ];
    if let (Some(p), Some(q), Some(n)) = (c.puntaje, c.quintil, c.integrantes) {
        rows.push(("Puntaje FPS", p.to_string()));
        rows.push(("Quintil", q.to_string()));
        rows.push(("Integrantes del hogar", n.to_string()));
    }
    let table = tabla(&rows);
    page(
        "Certificado válido",
        &format!(
            "<p>El documento fue emitido por este nodo y su firma es válida. Compare estos datos \
             con los impresos.</p><table>{table}</table>"
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_text_is_escaped() {
        assert_eq!(
            esc("<script>\"O'Higgins\" & co</script>"),
            "&lt;script&gt;&quot;O&#39;Higgins&quot; &amp; co&lt;/script&gt;"
        );
        let page = form_page("CFP-<b>");
        assert!(!page.contains("<b>") && page.contains("CFP-&lt;b&gt;"));
    }
}
