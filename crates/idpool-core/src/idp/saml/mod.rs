//! SAML 2.0 logins: a base64 `SAMLResponse` whose assertion is signed by a certificate of the IAM SAML provider's metadata, for the audience, recipient and time it claims (spec §3.3 SAML, §4.9; security-and-performance.md §1.1 item 15).

// Defences, each against a published attack class:
// - one parser for checking and reading; no DTD at all (XXE, entity expansion);
// - exactly one Assertion in the whole document, no EncryptedAssertion, every `ID` unique;
// - the signature must be a direct child of the element it signs and reference that element's
//   ID, and everything read comes from that same signed element (signature wrapping);
// - text is read whole across comments (comment injection);
// - work done before any key is checked is bounded: input size, namespace prefixes, nodes,
//   nesting and canonical size (one request must not cost seconds, memory or the process).

pub mod c14n;
pub mod dsig;
pub mod x509;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

use base64::Engine;
use roxmltree::{Document, Node};

use dsig::{DsigError, full_text};
use x509::PublicKey;

pub const PROTOCOL_NS: &str = "urn:oasis:names:tc:SAML:2.0:protocol";
pub const ASSERTION_NS: &str = "urn:oasis:names:tc:SAML:2.0:assertion";
const STATUS_SUCCESS: &str = "urn:oasis:names:tc:SAML:2.0:status:Success";
const BEARER: &str = "urn:oasis:names:tc:SAML:2.0:cm:bearer";
/// The attribute naming the roles a SAML user may take, as `role-arn,provider-arn` pairs.
pub const ROLE_ATTRIBUTE: &str = "https://aws.amazon.com/SAML/Attributes/Role";

/// Elements a response may hold; real ones have a few dozen.
const MAX_NODES: u32 = 4_000;
/// Distinct namespace prefixes a response may declare; real ones use under a dozen. Parsing
/// and inclusive canonicalization do work per element that grows with the square of the
/// namespaces in scope, so without a bound one 35 kB response cost seconds of CPU.
const MAX_PREFIXES: usize = 64;
/// The longest base64 `SAMLResponse`: AWS's limit on a `Logins` value, which the bounds
/// above assume.
const MAX_ENCODED_LEN: usize = 50_000;

/// The audiences and recipients AWS's SAML endpoint answers to, for a region.
pub fn aws_endpoints(region: &str) -> Vec<String> {
    vec![
        "https://signin.aws.amazon.com/saml".to_string(),
        format!("https://{region}.signin.aws.amazon.com/saml"),
        "urn:amazon:webservices".to_string(),
    ]
}

/// What a verifier knows about the provider: from its IAM metadata.
#[derive(Debug, Clone)]
pub struct SamlProviderKeys {
    /// The provider's ARN, the `Logins` key.
    pub arn: String,
    /// The metadata's `entityID`: assertions must name it as Issuer.
    pub entity_id: Option<String>,
    pub keys: Vec<PublicKey>,
}

impl SamlProviderKeys {
    /// Keys from the base64 certificates of the metadata; certificates that cannot be read or
    /// hold keys of other kinds are skipped.
    pub fn new(arn: &str, entity_id: Option<String>, certificates: &[String]) -> SamlProviderKeys {
        let keys = certificates
            .iter()
            .filter_map(|c| base64::engine::general_purpose::STANDARD.decode(c).ok())
            .filter_map(|der| x509::public_key(&der).ok())
            .collect();
        SamlProviderKeys {
            arn: arn.to_string(),
            entity_id,
            keys,
        }
    }
}

/// What a genuine assertion vouches for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedAssertion {
    /// The NameID: the user's key at the provider.
    pub subject: String,
    /// The audience it was accepted for.
    pub audience: String,
    /// Attribute name to values, in document order.
    pub attributes: BTreeMap<String, Vec<String>>,
    /// Roles the Role attribute pairs with this provider's ARN.
    pub roles: Vec<String>,
}

/// Why an assertion is refused. The client sees one of two messages; the reason is logged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SamlError {
    /// Not a well-formed, correctly signed response from this provider.
    Invalid(&'static str),
    /// Genuine, but not for us or not now.
    Rejected(&'static str),
}

impl SamlError {
    pub fn reason(&self) -> &'static str {
        match self {
            SamlError::Invalid(r) | SamlError::Rejected(r) => r,
        }
    }
}

impl From<DsigError> for SamlError {
    fn from(e: DsigError) -> Self {
        SamlError::Invalid(e.0)
    }
}

fn is_saml(node: Node<'_, '_>, ns: &str, name: &str) -> bool {
    node.is_element() && node.tag_name().namespace() == Some(ns) && node.tag_name().name() == name
}

fn children<'a, 'i>(
    node: Node<'a, 'i>,
    ns: &'a str,
    name: &'a str,
) -> impl Iterator<Item = Node<'a, 'i>> + 'a {
    node.children().filter(move |c| is_saml(*c, ns, name))
}

fn one_child<'a, 'i>(node: Node<'a, 'i>, name: &'static str) -> Result<Node<'a, 'i>, SamlError> {
    let mut it = children(node, ASSERTION_NS, name);
    match (it.next(), it.next()) {
        (Some(one), None) => Ok(one),
        (None, _) => Err(SamlError::Invalid(
            "a required assertion element is missing",
        )),
        _ => Err(SamlError::Invalid("an assertion element is repeated")),
    }
}

fn parse_time(text: &str) -> Result<i64, SamlError> {
    let t =
        time::OffsetDateTime::parse(text.trim(), &time::format_description::well_known::Rfc3339)
            .map_err(|_| SamlError::Invalid("malformed time"))?;
    Ok((t.unix_timestamp_nanos() / 1_000_000) as i64)
}

/// Verifies a base64 `SAMLResponse` for `provider` at `now_ms`, allowing `leeway_s` of clock
/// skew, for one of `endpoints` as audience and recipient.
pub fn verify_response(
    encoded: &str,
    provider: &SamlProviderKeys,
    endpoints: &[String],
    now_ms: i64,
    leeway_s: i64,
) -> Result<VerifiedAssertion, SamlError> {
    if encoded.len() > MAX_ENCODED_LEN {
        return Err(SamlError::Invalid("the response is too long"));
    }
    let compact: String = encoded
        .chars()
        .filter(|c| !c.is_ascii_whitespace())
        .collect();
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(compact)
        .map_err(|_| SamlError::Invalid("not base64"))?;
    let text = String::from_utf8(bytes).map_err(|_| SamlError::Invalid("not UTF-8"))?;
    // roxmltree lets an empty DOCTYPE through; any DOCTYPE is refused here instead.
    if text.contains("<!DOCTYPE") || text.contains("<!ENTITY") {
        return Err(SamlError::Invalid(
            "document type declarations are not accepted",
        ));
    }
    if too_many_prefixes(&text) {
        return Err(SamlError::Invalid("too many namespace prefixes"));
    }
    let options = roxmltree::ParsingOptions {
        allow_dtd: false,
        nodes_limit: MAX_NODES,
        ..Default::default()
    };
    let doc = Document::parse_with_options(&text, options)
        .map_err(|_| SamlError::Invalid("not well-formed XML"))?;
    read_response(&doc, provider, endpoints, now_ms, leeway_s)
}

/// Whether the text declares more than `MAX_PREFIXES` distinct prefixes. Counted on the text
/// so the parser never sees such a document: a declaration is always the literal `xmlns:`
/// followed by the prefix (no DTD, so no entities), and text that only mentions `xmlns:`
/// can only over-count.
fn too_many_prefixes(text: &str) -> bool {
    let mut seen = std::collections::BTreeSet::new();
    for (at, marker) in text.match_indices("xmlns:") {
        let rest = &text[at + marker.len()..];
        let end = rest
            .find(|c: char| c == '=' || c.is_whitespace())
            .unwrap_or(rest.len());
        seen.insert(&rest[..end]);
        if seen.len() > MAX_PREFIXES {
            return true;
        }
    }
    false
}

fn read_response(
    doc: &Document<'_>,
    provider: &SamlProviderKeys,
    endpoints: &[String],
    now_ms: i64,
    leeway_s: i64,
) -> Result<VerifiedAssertion, SamlError> {
    let response = doc.root_element();
    if !is_saml(response, PROTOCOL_NS, "Response") {
        return Err(SamlError::Invalid("the document is not a SAML Response"));
    }
    // Wrapping attacks need a second assertion or a duplicated ID somewhere in the document.
    let mut assertions = doc
        .descendants()
        .filter(|n| is_saml(*n, ASSERTION_NS, "Assertion"));
    let assertion = match (assertions.next(), assertions.next()) {
        (Some(a), None) => a,
        (None, _) => {
            if doc
                .descendants()
                .any(|n| is_saml(n, ASSERTION_NS, "EncryptedAssertion"))
            {
                return Err(SamlError::Invalid("encrypted assertions are not supported"));
            }
            return Err(SamlError::Invalid("the response carries no assertion"));
        }
        _ => {
            return Err(SamlError::Invalid(
                "the response carries several assertions",
            ));
        }
    };
    if doc
        .descendants()
        .any(|n| is_saml(n, ASSERTION_NS, "EncryptedAssertion"))
    {
        return Err(SamlError::Invalid("encrypted assertions are not supported"));
    }
    let mut ids: Vec<&str> = doc
        .descendants()
        .filter_map(|n| n.attribute("ID"))
        .collect();
    ids.sort_unstable();
    if ids.windows(2).any(|w| w[0] == w[1]) {
        return Err(SamlError::Invalid("an ID is used twice"));
    }
    if assertion.parent() != Some(response) {
        return Err(SamlError::Invalid(
            "the assertion is not a child of the response",
        ));
    }

    let response_signed = !dsig::signatures(response).is_empty();
    let assertion_signed = !dsig::signatures(assertion).is_empty();
    if !response_signed && !assertion_signed {
        return Err(SamlError::Invalid(
            "neither the response nor the assertion is signed",
        ));
    }
    if response_signed {
        let id = response
            .attribute("ID")
            .ok_or(SamlError::Invalid("the response has no ID"))?;
        dsig::verify_enveloped(response, id, &provider.keys)?;
    }
    if assertion_signed {
        let id = assertion
            .attribute("ID")
            .ok_or(SamlError::Invalid("the assertion has no ID"))?;
        dsig::verify_enveloped(assertion, id, &provider.keys)?;
    }

    // Status lives outside the assertion; an unsigned one is still trusted only to refuse.
    let status_ok = response
        .children()
        .find(|c| is_saml(*c, PROTOCOL_NS, "Status"))
        .and_then(|s| {
            s.children()
                .find(|c| is_saml(*c, PROTOCOL_NS, "StatusCode"))
        })
        .and_then(|c| c.attribute("Value"))
        == Some(STATUS_SUCCESS);
    if !status_ok {
        return Err(SamlError::Rejected("the response status is not Success"));
    }
    // A signed response must name where it was posted (SAML bindings §3.5.5.2); an unsigned
    // one may say anything, so its Destination too is trusted only to refuse.
    if let Some(destination) = response.attribute("Destination")
        && !endpoints.iter().any(|e| e == destination)
    {
        return Err(SamlError::Rejected(
            "the response is addressed to another destination",
        ));
    }

    read_assertion(assertion, provider, endpoints, now_ms, leeway_s)
}

fn read_assertion(
    assertion: Node<'_, '_>,
    provider: &SamlProviderKeys,
    endpoints: &[String],
    now_ms: i64,
    leeway_s: i64,
) -> Result<VerifiedAssertion, SamlError> {
    let leeway_ms = leeway_s * 1000;
    let issuer = full_text(one_child(assertion, "Issuer")?);
    if let Some(entity) = &provider.entity_id
        && issuer.trim() != entity
    {
        return Err(SamlError::Rejected(
            "the assertion's issuer is not the provider",
        ));
    }

    let subject = one_child(assertion, "Subject")?;
    let name_id = full_text(one_child(subject, "NameID")?).trim().to_string();
    if name_id.is_empty() {
        return Err(SamlError::Invalid("the NameID is empty"));
    }
    let mut confirmed = false;
    for confirmation in children(subject, ASSERTION_NS, "SubjectConfirmation") {
        if confirmation.attribute("Method") != Some(BEARER) {
            continue;
        }
        let Some(data) = children(confirmation, ASSERTION_NS, "SubjectConfirmationData").next()
        else {
            continue;
        };
        let Some(not_on_or_after) = data.attribute("NotOnOrAfter") else {
            continue;
        };
        if parse_time(not_on_or_after)? + leeway_ms <= now_ms {
            continue;
        }
        if let Some(nb) = data.attribute("NotBefore")
            && parse_time(nb)? - leeway_ms > now_ms
        {
            continue;
        }
        // The Web Browser SSO profile requires a bearer confirmation to name its recipient
        // (SAML profiles §4.1.4.2), as it requires NotOnOrAfter.
        if !data
            .attribute("Recipient")
            .is_some_and(|r| endpoints.iter().any(|e| e == r))
        {
            continue;
        }
        confirmed = true;
        break;
    }
    if !confirmed {
        return Err(SamlError::Rejected(
            "no bearer subject confirmation is current and addressed to AWS",
        ));
    }

    let conditions = one_child(assertion, "Conditions")?;
    if let Some(nb) = conditions.attribute("NotBefore")
        && parse_time(nb)? - leeway_ms > now_ms
    {
        return Err(SamlError::Rejected("the assertion is not valid yet"));
    }
    if let Some(nooa) = conditions.attribute("NotOnOrAfter")
        && parse_time(nooa)? + leeway_ms <= now_ms
    {
        return Err(SamlError::Rejected("the assertion has expired"));
    }
    // Every AudienceRestriction must name us (SAML core §2.5.1.4); at least one must exist.
    let mut audience = None;
    for restriction in children(conditions, ASSERTION_NS, "AudienceRestriction") {
        let found = children(restriction, ASSERTION_NS, "Audience")
            .map(|a| full_text(a).trim().to_string())
            .find(|a| endpoints.contains(a));
        match found {
            Some(a) => audience = audience.or(Some(a)),
            None => return Err(SamlError::Rejected("the assertion is for another audience")),
        }
    }
    let audience = audience.ok_or(SamlError::Rejected("the assertion names no audience"))?;

    let mut attributes: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for statement in children(assertion, ASSERTION_NS, "AttributeStatement") {
        for attribute in children(statement, ASSERTION_NS, "Attribute") {
            let Some(name) = attribute.attribute("Name") else {
                continue;
            };
            let values = attributes.entry(name.to_string()).or_default();
            values.extend(
                children(attribute, ASSERTION_NS, "AttributeValue")
                    .map(|v| full_text(v).trim().to_string()),
            );
        }
    }
    let roles = attributes
        .get(ROLE_ATTRIBUTE)
        .map(|values| roles_for(values, &provider.arn))
        .unwrap_or_default();

    Ok(VerifiedAssertion {
        subject: name_id,
        audience,
        attributes,
        roles,
    })
}

/// The role ARNs of `role-arn,provider-arn` pairs (either order) naming `provider_arn`.
fn roles_for(values: &[String], provider_arn: &str) -> Vec<String> {
    let mut roles = Vec::new();
    for v in values {
        let Some((a, b)) = v.split_once(',') else {
            continue;
        };
        let (a, b) = (a.trim(), b.trim());
        let role = if b == provider_arn && a.contains(":role/") {
            a
        } else if a == provider_arn && b.contains(":role/") {
            b
        } else {
            continue;
        };
        if !roles.iter().any(|r| r == role) {
            roles.push(role.to_string());
        }
    }
    roles
}
