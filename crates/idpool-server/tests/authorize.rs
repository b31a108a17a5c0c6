//! `POST /authorize` at the router: the answer's shape, refusals before any policy, and the
//! AWS-style errors for questions that are not well formed (issue 5). Allowed decisions are
//! covered in idpool-core's authorizer tests and the boto3 / JavaScript SDK suites.

use axum::body::Body;
use http::{Request, StatusCode};
use http_body_util::BodyExt;
use tower::ServiceExt;

const ROOT_ID: &str = "AKIDAUTHORIZETEST001";
const ROOT_SECRET: &str = "authorize/test/secret/000000000000000000";

struct Fixture {
    router: axum::Router,
    dir: std::path::PathBuf,
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

async fn fixture() -> Fixture {
    let dir = std::env::temp_dir().join(format!("idpool-authorize-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let cfg = dir.join("idpool.toml");
    std::fs::write(&cfg, "").unwrap();
    let args = idpool_server::ServeArgs {
        listen: Some("127.0.0.1:0".parse().unwrap()),
        data_dir: Some(dir.clone()),
        config: Some(cfg),
        ..Default::default()
    };
    let env = |k: &str| match k {
        "IDPOOL_ROOT_ACCESS_KEY_ID" => Some(ROOT_ID.to_string()),
        "IDPOOL_ROOT_SECRET_ACCESS_KEY" => Some(ROOT_SECRET.to_string()),
        _ => None,
    };
    let settings = idpool_server::Settings::resolve(&args, &env).unwrap();
    let app = idpool_server::Application::build(settings).await.unwrap();
    Fixture {
        router: app.router(),
        dir,
    }
}

async fn post(f: &Fixture, method: &str, body: impl Into<Body>) -> (StatusCode, serde_json::Value) {
    let req = Request::builder()
        .method(method)
        .uri("/authorize")
        .header("content-type", "application/json")
        .body(body.into())
        .unwrap();
    let resp = f.router.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    (status, serde_json::from_slice(&bytes).unwrap_or_default())
}

fn question(headers: serde_json::Value) -> String {
    serde_json::json!({
        "method": "GET",
        "url": "http://storage.test/bucket/public/photo.jpg",
        "headers": headers,
        "action": "s3:GetObject",
        "resource": "arn:aws:s3:::bucket/public/photo.jpg",
        "context": {"aws:SourceIp": "203.0.113.7"},
    })
    .to_string()
}

/// An Authorization header naming `key_id`, dated now; its signature is no real one.
fn signed_by(key_id: &str, token: Option<&str>) -> serde_json::Value {
    let now = time::OffsetDateTime::now_utc();
    let amz_date = format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
        now.year(),
        u8::from(now.month()),
        now.day(),
        now.hour(),
        now.minute(),
        now.second()
    );
    let mut headers = serde_json::json!({
        "Host": "storage.test",
        "X-Amz-Date": amz_date,
        "X-Amz-Content-SHA256": "UNSIGNED-PAYLOAD",
        "Authorization": format!(
            "AWS4-HMAC-SHA256 Credential={key_id}/{}/us-east-1/s3/aws4_request, \
             SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature={}",
            &amz_date[..8],
            "0".repeat(64)
        ),
    });
    if let Some(t) = token {
        headers["X-Amz-Security-Token"] = t.into();
    }
    headers
}

#[tokio::test]
async fn unverified_requests_are_denied_without_a_principal() {
    let f = fixture().await;
    for (headers, reason) in [
        (
            serde_json::json!({"Host": "storage.test"}),
            "missing signature",
        ),
        (
            signed_by(ROOT_ID, None),
            "root credentials are not accepted by the authorizer",
        ),
        (
            signed_by("AKIAUNKNOWNKEY000001", None),
            "unknown access key",
        ),
        (
            signed_by("ASIAUNKNOWNKEY000001", Some("bm90LWEtdG9rZW4")),
            "tampered or foreign session token",
        ),
    ] {
        let (status, answer) = post(&f, "POST", question(headers)).await;
        assert_eq!(status, StatusCode::OK, "{answer}");
        assert_eq!(answer["decision"], "Deny");
        assert!(
            answer["reason"].as_str().unwrap().starts_with(reason),
            "{answer}"
        );
        assert!(answer.get("principal").is_none(), "{answer}");
    }
}

#[tokio::test]
async fn malformed_questions_get_aws_errors() {
    let f = fixture().await;
    let (status, e) = post(&f, "POST", "{\"method\":").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(e["__type"], "SerializationException");

    let (status, e) = post(
        &f,
        "POST",
        r#"{"method":"GET","url":"/b/k","action":"s3:GetObject"}"#,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(e["__type"], "InvalidParameterException");
    assert!(e["message"].as_str().unwrap().contains("resource"), "{e}");

    let body = question(serde_json::json!({"Host": "storage.test"})).replace(
        "203.0.113.7\"}",
        "203.0.113.7\",\"aws:PrincipalArn\":\"x\"}",
    );
    let (status, e) = post(&f, "POST", body).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(e["__type"], "InvalidParameterException");

    let (status, e) = post(&f, "POST", vec![b' '; 2 * 1024 * 1024]).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(e["__type"], "RequestEntityTooLargeException");

    let (status, e) = post(&f, "GET", Body::empty()).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(e["__type"], "UnknownOperationException");
}
