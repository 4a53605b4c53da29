//! Chile Crece Contigo's tables (migration `2026-12-12-000029_crece_contigo`,
//! docs/crece_contigo.md).

diesel::table! {
    /// A gestante's follow-up, and her child's once born.
    chcc_seguimientos (id) {
        id -> Text,
        run_gestante -> Integer,
        run_nino -> Nullable<Integer>,
        cut -> Text,
        estado -> Text,
        fecha_ingreso -> Date,
        semanas_ingreso -> Integer,
        fecha_probable_parto -> Date,
        fecha_nacimiento -> Nullable<Date>,
        motivo_egreso -> Nullable<Text>,
        convenio -> Text,
        /// Raised by each event: guards concurrent events.
        version -> Integer,
        creado_us -> BigInt,
        actualizado_us -> BigInt,
    }
}

diesel::table! {
    chcc_controles (seguimiento_id, orden) {
        seguimiento_id -> Text,
        orden -> Integer,
        fecha -> Date,
        tipo -> Text,
        resultado -> Text,
        convenio -> Text,
        registrado_us -> BigInt,
    }
}

diesel::table! {
    chcc_alertas (seguimiento_id, orden) {
        seguimiento_id -> Text,
        orden -> Integer,
        codigo -> Text,
        fecha -> Date,
        estado -> Text,
        convenio -> Text,
        registrado_us -> BigInt,
    }
}

diesel::table! {
    chcc_derivaciones (id) {
        id -> Text,
        seguimiento_id -> Text,
        /// The code of the alert it answers, if any (never sent to education).
        alerta -> Nullable<Text>,
        sector_destino -> Text,
        prestacion -> Text,
        estado -> Text,
        fecha -> Date,
        fecha_respuesta -> Nullable<Date>,
        motivo_respuesta -> Nullable<Text>,
        convenio_origen -> Text,
        convenio_respuesta -> Nullable<Text>,
        version -> Integer,
        registrado_us -> BigInt,
        actualizado_us -> BigInt,
    }
}

diesel::joinable!(chcc_controles -> chcc_seguimientos (seguimiento_id));
diesel::joinable!(chcc_alertas -> chcc_seguimientos (seguimiento_id));
diesel::joinable!(chcc_derivaciones -> chcc_seguimientos (seguimiento_id));

diesel::allow_tables_to_appear_in_same_query!(
    chcc_seguimientos,
    chcc_controles,
    chcc_alertas,
    chcc_derivaciones,
);
