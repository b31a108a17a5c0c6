//! Checking the enveloped XML signature of one element: one Reference to that element, known transforms and algorithms only, keys from metadata only (W3C xmldsig-core1 §3.2; security-and-performance.md §1.1 item 15).

// What this accepts is deliberately narrow, because every extra option of XML-DSig has been
// an attack: the signature must be a direct child of the element it signs, reference it by
// its unique ID, use only the enveloped-signature and canonicalization transforms, and verify
// with a certificate from the provider's metadata. KeyInfo is never read.

use aws_lc_rs::{digest, signature};
use base64::Engine;
use roxmltree::Node;

use super::c14n::{self, Method};
use super::x509::PublicKey;

pub const DS_NS: &str = "http://www.w3.org/2000/09/xmldsig#";
const ENVELOPED: &str = "http://www.w3.org/2000/09/xmldsig#enveloped-signature";

/// Why a signature does not hold. Clients get one message for all; the reason is logged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DsigError(pub &'static str);

/// Whether `node` is a `ds:<name>` element.
pub fn is_ds(node: Node<'_, '_>, name: &str) -> bool {
    node.is_element()
        && node.tag_name().namespace() == Some(DS_NS)
        && node.tag_name().name() == name
}

/// The element's `ds:Signature` children.
pub fn signatures<'a, 'i>(element: Node<'a, 'i>) -> Vec<Node<'a, 'i>> {
    element
        .children()
        .filter(|c| is_ds(*c, "Signature"))
        .collect()
}

/// The full text of an element: every text descendant, so a comment cannot cut it short.
pub fn full_text(node: Node<'_, '_>) -> String {
    node.descendants()
        .filter(|d| d.is_text())
        .filter_map(|d| d.text())
        .collect()
}

fn child_elements<'a, 'i>(node: Node<'a, 'i>) -> impl Iterator<Item = Node<'a, 'i>> {
    node.children().filter(|c| c.is_element())
}

fn only_child<'a, 'i>(node: Node<'a, 'i>, name: &str) -> Result<Node<'a, 'i>, DsigError> {
    let mut found = node.children().filter(|c| is_ds(*c, name));
    match (found.next(), found.next()) {
        (Some(one), None) => Ok(one),
        _ => Err(DsigError("signature element missing or repeated")),
    }
}

fn algorithm<'a>(node: Node<'a, '_>) -> Result<&'a str, DsigError> {
    node.attribute("Algorithm")
        .ok_or(DsigError("algorithm missing"))
}

/// A canonicalization method with its `InclusiveNamespaces` prefix list.
fn method_of(node: Node<'_, '_>) -> Result<Method, DsigError> {
    let mut method =
        Method::from_uri(algorithm(node)?).ok_or(DsigError("unsupported canonicalization"))?;
    for child in child_elements(node) {
        let is_list = method.exclusive
            && child.tag_name().namespace() == Some(Method::EXC)
            && child.tag_name().name() == "InclusiveNamespaces";
        if !is_list {
            return Err(DsigError("unexpected canonicalization parameter"));
        }
        method.inclusive_prefixes = child
            .attribute("PrefixList")
            .unwrap_or_default()
            .split_ascii_whitespace()
            .map(|p| if p == "#default" { "" } else { p }.to_string())
            .collect();
        // Every element of the canonicalized subtree considers each listed prefix, and the
        // list is read before any key is checked: one no longer than the prefixes a response
        // may declare is all a signer can need.
        method.inclusive_prefixes.sort_unstable();
        method.inclusive_prefixes.dedup();
        if method.inclusive_prefixes.len() > super::MAX_PREFIXES {
            return Err(DsigError("too many inclusive namespace prefixes"));
        }
    }
    Ok(method)
}

fn digest_algorithm(uri: &str) -> Result<&'static digest::Algorithm, DsigError> {
    Ok(match uri {
        "http://www.w3.org/2000/09/xmldsig#sha1" => &digest::SHA1_FOR_LEGACY_USE_ONLY,
        "http://www.w3.org/2001/04/xmlenc#sha256" => &digest::SHA256,
        "http://www.w3.org/2001/04/xmldsig-more#sha384" => &digest::SHA384,
        "http://www.w3.org/2001/04/xmlenc#sha512" => &digest::SHA512,
        _ => return Err(DsigError("unsupported digest")),
    })
}

fn decode_base64(text: &str) -> Result<Vec<u8>, DsigError> {
    let compact: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    base64::engine::general_purpose::STANDARD
        .decode(compact)
        .map_err(|_| DsigError("malformed base64"))
}

/// Checks that `element` carries exactly one enveloped signature over itself that one of
/// `keys` made. `id` is the element's ID, already known to be unique in the document.
pub fn verify_enveloped(
    element: Node<'_, '_>,
    id: &str,
    keys: &[PublicKey],
) -> Result<(), DsigError> {
    let signature_node = match signatures(element).as_slice() {
        [one] => *one,
        [] => return Err(DsigError("element is not signed")),
        _ => return Err(DsigError("element carries several signatures")),
    };
    let signed_info = only_child(signature_node, "SignedInfo")?;
    let c14n_method = method_of(only_child(signed_info, "CanonicalizationMethod")?)?;
    let signature_method = algorithm(only_child(signed_info, "SignatureMethod")?)?;
    let reference = only_child(signed_info, "Reference")?;
    if child_elements(signed_info).any(|c| {
        !["CanonicalizationMethod", "SignatureMethod", "Reference"].contains(&c.tag_name().name())
    }) {
        return Err(DsigError("unexpected element in SignedInfo"));
    }

    // The reference must name the element the signature sits in, and nothing else.
    if reference.attribute("URI") != Some(&format!("#{id}")) {
        return Err(DsigError("reference does not name the signed element"));
    }
    let mut content_method = Method::from_uri(Method::INC).ok_or(DsigError("c14n"))?;
    let mut enveloped = false;
    if let Some(transforms) = reference.children().find(|c| is_ds(*c, "Transforms")) {
        for t in child_elements(transforms) {
            if !is_ds(t, "Transform") {
                return Err(DsigError("unexpected element in Transforms"));
            }
            if algorithm(t)? == ENVELOPED {
                enveloped = true;
            } else {
                content_method = method_of(t).map_err(|e| match e.0 {
                    "unsupported canonicalization" => DsigError("unsupported transform"),
                    _ => e,
                })?;
            }
        }
    }
    if !enveloped {
        return Err(DsigError("signature is not enveloped"));
    }
    // A same-document reference by ID selects the element without its comments, whatever
    // canonicalization follows (xmldsig-core1 §4.4.3.3).
    content_method.with_comments = false;
    let digest_alg = digest_algorithm(algorithm(only_child(reference, "DigestMethod")?)?)?;
    let expected = decode_base64(&full_text(only_child(reference, "DigestValue")?))?;
    let content = c14n::canonicalize(element, &content_method, Some(signature_node.id()))
        .map_err(|e| DsigError(e.0))?;
    if digest::digest(digest_alg, &content).as_ref() != expected.as_slice() {
        return Err(DsigError("digest does not match the signed element"));
    }

    let signed_bytes =
        c14n::canonicalize(signed_info, &c14n_method, None).map_err(|e| DsigError(e.0))?;
    let value = decode_base64(&full_text(only_child(signature_node, "SignatureValue")?))?;
    if keys
        .iter()
        .any(|k| verify_signature(signature_method, k, &signed_bytes, &value))
    {
        Ok(())
    } else {
        Err(DsigError(
            "signature does not verify with the provider's certificates",
        ))
    }
}

fn verify_signature(method: &str, key: &PublicKey, message: &[u8], sig: &[u8]) -> bool {
    let (alg, key): (&dyn signature::VerificationAlgorithm, &[u8]) = match (method, key) {
        ("http://www.w3.org/2000/09/xmldsig#rsa-sha1", PublicKey::Rsa(k)) => {
            (&signature::RSA_PKCS1_2048_8192_SHA1_FOR_LEGACY_USE_ONLY, k)
        }
        ("http://www.w3.org/2001/04/xmldsig-more#rsa-sha256", PublicKey::Rsa(k)) => {
            (&signature::RSA_PKCS1_2048_8192_SHA256, k)
        }
        ("http://www.w3.org/2001/04/xmldsig-more#rsa-sha384", PublicKey::Rsa(k)) => {
            (&signature::RSA_PKCS1_2048_8192_SHA384, k)
        }
        ("http://www.w3.org/2001/04/xmldsig-more#rsa-sha512", PublicKey::Rsa(k)) => {
            (&signature::RSA_PKCS1_2048_8192_SHA512, k)
        }
        ("http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256", PublicKey::EcP256(k)) => {
            (&signature::ECDSA_P256_SHA256_FIXED, k)
        }
        ("http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha384", PublicKey::EcP384(k)) => {
            (&signature::ECDSA_P384_SHA384_FIXED, k)
        }
        _ => return false,
    };
    signature::UnparsedPublicKey::new(alg, key)
        .verify(message, sig)
        .is_ok()
}
