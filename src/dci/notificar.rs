//! An event as a DCI `notify` (`POST {callback}` of a subscription with `formato = "dci"`):
//! the envelope the push worker sends, rendered from a [`Notificacion`] **already projected**
//! onto the agreement's grant. Every DCI field comes from one rule of [`MIEMBRO`], [`HOGAR`]
//! or [`EVENTO`], each naming the `Notificacion` field it renders: a field the grant withholds
//! is `None` after projection, so its DCI fields are absent too (`docs/dci.md` prints the
//! tables; a test holds them to the projection).

use chrono::SecondsFormat;
use serde_json::{Value, json};

use super::grupo::{Regla, poner};
use super::sobre::{REG_TYPE, VERSION};
use crate::ops::suscripciones::store::SuscripcionFila;
use crate::respuestas::Notificacion;

/// The record a DCI subscription asked for (`notify_record_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Registro {
    /// The person the event is about, with their household's facts as attributes.
    Member,
    /// The person's household, the person as its one listed member.
    Group,
}

impl Registro {
    /// From `notify_record_type` (`Member`, `Group`, or with a namespace prefix such as
    /// `spdci-extensions-dci:Member`).
    pub fn parse(text: &str) -> Option<Registro> {
        match text.rsplit(':').next()? {
            "Member" => Some(Registro::Member),
            "Group" => Some(Registro::Group),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Registro::Member => "Member",
            Registro::Group => "Group",
        }
    }
}

fn fecha(d: Option<chrono::NaiveDate>) -> Option<Value> {
    d.map(|d| json!(d))
}

fn texto(t: &Option<String>) -> Option<Value> {
    t.as_ref().map(|t| json!(t))
}

/// The person the event is about, as a DCI `Member`.
pub const MIEMBRO: &[Regla<Notificacion>] = &[
    Regla {
        destino: "member_identifier",
        fuente: "run",
        valor: |n| {
            let run = n.run.as_ref()?;
            Some(json!([{ "identifier_type": "RUN", "identifier_value": run }]))
        },
    },
    Regla {
        destino: "demographic_info.birth_date",
        fuente: "fechaNacimiento",
        valor: |n| fecha(n.fecha_nacimiento),
    },
    Regla {
        destino: "demographic_info.death_date",
        fuente: "fechaDefuncion",
        valor: |n| fecha(n.fecha_defuncion),
    },
    Regla {
        destino: "demographic_info.sex",
        fuente: "sexo",
        valor: |n| {
            n.sexo.as_deref().map(|s| match s {
                "F" => json!("female"),
                "M" => json!("male"),
                _ => json!("unknown"),
            })
        },
    },
    Regla {
        // A birth's mother, a benefit's payee.
        destino: "additional_attributes.run_relacionado",
        fuente: "runRelacionado",
        valor: |n| texto(&n.run_relacionado),
    },
];

/// The person's household (its ficha, its comuna), as a DCI `Group`'s own fields.
pub const HOGAR: &[Regla<Notificacion>] = &[
    Regla {
        destino: "group_identifier",
        fuente: "folio",
        valor: |n| {
            let folio = n.folio?;
            Some(json!([{ "identifier_type": "FOLIO_FPS", "identifier_value": folio.to_string() }]))
        },
    },
    Regla {
        destino: "poverty_score",
        fuente: "puntaje",
        valor: |n| n.puntaje.map(|p| json!(p)),
    },
    Regla {
        destino: "poverty_score_type",
        fuente: "puntaje",
        valor: |n| n.puntaje.map(|_| json!("FPS")),
    },
    Regla {
        destino: "registration_date",
        fuente: "fechaAplicacion",
        valor: |n| fecha(n.fecha_aplicacion),
    },
    Regla {
        destino: "additional_attributes.quintil",
        fuente: "quintil",
        valor: |n| n.quintil.map(|q| json!(q)),
    },
    Regla {
        destino: "additional_attributes.comuna_cut",
        fuente: "comuna",
        valor: |n| texto(&n.comuna),
    },
    Regla {
        destino: "additional_attributes.folio_anterior",
        fuente: "folioAnterior",
        valor: |n| n.folio_anterior.map(|f| json!(f)),
    },
    Regla {
        destino: "additional_attributes.comuna_anterior_cut",
        fuente: "comunaAnterior",
        valor: |n| texto(&n.comuna_anterior),
    },
];

/// The event itself, as `additional_attributes` of the record (Member or Group).
pub const EVENTO: &[Regla<Notificacion>] = &[
    Regla {
        destino: "additional_attributes.evento",
        fuente: "tipo",
        valor: |n| texto(&n.tipo),
    },
    Regla {
        destino: "additional_attributes.registrado",
        fuente: "registrado",
        valor: |n| {
            n.registrado
                .map(|t| json!(t.to_rfc3339_opts(SecondsFormat::Millis, true)))
        },
    },
    Regla {
        destino: "additional_attributes.suscripcion",
        fuente: "suscripcion",
        valor: |n| texto(&n.suscripcion),
    },
    Regla {
        destino: "additional_attributes.secuencia",
        fuente: "secuencia",
        valor: |n| n.secuencia.map(|s| json!(s)),
    },
    Regla {
        destino: "additional_attributes.id",
        fuente: "id",
        valor: |n| texto(&n.id),
    },
    Regla {
        destino: "additional_attributes.programa",
        fuente: "programa",
        valor: |n| texto(&n.programa),
    },
    Regla {
        destino: "additional_attributes.estado_beneficio",
        fuente: "estado",
        valor: |n| texto(&n.estado),
    },
    Regla {
        destino: "additional_attributes.fecha_inicio",
        fuente: "fechaInicio",
        valor: |n| fecha(n.fecha_inicio),
    },
    Regla {
        destino: "additional_attributes.fecha_termino",
        fuente: "fechaTermino",
        valor: |n| fecha(n.fecha_termino),
    },
    Regla {
        destino: "additional_attributes.decreto",
        fuente: "decreto",
        valor: |n| texto(&n.decreto),
    },
];

/// Where one notification goes, and as what.
pub struct Aviso<'a> {
    /// The idempotency key ([`crate::ops::suscripciones::clave`]): the header's `message_id`
    /// and the event's `reference_id`, the same for every delivery of the event.
    pub clave: &'a str,
    /// The subscription's id (its DCI `code`): the message's `transaction_id`.
    pub suscripcion: &'a str,
    /// The node (`dci.receiver_id`), and the agreement notified.
    pub sender_id: &'a str,
    pub receiver_id: &'a str,
    pub registro: Registro,
    /// When the body is rendered (`message_ts`, and the event's `timestamp` when its
    /// `registrado` is withheld).
    pub ahora: &'a str,
}

/// The `notify` envelope of one event: `MsgCallbackHeader` (action `notify`), a
/// `NotifyEventRequest` with one `notify_event` whose `reg_records` is one record.
pub fn cuerpo(n: &Notificacion, aviso: &Aviso) -> Value {
    let record = registro(n, aviso.registro);
    let mut data = json!({
        "version": VERSION,
        "reg_type": REG_TYPE,
        "reg_record_type": aviso.registro.as_str(),
        "reg_records": record,
    });
    // DCI's notify knows two event types; a new ficha is the one that says REGISTER. The
    // node's own kind is the record's `evento` attribute (when the grant shows `tipo`).
    if n.tipo.as_deref() == Some("ficha_creada") {
        data["reg_event_type"] = json!("REGISTER");
    }
    let timestamp = n
        .registrado
        .map(|t| t.to_rfc3339_opts(SecondsFormat::Millis, true))
        .unwrap_or_else(|| aviso.ahora.to_owned());
    json!({
        "header": {
            "version": VERSION,
            "message_id": aviso.clave,
            "message_ts": aviso.ahora,
            "action": "notify",
            "status": "succ",
            "total_count": 1,
            "completed_count": 1,
            "sender_id": aviso.sender_id,
            "receiver_id": aviso.receiver_id,
            "is_msg_encrypted": false,
        },
        "message": {
            "transaction_id": aviso.suscripcion,
            "notify_event": [{
                "reference_id": aviso.clave,
                "timestamp": timestamp,
                "data": data,
            }],
        },
    })
}

/// The body the push worker sends for one event of a `formato = "dci"` subscription
/// (`ops::suscripciones::envios::CuerpoDci`, handed to the worker at start-up): [`cuerpo`] for
/// the subscription's record type (`Member` for one made over REST or SOAP, which has none),
/// from the node (`nodo`, `dci.receiver_id`) to its agreement.
pub fn envio(
    n: &Notificacion,
    suscripcion: &SuscripcionFila,
    clave: &str,
    nodo: &str,
) -> Result<Vec<u8>, String> {
    let registro = match suscripcion.registro_dci.as_deref() {
        None => Registro::Member,
        Some(texto) => Registro::parse(texto).ok_or("unknown DCI record type (registro_dci)")?,
    };
    let ahora = chrono::Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true);
    let aviso = Aviso {
        clave,
        suscripcion: &suscripcion.id,
        sender_id: nodo,
        receiver_id: &suscripcion.convenio,
        registro,
        ahora: &ahora,
    };
    serde_json::to_vec(&cuerpo(n, &aviso)).map_err(|e| e.to_string())
}

/// The one record: every rule whose field the projection left.
pub fn registro(n: &Notificacion, registro: Registro) -> Value {
    let mut miembro = json!({});
    aplicar(MIEMBRO, n, &mut miembro);
    match registro {
        Registro::Member => {
            // The household's facts as the member's attributes.
            for regla in HOGAR {
                if let Some(v) = (regla.valor)(n) {
                    let nombre = regla
                        .destino
                        .strip_prefix("additional_attributes.")
                        .unwrap_or(regla.destino);
                    poner(&mut miembro, &format!("additional_attributes.{nombre}"), v);
                }
            }
            aplicar(EVENTO, n, &mut miembro);
            miembro
        }
        Registro::Group => {
            let mut grupo = json!({ "group_type": "household" });
            aplicar(HOGAR, n, &mut grupo);
            aplicar(EVENTO, n, &mut grupo);
            if miembro.as_object().is_some_and(|m| !m.is_empty()) {
                grupo["member_list"] = json!([miembro]);
            }
            grupo
        }
    }
}

fn aplicar(reglas: &[Regla<Notificacion>], n: &Notificacion, out: &mut Value) {
    for regla in reglas {
        if let Some(v) = (regla.valor)(n) {
            poner(out, regla.destino, v);
        }
    }
}

#[cfg(test)]
mod tests;
