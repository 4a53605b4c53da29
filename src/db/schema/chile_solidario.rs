//! The Chile Solidario module's tables (`modulos::chile_solidario`, migration
//! `2026-12-12-000028_chile_solidario`).

diesel::table! {
    /// A household's participation in Puente or Vínculos.
    chs_participaciones (id) {
        id -> Text,
        hogar_id -> BigInt,
        run_titular -> Integer,
        cut -> Text,
        /// `puente` or `vinculos`.
        programa -> Text,
        /// `apoyo` (open), `egresada` or `interrumpida`.
        estado -> Text,
        fecha_ingreso -> Date,
        fecha_egreso -> Nullable<Date>,
        motivo_egreso -> Nullable<Text>,
        /// The Apoyo Familiar's worker code (not a RUN).
        apoyo_familiar -> Text,
        convenio -> Text,
        usuario -> Nullable<Text>,
        version -> Integer,
        creada_us -> BigInt,
        actualizada_us -> BigInt,
    }
}

diesel::table! {
    /// Each of the 53 condiciones mínimas of a participation.
    chs_condiciones (participacion_id, codigo) {
        participacion_id -> Text,
        codigo -> Text,
        /// `a_trabajar`, `cumplida` or `no_corresponde`.
        estado -> Text,
        fecha -> Nullable<Date>,
    }
}

diesel::table! {
    /// The Apoyo Familiar's sessions, numbered from 1.
    chs_sesiones (participacion_id, numero) {
        participacion_id -> Text,
        numero -> Integer,
        fecha -> Date,
        /// `domiciliaria` or `grupal`.
        tipo -> Text,
        convenio -> Text,
        usuario -> Nullable<Text>,
        registrada_us -> BigInt,
    }
}

diesel::table! {
    /// The bono de protección's (and de egreso's) schedule, month by month.
    chs_bonos (participacion_id, tipo, mes) {
        participacion_id -> Text,
        /// `proteccion` or `egreso`.
        tipo -> Text,
        mes -> Integer,
        /// `YYYY-MM`.
        periodo -> Text,
        monto -> Integer,
        /// `programado`, `pagado` or `suspendido`.
        estado -> Text,
        pagado_us -> Nullable<BigInt>,
    }
}

diesel::joinable!(chs_condiciones -> chs_participaciones (participacion_id));
diesel::joinable!(chs_sesiones -> chs_participaciones (participacion_id));
diesel::joinable!(chs_bonos -> chs_participaciones (participacion_id));

diesel::allow_tables_to_appear_in_same_query!(
    chs_participaciones,
    chs_condiciones,
    chs_sesiones,
    chs_bonos,
);
