//! SPKI pins as written in agreement files: SHA-256 of the DER SubjectPublicKeyInfo, as 64 hex
//! characters or as standard base64 (the form `openssl ... | base64` and HPKP print).

/// Parses a pin, or `None` when it is neither 64 hex characters nor base64 of 32 bytes.
pub(crate) fn parse(text: &str) -> Option<[u8; 32]> {
    let text = text.trim();
    if text.len() == 64 {
        let mut pin = [0u8; 32];
        return hex::decode_to_slice(text, &mut pin).ok().map(|()| pin);
    }
    base64_32(text)
}

/// Decodes standard base64 (`A-Z a-z 0-9 + /`, padding optional) of exactly 32 bytes: 43
/// characters whose last one carries 2 bits, plus at most one `=`.
fn base64_32(text: &str) -> Option<[u8; 32]> {
    let body = text.strip_suffix('=').unwrap_or(text);
    if body.len() != 43 {
        return None;
    }
    let mut bits: u32 = 0;
    let mut held = 0;
    let mut out = [0u8; 32];
    let mut at = 0;
    for c in body.bytes() {
        bits = (bits << 6) | u32::from(sextet(c)?);
        held += 6;
        if held >= 8 {
            held -= 8;
            out[at] = (bits >> held) as u8;
            at += 1;
            bits &= (1 << held) - 1;
        }
    }
    // 43 × 6 = 258 bits: 32 bytes and 2 left-over bits, which canonical base64 leaves at zero.
    (at == 32 && bits == 0).then_some(out)
}

fn sextet(c: u8) -> Option<u8> {
    match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_hex_in_either_case() {
        let pin: [u8; 32] = std::array::from_fn(|i| i as u8 * 7);
        assert_eq!(parse(&hex::encode(pin)), Some(pin));
        assert_eq!(parse(&hex::encode_upper(pin)), Some(pin));
    }

    #[test]
    fn reads_base64_with_or_without_padding() {
        // SHA-256("") in hex and in base64 (as `openssl dgst -sha256 -binary | base64` prints it).
        let hex = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
        let b64 = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=";
        let expected = parse(hex).unwrap();
        assert_eq!(parse(b64), Some(expected));
        assert_eq!(parse(b64.trim_end_matches('=')), Some(expected));
    }

    #[test]
    fn refuses_anything_else() {
        for bad in [
            "",
            "abc",
            &"g".repeat(64),
            &"a".repeat(63),
            &"a".repeat(66),
            "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFV=", // non-zero left-over bits
            "47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU=", // URL-safe alphabet
            "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU==",
            "sha256/47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=",
        ] {
            assert_eq!(parse(bad), None, "{bad}");
        }
    }
}
