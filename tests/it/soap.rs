//! The SOAP transport (D.S. 81) against its contract (schemas/README.md, wsdl/README.md), on a
//! real node with mutual TLS. One file per concern: `schemas` (every answer validates against
//! its XSD with xmllint), `faults` (SOAP 1.1 / 1.2 and the fault table), `xroad` (X-Road
//! headers, values read whole), `meta` (metaservices, WSDLs, schemas), `parity` (REST and SOAP
//! disclose the same), `hostile` (hostile and broken XML), `audit` (every request audited as
//! `soap`) and `zeep` (a third-party client reading the WSDL, `tests/soap_zeep.py`). `client`
//! and `xml` are their helpers; this file holds what several of them share.

mod audit;
mod certificados;
pub(crate) mod client;
mod encuestaje;
mod estadisticas;
mod faults;
mod hostile;
mod lotes;
mod meta;
mod parity;
mod schemas;
pub(crate) mod xml;
mod xroad;
mod zeep;

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use siis::db::DbConnection;
use siis::db::schema::auditoria;
use siis::domain::Run;

use self::client::{Answer, V, run_xml};
use crate::registry;
use crate::support::TestNode;

pub(crate) use crate::support::convenios_with;

/// A test agreement: validity, rate (per second, burst) and the `[operations…]` tables.
pub(crate) fn convenio_text(
    id: &str,
    valid: (&str, &str),
    rate: (u32, u32),
    operations: &str,
) -> String {
    format!(
        "id = \"{id}\"\nagency = \"Agencia de prueba {id}\"\nlegal_basis = \"Ley 19.628\"\n\
         purpose = \"Pruebas SOAP\"\nvalid_from = {}\nvalid_until = {}\n\
         [limits]\nper_second = {}\nburst = {}\ndaily_quota = 10000\n\
         [[clients]]\nsubject_cn = \"{id}\"\n{operations}",
        valid.0, valid.1, rate.0, rate.1
    )
}

/// One audit record as the tests read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AuditRow {
    pub id: i64,
    pub convenio: Option<String>,
    pub operacion: String,
    pub transporte: String,
    pub id_mensaje: String,
    pub sujetos: String,
    pub campos: String,
    pub resultado: String,
    pub estado_http: i32,
}

/// The audit records after `after` (an id), oldest first.
pub(crate) fn audit_after(node: &TestNode, after: i64) -> Vec<AuditRow> {
    type Row = (
        i64,
        Option<String>,
        String,
        String,
        String,
        String,
        String,
        String,
        i32,
    );
    let rows: Vec<Row> = auditoria::table
        .filter(auditoria::id.gt(after))
        .order(auditoria::id.asc())
        .select((
            auditoria::id,
            auditoria::convenio,
            auditoria::operacion,
            auditoria::transporte,
            auditoria::id_mensaje,
            auditoria::sujetos,
            auditoria::campos,
            auditoria::resultado,
            auditoria::estado_http,
        ))
        .load(&mut node.db())
        .expect("audit records");
    rows.into_iter()
        .map(|r| AuditRow {
            id: r.0,
            convenio: r.1,
            operacion: r.2,
            transporte: r.3,
            id_mensaje: r.4,
            sujetos: r.5,
            campos: r.6,
            resultado: r.7,
            estado_http: r.8,
        })
        .collect()
}

pub(crate) fn last_audit_id(node: &TestNode) -> i64 {
    auditoria::table
        .select(diesel::dsl::max(auditoria::id))
        .first::<Option<i64>>(&mut node.db())
        .expect("max id")
        .unwrap_or(0)
}

/// Makes every audit insert fail, as a full disk or a lost database would.
pub(crate) fn break_audit(conn: &mut DbConnection) {
    let sql = match conn {
        DbConnection::Sqlite(_) => {
            "CREATE TRIGGER audit.auditoria_rota BEFORE INSERT ON auditoria BEGIN SELECT RAISE(ABORT, 'audit unavailable'); END;"
        }
        DbConnection::Pg(_) => {
            "CREATE FUNCTION auditoria_rota() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'audit unavailable'; END $$ LANGUAGE plpgsql; \
             CREATE TRIGGER auditoria_rota BEFORE INSERT ON auditoria FOR EACH ROW EXECUTE FUNCTION auditoria_rota();"
        }
    };
    conn.batch_execute(sql).unwrap();
}

/// The HTTP status a Fault travels with: 500 in SOAP 1.1 (WS-I Basic Profile R1126); in SOAP
/// 1.2, 400 for a Sender fault and 500 for a Receiver one. Never REST's 403, 409, 413 or 429,
/// which JAX-WS and WCF clients take for a transport error, losing the Fault's detail.
pub(crate) fn fault_status(v: V, client: bool) -> u16 {
    match (v, client) {
        (V::V12, true) => 400,
        _ => 500,
    }
}

/// Asserts a Fault: HTTP status ([`fault_status`]), fault code for the version (`client` true
/// for Client/Sender), estadoSobre and stable code; returns it.
pub(crate) fn assert_fault(
    answer: &Answer,
    v: V,
    client: bool,
    estado: &str,
    codigo: &str,
) -> client::Fault {
    let status = fault_status(v, client);
    let fault = answer.fault(v);
    let code = match (v, client) {
        (V::V11, true) => "Client",
        (V::V11, false) => "Server",
        (V::V12, true) => "Sender",
        (V::V12, false) => "Receiver",
    };
    assert_eq!(
        (
            answer.status,
            fault.code.as_str(),
            fault.code_ns.as_str(),
            fault.estado.as_str(),
            fault.codigo.as_str()
        ),
        (status, code, v.namespace(), estado, codigo),
        "{}",
        answer.shown()
    );
    assert!(!fault.glosa.is_empty(), "a glosa: {}", answer.shown());
    fault
}

pub(crate) fn unknown_xml(prefix: &str) -> String {
    run_xml(prefix, registry::unknown())
}

/// The RUN `numero-dv` with a wrong check digit.
pub(crate) fn bad_dv_xml(prefix: &str, run: Run) -> String {
    let wrong = if run.dv() == '0' { '1' } else { '0' };
    format!(
        "<{prefix}:run><t:numero>{}</t:numero><t:dv>{wrong}</t:dv></{prefix}:run>",
        run.numero()
    )
}
