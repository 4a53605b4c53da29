//! The emergency registry's tables (`modulos::emergencias`, migration
//! `2026-12-12-000030_emergencias`).

diesel::table! {
    /// An emergency the operator declared; `version` is raised by every write under it.
    emergencias (id) {
        id -> Text,
        nombre -> Text,
        tipo -> Text,
        fecha_inicio -> Date,
        fecha_termino -> Nullable<Date>,
        estado -> Text,
        declarada_por -> Text,
        cerrada_por -> Nullable<Text>,
        declarada_us -> BigInt,
        cerrada_us -> Nullable<BigInt>,
        version -> Integer,
    }
}

diesel::table! {
    /// The comunas an emergency affects.
    emergencia_comunas (emergencia_id, cut) {
        emergencia_id -> Text,
        cut -> Text,
    }
}

diesel::table! {
    /// An affected household: its origin (an affected comuna) and where it is sheltered.
    emergencia_hogares (id) {
        id -> Text,
        emergencia_id -> Text,
        run_jefe -> Integer,
        hogar_id -> Nullable<BigInt>,
        integrantes -> Integer,
        cut_origen -> Text,
        cut_destino -> Text,
        alojamiento -> Text,
        dano -> Text,
        necesidades -> Text,
        convenio -> Text,
        registrado_us -> BigInt,
    }
}

diesel::table! {
    /// Aid delivered to an affected household.
    emergencia_ayudas (id) {
        id -> Text,
        registro_id -> Text,
        tipo -> Text,
        cantidad -> Integer,
        fecha -> Date,
        convenio -> Text,
        registrada_us -> BigInt,
    }
}

diesel::joinable!(emergencia_comunas -> emergencias (emergencia_id));
diesel::joinable!(emergencia_hogares -> emergencias (emergencia_id));
diesel::joinable!(emergencia_ayudas -> emergencia_hogares (registro_id));

diesel::allow_tables_to_appear_in_same_query!(
    emergencias,
    emergencia_comunas,
    emergencia_hogares,
    emergencia_ayudas,
);
