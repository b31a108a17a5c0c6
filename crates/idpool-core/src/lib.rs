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
        })
    }
}

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
