// SAML responses signed by an independent implementation (signxml over lxml/xmlsec, see
// tests/fixtures/saml/README.md) and attacked copies of them; each case says what it expects.

use std::path::PathBuf;

use base64::Engine;
use serde_json::Value;

use super::*;

const PROVIDER: &str = "arn:aws:iam::000000000000:saml-provider/TestIdP";
/// 2030-01-01T00:00:00Z: inside every fixture's validity window except the time cases'.
const NOW_MS: i64 = 1_893_456_000_000;

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/saml")
}

fn provider_from(metadata_file: &str) -> SamlProviderKeys {
    let text = std::fs::read_to_string(fixtures().join(metadata_file)).unwrap();
    let m = crate::iam::metadata::read_saml_metadata(&text).unwrap();
    SamlProviderKeys::new(PROVIDER, m.entity_id, &m.certificates)
}

fn encode(xml: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(xml)
}

fn verify(xml: &[u8], provider: &SamlProviderKeys) -> Result<VerifiedAssertion, SamlError> {
    verify_response(
        &encode(xml),
        provider,
        &aws_endpoints("us-east-1"),
        NOW_MS,
        60,
    )
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect()
}

#[test]
fn every_fixture_case_is_accepted_or_refused_as_recorded() {
    let provider = provider_from("metadata.xml");
    assert!(!provider.keys.is_empty(), "metadata certificate unreadable");
    let cases: Value =
        serde_json::from_slice(&std::fs::read(fixtures().join("cases.json")).unwrap()).unwrap();
    let cases = cases.as_array().unwrap();
    assert!(
        cases.len() >= 30,
        "fixture set is incomplete: {}",
        cases.len()
    );
    let mut failures = Vec::new();
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let xml = std::fs::read(fixtures().join(case["file"].as_str().unwrap())).unwrap();
        let result = verify(&xml, &provider);
        match (case["expect"].as_str().unwrap(), result) {
            ("ok", Ok(a)) => {
                if a.subject != case["subject"].as_str().unwrap() {
                    failures.push(format!("{name}: subject {:?}", a.subject));
                }
                if a.roles != strings(&case["roles"]) {
                    failures.push(format!("{name}: roles {:?}", a.roles));
                }
                if let Some(attrs) = case.get("attributes").and_then(Value::as_object) {
                    for (k, v) in attrs {
                        if a.attributes.get(k) != Some(&strings(v)) {
                            failures
                                .push(format!("{name}: attribute {k} {:?}", a.attributes.get(k)));
                        }
                    }
                }
            }
            ("ok", Err(e)) => failures.push(format!("{name}: refused ({})", e.reason())),
            ("refused", Ok(_)) => failures.push(format!("{name}: accepted")),
            ("refused", Err(_)) => {}
            (other, _) => failures.push(format!("{name}: unknown expectation {other}")),
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn a_provider_with_another_certificate_refuses_every_genuine_response() {
    let other = provider_from("other-metadata.xml");
    let xml = std::fs::read(fixtures().join("assertion-signed.xml")).unwrap();
    assert!(verify(&xml, &provider_from("metadata.xml")).is_ok());
    let err = verify(&xml, &other).unwrap_err();
    assert!(matches!(
        err,
        SamlError::Invalid(_) | SamlError::Rejected(_)
    ));
}

#[test]
fn times_are_checked_against_the_clock_with_leeway() {
    let provider = provider_from("metadata.xml");
    let xml = std::fs::read(fixtures().join("assertion-signed.xml")).unwrap();
    let endpoints = aws_endpoints("us-east-1");
    let at = |ms: i64| verify_response(&encode(&xml), &provider, &endpoints, ms, 60);
    // The fixtures are valid from 2026-01-01 to 2099-01-01.
    let start = 1_767_225_600_000;
    let end = 4_070_908_800_000;
    assert!(at(start - 30_000).is_ok(), "within leeway before NotBefore");
    assert!(at(start - 61_000).is_err());
    assert!(at(end + 30_000).is_ok(), "within leeway after NotOnOrAfter");
    assert!(at(end + 61_000).is_err());
}

#[test]
fn the_audience_must_be_one_of_the_endpoints() {
    let provider = provider_from("metadata.xml");
    let xml = std::fs::read(fixtures().join("assertion-signed.xml")).unwrap();
    let r = verify_response(
        &encode(&xml),
        &provider,
        &["https://elsewhere/saml".into()],
        NOW_MS,
        60,
    );
    assert!(r.is_err());
}

#[test]
fn garbage_is_refused_without_panicking() {
    let provider = provider_from("metadata.xml");
    let endpoints = aws_endpoints("us-east-1");
    for input in [
        "",
        "not base64!",
        &encode(b"\xff\xfe"),
        &encode(b"<"),
        &encode(b"<x/>"),
        &encode(b"<samlp:Response xmlns:samlp=\"urn:oasis:names:tc:SAML:2.0:protocol\"/>"),
        &encode(&b"<a>".repeat(5000)),
    ] {
        assert!(verify_response(input, &provider, &endpoints, NOW_MS, 60).is_err());
    }
}

#[test]
fn roles_pair_with_this_provider_in_either_order() {
    let other = "arn:aws:iam::000000000000:saml-provider/Other";
    let values = [
        format!("arn:aws:iam::000000000000:role/a,{PROVIDER}"),
        format!("{PROVIDER}, arn:aws:iam::000000000000:role/b"),
        format!("arn:aws:iam::000000000000:role/c,{other}"),
        "arn:aws:iam::000000000000:role/d".to_string(),
        format!("arn:aws:iam::000000000000:role/a,{PROVIDER}"),
    ];
    assert_eq!(
        roles_for(&values, PROVIDER),
        [
            "arn:aws:iam::000000000000:role/a",
            "arn:aws:iam::000000000000:role/b"
        ]
    );
}

#[test]
fn attacks_with_genuine_signatures_are_refused_by_the_binding_checks() {
    // xmlsec1 and signxml found these signatures cryptographically valid (`xmldsig_valid`),
    // so the refusal must come from what idpool checks beyond the mathematics.
    let provider = provider_from("metadata.xml");
    let cases: Value =
        serde_json::from_slice(&std::fs::read(fixtures().join("cases.json")).unwrap()).unwrap();
    let mut checked = 0;
    for case in cases.as_array().unwrap() {
        if case["expect"] != "refused" || case.get("xmldsig_valid") != Some(&Value::Bool(true)) {
            continue;
        }
        let xml = std::fs::read(fixtures().join(case["file"].as_str().unwrap())).unwrap();
        let reason = verify(&xml, &provider).unwrap_err().reason();
        assert!(
            !reason.contains("does not verify") && !reason.contains("digest"),
            "{}: refused only by {reason}",
            case["name"]
        );
        checked += 1;
    }
    assert!(checked >= 20, "{checked}");
}

/// `assertion-signed.xml` with `extra` inserted just after the Status element.
fn with_inserted(extra: &str) -> Vec<u8> {
    let xml = std::fs::read_to_string(fixtures().join("assertion-signed.xml")).unwrap();
    let at = xml.find("</samlp:Status>").unwrap() + "</samlp:Status>".len();
    format!("{}{extra}{}", &xml[..at], &xml[at..]).into_bytes()
}

#[test]
fn an_id_used_twice_anywhere_is_refused() {
    let provider = provider_from("metadata.xml");
    assert!(verify(&with_inserted("<samlp:Extensions/>"), &provider).is_ok());
    let err = verify(
        &with_inserted(r#"<samlp:Extensions ID="_assert-8b41d7c3"/>"#),
        &provider,
    )
    .unwrap_err();
    assert_eq!(err.reason(), "an ID is used twice");
}

#[test]
fn an_empty_doctype_is_refused_too() {
    let provider = provider_from("metadata.xml");
    let xml = std::fs::read_to_string(fixtures().join("assertion-signed.xml")).unwrap();
    let xml = xml.replacen(
        "<samlp:Response",
        "<!DOCTYPE samlp:Response><samlp:Response",
        1,
    );
    assert!(verify(xml.as_bytes(), &provider).is_err());
}

mod mutations {
    use proptest::prelude::*;

    use super::*;

    /// What a genuine fixture vouches for, to compare any accepted mutation with.
    fn genuine(file: &str) -> (Vec<u8>, VerifiedAssertion) {
        let xml = std::fs::read(fixtures().join(file)).unwrap();
        let ok = verify(&xml, &provider_from("metadata.xml")).unwrap();
        (xml, ok)
    }

    /// One edit of the document text: replace, insert or delete a short run of characters
    /// drawn from what XML is made of.
    fn edit() -> impl Strategy<Value = (usize, u8, String)> {
        let piece = prop::sample::select(vec![
            "<",
            ">",
            "/",
            "\"",
            "=",
            " ",
            "\n",
            "&amp;",
            "<!---->",
            "x",
            "ID",
            "#",
            ":",
            "<saml:Assertion>",
            "</saml:Assertion>",
            "xmlns:a=\"urn:a\"",
            "Z",
            "0",
            "9",
        ]);
        (any::<usize>(), 0u8..3, piece.prop_map(str::to_string))
    }

    fn apply(xml: &[u8], (at, kind, piece): &(usize, u8, String)) -> Vec<u8> {
        let text = String::from_utf8_lossy(xml).into_owned();
        let mut at = at % (text.len() + 1);
        while !text.is_char_boundary(at) {
            at -= 1;
        }
        let (head, tail) = text.split_at(at);
        let tail_chars = tail.chars().count();
        let cut = |n: usize| tail.chars().skip(n.min(tail_chars)).collect::<String>();
        match kind {
            0 => format!("{head}{piece}{tail}"),
            1 => format!("{head}{piece}{}", cut(piece.chars().count())),
            _ => format!("{head}{}", cut(piece.chars().count())),
        }
        .into_bytes()
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 768, ..ProptestConfig::default() })]

        /// Whatever is changed, the verifier neither panics nor vouches for anything other
        /// than what the IdP signed: an accepted mutation (white space outside the signed
        /// element, say) yields exactly the genuine subject, roles and attributes.
        #[test]
        fn a_mutated_response_is_refused_or_says_exactly_what_was_signed(
            file in prop::sample::select(vec![
                "assertion-signed.xml", "response-signed.xml", "both-signed.xml",
                "pretty-root-namespaces.xml", "nameid-comment.xml",
            ]),
            edits in prop::collection::vec(edit(), 1..4),
        ) {
            let (mut xml, original) = genuine(file);
            for e in &edits {
                xml = apply(&xml, e);
            }
            if let Ok(got) = verify(&xml, &provider_from("metadata.xml")) {
                prop_assert_eq!(got, original);
            }
        }
    }
}

/// `assertion-signed.xml` with `root_attrs` added to the Response start tag, `extra` inserted
/// just before the Assertion's end tag and `edits` applied, so the digest no longer matches:
/// refusing such a document must cost little, whatever its shape.
fn attacked(root_attrs: &str, extra: &str, edits: &[(&str, &str)]) -> Vec<u8> {
    let mut xml = std::fs::read_to_string(fixtures().join("assertion-signed.xml")).unwrap();
    xml = xml.replacen(
        "<samlp:Response ",
        &format!("<samlp:Response {root_attrs} "),
        1,
    );
    xml = xml.replacen("</saml:Assertion>", &format!("{extra}</saml:Assertion>"), 1);
    for (from, to) in edits {
        assert!(xml.contains(from), "{from}");
        xml = xml.replacen(from, to, 1);
    }
    let encoded = encode(xml.as_bytes());
    assert!(
        encoded.len() <= 50_000,
        "{} is over the Logins limit",
        encoded.len()
    );
    xml.into_bytes()
}

/// Verifies on a thread with tokio's default worker stack (2 MiB), where requests run.
// These attacks once cost seconds of CPU or the whole process; rather than time them, each
// test pins the cheap check that now refuses them before the costly work starts.
fn verify_on_worker_stack(xml: Vec<u8>) -> Result<VerifiedAssertion, SamlError> {
    std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(move || verify(&xml, &provider_from("metadata.xml")))
        .unwrap()
        .join()
        .unwrap()
}

const EXC_TRANSFORM: &str =
    r#"<ds:Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/>"#;

#[test]
fn a_response_longer_than_a_logins_value_is_refused_before_decoding() {
    let provider = provider_from("metadata.xml");
    let long = "A".repeat(50_004);
    let err = verify_response(&long, &provider, &aws_endpoints("us-east-1"), NOW_MS, 60);
    assert_eq!(err.unwrap_err().reason(), "the response is too long");
}

#[test]
fn deep_nesting_is_refused_without_exhausting_the_stack() {
    // Within the node limit, but deep enough to overflow a worker's stack if canonicalization
    // recurses once per level: that aborts the whole server, not just the request.
    let depth = 3_800;
    let nested = format!("{}{}", "<x>".repeat(depth), "</x>".repeat(depth));
    let r = verify_on_worker_stack(attacked("", &nested, &[]));
    assert_eq!(r.unwrap_err().reason(), "elements are nested too deeply");
}

#[test]
fn many_namespaces_in_scope_cost_little_to_refuse() {
    // Inclusive canonicalization (the signer's choice, read before any key is checked) renders
    // every namespace in scope; with hundreds on the root and thousands of elements, work that
    // grows with their product took seconds per request.
    let decls: String = (0..600).map(|i| format!(r#"xmlns:n{i}="u" "#)).collect();
    let inclusive =
        r#"<ds:Transform Algorithm="http://www.w3.org/TR/2001/REC-xml-c14n-20010315"/>"#;
    let xml = attacked(&decls, &"<x/>".repeat(3_000), &[(EXC_TRANSFORM, inclusive)]);
    let r = verify_on_worker_stack(xml);
    assert_eq!(r.unwrap_err().reason(), "too many namespace prefixes");
}

#[test]
fn many_namespace_redeclarations_cost_little_to_refuse() {
    // The parser resolves each element that declares a namespace against all it inherits.
    let decls: String = (0..1_500)
        .map(|i| format!(r#"xmlns:n{i:x}="u" "#))
        .collect();
    let xml = attacked(&decls, &r#"<x xmlns:y="v"/>"#.repeat(650), &[]);
    let r = verify_on_worker_stack(xml);
    assert_eq!(r.unwrap_err().reason(), "too many namespace prefixes");
}

#[test]
fn a_long_inclusive_prefix_list_costs_little_to_refuse() {
    let prefixes: Vec<String> = (0..4_000u32)
        .map(|i| format!("{:x}", i.wrapping_mul(2_654_435_761) >> 20))
        .collect();
    let with_list = format!(
        r#"<ds:Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"><ec:InclusiveNamespaces xmlns:ec="http://www.w3.org/2001/10/xml-exc-c14n#" PrefixList="{}"/></ds:Transform>"#,
        prefixes.join(" ")
    );
    let xml = attacked("", &"<x/>".repeat(3_000), &[(EXC_TRANSFORM, &with_list)]);
    let r = verify_on_worker_stack(xml);
    assert_eq!(
        r.unwrap_err().reason(),
        "too many inclusive namespace prefixes"
    );
}

#[test]
fn exclusive_canonical_form_cannot_be_blown_up() {
    // Exclusive c14n declares a visibly used namespace again on every element whose output
    // parent did not: one long URI used by thousands of siblings made ~45 MB from 35 kB.
    let uri = "u".repeat(15_000);
    let xml = attacked(&format!(r#"xmlns:p="{uri}""#), &"<p:a/>".repeat(3_000), &[]);
    let doc = roxmltree::Document::parse(std::str::from_utf8(&xml).unwrap()).unwrap();
    let assertion = doc
        .descendants()
        .find(|n| is_saml(*n, ASSERTION_NS, "Assertion"))
        .unwrap();
    let exc = c14n::Method::from_uri(c14n::Method::EXC).unwrap();
    if let Ok(out) = c14n::canonicalize(assertion, &exc, None) {
        assert!(out.len() <= 1 << 20, "{} bytes", out.len());
    }
    assert!(verify(&xml, &provider_from("metadata.xml")).is_err());
}

#[test]
fn line_ends_in_comments_and_processing_instructions_are_normalised() {
    // XML parsers turn CR LF and lone CR into LF everywhere (XML 1.0 §2.11), so a signer's
    // canonical form has LF there; the parser used here leaves comments and PIs as written.
    let doc = roxmltree::Document::parse("<r><a><?pi x\r\ny\rz?><!--c\r\nd\re--></a></r>").unwrap();
    let a = doc.root_element().first_element_child().unwrap();
    let mut method = c14n::Method::from_uri(c14n::Method::EXC_COMMENTS).unwrap();
    // Expected bytes: lxml's exclusive c14n with comments of the same text.
    let want = "<a><?pi x\ny\nz?><!--c\nd\ne--></a>";
    assert_eq!(
        String::from_utf8(c14n::canonicalize(a, &method, None).unwrap()).unwrap(),
        want
    );
    method.exclusive = false;
    assert_eq!(
        String::from_utf8(c14n::canonicalize(a, &method, None).unwrap()).unwrap(),
        want
    );
}

#[test]
fn namespaces_below_the_apex_render_as_libxml2_does() {
    // Redeclared, added, undeclared and repeated namespaces under an apex that inherits two.
    // Expected: libxml2's (lxml's) exclusive form of the subtree, and its inclusive form of
    // the subtree as a document of its own with the inherited declarations on `s`.
    let xml = r#"<r xmlns:a="urn:a" xmlns="urn:d"><s><t xmlns:a="urn:a2"><u a:k="1"/></t><v xmlns:b="urn:b"><w xmlns=""><y/></w></v><x xmlns:a="urn:a"/></s></r>"#;
    let doc = roxmltree::Document::parse(xml).unwrap();
    let s = doc.root_element().first_element_child().unwrap();
    let form = |uri| {
        let method = c14n::Method::from_uri(uri).unwrap();
        String::from_utf8(c14n::canonicalize(s, &method, None).unwrap()).unwrap()
    };
    assert_eq!(
        form(c14n::Method::INC),
        r#"<s xmlns="urn:d" xmlns:a="urn:a"><t xmlns:a="urn:a2"><u a:k="1"></u></t><v xmlns:b="urn:b"><w xmlns=""><y></y></w></v><x></x></s>"#
    );
    assert_eq!(
        form(c14n::Method::EXC),
        r#"<s xmlns="urn:d"><t><u xmlns:a="urn:a2" a:k="1"></u></t><v><w xmlns=""><y></y></w></v><x></x></s>"#
    );
}
