//! Request-rate limits: keyed GCRA buckets per source address, pool, caller and operation (security-and-performance.md §6.4).

use std::collections::HashMap;
use std::hash::{BuildHasher, Hash, RandomState};
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use idpool_wire::json::CognitoOp;

/// A sustained rate and how many requests may arrive at once above it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rate {
    pub per_second: f64,
    pub burst: u32,
}

impl Rate {
    pub fn new(per_second: f64, burst: u32) -> Rate {
        Rate { per_second, burst }
    }

    /// A rate of zero (or less) switches the limit off.
    pub fn is_off(&self) -> bool {
        self.per_second.is_nan() || self.per_second <= 0.0
    }
}

/// Keys kept per limiter before idle ones are dropped. A key whose bucket has refilled carries
/// no state, so dropping it changes no answer; only when that many keys are all busy do new
/// keys share one overflow bucket, which keeps memory bounded under address spraying.
const MAX_KEYS: usize = 100_000;
const SHARDS: usize = 16;

/// A generic cell rate algorithm limiter: one "theoretical arrival time" per key.
pub struct KeyedLimiter<K> {
    emission: Duration,
    tolerance: Duration,
    epoch: Instant,
    hasher: RandomState,
    shards: Vec<Mutex<Shard<K>>>,
}

struct Shard<K> {
    /// Theoretical arrival time per key, as nanoseconds after `epoch`.
    tat: HashMap<K, u64>,
    overflow: u64,
    /// When idle keys were last swept; sweeps are spaced so a flood of new keys cannot make
    /// every request scan the whole map.
    swept_ns: u64,
}

const SWEEP_SPACING_NS: u64 = 100_000_000;

impl<K: Eq + Hash> KeyedLimiter<K> {
    /// `None` when the rate is off.
    pub fn new(rate: Rate) -> Option<KeyedLimiter<K>> {
        if rate.is_off() {
            return None;
        }
        let emission = Duration::from_secs_f64(1.0 / rate.per_second.min(1e9));
        let tolerance = emission.saturating_mul(rate.burst.max(1));
        Some(KeyedLimiter {
            emission,
            tolerance,
            epoch: Instant::now(),
            hasher: RandomState::new(),
            shards: (0..SHARDS)
                .map(|_| {
                    Mutex::new(Shard {
                        tat: HashMap::new(),
                        overflow: 0,
                        swept_ns: 0,
                    })
                })
                .collect(),
        })
    }

    /// Takes one request from `key`'s bucket; false when it has none left.
    pub fn check(&self, key: K) -> bool {
        self.check_at(key, Instant::now())
    }

    fn check_at(&self, key: K, now: Instant) -> bool {
        let now_ns = nanos(now.saturating_duration_since(self.epoch));
        let emission = nanos(self.emission);
        let tolerance = nanos(self.tolerance);
        let shard = (self.hasher.hash_one(&key) as usize) % SHARDS;
        let Ok(mut shard) = self.shards[shard].lock() else {
            // A poisoned lock means a panic elsewhere; admitting is the safer failure here.
            return true;
        };
        let shard = &mut *shard;
        if !shard.tat.contains_key(&key)
            && shard.tat.len() >= MAX_KEYS / SHARDS
            && now_ns.saturating_sub(shard.swept_ns) >= SWEEP_SPACING_NS
        {
            shard.tat.retain(|_, tat| *tat > now_ns);
            shard.swept_ns = now_ns;
        }
        let slot = if shard.tat.contains_key(&key) || shard.tat.len() < MAX_KEYS / SHARDS {
            shard.tat.entry(key).or_insert(0)
        } else {
            &mut shard.overflow
        };
        let new_tat = (*slot).max(now_ns).saturating_add(emission);
        if new_tat.saturating_sub(now_ns) > tolerance {
            return false;
        }
        *slot = new_tat;
        true
    }

    /// Keys currently tracked (tests check that idle ones go).
    pub fn tracked_keys(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.lock().map(|s| s.tat.len()).unwrap_or(0))
            .sum()
    }
}

fn build<K: Eq + Hash>(on: bool, rate: Rate) -> Option<KeyedLimiter<K>> {
    if on { KeyedLimiter::new(rate) } else { None }
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// The limits settings ask for (`[rate_limits]` in idpool.toml).
#[derive(Debug, Clone, PartialEq)]
pub struct RateLimitSettings {
    pub enabled: bool,
    /// Unsigned operations, per client address.
    pub per_source: Rate,
    /// Unsigned operations that name an identity pool, per pool.
    pub per_pool: Rate,
    /// Signed operations, per access key.
    pub per_caller: Rate,
    /// AWS's default per-account quotas per operation (cognito-identity.md §6) on top.
    pub aws_default_quotas: bool,
    /// Take the client address from the last `X-Forwarded-For` entry (only behind a proxy that
    /// sets it; anyone can send the header otherwise).
    pub trust_forwarded_for: bool,
}

impl Default for RateLimitSettings {
    fn default() -> Self {
        RateLimitSettings {
            enabled: true,
            per_source: Rate::new(1000.0, 2000),
            per_pool: Rate::new(10_000.0, 20_000),
            per_caller: Rate::new(1000.0, 2000),
            aws_default_quotas: false,
            trust_forwarded_for: false,
        }
    }
}

/// AWS's default request-rate quota for an operation, per account and region (cognito-identity.md §6).
pub fn aws_default_quota(op: CognitoOp) -> Option<u32> {
    Some(match op {
        CognitoOp::GetId => 25,
        CognitoOp::GetOpenIdToken => 200,
        CognitoOp::GetCredentialsForIdentity => 200,
        CognitoOp::GetOpenIdTokenForDeveloperIdentity => 50,
        CognitoOp::ListIdentities => 5,
        CognitoOp::DeleteIdentities => 10,
        CognitoOp::TagResource => 5,
        CognitoOp::UntagResource => 5,
        CognitoOp::ListTagsForResource => 10,
        _ => return None,
    })
}

/// Which limit refused a request (a metrics label).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    Source,
    Pool,
    Caller,
    Quota,
}

impl Refusal {
    pub fn label(self) -> &'static str {
        match self {
            Refusal::Source => "source",
            Refusal::Pool => "pool",
            Refusal::Caller => "caller",
            Refusal::Quota => "aws_quota",
        }
    }
}

/// Every limiter a server holds.
pub struct RateLimits {
    pub settings: RateLimitSettings,
    source: Option<KeyedLimiter<IpAddr>>,
    pool: Option<KeyedLimiter<String>>,
    caller: Option<KeyedLimiter<String>>,
    /// One single-key limiter per operation with an AWS quota; AWS allows a second's worth at once.
    quotas: HashMap<&'static str, KeyedLimiter<()>>,
}

impl RateLimits {
    pub fn new(settings: RateLimitSettings) -> RateLimits {
        let on = settings.enabled;
        let mut quotas = HashMap::new();
        if on && settings.aws_default_quotas {
            for op in CognitoOp::ALL {
                if let Some(rps) = aws_default_quota(op)
                    && let Some(l) = KeyedLimiter::new(Rate::new(f64::from(rps), rps))
                {
                    quotas.insert(op.name(), l);
                }
            }
        }
        RateLimits {
            source: build(on, settings.per_source),
            pool: build(on, settings.per_pool),
            caller: build(on, settings.per_caller),
            quotas,
            settings,
        }
    }

    /// An unsigned request from `source` (when known) naming `pool` (when it does).
    pub fn admit_public(
        &self,
        op: &'static str,
        source: Option<IpAddr>,
        pool: Option<&str>,
    ) -> Result<(), Refusal> {
        if let (Some(l), Some(ip)) = (&self.source, source)
            && !l.check(ip)
        {
            return Err(Refusal::Source);
        }
        if let (Some(l), Some(pool)) = (&self.pool, pool)
            && !l.check(pool.to_string())
        {
            return Err(Refusal::Pool);
        }
        self.admit_quota(op)
    }

    /// A signed request whose signature checked out for `access_key_id` (`None`: the root key,
    /// which only the AWS quota profile limits).
    pub fn admit_signed(
        &self,
        op: &'static str,
        access_key_id: Option<&str>,
    ) -> Result<(), Refusal> {
        if let (Some(l), Some(key)) = (&self.caller, access_key_id)
            && !l.check(key.to_string())
        {
            return Err(Refusal::Caller);
        }
        self.admit_quota(op)
    }

    fn admit_quota(&self, op: &'static str) -> Result<(), Refusal> {
        match self.quotas.get(op) {
            Some(l) if !l.check(()) => Err(Refusal::Quota),
            _ => Ok(()),
        }
    }
}

/// Wraps the identity-provider fetcher: at most `slots` fetches in flight, each waiting at most
/// `wait` for a slot, and every outcome counted for `/metrics`.
pub struct BoundedFetcher {
    inner: std::sync::Arc<dyn Fetcher>,
    slots: tokio::sync::Semaphore,
    wait: Duration,
    metrics: std::sync::Arc<crate::metrics::Metrics>,
}

use idpool_core::idp::jwks::{Answer, FetchError, Fetched, Fetcher, Request};

impl BoundedFetcher {
    pub fn new(
        inner: std::sync::Arc<dyn Fetcher>,
        slots: usize,
        wait: Duration,
        metrics: std::sync::Arc<crate::metrics::Metrics>,
    ) -> BoundedFetcher {
        BoundedFetcher {
            inner,
            slots: tokio::sync::Semaphore::new(slots.max(1)),
            wait,
            metrics,
        }
    }

    /// A slot, or the error a caller gets when none frees up in time.
    async fn slot(&self) -> Result<tokio::sync::SemaphorePermit<'_>, FetchError> {
        match tokio::time::timeout(self.wait, self.slots.acquire()).await {
            Ok(Ok(p)) => Ok(p),
            _ => {
                self.metrics.fetch_refused();
                self.metrics.fetch("busy");
                Err(FetchError::Transport(
                    "too many identity-provider fetches in flight".into(),
                ))
            }
        }
    }

    fn count_error(&self, e: &FetchError) {
        self.metrics.fetch(match e {
            FetchError::Refused(_) => "refused",
            FetchError::Transport(_) => "transport_error",
            FetchError::Status(_) => "http_error",
            FetchError::TooLarge => "too_large",
            _ => "unreadable",
        });
    }
}

#[async_trait::async_trait]
impl Fetcher for BoundedFetcher {
    async fn get(&self, url: &str) -> Result<Fetched, FetchError> {
        let permit = self.slot().await?;
        let result = self.inner.get(url).await;
        drop(permit);
        match &result {
            Ok(_) => self.metrics.fetch("ok"),
            Err(e) => self.count_error(e),
        }
        result
    }

    async fn send(&self, request: &Request) -> Result<Answer, FetchError> {
        let permit = self.slot().await?;
        let result = self.inner.send(request).await;
        drop(permit);
        match &result {
            Ok(a) if a.is_success() => self.metrics.fetch("ok"),
            Ok(_) => self.metrics.fetch("http_error"),
            Err(e) => self.count_error(e),
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn burst_then_steady_rate() {
        let l = KeyedLimiter::new(Rate::new(10.0, 3)).unwrap();
        let t0 = l.epoch;
        let admitted = (0..10).filter(|_| l.check_at("a", t0)).count();
        assert_eq!(admitted, 3, "a burst of 3 at one instant");
        assert!(l.check_at("b", t0), "keys are independent");
        assert!(!l.check_at("a", t0 + Duration::from_millis(50)));
        assert!(l.check_at("a", t0 + Duration::from_millis(101)));
        // Over 10 s at 100 attempts/s, about 10/s (plus the burst) get through.
        let mut ok = 0;
        for i in 0..1000u64 {
            if l.check_at("c", t0 + Duration::from_millis(10 * i)) {
                ok += 1;
            }
        }
        assert!((100..=104).contains(&ok), "admitted {ok}");
    }

    #[test]
    fn off_rates_build_nothing() {
        assert!(KeyedLimiter::<u8>::new(Rate::new(0.0, 10)).is_none());
        let r = RateLimits::new(RateLimitSettings {
            enabled: false,
            ..Default::default()
        });
        for _ in 0..10_000 {
            assert!(r.admit_public("GetId", None, Some("p")).is_ok());
        }
    }

    #[test]
    fn idle_keys_are_evicted_and_memory_stays_bounded() {
        let l = KeyedLimiter::new(Rate::new(1000.0, 1)).unwrap();
        let t0 = l.epoch;
        for i in 0..(MAX_KEYS as u64 + 5000) {
            l.check_at(i, t0);
        }
        assert!(l.tracked_keys() <= MAX_KEYS);
        // A second later every bucket has refilled; new keys displace the idle ones.
        let later = t0 + Duration::from_secs(1);
        for i in 0..(MAX_KEYS as u64) {
            l.check_at(1_000_000 + i, later);
        }
        assert!(l.tracked_keys() <= MAX_KEYS);
        assert!(l.check_at(u64::MAX, later + Duration::from_millis(1)));
    }

    struct Slow(
        std::sync::atomic::AtomicUsize,
        std::sync::atomic::AtomicUsize,
    );

    #[async_trait::async_trait]
    impl Fetcher for Slow {
        async fn get(&self, _url: &str) -> Result<Fetched, FetchError> {
            use std::sync::atomic::Ordering::SeqCst;
            let now = self.0.fetch_add(1, SeqCst) + 1;
            self.1.fetch_max(now, SeqCst);
            tokio::time::sleep(Duration::from_millis(50)).await;
            self.0.fetch_sub(1, SeqCst);
            Err(FetchError::Status(500))
        }

        async fn send(&self, request: &Request) -> Result<Answer, FetchError> {
            self.get(&request.url).await.map(|f| Answer {
                status: 200,
                body: f.body,
            })
        }
    }

    #[tokio::test]
    async fn outbound_fetches_are_bounded_and_counted() {
        let slow = std::sync::Arc::new(Slow(Default::default(), Default::default()));
        let metrics = std::sync::Arc::new(crate::metrics::Metrics::default());
        let f = std::sync::Arc::new(BoundedFetcher::new(
            slow.clone(),
            2,
            Duration::from_millis(120),
            metrics.clone(),
        ));
        // Plain fetches and calls with headers share the same slots.
        let tasks: Vec<_> = (0..8)
            .map(|i| {
                let f = f.clone();
                tokio::spawn(async move {
                    let url = "https://idp.example/keys";
                    if i % 2 == 0 {
                        f.get(url).await.is_err()
                    } else {
                        f.send(&Request::get(url)).await.is_err()
                    }
                })
            })
            .collect();
        for t in tasks {
            assert!(t.await.unwrap());
        }
        assert_eq!(slow.1.load(std::sync::atomic::Ordering::SeqCst), 2);
        let text = metrics.render();
        assert!(text.contains("idpool_jwks_fetches_total{result=\"http_error\"}"));
        assert!(
            text.contains("idpool_jwks_fetches_total{result=\"busy\"}"),
            "{text}"
        );
    }

    #[test]
    fn aws_quotas_apply_per_operation() {
        let r = RateLimits::new(RateLimitSettings {
            aws_default_quotas: true,
            ..Default::default()
        });
        let got = (0..100)
            .filter(|_| r.admit_signed("ListIdentities", Some("AKID")).is_ok())
            .count();
        assert!((5..=6).contains(&got), "ListIdentities admitted {got}");
        assert!(r.admit_signed("ListIdentityPools", None).is_ok());
        assert_eq!(aws_default_quota(CognitoOp::GetId), Some(25));
    }
}
