//! One agreement file: its TOML shape and the checks that turn it into an [`Convenio`].
//!
//! A TOML syntax or type error stops at the first one (that is how the parser works); once the
//! file parses, every semantic problem is reported, each at the line of the offending value.

use std::collections::{BTreeMap, BTreeSet};
use std::num::NonZeroU32;
use std::path::Path;

use chrono::NaiveDate;
use serde::Deserialize;
use toml::Spanned;
use toml::value::Datetime;

mod suscripcion;

use super::issues::{ConvenioIssue, line_at};
use super::{ClientMatch, Convenio, FieldSet, Grant, RateLimit, pin};
use crate::catalog::{ExigeAmbito, Operation, TipoLote};
use crate::domain::{Ambito, ConvenioId, Nivel};
use crate::reglas::{POSTULABLES, PROGRAMAS};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConvenio {
    id: Spanned<String>,
    agency: Spanned<String>,
    legal_basis: Spanned<String>,
    purpose: Spanned<String>,
    valid_from: Spanned<Datetime>,
    valid_until: Spanned<Datetime>,
    /// A comuna code, or a table naming one territory: `{ provincia = "104" }`, `{ region = "10" }`.
    ambito: Option<Spanned<toml::Value>>,
    /// The agreement under which persons, signed in to the console, read about themselves.
    personas: Option<Spanned<bool>>,
    limits: RawLimits,
    clients: Option<Spanned<Vec<Spanned<RawClient>>>>,
    // Not `Spanned`: a spanned table loses the spans of its keys.
    operations: Option<BTreeMap<Spanned<String>, RawGrant>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLimits {
    per_second: Spanned<u32>,
    burst: Spanned<u32>,
    daily_quota: Spanned<u64>,
    /// `[limits.lotes]`: a provider's budget for the records of its batches.
    lotes: Option<Spanned<RawBudget>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBudget {
    per_second: Spanned<u32>,
    burst: Spanned<u32>,
    daily_quota: Spanned<u64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawClient {
    subject_cn: Option<Spanned<String>>,
    spki_sha256: Option<Spanned<String>>,
    ca_spki_sha256: Option<Spanned<String>>,
}

type Lista = Spanned<Vec<Spanned<String>>>;

/// One `[operations.NAME]` table. The core's keys are fixed; any other key is a list a module
/// operation's contract may declare (`sectores = [...]`), checked once the operation is known.
#[derive(Default)]
struct RawGrant {
    fields: Option<Lista>,
    programas: Option<Lista>,
    tipos: Option<Lista>,
    eventos: Option<Lista>,
    entrega: Option<Lista>,
    callbacks: Option<Lista>,
    max_runs: Option<Spanned<u32>>,
    listas: Vec<(Spanned<String>, Lista)>,
}

/// By hand rather than derived: `#[serde(flatten)]` would buffer the table and lose every
/// value's span (and so the line of each issue).
impl<'de> Deserialize<'de> for RawGrant {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = RawGrant;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a table of fields and lists")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<RawGrant, A::Error> {
                use serde::de::Error;
                let mut grant = RawGrant::default();
                while let Some(key) = map.next_key::<Spanned<String>>()? {
                    let slot = match key.get_ref().as_str() {
                        "fields" => &mut grant.fields,
                        "programas" => &mut grant.programas,
                        "tipos" => &mut grant.tipos,
                        "eventos" => &mut grant.eventos,
                        "entrega" => &mut grant.entrega,
                        "callbacks" => &mut grant.callbacks,
                        "max_runs" => {
                            grant.max_runs = Some(map.next_value()?);
                            continue;
                        }
                        _ => {
                            grant.listas.push((key, map.next_value()?));
                            continue;
                        }
                    };
                    if slot.is_some() {
                        return Err(A::Error::duplicate_field("a key of the grant"));
                    }
                    *slot = Some(map.next_value()?);
                }
                Ok(grant)
            }
        }
        deserializer.deserialize_map(Visitor)
    }
}

/// What checking one file found: the agreement when it has no issue, and the client criteria it
/// could read (with their lines) so that the set can look for overlaps even in a broken file.
pub(crate) struct Checked {
    pub convenio: Option<Convenio>,
    pub clients: Vec<ClientSeen>,
    pub issues: Vec<ConvenioIssue>,
    /// What loads but deserves a reviewer's look (a client named by its subject CN alone).
    pub warnings: Vec<ConvenioIssue>,
}

/// A client criterion as written, with the line it is on.
pub(crate) struct ClientSeen {
    pub subject_cn: Option<(String, usize)>,
    pub spki_sha256: Option<([u8; 32], usize)>,
}

pub(crate) fn check(file: &Path, text: &str) -> Checked {
    let mut c = Checker {
        file,
        text,
        issues: Vec::new(),
        warnings: Vec::new(),
    };
    let raw: RawConvenio = match toml::from_str(text) {
        Ok(raw) => raw,
        Err(e) => {
            let line = e.span().map(|span| line_at(text, span.start));
            c.issues
                .push(ConvenioIssue::new(file, line, e.message().trim_end()));
            return Checked {
                convenio: None,
                clients: Vec::new(),
                issues: c.issues,
                warnings: Vec::new(),
            };
        }
    };

    let id = c.id(&raw.id);
    let agency = c.text("agency", raw.agency);
    let legal_basis = c.text("legal_basis", raw.legal_basis);
    let purpose = c.text("purpose", raw.purpose);
    let valid_from = c.date("valid_from", &raw.valid_from);
    let valid_until = c.date("valid_until", &raw.valid_until);
    if let (Some(from), Some(until)) = (valid_from, valid_until)
        && until < from
    {
        c.issue(
            &raw.valid_until,
            format!("valid_until {until} is before valid_from {from}"),
        );
    }
    let scope = raw.ambito.as_ref().map(|s| c.ambito(s));
    let rate = c.rate("limits", &raw.limits.per_second, &raw.limits.burst);
    let daily_quota = c.positive("limits.daily_quota", &raw.limits.daily_quota);
    let lotes = raw.limits.lotes.as_ref().map(|b| {
        let budget = b.get_ref();
        let rate = c.rate("limits.lotes", &budget.per_second, &budget.burst);
        let quota = c.positive("limits.lotes.daily_quota", &budget.daily_quota);
        Some(crate::convenios::Budget {
            rate: rate?,
            daily_quota: quota?,
        })
    });
    let personas = raw.personas.as_ref().is_some_and(|p| *p.get_ref());
    let (clients, seen) = match (personas, &raw.clients) {
        (false, clients) => c.clients(clients.as_ref()),
        (true, None) => (Vec::new(), Vec::new()),
        (true, Some(clients)) => {
            c.issue(
                clients,
                "an agreement for persons (personas = true) is used by persons signed in to the console about themselves: no client certificate acts under it",
            );
            (Vec::new(), Vec::new())
        }
    };
    let grants = c.grants(raw.operations.as_ref());
    if personas {
        if let Some(scope) = &raw.ambito {
            c.issue(
                scope,
                "an agreement for persons has no ambito: each person reads about themself",
            );
        }
        for (name, _) in raw.operations.iter().flatten() {
            if let Some(op) = Operation::parse(name.get_ref())
                && !crate::catalog::Rol::Persona.permite(op)
            {
                c.issue(
                    name,
                    format!("an agreement for persons cannot grant {op}: a person may only read their ficha, who consulted it, and their certificates"),
                );
            }
        }
    }
    if let Some(max) = raw
        .operations
        .iter()
        .flatten()
        .find(|(name, _)| name.get_ref() == Operation::Suscripciones.name())
        .and_then(|(_, g)| g.max_runs.as_ref())
        && *max.get_ref() > *raw.limits.burst.get_ref()
    {
        // A warning, not a refusal: an operator who lowers the burst for a while should not
        // lose the whole agreement over it.
        c.warnings.push(ConvenioIssue::new(
            file,
            Some(line_at(text, max.span().start)),
            format!(
                "warning: max_runs {} is above limits.burst {}: subscribing is charged one unit per RUN, so a list that long is refused (LOTE_SUPERA_RAFAGA)",
                max.get_ref(),
                raw.limits.burst.get_ref()
            ),
        ));
    }
    if let Some(budget) = &raw.limits.lotes
        && !grants.contains_key(&Operation::RecepcionLotes)
    {
        c.issue(
            budget,
            "[limits.lotes] is the budget of the batches an agreement sends: it needs RecepcionLotes granted",
        );
    }
    if !personas {
        for (name, _) in raw.operations.iter().flatten() {
            let Some(op) = Operation::parse(name.get_ref()) else {
                continue;
            };
            match (op.exige_ambito(), &raw.ambito) {
                (ExigeAmbito::Nacional, Some(scope)) => c.issue(
                    scope,
                    format!("an agreement with an ambito cannot be granted {op}: what it shows is national"),
                ),
                (ExigeAmbito::Comuna, None) => c.issue(
                    name,
                    format!("{op} is the work of a municipality: the agreement needs the ambito (its comuna)"),
                ),
                (ExigeAmbito::Comuna, Some(at))
                    if matches!(scope, Some(Some(a)) if a.comuna().is_none()) =>
                {
                    c.issue(
                        at,
                        format!("{op} is the work of a municipality: the ambito must be one comuna, not a province or a region"),
                    );
                }
                (ExigeAmbito::Alguno, None) => c.issue(
                    name,
                    format!("{op} works the records of a territory: the agreement needs an ambito (a comuna, a province or a region)"),
                ),
                _ => {}
            }
        }
    }

    let convenio = c.issues.is_empty().then_some(()).and_then(|()| {
        Some(Convenio {
            id: id?,
            agency,
            legal_basis,
            purpose,
            valid_from: valid_from?,
            valid_until: valid_until?,
            clients,
            grants,
            rate: rate?,
            daily_quota: daily_quota?,
            lotes: match lotes {
                None => None,
                Some(budget) => Some(budget?),
            },
            ambito: match scope {
                None => None,
                Some(ambito) => Some(ambito?),
            },
            personas,
            file: file.to_owned(),
        })
    });
    Checked {
        convenio,
        clients: seen,
        issues: c.issues,
        warnings: c.warnings,
    }
}

struct Checker<'a> {
    file: &'a Path,
    text: &'a str,
    issues: Vec<ConvenioIssue>,
    warnings: Vec<ConvenioIssue>,
}

impl Checker<'_> {
    fn issue<T>(&mut self, at: &Spanned<T>, message: impl Into<String>) {
        let line = line_at(self.text, at.span().start);
        self.issues
            .push(ConvenioIssue::new(self.file, Some(line), message));
    }

    fn id(&mut self, id: &Spanned<String>) -> Option<ConvenioId> {
        let stem = self.file.file_stem().and_then(|s| s.to_str()).unwrap_or("");
        if let Err(e) = ConvenioId::parse(stem) {
            self.issues.push(ConvenioIssue::new(
                self.file,
                None,
                format!("the file name {stem:?} is not an agreement id ({e}); rename the file"),
            ));
            return None;
        }
        match ConvenioId::parse(id.get_ref()) {
            Err(e) => {
                self.issue(
                    id,
                    format!("id {:?} is not an agreement id ({e})", id.get_ref()),
                );
                None
            }
            Ok(parsed) if parsed.as_str() != stem => {
                self.issue(
                    id,
                    format!(
                        "id {:?} does not match the file name: this file must say id = {stem:?}",
                        id.get_ref()
                    ),
                );
                None
            }
            Ok(parsed) => Some(parsed),
        }
    }

    fn text(&mut self, key: &str, value: Spanned<String>) -> String {
        if value.get_ref().trim().is_empty() {
            self.issue(&value, format!("{key} is empty"));
        }
        value.into_inner()
    }

    fn date(&mut self, key: &str, value: &Spanned<Datetime>) -> Option<NaiveDate> {
        let date = match value.get_ref() {
            Datetime {
                date: Some(d),
                time: None,
                offset: None,
            } => NaiveDate::from_ymd_opt(d.year.into(), d.month.into(), d.day.into()),
            _ => None,
        };
        if date.is_none() {
            self.issue(
                value,
                format!("{key} must be a date such as 2026-01-01, without a time"),
            );
        }
        date
    }

    fn ambito(&mut self, scope: &Spanned<toml::Value>) -> Option<Ambito> {
        let forma = "ambito is a comuna code (ambito = \"13101\") or one territory: ambito = { comuna = \"13101\" }, { provincia = \"104\" } or { region = \"10\" }";
        let (nivel, codigo) = match scope.get_ref() {
            toml::Value::String(codigo) => (Nivel::Comuna, codigo.as_str()),
            toml::Value::Table(t) if t.len() == 1 => {
                let (clave, valor) = t.iter().next()?;
                match (Nivel::parse(clave), valor.as_str()) {
                    (Some(nivel), Some(codigo)) => (nivel, codigo),
                    _ => {
                        self.issue(scope, forma);
                        return None;
                    }
                }
            }
            _ => {
                self.issue(scope, forma);
                return None;
            }
        };
        Ambito::parse(nivel, codigo)
            .map_err(|e| {
                self.issue(
                    scope,
                    format!("ambito {codigo:?} is not a {} code ({e})", nivel.as_str()),
                );
            })
            .ok()
    }

    fn positive<T: Copy + Default + PartialEq>(
        &mut self,
        key: &str,
        value: &Spanned<T>,
    ) -> Option<T> {
        if *value.get_ref() == T::default() {
            self.issue(value, format!("{key} must be at least 1"));
            return None;
        }
        Some(*value.get_ref())
    }

    fn rate(
        &mut self,
        table: &str,
        per_second: &Spanned<u32>,
        burst: &Spanned<u32>,
    ) -> Option<RateLimit> {
        let per_second = self.positive(&format!("{table}.per_second"), per_second);
        let burst = self.positive(&format!("{table}.burst"), burst);
        Some(RateLimit {
            per_second: NonZeroU32::new(per_second?)?,
            burst: NonZeroU32::new(burst?)?,
        })
    }

    fn clients(
        &mut self,
        raw: Option<&Spanned<Vec<Spanned<RawClient>>>>,
    ) -> (Vec<ClientMatch>, Vec<ClientSeen>) {
        let (mut clients, mut seen) = (Vec::new(), Vec::new());
        let none = "names no client: add a [[clients]] entry with subject_cn and/or spki_sha256 (and ca_spki_sha256)";
        match raw {
            None => self.issues.push(ConvenioIssue::new(self.file, None, none)),
            Some(list) if list.get_ref().is_empty() => self.issue(list, none),
            Some(_) => {}
        }
        for entry in raw.map(|l| l.get_ref().as_slice()).unwrap_or_default() {
            let RawClient {
                subject_cn,
                spki_sha256,
                ca_spki_sha256,
            } = entry.get_ref();
            if subject_cn.is_none() && spki_sha256.is_none() {
                self.issue(
                    entry,
                    match ca_spki_sha256 {
                        None => "this [[clients]] entry gives neither subject_cn nor spki_sha256",
                        Some(_) => {
                            "this [[clients]] entry gives ca_spki_sha256 alone, which would admit every certificate that CA issues: add subject_cn and/or spki_sha256"
                        }
                    },
                );
                continue;
            }
            let cn = subject_cn.as_ref().and_then(|cn| {
                if cn.get_ref().trim().is_empty() {
                    self.issue(cn, "subject_cn is empty");
                    return None;
                }
                Some((cn.get_ref().clone(), line_at(self.text, cn.span().start)))
            });
            let pin = spki_sha256
                .as_ref()
                .and_then(|p| self.pin("spki_sha256", p));
            let ca = ca_spki_sha256
                .as_ref()
                .and_then(|p| self.pin("ca_spki_sha256", p));
            let client = ClientMatch {
                subject_cn: cn.as_ref().map(|(cn, _)| cn.clone()),
                spki_sha256: pin.map(|(pin, _)| pin),
                ca_spki_sha256: ca.map(|(pin, _)| pin),
            };
            if let Some(name) = subject_cn.as_ref().filter(|_| client.by_name_alone()) {
                self.warnings.push(ConvenioIssue::new(
                    self.file,
                    Some(line_at(self.text, name.span().start)),
                    format!(
                        "warning: subject_cn {:?} alone names this client: a certificate with that name from any CA of ca.pem acts under this agreement; add ca_spki_sha256 and/or spki_sha256 (`siis pki dev` writes them in pins.toml)",
                        name.get_ref()
                    ),
                ));
            }
            clients.push(client);
            seen.push(ClientSeen {
                subject_cn: cn,
                spki_sha256: pin,
            });
        }
        (clients, seen)
    }

    /// A SHA-256 pin (`key` names it in the message), with its line.
    fn pin(&mut self, key: &str, value: &Spanned<String>) -> Option<([u8; 32], usize)> {
        let Some(parsed) = pin::parse(value.get_ref()) else {
            self.issue(
                value,
                format!(
                    "{key} {:?} is not a SHA-256 pin (64 hex characters, or base64 of 32 bytes)",
                    value.get_ref()
                ),
            );
            return None;
        };
        Some((parsed, line_at(self.text, value.span().start)))
    }

    fn grants(
        &mut self,
        raw: Option<&BTreeMap<Spanned<String>, RawGrant>>,
    ) -> BTreeMap<Operation, Grant> {
        let mut grants = BTreeMap::new();
        let none = format!(
            "grants no operation: add an [operations.NAME] table, NAME one of {}",
            operation_names()
        );
        if raw.is_none_or(BTreeMap::is_empty) {
            self.issues.push(ConvenioIssue::new(self.file, None, none));
        }
        for (name, grant) in raw.into_iter().flatten() {
            let Some(op) = Operation::parse(name.get_ref()) else {
                self.issue(
                    name,
                    format!(
                        "unknown operation {:?}; the operations are {}",
                        name.get_ref(),
                        operation_names()
                    ),
                );
                continue;
            };
            let Some(raw_fields) = &grant.fields else {
                self.issue(
                    name,
                    format!("{op} lists no fields: add fields = [...], the fields it may disclose"),
                );
                continue;
            };
            let fields = self.fields(op, raw_fields);
            if matches!(
                op,
                Operation::ConsultarElegibilidad
                    | Operation::PostularBeneficio
                    | Operation::EmitirDecreto
                    | Operation::ConsultarDecreto
            ) && grant.programas.is_none()
            {
                self.issue(
                    name,
                    format!(
                        "{op} must list its programas (nothing is granted by default): one or more of {}",
                        if op != Operation::ConsultarElegibilidad {
                            POSTULABLES.join(", ")
                        } else {
                            PROGRAMAS.join(", ")
                        }
                    ),
                );
            }
            let (programas, listas) = match op.modulo() {
                // A module's lists are its contract's; `programas` may be one of them.
                Some(def) => (None, self.listas(op, def, name, grant)),
                None => {
                    for (clave, _) in &grant.listas {
                        self.issue(
                            clave,
                            format!("unknown field `{}` in the grant of {op}", clave.get_ref()),
                        );
                    }
                    let programas = grant.programas.as_ref().and_then(|p| self.programas(op, p));
                    (programas, BTreeMap::new())
                }
            };
            let tipos = self.tipos(op, name, grant.tipos.as_ref());
            let suscripcion = self.suscripcion(op, name, grant);
            grants.insert(
                op,
                Grant {
                    fields,
                    programas,
                    tipos,
                    eventos: suscripcion.eventos,
                    entrega: suscripcion.entrega,
                    callbacks: suscripcion.callbacks,
                    max_runs: suscripcion.max_runs,
                    listas,
                },
            );
        }
        grants
    }

    fn fields(&mut self, op: Operation, raw: &Spanned<Vec<Spanned<String>>>) -> FieldSet {
        if raw.get_ref().is_empty() {
            self.issue(
                raw,
                format!("the fields of {op} are empty: list the fields it may disclose"),
            );
        }
        let mut fields = Vec::new();
        for name in raw.get_ref() {
            match op.fields().iter().find(|f| **f == name.get_ref()) {
                None => self.issue(
                    name,
                    format!(
                        "{:?} is not a field of {op}; its fields are {}",
                        name.get_ref(),
                        op.fields().join(", ")
                    ),
                ),
                Some(f) if fields.contains(f) => {
                    self.issue(name, format!("field {f:?} is listed twice"));
                }
                Some(f) => fields.push(*f),
            }
        }
        FieldSet::new(fields)
    }

    fn programas(
        &mut self,
        op: Operation,
        raw: &Spanned<Vec<Spanned<String>>>,
    ) -> Option<BTreeSet<String>> {
        let validos: &[&str] = match op {
            Operation::ConsultarElegibilidad => &PROGRAMAS,
            Operation::PostularBeneficio
            | Operation::EmitirDecreto
            | Operation::ConsultarDecreto => &POSTULABLES,
            _ => {
                self.issue(
                    raw,
                    format!(
                        "programas applies only to {}, {}, {} and {}, not to {op}",
                        Operation::ConsultarElegibilidad,
                        Operation::PostularBeneficio,
                        Operation::EmitirDecreto,
                        Operation::ConsultarDecreto
                    ),
                );
                return None;
            }
        };
        if raw.get_ref().is_empty() {
            self.issue(
                raw,
                "programas is empty: list the programs the agreement grants",
            );
        }
        let mut programas = BTreeSet::new();
        for name in raw.get_ref() {
            let name_str = name.get_ref().as_str();
            if !validos.contains(&name_str) {
                self.issue(
                    name,
                    format!(
                        "unknown program {name_str:?}; the programs are {}",
                        validos.join(", ")
                    ),
                );
            } else if !programas.insert(name_str.to_owned()) {
                self.issue(name, format!("program {name_str:?} is listed twice"));
            }
        }
        Some(programas)
    }
}

impl Checker<'_> {
    /// A module operation's lists: the keys its contract declares, each value one the contract
    /// allows, none twice, and every required list given.
    fn listas(
        &mut self,
        op: Operation,
        def: &'static crate::catalog::DefOperacion,
        name: &Spanned<String>,
        grant: &RawGrant,
    ) -> BTreeMap<&'static str, BTreeSet<String>> {
        let claves = || {
            let c: Vec<&str> = def.listas.iter().map(|l| l.clave).collect();
            if c.is_empty() {
                "none".to_owned()
            } else {
                c.join(", ")
            }
        };
        let dadas = grant
            .programas
            .as_ref()
            .map(|p| (None, p))
            .into_iter()
            .chain(grant.listas.iter().map(|(k, v)| (Some(k), v)));
        let mut listas = BTreeMap::new();
        for (clave, valores) in dadas {
            let texto = clave.map_or("programas", |k| k.get_ref().as_str());
            let Some(lista) = def.listas.iter().find(|l| l.clave == texto) else {
                let message = format!("{op} has no list {texto:?}; its lists are {}", claves());
                match clave {
                    Some(k) => self.issue(k, message),
                    None => self.issue(valores, message),
                }
                continue;
            };
            if valores.get_ref().is_empty() {
                self.issue(
                    valores,
                    format!(
                        "{texto} is empty: one or more of {}",
                        lista.valores.join(", ")
                    ),
                );
            }
            let mut set = BTreeSet::new();
            for v in valores.get_ref() {
                let v_str = v.get_ref().as_str();
                if !lista.valores.contains(&v_str) {
                    self.issue(
                        v,
                        format!(
                            "unknown value {v_str:?} of {texto}; the values are {}",
                            lista.valores.join(", ")
                        ),
                    );
                } else if !set.insert(v_str.to_owned()) {
                    self.issue(v, format!("{v_str:?} is listed twice in {texto}"));
                }
            }
            listas.insert(lista.clave, set);
        }
        for lista in def.listas.iter().filter(|l| l.requerida) {
            if !listas.contains_key(lista.clave) {
                self.issue(
                    name,
                    format!(
                        "{op} must list its {} (nothing is granted by default): one or more of {}",
                        lista.clave,
                        lista.valores.join(", ")
                    ),
                );
            }
        }
        listas
    }

    /// `RecepcionLotes` must list the feed kinds (`tipos`) it may send; no other operation may.
    fn tipos(
        &mut self,
        op: Operation,
        name: &Spanned<String>,
        raw: Option<&Spanned<Vec<Spanned<String>>>>,
    ) -> Option<BTreeSet<TipoLote>> {
        let all = || TipoLote::ALL.map(TipoLote::as_str).join(", ");
        let raw = match (op, raw) {
            (Operation::RecepcionLotes, None) => {
                self.issue(
                    name,
                    format!(
                        "{op} must list its tipos (nothing is granted by default): one or more of {}",
                        all()
                    ),
                );
                return None;
            }
            (_, None) => return None,
            (Operation::RecepcionLotes, Some(raw)) => raw,
            (_, Some(raw)) => {
                self.issue(
                    raw,
                    format!(
                        "tipos applies only to {}, not to {op}",
                        Operation::RecepcionLotes
                    ),
                );
                return None;
            }
        };
        if raw.get_ref().is_empty() {
            self.issue(
                raw,
                "tipos is empty: list the feed kinds the provider may send",
            );
        }
        let mut tipos = BTreeSet::new();
        for t in raw.get_ref() {
            match TipoLote::parse(t.get_ref()) {
                None => self.issue(
                    t,
                    format!("unknown tipo {:?}; the tipos are {}", t.get_ref(), all()),
                ),
                Some(tipo) if !tipos.insert(tipo) => {
                    self.issue(t, format!("tipo {:?} is listed twice", t.get_ref()));
                }
                Some(_) => {}
            }
        }
        Some(tipos)
    }
}

fn operation_names() -> String {
    Operation::todas()
        .map(Operation::name)
        .collect::<Vec<_>>()
        .join(", ")
}
