//! What every reader of untrusted XML shares (SOAP envelopes, provider feeds): no DTD, no
//! entity but the five XML predefines, so nothing is expanded or fetched.

use quick_xml::events::BytesRef;

/// The character a reference stands for: a character reference, or one of the five
/// predefined entities; any other entity is refused (the message says why, without echoing it).
pub fn referencia(reference: &BytesRef<'_>) -> Result<char, &'static str> {
    if reference.is_char_ref() {
        return reference
            .resolve_char_ref()
            .ok()
            .flatten()
            .ok_or("a bad character reference");
    }
    match reference.as_ref() {
        "lt" => Ok('<'),
        "gt" => Ok('>'),
        "amp" => Ok('&'),
        "apos" => Ok('\''),
        "quot" => Ok('"'),
        _ => Err("entities are not accepted"),
    }
}

#[cfg(test)]
mod tests {
    use quick_xml::Reader;
    use quick_xml::events::Event;

    /// The references of `text`, each as `referencia` reads it.
    fn refs(text: &str) -> Vec<Result<char, &'static str>> {
        let mut reader = Reader::from_str(text);
        let mut out = Vec::new();
        loop {
            match reader.read_event().unwrap() {
                Event::GeneralRef(r) => out.push(super::referencia(&r)),
                Event::Eof => return out,
                _ => {}
            }
        }
    }

    #[test]
    fn only_character_references_and_the_five_predefined_entities_are_read() {
        let read = refs("<a>&lt;&gt;&amp;&apos;&quot;&#233;&#x41;&xxe;&#0;</a>");
        assert_eq!(
            read,
            [
                Ok('<'),
                Ok('>'),
                Ok('&'),
                Ok('\''),
                Ok('"'),
                Ok('é'),
                Ok('A'),
                Err("entities are not accepted"),
                Err("a bad character reference"),
            ]
        );
    }
}
