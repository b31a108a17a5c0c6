//! The HTTP edge: one `POST /` for three AWS protocols, CORS, health, AWS-shaped errors (spec §1, §5.1).

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::response::Response;
use axum::routing::{any, get};
use http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use http_body_util::BodyExt;
use idpool_core::Core;
use idpool_wire::WireError;
use idpool_wire::json::{self, CognitoOp};
use idpool_wire::query::{QueryParams, QueryService};
use idpool_wire::sigv4;

use idpool_core::sts::Caller;

use crate::auth::{Credentials, RequestCredentials};
use crate::limits::{RateLimits, Refusal};
use crate::metrics::Metrics;

/// What every request handler shares.
pub struct AppState {
    pub core: Core,
    pub credentials: Credentials,
    pub max_body_bytes: usize,
    pub max_clock_skew_ms: i64,
    pub limits: RateLimits,
    pub metrics: Arc<Metrics>,
}

pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/health", get(health))
        .route("/metrics", get(metrics))
        .route(
            "/.well-known/openid-configuration",
            get(openid_configuration),
        )
        .route("/.well-known/jwks_uri", get(jwks))
        .route("/authorize", any(authorize_endpoint))
        .route("/", any(root))
        .fallback(fallback)
        .with_state(state)
}

/// Discovery document of our OpenID token issuer (spec §4.11).
async fn openid_configuration(State(state): State<Arc<AppState>>) -> Response {
    let issuer = &state.core.issuer;
    let doc = serde_json::json!({
        "issuer": issuer,
        "jwks_uri": format!("{issuer}/.well-known/jwks_uri"),
        "response_types_supported": ["id_token"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS512"],
        "claims_supported": ["sub", "aud", "amr", "iat", "exp", "iss",
            "https://cognito-identity.amazonaws.com/identity-pool-arn", "https://aws.amazon.com/tags"],
    });
    public_json(doc.to_string(), "max-age=3600")
}

/// Our public keys. Old keys stay here until every token they signed has expired.
async fn jwks(State(state): State<Arc<AppState>>) -> Response {
    public_json(state.core.keys.get().jwks().to_string(), "max-age=300")
}

fn public_json(body: String, cache: &'static str) -> Response {
    let mut r = Response::new(Body::from(body));
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    add_cors(h);
    r
}

async fn metrics(State(state): State<Arc<AppState>>) -> Response {
    let mut r = Response::new(Body::from(state.metrics.render()));
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    r
}

async fn health() -> Response {
    let mut r = Response::new(Body::from("{\"status\":\"ok\"}"));
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

/// Which headers the browser may read from our answers (spec §1.2).
const EXPOSE_HEADERS: &str = "x-amzn-RequestId,x-amzn-ErrorType,x-amzn-ErrorMessage,Date";
/// Request headers allowed when the pre-flight does not say which it wants.
const ALLOW_HEADERS: &str = "content-type,x-amz-target,x-amz-user-agent,x-amz-date,\
x-amz-security-token,x-amz-content-sha256,authorization,amz-sdk-invocation-id,amz-sdk-request,\
cache-control";

fn add_cors(headers: &mut HeaderMap) {
    headers.insert("access-control-allow-origin", HeaderValue::from_static("*"));
    headers.insert(
        "access-control-expose-headers",
        HeaderValue::from_static(EXPOSE_HEADERS),
    );
}

/// Browsers send one pre-flight per call with Amplify (`cache: no-store`), so this stays cheap:
/// echo what was asked for.
fn preflight(req_headers: &HeaderMap) -> Response {
    let mut r = Response::new(Body::empty());
    let h = r.headers_mut();
    add_cors(h);
    h.insert(
        "access-control-allow-methods",
        HeaderValue::from_static("POST, GET, OPTIONS"),
    );
    let allow = req_headers
        .get("access-control-request-headers")
        .cloned()
        .unwrap_or(HeaderValue::from_static(ALLOW_HEADERS));
    h.insert("access-control-allow-headers", allow);
    h.insert("access-control-max-age", HeaderValue::from_static("86400"));
    r
}

async fn fallback(req: Request) -> Response {
    if req.method() == Method::OPTIONS {
        return preflight(req.headers());
    }
    let id = request_id();
    let e = WireError::with_status(404, "UnknownOperationException", "");
    json_error(&e, &id)
}

/// What a request on `POST /` was, for metrics: the operation and `ok` or the error code.
struct Outcome {
    operation: String,
    result: String,
}

impl Outcome {
    fn new(operation: impl Into<String>) -> Outcome {
        Outcome {
            operation: operation.into(),
            result: "ok".into(),
        }
    }

    fn failed(&mut self, e: &WireError) {
        self.result.clone_from(&e.code);
    }
}

async fn root(State(state): State<Arc<AppState>>, req: Request) -> Response {
    if req.method() == Method::OPTIONS {
        return preflight(req.headers());
    }
    let started = Instant::now();
    let source = client_address(&req, state.limits.settings.trust_forwarded_for);
    let mut outcome = Outcome::new("unknown");
    let response = serve_root(&state, req, source, &mut outcome).await;
    state
        .metrics
        .request(&outcome.operation, &outcome.result, started.elapsed());
    response
}

/// The peer address, or with `trust_forwarded_for` the last `X-Forwarded-For` entry (the one
/// the proxy in front of us added; earlier ones are whatever the client claimed).
fn client_address(req: &Request, trust_forwarded_for: bool) -> Option<IpAddr> {
    if trust_forwarded_for
        && let Some(ip) = req
            .headers()
            .get_all("x-forwarded-for")
            .iter()
            .next_back()
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.rsplit(',').next())
            .and_then(|v| v.trim().parse::<IpAddr>().ok())
    {
        return Some(ip);
    }
    req.extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(a)| a.ip())
}

async fn serve_root(
    state: &AppState,
    req: Request,
    source: Option<IpAddr>,
    outcome: &mut Outcome,
) -> Response {
    let request_id = request_id();
    if *req.method() != Method::POST {
        let e = WireError::with_status(405, "UnknownOperationException", "");
        outcome.failed(&e);
        return json_error(&e, &request_id);
    }
    let (parts, body) = req.into_parts();
    let body = match http_body_util::Limited::new(body, state.max_body_bytes)
        .collect()
        .await
    {
        Ok(b) => b.to_bytes(),
        Err(_) => {
            let e = WireError::with_status(
                413,
                "RequestEntityTooLargeException",
                format!(
                    "Request body must be at most {} bytes.",
                    state.max_body_bytes
                ),
            );
            outcome.failed(&e);
            return if parts.headers.contains_key("x-amz-target") {
                json_error(&e, &request_id)
            } else {
                xml_error(&e, None, &request_id)
            };
        }
    };
    let now_ms = state.core.clock.now_ms();
    if let Some(target) = parts.headers.get("x-amz-target") {
        let target = target.to_str().unwrap_or("");
        let req = JsonRequest {
            parts: &parts,
            body: &body,
            target,
            now_ms,
            source,
            request_id: &request_id,
        };
        match handle_json(state, &req, outcome).await {
            Ok(v) => json_ok(&v, &request_id),
            Err(e) => {
                outcome.failed(&e);
                json_error(&e, &request_id)
            }
        }
    } else {
        let params = QueryParams::parse(&body);
        let service = idpool_wire::query::service_of(
            &params,
            signing_service(&parts.headers, &parts.uri).as_deref(),
        );
        match service {
            None => {
                let e = WireError::with_status(
                    400,
                    "UnknownOperationException",
                    "The request names no operation: send X-Amz-Target (Cognito Identity) or an Action and Version form (IAM, STS).",
                );
                outcome.failed(&e);
                json_error(&e, &request_id)
            }
            Some(svc) => {
                let req = QueryRequest {
                    parts: &parts,
                    body: &body,
                    params: &params,
                    svc,
                    now_ms,
                    source,
                    request_id: &request_id,
                };
                match handle_query(state, &req, outcome).await {
                    Ok(xml) => xml_ok(xml, &request_id),
                    Err(e) => {
                        outcome.failed(&e);
                        xml_error(&e, Some(svc), &request_id)
                    }
                }
            }
        }
    }
}

/// `POST /authorize`: the authorizer for resource servers (design.md "The authorizer for
/// resource servers"). Any well-formed question is answered 200 with the decision.
async fn authorize_endpoint(State(state): State<Arc<AppState>>, req: Request) -> Response {
    let request_id = request_id();
    if req.method() != Method::POST {
        let e = WireError::with_status(405, "UnknownOperationException", "Use POST /authorize.");
        return json_error(&e, &request_id);
    }
    let body = match http_body_util::Limited::new(req.into_body(), state.max_body_bytes)
        .collect()
        .await
    {
        Ok(b) => b.to_bytes(),
        Err(_) => {
            let e = WireError::with_status(
                413,
                "RequestEntityTooLargeException",
                format!(
                    "Request body must be at most {} bytes.",
                    state.max_body_bytes
                ),
            );
            return json_error(&e, &request_id);
        }
    };
    let question = match idpool_core::authorizer::AuthorizeRequest::from_json(&body) {
        Ok(q) => q,
        Err(e) => return json_error(&e, &request_id),
    };
    let opts = idpool_core::authorizer::AuthorizerOptions {
        max_skew_ms: state.max_clock_skew_ms,
        root_access_key_id: Some(&state.credentials.root.access_key_id),
    };
    let now_ms = state.core.clock.now_ms();
    let answer =
        idpool_core::authorizer::authorize_with(&state.core, &question, &opts, now_ms).await;
    tracing::debug!(
        action = %question.action,
        decision = ?answer.decision,
        reason = answer.reason.code(),
        "authorize"
    );
    let mut r = Response::new(Body::from(answer.to_json()));
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if let Ok(v) = HeaderValue::from_str(&request_id) {
        h.insert("x-amzn-requestid", v);
    }
    r
}

/// One Cognito Identity request as read off the wire.
struct JsonRequest<'a> {
    parts: &'a http::request::Parts,
    body: &'a [u8],
    target: &'a str,
    now_ms: i64,
    source: Option<IpAddr>,
    request_id: &'a str,
}

fn too_many_requests() -> WireError {
    WireError::client("TooManyRequestsException", "Rate exceeded")
}

async fn handle_json(
    state: &AppState,
    req: &JsonRequest<'_>,
    outcome: &mut Outcome,
) -> Result<serde_json::Value, WireError> {
    let op = json::route(req.target)?;
    outcome.operation = op.name().to_string();
    check_json_content_type(&req.parts.headers)?;
    let input = json::parse_body(req.body)?;
    let mut providers = Vec::new();
    if op.is_public() {
        let pool = input.get("IdentityPoolId").and_then(|v| v.as_str());
        state
            .limits
            .admit_public(op.name(), req.source, pool)
            .map_err(|r| refused(state, op.name(), r, too_many_requests()))?;
        idpool_wire::validate::validate_cognito(op, &input)?;
        if let Some(logins) = input.get("Logins").and_then(|v| v.as_object()) {
            providers.extend(logins.keys().cloned());
        }
    } else {
        state
            .core
            .ring_for_request(&req.parts.headers, req.parts.uri.query())
            .await;
        let caller = verify_signature(state, req.parts, req.body, "cognito-identity", req.now_ms)
            .map_err(|e| e.to_json_error())?;
        state
            .limits
            .admit_signed(op.name(), caller_key(&caller))
            .map_err(|r| refused(state, op.name(), r, too_many_requests()))?;
        idpool_wire::validate::validate_cognito(op, &input)?;
        let resource = cognito_resource(&state.core, &input);
        let action = format!("cognito-identity:{}", op.name());
        authorize(state, &caller, &action, &resource, req.now_ms)
            .await
            .map_err(|denied| WireError::client("AccessDeniedException", denied).capitalised())?;
    }
    let result = run_cognito(state, op, input).await;
    let verdict = match &result {
        Ok(_) => "ok",
        Err(e) => e.code.as_str(),
    };
    for p in &providers {
        state.metrics.verification(p, verdict);
    }
    if let Ok(v) = &result {
        crate::audit::cognito(state, op, v, req.source, req.request_id, req.now_ms);
    }
    result
}

/// Counts a throttled request and gives the error to answer it with.
fn refused(state: &AppState, operation: &str, r: Refusal, e: WireError) -> WireError {
    state.metrics.limited(operation, r.label());
    e
}

/// The access key a verified request was signed with: its rate-limit key. The root key is the
/// operator's own and is not limited per caller (the AWS quota profile still applies to it).
fn caller_key(caller: &Caller) -> Option<&str> {
    match caller {
        Caller::Root => None,
        Caller::Session(s) => Some(&s.access_key_id),
    }
}

async fn run_cognito(
    state: &AppState,
    op: CognitoOp,
    input: serde_json::Value,
) -> Result<serde_json::Value, WireError> {
    idpool_core::cognito::dispatch(&state.core, op, input)
        .await
        .map_err(|e| {
            if let idpool_core::cognito::CognitoError::Internal(cause) = &e {
                tracing::error!(operation = op.name(), error = %cause, "internal error");
            }
            e.to_wire()
        })
}

fn check_json_content_type(headers: &HeaderMap) -> Result<(), WireError> {
    let Some(ct) = headers.get(header::CONTENT_TYPE) else {
        return Ok(());
    };
    let ct = ct.to_str().unwrap_or("").to_ascii_lowercase();
    let base = ct.split(';').next().unwrap_or("").trim();
    if matches!(
        base,
        "application/x-amz-json-1.1" | "application/x-amz-json-1.0" | "application/json" | ""
    ) {
        Ok(())
    } else {
        Err(WireError::with_status(
            415,
            "UnsupportedMediaTypeException",
            format!("Content-Type must be {}.", json::CONTENT_TYPE),
        ))
    }
}

/// One IAM or STS request as read off the wire.
struct QueryRequest<'a> {
    parts: &'a http::request::Parts,
    body: &'a [u8],
    params: &'a QueryParams,
    svc: QueryService,
    now_ms: i64,
    source: Option<IpAddr>,
    request_id: &'a str,
}

async fn handle_query(
    state: &AppState,
    req: &QueryRequest<'_>,
    outcome: &mut Outcome,
) -> Result<String, WireError> {
    let (parts, body, params, svc, now_ms, request_id) = (
        req.parts,
        req.body,
        req.params,
        req.svc,
        req.now_ms,
        req.request_id,
    );
    let action = params
        .action()
        .ok_or_else(|| WireError::client("MissingAction", "Missing Action"))?;
    let known = match svc {
        QueryService::Iam => idpool_core::iam::is_iam_action(action),
        QueryService::Sts => idpool_core::sts::is_sts_action(action),
    };
    // Action names come from the request; only real ones become metric labels.
    outcome.operation = match (svc, known) {
        (QueryService::Iam, true) => format!("iam:{action}"),
        (QueryService::Sts, true) => format!("sts:{action}"),
        (QueryService::Iam, false) => "iam:unknown".into(),
        (QueryService::Sts, false) => "sts:unknown".into(),
    };
    let throttled = || WireError::client("Throttling", "Rate exceeded");
    let public = svc == QueryService::Sts && action == "AssumeRoleWithWebIdentity";
    let caller = if public {
        state
            .limits
            .admit_public("AssumeRoleWithWebIdentity", req.source, None)
            .map_err(|r| refused(state, &outcome.operation, r, throttled()))?;
        None
    } else {
        state
            .core
            .ring_for_request(&parts.headers, parts.uri.query())
            .await;
        let caller = verify_signature(state, parts, body, svc.signing_name(), now_ms)
            .map_err(|e| e.to_query_error())?;
        state
            .limits
            .admit_signed("", caller_key(&caller))
            .map_err(|r| refused(state, &outcome.operation, r, throttled()))?;
        Some(caller)
    };
    match svc {
        QueryService::Iam => {
            if !idpool_core::iam::is_iam_action(action) {
                return Err(invalid_action(action, idpool_wire::query::IAM_VERSION));
            }
            idpool_wire::validate::validate_query(svc, action, params)?;
            if let Some(c) = &caller {
                let resource = iam_resource(&state.core, action, params);
                authorize(state, c, &format!("iam:{action}"), &resource, now_ms)
                    .await
                    .map_err(|denied| WireError::with_status(403, "AccessDenied", denied))?;
            }
            idpool_core::iam::handle(&state.core, action, params, request_id).await
        }
        QueryService::Sts => {
            if !idpool_core::sts::is_sts_action(action) {
                return Err(invalid_action(action, idpool_wire::query::STS_VERSION));
            }
            idpool_wire::validate::validate_query(svc, action, params)?;
            // GetCallerIdentity needs no permission (spec §5.3).
            let xml =
                idpool_core::sts::handle(&state.core, action, params, caller.as_ref(), request_id)
                    .await?;
            if public {
                crate::audit::web_identity(params, &xml, req.source, request_id);
            }
            Ok(xml)
        }
    }
}

/// The pool ARN a Cognito operation acts on, or `*` for account-wide ones.
fn cognito_resource(core: &Core, input: &serde_json::Value) -> String {
    match input.get("IdentityPoolId").and_then(|v| v.as_str()) {
        Some(id) => idpool_core::cognito::pools::pool_arn(core, id),
        None => match input.get("ResourceArn").and_then(|v| v.as_str()) {
            Some(arn) => arn.to_string(),
            None => "*".to_string(),
        },
    }
}

/// The ARN an IAM action acts on: the role or provider it names, else `*`.
fn iam_resource(core: &Core, action: &str, params: &QueryParams) -> String {
    let partition = idpool_core::partition(&core.region);
    if let Some(role) = params.get("RoleName") {
        return format!("arn:{partition}:iam::{}:role/{role}", core.account_id);
    }
    for key in ["OpenIDConnectProviderArn", "SAMLProviderArn"] {
        if let Some(arn) = params.get(key) {
            return arn.to_string();
        }
    }
    let _ = action;
    "*".to_string()
}

/// Root may do anything; a session may do what its role's policies, intersected with its
/// session policies, allow (design.md "Who may call what"). Err carries AWS's denial text.
async fn authorize(
    state: &AppState,
    caller: &Caller,
    action: &str,
    resource: &str,
    now_ms: i64,
) -> Result<(), String> {
    let Caller::Session(session) = caller else {
        return Ok(());
    };
    let who =
        idpool_core::sts::assumed_role_arn(&state.core, &session.role_arn, &session.session_name);
    let denied =
        || format!("User: {who} is not authorized to perform: {action} on resource: {resource}");
    let decision =
        idpool_core::authz::evaluate_session(&state.core, session, action, resource, now_ms)
            .await
            .map_err(|_| denied())?;
    if decision == idpool_core::policy::eval::Decision::Allowed {
        Ok(())
    } else {
        Err(denied())
    }
}

fn invalid_action(action: &str, version: &str) -> WireError {
    WireError::client(
        "InvalidAction",
        format!("Could not find operation {action} for version {version}"),
    )
}

fn verify_signature(
    state: &AppState,
    parts: &http::request::Parts,
    body: &[u8],
    service: &str,
    now_ms: i64,
) -> Result<Caller, sigv4::SigV4Error> {
    let path = parts.uri.path();
    let query = parts.uri.query().unwrap_or("");
    let req = sigv4::RequestParts {
        method: parts.method.as_str(),
        path,
        query,
        headers: &parts.headers,
        body,
    };
    let opts = sigv4::VerifyOptions {
        now_ms,
        max_skew_ms: state.max_clock_skew_ms,
        region: Some(&state.core.region),
        service: Some(service),
        s3_style: false,
    };
    let lookup = RequestCredentials::new(&state.credentials, state.core.keys.get(), now_ms);
    sigv4::verify(&req, &opts, &lookup)?;
    // verify only succeeds after the lookup found the key, so a caller is always recorded.
    Ok(lookup.take_caller().unwrap_or(Caller::Root))
}

/// The service named in a SigV4 credential scope, when the request carries one.
fn signing_service(headers: &HeaderMap, uri: &http::Uri) -> Option<String> {
    let from_header = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|a| a.split("Credential=").nth(1).map(str::to_string));
    let from_query = uri.query().and_then(|q| {
        form_urlencoded::parse(q.as_bytes())
            .find(|(k, _)| k == "X-Amz-Credential")
            .map(|(_, v)| v.into_owned())
    });
    let cred = from_header.or(from_query)?;
    cred.split(['/', ',']).nth(3).map(str::to_string)
}

fn request_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

fn base_response(
    status: StatusCode,
    body: String,
    content_type: &'static str,
    request_id: &str,
) -> Response {
    let mut r = Response::new(Body::from(body));
    *r.status_mut() = status;
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Ok(v) = HeaderValue::from_str(request_id) {
        h.insert("x-amzn-requestid", v);
    }
    add_cors(h);
    r
}

fn json_ok(v: &serde_json::Value, request_id: &str) -> Response {
    base_response(
        StatusCode::OK,
        v.to_string(),
        json::CONTENT_TYPE,
        request_id,
    )
}

fn json_error(e: &WireError, request_id: &str) -> Response {
    let status = StatusCode::from_u16(e.status).unwrap_or(StatusCode::BAD_REQUEST);
    let mut r = base_response(status, e.json_body(), json::CONTENT_TYPE, request_id);
    let h = r.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&e.json_error_type_header()) {
        h.insert("x-amzn-errortype", v);
    }
    // Header values cannot carry every character a message may hold; the body always has it.
    if !e.message.is_empty()
        && let Ok(v) = HeaderValue::from_str(&e.message)
    {
        h.insert("x-amzn-errormessage", v);
    }
    r
}

fn xml_ok(body: String, request_id: &str) -> Response {
    base_response(StatusCode::OK, body, "text/xml", request_id)
}

fn xml_error(e: &WireError, svc: Option<QueryService>, request_id: &str) -> Response {
    let status = StatusCode::from_u16(e.status).unwrap_or(StatusCode::BAD_REQUEST);
    let ns = svc.map(QueryService::namespace);
    base_response(status, e.xml_body(ns, request_id), "text/xml", request_id)
}
