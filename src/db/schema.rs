//! The registry's tables, one description for both backends (see `migrations/`).

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
    }
}

diesel::table! {
    auditoria_sujetos (run, auditoria_id) {
        run -> Integer,
        auditoria_id -> BigInt,
    }
}

diesel::joinable!(comunas -> regiones (region));
diesel::joinable!(hogares -> comunas (cut));
diesel::joinable!(integrantes -> personas (run));
diesel::joinable!(integrantes -> hogares (hogar_id));
diesel::joinable!(fichas -> hogares (hogar_id));
diesel::joinable!(beneficios -> personas (run));
diesel::joinable!(auditoria_sujetos -> auditoria (auditoria_id));

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
