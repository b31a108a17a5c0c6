//! The domain: identity pools, IAM roles and providers, and the operations on them (spec §2-4).

pub mod authorizer;
pub mod authz;
pub mod cache;
pub mod clock;
pub mod cognito;
pub mod iam;
pub mod idp;
pub mod keys;
pub mod openid;
pub mod policy;
pub mod session;
pub mod sts;

use std::sync::Arc;

pub use clock::{Clock, SystemClock};

/// Quotas the operations enforce.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Identity pools per account (spec §6: 1,000 by default).
    pub max_identity_pools: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_identity_pools: 1000,
        }
    }
}

/// What every operation needs: the store, where we are, and the time.
#[derive(Clone)]
pub struct Core {
    pub store: Arc<dyn idpool_store::Store>,
    pub region: String,
    pub account_id: String,
    pub clock: Arc<dyn Clock>,
    pub limits: Limits,
    /// Signing and sealing keys.
    pub keys: Arc<keys::SharedKeyRing>,
    /// `iss` of our OpenID tokens.
    pub issuer: String,
    pub caches: Arc<cache::Caches>,
    /// Verification of outside identity providers' tokens, with its key caches.
    pub idp: Arc<idp::Idp>,
    /// When the key ring was last reloaded because a request named a key it lacked.
    last_key_reload_ms: Arc<std::sync::atomic::AtomicI64>,
}

/// What a [`Core`] is built from.
pub struct CoreSettings {
    pub region: String,
    pub account_id: String,
    pub limits: Limits,
    pub issuer: String,
    pub idp: idp::IdpSettings,
}

impl Core {
    /// Loads (or creates) the key ring and assembles the context.
    pub async fn new(
        store: Arc<dyn idpool_store::Store>,
        clock: Arc<dyn Clock>,
        settings: CoreSettings,
    ) -> Result<Core, keys::KeyError> {
        let ring = keys::load_or_init(store.as_ref(), &settings.region, clock.now_ms()).await?;
        Ok(Core {
            store,
            region: settings.region,
            account_id: settings.account_id,
            clock,
            limits: settings.limits,
            keys: Arc::new(keys::SharedKeyRing::new(ring)),
            issuer: settings.issuer,
            caches: Arc::new(cache::Caches::default()),
            idp: Arc::new(idp::Idp::new(settings.idp)),
            last_key_reload_ms: Arc::new(std::sync::atomic::AtomicI64::new(i64::MIN)),
        })
    }

    /// The key ring, reloaded from the store first when `lacks` says it is missing a key a
    /// request names: another instance sharing the store may have rotated moments ago, and
    /// its tokens and credentials should work here at once, not after the periodic reload.
    /// At most one such reload per second, so made-up key ids cannot flood the store.
    pub async fn ring_for(&self, lacks: impl Fn(&keys::KeyRing) -> bool) -> Arc<keys::KeyRing> {
        use std::sync::atomic::Ordering;
        let ring = self.keys.get();
        if !lacks(&ring) {
            return ring;
        }
        let now = self.clock.now_ms();
        let last = self.last_key_reload_ms.load(Ordering::Relaxed);
        if now.saturating_sub(last) < KEY_RELOAD_COOL_DOWN_MS
            || self
                .last_key_reload_ms
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_err()
        {
            return ring;
        }
        match keys::reload(self.store.as_ref(), &self.region).await {
            Ok(fresh) => {
                // A rotation by this instance may have landed while the store was read; the
                // ring read before it must not replace the newer one.
                let newest = |r: &keys::KeyRing| r.current_session().map(|k| k.id);
                let current = self.keys.get();
                if newest(&fresh) >= newest(&current) {
                    self.keys.set(fresh.clone());
                    fresh
                } else {
                    current
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "reloading the key ring failed");
                ring
            }
        }
    }
}

impl Core {
    /// Before a signed request is verified: reloads the ring when the session token it
    /// carries (header or presigned query) names a session key this instance lacks.
    pub async fn ring_for_request(&self, headers: &http::HeaderMap, query: Option<&str>) {
        let Some(token) = session::token_of_request(headers, query) else {
            return;
        };
        let Some(id) = session::key_id_of(&token) else {
            return;
        };
        self.ring_for(|r| r.session_by_id(id).is_none()).await;
    }
}

/// The least time between two reloads of the key ring caused by unknown key ids.
const KEY_RELOAD_COOL_DOWN_MS: i64 = 1000;

impl std::fmt::Debug for Core {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Core")
            .field("region", &self.region)
            .field("account_id", &self.account_id)
            .finish_non_exhaustive()
    }
}

/// The ARN partition for a region.
pub fn partition(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else {
        "aws"
    }
}
