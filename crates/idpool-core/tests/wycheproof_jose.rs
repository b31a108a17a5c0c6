//! The Wycheproof JWS and JWK vectors (../shared/vectors/wycheproof) against the JWS layer of the login-token verifier (security-and-performance.md §1.0).

// Every "invalid" vector must be refused. Every "valid" vector must be accepted, except
// those listed in `expected_refusal` with the reason we refuse them:
// - HS256/HS384/HS512: HMAC needs a shared secret, which no identity provider publishes
//   in a public key set; accepting HMAC is the algorithm-confusion bug class itself.
// - ES512 (RFC 7520 Figure 27): no identity provider we verify signs with P-521, so it
//   is not on the allow-list (RS256/384/512, PS256/384/512, ES256, ES384).
// - RFC 7520 Figure 20 (tcs 346 and 350): the vector's key declares `alg` PS256 while the
//   token says PS384. We bind the algorithm to the key's `alg`, which the WrongPrimitive
//   vectors (e.g. tc 332, an RS256 token under a PS512 key) require; the two
//   requirements cannot both hold, and we keep the binding.

use std::path::PathBuf;

use idpool_core::idp::jwks::KeySet;
use idpool_core::idp::jwt::{self, Alg};
use serde_json::{Value, json};

fn load(name: &str) -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/vectors/wycheproof")
        .join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "the Wycheproof vectors must be at {} (shared/ beside the repository): {e}",
            path.display()
        )
    });
    serde_json::from_str(&text).expect("vector file is JSON")
}

/// The group's verification keys: the public key (or set) when given, else the private one,
/// which for the HMAC groups is all there is.
fn keys_of(group: &Value) -> KeySet {
    let key = group
        .get("public")
        .or_else(|| group.get("private"))
        .cloned()
        .unwrap_or(Value::Null);
    let set = if key.get("keys").is_some() {
        key
    } else {
        json!({ "keys": [key] })
    };
    KeySet::from_value(&set).unwrap_or_default()
}

fn token_of(test: &Value) -> String {
    match &test["jws"] {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        // JSON serialization: handed over as its text, which a compact-only verifier refuses.
        other => other.to_string(),
    }
}

/// Why a "valid" vector is refused on purpose, if it is.
fn expected_refusal(tc: u64, token: &str) -> Option<&'static str> {
    let header = token.split('.').next().and_then(|h| {
        use base64::Engine as _;
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(h)
            .ok()
            .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
    });
    let alg = header
        .as_ref()
        .and_then(|h| h["alg"].as_str())
        .unwrap_or_default()
        .to_string();
    if alg.starts_with("HS") {
        return Some("HMAC is never accepted from identity providers");
    }
    if Alg::from_name(&alg).is_none() {
        return Some("algorithm not on the allow-list");
    }
    if tc == 346 || tc == 350 {
        return Some("the key's alg (PS256) differs from the token's (PS384)");
    }
    None
}

fn run(file: &str) -> (usize, usize, usize) {
    let doc = load(file);
    let declared = doc["numberOfTests"].as_u64().unwrap() as usize;
    let (mut accepted, mut refused, mut documented, mut seen) = (0, 0, 0, 0);
    let mut failures = Vec::new();
    for group in doc["testGroups"].as_array().unwrap() {
        let keys = keys_of(group);
        for test in group["tests"].as_array().unwrap() {
            seen += 1;
            let tc = test["tcId"].as_u64().unwrap();
            let token = token_of(test);
            let ok = jwt::verify_compact(&token, &keys).is_ok();
            let valid = test["result"] == "valid";
            let exception = if valid {
                expected_refusal(tc, &token)
            } else {
                None
            };
            match (valid, ok, exception) {
                (true, true, None) => accepted += 1,
                (true, false, Some(_)) => documented += 1,
                (false, false, _) => refused += 1,
                _ => failures.push(format!(
                    "tc {tc} ({}, {}): expected {}, got {}",
                    group["comment"],
                    test["comment"],
                    if valid && exception.is_none() {
                        "accept"
                    } else {
                        "refuse"
                    },
                    if ok { "accept" } else { "refuse" }
                )),
            }
        }
    }
    assert!(failures.is_empty(), "{file}:\n{}", failures.join("\n"));
    assert_eq!(seen, declared, "every vector of {file} ran");
    println!(
        "{file}: {accepted} valid accepted, {refused} invalid refused, {documented} valid refused as documented"
    );
    (accepted, refused, documented)
}

#[test]
fn json_web_signature_vectors() {
    let (accepted, refused, documented) = run("json_web_signature_test.json");
    // Guards against a harness that silently refuses everything.
    assert!(accepted >= 29, "only {accepted} valid vectors accepted");
    assert!(refused >= 340);
    assert!(documented <= 14);
}

#[test]
fn json_web_key_vectors() {
    let (accepted, refused, documented) = run("json_web_key_test.json");
    assert_eq!(accepted, 1, "the one valid RS256 key set");
    // Broken keys are dropped when the set is read, before any token is looked at.
    let doc = load("json_web_key_test.json");
    for group in doc["testGroups"].as_array().unwrap() {
        let comment = group["comment"].as_str().unwrap();
        if [
            "jws_rsa_roca_key",
            "keysize_too_small",
            "exponentOne",
            "wrong_algorithm",
            "invalid_algorithm",
            "invalid_use",
            "invalid_point",
            "wrong_curve",
            "wrong_kty",
        ]
        .contains(&comment)
        {
            assert!(keys_of(group).is_empty(), "{comment} keys must be dropped");
        }
    }
    assert_eq!(refused + documented + accepted, 26);
}
