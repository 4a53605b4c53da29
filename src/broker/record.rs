//! The audit record of one request, as the broker writes it: drafted from the call when it
//! arrives, completed with what the answer disclosed (or why it was refused).

use std::collections::BTreeSet;
use std::time::Instant;

use chrono::Utc;

use super::{BrokerMetrics, Call, Transport};
use crate::audit::AuditRecord;
use crate::convenios::Convenio;
use crate::domain::Run;
use crate::error::ApiError;
#[cfg(doc)]
use crate::projection::Project;

/// What an answer disclosed, for its audit record.
#[derive(Default)]
pub(super) struct Disclosed {
    pub fields: BTreeSet<&'static str>,
    /// The persons whose data the answer carries, when narrower than those asked about.
    pub subjects: Option<Vec<Run>>,
    /// The outcome to record when it is not `OK` although the answer is (a comparison that
    /// did not match: `NO_COINCIDE`).
    pub outcome: Option<&'static str>,
    /// The record is already durable: it was written inside the write's transaction.
    pub audited: bool,
    /// The persons asked about that the answer disclosed nothing about, with their outcome.
    pub undisclosed: Vec<(Run, &'static str)>,
    /// The HTTP status the answer is sent with, when not 200 ([`Project::http_status`]).
    pub status: Option<u16>,
}

/// Everything of a request's audit record that is known before it is answered.
#[derive(Clone)]
pub(super) struct RecordDraft {
    certificate: Option<String>,
    operation: &'static str,
    transport: Transport,
    message_id: String,
    subjects: Vec<Run>,
    xroad: Option<String>,
    started: Instant,
    public_purpose: Option<&'static str>,
    usuario: Option<Run>,
}

impl RecordDraft {
    pub fn new(call: &Call, message_id: &str, started: Instant) -> RecordDraft {
        RecordDraft {
            certificate: call.identity.as_ref().map(|i| i.fingerprint_hex()),
            operation: call.service.name(),
            transport: call.transport,
            message_id: message_id.to_owned(),
            subjects: call.subjects.clone(),
            xroad: xroad_json(&call.xroad),
            started,
            public_purpose: call.service.public_purpose(),
            usuario: call.usuario.as_ref().map(|u| u.run),
        }
    }

    /// Counts a request in the broker's metrics: its outcome `code` and the persons it took.
    pub fn count(&self, metrics: &BrokerMetrics, convenio: Option<&str>, code: &str, charged: u64) {
        metrics.answered(
            convenio,
            self.operation,
            self.transport.as_str(),
            code,
            charged,
            self.started.elapsed(),
        );
    }

    /// The outcome code an answer's record keeps: `OK`, what the answer says when it is not a
    /// plain one (`NO_COINCIDE`), or the error's code.
    pub fn outcome<'a, T>(result: &'a Result<T, ApiError>, disclosed: &Disclosed) -> &'a str {
        match result {
            Ok(_) => disclosed.outcome.unwrap_or("OK"),
            Err(e) => e.audit_outcome(),
        }
    }

    /// The record of an answer (`Ok`) or a refusal, under `convenio` if one was identified,
    /// that took `charged` units of that agreement's daily quota.
    pub fn record<T>(
        &self,
        convenio: Option<&Convenio>,
        result: &Result<T, ApiError>,
        disclosed: &Disclosed,
        charged: u64,
    ) -> AuditRecord {
        let outcome = Self::outcome(result, disclosed);
        let (status, fields) = match result {
            Ok(_) => (
                disclosed.status.unwrap_or(200),
                disclosed.fields.iter().map(|f| (*f).to_owned()).collect(),
            ),
            // The status the caller received: on SOAP an outcome (no data, bad parameter) is a
            // normal 200 answer with its estadoSobre, and a Fault travels with 500 or 400.
            Err(e) => (self.transport.status_of(e), Vec::new()),
        };
        let mut subjects = match (result, &disclosed.subjects) {
            (Ok(_), Some(subjects)) => subjects.clone(),
            _ => self.subjects.clone(),
        };
        // A refusal about a person the request did not name (PERSONA_NO_ENCUESTABLE names the
        // request's person) still shows in that person's access report.
        if let Err(e) = result
            && let Some(run) = e.audit_subject
            && !subjects.contains(&run)
        {
            subjects.push(run);
        }
        AuditRecord {
            ts: Utc::now(),
            convenio: convenio.map(|a| a.id.to_string()),
            certificate: self.certificate.clone(),
            operation: self.operation.to_owned(),
            transport: self.transport.as_str(),
            message_id: self.message_id.clone(),
            subjects,
            undisclosed: disclosed.undisclosed.clone(),
            purpose: convenio
                .map(|a| a.purpose.clone())
                .or_else(|| self.public_purpose.map(str::to_owned)),
            fields,
            outcome: outcome.to_owned(),
            http_status: status,
            latency_us: self.started.elapsed().as_micros() as u64,
            xroad: self.xroad.clone(),
            omitidos: None,
            personas: Some(charged),
            usuario: self.usuario,
        }
    }
}

/// The X-Road headers as a JSON object for the audit log: unambiguous, each name once, each
/// value at most 256 characters (the transports refuse longer ones; this is the last guard).
fn xroad_json(pairs: &[(String, String)]) -> Option<String> {
    if pairs.is_empty() {
        return None;
    }
    let mut object = serde_json::Map::new();
    for (name, value) in pairs.iter().take(8) {
        let value: String = value.chars().take(256).collect();
        object
            .entry(name.chars().take(32).collect::<String>())
            .or_insert(serde_json::Value::String(value));
    }
    Some(serde_json::Value::Object(object).to_string())
}
