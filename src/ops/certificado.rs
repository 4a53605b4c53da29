//! EmitirCertificado: issues a signed `constancia` or `certificado_fps` for a person of the
//! agreement's scope who has a ficha in force, records its folio, and renders its PDF.

use std::collections::BTreeSet;

use chrono::{DateTime, SubsecRound, Utc};
use diesel::prelude::*;
use serde::Deserialize;

use super::{Core, Op, ficha};
use crate::convenios::Convenio;
use std::sync::Arc;

use crate::broker::{Admission, Call, Reply, Service};
use crate::catalog::Operation;
use crate::db::DbConnection;
use crate::db::schema::{integrantes, personas};
use crate::domain::{Cut, Puntaje, Run};
use crate::error::ApiError;
use crate::ops::certificados::verificar::Verificacion;
use crate::ops::certificados::{Contenido, DocumentKeys, Folio, Tipo, pdf, store};
use crate::projection::{Project, recortar, revelados};
pub use crate::respuestas::{Datos, Emision};

/// What the caller asks for.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Solicitud {
    pub run: String,
    pub tipo: String,
}

impl Project for Emision {
    fn project(&mut self, grant: &crate::projection::FieldSet) {
        recortar(self, grant);
    }

    fn disclosed(&self) -> BTreeSet<&'static str> {
        revelados(self)
    }
}

/// The fields a certificate of `tipo` carries in its payload and PDF: the agreement must grant
/// them all, since the document discloses them whatever the JSON shows. Read from the
/// catalogue's list (`EmitirCertificado`'s fields, as `Emision` declares them): the payload, the
/// PDF and the certified data, less the score for a constancia.
pub fn carried_fields(tipo: Tipo) -> impl Iterator<Item = &'static str> {
    const SCORE: [&str; 3] = ["datos.puntaje", "datos.quintil", "datos.integrantes"];
    Operation::EmitirCertificado
        .fields()
        .iter()
        .copied()
        .filter(move |f| {
            let carried = *f == "payload" || *f == "pdf" || f.starts_with("datos.");
            carried && (tipo == Tipo::CertificadoFps || !SCORE.contains(f))
        })
}

/// The kind asked for, or a clear input error.
pub fn parse_tipo(text: &str) -> Result<Tipo, ApiError> {
    Tipo::parse(text).ok_or_else(ApiError::tipo_certificado_desconocido)
}

/// Where the node publishes verification, and its keys.
pub struct Emisor<'a> {
    pub keys: Option<&'a DocumentKeys>,
    /// The public verification address up to the folio (`https://host:8444/verificar/`).
    pub url_base: &'a str,
}

/// EmitirCertificado as the agreement may ask it.
pub fn responder(
    convenio: &Convenio,
    conn: &mut DbConnection,
    emisor: &Emisor<'_>,
    run: Run,
    tipo: Tipo,
    now: DateTime<Utc>,
) -> Result<Emision, ApiError> {
    let grant = convenio
        .grant(Operation::EmitirCertificado)
        .ok_or_else(|| ApiError::no_autorizado("the agreement does not grant EmitirCertificado"))?;
    if let Some(missing) = carried_fields(tipo).find(|f| !grant.fields.contains(f)) {
        return Err(ApiError::campo_no_permitido(missing));
    }
    let keys = emisor.keys.filter(|k| k.can_sign()).ok_or_else(|| {
        tracing::error!("certificate asked of a node without a document signing key");
        ApiError::unavailable()
    })?;
    let Some((household, ficha)) = ficha::hogar_con_ficha(conn, run)? else {
        return Err(ApiError::no_encontrado());
    };
    if convenio
        .ambito
        .as_ref()
        .is_some_and(|a| !a.contiene(&household.cut))
    {
        return Err(ApiError::fuera_de_ambito());
    }
    let Some(ficha) = ficha else {
        return Err(ApiError::sin_ficha());
    };
    let (nombres, paterno, materno): (String, String, String) = personas::table
        .filter(personas::run.eq(run.numero() as i32))
        .select((
            personas::nombres,
            personas::apellido_paterno,
            personas::apellido_materno,
        ))
        .first(conn)?;
    let comuna = Cut::parse(&ficha.cut).map_err(|e| {
        tracing::error!(error = %e, "ficha with an invalid comuna code");
        ApiError::unavailable()
    })?;
    let (puntaje, quintil, integrantes) = match tipo {
        Tipo::Constancia => (None, None, None),
        Tipo::CertificadoFps => {
            let puntaje = Puntaje::new(i64::from(ficha.puntaje)).map_err(|e| {
                tracing::error!(error = %e, "ficha with a score out of range");
                ApiError::unavailable()
            })?;
            let members: i64 = integrantes::table
                .filter(integrantes::hogar_id.eq(household.hogar_id))
                .count()
                .get_result(conn)?;
            (
                Some(puntaje.value()),
                Some(puntaje.quintil().number()),
                Some(members as u32),
            )
        }
    };
    let folio = Folio::generate(tipo).map_err(|e| {
        tracing::error!(error = %e, "no random folio");
        ApiError::unavailable()
    })?;
    let contenido = Contenido {
        tipo,
        folio,
        emitido: now.trunc_subsecs(0),
        emisor: convenio.id.to_string(),
        run,
        nombre: format!("{nombres} {paterno} {materno}"),
        folio_ficha: ficha.folio,
        fecha_aplicacion: ficha.fecha_aplicacion,
        comuna,
        puntaje,
        quintil,
        integrantes,
    };
    let signed = keys.sign_payload(&contenido).ok_or_else(|| {
        tracing::error!("document signature failed");
        ApiError::unavailable()
    })?;
    let payload = signed.encode();
    let codigo = signed.code();
    let url = format!("{}{}", emisor.url_base, contenido.folio);
    let pdf = pdf::render(&contenido, &payload, &codigo, &url).map_err(|e| {
        tracing::error!(error = %e, "certificate PDF failed");
        ApiError::unavailable()
    })?;
    store::insert(conn, &contenido, &payload)?;
    tracing::info!(folio = %contenido.folio, tipo = tipo.as_str(), "certificate issued");
    Ok(Emision {
        folio: Some(contenido.folio.to_string()),
        tipo: Some(tipo.as_str().to_owned()),
        emitido: Some(contenido.emitido),
        codigo: Some(codigo),
        url_verificacion: Some(url),
        payload: Some(payload),
        pdf: Some(pdf),
        datos: Some(Datos {
            run: Some(run.to_string()),
            nombre: Some(contenido.nombre.clone()),
            folio_ficha: Some(contenido.folio_ficha),
            fecha_aplicacion: Some(contenido.fecha_aplicacion),
            comuna: Some(contenido.comuna.to_string()),
            puntaje,
            quintil,
            integrantes,
        }),
    })
}

/// EmitirCertificado (REST `POST /api/v1/certificados`, SOAP EmitirCertificado): a write, so
/// the folio and its audit record commit together.
pub struct EmitirCertificado;

/// A certificate asked for.
#[derive(Debug, Clone)]
pub struct Pedido {
    pub run: Run,
    pub tipo: Tipo,
}

impl Op for EmitirCertificado {
    const OPERATION: Operation = Operation::EmitirCertificado;
    const WRITES: bool = true;
    type Request = Pedido;
    type Response = Emision;

    fn subjects(p: &Pedido) -> Vec<Run> {
        vec![p.run]
    }

    fn handle(
        core: &Core,
        admission: &Admission,
        conn: &mut DbConnection,
        p: Pedido,
    ) -> Result<Emision, ApiError> {
        let convenio = &admission.convenio;
        let emisor = Emisor {
            keys: core.certificados.keys.as_deref(),
            url_base: &core.certificados.url_base,
        };
        responder(convenio, conn, &emisor, p.run, p.tipo, Utc::now())
    }
}
/// VerificarCertificado (`GET /verificar/{folio}?codigo=` on the public listener): anyone
/// with a certificate's folio and code checks it against the node's record and signature.
/// The broker limits it per address and audits each verification of an issued folio, naming
/// its person ([`crate::broker::Broker::call_public`]).
pub async fn verificar(
    core: Arc<Core>,
    mut call: Call,
    request: Option<Verificar>,
) -> Reply<Verificacion> {
    call.service = Service::VerificarCertificado;
    if request.is_none() && call.input_error.is_none() {
        call.input_error = Some(ApiError::unavailable());
    }
    let keys = core.certificados.keys.clone();
    let broker = core.broker.clone();
    broker
        .call_public(call, move |conn| {
            let request = request.ok_or_else(ApiError::unavailable)?;
            let Some(keys) = keys else {
                tracing::error!("verification asked of a node without the document public key");
                return Err(ApiError::unavailable());
            };
            let online = crate::ops::certificados::verificar::online(
                conn,
                keys.public(),
                &request.folio,
                &request.codigo,
            )?;
            Ok((online.verificacion, online.subject))
        })
        .await
}

/// A verification is public: it shows what the certificate printed (its RUN masked) to anyone
/// with its code, and no grant narrows it. Its audit record names the fields shown and, when
/// it is not valid, why.
impl Project for Verificacion {
    fn project(&mut self, _: &crate::projection::FieldSet) {}

    /// What it shows of the person: the certificate's fields (whether it is valid, why not
    /// and its folio answer the caller's own question).
    fn disclosed(&self) -> BTreeSet<&'static str> {
        let mut shown = revelados(self);
        shown.retain(|f| f.starts_with("certificado."));
        shown
    }

    fn audit_outcome(&self) -> Option<&'static str> {
        (!self.valido).then_some(self.motivo)
    }

    /// 200 when valid, 404 for a folio the node never issued, 422 otherwise.
    fn http_status(&self) -> u16 {
        match self.motivo {
            "VALIDO" => 200,
            "FOLIO_DESCONOCIDO" => 404,
            _ => 422,
        }
    }
}

/// A folio (a certificate's or a decree's) and the code printed beside it.
#[derive(Debug, Clone)]
pub struct Verificar {
    pub folio: crate::ops::certificados::verificar::Documento,
    pub codigo: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What each kind's document carries, read from the catalogue: a constancia has no score.
    #[test]
    fn each_kind_carries_its_documents_fields() {
        let common = [
            "payload",
            "pdf",
            "datos.run",
            "datos.nombre",
            "datos.folioFicha",
            "datos.fechaAplicacion",
            "datos.comuna",
        ];
        let constancia: Vec<_> = carried_fields(Tipo::Constancia).collect();
        assert_eq!(constancia, common);
        let fps: Vec<_> = carried_fields(Tipo::CertificadoFps).collect();
        let score = ["datos.puntaje", "datos.quintil", "datos.integrantes"];
        assert_eq!(fps, [&common[..], &score[..]].concat());
    }
}
