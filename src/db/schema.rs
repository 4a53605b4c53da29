//! The registry's tables, one description for both backends (see `migrations/`). A module's
//! tables are in `schema/<module>.rs`, re-exported here.

mod crece_contigo;
pub use crece_contigo::*;

diesel::table! {
    regiones (codigo) {
        codigo -> Text,
        nombre -> Text,
    }
}

diesel::table! {
    comunas (cut) {
        cut -> Text,
        nombre -> Text,
        provincia -> Text,
        region -> Text,
    }
}

diesel::table! {
    personas (run) {
        run -> Integer,
        nombres -> Text,
        apellido_paterno -> Text,
        apellido_materno -> Text,
        fecha_nacimiento -> Date,
        sexo -> Text,
        nacionalidad -> Text,
        fecha_defuncion -> Nullable<Date>,
    }
}

diesel::table! {
    hogares (id) {
        id -> BigInt,
        cut -> Text,
        direccion -> Text,
        /// Raised by each upkeep event (`hogar_eventos`): guards concurrent events.
        version -> Integer,
    }
}

diesel::table! {
    integrantes (run) {
        run -> Integer,
        hogar_id -> BigInt,
        parentesco -> Text,
    }
}

diesel::table! {
    fichas (folio) {
        folio -> BigInt,
        hogar_id -> BigInt,
        puntaje -> Integer,
        fecha_aplicacion -> Date,
        cut -> Text,
        estado -> Text,
        modelo -> Nullable<Text>,
        encuestador -> Nullable<Text>,
        /// The `hogar_eventos` id that marked it for review, if any.
        revision -> Nullable<Text>,
    }
}

diesel::table! {
    beneficios (id) {
        id -> BigInt,
        run -> Integer,
        programa -> Text,
        estado -> Text,
        monto -> Integer,
        fecha_inicio -> Date,
        fecha_termino -> Nullable<Date>,
        fuente -> Text,
        decreto_folio -> Nullable<Text>,
    }
}

diesel::table! {
    auditoria (id) {
        id -> BigInt,
        ts_us -> BigInt,
        convenio -> Nullable<Text>,
        certificado -> Nullable<Text>,
        operacion -> Text,
        transporte -> Text,
        id_mensaje -> Text,
        sujetos -> Text,
        proposito -> Nullable<Text>,
        campos -> Text,
        resultado -> Text,
        estado_http -> Integer,
        latencia_us -> BigInt,
        hash_anterior -> Text,
        hash -> Text,
        xroad -> Nullable<Text>,
        omitidos -> Nullable<BigInt>,
        personas -> Nullable<BigInt>,
        usuario -> Nullable<Text>,
        nodo -> Nullable<Text>,
    }
}

diesel::table! {
    auditoria_sujetos (run, auditoria_id) {
        run -> Integer,
        auditoria_id -> BigInt,
    }
}

diesel::table! {
    /// One row per archive file of old audit records (`siis audit archive`), in chain order:
    /// records `desde..=hasta` left the database for the file `archivo`.
    auditoria_archivos (hasta) {
        hasta -> BigInt,
        desde -> BigInt,
        registros -> BigInt,
        hash_final -> Text,
        hash_anterior -> Text,
        archivo -> Text,
        sha256 -> Text,
        bytes -> BigInt,
        creado_us -> BigInt,
    }
}

diesel::table! {
    /// How far rows of `auditoria_sujetos` may be deleted: those of archived records (one
    /// row; raised by `siis audit archive`, never lowered).
    auditoria_sujetos_archivados (id) {
        id -> Integer,
        hasta -> BigInt,
    }
}

diesel::table! {
    /// How far `auditoria_sujetos` goes: every record up to `hasta` is indexed (one row).
    auditoria_sujetos_hasta (id) {
        id -> Integer,
        hasta -> BigInt,
    }
}

diesel::table! {
    certificados (folio) {
        folio -> Text,
        tipo -> Text,
        run -> Integer,
        convenio -> Text,
        emitido_us -> BigInt,
        payload -> Text,
    }
}

diesel::table! {
    decretos (folio) {
        folio -> Text,
        cut -> Text,
        programa -> Text,
        periodo -> Text,
        anio -> Integer,
        numero -> Integer,
        otorgadas -> Integer,
        lineas_sha256 -> Text,
        payload -> Text,
        convenio -> Text,
        usuario -> Nullable<Text>,
        emitido_us -> BigInt,
    }
}

diesel::table! {
    decreto_lineas (folio, orden) {
        folio -> Text,
        orden -> Integer,
        postulacion_id -> Text,
        run -> Integer,
        nombre -> Text,
        puntaje -> Nullable<Integer>,
        causantes -> Integer,
        monto -> BigInt,
    }
}

diesel::table! {
    encuestajes (id) {
        id -> Text,
        run -> Integer,
        cut -> Text,
        convenio -> Text,
        estado -> Text,
        visitas_fallidas -> Integer,
        fecha_solicitud -> Date,
        fecha_vencimiento -> Date,
        fecha_visita -> Nullable<Date>,
        motivo_anulacion -> Nullable<Text>,
        folio -> Nullable<BigInt>,
        puntaje -> Nullable<Integer>,
        fecha_aplicacion -> Nullable<Date>,
        version -> Integer,
        creada_us -> BigInt,
        actualizada_us -> BigInt,
    }
}

diesel::table! {
    estadisticas_celdas (cut, quintil) {
        cut -> Text,
        quintil -> Integer,
        personas -> BigInt,
        hogares -> BigInt,
        fichas -> BigInt,
        suma_puntaje -> BigInt,
    }
}

diesel::table! {
    encuestaje_eventos (encuestaje_id, secuencia) {
        encuestaje_id -> Text,
        secuencia -> Integer,
        evento -> Text,
        estado -> Text,
        fecha -> Nullable<Date>,
        motivo -> Nullable<Text>,
        convenio -> Text,
        ts_us -> BigInt,
    }
}

diesel::table! {
    /// One change of a household (src/ops/hogar.rs), with its reason and author.
    hogar_eventos (id) {
        id -> Text,
        hogar_id -> BigInt,
        secuencia -> Integer,
        evento -> Text,
        run -> Nullable<Integer>,
        hogar_destino -> Nullable<BigInt>,
        datos -> Text,
        motivo -> Text,
        convenio -> Text,
        usuario -> Nullable<Text>,
        marca_revision -> Integer,
        ts_us -> BigInt,
    }
}

diesel::table! {
    estadisticas_calculo (id) {
        id -> Integer,
        calculado_en_us -> BigInt,
        duracion_ms -> BigInt,
    }
}

diesel::table! {
    /// The outbox: one row per person per change an agency may subscribe to
    /// (`docs/eventos.md`).
    eventos (id) {
        id -> BigInt,
        tipo -> Text,
        run -> Integer,
        run_relacionado -> Nullable<Integer>,
        hogar_id -> Nullable<BigInt>,
        cut -> Nullable<Text>,
        datos -> Text,
        origen -> Text,
        origen_id -> Text,
        registrado_us -> BigInt,
    }
}

diesel::table! {
    /// Each DCI search, subscribe and unsubscribe answered, its items' statuses, for
    /// sync/txn/status (`docs/dci.md`); an async search's answer too (`resultado`).
    dci_transacciones (convenio, correlation_id) {
        convenio -> Text,
        correlation_id -> Text,
        transaction_id -> Text,
        /// `search`, `subscribe` or `unsubscribe`.
        tipo -> Text,
        respuestas -> Text,
        registrada_us -> BigInt,
        resultado -> Nullable<Text>,
        /// An async search's `on-search` callback (`header.sender_uri`), and its delivery.
        callback_url -> Nullable<Text>,
        /// `pendiente`, `en_curso`, `entregada`, `muerta` or `revocada`; NULL: none asked.
        callback_estado -> Nullable<Text>,
        callback_intentos -> Integer,
        callback_proximo_us -> Nullable<BigInt>,
        callback_lease_us -> Nullable<BigInt>,
        callback_estado_http -> Nullable<Integer>,
        callback_error -> Nullable<Text>,
    }
}

diesel::joinable!(comunas -> regiones (region));
diesel::joinable!(hogares -> comunas (cut));
diesel::joinable!(integrantes -> personas (run));
diesel::joinable!(integrantes -> hogares (hogar_id));
diesel::joinable!(fichas -> hogares (hogar_id));
diesel::joinable!(beneficios -> personas (run));
diesel::joinable!(auditoria_sujetos -> auditoria (auditoria_id));
diesel::joinable!(encuestaje_eventos -> encuestajes (encuestaje_id));
diesel::joinable!(decreto_lineas -> decretos (folio));

diesel::allow_tables_to_appear_in_same_query!(
    regiones,
    comunas,
    personas,
    hogares,
    integrantes,
    fichas,
    beneficios,
    auditoria,
    auditoria_sujetos,
    auditoria_sujetos_hasta,
    auditoria_archivos,
    auditoria_sujetos_archivados,
    certificados,
    decretos,
    decreto_lineas,
    encuestajes,
    encuestaje_eventos,
    hogar_eventos,
    estadisticas_celdas,
    estadisticas_calculo,
);

diesel::table! {
    lotes (id) {
        id -> BigInt,
        convenio -> Text,
        tipo -> Text,
        clave -> Text,
        sha256 -> Text,
        formato -> Text,
        transporte -> Text,
        id_mensaje -> Nullable<Text>,
        leidos -> BigInt,
        aplicados -> BigInt,
        rechazados -> BigInt,
        informe -> Text,
        recibido_us -> BigInt,
        aplicado_us -> BigInt,
    }
}

diesel::table! {
    procedencia (run, lote_id) {
        run -> Integer,
        lote_id -> BigInt,
        valores -> Text,
    }
}

diesel::joinable!(procedencia -> lotes (lote_id));
diesel::allow_tables_to_appear_in_same_query!(lotes, procedencia, personas);

diesel::table! {
    consola_usuarios (run) {
        run -> Integer,
        convenio -> Text,
        rol -> Text,
        alta_us -> BigInt,
    }
}

diesel::table! {
    consola_sesiones (id) {
        id -> Text,
        usuario -> Nullable<Integer>,
        rol -> Nullable<Text>,
        convenio -> Nullable<Text>,
        nombre -> Nullable<Text>,
        csrf -> Text,
        login -> Nullable<Text>,
        creada_us -> BigInt,
        expira_us -> BigInt,
    }
}

diesel::table! {
    modelos_puntaje (nombre) {
        nombre -> Text,
        sha256 -> Text,
        registrado_us -> BigInt,
    }
}

diesel::table! {
    encuestas (folio) {
        folio -> BigInt,
        encuestaje_id -> Text,
        modelo -> Text,
        zona -> Text,
        direccion -> Text,
        tenencia -> Text,
        agua -> Text,
        saneamiento -> Text,
        piezas -> Integer,
        convenio -> Text,
        usuario -> Nullable<Text>,
        creada_us -> BigInt,
    }
}

diesel::table! {
    encuesta_integrantes (folio, orden) {
        folio -> BigInt,
        orden -> Integer,
        run -> Integer,
        parentesco -> Text,
        edad -> Integer,
        escolaridad_anios -> Integer,
        asiste_educacion -> Bool,
        salud -> Text,
        actividad -> Text,
        ingreso_trabajo -> BigInt,
        ingreso_pensiones -> BigInt,
        ingreso_otros -> BigInt,
    }
}

diesel::joinable!(encuesta_integrantes -> encuestas (folio));
diesel::allow_tables_to_appear_in_same_query!(
    encuestas,
    encuesta_integrantes,
    fichas,
    modelos_puntaje
);

diesel::table! {
    /// Postulations to SUF, PASIS and SAP (`ops/postulacion`).
    postulaciones (id) {
        id -> Text,
        programa -> Text,
        run -> Integer,
        cut -> Text,
        convenio -> Text,
        usuario -> Nullable<Text>,
        estado -> Text,
        puntaje -> Nullable<Integer>,
        fecha_postulacion -> Date,
        decreto_folio -> Nullable<Text>,
        motivo_cierre -> Nullable<Text>,
        corrida -> Integer,
        version -> Integer,
        creada_us -> BigInt,
        actualizada_us -> BigInt,
    }
}

diesel::table! {
    postulacion_causantes (postulacion_id, orden) {
        postulacion_id -> Text,
        orden -> Integer,
        run -> Integer,
        tipo -> Text,
    }
}

diesel::table! {
    postulacion_chequeos (postulacion_id, corrida, orden) {
        postulacion_id -> Text,
        corrida -> Integer,
        orden -> Integer,
        regla -> Text,
        cumple -> Bool,
        motivo -> Text,
        dato -> Text,
        ts_us -> BigInt,
    }
}

diesel::table! {
    cupos (cut, programa, anio) {
        cut -> Text,
        programa -> Text,
        anio -> Integer,
        total -> Integer,
        fijado_por -> Text,
        ts_us -> BigInt,
    }
}

diesel::joinable!(postulacion_causantes -> postulaciones (postulacion_id));
diesel::joinable!(postulacion_chequeos -> postulaciones (postulacion_id));

diesel::allow_tables_to_appear_in_same_query!(
    postulaciones,
    postulacion_causantes,
    postulacion_chequeos,
    cupos,
);

diesel::table! {
    /// An agency's subscription to events (docs/eventos.md).
    suscripciones (id) {
        id -> Text,
        convenio -> Text,
        /// JSON list of event kinds.
        tipos -> Text,
        /// `push` or `pull`.
        entrega -> Text,
        url -> Nullable<Text>,
        /// `json` or `dci`.
        formato -> Text,
        con_lista -> Bool,
        /// `activa` or `cerrada`.
        estado -> Text,
        ultima_secuencia -> BigInt,
        creada_us -> BigInt,
        cerrada_us -> Nullable<BigInt>,
        /// A DCI subscription's `notify_record_type`: `Member` or `Group`.
        registro_dci -> Nullable<Text>,
    }
}

diesel::table! {
    suscripcion_runs (suscripcion_id, run) {
        suscripcion_id -> Text,
        run -> Integer,
    }
}

diesel::table! {
    /// One event fanned out to one subscription.
    entregas (suscripcion_id, secuencia) {
        suscripcion_id -> Text,
        secuencia -> BigInt,
        evento_id -> BigInt,
        run -> Integer,
        estado -> Text,
        intentos -> Integer,
        proximo_us -> BigInt,
        lease_us -> Nullable<BigInt>,
        ultimo_error -> Nullable<Text>,
        estado_http -> Nullable<Integer>,
        entregada_us -> Nullable<BigInt>,
    }
}

diesel::table! {
    /// The fan-out cursor (one row, id 1).
    despacho (id) {
        id -> Integer,
        hasta -> BigInt,
    }
}

diesel::joinable!(suscripcion_runs -> suscripciones (suscripcion_id));
diesel::joinable!(entregas -> suscripciones (suscripcion_id));
diesel::joinable!(entregas -> eventos (evento_id));

diesel::allow_tables_to_appear_in_same_query!(suscripciones, suscripcion_runs, entregas, eventos);

mod chile_solidario;
pub use chile_solidario::*;
// The emergency registry (its module is not named `emergencias`: that is its first table).
mod registro_emergencias;
pub use registro_emergencias::*;
