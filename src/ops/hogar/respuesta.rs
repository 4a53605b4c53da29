//! A household as ActualizarHogar answers it, and its projection onto an agreement's grant.

use std::collections::BTreeSet;

use chrono::DateTime;

use super::store::{self, Datos, EventoFila, HogarFila};
use crate::db::DbConnection;
use crate::domain::Run;
use crate::error::ApiError;
use crate::ops::ficha::ComunaRef;
use crate::projection::{FieldSet, Project, recortar, revelados};
pub use crate::respuestas::{EventoHogar, Hogar, IntegranteHogar};

/// What the history says of a member who left through another comuna's household: their new
/// household, its reason and author are that comuna's.
pub const MOTIVO_EXTERNO: &str = "traslado a otro hogar";

impl Project for Hogar {
    fn project(&mut self, grant: &FieldSet) {
        recortar(self, grant);
    }

    fn disclosed(&self) -> BTreeSet<&'static str> {
        revelados(self)
    }

    fn subjects(&self) -> Option<Vec<Run>> {
        Some(self.sujetos.clone())
    }
}

fn run_texto(numero: i32) -> Option<String> {
    Run::from_numero(numero as u32).ok().map(|r| r.to_string())
}

/// One event as a reader of the household `hogar_id` may see it.
fn evento(fila: &EventoFila) -> EventoHogar {
    let datos = Datos::parse(&fila.datos);
    let externo = datos.externo == Some(true);
    let integrantes: Vec<IntegranteHogar> = match (&fila.run, &datos.runs) {
        (Some(run), _) => vec![IntegranteHogar {
            run: run_texto(*run),
            parentesco: datos.parentesco.clone(),
        }],
        (None, Some(runs)) => runs
            .iter()
            .map(|r| IntegranteHogar {
                run: Some(r.clone()),
                parentesco: None,
            })
            .collect(),
        (None, None) => Vec::new(),
    };
    EventoHogar {
        secuencia: u32::try_from(fila.secuencia).ok(),
        evento: Some(fila.evento.clone()),
        // To the second, as SOAP writes an instant.
        registrado: DateTime::from_timestamp(fila.ts_us.div_euclid(1_000_000), 0),
        integrantes: (!integrantes.is_empty()).then_some(integrantes),
        direccion: datos.direccion,
        motivo: Some(if externo {
            MOTIVO_EXTERNO.to_owned()
        } else {
            fila.motivo.clone()
        }),
        convenio: (!externo).then(|| fila.convenio.clone()),
        usuario: fila.usuario.clone().filter(|_| !externo),
        marca_revision: Some(fila.marca_revision == 1),
    }
}

/// The whole household as the registry holds it now, asked by member `run`; projection cuts it
/// down to the grant. Its subjects are every person it names.
pub(super) fn vista(
    conn: &mut DbConnection,
    run: Run,
    hogar: &HogarFila,
) -> Result<Hogar, ApiError> {
    let miembros = store::integrantes(conn, hogar.id)?;
    let ficha = store::ficha_vigente(conn, hogar.id)?;
    let eventos: Vec<EventoHogar> = store::eventos(conn, hogar.id)?.iter().map(evento).collect();
    let integrantes: Vec<IntegranteHogar> = miembros
        .iter()
        .map(|(r, p)| IntegranteHogar {
            run: run_texto(*r),
            parentesco: Some(p.clone()),
        })
        .collect();
    let mut sujetos = vec![run];
    let nombrados = integrantes
        .iter()
        .chain(eventos.iter().flat_map(|e| e.integrantes.iter().flatten()))
        .filter_map(|i| Run::parse(i.run.as_deref()?).ok());
    for r in nombrados {
        if !sujetos.contains(&r) {
            sujetos.push(r);
        }
    }
    Ok(Hogar {
        sujetos,
        run: Some(run.to_string()),
        comuna: Some(ComunaRef {
            codigo: Some(hogar.cut.clone()),
            nombre: crate::ops::encuestaje::store::nombre_comuna(&hogar.cut),
        }),
        direccion: Some(hogar.direccion.clone()),
        folio: ficha.as_ref().map(|(folio, _)| *folio),
        en_revision: ficha.as_ref().map(|(_, revision)| revision.is_some()),
        integrantes: Some(integrantes),
        eventos: Some(eventos),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fila(datos: Datos, externo_run: Option<i32>) -> EventoFila {
        EventoFila {
            id: "e".into(),
            hogar_id: 1,
            secuencia: 2,
            evento: "quitar_integrante".into(),
            run: externo_run,
            hogar_destino: None,
            datos: datos.json(),
            motivo: "se fue a vivir con su pareja a Viña".into(),
            convenio: "muni-05101".into(),
            usuario: Some("11111111-1".into()),
            marca_revision: 1,
            ts_us: 0,
        }
    }

    #[test]
    fn a_departure_to_another_comuna_shows_neither_its_reason_nor_its_author() {
        let externo = evento(&fila(
            Datos {
                externo: Some(true),
                hacia: Some(9),
                ..Datos::default()
            },
            Some(6),
        ));
        assert_eq!(externo.motivo.as_deref(), Some(MOTIVO_EXTERNO));
        assert_eq!((externo.convenio, externo.usuario), (None, None));
        assert_eq!(externo.marca_revision, Some(true));
        let propio = evento(&fila(Datos::default(), Some(6)));
        assert_eq!(propio.convenio.as_deref(), Some("muni-05101"));
        assert_eq!(propio.usuario.as_deref(), Some("11111111-1"));
        assert_eq!(propio.integrantes.unwrap()[0].run.as_deref(), Some("6-K"));
    }
}
