//! The idpool process: settings, start-up, the HTTP server and its graceful shutdown (design.md).

pub mod audit;
pub mod auth;
pub mod config;
pub mod declare;
pub mod http;
pub mod limits;
pub mod metrics;

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::TcpListener;

pub use config::{ServeArgs, Settings};

/// A built server, bound and ready to run.
pub struct Application {
    listener: TcpListener,
    router: axum::Router,
    core: idpool_core::Core,
    /// The root credentials in force (tests sign with them).
    pub root: config::RootCredentials,
    /// Pools created or found by declarative start-up: (name, id).
    pub declared_pools: Vec<(String, String)>,
}

impl Application {
    /// Opens the store, applies declarations, binds the listener. Port 0 picks a free port.
    pub async fn build(settings: Settings) -> Result<Application, String> {
        Self::build_with_clock(settings, Arc::new(idpool_core::SystemClock)).await
    }

    /// As [`Application::build`], with the clock every request reads (tests move it).
    pub async fn build_with_clock(
        settings: Settings,
        clock: Arc<dyn idpool_core::Clock>,
    ) -> Result<Application, String> {
        let store = idpool_store::open(&settings.store_url).await.map_err(|e| {
            format!(
                "cannot open store {}: {e}",
                config::redact_url(&settings.store_url)
            )
        })?;
        let (root, fresh) =
            auth::load_or_create_root(settings.root_credentials.clone(), &settings.data_dir)
                .map_err(|e| format!("root credentials: {e}"))?;
        if fresh {
            // Shown once, on the terminal of whoever started the server; never logged again.
            println!(
                "idpool generated root credentials (saved in {}):\n  AWS_ACCESS_KEY_ID={}\n  AWS_SECRET_ACCESS_KEY={}",
                settings.data_dir.join("root-credentials.json").display(),
                root.access_key_id,
                root.secret_access_key.as_str()
            );
        }
        // Bound before the issuer is fixed, so that port 0 yields the real port.
        let listener = TcpListener::bind(settings.listen)
            .await
            .map_err(|e| format!("cannot listen on {}: {e}", settings.listen))?;
        let bound = listener.local_addr().unwrap_or(settings.listen);
        let issuer = settings
            .public_url
            .clone()
            .unwrap_or_else(|| format!("http://{bound}"))
            .trim_end_matches('/')
            .to_string();
        let mut core = idpool_core::Core::new(
            store,
            clock,
            idpool_core::CoreSettings {
                region: settings.region.clone(),
                account_id: settings.account_id.clone(),
                limits: idpool_core::Limits {
                    max_identity_pools: settings.max_identity_pools,
                },
                issuer,
                idp: idpool_core::idp::IdpSettings {
                    overrides: settings.idp_overrides.clone(),
                    user_pool_credentials: settings.user_pool_credentials.clone(),
                    ..Default::default()
                },
            },
        )
        .await
        .map_err(|e| format!("key ring: {e}"))?;
        let metrics = Arc::new(metrics::Metrics::default());
        // Outbound fetches go through a bounded, counted wrapper (security-and-performance.md §6.4).
        let idp_settings = core.idp.settings().clone();
        let timeout = idp_settings.fetch_timeout;
        let fetcher = limits::BoundedFetcher::new(
            Arc::new(idpool_core::idp::http::HttpFetcher::new(timeout)),
            settings.max_concurrent_idp_fetches,
            timeout,
            metrics.clone(),
        );
        core.idp = Arc::new(idpool_core::idp::Idp::with_fetcher(
            idp_settings,
            Arc::new(fetcher),
        ));
        let declared_pools = declare::apply(&core, &settings.declarations).await?;
        let state = Arc::new(http::AppState {
            core: core.clone(),
            credentials: auth::Credentials { root: root.clone() },
            max_body_bytes: settings.max_body_bytes,
            max_clock_skew_ms: settings.max_clock_skew_ms,
            limits: limits::RateLimits::new(settings.rate_limits.clone()),
            metrics,
        });
        Ok(Application {
            listener,
            router: http::router(state),
            core,
            root,
            declared_pools,
        })
    }

    /// A handle that makes this server re-read its key ring now (it also does so every
    /// 30 s), so that a rotation made elsewhere takes effect at once.
    pub fn key_reloader(&self) -> KeyReloader {
        KeyReloader {
            core: self.core.clone(),
        }
    }

    /// The request router, for driving requests in-process without a socket.
    pub fn router(&self) -> axum::Router {
        self.router.clone()
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 0)))
    }

    /// Serves until `shutdown` resolves, then lets requests in flight finish.
    pub async fn run_until(
        self,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        // A rotation made by `idpool keys rotate` or another instance is picked up here.
        let keys = self.key_reloader();
        let reloader = tokio::spawn(async move {
            let mut tick = tokio::time::interval(KEY_RELOAD_INTERVAL);
            tick.tick().await;
            loop {
                tick.tick().await;
                if let Err(e) = keys.reload().await {
                    tracing::warn!(error = %e, "key ring reload failed");
                }
            }
        });
        // The peer address feeds the per-source rate limits and the audit trail.
        let service = self
            .router
            .into_make_service_with_connect_info::<SocketAddr>();
        let result = axum::serve(self.listener, service)
            .with_graceful_shutdown(shutdown)
            .await;
        reloader.abort();
        result
    }
}

/// Re-reads a running server's key ring from the store (see [`Application::key_reloader`]).
#[derive(Clone)]
pub struct KeyReloader {
    core: idpool_core::Core,
}

impl KeyReloader {
    /// Replaces the server's key ring with the one now in the store.
    pub async fn reload(&self) -> Result<(), String> {
        let ring = idpool_core::keys::reload(self.core.store.as_ref(), &self.core.region)
            .await
            .map_err(|e| e.to_string())?;
        self.core.keys.set(ring);
        Ok(())
    }
}

/// How often a running server re-reads the key ring from the store.
const KEY_RELOAD_INTERVAL: std::time::Duration = std::time::Duration::from_secs(30);

/// Adds a new signing and sealing key (used at once by new tokens and credentials; running
/// servers pick it up within their reload interval) and drops keys past their grace period.
pub async fn rotate_keys(settings: &Settings) -> Result<Vec<String>, String> {
    let store = idpool_store::open(&settings.store_url).await.map_err(|e| {
        format!(
            "cannot open store {}: {e}",
            config::redact_url(&settings.store_url)
        )
    })?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default();
    let ring = idpool_core::keys::load_or_init(store.as_ref(), &settings.region, now)
        .await
        .map_err(|e| e.to_string())?;
    drop(ring);
    let ring = idpool_core::keys::rotate(store.as_ref(), &settings.region, now)
        .await
        .map_err(|e| e.to_string())?;
    Ok(ring.openid.iter().map(|k| k.kid.clone()).collect())
}

/// Resolves on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
