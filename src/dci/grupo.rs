//! An FPS answer ([`FichaFps`], already projected onto the agreement's grant) rendered as a DCI
//! `Group` (the household) or `Member` (a person). Every DCI field comes from one rule of
//! [`GRUPO`] or [`INTEGRANTE`], each naming the `FichaFps` field it renders: a field the grant
//! withholds is `None` after projection, so its DCI fields are absent too. `docs/dci.md`
//! prints these tables; a test holds them to the projection.

use serde_json::{Map, Value, json};

use crate::respuestas::{FichaFps, IntegranteFicha};

/// One DCI field: where it goes (a dotted path; `additional_attributes.x` is the entry
/// `{"name": "x", "value": …}` of that list), the response field it renders (its grant path)
/// and how.
pub struct Regla<T: 'static> {
    pub destino: &'static str,
    pub fuente: &'static str,
    pub valor: fn(&T) -> Option<Value>,
}

/// `Group` from the household's ficha.
pub const GRUPO: &[Regla<FichaFps>] = &[
    Regla {
        destino: "group_identifier",
        fuente: "folio",
        valor: |f| {
            f.folio
                .map(|folio| identificador("FOLIO_FPS", folio.to_string()))
        },
    },
    Regla {
        destino: "poverty_score",
        fuente: "puntaje",
        valor: |f| f.puntaje.map(|p| json!(p)),
    },
    Regla {
        destino: "poverty_score_type",
        fuente: "puntaje",
        // FPS: the lower the score, the more vulnerable the household.
        valor: |f| f.puntaje.map(|_| json!("FPS")),
    },
    Regla {
        destino: "registration_date",
        fuente: "fechaAplicacion",
        valor: |f| f.fecha_aplicacion.map(|d| json!(d)),
    },
    Regla {
        destino: "additional_attributes.quintil",
        fuente: "quintil",
        valor: |f| f.quintil.map(|q| json!(q)),
    },
    Regla {
        destino: "additional_attributes.estado_ficha",
        fuente: "estado",
        valor: |f| f.estado.as_ref().map(|e| json!(e)),
    },
    Regla {
        destino: "additional_attributes.comuna_cut",
        fuente: "comuna.codigo",
        valor: |f| f.comuna.as_ref()?.codigo.as_ref().map(|c| json!(c)),
    },
    Regla {
        destino: "additional_attributes.comuna_nombre",
        fuente: "comuna.nombre",
        valor: |f| f.comuna.as_ref()?.nombre.as_ref().map(|c| json!(c)),
    },
    Regla {
        destino: "additional_attributes.persona_fallecida",
        fuente: "fallecido",
        valor: |f| f.fallecido.map(|d| json!(d)),
    },
    Regla {
        destino: "group_size",
        fuente: "integrantes",
        valor: |f| f.integrantes.as_ref().map(|i| json!(i.len())),
    },
    Regla {
        destino: "member_list",
        fuente: "integrantes",
        valor: |f| {
            let list = f.integrantes.as_ref()?;
            Some(Value::Array(list.iter().map(miembro).collect()))
        },
    },
    Regla {
        destino: "group_head_info",
        // Only a grant that shows relationships tells who the head is.
        fuente: "integrantes.parentesco",
        valor: |f| {
            let list = f.integrantes.as_ref()?;
            let jefe = list
                .iter()
                .find(|i| i.parentesco.as_deref() == Some("jefe"))?;
            Some(miembro(jefe))
        },
    },
];

/// `Member` from a household member.
pub const INTEGRANTE: &[Regla<IntegranteFicha>] = &[
    Regla {
        destino: "member_identifier",
        fuente: "integrantes.run",
        valor: |i| i.run.clone().map(|run| identificador("RUN", run)),
    },
    Regla {
        destino: "demographic_info.name.given_name",
        fuente: "integrantes.nombres",
        valor: |i| i.nombres.as_ref().map(|n| json!(n)),
    },
    Regla {
        destino: "demographic_info.name.surname",
        fuente: "integrantes.apellidoPaterno",
        valor: |i| i.apellido_paterno.as_ref().map(|n| json!(n)),
    },
    Regla {
        // DCI's Name has no second surname.
        destino: "additional_attributes.apellido_materno",
        fuente: "integrantes.apellidoMaterno",
        valor: |i| i.apellido_materno.as_ref().map(|n| json!(n)),
    },
    Regla {
        destino: "demographic_info.birth_date",
        fuente: "integrantes.fechaNacimiento",
        valor: |i| i.fecha_nacimiento.map(|d| json!(d)),
    },
    Regla {
        destino: "demographic_info.sex",
        fuente: "integrantes.sexo",
        valor: |i| {
            i.sexo.as_deref().map(|s| match s {
                "F" => json!("female"),
                "M" => json!("male"),
                _ => json!("unknown"),
            })
        },
    },
    Regla {
        // The relationship to the household's head (RelationshipTypeEnum).
        destino: "related_person",
        fuente: "integrantes.parentesco",
        valor: |i| {
            let code = match i.parentesco.as_deref()? {
                "jefe" => "SELF",
                "conyuge" => "PRIMSPOUS",
                "hijo" => "CHILD",
                "padre_madre" => "PRN",
                _ => "OTHER",
            };
            Some(json!([{ "relationship_type": code }]))
        },
    },
    Regla {
        destino: "additional_attributes.parentesco",
        fuente: "integrantes.parentesco",
        valor: |i| i.parentesco.as_ref().map(|p| json!(p)),
    },
];

/// The household as a DCI `Group`.
pub fn grupo(ficha: &FichaFps) -> Value {
    aplicar(GRUPO, ficha, "household")
}

/// The person asked about as a DCI `Member`: their own entry among the household's members
/// (when the grant shows members), else only what the ficha says of them.
pub fn persona(ficha: &FichaFps) -> Value {
    let propio = ficha
        .integrantes
        .as_ref()
        .and_then(|list| list.iter().find(|i| i.run.is_some() && i.run == ficha.run));
    let mut member = match propio {
        Some(i) => miembro(i),
        None => json!({}),
    };
    if let Some(run) = &ficha.run {
        poner(
            &mut member,
            "member_identifier",
            identificador("RUN", run.clone()),
        );
    }
    if let Some(fallecido) = ficha.fallecido {
        poner(
            &mut member,
            "additional_attributes.persona_fallecida",
            json!(fallecido),
        );
    }
    member
}

fn miembro(i: &IntegranteFicha) -> Value {
    let mut out = json!({});
    for regla in INTEGRANTE {
        if let Some(v) = (regla.valor)(i) {
            poner(&mut out, regla.destino, v);
        }
    }
    out
}

fn aplicar(reglas: &[Regla<FichaFps>], ficha: &FichaFps, group_type: &str) -> Value {
    // A constant: it says nothing the record's presence does not.
    let mut out = json!({ "group_type": group_type });
    for regla in reglas {
        if let Some(v) = (regla.valor)(ficha) {
            poner(&mut out, regla.destino, v);
        }
    }
    out
}

fn identificador(tipo: &str, valor: String) -> Value {
    json!([{ "identifier_type": tipo, "identifier_value": valor }])
}

/// Puts `value` at a dotted `path` of `out` (an object); `additional_attributes.x` appends
/// `{"name": "x", "value": value}` to that list.
pub(super) fn poner(out: &mut Value, path: &str, value: Value) {
    let Some(map) = out.as_object_mut() else {
        return;
    };
    if let Some(name) = path.strip_prefix("additional_attributes.") {
        let list = map
            .entry("additional_attributes")
            .or_insert_with(|| Value::Array(Vec::new()));
        if let Some(list) = list.as_array_mut() {
            list.push(json!({ "name": name, "value": value }));
        }
        return;
    }
    match path.split_once('.') {
        None => {
            map.insert(path.to_owned(), value);
        }
        Some((head, rest)) => {
            let child = map.entry(head).or_insert_with(|| Value::Object(Map::new()));
            poner(child, rest, value);
        }
    }
}

#[cfg(test)]
mod tests;
