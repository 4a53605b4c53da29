//! The registry's closed lists (kinds of emergency, shelter, damage, needs, aid) and its ids.

/// Kinds of emergency.
pub const TIPOS: [&str; 6] = [
    "erupcion",
    "terremoto",
    "tsunami",
    "incendio",
    "inundacion",
    "otra",
];

/// Where an affected household is sheltered.
pub const ALOJAMIENTOS: [&str; 5] = ["albergue", "familiares", "propia", "arriendo", "otro"];

/// The damage to its dwelling.
pub const DANOS: [&str; 5] = ["sin_dano", "menor", "mayor", "inhabitable", "destruida"];

/// What it needs.
pub const NECESIDADES: [&str; 7] = [
    "agua",
    "alimentos",
    "abrigo",
    "alojamiento",
    "salud",
    "enseres",
    "vivienda",
];

/// Kinds of aid delivered (the report's columns, in this order).
pub const AYUDAS: [&str; 9] = [
    "alimentos",
    "agua",
    "abrigo",
    "kit_higiene",
    "colchones",
    "enseres",
    "bono",
    "subsidio_arriendo",
    "vivienda_emergencia",
];

/// The states of an emergency.
pub const ESTADOS: [&str; 2] = ["activa", "cerrada"];

/// Most affected comunas one emergency names.
pub const MAX_COMUNAS: usize = 60;
/// Longest name of an emergency.
pub const MAX_NOMBRE: usize = 200;
/// Most persons one household record counts.
pub const MAX_INTEGRANTES: u32 = 30;
/// Most units of one aid delivery.
pub const MAX_CANTIDAD: u32 = 1000;
/// Longest id the registry could have written (anything longer is not one of its ids).
pub const MAX_ID: usize = 40;

/// `text` if it is one of `lista`, as the list's own `&'static str`.
pub fn de(lista: &[&'static str], text: &str) -> Option<&'static str> {
    lista.iter().copied().find(|x| *x == text)
}

/// Letters and digits without the easily confused 0, 1, I and O: 32 symbols.
const SIMBOLOS: &[u8; 32] = b"23456789ABCDEFGHJKLMNPQRSTUVWXYZ";

/// `n` random symbols (at most 16), from a v4 UUID's random bytes: each byte picks one of the
/// 32 symbols with equal chance (256 is a multiple of 32).
fn aleatorio(n: usize) -> String {
    uuid::Uuid::new_v4()
        .as_bytes()
        .iter()
        .take(n)
        .map(|b| char::from(SIMBOLOS[usize::from(*b) % SIMBOLOS.len()]))
        .collect()
}

/// A new emergency's id, `EMG-2026-XXXXXXXX` (the year it was declared): random, so ids
/// disclose neither how many there are nor which exist.
pub fn id_emergencia(anio: i32) -> String {
    format!("EMG-{anio}-{}", aleatorio(8))
}

/// A new household record's id, `DAM-XXXX-XXXX-XXXX`.
pub fn id_registro() -> String {
    format!("DAM-{}-{}-{}", aleatorio(4), aleatorio(4), aleatorio(4))
}

/// A new aid delivery's id (not shown to callers).
pub fn id_ayuda() -> String {
    format!("AYU-{}", aleatorio(16))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_have_their_shape_and_differ() {
        let e = id_emergencia(2026);
        assert_eq!(e.len(), "EMG-2026-XXXXXXXX".len());
        assert!(e.starts_with("EMG-2026-"));
        let r = id_registro();
        assert_eq!(r.len(), "DAM-XXXX-XXXX-XXXX".len());
        assert!(
            r[4..]
                .chars()
                .all(|c| c == '-' || SIMBOLOS.contains(&(c as u8)))
        );
        assert_ne!(id_registro(), id_registro());
        assert!(id_ayuda().len() <= MAX_ID);
    }

    #[test]
    fn lists_answer_their_own_names() {
        assert_eq!(de(&TIPOS, "erupcion"), Some("erupcion"));
        assert_eq!(de(&TIPOS, "Erupcion"), None);
        assert_eq!(de(&AYUDAS, "bono"), Some("bono"));
    }
}
