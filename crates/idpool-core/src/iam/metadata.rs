//! A checking reader for SAML metadata: one well-formed EntityDescriptor carrying an X.509 certificate, no DTDs (spec §3.3; security-and-performance.md §1.1 item 15).

// Not a general XML parser: no DTDs (so no entity expansion), namespace prefixes ignored,
// one pass over the text, a bounded element stack.

/// What IAM needs from a metadata document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SamlMetadata {
    /// The root's `entityID`, the issuer of the provider's assertions.
    pub entity_id: Option<String>,
    /// The root's `validUntil`, as written.
    pub valid_until: Option<String>,
    /// Base64 bodies of every `X509Certificate`, white space removed, in document order.
    pub certificates: Vec<String>,
}

/// Why a document is not usable metadata; IAM answers every case the same way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetadataError;

/// Deep enough for any real metadata document; deeper nesting is rejected rather than followed.
const MAX_DEPTH: usize = 64;

pub fn read_saml_metadata(text: &str) -> Result<SamlMetadata, MetadataError> {
    let mut reader = Reader { text, pos: 0 };
    let mut stack: Vec<&str> = Vec::new();
    let mut seen_root = false;
    let mut metadata = SamlMetadata {
        entity_id: None,
        valid_until: None,
        certificates: Vec::new(),
    };
    // The certificate being read, while inside an `X509Certificate` element.
    let mut certificate: Option<String> = None;

    reader.skip_bom();
    while reader.pos < text.len() {
        let rest = &text[reader.pos..];
        if !rest.starts_with('<') {
            let end = rest.find('<').unwrap_or(rest.len());
            let chunk = &rest[..end];
            reader.pos += end;
            if stack.is_empty() {
                if !chunk.trim().is_empty() {
                    return Err(MetadataError);
                }
            } else if let Some(cert) = certificate.as_mut() {
                // Some IdPs write line breaks inside the base64 as `&#13;`.
                cert.push_str(&decode_entities(chunk)?);
            }
            continue;
        }
        if rest.starts_with("<!--") {
            reader.skip_past("-->")?;
        } else if rest.starts_with("<![CDATA[") {
            if stack.is_empty() {
                return Err(MetadataError);
            }
            reader.pos += "<![CDATA[".len();
            let body = reader.take_until("]]>")?;
            if let Some(cert) = certificate.as_mut() {
                cert.push_str(body);
            }
        } else if rest.starts_with("<?") {
            reader.skip_past("?>")?;
        } else if rest.starts_with("<!") {
            // DOCTYPE and friends: never needed in metadata, and the door to entity expansion.
            return Err(MetadataError);
        } else if rest.starts_with("</") {
            reader.pos += 2;
            let name = reader.take_until(">")?.trim_end();
            if stack.pop() != Some(name) {
                return Err(MetadataError);
            }
            if local_name(name) == "X509Certificate"
                && let Some(cert) = certificate.take()
            {
                let body: String = cert.split_whitespace().collect();
                if !is_base64(&body) {
                    return Err(MetadataError);
                }
                metadata.certificates.push(body);
            }
        } else {
            reader.pos += 1;
            let tag = reader.start_tag()?;
            if stack.is_empty() {
                if seen_root || local_name(tag.name) != "EntityDescriptor" {
                    return Err(MetadataError);
                }
                seen_root = true;
                for (key, value) in &tag.attributes {
                    match *key {
                        "entityID" => metadata.entity_id = Some(decode_entities(value)?),
                        "validUntil" => metadata.valid_until = Some(decode_entities(value)?),
                        _ => {}
                    }
                }
            }
            if local_name(tag.name) == "X509Certificate" {
                if certificate.is_some() {
                    return Err(MetadataError);
                }
                if tag.self_closing {
                    continue;
                }
                certificate = Some(String::new());
            }
            if !tag.self_closing {
                if stack.len() >= MAX_DEPTH {
                    return Err(MetadataError);
                }
                stack.push(tag.name);
            }
        }
    }
    if !seen_root || !stack.is_empty() || metadata.certificates.is_empty() {
        return Err(MetadataError);
    }
    Ok(metadata)
}

struct StartTag<'a> {
    name: &'a str,
    attributes: Vec<(&'a str, &'a str)>,
    self_closing: bool,
}

struct Reader<'a> {
    text: &'a str,
    pos: usize,
}

impl<'a> Reader<'a> {
    fn skip_bom(&mut self) {
        if self.text.starts_with('\u{feff}') {
            self.pos = '\u{feff}'.len_utf8();
        }
    }

    fn rest(&self) -> &'a str {
        &self.text[self.pos..]
    }

    fn skip_past(&mut self, end: &str) -> Result<(), MetadataError> {
        self.take_until(end).map(|_| ())
    }

    /// The text up to `end`, leaving the reader just after `end`.
    fn take_until(&mut self, end: &str) -> Result<&'a str, MetadataError> {
        let rest = self.rest();
        let at = rest.find(end).ok_or(MetadataError)?;
        self.pos += at + end.len();
        Ok(&rest[..at])
    }

    fn skip_space(&mut self) {
        let rest = self.rest();
        self.pos += rest.len() - rest.trim_start().len();
    }

    fn name(&mut self) -> Result<&'a str, MetadataError> {
        let rest = self.rest();
        let len = rest
            .find(|c: char| c.is_whitespace() || matches!(c, '=' | '>' | '/' | '<' | '"' | '\''))
            .unwrap_or(rest.len());
        if len == 0 {
            return Err(MetadataError);
        }
        self.pos += len;
        Ok(&rest[..len])
    }

    /// A start tag, with the reader just past its `<`.
    fn start_tag(&mut self) -> Result<StartTag<'a>, MetadataError> {
        let name = self.name()?;
        let mut attributes = Vec::new();
        loop {
            let before = self.pos;
            self.skip_space();
            let rest = self.rest();
            if let Some(after) = rest.strip_prefix("/>") {
                self.pos = self.text.len() - after.len();
                return Ok(StartTag {
                    name,
                    attributes,
                    self_closing: true,
                });
            }
            if rest.starts_with('>') {
                self.pos += 1;
                return Ok(StartTag {
                    name,
                    attributes,
                    self_closing: false,
                });
            }
            if self.pos == before {
                // Attributes must be separated from the name and from each other.
                return Err(MetadataError);
            }
            let key = self.name()?;
            self.skip_space();
            if !self.rest().starts_with('=') {
                return Err(MetadataError);
            }
            self.pos += 1;
            self.skip_space();
            let quote = match self.rest().chars().next() {
                Some(q @ ('"' | '\'')) => q,
                _ => return Err(MetadataError),
            };
            self.pos += 1;
            let value = self.take_until(if quote == '"' { "\"" } else { "'" })?;
            if value.contains('<') || attributes.iter().any(|(k, _)| *k == key) {
                return Err(MetadataError);
            }
            attributes.push((key, value));
        }
    }
}

fn local_name(name: &str) -> &str {
    name.rsplit(':').next().unwrap_or(name)
}

fn is_base64(body: &str) -> bool {
    !body.is_empty()
        && body.trim_end_matches('=').len() + 2 >= body.len()
        && body
            .trim_end_matches('=')
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/')
}

/// Expands XML's predefined and numeric character references in an attribute value.
fn decode_entities(raw: &str) -> Result<String, MetadataError> {
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        let end = after.find(';').ok_or(MetadataError)?;
        let entity = &after[..end];
        let c = match entity {
            "amp" => '&',
            "lt" => '<',
            "gt" => '>',
            "quot" => '"',
            "apos" => '\'',
            _ => {
                let code = if let Some(hex) = entity.strip_prefix("#x") {
                    u32::from_str_radix(hex, 16).ok()
                } else if let Some(dec) = entity.strip_prefix('#') {
                    dec.parse().ok()
                } else {
                    None
                };
                code.and_then(char::from_u32).ok_or(MetadataError)?
            }
        };
        out.push(c);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A realistic metadata document (over AWS's 1,000-character minimum).
    pub(crate) fn document(valid_until: Option<&str>) -> String {
        let until = valid_until
            .map(|v| format!(" validUntil=\"{v}\""))
            .unwrap_or_default();
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
             <!-- exported by a test IdP -->\n\
             <md:EntityDescriptor xmlns:md=\"urn:oasis:names:tc:SAML:2.0:metadata\" \
             entityID=\"https://idp.example.com/saml?a=1&amp;b=2\"{until}>\n\
             <md:IDPSSODescriptor WantAuthnRequestsSigned=\"false\" \
             protocolSupportEnumeration=\"urn:oasis:names:tc:SAML:2.0:protocol\">\n\
             <md:KeyDescriptor use=\"signing\">\n\
             <ds:KeyInfo xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\"><ds:X509Data>\n\
             <ds:X509Certificate>\n{cert}\n{cert}\n</ds:X509Certificate>\n\
             </ds:X509Data></ds:KeyInfo>\n</md:KeyDescriptor>\n\
             <md:NameIDFormat>urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified</md:NameIDFormat>\n\
             <md:SingleSignOnService Binding=\"urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect\" \
             Location=\"https://idp.example.com/sso\"/>\n\
             </md:IDPSSODescriptor>\n</md:EntityDescriptor>\n",
            cert = "MIIDdzCCAl+gAwIBAgIEbJ3Bf2ANBgkqhkiG9w0BAQsFADBsMRAwDgYDVQQGEwdVbmtub3du\
                    MRAwDgYDVQQIEwdVbmtub3duMRAwDgYDVQQHEwdVbmtub3duMRAwDgYDVQQKEwdVbmtub3du\
                    MRAwDgYDVQQLEwdVbmtub3duMRAwDgYDVQQDEwdVbmtub3duMB4XDTI2MDEwMTAwMDAwMFoX\
                    DTM2MDEwMTAwMDAwMFowbDEQMA4GA1UEBhMHVW5rbm93bjEQMA4GA1UECBMHVW5rbm93bjEQ"
        )
    }

    #[test]
    fn reads_root_attributes_and_certificates() {
        let doc = document(Some("2031-05-01T00:00:00Z"));
        assert!(doc.len() > 1000);
        let m = read_saml_metadata(&doc).unwrap();
        assert_eq!(
            m.entity_id.as_deref(),
            Some("https://idp.example.com/saml?a=1&b=2")
        );
        assert_eq!(m.valid_until.as_deref(), Some("2031-05-01T00:00:00Z"));
        assert_eq!(m.certificates.len(), 1);
        assert!(m.certificates[0].starts_with("MIIDdzCCAl+gAwIBAgIE"));
        assert!(!m.certificates[0].contains(char::is_whitespace));
    }

    #[test]
    fn cdata_certificates_and_unprefixed_names_count() {
        let doc = "<EntityDescriptor entityID='x'><X509Certificate><![CDATA[QUJD]]>\
                   </X509Certificate></EntityDescriptor>";
        assert_eq!(read_saml_metadata(doc).unwrap().certificates, ["QUJD"]);
    }

    #[test]
    fn character_references_inside_certificates_are_read() {
        let doc = "<EntityDescriptor><X509Certificate>QU&#13;\nJD&#xD;</X509Certificate>\
                   </EntityDescriptor>";
        assert_eq!(read_saml_metadata(doc).unwrap().certificates, ["QUJD"]);
    }

    #[test]
    fn refuses_what_is_not_usable_metadata() {
        let good = document(None);
        let cases = [
            String::new(),
            "not xml at all".to_string(),
            format!("<a>{}</a>", "x".repeat(1000)),
            good.replace("X509Certificate", "X509SubjectName"),
            good.replace("</md:IDPSSODescriptor>", ""),
            good.replace(
                "<md:EntityDescriptor",
                "<!DOCTYPE x [<!ENTITY e \"e\">]><md:EntityDescriptor",
            ),
            format!("{good}<md:EntityDescriptor/>"),
            format!("{good} trailing text"),
            good.replace("use=\"signing\"", "use=signing"),
            good.replace("use=\"signing\"", "use=\"a\" use=\"b\""),
            good.replace("MIIDdzCC", "MI*DdzCC"),
            "<EntityDescriptor><X509Certificate>  </X509Certificate></EntityDescriptor>".into(),
            "<EntityDescriptor><X509Certificate/></EntityDescriptor>".into(),
            format!("{}<EntityDescriptor>{}", "<!-- unclosed", ""),
        ];
        for doc in cases {
            assert_eq!(read_saml_metadata(&doc), Err(MetadataError), "{doc}");
        }
    }

    #[test]
    fn deep_nesting_is_refused_not_followed() {
        let doc = format!(
            "<EntityDescriptor>{}<X509Certificate>QUJD</X509Certificate>{}</EntityDescriptor>",
            "<a>".repeat(100),
            "</a>".repeat(100)
        );
        assert_eq!(read_saml_metadata(&doc), Err(MetadataError));
    }
}
