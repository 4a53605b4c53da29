//! `siis certificados verificar FILE.pdf|PAYLOAD`: offline verification with only the public
//! key (no node, no database).

use std::path::Path;

use crate::ops::certificados::firma::load_public;
use crate::ops::certificados::verificar::{self, Certificado};

/// Prints whether `input` is a valid certificate; `Ok(false)` when it is not (the command
/// then exits non-zero).
pub fn verificar(input: &str, public_key: &Path) -> anyhow::Result<bool> {
    let key = load_public(public_key)?;
    match verificar::offline(input, &key) {
        Ok(verificar::Verificado::Decreto(d, codigo)) => {
            println!("VALIDO: firma correcta ({})", public_key.display());
            println!("folio: {}", d.folio);
            println!("codigo: {codigo}");
            println!("tipo: decreto");
            println!(
                "emitido: {}",
                d.emitido.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            );
            println!("emisor: {}", d.emisor);
            println!("comuna: {} {}", d.comuna, d.comuna.comuna().nombre);
            println!("programa: {}", d.programa);
            println!("periodo: {}", d.periodo);
            println!("numero: {}/{}", d.numero, d.periodo.anio);
            println!("otorgadas: {}", d.otorgadas);
            println!(
                "lineas_sha256: {} (the SHA-256 of the printed lines; the online check compares them)",
                d.lineas_sha256
            );
            Ok(true)
        }
        Ok(verificar::Verificado::Certificado(payload)) => {
            let c = Certificado::of(&payload.contenido);
            println!("VALIDO: firma correcta ({})", public_key.display());
            println!("folio: {}", payload.contenido.folio);
            println!("codigo: {}", payload.code());
            println!("tipo: {}", c.tipo);
            println!(
                "emitido: {}",
                c.emitido.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            );
            println!("emisor: {}", c.emisor);
            println!("run: {}", payload.contenido.run.dotted());
            println!("nombre: {}", c.nombre);
            println!("comuna: {} {}", c.comuna, c.comuna_nombre);
            println!("folio_ficha: {}", c.folio_ficha);
            println!("fecha_aplicacion: {}", c.fecha_aplicacion);
            if let (Some(p), Some(q), Some(n)) = (c.puntaje, c.quintil, c.integrantes) {
                println!("puntaje: {p}");
                println!("quintil: {q}");
                println!("integrantes: {n}");
            }
            Ok(true)
        }
        Err(e) => {
            println!("NO VALIDO: {} ({e})", e.code());
            Ok(false)
        }
    }
}
