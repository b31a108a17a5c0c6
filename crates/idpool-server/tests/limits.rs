//! Rate limits, `/metrics` and the audit trail at the router (issue 6, items 4 and 5).

use std::io::Write;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::extract::ConnectInfo;
use http::{Request, StatusCode};
use http_body_util::BodyExt;
use tower::ServiceExt;

const ROOT_ID: &str = "AKIDLIMITSTEST000001";
const ROOT_SECRET: &str = "limits/test/secret/0000000000000000000000";
const POOL_ID: &str = "us-east-1:0b6f3d7e-1c2a-4e5f-8a9b-0c1d2e3f4a5b";

const DECLARED: &str = r#"
[[role]]
name = "GuestRole"
assume_role_policy = '''
{"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
  "Principal": {"Federated": "cognito-identity.amazonaws.com"},
  "Action": "sts:AssumeRoleWithWebIdentity",
  "Condition": {"ForAnyValue:StringLike": {"cognito-identity.amazonaws.com:amr": "unauthenticated"}}}]}
'''

[[pool]]
id = "us-east-1:0b6f3d7e-1c2a-4e5f-8a9b-0c1d2e3f4a5b"
name = "LimitsPool"
allow_unauthenticated = true
allow_classic_flow = true
[pool.roles]
unauthenticated = "arn:aws:iam::000000000000:role/GuestRole"
"#;

struct Fixture {
    router: axum::Router,
    dir: std::path::PathBuf,
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

async fn fixture(settings_toml: &str) -> Fixture {
    let dir = std::env::temp_dir().join(format!("idpool-limits-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let cfg = dir.join("idpool.toml");
    std::fs::write(&cfg, format!("{settings_toml}\n{DECLARED}")).unwrap();
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

struct Answer {
    status: StatusCode,
    headers: http::HeaderMap,
    body: String,
}

impl Answer {
    fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_default()
    }

    fn error_type(&self) -> String {
        self.json()["__type"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }
}

async fn send(router: &axum::Router, req: Request<Body>) -> Answer {
    let resp = router.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let headers = resp.headers().clone();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    Answer {
        status,
        headers,
        body: String::from_utf8_lossy(&bytes).into_owned(),
    }
}

/// A Cognito request as the server sees it when `from` connected to it.
fn cognito(op: &str, body: serde_json::Value, from: Option<&str>) -> Request<Body> {
    let mut req = Request::post("/")
        .header("content-type", "application/x-amz-json-1.1")
        .header("x-amz-target", format!("AWSCognitoIdentityService.{op}"))
        .body(Body::from(body.to_string()))
        .unwrap();
    if let Some(from) = from {
        let addr: SocketAddr = from.parse().unwrap();
        req.extensions_mut().insert(ConnectInfo(addr));
    }
    req
}

async fn metrics_text(router: &axum::Router) -> String {
    let a = send(
        router,
        Request::get("/metrics").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK);
    assert!(
        a.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    a.body
}

/// The value of one sample line, 0 when absent.
fn sample(text: &str, series: &str) -> u64 {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.trim().parse().ok())
        .unwrap_or(0)
}

#[tokio::test]
async fn excess_requests_per_source_get_too_many_requests() {
    let f = fixture("[rate_limits]\nper_source_rps = 1\nper_source_burst = 3\n").await;
    let mut outcomes = Vec::new();
    for _ in 0..10 {
        let a = send(
            &f.router,
            cognito(
                "GetId",
                serde_json::json!({"IdentityPoolId": POOL_ID}),
                Some("127.0.0.1:40000"),
            ),
        )
        .await;
        outcomes.push((a.status, a.error_type(), a.headers.clone()));
    }
    let admitted = outcomes
        .iter()
        .filter(|(s, _, _)| *s == StatusCode::OK)
        .count();
    assert!((3..=4).contains(&admitted), "admitted {admitted}");
    let (status, kind, headers) = outcomes.last().unwrap();
    assert_eq!(*status, StatusCode::BAD_REQUEST);
    assert_eq!(kind, "TooManyRequestsException");
    assert_eq!(headers["x-amzn-errortype"], "TooManyRequestsException:");
    assert_eq!(headers["x-amzn-errormessage"], "Rate exceeded");
    // Another address has its own bucket; the bucket is per address, so a new port does not help.
    let other = send(
        &f.router,
        cognito(
            "GetId",
            serde_json::json!({"IdentityPoolId": POOL_ID}),
            Some("127.0.0.2:1"),
        ),
    )
    .await;
    assert_eq!(other.status, StatusCode::OK, "{}", other.body);
    let same_host = send(
        &f.router,
        cognito(
            "GetId",
            serde_json::json!({"IdentityPoolId": POOL_ID}),
            Some("127.0.0.1:2"),
        ),
    )
    .await;
    assert_eq!(same_host.error_type(), "TooManyRequestsException");

    let text = metrics_text(&f.router).await;
    let limited = sample(
        &text,
        "idpool_rate_limited_total{operation=\"GetId\",limit=\"source\"}",
    );
    assert!(limited >= 6, "{text}");
    assert_eq!(
        sample(
            &text,
            "idpool_requests_total{operation=\"GetId\",outcome=\"TooManyRequestsException\"}"
        ),
        limited
    );
    assert!(
        sample(
            &text,
            "idpool_requests_total{operation=\"GetId\",outcome=\"ok\"}"
        ) >= 4
    );
}

#[tokio::test]
async fn excess_requests_per_pool_are_refused_whatever_the_source() {
    let f =
        fixture("[rate_limits]\nper_source_rps = 0\nper_pool_rps = 1\nper_pool_burst = 2\n").await;
    let mut refused = 0;
    for i in 0..6 {
        let from = format!("127.0.1.{}:5000", i + 1);
        let a = send(
            &f.router,
            cognito(
                "GetId",
                serde_json::json!({"IdentityPoolId": POOL_ID}),
                Some(&from),
            ),
        )
        .await;
        if a.error_type() == "TooManyRequestsException" {
            refused += 1;
        }
    }
    assert!(refused >= 3, "refused {refused}");
    // A different pool id is a different bucket (it is then not found, but not throttled).
    let a = send(
        &f.router,
        cognito(
            "GetId",
            serde_json::json!({"IdentityPoolId": "us-east-1:11111111-2222-3333-4444-555555555555"}),
            Some("127.0.1.1:5000"),
        ),
    )
    .await;
    assert_eq!(a.error_type(), "ResourceNotFoundException");
}

#[tokio::test]
async fn aws_default_quotas_profile_caps_get_id_at_25_per_second() {
    let f = fixture("[rate_limits]\naws_default_quotas = true\n").await;
    let mut admitted = 0;
    for i in 0..60 {
        let from = format!("127.0.2.{}:5000", i % 200 + 1);
        let a = send(
            &f.router,
            cognito(
                "GetId",
                serde_json::json!({"IdentityPoolId": POOL_ID}),
                Some(&from),
            ),
        )
        .await;
        if a.status == StatusCode::OK {
            admitted += 1;
        } else {
            assert_eq!(a.error_type(), "TooManyRequestsException");
        }
    }
    // 25 at once, plus whatever refilled while the loop ran (well under a second).
    assert!((25..=40).contains(&admitted), "admitted {admitted}");
    let text = metrics_text(&f.router).await;
    assert!(
        sample(
            &text,
            "idpool_rate_limited_total{operation=\"GetId\",limit=\"aws_quota\"}"
        ) >= 20
    );
}

#[tokio::test]
async fn sts_web_identity_is_throttled_with_the_query_code() {
    let f = fixture("[rate_limits]\nper_source_rps = 1\nper_source_burst = 1\n").await;
    let form = "Action=AssumeRoleWithWebIdentity&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A000000000000%3Arole%2FGuestRole&RoleSessionName=s&WebIdentityToken=abc";
    let mut last = None;
    for _ in 0..4 {
        let mut req = Request::post("/")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Body::from(form))
            .unwrap();
        req.extensions_mut()
            .insert(ConnectInfo("127.0.3.1:1".parse::<SocketAddr>().unwrap()));
        last = Some(send(&f.router, req).await);
    }
    let a = last.unwrap();
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert!(a.body.contains("<Code>Throttling</Code>"), "{}", a.body);
    assert!(a.body.contains("<Message>Rate exceeded</Message>"));
}

#[tokio::test]
async fn default_limits_let_a_busy_test_suite_through() {
    let f = fixture("").await;
    for _ in 0..300 {
        let a = send(
            &f.router,
            cognito(
                "GetId",
                serde_json::json!({"IdentityPoolId": POOL_ID}),
                Some("127.0.0.1:1"),
            ),
        )
        .await;
        assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    }
}

#[tokio::test]
async fn forwarded_for_is_ignored_unless_trusted() {
    for (trusted, expect_second_ok) in [(false, false), (true, true)] {
        let f = fixture(&format!(
            "[rate_limits]\nper_source_rps = 1\nper_source_burst = 1\ntrust_forwarded_for = {trusted}\n"
        ))
        .await;
        let mut answers = Vec::new();
        for client in ["198.51.100.1", "198.51.100.2"] {
            let mut req = cognito(
                "GetId",
                serde_json::json!({"IdentityPoolId": POOL_ID}),
                Some("127.0.0.9:1"),
            );
            req.headers_mut().insert(
                "x-forwarded-for",
                format!("10.9.9.9, {client}").parse().unwrap(),
            );
            answers.push(send(&f.router, req).await);
        }
        assert_eq!(answers[0].status, StatusCode::OK);
        assert_eq!(
            answers[1].status == StatusCode::OK,
            expect_second_ok,
            "trusted={trusted}"
        );
    }
}

/// Collects everything a fmt subscriber writes.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn audit_lines_name_who_got_what_and_never_a_secret() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .json()
        .with_max_level(tracing::Level::INFO)
        .with_writer(move || writer.clone())
        .finish();
    // Global, not per thread: tracing caches per-callsite interest process-wide, and tests in
    // this binary run in parallel on other threads.
    tracing::subscriber::set_global_default(subscriber).unwrap();

    let f = fixture("").await;
    let from = Some("127.0.4.7:3333");
    let a = send(
        &f.router,
        cognito(
            "GetId",
            serde_json::json!({"IdentityPoolId": POOL_ID}),
            from,
        ),
    )
    .await;
    let identity = a.json()["IdentityId"].as_str().unwrap().to_string();
    let a = send(
        &f.router,
        cognito(
            "GetCredentialsForIdentity",
            serde_json::json!({"IdentityId": identity}),
            from,
        ),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    let creds = a.json()["Credentials"].clone();
    let a = send(
        &f.router,
        cognito(
            "GetOpenIdToken",
            serde_json::json!({"IdentityId": identity}),
            from,
        ),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    let token = a.json()["Token"].as_str().unwrap().to_string();

    let text = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    let audit: Vec<serde_json::Value> = text
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["target"] == "idpool::audit" && v["fields"]["identity"] == identity.as_str())
        .collect();
    assert_eq!(audit.len(), 2, "{text}");
    let issued = &audit[0]["fields"];
    assert_eq!(issued["event"], "credentials_issued");
    assert_eq!(issued["identity"], identity.as_str());
    assert_eq!(issued["pool"], POOL_ID);
    assert_eq!(issued["role"], "arn:aws:iam::000000000000:role/GuestRole");
    assert_eq!(issued["amr"], "unauthenticated");
    assert_eq!(issued["source"], "127.0.4.7");
    assert_eq!(issued["access_key_id"], creds["AccessKeyId"]);
    let minted = &audit[1]["fields"];
    assert_eq!(minted["event"], "openid_token_issued");
    assert_eq!(minted["pool"], POOL_ID);
    assert_eq!(minted["identity"], identity.as_str());

    for secret in [
        creds["SecretKey"].as_str().unwrap(),
        creds["SessionToken"].as_str().unwrap(),
        token.as_str(),
        ROOT_SECRET,
    ] {
        assert!(!text.contains(secret), "a secret reached the log");
    }
}
