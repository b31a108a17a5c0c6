//! Settings: `idpool.toml`, overridden by `IDPOOL_*` variables, overridden by flags (design.md "Settings").

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::declare::Declarations;
use crate::limits::{Rate, RateLimitSettings};

/// Settings as given on the command line (and, through clap's `env`, by `IDPOOL_*`).
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ServeArgs {
    /// Settings file. Default: ./idpool.toml when it exists.
    #[arg(long, env = "IDPOOL_CONFIG", value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// Address and port to listen on [default: 127.0.0.1:9600].
    #[arg(long, env = "IDPOOL_LISTEN", value_name = "ADDR")]
    pub listen: Option<SocketAddr>,
    /// Directory for the embedded database and generated root credentials [default: ./idpool-data].
    #[arg(long, env = "IDPOOL_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Store URL: sqlite://<path> [default: sqlite://<data dir>/idpool.db].
    #[arg(long, env = "IDPOOL_STORE_URL", value_name = "URL")]
    pub store_url: Option<String>,
    /// AWS region this server plays [default: us-east-1].
    #[arg(long, env = "IDPOOL_REGION")]
    pub region: Option<String>,
    /// 12-digit AWS account id this server plays [default: 000000000000].
    #[arg(long, env = "IDPOOL_ACCOUNT_ID")]
    pub account_id: Option<String>,
    /// Public URL of this server, the issuer of its OpenID tokens [default: http://<listen>].
    #[arg(long, env = "IDPOOL_PUBLIC_URL", value_name = "URL")]
    pub public_url: Option<String>,
    /// Log format: text or json [default: text].
    #[arg(long, env = "IDPOOL_LOG_FORMAT", value_name = "FORMAT")]
    pub log_format: Option<String>,
}

/// The optional settings file. Unknown keys are refused so typos do not pass silently.
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileSettings {
    pub listen: Option<SocketAddr>,
    pub data_dir: Option<PathBuf>,
    pub store_url: Option<String>,
    pub region: Option<String>,
    pub account_id: Option<String>,
    pub public_url: Option<String>,
    pub log_format: Option<String>,
    pub root_access_key_id: Option<String>,
    pub root_secret_access_key: Option<String>,
    /// What user pool AdminGetUser calls are signed with (ServerSideTokenCheck).
    pub user_pool_access_key_id: Option<String>,
    pub user_pool_secret_access_key: Option<String>,
    pub user_pool_session_token: Option<String>,
    /// Largest request body accepted, in bytes.
    pub max_body_bytes: Option<usize>,
    /// Identity pools per account.
    pub max_identity_pools: Option<u64>,
    /// Requests to identity providers (key sets, discovery) in flight at once.
    pub max_concurrent_idp_fetches: Option<usize>,
    /// Request-rate limits (security-and-performance.md §6.4).
    pub rate_limits: Option<RateLimitsFile>,
    /// Where self-hosted or offline identity providers publish their keys.
    #[serde(default)]
    pub idp_override: Vec<IdpOverrideFile>,
    #[serde(flatten)]
    pub declarations: Declarations,
}

/// Written out so the secrets the file may hold (and a password in the store URL) never print.
impl std::fmt::Debug for FileSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let hidden = |v: &Option<String>| v.as_ref().map(|_| "**redacted**");
        f.debug_struct("FileSettings")
            .field("listen", &self.listen)
            .field("data_dir", &self.data_dir)
            .field("store_url", &self.store_url.as_deref().map(redact_url))
            .field("region", &self.region)
            .field("account_id", &self.account_id)
            .field("public_url", &self.public_url)
            .field("log_format", &self.log_format)
            .field("root_access_key_id", &self.root_access_key_id)
            .field(
                "root_secret_access_key",
                &hidden(&self.root_secret_access_key),
            )
            .field("user_pool_access_key_id", &self.user_pool_access_key_id)
            .field(
                "user_pool_secret_access_key",
                &hidden(&self.user_pool_secret_access_key),
            )
            .field(
                "user_pool_session_token",
                &hidden(&self.user_pool_session_token),
            )
            .field("max_body_bytes", &self.max_body_bytes)
            .field("max_identity_pools", &self.max_identity_pools)
            .field(
                "max_concurrent_idp_fetches",
                &self.max_concurrent_idp_fetches,
            )
            .field("rate_limits", &self.rate_limits)
            .field("idp_override", &self.idp_override)
            .field("declarations", &self.declarations)
            .finish()
    }
}

/// The `[rate_limits]` table. Rates are requests per second; 0 switches that limit off.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimitsFile {
    pub enabled: Option<bool>,
    pub per_source_rps: Option<f64>,
    pub per_source_burst: Option<u32>,
    pub per_pool_rps: Option<f64>,
    pub per_pool_burst: Option<u32>,
    pub per_caller_rps: Option<f64>,
    pub per_caller_burst: Option<u32>,
    pub aws_default_quotas: Option<bool>,
    pub trust_forwarded_for: Option<bool>,
}

impl RateLimitsFile {
    fn resolve(self) -> Result<RateLimitSettings, String> {
        let d = RateLimitSettings::default();
        let rate = |name: &str, rps: Option<f64>, burst: Option<u32>, def: Rate| {
            let per_second = rps.unwrap_or(def.per_second);
            if !per_second.is_finite() || per_second < 0.0 {
                return Err(format!("rate_limits.{name}_rps must be a number >= 0"));
            }
            // Without an explicit burst, one second's worth may arrive at once.
            let burst = burst.unwrap_or_else(|| {
                if rps.is_some() {
                    (per_second.ceil() as u32).max(1)
                } else {
                    def.burst
                }
            });
            if burst == 0 {
                return Err(format!("rate_limits.{name}_burst must be at least 1"));
            }
            Ok(Rate::new(per_second, burst))
        };
        Ok(RateLimitSettings {
            enabled: self.enabled.unwrap_or(d.enabled),
            per_source: rate(
                "per_source",
                self.per_source_rps,
                self.per_source_burst,
                d.per_source,
            )?,
            per_pool: rate(
                "per_pool",
                self.per_pool_rps,
                self.per_pool_burst,
                d.per_pool,
            )?,
            per_caller: rate(
                "per_caller",
                self.per_caller_rps,
                self.per_caller_burst,
                d.per_caller,
            )?,
            aws_default_quotas: self.aws_default_quotas.unwrap_or(d.aws_default_quotas),
            trust_forwarded_for: self.trust_forwarded_for.unwrap_or(d.trust_forwarded_for),
        })
    }
}

/// One `[[idp_override]]` table: the issuer and key URLs of one identity provider.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdpOverrideFile {
    /// The provider name as a `Logins` key (the issuer without its scheme).
    pub provider: String,
    pub issuer: Option<String>,
    pub jwks_url: Option<String>,
    pub discovery_url: Option<String>,
    /// Facebook's Graph API, Amazon's token API or Twitter's API base URL.
    pub introspection_url: Option<String>,
    /// A user pool's API endpoint for ServerSideTokenCheck's AdminGetUser.
    pub user_pool_api_url: Option<String>,
    #[serde(default)]
    pub allow_http: bool,
}

impl IdpOverrideFile {
    fn resolve(self) -> Result<idpool_core::idp::IdpOverride, String> {
        let provider = idpool_core::idp::provider_key(&self.provider).to_string();
        if provider.is_empty() {
            return Err("idp_override: provider must not be empty".into());
        }
        for url in [
            &self.issuer,
            &self.jwks_url,
            &self.discovery_url,
            &self.introspection_url,
            &self.user_pool_api_url,
        ]
        .into_iter()
        .flatten()
        {
            if !(url.starts_with("https://") || url.starts_with("http://")) {
                return Err(format!(
                    "idp_override for {provider}: '{url}' must be an http:// or https:// URL"
                ));
            }
        }
        Ok(idpool_core::idp::IdpOverride {
            provider,
            issuer: self.issuer,
            jwks_url: self.jwks_url,
            discovery_url: self.discovery_url,
            introspection_url: self.introspection_url,
            user_pool_api_url: self.user_pool_api_url,
            allow_http: self.allow_http,
        })
    }
}

/// The settings the server runs with, every default applied.
#[derive(Clone)]
pub struct Settings {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    pub store_url: String,
    pub region: String,
    pub account_id: String,
    pub public_url: Option<String>,
    pub log_format: LogFormat,
    pub root_credentials: Option<RootCredentials>,
    pub max_body_bytes: usize,
    pub max_identity_pools: u64,
    pub max_clock_skew_ms: i64,
    /// Requests to identity providers in flight at once; more wait (up to the fetch timeout).
    pub max_concurrent_idp_fetches: usize,
    pub rate_limits: RateLimitSettings,
    /// Per-provider issuer and key URL overrides for token verification.
    pub idp_overrides: Vec<idpool_core::idp::IdpOverride>,
    /// What ServerSideTokenCheck's AdminGetUser calls are signed with; its Debug hides the
    /// secret and the session token.
    pub user_pool_credentials: Option<idpool_core::idp::aws_sign::AwsCredentials>,
    pub declarations: Declarations,
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("listen", &self.listen)
            .field("data_dir", &self.data_dir)
            .field("store_url", &redact_url(&self.store_url))
            .field("region", &self.region)
            .field("account_id", &self.account_id)
            .field("public_url", &self.public_url)
            .field("root_credentials", &self.root_credentials)
            .field("user_pool_credentials", &self.user_pool_credentials)
            .field("rate_limits", &self.rate_limits)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

/// The account's root key pair. The secret never prints.
#[derive(Clone)]
pub struct RootCredentials {
    pub access_key_id: String,
    pub secret_access_key: zeroize::Zeroizing<String>,
}

impl std::fmt::Debug for RootCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RootCredentials")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"**redacted**")
            .finish()
    }
}

/// Hides a password in a URL such as `postgres://user:pw@host/db`.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.find(':') {
                Some(c) => format!("{}{}:****{}", &url[..s + 3], &creds[..c], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

impl Settings {
    /// Layers file, environment and flags. `env` is the process environment (a parameter so
    /// tests can supply their own).
    pub fn resolve(
        args: &ServeArgs,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Settings, String> {
        let file = load_file(args.config.as_deref())?;
        let listen = args
            .listen
            .or(file.listen)
            .unwrap_or(SocketAddr::from(([127, 0, 0, 1], 9600)));
        let data_dir = args
            .data_dir
            .clone()
            .or(file.data_dir)
            .unwrap_or_else(|| PathBuf::from("./idpool-data"));
        let store_url = args
            .store_url
            .clone()
            .or(file.store_url)
            .unwrap_or_else(|| format!("sqlite://{}", data_dir.join("idpool.db").display()));
        let region = args
            .region
            .clone()
            .or(file.region)
            .unwrap_or_else(|| "us-east-1".into());
        if !valid_region(&region) {
            return Err(format!("region '{region}' is not a valid AWS region name"));
        }
        let account_id = args
            .account_id
            .clone()
            .or(file.account_id)
            .unwrap_or_else(|| "000000000000".into());
        if account_id.len() != 12 || !account_id.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!("account id '{account_id}' must be 12 digits"));
        }
        let log_format = match args.log_format.clone().or(file.log_format).as_deref() {
            None | Some("text") => LogFormat::Text,
            Some("json") => LogFormat::Json,
            Some(other) => return Err(format!("log format '{other}' must be text or json")),
        };
        let key_id = env("IDPOOL_ROOT_ACCESS_KEY_ID").or(file.root_access_key_id);
        let secret = env("IDPOOL_ROOT_SECRET_ACCESS_KEY").or(file.root_secret_access_key);
        let root_credentials = match (key_id, secret) {
            (Some(id), Some(secret)) if !id.is_empty() && !secret.is_empty() => {
                Some(RootCredentials {
                    access_key_id: id,
                    secret_access_key: zeroize::Zeroizing::new(secret),
                })
            }
            (None, None) => None,
            _ => {
                return Err(
                    "set both IDPOOL_ROOT_ACCESS_KEY_ID and IDPOOL_ROOT_SECRET_ACCESS_KEY, or neither"
                        .into(),
                );
            }
        };
        let user_pool_credentials = user_pool_credentials(
            env("IDPOOL_USER_POOL_ACCESS_KEY_ID").or(file.user_pool_access_key_id),
            env("IDPOOL_USER_POOL_SECRET_ACCESS_KEY").or(file.user_pool_secret_access_key),
            env("IDPOOL_USER_POOL_SESSION_TOKEN").or(file.user_pool_session_token),
        )?;
        let idp_overrides = file
            .idp_override
            .into_iter()
            .map(IdpOverrideFile::resolve)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Settings {
            listen,
            data_dir,
            store_url,
            region,
            account_id,
            public_url: args.public_url.clone().or(file.public_url),
            log_format,
            root_credentials,
            max_body_bytes: file.max_body_bytes.unwrap_or(1024 * 1024),
            max_identity_pools: file.max_identity_pools.unwrap_or(1000),
            max_clock_skew_ms: 15 * 60 * 1000,
            max_concurrent_idp_fetches: match file.max_concurrent_idp_fetches {
                Some(0) => return Err("max_concurrent_idp_fetches must be at least 1".into()),
                Some(n) => n,
                None => 16,
            },
            rate_limits: file.rate_limits.unwrap_or_default().resolve()?,
            idp_overrides,
            user_pool_credentials,
            declarations: file.declarations,
        })
    }
}

/// The user pool credentials: a key id and secret together (a session token only with them),
/// or none at all.
fn user_pool_credentials(
    key_id: Option<String>,
    secret: Option<String>,
    token: Option<String>,
) -> Result<Option<idpool_core::idp::aws_sign::AwsCredentials>, String> {
    let token = token.filter(|t| !t.is_empty());
    match (key_id, secret) {
        (Some(id), Some(secret)) if !id.is_empty() && !secret.is_empty() => {
            Ok(Some(idpool_core::idp::aws_sign::AwsCredentials {
                access_key_id: id,
                secret_access_key: idpool_core::idp::Secret::new(secret),
                session_token: token.map(idpool_core::idp::Secret::new),
            }))
        }
        (None, None) if token.is_none() => Ok(None),
        _ => Err(
            "set both user_pool_access_key_id and user_pool_secret_access_key \
             (IDPOOL_USER_POOL_ACCESS_KEY_ID, IDPOOL_USER_POOL_SECRET_ACCESS_KEY), or neither; \
             a session token needs them both"
                .into(),
        ),
    }
}

fn load_file(explicit: Option<&Path>) -> Result<FileSettings, String> {
    let (path, required) = match explicit {
        Some(p) => (p.to_path_buf(), true),
        None => (PathBuf::from("idpool.toml"), false),
    };
    match std::fs::read_to_string(&path) {
        Ok(text) => toml::from_str(&text).map_err(|e| format!("{}: {e}", path.display())),
        Err(e) if !required && e.kind() == std::io::ErrorKind::NotFound => {
            Ok(FileSettings::default())
        }
        Err(e) => Err(format!("{}: {e}", path.display())),
    }
}

fn valid_region(r: &str) -> bool {
    !r.is_empty()
        && r.len() <= 32
        && r.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !r.starts_with('-')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_env(_: &str) -> Option<String> {
        None
    }

    /// The file as read holds the secrets too; printing it must not show them.
    #[test]
    fn the_settings_file_prints_no_secrets() {
        let file: FileSettings = toml::from_str(
            r#"
store_url = "postgres://idpool:db-password@127.0.0.1/idpool"
root_access_key_id = "AKIDROOT"
root_secret_access_key = "root-secret-value"
user_pool_access_key_id = "AKIDPOOL"
user_pool_secret_access_key = "pool-secret-value"
user_pool_session_token = "pool-session-token"
"#,
        )
        .unwrap();
        let printed = format!("{file:?}");
        assert!(
            printed.contains("AKIDROOT") && printed.contains("AKIDPOOL"),
            "{printed}"
        );
        for secret in [
            "db-password",
            "root-secret-value",
            "pool-secret-value",
            "pool-session-token",
        ] {
            assert!(!printed.contains(secret), "{secret} in {printed}");
        }
    }

    #[test]
    fn defaults_apply() {
        let args = ServeArgs {
            config: Some("/nonexistent-idpool.toml".into()),
            ..Default::default()
        };
        assert!(
            Settings::resolve(&args, &no_env).is_err(),
            "an explicit missing file is an error"
        );
        let s = Settings::resolve(&ServeArgs::default(), &no_env).unwrap();
        assert_eq!(s.listen.to_string(), "127.0.0.1:9600");
        assert_eq!(s.region, "us-east-1");
        assert_eq!(s.account_id, "000000000000");
        assert_eq!(s.store_url, "sqlite://./idpool-data/idpool.db");
        assert!(s.root_credentials.is_none());
    }

    #[test]
    fn flags_beat_file_and_secrets_stay_hidden() {
        let dir = std::env::temp_dir().join(format!("idpool-cfg-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("idpool.toml");
        std::fs::write(
            &file,
            "region = \"eu-west-1\"\naccount_id = \"111111111111\"\n",
        )
        .unwrap();
        let args = ServeArgs {
            config: Some(file),
            region: Some("ap-south-1".into()),
            ..Default::default()
        };
        let env = |k: &str| match k {
            "IDPOOL_ROOT_ACCESS_KEY_ID" => Some("AKIDROOT".to_string()),
            "IDPOOL_ROOT_SECRET_ACCESS_KEY" => Some("very-secret-value".to_string()),
            _ => None,
        };
        let s = Settings::resolve(&args, &env).unwrap();
        assert_eq!(s.region, "ap-south-1");
        assert_eq!(s.account_id, "111111111111");
        let printed = format!("{s:?}");
        assert!(printed.contains("AKIDROOT"));
        assert!(!printed.contains("very-secret-value"));
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn bad_values_are_refused() {
        let a = ServeArgs {
            region: Some("US EAST".into()),
            ..Default::default()
        };
        assert!(Settings::resolve(&a, &no_env).is_err());
        let a = ServeArgs {
            account_id: Some("12".into()),
            ..Default::default()
        };
        assert!(Settings::resolve(&a, &no_env).is_err());
    }

    #[test]
    fn idp_overrides_are_read_and_checked() {
        let dir = std::env::temp_dir().join(format!("idpool-cfg-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("idpool.toml");
        std::fs::write(
            &file,
            r#"
[[idp_override]]
provider = "cognito-idp.us-east-1.amazonaws.com/us-east-1_abc"
issuer = "http://localhost:9229/us-east-1_abc"

[[idp_override]]
provider = "https://login.example.internal/"
jwks_url = "http://login.example.internal/keys"
allow_http = true
"#,
        )
        .unwrap();
        let args = ServeArgs {
            config: Some(file.clone()),
            ..Default::default()
        };
        let s = Settings::resolve(&args, &no_env).unwrap();
        assert_eq!(s.idp_overrides.len(), 2);
        assert_eq!(
            s.idp_overrides[0].issuer.as_deref(),
            Some("http://localhost:9229/us-east-1_abc")
        );
        assert_eq!(s.idp_overrides[1].provider, "login.example.internal");
        assert!(s.idp_overrides[1].allow_http);
        std::fs::write(
            &file,
            "[[idp_override]]\nprovider = \"x\"\njwks_url = \"ftp://x/keys\"\n",
        )
        .unwrap();
        assert!(Settings::resolve(&args, &no_env).is_err());
        std::fs::write(
            &file,
            "[[idp_override]]\nprovider = \"graph.facebook.com\"\nintrospection_url = \"http://127.0.0.1:8085\"\n",
        )
        .unwrap();
        let s = Settings::resolve(&args, &no_env).unwrap();
        assert_eq!(
            s.idp_overrides[0].introspection_url.as_deref(),
            Some("http://127.0.0.1:8085")
        );
        std::fs::write(
            &file,
            "[[idp_override]]\nprovider = \"x\"\nintrospection_url = \"graph.internal\"\n",
        )
        .unwrap();
        assert!(Settings::resolve(&args, &no_env).is_err());
        std::fs::write(&file, "[[idp_override]]\nprovider = \"x\"\njwks = \"y\"\n").unwrap();
        assert!(
            Settings::resolve(&args, &no_env).is_err(),
            "unknown keys are refused"
        );
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn user_pool_check_settings_are_read_and_secrets_stay_hidden() {
        let dir = std::env::temp_dir().join(format!("idpool-cfg-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("idpool.toml");
        std::fs::write(
            &file,
            r#"
user_pool_access_key_id = "AKIDFILE"
user_pool_secret_access_key = "file-secret-value"

[[idp_override]]
provider = "cognito-idp.eu-west-1.amazonaws.com/eu-west-1_abc"
user_pool_api_url = "http://127.0.0.1:9229/"
"#,
        )
        .unwrap();
        let args = ServeArgs {
            config: Some(file.clone()),
            ..Default::default()
        };
        let s = Settings::resolve(&args, &no_env).unwrap();
        let c = s.user_pool_credentials.as_ref().unwrap();
        assert_eq!(c.access_key_id, "AKIDFILE");
        assert_eq!(c.secret_access_key.expose(), "file-secret-value");
        assert!(c.session_token.is_none());
        assert_eq!(
            s.idp_overrides[0].user_pool_api_url.as_deref(),
            Some("http://127.0.0.1:9229/")
        );
        let printed = format!("{s:?}");
        assert!(printed.contains("AKIDFILE") && !printed.contains("file-secret-value"));

        // The environment beats the file, and a session token travels with the pair.
        let env = |k: &str| match k {
            "IDPOOL_USER_POOL_ACCESS_KEY_ID" => Some("ASIAENV".to_string()),
            "IDPOOL_USER_POOL_SECRET_ACCESS_KEY" => Some("env-secret-value".to_string()),
            "IDPOOL_USER_POOL_SESSION_TOKEN" => Some("env-session-token".to_string()),
            _ => None,
        };
        let s = Settings::resolve(&args, &env).unwrap();
        let c = s.user_pool_credentials.as_ref().unwrap();
        assert_eq!(c.access_key_id, "ASIAENV");
        assert_eq!(
            c.session_token.as_ref().map(|t| t.expose()),
            Some("env-session-token")
        );
        let printed = format!("{s:?}");
        assert!(!printed.contains("env-secret-value") && !printed.contains("env-session-token"));

        // Half a pair is refused, and so is a URL that is not http(s).
        std::fs::write(&file, "user_pool_access_key_id = \"AKIDFILE\"\n").unwrap();
        assert!(Settings::resolve(&args, &no_env).is_err());
        std::fs::write(&file, "user_pool_session_token = \"t\"\n").unwrap();
        assert!(Settings::resolve(&args, &no_env).is_err());
        std::fs::write(
            &file,
            "[[idp_override]]\nprovider = \"x\"\nuser_pool_api_url = \"cognito.internal\"\n",
        )
        .unwrap();
        assert!(Settings::resolve(&args, &no_env).is_err());
        std::fs::write(&file, "").unwrap();
        assert!(
            Settings::resolve(&args, &no_env)
                .unwrap()
                .user_pool_credentials
                .is_none()
        );
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn rate_limits_are_read_and_checked() {
        let s = Settings::resolve(&ServeArgs::default(), &no_env).unwrap();
        assert_eq!(s.rate_limits, RateLimitSettings::default());
        assert!(s.rate_limits.enabled && !s.rate_limits.aws_default_quotas);
        let dir = std::env::temp_dir().join(format!("idpool-cfg-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("idpool.toml");
        std::fs::write(
            &file,
            "[rate_limits]\nper_source_rps = 5\nper_pool_rps = 0\naws_default_quotas = true\n",
        )
        .unwrap();
        let args = ServeArgs {
            config: Some(file.clone()),
            ..Default::default()
        };
        let s = Settings::resolve(&args, &no_env).unwrap();
        assert_eq!(s.rate_limits.per_source, Rate::new(5.0, 5));
        assert!(s.rate_limits.per_pool.is_off());
        assert!(s.rate_limits.aws_default_quotas);
        std::fs::write(&file, "[rate_limits]\nper_source_rps = -1\n").unwrap();
        assert!(Settings::resolve(&args, &no_env).is_err());
        std::fs::write(&file, "[rate_limits]\nper_ip = 1\n").unwrap();
        assert!(Settings::resolve(&args, &no_env).is_err());
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn urls_hide_passwords() {
        assert_eq!(redact_url("postgres://u:pw@h/db"), "postgres://u:****@h/db");
        assert_eq!(redact_url("sqlite://x.db"), "sqlite://x.db");
    }
}
