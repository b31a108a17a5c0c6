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
