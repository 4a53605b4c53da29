//! Receiving one batch, in the steps the broker runs a write in: `preparar` fingerprints the
//! file, reads, checks and stages its records and charges them to the sender's budget, all on
//! the connection and before the registry's write lock is taken; `aplicar` makes the change in
//! the transaction that also holds the batch's audit record; `terminar` drops the staging table
//! whatever happened.

use std::io::Write;
use std::path::Path;

use chrono::{DateTime, Utc};

use super::lectura::{self, Huella, Lectura};
use super::{Envio, Formato, Informe, LoteError, Progreso, SinProgreso, TipoLote, feeds, registro};
use crate::broker::{Admission, Escritura};
use crate::db::DbConnection;
use crate::error::ApiError;

/// What a batch's records cost its sender. A provider's batch is about persons as a lookup is:
/// each record read takes one unit of the sender's budget for its batches (`[limits.lotes]`,
/// or its agreement's), charged once the file is read and before anything is applied; reading
/// stops past the most records one batch may hold, so a batch larger than the burst is refused
/// (`LOTE_SUPERA_RAFAGA`) without reading it all.
pub trait Cupo {
    /// The most records one batch may hold, if there is a most.
    fn maximo(&self) -> Option<u64>;
    /// Takes the batch's `registros` from the sender's budget, or refuses the batch.
    fn cobrar(&self, registros: u64) -> Result<(), ApiError>;
}

impl Cupo for Admission {
    fn maximo(&self) -> Option<u64> {
        Some(self.lote_max())
    }

    fn cobrar(&self, registros: u64) -> Result<(), ApiError> {
        self.cobrar_lote(registros)
    }
}

/// The operators' own loads (`siis ingest`): no agency asks, nothing is charged.
pub struct SinCupo;

impl Cupo for SinCupo {
    fn maximo(&self) -> Option<u64> {
        None
    }

    fn cobrar(&self, _: u64) -> Result<(), ApiError> {
        Ok(())
    }
}

/// A batch read, checked and staged on its connection, ready for the transaction that applies
/// it; or one applied before (then nothing is staged).
pub struct Preparado {
    clave: String,
    huella: Huella,
    recibido: DateTime<Utc>,
    estado: Estado,
}

enum Estado {
    Nuevo(Lectura),
    Previo(Informe),
}

/// Reads the batch in `archivo` onto the connection (outside any transaction): its key and
/// fingerprint, whether it was applied before, then each record checked and the valid ones
/// staged, and the records charged to `cupo`.
pub fn preparar(
    conn: &mut DbConnection,
    envio: &Envio,
    archivo: &Path,
    progreso: &mut dyn Progreso,
    cupo: &dyn Cupo,
) -> Result<Preparado, LoteError> {
    if let Some(clave) = &envio.clave_proveedor
        && (clave.is_empty() || clave.len() > 128 || !clave.bytes().all(|b| b.is_ascii_graphic()))
    {
        return Err(LoteError::ClaveInvalida);
    }
    let recibido = Utc::now();
    let huella = Huella::of(archivo)?;
    let clave = envio
        .clave_proveedor
        .clone()
        .unwrap_or_else(|| format!("sha256:{}", huella.sha256));
    if let Some(previo) = registro::find(conn, &envio.convenio, &clave)? {
        return Ok(Preparado {
            clave,
            huella,
            recibido,
            estado: Estado::Previo(previo),
        });
    }
    let tipo = feeds::feed(envio.tipo);
    feeds::prepare(conn, tipo)?;
    let lectura = lectura::leer(conn, tipo, envio, archivo, &huella, progreso, cupo.maximo())?;
    cupo.cobrar(lectura.leidos).map_err(LoteError::Cupo)?;
    Ok(Preparado {
        clave,
        huella,
        recibido,
        estado: Estado::Nuevo(lectura),
    })
}

/// Applies a prepared batch, exactly once, inside the caller's transaction; the first report
/// again when the batch had already been applied.
pub fn aplicar(
    conn: &mut DbConnection,
    envio: &Envio,
    preparado: Preparado,
    progreso: &mut dyn Progreso,
) -> Result<Informe, LoteError> {
    let Preparado {
        clave,
        huella,
        recibido,
        estado,
    } = preparado;
    let lectura = match estado {
        Estado::Previo(previo) => return repetido(previo, &huella.sha256, &clave),
        Estado::Nuevo(lectura) => lectura,
    };
    let tipo = feeds::feed(envio.tipo);
    match registro::aplicar(
        conn, tipo, envio, &clave, &huella, lectura, recibido, progreso,
    )? {
        registro::Aplicado::Nuevo(informe) => {
            tracing::info!(
                lote = informe.lote,
                convenio = %informe.convenio,
                tipo = %informe.tipo,
                leidos = informe.leidos,
                aplicados = informe.aplicados,
                rechazados = informe.rechazados,
                "batch applied"
            );
            Ok(informe)
        }
        registro::Aplicado::Previo(previo) => repetido(previo, &huella.sha256, &clave),
    }
}

/// Drops the batch's staging table and gives the connection back its serving settings,
/// whatever happened (the connection goes back to a pool).
pub fn terminar(conn: &mut DbConnection, tipo: TipoLote) {
    if let Err(error) = feeds::drop_stage(conn, feeds::feed(tipo)) {
        tracing::error!(error = %error, "batch staging table not dropped");
    }
}

/// Receives one batch from `archivo` (`siis ingest`): prepares it, applies it in one
/// transaction, and tidies the connection.
pub fn recibir(
    conn: &mut DbConnection,
    envio: &Envio,
    archivo: &Path,
    progreso: &mut dyn Progreso,
    cupo: &dyn Cupo,
) -> Result<Informe, LoteError> {
    let outcome = preparar(conn, envio, archivo, progreso, cupo).and_then(|preparado| {
        crate::db::write_transaction(conn, |conn| aplicar(conn, envio, preparado, progreso))
    });
    terminar(conn, envio.tipo);
    outcome
}

fn repetido(previo: Informe, sha256: &str, clave: &str) -> Result<Informe, LoteError> {
    if previo.sha256 != sha256 {
        return Err(LoteError::ClaveReutilizada(clave.to_owned()));
    }
    Ok(Informe {
        repetido: true,
        ..previo
    })
}

/// RecepcionLotes as the broker runs it ([`crate::broker::Broker::call_write_reading`]): a batch
/// sent by an admitted client whose agreement grants its kind, read from a spooled file (REST)
/// or from the bytes of a SOAP body.
pub struct Recepcion {
    pub tipo: TipoLote,
    pub formato: Formato,
    /// The provider's own batch id, if it gave one.
    pub clave: Option<String>,
    pub transporte: &'static str,
    pub id_mensaje: Option<String>,
    /// Which fichas a birth marks for review ([`super::Revision::de`] of the node's models).
    pub revision: super::Revision,
}

/// A batch read and staged, with what its transaction needs.
pub struct Recibido {
    envio: Envio,
    preparado: Preparado,
}

impl Recepcion {
    fn envio(&self, admission: &Admission) -> Envio {
        Envio::de(
            &admission.convenio,
            self.tipo,
            self.formato,
            self.clave.clone(),
            self.transporte,
            self.id_mensaje.clone(),
            self.revision.clone(),
        )
    }

    fn preparar_de(
        &mut self,
        admission: &Admission,
        conn: &mut DbConnection,
        archivo: &Path,
    ) -> Result<Recibido, ApiError> {
        super::comprobar_tipo(&admission.convenio, self.tipo)?;
        let envio = self.envio(admission);
        let preparado = preparar(conn, &envio, archivo, &mut SinProgreso, admission)?;
        Ok(Recibido { envio, preparado })
    }
}

/// A batch's bytes as they reach the node: a file spooled by REST, the decoded content of a
/// SOAP body. The batch is read from a file whatever its transport.
pub trait Contenido: Send + 'static {
    fn archivo(self) -> Result<tempfile::NamedTempFile, ApiError>;
}

impl Contenido for tempfile::NamedTempFile {
    fn archivo(self) -> Result<tempfile::NamedTempFile, ApiError> {
        Ok(self)
    }
}

/// Written to a file (0600, removed when dropped) once the request is admitted.
impl Contenido for Vec<u8> {
    fn archivo(self) -> Result<tempfile::NamedTempFile, ApiError> {
        let mut file = tempfile::NamedTempFile::new().map_err(|error| {
            tracing::error!(error = %error, "cannot create a temporary file for a batch");
            ApiError::unavailable()
        })?;
        file.write_all(&self)
            .and_then(|()| file.flush())
            .map_err(|error| {
                tracing::error!(error = %error, "cannot write a batch to its temporary file");
                ApiError::unavailable()
            })?;
        Ok(file)
    }
}

impl<I: Contenido> Escritura<I> for Recepcion {
    type Preparado = Recibido;
    type Respuesta = Informe;

    fn preparar(
        &mut self,
        admission: &Admission,
        conn: &mut DbConnection,
        contenido: I,
    ) -> Result<Recibido, ApiError> {
        let archivo = contenido.archivo()?;
        self.preparar_de(admission, conn, archivo.path())
    }

    fn aplicar(
        &mut self,
        _: &Admission,
        conn: &mut DbConnection,
        recibido: Recibido,
    ) -> Result<Informe, ApiError> {
        Ok(aplicar(
            conn,
            &recibido.envio,
            recibido.preparado,
            &mut SinProgreso,
        )?)
    }

    fn terminar(&mut self, conn: &mut DbConnection) {
        terminar(conn, self.tipo);
    }
}
