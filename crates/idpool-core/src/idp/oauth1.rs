//! OAuth 1.0a request signing with HMAC-SHA1 (RFC 5849 §3.1-3.6), with which a Twitter login is proven by calling Twitter's API as the user (spec §3.3).

use aws_lc_rs::hmac;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

/// RFC 5849 §3.6: everything but the unreserved characters is escaped, with upper-case hex.
const UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

pub const SIGNATURE_METHOD: &str = "HMAC-SHA1";
pub const VERSION: &str = "1.0";

/// The client (consumer) and token credentials a request is signed with. Only the keys may
/// travel; the secrets only key the HMAC.
pub struct Credentials<'a> {
    pub consumer_key: &'a str,
    pub consumer_secret: &'a str,
    pub token: &'a str,
    pub token_secret: &'a str,
}

/// The URL could not be read, so no base string can be built for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BadUrl;

/// RFC 5849 §3.6 percent-encoding.
pub fn encode(s: &str) -> String {
    utf8_percent_encode(s, UNRESERVED).to_string()
}

/// A fresh `oauth_nonce`: 128 random bits as hex, unique per request; `None` when the system
/// random source fails (then no request is made rather than one with a guessable nonce).
pub fn nonce() -> Option<String> {
    let mut bytes = [0u8; 16];
    aws_lc_rs::rand::fill(&mut bytes).ok()?;
    Some(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// The `Authorization` header value for a request (RFC 5849 §3.5.1). `form` holds the
/// parameters of an `application/x-www-form-urlencoded` body, if the request has one.
pub fn authorization(
    method: &str,
    url: &str,
    creds: &Credentials<'_>,
    nonce: &str,
    timestamp: i64,
    form: &[(&str, &str)],
) -> Result<String, BadUrl> {
    let timestamp = timestamp.to_string();
    let protocol: [(&str, &str); 6] = [
        ("oauth_consumer_key", creds.consumer_key),
        ("oauth_nonce", nonce),
        ("oauth_signature_method", SIGNATURE_METHOD),
        ("oauth_timestamp", &timestamp),
        ("oauth_token", creds.token),
        ("oauth_version", VERSION),
    ];
    let mut params: Vec<(&str, &str)> = protocol.to_vec();
    params.extend_from_slice(form);
    let base = base_string(method, url, &params)?;
    let signature = sign(&base, creds.consumer_secret, creds.token_secret);
    let mut fields: Vec<String> = protocol
        .iter()
        .map(|(k, v)| format!("{k}=\"{}\"", encode(v)))
        .collect();
    fields.push(format!("oauth_signature=\"{}\"", encode(&signature)));
    Ok(format!("OAuth {}", fields.join(", ")))
}

/// HMAC-SHA1 of a base string, keyed by both secrets (RFC 5849 §3.4.2), in base64.
pub fn sign(base_string: &str, consumer_secret: &str, token_secret: &str) -> String {
    let key = format!("{}&{}", encode(consumer_secret), encode(token_secret));
    let key = hmac::Key::new(hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, key.as_bytes());
    STANDARD.encode(hmac::sign(&key, base_string.as_bytes()).as_ref())
}

/// The signature base string (RFC 5849 §3.4.1): the method, the base string URI and the
/// normalised parameters, which are the URL's query parameters plus `params` (the protocol
/// parameters and any form-body parameters).
pub fn base_string(method: &str, url: &str, params: &[(&str, &str)]) -> Result<String, BadUrl> {
    let parsed = reqwest::Url::parse(url).map_err(|_| BadUrl)?;
    let host = parsed.host_str().ok_or(BadUrl)?;
    // The parser lower-cases scheme and host and drops a port that is the scheme's default,
    // which is what §3.4.1.2 asks; the path stays as it will be sent.
    let port = parsed.port().map(|p| format!(":{p}")).unwrap_or_default();
    let base_uri = format!("{}://{host}{port}{}", parsed.scheme(), parsed.path());
    let mut pairs: Vec<(String, String)> = parsed
        .query_pairs()
        .map(|(k, v)| (encode(&k), encode(&v)))
        .chain(params.iter().map(|(k, v)| (encode(k), encode(v))))
        .collect();
    // §3.4.1.3.2: by encoded name, then encoded value, in byte order.
    pairs.sort();
    let normalised = pairs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&");
    Ok(format!(
        "{}&{}&{}",
        method.to_ascii_uppercase(),
        encode(&base_uri),
        encode(&normalised)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoding_keeps_only_unreserved_characters() {
        assert_eq!(encode("Ladies + Gentlemen"), "Ladies%20%2B%20Gentlemen");
        assert_eq!(encode("An encoded string!"), "An%20encoded%20string%21");
        assert_eq!(encode("Dogs, Cats & Mice"), "Dogs%2C%20Cats%20%26%20Mice");
        assert_eq!(encode("a-b.c_d~e"), "a-b.c_d~e");
        assert_eq!(encode("☃"), "%E2%98%83");
    }

    /// RFC 5849 §3.4.1.1: the base string of the section's example request, whose query
    /// and body hold encoded, repeated and empty parameters.
    #[test]
    fn rfc5849_example_base_string() {
        let base = base_string(
            "POST",
            "http://example.com/request?b5=%3D%253D&a3=a&c%40=&a2=r%20b",
            &[
                ("oauth_consumer_key", "9djdj82h48djs9d2"),
                ("oauth_token", "kkk9d7dh3k39sjv7"),
                ("oauth_signature_method", "HMAC-SHA1"),
                ("oauth_timestamp", "137131201"),
                ("oauth_nonce", "7d8f3e4a"),
                ("c2", ""),
                ("a3", "2 q"),
            ],
        )
        .unwrap();
        assert_eq!(
            base,
            "POST&http%3A%2F%2Fexample.com%2Frequest&a2%3Dr%2520b%26a3%3D2%2520q%26a3%3Da%26b5%3D%253D%25253D%26c%2540%3D%26c2%3D%26oauth_consumer_key%3D9djdj82h48djs9d2%26oauth_nonce%3D7d8f3e4a%26oauth_signature_method%3DHMAC-SHA1%26oauth_timestamp%3D137131201%26oauth_token%3Dkkk9d7dh3k39sjv7"
        );
    }

    /// RFC 5849 §3.4.1.2: scheme and host lower-cased, a default port dropped, another kept.
    #[test]
    fn rfc5849_base_string_uris() {
        let uri = |url: &str| {
            let b = base_string("GET", url, &[]).unwrap();
            let enc = b.split('&').nth(1).unwrap().to_string();
            percent_encoding::percent_decode_str(&enc)
                .decode_utf8()
                .unwrap()
                .to_string()
        };
        assert_eq!(
            uri("http://EXAMPLE.COM:80/r%20v/X?id=123"),
            "http://example.com/r%20v/X"
        );
        assert_eq!(
            uri("https://www.example.net:8080/?q=1"),
            "https://www.example.net:8080/"
        );
        assert_eq!(
            uri("https://api.twitter.com:443/1.1/account/verify_credentials.json"),
            "https://api.twitter.com/1.1/account/verify_credentials.json"
        );
        assert_eq!(base_string("GET", "not a url", &[]), Err(BadUrl));
    }

    /// Twitter's documented example of signing a request: a POST with a query parameter and
    /// a form body, whose published signature is `hCtSmYh+iHYCEqBWrE7C7hYmtUk=`.
    #[test]
    fn twitter_documented_example_signature() {
        let creds = Credentials {
            consumer_key: "xvz1evFS4wEEPTGEFPHBog",
            consumer_secret: "kAcSOqF21Fu85e7zjz7ZN2U4ZRhfV3WpwPAoE3Z7kBw",
            token: "370773112-GmHxMAgYyLbNEtIKZeRNFsMKPR9EyMZeS9weJAEb",
            token_secret: "LswwdoUaIvS8ltyTt5jkRh4J50vUPVVHtR2YPi5kE",
        };
        let header = authorization(
            "post",
            "https://api.twitter.com/1.1/statuses/update.json?include_entities=true",
            &creds,
            "kYjzVBB8Y0ZFabxSWbWovY3uYSQ2pTgmZeNu2VS4cg",
            1_318_622_958,
            &[(
                "status",
                "Hello Ladies + Gentlemen, a signed OAuth request!",
            )],
        )
        .unwrap();
        assert_eq!(
            header,
            "OAuth oauth_consumer_key=\"xvz1evFS4wEEPTGEFPHBog\", \
             oauth_nonce=\"kYjzVBB8Y0ZFabxSWbWovY3uYSQ2pTgmZeNu2VS4cg\", \
             oauth_signature_method=\"HMAC-SHA1\", oauth_timestamp=\"1318622958\", \
             oauth_token=\"370773112-GmHxMAgYyLbNEtIKZeRNFsMKPR9EyMZeS9weJAEb\", \
             oauth_version=\"1.0\", oauth_signature=\"hCtSmYh%2BiHYCEqBWrE7C7hYmtUk%3D\""
        );
        // The secrets key the HMAC and never travel.
        assert!(!header.contains("kAcSOq") && !header.contains("LswwdoU"));
    }

    /// OAuth Core 1.0a Appendix A.5 (the photo-printing example RFC 5849 §1.2 retells):
    /// `tR3+Ty81lMeYAr/Fid0kMTYa/WM=`.
    #[test]
    fn oauth_core_appendix_example_signature() {
        let creds = Credentials {
            consumer_key: "dpf43f3p2l4k3l03",
            consumer_secret: "kd94hf93k423kf44",
            token: "nnch734d00sl2jdk",
            token_secret: "pfkkdhi9sl3r4s00",
        };
        let header = authorization(
            "GET",
            "http://photos.example.net/photos?file=vacation.jpg&size=original",
            &creds,
            "kllo9940pd9333jh",
            1_191_242_096,
            &[],
        )
        .unwrap();
        assert!(
            header.ends_with("oauth_signature=\"tR3%2BTy81lMeYAr%2FFid0kMTYa%2FWM%3D\""),
            "{header}"
        );
    }

    #[test]
    fn nonces_are_fresh() {
        let (a, b) = (nonce().unwrap(), nonce().unwrap());
        assert_eq!(a.len(), 32);
        assert!(a.bytes().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
    }
}
