//! The XMP packet: the document catalog's `/Metadata` stream, RDF/XML that publishers' tools
//! fill with Dublin Core (`dc:title`, `dc:creator`) and PRISM (`prism:doi`,
//! `prism:publicationName`) properties, as elements or as attributes of `rdf:Description`.

use quick_xml::events::Event;
use quick_xml::Reader;

/// The most bytes of a packet read: real ones are a few kilobytes.
const MAX_PACKET: usize = 1 << 20;

/// What the packet says.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Xmp {
    pub title: Option<String>,
    pub creators: Vec<String>,
    pub doi: Option<String>,
    pub publication: Option<String>,
}

/// The packet's text, where the catalog has one.
pub(crate) fn packet(doc: &lopdf::Document) -> Option<String> {
    let id = doc
        .catalog()
        .ok()?
        .get(b"Metadata")
        .ok()?
        .as_reference()
        .ok()?;
    let stream = doc.get_object(id).ok()?.as_stream().ok()?;
    let bytes = stream
        .decompressed_content()
        .unwrap_or_else(|_| stream.content.clone());
    if bytes.len() > MAX_PACKET {
        return None;
    }
    Some(String::from_utf8_lossy(&bytes).into_owned())
}

/// Reads the properties; a packet that is not XML gives what was read before the fault.
pub(crate) fn parse(text: &str) -> Xmp {
    let mut out = Xmp::default();
    let mut reader = Reader::from_str(text);
    // Not trimmed: "Heart &amp; lung" arrives as three pieces whose spaces matter.
    // The open elements' names, outermost first.
    let mut path: Vec<String> = Vec::new();
    let mut text_buf = String::new();
    loop {
        match reader.read_event() {
            Ok(Event::Start(e)) => {
                let name = e.name().as_ref().to_string();
                attributes(&e, &mut out);
                path.push(name);
                text_buf.clear();
            }
            Ok(Event::Empty(e)) => attributes(&e, &mut out),
            Ok(Event::Text(t)) => text_buf.push_str(&t),
            Ok(Event::GeneralRef(r)) => {
                let entity = format!("&{};", &*r);
                text_buf.push_str(&quick_xml::escape::unescape(&entity).unwrap_or_default());
            }
            Ok(Event::CData(t)) => text_buf.push_str(&t),
            Ok(Event::End(_)) => {
                let value = text_buf.split_whitespace().collect::<Vec<_>>().join(" ");
                let value = unmangled(&value).unwrap_or(value);
                text_buf.clear();
                let leaf = path.pop().unwrap_or_default();
                if !value.is_empty() {
                    take(&mut out, &path, &leaf, value);
                }
            }
            Ok(Event::Eof) | Err(_) => break,
            Ok(_) => {}
        }
    }
    out
}

/// A value whose UTF-8 a tool read as Latin-1 and wrote again ("ProvidÃªncia" for
/// Providência), read back: every character fits a byte, a lead byte's letter (Â to ô) is
/// there, and the bytes are UTF-8. `None` where the value is as it should be.
fn unmangled(value: &str) -> Option<String> {
    if !value.chars().any(|c| ('\u{c2}'..='\u{f4}').contains(&c)) {
        return None;
    }
    let bytes: Vec<u8> = value
        .chars()
        .map(|c| u8::try_from(u32::from(c)).ok())
        .collect::<Option<_>>()?;
    let text = String::from_utf8(bytes).ok()?;
    // Plain Latin-1 text ("Müller") is not valid UTF-8 as bytes, so it never gets here; a
    // value that changed is the mangled one.
    (text != value).then_some(text)
}

/// Puts a text value where its element says.
fn take(out: &mut Xmp, path: &[String], leaf: &str, value: String) {
    let within = |name: &str| path.iter().any(|p| p == name);
    match leaf {
        "rdf:li" if within("dc:title") => {
            out.title.get_or_insert(value);
        }
        "rdf:li" if within("dc:creator") && out.creators.len() < 1000 => {
            out.creators.push(value);
        }
        "prism:doi" => {
            out.doi.get_or_insert(value);
        }
        "rdf:li" | "dc:identifier"
            if (within("dc:identifier") || leaf == "dc:identifier") && out.doi.is_none() =>
        {
            out.doi = super::doi::first_doi(&value);
        }
        "prism:publicationName" => {
            out.publication.get_or_insert(value);
        }
        _ => {}
    }
}

/// Properties written as attributes (`<rdf:Description prism:doi="...">`).
fn attributes(e: &quick_xml::events::BytesStart, out: &mut Xmp) {
    for attr in e.attributes().flatten() {
        let key = attr.key.as_ref();
        let value: &str = &attr.value;
        let value = quick_xml::escape::unescape(value)
            .map(|v| v.into_owned())
            .unwrap_or_else(|_| value.to_string());
        match key {
            "prism:doi" => {
                out.doi.get_or_insert(value);
            }
            "prism:publicationName" => {
                out.publication.get_or_insert(value);
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_dublin_core_and_prism() {
        let packet = r#"<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF>
            <rdf:Description prism:doi="10.1038/s41467-023-40886-7" prism:publicationName="Nature Communications"/>
            <rdf:Description><dc:title><rdf:Alt><rdf:li xml:lang="x-default">Heart &amp; lung</rdf:li></rdf:Alt></dc:title>
            <dc:creator><rdf:Seq><rdf:li>Jane Doe</rdf:li><rdf:li>John Roe</rdf:li></rdf:Seq></dc:creator>
            </rdf:Description></rdf:RDF></x:xmpmeta>"#;
        let x = parse(packet);
        assert_eq!(x.title.as_deref(), Some("Heart & lung"));
        assert_eq!(x.creators, ["Jane Doe", "John Roe"]);
        assert_eq!(
            unmangled("Prof Rui ProvidÃªncia PhD").as_deref(),
            Some("Prof Rui Providência PhD")
        );
        assert_eq!(unmangled("Jürgen Müller"), None);
        assert_eq!(unmangled("Plain"), None);
        assert_eq!(x.doi.as_deref(), Some("10.1038/s41467-023-40886-7"));
        assert_eq!(x.publication.as_deref(), Some("Nature Communications"));
    }

    #[test]
    fn a_packet_that_is_not_xml_gives_nothing_and_does_not_fail() {
        assert_eq!(parse("\u{0}\u{1}<<<>>>&&&"), Xmp::default());
        let deep = "<a>".repeat(10_000);
        assert_eq!(parse(&deep), Xmp::default());
    }
}
