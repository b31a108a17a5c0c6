//! Router-level tests: protocol errors, CORS, and a property test that no request shape makes the
//! server answer 5xx, HTML or a non-AWS error (issue 2, items 2 and 8).

use axum::body::Body;
use http::{Request, StatusCode};
use http_body_util::BodyExt;
use proptest::prelude::*;
use tower::ServiceExt;

const ROOT_ID: &str = "AKIDROUTERTEST000001";
const ROOT_SECRET: &str = "router/test/secret/0000000000000000000000";

struct Fixture {
    router: axum::Router,
    _dir: std::path::PathBuf,
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self._dir);
    }
}

async fn fixture() -> Fixture {
    let dir = std::env::temp_dir().join(format!("idpool-router-{}", uuid::Uuid::new_v4()));
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
        _dir: dir,
    }
}

struct Answer {
    status: StatusCode,
    headers: http::HeaderMap,
    body: String,
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

fn json_req(target: &str, body: &str) -> Request<Body> {
    Request::post("/")
        .header("content-type", "application/x-amz-json-1.1")
        .header("x-amz-target", target)
        .body(Body::from(body.to_string()))
        .unwrap()
}

fn json_type(a: &Answer) -> String {
    let v: serde_json::Value = serde_json::from_str(&a.body).unwrap_or_default();
    v["__type"].as_str().unwrap_or_default().to_string()
}

#[tokio::test]
async fn unknown_target_is_unknown_operation() {
    let f = fixture().await;
    let a = send(&f.router, json_req("AWSCognitoIdentityService.Nope", "{}")).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert_eq!(json_type(&a), "UnknownOperationException");
    assert_eq!(a.headers["x-amzn-errortype"], "UnknownOperationException:");
    assert!(a.headers.contains_key("x-amzn-requestid"));
    assert_eq!(a.headers["access-control-allow-origin"], "*");
}

#[tokio::test]
async fn malformed_json_is_a_serialization_error() {
    let f = fixture().await;
    let a = send(
        &f.router,
        json_req("AWSCognitoIdentityService.GetId", "{\"IdentityPoolId\":"),
    )
    .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert_eq!(json_type(&a), "SerializationException");
}

#[tokio::test]
async fn signed_operation_without_signature_is_refused() {
    let f = fixture().await;
    let a = send(
        &f.router,
        json_req(
            "AWSCognitoIdentityService.ListIdentityPools",
            "{\"MaxResults\":5}",
        ),
    )
    .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert_eq!(json_type(&a), "MissingAuthenticationTokenException");
}

#[tokio::test]
async fn public_operation_runs_validation_unsigned() {
    let f = fixture().await;
    let a = send(&f.router, json_req("AWSCognitoIdentityService.GetId", "{}")).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert_eq!(json_type(&a), "ValidationException");
    assert!(
        a.body.contains(
            "Value null at 'identityPoolId' failed to satisfy constraint: Member must not be null"
        ),
        "{}",
        a.body
    );
}

#[tokio::test]
async fn preflight_echoes_requested_headers() {
    let f = fixture().await;
    let req = Request::builder()
        .method("OPTIONS")
        .uri("/")
        .header("origin", "http://localhost:3000")
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "content-type,x-amz-target,cache-control",
        )
        .body(Body::empty())
        .unwrap();
    let a = send(&f.router, req).await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.headers["access-control-allow-origin"], "*");
    assert_eq!(
        a.headers["access-control-allow-headers"],
        "content-type,x-amz-target,cache-control"
    );
}

#[tokio::test]
async fn query_without_signature_is_refused_in_xml() {
    let f = fixture().await;
    let req = Request::post("/")
        .header(
            "content-type",
            "application/x-www-form-urlencoded; charset=utf-8",
        )
        .body(Body::from("Action=ListRoles&Version=2010-05-08"))
        .unwrap();
    let a = send(&f.router, req).await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    assert!(
        a.body.contains("<Code>MissingAuthenticationToken</Code>"),
        "{}",
        a.body
    );
    assert!(a.body.starts_with("<ErrorResponse"), "{}", a.body);
}

#[tokio::test]
async fn oversized_body_is_refused_with_an_aws_error() {
    let f = fixture().await;
    let big = format!("{{\"IdentityPoolId\":\"{}\"}}", "a".repeat(2 * 1024 * 1024));
    let a = send(&f.router, json_req("AWSCognitoIdentityService.GetId", &big)).await;
    assert_eq!(a.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(json_type(&a), "RequestEntityTooLargeException");
}

#[tokio::test]
async fn health_answers() {
    let f = fixture().await;
    let a = send(
        &f.router,
        Request::get("/health").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK);
}

/// Every answer must be AWS-shaped: below 500, and a JSON error with `__type` or an XML
/// `ErrorResponse`, or a success.
fn assert_aws_shaped(a: &Answer) {
    assert!(
        a.status.as_u16() < 500,
        "5xx answer: {} {}",
        a.status,
        a.body
    );
    assert!(
        !a.body.trim_start().starts_with("<!") && !a.body.contains("<html"),
        "HTML answer: {}",
        a.body
    );
    if a.status.is_success() {
        return;
    }
    let ct = a
        .headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if ct.contains("json") {
        let v: serde_json::Value = serde_json::from_str(&a.body).expect("JSON error body");
        assert!(v["__type"].is_string(), "no __type: {}", a.body);
    } else {
        assert!(
            ct.contains("xml"),
            "unexpected content type {ct}: {}",
            a.body
        );
        assert!(
            a.body.starts_with("<ErrorResponse"),
            "not an ErrorResponse: {}",
            a.body
        );
    }
}

fn targets() -> impl Strategy<Value = Option<String>> {
    let ops: Vec<String> = idpool_wire::json::CognitoOp::ALL
        .iter()
        .map(|o| format!("AWSCognitoIdentityService.{}", o.name()))
        .collect();
    prop_oneof![
        3 => proptest::sample::select(ops).prop_map(Some),
        1 => "[A-Za-z.]{0,40}".prop_map(Some),
        1 => Just(None),
    ]
}

fn json_value() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        any::<f64>().prop_map(|f| serde_json::Number::from_f64(f)
            .map(serde_json::Value::Number)
            .unwrap_or_default()),
        ".{0,30}".prop_map(serde_json::Value::from),
        "us-east-1:[0-9a-f-]{0,40}".prop_map(serde_json::Value::from),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::Array),
            proptest::collection::btree_map(member_names(), inner, 0..5)
                .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    })
}

fn member_names() -> impl Strategy<Value = String> {
    prop_oneof![
        proptest::sample::select(vec![
            "IdentityPoolId",
            "IdentityPoolName",
            "AllowUnauthenticatedIdentities",
            "MaxResults",
            "NextToken",
            "Logins",
            "IdentityId",
            "Roles",
            "RoleMappings",
            "Tags",
            "ResourceArn",
            "TagKeys",
            "SupportedLoginProviders",
            "CognitoIdentityProviders",
            "TokenDuration",
        ])
        .prop_map(str::to_string),
        "[A-Za-z]{1,12}",
    ]
}

fn bodies() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        4 => json_value().prop_map(|v| v.to_string().into_bytes()),
        1 => proptest::collection::vec(any::<u8>(), 0..200),
        1 => "Action=[A-Za-z]{0,20}&Version=(2010-05-08|2011-06-15|x)&[A-Za-z.]{0,10}=[ -~]{0,20}".prop_map(String::into_bytes),
    ]
}

fn methods() -> impl Strategy<Value = &'static str> {
    prop_oneof![8 => Just("POST"), 1 => Just("GET"), 1 => Just("PUT"), 1 => Just("OPTIONS"), 1 => Just("DELETE")]
}

/// One runtime and one server for all generated cases, so 1,200 cases stay fast.
static SHARED: std::sync::LazyLock<(tokio::runtime::Runtime, axum::Router)> =
    std::sync::LazyLock::new(|| {
        let rt = tokio::runtime::Runtime::new().unwrap();
        let f = rt.block_on(fixture());
        let router = f.router.clone();
        // The data directory must outlive every case; it is removed with the process's temp files.
        std::mem::forget(f);
        (rt, router)
    });

proptest! {
    #![proptest_config(ProptestConfig { cases: 1200, ..ProptestConfig::default() })]

    /// At least 1,000 generated requests per run (issue 2 acceptance).
    #[test]
    fn no_request_breaks_the_aws_shape(
        method in methods(),
        path in prop_oneof![4 => Just("/".to_string()), 1 => "/[a-z]{0,8}".prop_map(|s| s)],
        target in targets(),
        content_type in proptest::option::of(prop_oneof![
            Just("application/x-amz-json-1.1".to_string()),
            Just("application/x-www-form-urlencoded".to_string()),
            "[a-z/]{0,20}".prop_map(|s| s),
        ]),
        auth in proptest::option::of("AWS4-HMAC-SHA256 [ -~]{0,80}"),
        body in bodies(),
    ) {
        let (rt, router) = &*SHARED;
        rt.block_on(async {
            let mut req = Request::builder().method(method).uri(path.as_str());
            if let Some(t) = &target {
                req = req.header("x-amz-target", t.as_str());
            }
            if let Some(ct) = &content_type {
                req = req.header("content-type", ct.as_str());
            }
            if let Some(a) = &auth {
                req = req.header("authorization", a.as_str()).header("x-amz-date", "20261126T000000Z");
            }
            let a = send(router, req.body(Body::from(body.clone())).unwrap()).await;
            assert_aws_shaped(&a);
        });
    }
}
