//! The agreements shipped in `convenios/` load and grant what their README promises.

use std::path::Path;

use super::*;
use crate::catalog::Operation::{
    ConsultarAccesos, ConsultarElegibilidad, ConsultarFichaFPS, EstadisticasTerritoriales,
    SolicitarEncuestaje, TrabajarEncuestaje, ValidarIdentidad,
};
use crate::catalog::modulos::emergencias as em;

fn shipped() -> ConvenioSet {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("convenios");
    ConvenioSet::load_dir(&dir).unwrap_or_else(|e| panic!("{e}"))
}

fn fields(set: &ConvenioSet, id: &str, op: Operation) -> Vec<&'static str> {
    let a = set.get(&ConvenioId::parse(id).unwrap()).unwrap();
    let mut fields: Vec<_> = a.grant(op).unwrap().fields.iter().collect();
    fields.sort_unstable();
    fields
}

fn programas(set: &ConvenioSet, id: &str) -> Option<Vec<String>> {
    let a = set.get(&ConvenioId::parse(id).unwrap()).unwrap();
    let grant = a.grant(ConsultarElegibilidad).unwrap();
    grant
        .programas
        .as_ref()
        .map(|p| p.iter().cloned().collect())
}

fn sorted(mut v: Vec<&'static str>) -> Vec<&'static str> {
    v.sort_unstable();
    v
}

#[test]
fn the_shipped_convenios_load_with_the_grants_they_promise() {
    let set = shipped();
    let (orasmi, ids): (Vec<_>, Vec<_>) = set
        .iter()
        .map(|a| a.id.to_string())
        .partition(|id| id.starts_with("orasmi-"));
    // One ORASMI agreement per Intendencia, each scoped to its region.
    let regiones: Vec<String> = crate::domain::regiones()
        .iter()
        .map(|r| format!("orasmi-{}", r.codigo))
        .collect();
    assert_eq!(orasmi, regiones);
    assert_eq!(
        ids,
        [
            "bbnn",
            "ciudadania",
            "fosis",
            "integra",
            "ips",
            "junji",
            "minvu",
            "muni-05101",
            "muni-10101",
            "muni-10401",
            "muni-13101",
            "operador",
            "salud-13",
            "senama",
            "srcei",
            "suseso"
        ]
    );
    // The agreement for persons: no certificate acts under it, and it grants only what a
    // person may read about themself.
    let personas = set.personas().expect("an agreement for persons");
    assert_eq!(personas.id.as_str(), "ciudadania");
    assert!(personas.clients.is_empty() && personas.ambito.is_none());
    assert!(
        personas
            .grants
            .keys()
            .all(|op| crate::catalog::Rol::Persona.permite(*op))
    );
    for a in set.iter() {
        assert!(a.is_in_force(date(2026, 11, 28)), "{}", a.id);
        if a.personas {
            continue;
        }
        assert_eq!(a.clients[0].subject_cn.as_deref(), Some(a.id.as_str()));
        assert!(a.is_in_force(date(2026, 11, 28)), "{}", a.id);
        assert!(a.is_in_force(date(2027, 11, 28)), "{}", a.id);
        assert!(!a.agency.is_empty() && !a.legal_basis.is_empty() && !a.purpose.is_empty());
        assert_eq!(a.file.file_stem().unwrap(), a.id.as_str());
        // Only the registry's own operators may see who consulted whom (and each person, about
        // themself).
        assert_eq!(
            a.grant(ConsultarAccesos).is_some(),
            a.id.as_str() == "operador"
        );
        // Municipalities by comuna, ORASMI by region (its Intendencias), the health service by
        // region.
        let scoped = ["muni-", "orasmi-", "salud-"]
            .iter()
            .any(|p| a.id.as_str().starts_with(p));
        assert_eq!(a.ambito.is_some(), scoped, "{}", a.id);
    }
    let all = |op: Operation| sorted(op.fields().to_vec());
    let ops = |id: &str| {
        let a = set.get(&ConvenioId::parse(id).unwrap()).unwrap();
        a.grants.keys().copied().collect::<Vec<_>>()
    };
    // The core's operations; each module's test checks the grants of its own.
    let core_ops = |id: &str| {
        let mut v = ops(id);
        v.retain(|op| !matches!(op, Operation::Modulo(_)));
        v
    };

    assert_eq!(
        ops("minvu"),
        [
            ConsultarFichaFPS,
            ConsultarElegibilidad,
            SolicitarEncuestaje,
            EstadisticasTerritoriales,
            Operation::Suscripciones
        ]
    );
    let minvu_est = fields(&set, "minvu", EstadisticasTerritoriales);
    assert!(minvu_est.contains(&"celdas.hogares") && minvu_est.contains(&"celdas.reservado"));
    assert!(!minvu_est.contains(&"celdas.puntajePromedio"));
    // The Registro Civil only sends batches (persons and deaths); it asks nothing.
    assert_eq!(ops("srcei"), [Operation::RecepcionLotes]);
    let srcei = set.get(&ConvenioId::parse("srcei").unwrap()).unwrap();
    let grant = srcei.grant(Operation::RecepcionLotes).unwrap();
    assert!(grant.allows_tipo(crate::catalog::TipoLote::Personas));
    assert!(grant.allows_tipo(crate::catalog::TipoLote::Defunciones));
    assert!(grant.allows_tipo(crate::catalog::TipoLote::Nacimientos));
    assert!(!grant.allows_tipo(crate::catalog::TipoLote::Fichas));
    let suseso = set.get(&ConvenioId::parse("suseso").unwrap()).unwrap();
    let grant = suseso.grant(Operation::RecepcionLotes).unwrap();
    assert!(grant.allows_tipo(crate::catalog::TipoLote::Suf));
    assert!(!grant.allows_tipo(crate::catalog::TipoLote::Pensiones));
    assert_eq!(
        core_ops("suseso"),
        [
            Operation::RecepcionLotes,
            Operation::ConsultarDecreto,
            Operation::Suscripciones
        ]
    );
    // SUSESO and IPS read the decrees of the program each pays, without PDF or score.
    for (id, programa) in [("suseso", "SUF"), ("ips", "PASIS")] {
        let a = set.get(&ConvenioId::parse(id).unwrap()).unwrap();
        let grant = a.grant(Operation::ConsultarDecreto).unwrap();
        let programas: Vec<_> = grant.programas.clone().unwrap().into_iter().collect();
        assert_eq!(programas, [programa], "{id}");
        let campos = fields(&set, id, Operation::ConsultarDecreto);
        assert!(campos.contains(&"lineas.run") && campos.contains(&"lineas.monto"));
        assert!(
            !campos.contains(&"pdf") && !campos.contains(&"lineas.puntaje"),
            "{id}"
        );
    }
    let ips = set.get(&ConvenioId::parse("ips").unwrap()).unwrap();
    let grant = ips.grant(Operation::RecepcionLotes).unwrap();
    assert!(grant.allows_tipo(crate::catalog::TipoLote::Pensiones));
    assert!(!grant.allows_tipo(crate::catalog::TipoLote::Suf));
    // Municipalities send survey results (fichas) and nothing else.
    for muni in ["muni-13101", "muni-05101"] {
        let convenio = set.get(&ConvenioId::parse(muni).unwrap()).unwrap();
        let grant = convenio.grant(Operation::RecepcionLotes).unwrap();
        assert!(grant.allows_tipo(crate::catalog::TipoLote::Fichas));
        assert!(!grant.allows_tipo(crate::catalog::TipoLote::Personas));
    }
    assert_eq!(
        fields(&set, "minvu", ConsultarFichaFPS),
        all(ConsultarFichaFPS)
    );
    assert_eq!(programas(&set, "minvu").unwrap(), ["FSV1", "FSV2"]);
    let minvu = set.get(&ConvenioId::parse("minvu").unwrap()).unwrap();
    assert_eq!(minvu.rate.per_second.get(), 200);
    assert_eq!(minvu.daily_quota, 500_000);

    assert_eq!(
        ops("ips"),
        [
            ConsultarFichaFPS,
            ValidarIdentidad,
            ConsultarElegibilidad,
            SolicitarEncuestaje,
            Operation::RecepcionLotes,
            Operation::ConsultarDecreto,
            Operation::Suscripciones
        ]
    );
    // Events each agency has a purpose for, and only those; push only where a callback is
    // named (https).
    for (id, eventos, push) in [
        ("ips", &["beneficio_terminado", "defuncion"][..], true),
        ("minvu", &["ficha_reemplazada"][..], false),
        ("suseso", &["defuncion", "nacimiento"][..], false),
        (
            "muni-13101",
            &[
                "comuna_cambiada",
                "defuncion",
                "ficha_creada",
                "ficha_reemplazada",
                "nacimiento",
            ][..],
            false,
        ),
    ] {
        let a = set.get(&ConvenioId::parse(id).unwrap()).unwrap();
        let grant = a.grant(Operation::Suscripciones).unwrap();
        let granted: Vec<&str> = grant.eventos.iter().flatten().map(String::as_str).collect();
        assert_eq!(granted, eventos, "{id}");
        assert_eq!(
            grant.allows_entrega(crate::catalog::Entrega::Push),
            push,
            "{id}"
        );
        assert!(
            grant
                .callbacks
                .iter()
                .flatten()
                .all(|u| u.scheme() == "https")
        );
    }
    // IPS hears of a death and an ended benefit, never of the household or the score.
    let ips_eventos = fields(&set, "ips", Operation::Suscripciones);
    assert!(!ips_eventos.contains(&"puntaje") && !ips_eventos.contains(&"comuna"));
    let ips_ficha = fields(&set, "ips", ConsultarFichaFPS);
    assert_eq!(
        ips_ficha,
        sorted(vec!["run", "puntaje", "quintil", "fallecido", "estado"])
    );
    assert!(!ips_ficha.iter().any(|f| f.starts_with("integrantes.")));
    assert!(fields(&set, "ips", ValidarIdentidad).contains(&"vivo"));
    assert_eq!(programas(&set, "ips").unwrap(), ["APS", "PASIS", "PBS"]);

    for r in crate::domain::regiones() {
        let id = format!("orasmi-{}", r.codigo);
        let a = set.get(&ConvenioId::parse(&id).unwrap()).unwrap();
        assert_eq!(a.ambito_prefijo(), Some(r.codigo.as_str()), "{id}");
        assert_eq!(a.comuna(), None, "{id}");
        assert_eq!(ops(&id), ops("orasmi-13"), "{id}");
        assert_eq!(
            fields(&set, &id, ConsultarFichaFPS),
            fields(&set, "orasmi-13", ConsultarFichaFPS)
        );
    }
    // The counter's lookups and survey requests, and the emergencies' report (ORASMI funds
    // emergency aid; the report names no one).
    assert_eq!(
        ops("orasmi-13"),
        [
            ConsultarFichaFPS,
            SolicitarEncuestaje,
            Operation::Modulo(em::INFORME)
        ]
    );
    assert_eq!(
        fields(&set, "orasmi-13", ConsultarFichaFPS),
        sorted(vec![
            "run",
            "folio",
            "puntaje",
            "quintil",
            "fechaAplicacion",
            "comuna.codigo",
            "comuna.nombre",
            "estado",
            "fallecido"
        ])
    );
    let orasmi = set.get(&ConvenioId::parse("orasmi-13").unwrap()).unwrap();
    assert_eq!(
        (orasmi.rate.per_second.get(), orasmi.rate.burst.get()),
        (5, 10)
    );

    assert_eq!(ops("bbnn"), [ValidarIdentidad, ConsultarElegibilidad]);
    assert_eq!(programas(&set, "bbnn").unwrap(), ["BBNN_GRATUIDAD"]);

    for (id, cut) in [("muni-13101", "13101"), ("muni-05101", "05101")] {
        let a = set.get(&ConvenioId::parse(id).unwrap()).unwrap();
        assert_eq!(a.comuna().map(|c| c.to_string()).as_deref(), Some(cut));
        assert_eq!(
            core_ops(id),
            [
                ConsultarFichaFPS,
                ValidarIdentidad,
                ConsultarElegibilidad,
                Operation::EmitirCertificado,
                SolicitarEncuestaje,
                TrabajarEncuestaje,
                EstadisticasTerritoriales,
                Operation::RecepcionLotes,
                Operation::ActualizarHogar,
                Operation::PostularBeneficio,
                Operation::EmitirDecreto,
                Operation::ConsultarDecreto,
                Operation::Suscripciones,
            ]
        );
        assert_eq!(
            fields(&set, id, Operation::EmitirDecreto),
            all(Operation::EmitirDecreto)
        );
        // A read names nobody left waiting: everything but `enEspera`.
        let mut consulta = all(Operation::ConsultarDecreto);
        consulta.retain(|f| *f != "enEspera");
        assert_eq!(fields(&set, id, Operation::ConsultarDecreto), consulta);
        // Upkeep: everything about the household but the comuna's name (it is their own).
        let mut hogar = all(Operation::ActualizarHogar);
        hogar.retain(|f| *f != "comuna.nombre");
        assert_eq!(fields(&set, id, Operation::ActualizarHogar), hogar, "{id}");
        assert_eq!(
            fields(&set, id, Operation::PostularBeneficio),
            all(Operation::PostularBeneficio)
        );
        let postulables = set
            .get(&ConvenioId::parse(id).unwrap())
            .unwrap()
            .grant(Operation::PostularBeneficio)
            .unwrap()
            .programas
            .clone()
            .unwrap();
        assert_eq!(
            postulables.into_iter().collect::<Vec<_>>(),
            ["PASIS", "SAP", "SUF"]
        );
        for op in [
            ConsultarFichaFPS,
            ValidarIdentidad,
            ConsultarElegibilidad,
            Operation::EmitirCertificado,
            SolicitarEncuestaje,
            TrabajarEncuestaje,
            EstadisticasTerritoriales,
        ] {
            assert_eq!(fields(&set, id, op), all(op), "{id} {op}");
        }
        // SAP has postulation checks only (no eligibility rules to ask about).
        let every: Vec<String> = crate::reglas::PROGRAMAS
            .iter()
            .filter(|p| **p != "SAP")
            .map(|p| p.to_string())
            .collect();
        let mut listed = programas(&set, id).expect("municipalities list their programs");
        listed.sort();
        let mut every = every;
        every.sort();
        assert_eq!(listed, every);
    }

    assert_eq!(
        ops("operador"),
        [
            ConsultarAccesos,
            EstadisticasTerritoriales,
            Operation::FijarCupos,
            Operation::Modulo(em::DECLARAR),
            Operation::Modulo(em::INFORME),
        ]
    );
    for op in [
        ConsultarAccesos,
        EstadisticasTerritoriales,
        Operation::FijarCupos,
    ] {
        assert_eq!(fields(&set, "operador", op), all(op));
    }
}

/// Chile Solidario: FOSIS reads Puente without bonos or sessions, SENAMA only Vínculos, SUSESO
/// three fields of Puente, and the municipalities work and read both programs.
#[test]
fn the_chile_solidario_grants_are_as_narrow_as_promised() {
    use crate::catalog::modulos::chile_solidario::{CONSULTAR, TRABAJAR};
    let set = shipped();
    let consultar = Operation::Modulo(CONSULTAR);
    let programas = |id: &str| {
        let a = set.get(&ConvenioId::parse(id).unwrap()).unwrap();
        let lista = a.grant(consultar).unwrap().lista("programas").unwrap();
        lista.iter().cloned().collect::<Vec<_>>()
    };
    assert_eq!(programas("fosis"), ["puente"]);
    assert_eq!(programas("senama"), ["vinculos"]);
    assert_eq!(programas("suseso"), ["puente"]);
    assert_eq!(programas("muni-13101"), ["puente", "vinculos"]);
    let fosis = fields(&set, "fosis", consultar);
    assert!(
        !fosis
            .iter()
            .any(|f| f.starts_with("bonos.") || f.starts_with("sesiones."))
    );
    let senama = fields(&set, "senama", consultar);
    assert!(!senama.contains(&"bonos.monto") && !senama.contains(&"apoyoFamiliar"));
    assert_eq!(
        fields(&set, "suseso", consultar),
        ["estado", "programa", "run"]
    );
    for muni in ["muni-13101", "muni-05101"] {
        let all = sorted(consultar.fields().to_vec());
        assert_eq!(
            fields(&set, muni, Operation::Modulo(TRABAJAR)),
            all,
            "{muni}"
        );
        assert_eq!(fields(&set, muni, consultar), all, "{muni}");
    }
}

/// The emergency registry: the operator declares (nationally), the municipalities register
/// (each within its comuna, Chaitén and Puerto Montt for the emergency alone), every field of
/// each answer (none is about anyone but the head of household, whom the registering
/// municipality names itself).
#[test]
fn the_emergency_grants_are_whole_and_scoped() {
    let set = shipped();
    let all = |op: Operation| sorted(op.fields().to_vec());
    let (declarar, registrar, informe) = (
        Operation::Modulo(em::DECLARAR),
        Operation::Modulo(em::REGISTRAR),
        Operation::Modulo(em::INFORME),
    );
    for id in ["muni-13101", "muni-05101", "muni-10401", "muni-10101"] {
        assert_eq!(fields(&set, id, registrar), all(registrar), "{id}");
        assert_eq!(fields(&set, id, informe), all(informe), "{id}");
        let a = set.get(&ConvenioId::parse(id).unwrap()).unwrap();
        assert!(a.grant(declarar).is_none(), "{id}");
        assert_eq!(a.comuna().map(|c| c.as_str()), id.strip_prefix("muni-"));
    }
    // Chaitén and Puerto Montt are written by `siis convenios nuevo` (convenios::nuevo's tests
    // keep them equal to the template): the same grants as Santiago's.
    for id in ["muni-10401", "muni-10101"] {
        let a = set.get(&ConvenioId::parse(id).unwrap()).unwrap();
        let santiago = set.get(&ConvenioId::parse("muni-13101").unwrap()).unwrap();
        assert_eq!(a.grants, santiago.grants, "{id}");
    }
    assert_eq!(fields(&set, "operador", declarar), all(declarar));
    assert_eq!(fields(&set, "operador", informe), all(informe));
}
/// Chile Crece Contigo: education receives only its referrals and never an alert; the health
/// service holds no Chile Solidario operation; each municipality its own tray.
#[test]
fn the_crece_contigo_agreements_grant_what_docs_crece_contigo_promises() {
    use crate::catalog::modulos::crece_contigo::{CONSULTAR, GESTIONAR, REGISTRAR, SOLO_SALUD};
    let set = shipped();
    let get = |id: &str| set.get(&ConvenioId::parse(id).unwrap()).unwrap();
    let sectores = |id: &str| -> Vec<String> {
        get(id)
            .grant(Operation::Modulo(GESTIONAR))
            .and_then(|g| g.lista("sectores"))
            .map(|s| s.iter().cloned().collect())
            .unwrap_or_default()
    };
    for id in ["junji", "integra"] {
        let a = get(id);
        assert!(a.ambito_prefijo().is_none(), "{id} works nationwide");
        assert_eq!(sectores(id), ["educacion"], "{id}");
        let grant = a.grant(Operation::Modulo(GESTIONAR)).unwrap();
        for campo in SOLO_SALUD.iter().chain(&["runGestante"]) {
            assert!(!grant.fields.contains(campo), "{id} is granted {campo}");
        }
        // Nothing else: no follow-up, no control, no alert.
        assert_eq!(a.grants.len(), 1, "{id}");
    }
    // Every agreement granting education's tray is never granted an alert.
    for a in set.iter() {
        if let Some(g) = a.grant(Operation::Modulo(GESTIONAR))
            && g.permite_lista("sectores", "educacion")
        {
            assert!(SOLO_SALUD.iter().all(|c| !g.fields.contains(c)), "{}", a.id);
        }
    }
    let salud = get("salud-13");
    assert_eq!(sectores("salud-13"), ["salud"]);
    assert!(salud.grant(Operation::Modulo(REGISTRAR)).is_some());
    assert!(salud.grant(Operation::Modulo(CONSULTAR)).is_some());
    assert!(
        salud.grants.keys().all(
            |op| matches!(op, Operation::Modulo(n) if [REGISTRAR, CONSULTAR, GESTIONAR].contains(n))
        ),
        "salud-13 grants only Chile Crece Contigo"
    );
    for id in ["muni-13101", "muni-05101"] {
        assert_eq!(sectores(id), ["municipio"], "{id}");
        assert!(
            get(id).grant(Operation::Modulo(REGISTRAR)).is_some(),
            "{id}"
        );
    }
}
