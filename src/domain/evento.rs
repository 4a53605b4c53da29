//! The kinds of event of the outbox (`eventos.tipo`, docs/eventos.md): what the node records
//! (`crate::eventos`) and what an agreement may subscribe to (`catalog::TIPOS_EVENTO`) are
//! this one list.

/// What happened to the person an event is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TipoEvento {
    Defuncion,
    Nacimiento,
    FichaCreada,
    FichaReemplazada,
    ComunaCambiada,
    BeneficioOtorgado,
    BeneficioTerminado,
}

impl TipoEvento {
    pub const ALL: [TipoEvento; 7] = [
        TipoEvento::Defuncion,
        TipoEvento::Nacimiento,
        TipoEvento::FichaCreada,
        TipoEvento::FichaReemplazada,
        TipoEvento::ComunaCambiada,
        TipoEvento::BeneficioOtorgado,
        TipoEvento::BeneficioTerminado,
    ];

    /// The name stored in `eventos.tipo` (and used by subscriptions).
    pub const fn as_str(self) -> &'static str {
        match self {
            TipoEvento::Defuncion => "defuncion",
            TipoEvento::Nacimiento => "nacimiento",
            TipoEvento::FichaCreada => "ficha_creada",
            TipoEvento::FichaReemplazada => "ficha_reemplazada",
            TipoEvento::ComunaCambiada => "comuna_cambiada",
            TipoEvento::BeneficioOtorgado => "beneficio_otorgado",
            TipoEvento::BeneficioTerminado => "beneficio_terminado",
        }
    }

    /// Every kind's name, in the order of [`TipoEvento::ALL`].
    pub const NOMBRES: [&'static str; 7] = {
        let mut nombres = [""; 7];
        let mut i = 0;
        while i < 7 {
            nombres[i] = TipoEvento::ALL[i].as_str();
            i += 1;
        }
        nombres
    };

    pub fn parse(text: &str) -> Option<TipoEvento> {
        TipoEvento::ALL.into_iter().find(|t| t.as_str() == text)
    }
}

impl std::fmt::Display for TipoEvento {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
