//! What every end-to-end test shares: an in-process idpool with SDK clients, error inspection, a raw HTTP client (design.md "Tests").

use std::collections::{BTreeMap, HashMap};
use std::fmt::Debug;
use std::io::{Read, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use aws_config::BehaviorVersion;
use aws_config::retry::RetryConfig;
use aws_sdk_cognitoidentity::config::Credentials;
use aws_sdk_cognitoidentity::error::{ProvideErrorMetadata, SdkError};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// The issuer every test server names in its tokens.
pub const ISSUER: &str = "http://127.0.0.1:9600";

pub const ROOT_KEY_ID: &str = "AKIDROOTEXAMPLE00001";
pub const ROOT_SECRET: &str = "root/secret/example/key/0000000000000000";
pub const REGION: &str = "us-east-1";
pub const ACCOUNT: &str = "000000000000";

/// One idpool server running inside the test's runtime, with clients pointed at it.
pub struct TestServer {
    pub addr: SocketAddr,
    /// Cognito Identity, signed with the root key pair.
    pub cognito: aws_sdk_cognitoidentity::Client,
    /// Cognito Identity with no credentials at all, as browsers and apps call the public operations.
    pub unsigned: aws_sdk_cognitoidentity::Client,
    pub iam: aws_sdk_iam::Client,
    pub sts: aws_sdk_sts::Client,
    running: Option<Running>,
    config_path: PathBuf,
    dir: tempfile::TempDir,
    /// The clock every request of this server reads (kept across restarts).
    clock: Arc<dyn idpool_core::Clock>,
    /// The PostgreSQL schema holding this server's data when the suite runs on PostgreSQL;
    /// shared with any second instance started on the same database.
    schema: Option<Arc<PgSchema>>,
}

struct Running {
    shutdown: oneshot::Sender<()>,
    task: JoinHandle<std::io::Result<()>>,
    keys: idpool_server::KeyReloader,
}

impl TestServer {
    /// A server with default settings (an empty settings file).
    pub async fn start() -> TestServer {
        TestServer::start_with_settings("").await
    }

    /// A server whose `idpool.toml` holds `settings`.
    pub async fn start_with_settings(settings: &str) -> TestServer {
        TestServer::start_full(settings, Arc::new(idpool_core::SystemClock)).await
    }

    /// A server with default settings whose requests read `clock` (tests move it to make
    /// credentials and tokens expire).
    pub async fn start_with_clock(clock: Arc<dyn idpool_core::Clock>) -> TestServer {
        TestServer::start_full("", clock).await
    }

    async fn start_full(settings: &str, clock: Arc<dyn idpool_core::Clock>) -> TestServer {
        let schema = match Engine::selected() {
            Engine::Sqlite => None,
            Engine::Postgres(base_url) => Some(Arc::new(PgSchema::new(&base_url).await)),
        };
        TestServer::start_on(settings, clock, schema).await
    }

    /// A second, independent server on this one's database (PostgreSQL only: a SQLite file
    /// belongs to one process), with its own data directory and the same settings file text.
    pub async fn second_instance(&self) -> Option<TestServer> {
        let schema = self.schema.clone()?;
        let settings = std::fs::read_to_string(&self.config_path).expect("settings file read");
        Some(TestServer::start_on(&settings, self.clock.clone(), Some(schema)).await)
    }

    async fn start_on(
        settings: &str,
        clock: Arc<dyn idpool_core::Clock>,
        schema: Option<Arc<PgSchema>>,
    ) -> TestServer {
        let dir = tempfile::tempdir().expect("temporary directory");
        let config_path = dir.path().join("idpool.toml");
        std::fs::write(&config_path, settings).expect("settings file written");
        let store_url = schema.as_ref().map(|s| s.url());
        let (addr, running) = launch(&dir, &config_path, store_url, clock.clone()).await;
        let clients = Clients::new(addr).await;
        TestServer {
            addr,
            cognito: clients.cognito,
            unsigned: clients.unsigned,
            iam: clients.iam,
            sts: clients.sts,
            running: Some(running),
            config_path,
            dir,
            clock,
            schema,
        }
    }

    /// The settings this server was started with (same data directory), for tools that act
    /// on its store, such as key rotation.
    pub fn settings(&self) -> idpool_server::Settings {
        resolve_settings(self.dir.path(), &self.config_path, self.store_url())
    }

    fn store_url(&self) -> Option<String> {
        self.schema.as_ref().map(|s| s.url())
    }

    /// Stops the server, waiting for it to finish, and starts a new one on the same data
    /// directory (on a new port; the clients follow it).
    pub async fn restart(&mut self) {
        self.stop().await;
        let (addr, running) = launch(
            &self.dir,
            &self.config_path,
            self.store_url(),
            self.clock.clone(),
        )
        .await;
        let clients = Clients::new(addr).await;
        self.addr = addr;
        self.cognito = clients.cognito;
        self.unsigned = clients.unsigned;
        self.iam = clients.iam;
        self.sts = clients.sts;
        self.running = Some(running);
    }

    /// Makes the running server re-read its key ring now, as it does every 30 s on its own.
    pub async fn reload_keys(&self) {
        let running = self.running.as_ref().expect("server is running");
        running.keys.reload().await.expect("key ring reloads");
    }

    /// Asks the server to shut down and waits until it has.
    pub async fn stop(&mut self) {
        let Some(running) = self.running.take() else {
            return;
        };
        let _ = running.shutdown.send(());
        match tokio::time::timeout(Duration::from_secs(20), running.task).await {
            Ok(Ok(Ok(()))) => {}
            Ok(Ok(Err(e))) => panic!("server ended with an error: {e}"),
            Ok(Err(e)) => panic!("server task failed: {e}"),
            Err(_) => panic!("server did not shut down within 20 s"),
        }
    }

    /// A Cognito client signing with the given key pair.
    pub async fn cognito_as(&self, key_id: &str, secret: &str) -> aws_sdk_cognitoidentity::Client {
        aws_sdk_cognitoidentity::Client::new(
            &sdk_config(self.addr, Some((key_id, secret, None))).await,
        )
    }

    /// An IAM client signing with the given key pair.
    pub async fn iam_as(&self, key_id: &str, secret: &str) -> aws_sdk_iam::Client {
        aws_sdk_iam::Client::new(&sdk_config(self.addr, Some((key_id, secret, None))).await)
    }

    /// An STS client signing with the given key pair.
    pub async fn sts_as(&self, key_id: &str, secret: &str) -> aws_sdk_sts::Client {
        aws_sdk_sts::Client::new(&sdk_config(self.addr, Some((key_id, secret, None))).await)
    }

    /// SDK settings signing with the given key pair and optional session token (temporary
    /// credentials), or sending unsigned requests when `creds` is `None`.
    pub async fn config_as(
        &self,
        creds: Option<(&str, &str, Option<&str>)>,
    ) -> aws_config::SdkConfig {
        sdk_config(self.addr, creds).await
    }

    /// A Cognito client signing with the root key pair plus a session token.
    pub async fn cognito_with_token(&self, token: &str) -> aws_sdk_cognitoidentity::Client {
        let creds = Some((ROOT_KEY_ID, ROOT_SECRET, Some(token)));
        aws_sdk_cognitoidentity::Client::new(&sdk_config(self.addr, creds).await)
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(running) = self.running.take() {
            let _ = running.shutdown.send(());
            // Drop cannot wait; the runtime ends with the test anyway.
            running.task.abort();
        }
    }
}

fn resolve_settings(
    dir: &Path,
    config_path: &Path,
    store_url: Option<String>,
) -> idpool_server::Settings {
    let args = idpool_server::ServeArgs {
        listen: Some("127.0.0.1:0".parse().expect("loopback address")),
        data_dir: Some(dir.into()),
        config: Some(config_path.into()),
        // None: the default SQLite file in the data directory.
        store_url,
        // A restart binds another port; the issuer of our tokens must stay the same across it,
        // as it does for a deployed server with a fixed address or public URL.
        public_url: Some(ISSUER.to_string()),
        ..Default::default()
    };
    let env = |k: &str| match k {
        "IDPOOL_ROOT_ACCESS_KEY_ID" => Some(ROOT_KEY_ID.to_string()),
        "IDPOOL_ROOT_SECRET_ACCESS_KEY" => Some(ROOT_SECRET.to_string()),
        _ => None,
    };
    idpool_server::Settings::resolve(&args, &env).expect("settings resolve")
}

async fn launch(
    dir: &tempfile::TempDir,
    config_path: &Path,
    store_url: Option<String>,
    clock: Arc<dyn idpool_core::Clock>,
) -> (SocketAddr, Running) {
    let settings = resolve_settings(dir.path(), config_path, store_url);
    let app = idpool_server::Application::build_with_clock(settings, clock)
        .await
        .expect("server builds");
    let addr = app.local_addr();
    let keys = app.key_reloader();
    let (shutdown, rx) = oneshot::channel::<()>();
    let task = tokio::spawn(app.run_until(async move {
        let _ = rx.await;
    }));
    (
        addr,
        Running {
            shutdown,
            task,
            keys,
        },
    )
}

/// The store engine the suite runs on, chosen by `IDPOOL_TEST_ENGINE` (`sqlite`, the default,
/// or `postgres`, which needs `IDPOOL_TEST_POSTGRES_URL`).
enum Engine {
    Sqlite,
    Postgres(String),
}

impl Engine {
    fn selected() -> Engine {
        match std::env::var("IDPOOL_TEST_ENGINE").as_deref() {
            Ok("postgres") => match std::env::var("IDPOOL_TEST_POSTGRES_URL") {
                Ok(url) if !url.trim().is_empty() => Engine::Postgres(url),
                _ => panic!(
                    "IDPOOL_TEST_ENGINE=postgres needs IDPOOL_TEST_POSTGRES_URL \
                     (scripts/postgres.sh start prints one)"
                ),
            },
            Ok("sqlite") | Ok("") | Err(_) => Engine::Sqlite,
            Ok(other) => panic!("IDPOOL_TEST_ENGINE={other:?}: expected sqlite or postgres"),
        }
    }
}

/// A new, empty PostgreSQL schema for one test, so that tests never see each other's pools
/// (the pool quota counts them all); dropped with everything in it when the last server on it
/// goes.
struct PgSchema {
    base_url: String,
    name: String,
}

impl PgSchema {
    async fn new(base_url: &str) -> PgSchema {
        // The process id keeps the names of concurrently running test binaries apart.
        let name = unique(&format!("sdk_{}_", std::process::id()));
        let (url, schema) = (base_url.to_string(), name.clone());
        tokio::task::spawn_blocking(move || {
            postgres::Client::connect(&url, postgres::NoTls)
                .expect("connect to the test PostgreSQL")
                .batch_execute(&format!("CREATE SCHEMA \"{schema}\""))
                .expect("create schema");
        })
        .await
        .expect("schema creation thread");
        PgSchema {
            base_url: base_url.to_string(),
            name,
        }
    }

    /// The base URL with this schema alone on the search path.
    fn url(&self) -> String {
        let separator = if self.base_url.contains('?') {
            '&'
        } else {
            '?'
        };
        format!(
            "{}{separator}options=-csearch_path%3D{}",
            self.base_url, self.name
        )
    }
}

impl Drop for PgSchema {
    fn drop(&mut self) {
        let (url, name) = (self.base_url.clone(), self.name.clone());
        // A plain thread: the postgres client runs a runtime of its own, and drop may happen
        // inside an async task. A lock timeout keeps a connection the aborted server left in a
        // transaction from holding the test up; the schema is then just left behind.
        let _ = std::thread::spawn(move || {
            if let Ok(mut client) = postgres::Client::connect(&url, postgres::NoTls) {
                let _ = client.batch_execute(&format!(
                    "SET lock_timeout = '5s'; DROP SCHEMA \"{name}\" CASCADE"
                ));
            }
        })
        .join();
    }
}

struct Clients {
    cognito: aws_sdk_cognitoidentity::Client,
    unsigned: aws_sdk_cognitoidentity::Client,
    iam: aws_sdk_iam::Client,
    sts: aws_sdk_sts::Client,
}

impl Clients {
    async fn new(addr: SocketAddr) -> Clients {
        let signed = sdk_config(addr, Some((ROOT_KEY_ID, ROOT_SECRET, None))).await;
        let unsigned = sdk_config(addr, None).await;
        Clients {
            cognito: aws_sdk_cognitoidentity::Client::new(&signed),
            unsigned: aws_sdk_cognitoidentity::Client::new(&unsigned),
            iam: aws_sdk_iam::Client::new(&signed),
            sts: aws_sdk_sts::Client::new(&signed),
        }
    }
}

/// SDK settings for this server. Retries are off so that every answer the server gives is
/// the answer the test sees.
async fn sdk_config(
    addr: SocketAddr,
    creds: Option<(&str, &str, Option<&str>)>,
) -> aws_config::SdkConfig {
    let loader = aws_config::defaults(BehaviorVersion::latest())
        .region(REGION)
        .endpoint_url(format!("http://{addr}"))
        .retry_config(RetryConfig::disabled());
    let loader = match creds {
        Some((id, secret, token)) => loader.credentials_provider(Credentials::new(
            id,
            secret,
            token.map(str::to_string),
            None,
            "test",
        )),
        None => loader.no_credentials(),
    };
    loader.load().await
}

/// A name no other call of this process has been given.
pub fn unique(prefix: &str) -> String {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    format!("{prefix}{}", NEXT.fetch_add(1, Ordering::Relaxed))
}

/// The ARN the tagging operations name a pool by (spec §3.1).
pub fn pool_arn(pool_id: &str) -> String {
    format!("arn:aws:cognito-identity:{REGION}:{ACCOUNT}:identitypool/{pool_id}")
}

/// `us-east-1:` followed by a lower-case, hyphenated UUID (spec §3.1).
pub fn is_pool_id(id: &str) -> bool {
    let Some(uuid) = id.strip_prefix("us-east-1:") else {
        return false;
    };
    let groups: Vec<&str> = uuid.split('-').collect();
    groups.iter().map(|g| g.len()).eq([8, 4, 4, 4, 12])
        && groups.iter().all(|g| {
            g.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        })
}

/// One `CognitoIdentityProviders` entry: (ProviderName, ClientId, ServerSideTokenCheck).
pub type UserPoolEntry = (Option<String>, Option<String>, Option<bool>);

/// Everything an `IdentityPool` answer (Create, Describe, Update) says, in comparable form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolView {
    pub id: String,
    pub name: String,
    pub allow_unauthenticated: bool,
    pub allow_classic_flow: Option<bool>,
    pub supported_login_providers: Option<BTreeMap<String, String>>,
    pub developer_provider_name: Option<String>,
    pub open_id_connect_provider_arns: Option<Vec<String>>,
    pub cognito_identity_providers: Option<Vec<UserPoolEntry>>,
    pub saml_provider_arns: Option<Vec<String>>,
    pub tags: Option<BTreeMap<String, String>>,
}

/// Reads any of the three `IdentityPool` output types into a [`PoolView`]; they share member
/// names but not a type.
macro_rules! pool_view {
    ($out:expr) => {{
        let o = &$out;
        $crate::helpers::PoolView {
            id: o.identity_pool_id.clone(),
            name: o.identity_pool_name.clone(),
            allow_unauthenticated: o.allow_unauthenticated_identities,
            allow_classic_flow: o.allow_classic_flow,
            supported_login_providers: $crate::helpers::sorted(
                o.supported_login_providers.as_ref(),
            ),
            developer_provider_name: o.developer_provider_name.clone(),
            open_id_connect_provider_arns: o.open_id_connect_provider_arns.clone(),
            cognito_identity_providers: o.cognito_identity_providers.as_ref().map(|list| {
                list.iter()
                    .map(|p| {
                        (
                            p.provider_name.clone(),
                            p.client_id.clone(),
                            p.server_side_token_check,
                        )
                    })
                    .collect()
            }),
            saml_provider_arns: o.saml_provider_arns.clone(),
            tags: $crate::helpers::sorted(o.identity_pool_tags.as_ref()),
        }
    }};
}
pub(crate) use pool_view;

/// The call must have failed; its error is returned.
pub fn expect_err<T: Debug, E>(result: Result<T, SdkError<E>>) -> SdkError<E> {
    match result {
        Ok(v) => panic!("the call succeeded but should have failed: {v:?}"),
        Err(e) => e,
    }
}

/// What the server said about a failure, as the SDK parsed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub code: Option<String>,
    pub message: Option<String>,
    pub status: Option<u16>,
    /// True when the SDK parsed a service error (not a transport or construction failure).
    pub is_service_error: bool,
}

pub fn failure<E: ProvideErrorMetadata + std::error::Error + 'static>(
    err: &SdkError<E>,
) -> Failure {
    Failure {
        code: err.code().map(str::to_string),
        message: err.message().map(str::to_string),
        status: err.raw_response().map(|r| r.status().as_u16()),
        is_service_error: matches!(err, SdkError::ServiceError(_)),
    }
}

/// Checks a service error's code, message and HTTP status all at once.
#[track_caller]
pub fn assert_failure<E: ProvideErrorMetadata + std::error::Error + 'static>(
    err: &SdkError<E>,
    code: &str,
    message: &str,
    status: u16,
) {
    let got = failure(err);
    let want = Failure {
        code: Some(code.to_string()),
        message: Some(message.to_string()),
        status: Some(status),
        is_service_error: true,
    };
    assert_eq!(got, want, "full error: {err:?}");
}

/// Checks a service error's code and status, for messages the test does not pin down.
#[track_caller]
pub fn assert_code<E: ProvideErrorMetadata + std::error::Error + 'static>(
    err: &SdkError<E>,
    code: &str,
    status: u16,
) {
    let got = failure(err);
    assert!(got.is_service_error, "not a service error: {err:?}");
    assert_eq!(
        (got.code.as_deref(), got.status),
        (Some(code), Some(status)),
        "full error: {err:?}"
    );
    assert!(
        got.message.is_some_and(|m| !m.is_empty()),
        "no message: {err:?}"
    );
}

/// Sorted copy of a map, for comparisons that do not care about hash order.
pub fn sorted(map: Option<&HashMap<String, String>>) -> Option<BTreeMap<String, String>> {
    map.map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
}

/// A map built from pairs.
pub fn map<K: AsRef<str>, V: AsRef<str>>(pairs: &[(K, V)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.as_ref().to_string(), v.as_ref().to_string()))
        .collect()
}

/// Undoes the percent-encoding IAM applies to policy documents (the SDK leaves it in place).
pub fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = text
            .get(i + 1..i + 3)
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).expect("decoded policy is UTF-8")
}

/// An HTTP answer read off the socket, as it was sent.
#[derive(Debug)]
pub struct RawResponse {
    pub status: u16,
    /// Header names lower-cased.
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl RawResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Sends one unsigned `POST /` with a minimal HTTP/1.1 client, so the test sees what the
/// server itself answers without an SDK in between.
pub async fn raw_post(addr: SocketAddr, headers: &[(&str, &str)], body: &str) -> RawResponse {
    raw_request(addr, "POST", "/", headers, body).await
}

/// Sends one `GET` of `path` with the same minimal client.
pub async fn raw_get(addr: SocketAddr, path: &str) -> RawResponse {
    raw_request(addr, "GET", path, &[], "").await
}

async fn raw_request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> RawResponse {
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        request.push_str(&format!("{k}: {v}\r\n"));
    }
    request.push_str("\r\n");
    request.push_str(body);
    tokio::task::spawn_blocking(move || {
        let mut stream = std::net::TcpStream::connect(addr).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .expect("read timeout");
        stream
            .write_all(request.as_bytes())
            .expect("request written");
        let mut answer = Vec::new();
        stream.read_to_end(&mut answer).expect("response read");
        parse_response(&String::from_utf8(answer).expect("UTF-8 response"))
    })
    .await
    .expect("raw client thread")
}

fn parse_response(text: &str) -> RawResponse {
    let (head, rest) = text.split_once("\r\n\r\n").expect("header/body separator");
    let mut lines = head.split("\r\n");
    let status_line = lines.next().expect("status line");
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("status code");
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let chunked = headers
        .iter()
        .any(|(k, v)| k == "transfer-encoding" && v.eq_ignore_ascii_case("chunked"));
    let body = if chunked {
        dechunk(rest)
    } else {
        rest.to_string()
    };
    RawResponse {
        status,
        headers,
        body,
    }
}

fn dechunk(mut rest: &str) -> String {
    let mut body = String::new();
    while let Some((size, after)) = rest.split_once("\r\n") {
        let size = usize::from_str_radix(size.trim(), 16).expect("chunk size");
        if size == 0 {
            break;
        }
        body.push_str(&after[..size]);
        rest = &after[size + 2..];
    }
    body
}

#[test]
fn pool_ids_and_percent_decoding_are_recognised() {
    assert!(is_pool_id("us-east-1:1a2b3c4d-5e6f-7a8b-9c0d-1e2f3a4b5c6d"));
    assert!(!is_pool_id(
        "us-east-1:1A2B3C4D-5E6F-7A8B-9C0D-1E2F3A4B5C6D"
    ));
    assert!(!is_pool_id(
        "eu-west-1:1a2b3c4d-5e6f-7a8b-9c0d-1e2f3a4b5c6d"
    ));
    assert!(!is_pool_id("us-east-1:1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d"));
    assert_eq!(
        percent_decode("%7B%22a%22%3A%20%22%C3%A9+%25%22%7D%"),
        "{\"a\": \"é+%\"}%"
    );
    let r = parse_response(
        "HTTP/1.1 200 OK\r\nX-A: b\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n",
    );
    assert_eq!(
        (r.status, r.header("x-a"), r.body.as_str()),
        (200, Some("b"), "abcde")
    );
}
