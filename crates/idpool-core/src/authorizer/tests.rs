//! Tests for the authorizer: S3 requests signed by the AWS SDK for Rust's signer, each verdict and reason, the JSON question.

use std::time::{Duration, UNIX_EPOCH};

use aws_sigv4::http_request::{
    PayloadChecksumKind, PercentEncodingMode, SignableBody, SignableRequest, SignatureLocation,
    SigningSettings, UriPathNormalizationMode, sign,
};

use super::*;
use crate::iam::testkit::{self, NOW_MS};
use crate::session::{IssuedCredentials, issue, new_access_key_id};

const POOL: &str = "us-east-1:11111111-2222-3333-4444-555555555555";
const USER_A: &str = "us-east-1:aaaaaaaa-0000-0000-0000-000000000001";
const USER_B: &str = "us-east-1:bbbbbbbb-0000-0000-0000-000000000002";
const HOST: &str = "storage.test:9000";

const TRUST: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow",
  "Principal":{"Federated":"cognito-identity.amazonaws.com"},
  "Action":"sts:AssumeRoleWithWebIdentity"}]}"#;
const GUEST_POLICY: &str = r#"{"Version":"2012-10-17","Statement":[
  {"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::bucket/public/*"},
  {"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::bucket",
   "Condition":{"IpAddress":{"aws:SourceIp":"203.0.113.0/24"}}},
  {"Effect":"Deny","Action":"s3:GetObject","Resource":"arn:aws:s3:::bucket/public/secret/*"}]}"#;
const USER_POLICY: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow",
  "Action":["s3:PutObject","s3:GetObject"],
  "Resource":"arn:aws:s3:::bucket/user-${cognito-identity.amazonaws.com:sub}/*"}]}"#;

async fn core_with_roles() -> Core {
    let core = testkit::core().await;
    for (role, policy) in [("Guest", GUEST_POLICY), ("User", USER_POLICY)] {
        testkit::ok(
            &core,
            "CreateRole",
            &[("RoleName", role), ("AssumeRolePolicyDocument", TRUST)],
        )
        .await;
        testkit::ok(
            &core,
            "PutRolePolicy",
            &[
                ("RoleName", role),
                ("PolicyName", "storage"),
                ("PolicyDocument", policy),
            ],
        )
        .await;
    }
    core
}

fn role_arn(name: &str) -> String {
    format!("arn:aws:iam::123456789012:role/{name}")
}

/// Credentials as GetCredentialsForIdentity would hand them to `identity`, valid for an hour.
fn credentials(core: &Core, role: &str, identity: &str) -> IssuedCredentials {
    let claims = SessionClaims {
        access_key_id: new_access_key_id().unwrap(),
        identity_id: Some(identity.into()),
        pool_id: Some(POOL.into()),
        role_arn: role_arn(role),
        role_id: "AROAEXAMPLEROLEID".into(),
        session_name: "CognitoIdentityCredentials".into(),
        issued_ms: NOW_MS,
        expires_ms: NOW_MS + 3_600_000,
        tags: [("team".to_string(), "storage".to_string())].into(),
        session_policies: vec![],
        amr: vec!["authenticated".into()],
        provider: Some("cognito-identity.amazonaws.com".into()),
    };
    issue(&core.keys.get(), &claims).unwrap()
}

struct Signing<'a> {
    method: &'a str,
    path: &'a str,
    region: &'a str,
    service: &'a str,
    at_ms: i64,
    /// Presigned for this many seconds instead of an Authorization header.
    presign_s: Option<u64>,
    /// A declared `x-amz-content-sha256` (`UNSIGNED-PAYLOAD`, `STREAMING-*`) instead of the
    /// body's hash.
    payload_hash: Option<&'a str>,
    body: &'a [u8],
    /// Signed headers besides `host`.
    headers: &'a [(&'a str, &'a str)],
}

impl Default for Signing<'_> {
    fn default() -> Self {
        Signing {
            method: "GET",
            path: "/bucket/public/photo.jpg",
            region: "us-east-1",
            service: "s3",
            at_ms: NOW_MS,
            presign_s: None,
            payload_hash: None,
            body: b"",
            headers: &[],
        }
    }
}

/// Signs as the AWS SDK for Rust's client for `s.service` would (S3's rules for `s3`, the
/// ordinary ones otherwise), then returns the pieces a resource server would pass on: method,
/// absolute URL and headers.
fn signed(creds: &IssuedCredentials, s: &Signing) -> (String, HeaderMap) {
    let identity = aws_credential_types::Credentials::new(
        &creds.access_key_id,
        &creds.secret_access_key,
        Some(creds.session_token.clone()),
        None,
        "tests",
    )
    .into();
    let s3 = s.service == "s3";
    let mut settings = SigningSettings::default();
    if s3 {
        settings.percent_encoding_mode = PercentEncodingMode::Single;
        settings.uri_path_normalization_mode = UriPathNormalizationMode::Disabled;
    }
    let body = if let Some(secs) = s.presign_s {
        settings.signature_location = SignatureLocation::QueryParams;
        settings.expires_in = Some(Duration::from_secs(secs));
        if s3 {
            SignableBody::UnsignedPayload
        } else {
            SignableBody::Bytes(s.body)
        }
    } else {
        if s3 {
            settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
        }
        match s.payload_hash {
            Some(declared) => SignableBody::Precomputed(declared.to_string()),
            None => SignableBody::Bytes(s.body),
        }
    };
    let params = aws_sigv4::sign::v4::SigningParams::builder()
        .identity(&identity)
        .region(s.region)
        .name(s.service)
        .time(UNIX_EPOCH + Duration::from_millis(u64::try_from(s.at_ms).unwrap()))
        .settings(settings)
        .build()
        .unwrap()
        .into();
    let url = format!("http://{HOST}{}", s.path);
    let mut fields = vec![("host", HOST)];
    fields.extend_from_slice(s.headers);
    let signable =
        SignableRequest::new(s.method, url.clone(), fields.iter().copied(), body).unwrap();
    let (instructions, _) = sign(signable, &params).unwrap().into_parts();
    let mut request = http::Request::builder().method(s.method).uri(&url);
    for (name, value) in &fields {
        request = request.header(*name, *value);
    }
    let mut request = request.body(()).unwrap();
    instructions.apply_to_request_http1x(&mut request);
    (request.uri().to_string(), request.headers().clone())
}

fn question(
    method: &str,
    url: String,
    headers: HeaderMap,
    action: &str,
    resource: &str,
) -> AuthorizeRequest {
    AuthorizeRequest {
        method: method.into(),
        url,
        headers,
        action: action.into(),
        resource: resource.into(),
        context: vec![],
        payload_sha256: None,
    }
}

/// Signs `s` with `creds` and asks whether `action` on `resource` is allowed at `now_ms`.
async fn ask(
    core: &Core,
    creds: &IssuedCredentials,
    s: &Signing<'_>,
    action: &str,
    resource: &str,
    now_ms: i64,
) -> AuthorizeAnswer {
    let (url, headers) = signed(creds, s);
    authorize(
        core,
        &question(s.method, url, headers, action, resource),
        now_ms,
    )
    .await
}

#[tokio::test]
async fn guest_reads_public_objects_and_nothing_else() {
    let core = core_with_roles().await;
    let guest = credentials(&core, "Guest", USER_A);
    let get = Signing::default();
    let a = ask(
        &core,
        &guest,
        &get,
        "s3:GetObject",
        "arn:aws:s3:::bucket/public/photo.jpg",
        NOW_MS,
    )
    .await;
    assert_eq!((a.decision, &a.reason), (Verdict::Allow, &Reason::Allowed));
    let p = a.principal.as_ref().unwrap();
    assert_eq!(p.identity_id.as_deref(), Some(USER_A));
    assert_eq!(p.pool_id.as_deref(), Some(POOL));
    assert_eq!(p.role_arn, role_arn("Guest"));
    assert_eq!(p.session_name, "CognitoIdentityCredentials");
    assert_eq!(
        p.arn,
        "arn:aws:sts::123456789012:assumed-role/Guest/CognitoIdentityCredentials"
    );
    assert_eq!(p.tags.get("team").map(String::as_str), Some("storage"));
    assert_eq!(a.payload_hash.as_deref(), Some(sigv4_empty_hash()));

    let private = Signing {
        path: "/bucket/private/photo.jpg",
        ..Signing::default()
    };
    let a = ask(
        &core,
        &guest,
        &private,
        "s3:GetObject",
        "arn:aws:s3:::bucket/private/photo.jpg",
        NOW_MS,
    )
    .await;
    assert_eq!(
        (a.decision, &a.reason),
        (Verdict::Deny, &Reason::NoPolicyAllows)
    );
    assert!(
        a.principal.is_some(),
        "the signature was good: the principal is known"
    );

    let put = Signing {
        method: "PUT",
        payload_hash: Some("UNSIGNED-PAYLOAD"),
        ..Signing::default()
    };
    let a = ask(
        &core,
        &guest,
        &put,
        "s3:PutObject",
        "arn:aws:s3:::bucket/public/photo.jpg",
        NOW_MS,
    )
    .await;
    assert_eq!(a.reason, Reason::NoPolicyAllows);

    let secret = Signing {
        path: "/bucket/public/secret/plan.txt",
        ..Signing::default()
    };
    let a = ask(
        &core,
        &guest,
        &secret,
        "s3:GetObject",
        "arn:aws:s3:::bucket/public/secret/plan.txt",
        NOW_MS,
    )
    .await;
    assert_eq!(a.reason, Reason::ExplicitlyDenied);
}

fn sigv4_empty_hash() -> &'static str {
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
}

#[tokio::test]
async fn users_write_only_under_their_own_identity() {
    let core = core_with_roles().await;
    let a_creds = credentials(&core, "User", USER_A);
    let b_creds = credentials(&core, "User", USER_B);
    let own_path = format!("/bucket/user-{USER_A}/notes.txt");
    let own_arn = format!("arn:aws:s3:::bucket/user-{USER_A}/notes.txt");
    let put = Signing {
        method: "PUT",
        path: &own_path,
        body: b"hello",
        ..Signing::default()
    };
    let a = ask(&core, &a_creds, &put, "s3:PutObject", &own_arn, NOW_MS).await;
    assert!(a.is_allowed(), "{a:?}");
    // The body is not sent to the authorizer: the hash it must match comes back.
    assert_eq!(
        a.payload_hash.as_deref(),
        Some("2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824")
    );

    let a = ask(&core, &b_creds, &put, "s3:PutObject", &own_arn, NOW_MS).await;
    assert_eq!(a.reason, Reason::NoPolicyAllows);
    assert_eq!(a.principal.unwrap().identity_id.as_deref(), Some(USER_B));

    // Streaming uploads sign the seed request with a STREAMING-* payload hash; the chunks
    // carry their own signatures, which the resource server checks.
    let chunked = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD";
    let streaming = Signing {
        payload_hash: Some(chunked),
        ..put
    };
    let (url, mut headers) = signed(&a_creds, &streaming);
    let q = question(
        "PUT",
        url.clone(),
        headers.clone(),
        "s3:PutObject",
        &own_arn,
    );
    let a = authorize(&core, &q, NOW_MS).await;
    assert!(a.is_allowed(), "{a:?}");
    assert_eq!(a.payload_hash.as_deref(), Some(chunked));
    // The declared mode is signed: switching it is caught.
    headers.insert(
        "x-amz-content-sha256",
        HeaderValue::from_static("UNSIGNED-PAYLOAD"),
    );
    let q = question("PUT", url, headers, "s3:PutObject", &own_arn);
    assert_eq!(
        authorize(&core, &q, NOW_MS).await.reason,
        Reason::BadSignature
    );
}

const TABLES_POLICY: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow",
  "Action":"dynamodb:GetItem","Resource":"arn:aws:dynamodb:us-east-1:123456789012:table/notes"}]}"#;

fn sha256_hex(data: &[u8]) -> String {
    aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, data)
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Credentials of a role that may read the `notes` table (and nothing else).
async fn tables_credentials(core: &Core) -> IssuedCredentials {
    testkit::ok(
        core,
        "CreateRole",
        &[("RoleName", "Tables"), ("AssumeRolePolicyDocument", TRUST)],
    )
    .await;
    testkit::ok(
        core,
        "PutRolePolicy",
        &[
            ("RoleName", "Tables"),
            ("PolicyName", "tables"),
            ("PolicyDocument", TABLES_POLICY),
        ],
    )
    .await;
    credentials(core, "Tables", USER_A)
}

#[tokio::test]
async fn bodies_of_other_services_verify_by_their_hash() {
    let core = core_with_roles().await;
    let creds = tables_credentials(&core).await;
    let body = br#"{"TableName":"notes","Key":{"id":{"S":"1"}}}"#;
    let get_item = Signing {
        method: "POST",
        path: "/",
        service: "dynamodb",
        body,
        headers: &[
            ("content-type", "application/x-amz-json-1.0"),
            ("x-amz-target", "DynamoDB_20120810.GetItem"),
        ],
        ..Signing::default()
    };
    let table = "arn:aws:dynamodb:us-east-1:123456789012:table/notes";
    let (url, headers) = signed(&creds, &get_item);
    assert!(!headers.contains_key("x-amz-content-sha256"));
    let mut q = question("POST", url, headers, "dynamodb:GetItem", table);

    // Without the hash the request reads as one without a body, which is not what was signed.
    assert_eq!(
        authorize(&core, &q, NOW_MS).await.reason,
        Reason::BadSignature
    );
    let hash = sha256_hex(body);
    q.payload_sha256 = Some(hash.clone());
    let a = authorize(&core, &q, NOW_MS).await;
    assert!(a.is_allowed(), "{a:?}");
    assert_eq!(a.principal.unwrap().identity_id.as_deref(), Some(USER_A));
    assert_eq!(a.payload_hash.as_deref(), Some(hash.as_str()));
    q.payload_sha256 = Some(hash.to_ascii_uppercase());
    assert!(authorize(&core, &q, NOW_MS).await.is_allowed());

    // The hash of another body, or of none.
    for other in [
        sha256_hex(br#"{"TableName":"notes"}"#),
        sigv4_empty_hash().into(),
    ] {
        q.payload_sha256 = Some(other);
        let a = authorize(&core, &q, NOW_MS).await;
        assert_eq!(a.reason, Reason::BadSignature);
        assert!(a.principal.is_none());
    }
    // Not a hash at all.
    q.payload_sha256 = Some(hash[..40].to_string());
    assert!(matches!(
        authorize(&core, &q, NOW_MS).await.reason,
        Reason::BadQuestion(ref m) if m.contains("payload_sha256")
    ));

    // The right body, but the policy decides: another table is refused.
    q.payload_sha256 = Some(hash);
    q.resource = "arn:aws:dynamodb:us-east-1:123456789012:table/other".into();
    assert_eq!(
        authorize(&core, &q, NOW_MS).await.reason,
        Reason::NoPolicyAllows
    );

    // A presigned request with a body signs the body's hash too.
    let presigned = Signing {
        presign_s: Some(300),
        ..get_item
    };
    let (url, headers) = signed(&creds, &presigned);
    let mut q = question("POST", url, headers, "dynamodb:GetItem", table);
    assert_eq!(
        authorize(&core, &q, NOW_MS).await.reason,
        Reason::BadSignature
    );
    q.payload_sha256 = Some(sha256_hex(body));
    assert!(authorize(&core, &q, NOW_MS).await.is_allowed());
}

#[tokio::test]
async fn outside_s3_a_signature_that_skips_the_body_is_refused_when_the_body_was_hashed() {
    // Signed for `s3` so that UNSIGNED-PAYLOAD verifies, but asking about a DynamoDB action
    // whose body the caller hashed: an Allow would vouch for a body nobody checked.
    let core = core_with_roles().await;
    let creds = tables_credentials(&core).await;
    let body = br#"{"TableName":"notes","Key":{"id":{"S":"1"}}}"#;
    let unsigned = Signing {
        method: "POST",
        path: "/",
        payload_hash: Some("UNSIGNED-PAYLOAD"),
        body,
        ..Signing::default()
    };
    let table = "arn:aws:dynamodb:us-east-1:123456789012:table/notes";
    let (url, headers) = signed(&creds, &unsigned);
    let mut q = question("POST", url, headers, "dynamodb:GetItem", table);
    q.payload_sha256 = Some(sha256_hex(body));
    let a = authorize(&core, &q, NOW_MS).await;
    assert_eq!(
        a.reason,
        Reason::MalformedSignature("the signature does not cover the request body".into())
    );
    assert!(!a.is_allowed());
}

#[tokio::test]
async fn s3_payload_sha256_must_agree_with_the_declared_hash() {
    let core = core_with_roles().await;
    let creds = credentials(&core, "User", USER_A);
    let own_path = format!("/bucket/user-{USER_A}/notes.txt");
    let own_arn = format!("arn:aws:s3:::bucket/user-{USER_A}/notes.txt");
    let put = Signing {
        method: "PUT",
        path: &own_path,
        body: b"hello",
        ..Signing::default()
    };
    let (url, headers) = signed(&creds, &put);
    let mut q = question("PUT", url, headers, "s3:PutObject", &own_arn);
    q.payload_sha256 = Some(sha256_hex(b"hello"));
    assert!(authorize(&core, &q, NOW_MS).await.is_allowed());
    // The header is signed and names "hello": a caller's hash of another body contradicts it.
    q.payload_sha256 = Some(sha256_hex(b"jello"));
    assert_eq!(
        authorize(&core, &q, NOW_MS).await.reason,
        Reason::BadSignature
    );

    // UNSIGNED-PAYLOAD: the body is outside the signature, whatever its hash.
    let unsigned = Signing {
        payload_hash: Some("UNSIGNED-PAYLOAD"),
        ..put
    };
    let (url, headers) = signed(&creds, &unsigned);
    let mut q = question("PUT", url, headers, "s3:PutObject", &own_arn);
    q.payload_sha256 = Some(sha256_hex(b"jello"));
    let a = authorize(&core, &q, NOW_MS).await;
    assert!(a.is_allowed(), "{a:?}");
    assert_eq!(a.payload_hash.as_deref(), Some("UNSIGNED-PAYLOAD"));
}

#[tokio::test]
async fn presigned_urls_verify_until_they_expire() {
    let core = core_with_roles().await;
    let guest = credentials(&core, "Guest", USER_A);
    let s = Signing {
        presign_s: Some(300),
        ..Signing::default()
    };
    let resource = "arn:aws:s3:::bucket/public/photo.jpg";
    let (url, headers) = signed(&guest, &s);
    assert!(url.contains("X-Amz-Signature="));
    let q = question(
        "GET",
        url.clone(),
        headers.clone(),
        "s3:GetObject",
        resource,
    );
    let a = authorize(&core, &q, NOW_MS + 299_000).await;
    assert!(a.is_allowed(), "{a:?}");
    assert_eq!(a.payload_hash.as_deref(), Some("UNSIGNED-PAYLOAD"));
    let a = authorize(&core, &q, NOW_MS + 301_000).await;
    assert_eq!(a.reason, Reason::ExpiredPresignedUrl);
    assert!(a.principal.is_none());

    // Origin-form URL with the host only in the headers works alike.
    let origin = url
        .strip_prefix(&format!("http://{HOST}"))
        .unwrap()
        .to_string();
    let q = question("GET", origin, headers, "s3:GetObject", resource);
    assert!(authorize(&core, &q, NOW_MS).await.is_allowed());
}

#[tokio::test]
async fn refusals_name_their_reason_and_no_principal() {
    let core = core_with_roles().await;
    let guest = credentials(&core, "Guest", USER_A);
    let resource = "arn:aws:s3:::bucket/public/photo.jpg";
    let get = Signing::default();
    let (url, headers) = signed(&guest, &get);

    // Another object than the one signed for.
    let q = question(
        "GET",
        url.replace("photo", "other"),
        headers.clone(),
        "s3:GetObject",
        resource,
    );
    assert_eq!(
        authorize(&core, &q, NOW_MS).await.reason,
        Reason::BadSignature
    );
    // Another method.
    let q = question(
        "DELETE",
        url.clone(),
        headers.clone(),
        "s3:GetObject",
        resource,
    );
    assert_eq!(
        authorize(&core, &q, NOW_MS).await.reason,
        Reason::BadSignature
    );

    // A token with one character changed.
    let mut tampered = headers.clone();
    let token = guest.session_token.replacen('A', "B", 1);
    let token = if token == guest.session_token {
        guest
            .session_token
            .replacen(|c: char| c.is_ascii_alphanumeric(), "_", 1)
    } else {
        token
    };
    tampered.insert(
        "x-amz-security-token",
        HeaderValue::from_str(&token).unwrap(),
    );
    let q = question("GET", url.clone(), tampered, "s3:GetObject", resource);
    let a = authorize(&core, &q, NOW_MS).await;
    assert_eq!(a.reason, Reason::InvalidSessionToken);
    assert!(a.principal.is_none());
    assert!(a.to_json().contains("\"decision\":\"Deny\""));
    assert!(!a.to_json().contains("principal"));

    // The token expired (the request itself is recent).
    let a = ask(
        &core,
        &guest,
        &Signing {
            at_ms: NOW_MS + 3_600_500,
            ..Signing::default()
        },
        "s3:GetObject",
        resource,
        NOW_MS + 3_601_000,
    )
    .await;
    assert_eq!(a.reason, Reason::ExpiredSessionToken);
    assert!(a.reason.to_string().contains("expired"));

    // A header signature older than 15 minutes.
    let q = question(
        "GET",
        url.clone(),
        headers.clone(),
        "s3:GetObject",
        resource,
    );
    let a = authorize(&core, &q, NOW_MS + 15 * 60_000 + 1_000).await;
    assert_eq!(a.reason, Reason::ExpiredSignature);
    let a = authorize(&core, &q, NOW_MS - 15 * 60_000 - 1_000).await;
    assert_eq!(a.reason, Reason::SignatureNotYetValid);

    // Keys idpool never issued: a foreign session pair, and long-term keys.
    let mut foreign = guest.clone();
    foreign.access_key_id = "ASIAFOREIGNKEY000001".into();
    foreign.session_token = "FQoGZXIvYXdzEFoaDForeignTokenFromElsewhere".into();
    let a = ask(&core, &foreign, &get, "s3:GetObject", resource, NOW_MS).await;
    assert_eq!(a.reason, Reason::InvalidSessionToken);
    let (url2, mut no_token) = signed(&guest, &get);
    no_token.remove("x-amz-security-token");
    let q = question("GET", url2, no_token, "s3:GetObject", resource);
    // Without its token the key is unknown (and the signature covered the token anyway).
    assert_eq!(
        authorize(&core, &q, NOW_MS).await.reason,
        Reason::UnknownAccessKey
    );

    // Wrong region, and a signature for another service used on S3.
    let a = ask(
        &core,
        &guest,
        &Signing {
            region: "eu-west-1",
            ..Signing::default()
        },
        "s3:GetObject",
        resource,
        NOW_MS,
    )
    .await;
    assert!(
        matches!(a.reason, Reason::BadScope(ref m) if m.contains("eu-west-1")),
        "{a:?}"
    );
    let a = ask(
        &core,
        &guest,
        &Signing {
            service: "execute-api",
            ..Signing::default()
        },
        "s3:GetObject",
        resource,
        NOW_MS,
    )
    .await;
    assert!(matches!(a.reason, Reason::BadScope(_)), "{a:?}");

    // No signature at all.
    let q = question(
        "GET",
        format!("http://{HOST}/bucket/public/photo.jpg"),
        HeaderMap::new(),
        "s3:GetObject",
        resource,
    );
    assert_eq!(
        authorize(&core, &q, NOW_MS).await.reason,
        Reason::MissingSignature
    );
}

#[tokio::test]
async fn root_keys_are_refused_by_name() {
    let core = core_with_roles().await;
    let root = IssuedCredentials {
        access_key_id: "AKIAROOTKEY000000001".into(),
        secret_access_key: "root-secret".into(),
        session_token: String::new(),
        expires_ms: 0,
    };
    let (url, mut headers) = signed(&root, &Signing::default());
    headers.remove("x-amz-security-token");
    let q = question(
        "GET",
        url,
        headers,
        "s3:GetObject",
        "arn:aws:s3:::bucket/public/photo.jpg",
    );
    let opts = AuthorizerOptions {
        root_access_key_id: Some("AKIAROOTKEY000000001"),
        ..AuthorizerOptions::default()
    };
    let a = authorize_with(&core, &q, &opts, NOW_MS).await;
    assert_eq!(a.reason, Reason::RootCredentials);
    assert_eq!(a.decision, Verdict::Deny);
    assert_eq!(
        a.reason.to_string(),
        "root credentials are not accepted by the authorizer"
    );
    assert_eq!(a.reason.code(), "root_credentials");
    // Without knowing root's key id it is just a key idpool cannot resolve.
    assert_eq!(
        authorize(&core, &q, NOW_MS).await.reason,
        Reason::UnknownAccessKey
    );
}

#[tokio::test]
async fn context_keys_reach_conditions_but_cannot_replace_the_principal() {
    let core = core_with_roles().await;
    let guest = credentials(&core, "Guest", USER_A);
    let list = Signing {
        path: "/bucket",
        ..Signing::default()
    };
    let (url, headers) = signed(&guest, &list);
    let mut q = question("GET", url, headers, "s3:ListBucket", "arn:aws:s3:::bucket");
    assert_eq!(
        authorize(&core, &q, NOW_MS).await.reason,
        Reason::NoPolicyAllows
    );
    q.context = vec![("aws:SourceIp".into(), vec!["203.0.113.7".into()])];
    assert!(authorize(&core, &q, NOW_MS).await.is_allowed());
    q.context = vec![("aws:SourceIp".into(), vec!["198.51.100.7".into()])];
    assert_eq!(
        authorize(&core, &q, NOW_MS).await.reason,
        Reason::NoPolicyAllows
    );

    q.context = vec![(
        "Cognito-Identity.amazonaws.com:sub".into(),
        vec![USER_B.into()],
    )];
    assert!(matches!(
        authorize(&core, &q, NOW_MS).await.reason,
        Reason::BadQuestion(_)
    ));
    q.context = vec![];
    q.action = "s3:*".into();
    assert!(matches!(
        authorize(&core, &q, NOW_MS).await.reason,
        Reason::BadQuestion(_)
    ));
}

#[tokio::test]
async fn a_deleted_role_allows_nothing() {
    let core = core_with_roles().await;
    let guest = credentials(&core, "Guest", USER_A);
    testkit::ok(
        &core,
        "DeleteRolePolicy",
        &[("RoleName", "Guest"), ("PolicyName", "storage")],
    )
    .await;
    testkit::ok(&core, "DeleteRole", &[("RoleName", "Guest")]).await;
    let a = ask(
        &core,
        &guest,
        &Signing::default(),
        "s3:GetObject",
        "arn:aws:s3:::bucket/public/photo.jpg",
        NOW_MS,
    )
    .await;
    assert_eq!(a.reason, Reason::NoPolicyAllows);
}

#[test]
fn urls_split_without_decoding() {
    let t = split_url("https://b.s3.test:9000/a%20b/c?x-id=GetObject&k=v%2F#frag").unwrap();
    assert_eq!(
        t,
        Target {
            authority: Some("b.s3.test:9000"),
            path: "/a%20b/c",
            query: "x-id=GetObject&k=v%2F",
        }
    );
    let t = split_url("http://host?list-type=2").unwrap();
    assert_eq!(
        (t.authority, t.path, t.query),
        (Some("host"), "/", "list-type=2")
    );
    let t = split_url("/bucket//key").unwrap();
    assert_eq!((t.authority, t.path, t.query), (None, "/bucket//key", ""));
    for bad in [
        "",
        "bucket/key",
        "ftp://host/x",
        "http:///x",
        "http://host/a b",
        "http://host/\n",
    ] {
        assert!(split_url(bad).is_err(), "{bad:?} accepted");
    }
}

#[test]
fn questions_parse_from_json() {
    let body = br#"{"method":"GET","url":"http://h.test/b/k?x=1",
        "headers":{"Host":"h.test","X-Amz-Date":"20260101T000000Z","X-Multi":["a","b"],"x-multi":"c"},
        "action":"s3:GetObject","resource":"arn:aws:s3:::b/k",
        "context":{"aws:SourceIp":"203.0.113.7","s3:max-keys":[10, "20"],"aws:SecureTransport":true},
        "payload_sha256":"E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855",
        "future":"ignored"}"#;
    let q = AuthorizeRequest::from_json(body).unwrap();
    assert_eq!(q.method, "GET");
    assert_eq!(
        q.payload_sha256.as_deref(),
        Some("E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855")
    );
    assert_eq!(q.headers["host"], "h.test");
    let multi: Vec<_> = q.headers.get_all("x-multi").iter().collect();
    assert_eq!(multi, ["a", "b", "c"]);
    assert_eq!(
        q.context,
        vec![
            ("aws:SourceIp".to_string(), vec!["203.0.113.7".to_string()]),
            (
                "s3:max-keys".to_string(),
                vec!["10".to_string(), "20".to_string()]
            ),
            ("aws:SecureTransport".to_string(), vec!["true".to_string()]),
        ]
    );

    // HTTP/2: `:authority` becomes the host; other pseudo-headers are dropped.
    let body = br#"{"method":"GET","url":"/b/k","headers":{":authority":"h2.test",":path":"/b/k"},
        "action":"s3:GetObject","resource":"*"}"#;
    let q = AuthorizeRequest::from_json(body).unwrap();
    assert_eq!(q.headers["host"], "h2.test");
    assert_eq!(q.headers.len(), 1);
    assert_eq!(q.payload_sha256, None);
    // Without either, the URL's authority stands in.
    let body =
        br#"{"method":"GET","url":"http://u.test/b/k","action":"s3:GetObject","resource":"*"}"#;
    assert_eq!(
        AuthorizeRequest::from_json(body).unwrap().headers["host"],
        "u.test"
    );

    let fails = |body: &str| AuthorizeRequest::from_json(body.as_bytes()).unwrap_err();
    assert_eq!(fails("not json").code, "SerializationException");
    assert_eq!(fails("[1]").code, "InvalidParameterException");
    let e = fails(r#"{"method":"GET","url":"/","resource":"*"}"#);
    assert_eq!(e.code, "InvalidParameterException");
    assert!(e.message.contains("action"), "{}", e.message);
    let base = |field: &str| {
        format!(r#"{{"method":"GET","url":"/","action":"s3:GetObject","resource":"*",{field}}}"#)
    };
    for bad in [
        r#""headers":{"bad name":"x"}"#,
        r#""headers":{"x":"line\nbreak"}"#,
        r#""headers":{"x":5}"#,
        r#""headers":[]"#,
        r#""context":{"aws:SourceIp":{"nested":1}}"#,
        r#""context":{"aws:PrincipalTag/team":"x"}"#,
        r#""method":"G T""#,
        r#""url":"bucket/key""#,
        r#""action":"GetObject""#,
        r#""resource":"""#,
        r#""payload_sha256":"abc""#,
        r#""payload_sha256":"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b85g""#,
        r#""payload_sha256":5"#,
    ] {
        assert_eq!(fails(&base(bad)).code, "InvalidParameterException", "{bad}");
    }
}

#[test]
fn debug_hides_the_token_and_signature() {
    let mut headers = HeaderMap::new();
    headers.insert(
        "x-amz-security-token",
        HeaderValue::from_static("SECRETTOKEN"),
    );
    headers.insert(
        "authorization",
        HeaderValue::from_static("AWS4-HMAC-SHA256 Signature=abc123"),
    );
    let q = question(
        "GET",
        "http://h/k?X-Amz-Signature=abc123&X-Amz-Security-Token=SECRETTOKEN".into(),
        headers,
        "s3:GetObject",
        "*",
    );
    let text = format!("{q:?}");
    assert!(
        !text.contains("SECRETTOKEN") && !text.contains("abc123"),
        "{text}"
    );
    assert!(text.contains("x-amz-security-token"));
}

#[test]
fn answers_render_the_wire_shape() {
    let a = AuthorizeAnswer {
        decision: Verdict::Allow,
        reason: Reason::Allowed,
        principal: Some(Principal {
            arn: "arn:aws:sts::1:assumed-role/R/s".into(),
            identity_id: Some(USER_A.into()),
            pool_id: None,
            role_arn: "arn:aws:iam::1:role/R".into(),
            session_name: "s".into(),
            tags: BTreeMap::new(),
        }),
        payload_hash: Some("UNSIGNED-PAYLOAD".into()),
    };
    let v: serde_json::Value = serde_json::from_str(&a.to_json()).unwrap();
    assert_eq!(
        v,
        serde_json::json!({
            "decision": "Allow",
            "reason": "allowed by policy",
            "principal": {
                "arn": "arn:aws:sts::1:assumed-role/R/s",
                "identityId": USER_A,
                "poolId": null,
                "roleArn": "arn:aws:iam::1:role/R",
                "sessionName": "s",
                "tags": {}
            }
        })
    );
}

/// Average cost of one decision through the library call, signature to policy.
/// `cargo test --release -p idpool-core authorizer_cost -- --ignored --nocapture`
#[tokio::test]
#[ignore = "micro-benchmark; run in release mode"]
async fn authorizer_cost() {
    let core = core_with_roles().await;
    // A guest as the enhanced flow makes one: scope-down session policy included.
    let claims = SessionClaims {
        access_key_id: new_access_key_id().unwrap(),
        identity_id: Some(USER_A.into()),
        pool_id: Some(POOL.into()),
        role_arn: role_arn("Guest"),
        role_id: "AROAEXAMPLEROLEID".into(),
        session_name: "CognitoIdentityCredentials".into(),
        issued_ms: NOW_MS,
        expires_ms: NOW_MS + 3_600_000,
        tags: BTreeMap::new(),
        session_policies: vec![crate::cognito::credentials::guest_session_policy()],
        amr: vec!["unauthenticated".into()],
        provider: Some("cognito-identity.amazonaws.com".into()),
    };
    let guest = issue(&core.keys.get(), &claims).unwrap();
    let (url, headers) = signed(&guest, &Signing::default());
    let q = question(
        "GET",
        url,
        headers,
        "s3:GetObject",
        "arn:aws:s3:::bucket/public/photo.jpg",
    );
    let body = serde_json::json!({
        "method": "GET", "url": q.url, "action": q.action, "resource": q.resource,
        "headers": q.headers.iter().map(|(k, v)| (k.as_str().to_string(), v.to_str().unwrap().to_string())).collect::<BTreeMap<_, _>>(),
        "context": {"aws:SourceIp": "203.0.113.7"},
    })
    .to_string();
    assert!(authorize(&core, &q, NOW_MS).await.is_allowed());
    let rounds = 20_000u32;
    let start = std::time::Instant::now();
    for _ in 0..rounds {
        let a = authorize(&core, &q, NOW_MS).await;
        assert!(a.is_allowed());
    }
    let library = start.elapsed() / rounds;
    let start = std::time::Instant::now();
    for _ in 0..rounds {
        let q = AuthorizeRequest::from_json(body.as_bytes()).unwrap();
        let a = authorize(&core, &q, NOW_MS).await;
        assert!(a.to_json().len() > 10);
    }
    let with_json = start.elapsed() / rounds;
    println!(
        "authorizer: {library:?} per decision (library call), {with_json:?} with JSON in and out"
    );
}

#[tokio::test]
async fn session_policies_narrow_the_role_and_an_unreadable_one_allows_nothing() {
    let core = core_with_roles().await;
    let resource = "arn:aws:s3:::bucket/public/photo.jpg";
    let with_policies = |policies: Vec<String>| {
        let claims = SessionClaims {
            access_key_id: new_access_key_id().unwrap(),
            identity_id: Some(USER_A.into()),
            pool_id: Some(POOL.into()),
            role_arn: role_arn("Guest"),
            role_id: "AROAEXAMPLEROLEID".into(),
            session_name: "s".into(),
            issued_ms: NOW_MS,
            expires_ms: NOW_MS + 3_600_000,
            tags: BTreeMap::new(),
            session_policies: policies,
            amr: vec!["unauthenticated".into()],
            provider: None,
        };
        issue(&core.keys.get(), &claims).unwrap()
    };
    let guest = with_policies(vec![crate::cognito::credentials::guest_session_policy()]);
    let a = ask(
        &core,
        &guest,
        &Signing::default(),
        "s3:GetObject",
        resource,
        NOW_MS,
    )
    .await;
    assert!(a.is_allowed(), "{a:?}");
    // Asked twice: the second answer comes from the parsed-policy cache and must agree.
    let a = ask(
        &core,
        &guest,
        &Signing::default(),
        "s3:GetObject",
        resource,
        NOW_MS,
    )
    .await;
    assert!(a.is_allowed(), "{a:?}");

    let narrow = with_policies(vec![
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:PutObject","Resource":"*"}]}"#.into(),
    ]);
    let a = ask(
        &core,
        &narrow,
        &Signing::default(),
        "s3:GetObject",
        resource,
        NOW_MS,
    )
    .await;
    assert_eq!(a.reason, Reason::NoPolicyAllows);

    let unreadable = with_policies(vec!["{not a policy".into()]);
    let a = ask(
        &core,
        &unreadable,
        &Signing::default(),
        "s3:GetObject",
        resource,
        NOW_MS,
    )
    .await;
    assert_eq!(a.reason, Reason::NoPolicyAllows);
}
