//! SigV4 signing of the calls idpool itself makes to AWS APIs: the user pool's AdminGetUser behind ServerSideTokenCheck (spec §3.4).

use aws_lc_rs::{digest, hmac};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

use super::Secret;
use super::jwks::{Method, Request};

/// SigV4's URI encoding: unreserved characters pass, everything else is `%XX`.
const UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');
/// The same for a path, whose `/` separators stay.
const PATH: &AsciiSet = &UNRESERVED.remove(b'/');

/// The key pair (and, for temporary credentials, the session token) idpool signs with.
#[derive(Clone, PartialEq, Eq)]
pub struct AwsCredentials {
    pub access_key_id: String,
    pub secret_access_key: Secret,
    pub session_token: Option<Secret>,
}

impl std::fmt::Debug for AwsCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AwsCredentials")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &self.secret_access_key)
            .field(
                "session_token",
                &self.session_token.as_ref().map(|_| "**redacted**"),
            )
            .finish()
    }
}

/// The request URL cannot be read, so it cannot be signed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BadUrl;

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn sha256_hex(data: &[u8]) -> String {
    hex(digest::digest(&digest::SHA256, data).as_ref())
}

fn hmac_sha256(key: &[u8], data: &str) -> hmac::Tag {
    hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, key), data.as_bytes())
}

/// `YYYYMMDD'T'HHMMSS'Z'` of an epoch-milliseconds instant.
fn amz_date(now_ms: i64) -> Result<String, BadUrl> {
    let t =
        time::OffsetDateTime::from_unix_timestamp(now_ms.div_euclid(1000)).map_err(|_| BadUrl)?;
    Ok(format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    ))
}

/// Signs `request` for `service` in `region` at `now_ms`: adds `x-amz-date`, the session
/// token when there is one, and `authorization`. Every header the request already carries is
/// signed, and `host` as the HTTP client will send it (port only when not the default).
pub fn sign(
    request: &mut Request,
    creds: &AwsCredentials,
    region: &str,
    service: &str,
    now_ms: i64,
) -> Result<(), BadUrl> {
    let url = reqwest::Url::parse(&request.url).map_err(|_| BadUrl)?;
    let host = match (url.host_str(), url.port()) {
        (Some(h), Some(p)) => format!("{h}:{p}"),
        (Some(h), None) => h.to_string(),
        (None, _) => return Err(BadUrl),
    };
    let stamp = amz_date(now_ms)?;
    let date = &stamp[..8];
    request.headers.retain(|(n, _)| {
        ![
            "authorization",
            "x-amz-date",
            "x-amz-security-token",
            "host",
        ]
        .iter()
        .any(|h| n.eq_ignore_ascii_case(h))
    });
    request.headers.push(("x-amz-date".into(), stamp.clone()));
    if let Some(token) = &creds.session_token {
        request
            .headers
            .push(("x-amz-security-token".into(), token.expose().to_string()));
    }

    let mut headers: Vec<(String, String)> = request
        .headers
        .iter()
        .map(|(n, v)| {
            let value = v.split_whitespace().collect::<Vec<_>>().join(" ");
            (n.to_ascii_lowercase(), value)
        })
        .collect();
    headers.push(("host".into(), host));
    headers.sort();
    let signed_headers = headers
        .iter()
        .map(|(n, _)| n.as_str())
        .collect::<Vec<_>>()
        .join(";");
    let canonical_headers: String = headers.iter().map(|(n, v)| format!("{n}:{v}\n")).collect();
    let mut query: Vec<(String, String)> = url
        .query_pairs()
        .map(|(k, v)| {
            (
                utf8_percent_encode(&k, UNRESERVED).to_string(),
                utf8_percent_encode(&v, UNRESERVED).to_string(),
            )
        })
        .collect();
    query.sort();
    let canonical_query = query
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&");
    // Services other than S3 sign the path as sent, encoded once more.
    let canonical_uri = utf8_percent_encode(url.path(), PATH).to_string();
    let method = match request.method {
        Method::Get => "GET",
        Method::Post => "POST",
    };
    let canonical_request = format!(
        "{method}\n{canonical_uri}\n{canonical_query}\n{canonical_headers}\n{signed_headers}\n{}",
        sha256_hex(&request.body)
    );
    let scope = format!("{date}/{region}/{service}/aws4_request");
    let string_to_sign = format!(
        "AWS4-HMAC-SHA256\n{stamp}\n{scope}\n{}",
        sha256_hex(canonical_request.as_bytes())
    );
    let secret = format!("AWS4{}", creds.secret_access_key.expose());
    let k_date = hmac_sha256(secret.as_bytes(), date);
    let k_region = hmac_sha256(k_date.as_ref(), region);
    let k_service = hmac_sha256(k_region.as_ref(), service);
    let k_signing = hmac_sha256(k_service.as_ref(), "aws4_request");
    let signature = hex(hmac_sha256(k_signing.as_ref(), &string_to_sign).as_ref());
    request.headers.push((
        "authorization".into(),
        format!(
            "AWS4-HMAC-SHA256 Credential={}/{scope}, SignedHeaders={signed_headers}, Signature={signature}",
            creds.access_key_id
        ),
    ));
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use idpool_wire::sigv4::{self, CredentialError, RequestParts, SecretKey, VerifyOptions};

    const NOW_MS: i64 = 1_700_000_000_000;
    pub(crate) const KEY_ID: &str = "AKIDUSERPOOLCHECK001";
    const SECRET: &str = "user/pool+check/secret/0000000000000000";

    struct OneKey(Option<&'static str>);

    impl sigv4::SecretLookup for OneKey {
        fn secret_for(
            &self,
            access_key_id: &str,
            session_token: Option<&str>,
        ) -> Result<SecretKey, CredentialError> {
            if access_key_id != KEY_ID {
                return Err(CredentialError::UnknownAccessKey);
            }
            if session_token != self.0 {
                return Err(CredentialError::InvalidSessionToken);
            }
            Ok(SecretKey::new(SECRET))
        }
    }

    pub(crate) fn creds(token: Option<&str>) -> AwsCredentials {
        AwsCredentials {
            access_key_id: KEY_ID.into(),
            secret_access_key: Secret::new(SECRET),
            session_token: token.map(Secret::new),
        }
    }

    /// Checks a signed request with idpool's own server-side verifier, which is itself
    /// tested against the AWS signing test suite.
    pub(crate) fn verify_at(
        r: &Request,
        token: Option<&'static str>,
        region: &str,
        now_ms: i64,
    ) -> Result<sigv4::Verified, String> {
        let url = reqwest::Url::parse(&r.url).unwrap();
        let mut headers = http::HeaderMap::new();
        for (n, v) in &r.headers {
            headers.append(
                http::HeaderName::from_bytes(n.as_bytes()).unwrap(),
                http::HeaderValue::from_str(v).unwrap(),
            );
        }
        let host = match url.port() {
            Some(p) => format!("{}:{p}", url.host_str().unwrap()),
            None => url.host_str().unwrap().to_string(),
        };
        headers.insert(http::header::HOST, host.parse().unwrap());
        let method = if r.method == Method::Post {
            "POST"
        } else {
            "GET"
        };
        let parts = RequestParts {
            method,
            path: url.path(),
            query: url.query().unwrap_or_default(),
            headers: &headers,
            body: &r.body,
        };
        let opts = VerifyOptions {
            region: Some(region),
            service: Some("cognito-idp"),
            ..VerifyOptions::new(now_ms)
        };
        sigv4::verify(&parts, &opts, &OneKey(token)).map_err(|e| format!("{e:?}"))
    }

    fn verify(r: &Request, token: Option<&'static str>) -> Result<sigv4::Verified, String> {
        verify_at(r, token, "eu-west-1", NOW_MS)
    }

    fn admin_get_user(url: &str) -> Request {
        Request::post(
            url,
            br#"{"UserPoolId":"eu-west-1_Pool","Username":"ann"}"#.to_vec(),
        )
        .header("content-type", "application/x-amz-json-1.1")
        .header(
            "x-amz-target",
            "AWSCognitoIdentityProviderService.AdminGetUser",
        )
    }

    #[test]
    fn signatures_verify_with_the_server_side_verifier() {
        for url in [
            "https://cognito-idp.eu-west-1.amazonaws.com/",
            "http://127.0.0.1:9229/",
            "https://cognito-idp.eu-west-1.amazonaws.com:443/a%20b/c?z=1&a=x%2Fy",
        ] {
            for token in [None, Some("session-token/abc=")] {
                let mut r = admin_get_user(url);
                sign(&mut r, &creds(token), "eu-west-1", "cognito-idp", NOW_MS).unwrap();
                let v = verify(&r, token).unwrap_or_else(|e| panic!("{url} {token:?}: {e}"));
                assert_eq!(v.access_key_id, KEY_ID);
                assert_eq!(v.session_token.as_deref(), token);
                assert_eq!(r.header_value("x-amz-date"), Some("20231114T221320Z"));
            }
        }
    }

    #[test]
    fn a_changed_body_or_target_breaks_the_signature() {
        let mut r = admin_get_user("https://cognito-idp.eu-west-1.amazonaws.com/");
        sign(&mut r, &creds(None), "eu-west-1", "cognito-idp", NOW_MS).unwrap();
        let mut body = r.clone();
        body.body = br#"{"UserPoolId":"eu-west-1_Pool","Username":"bob"}"#.to_vec();
        assert!(verify(&body, None).is_err());
        let mut target = r.clone();
        target.headers[1].1 = "AWSCognitoIdentityProviderService.AdminDeleteUser".into();
        assert!(verify(&target, None).is_err());
        // Signing again replaces the earlier signature rather than adding a second one.
        sign(
            &mut r,
            &creds(None),
            "eu-west-1",
            "cognito-idp",
            NOW_MS + 1000,
        )
        .unwrap();
        assert_eq!(
            r.headers
                .iter()
                .filter(|(n, _)| n == "authorization")
                .count(),
            1
        );
        assert!(verify(&r, None).is_ok());
    }

    #[test]
    fn secrets_stay_out_of_debug() {
        let printed = format!("{:?}", creds(Some("the-session-token")));
        assert!(printed.contains(KEY_ID));
        assert!(!printed.contains("user/pool+check") && !printed.contains("the-session-token"));
        let mut r = admin_get_user("https://cognito-idp.eu-west-1.amazonaws.com/");
        sign(
            &mut r,
            &creds(Some("the-session-token")),
            "eu-west-1",
            "cognito-idp",
            NOW_MS,
        )
        .unwrap();
        let printed = format!("{r:?}");
        assert!(!printed.contains("Signature=") && !printed.contains("the-session-token"));
    }
}
