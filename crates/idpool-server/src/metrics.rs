//! `/metrics` in the Prometheus text format: requests, latency, token checks, key fetches, throttling (issue 6 item 5).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::time::Duration;

/// Upper bounds of the latency histogram, in seconds.
const BUCKETS: [f64; 14] = [
    0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
];

/// Distinct provider labels kept before further ones are counted as `other`: provider names
/// come from requests, and an unbounded label set would let anyone grow this process.
const MAX_PROVIDER_LABELS: usize = 64;

#[derive(Default)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    sum: f64,
    count: u64,
}

#[derive(Default)]
struct Inner {
    requests: BTreeMap<(String, String), u64>,
    latency: BTreeMap<String, Histogram>,
    verifications: BTreeMap<(String, String), u64>,
    providers: std::collections::BTreeSet<String>,
    fetches: BTreeMap<String, u64>,
    fetch_waits_refused: u64,
    limited: BTreeMap<(String, &'static str), u64>,
}

/// The process's counters. Labels are operation names from our own tables and error codes from
/// our own code, so their number is bounded.
#[derive(Default)]
pub struct Metrics {
    inner: Mutex<Inner>,
}

impl Metrics {
    /// One finished request: `outcome` is `ok` or the AWS error code it was answered with.
    pub fn request(&self, operation: &str, outcome: &str, elapsed: Duration) {
        let Ok(mut m) = self.inner.lock() else { return };
        *m.requests
            .entry((operation.to_string(), outcome.to_string()))
            .or_default() += 1;
        let secs = elapsed.as_secs_f64();
        let h = m.latency.entry(operation.to_string()).or_default();
        if let Some(i) = BUCKETS.iter().position(|b| secs <= *b) {
            h.counts[i] += 1;
        }
        h.sum += secs;
        h.count += 1;
    }

    /// One login token checked for `provider` (a `Logins` key) with `result`.
    pub fn verification(&self, provider: &str, result: &str) {
        let Ok(mut m) = self.inner.lock() else { return };
        let provider = idpool_core::idp::provider_key(provider);
        let known = m.providers.contains(provider);
        // Only a provider that has passed a check once earns its own label.
        let label = if known {
            provider.to_string()
        } else if result == "ok" && m.providers.len() < MAX_PROVIDER_LABELS {
            m.providers.insert(provider.to_string());
            provider.to_string()
        } else {
            "other".to_string()
        };
        *m.verifications
            .entry((label, result.to_string()))
            .or_default() += 1;
    }

    /// One key-set or discovery fetch to an identity provider.
    pub fn fetch(&self, result: &str) {
        let Ok(mut m) = self.inner.lock() else { return };
        *m.fetches.entry(result.to_string()).or_default() += 1;
    }

    /// A fetch that found every outbound slot busy for too long.
    pub fn fetch_refused(&self) {
        if let Ok(mut m) = self.inner.lock() {
            m.fetch_waits_refused += 1;
        }
    }

    /// One request refused with TooManyRequestsException / Throttling.
    pub fn limited(&self, operation: &str, limit: &'static str) {
        if let Ok(mut m) = self.inner.lock() {
            *m.limited.entry((operation.to_string(), limit)).or_default() += 1;
        }
    }

    /// The exposition text (format version 0.0.4).
    pub fn render(&self) -> String {
        let Ok(m) = self.inner.lock() else {
            return String::new();
        };
        let mut out = String::new();
        header(
            &mut out,
            "idpool_requests_total",
            "counter",
            "Requests answered, by operation and outcome (ok or the AWS error code).",
        );
        for ((op, outcome), n) in &m.requests {
            let _ = writeln!(
                out,
                "idpool_requests_total{{operation=\"{}\",outcome=\"{}\"}} {n}",
                escape(op),
                escape(outcome)
            );
        }
        header(
            &mut out,
            "idpool_request_duration_seconds",
            "histogram",
            "Time from request arrival to the answer, by operation.",
        );
        for (op, h) in &m.latency {
            let op = escape(op);
            let mut cumulative = 0;
            for (bound, n) in BUCKETS.iter().zip(h.counts.iter()) {
                cumulative += n;
                let _ = writeln!(
                    out,
                    "idpool_request_duration_seconds_bucket{{operation=\"{op}\",le=\"{bound}\"}} {cumulative}"
                );
            }
            let _ = writeln!(
                out,
                "idpool_request_duration_seconds_bucket{{operation=\"{op}\",le=\"+Inf\"}} {}",
                h.count
            );
            let _ = writeln!(
                out,
                "idpool_request_duration_seconds_sum{{operation=\"{op}\"}} {}",
                h.sum
            );
            let _ = writeln!(
                out,
                "idpool_request_duration_seconds_count{{operation=\"{op}\"}} {}",
                h.count
            );
        }
        header(
            &mut out,
            "idpool_token_verifications_total",
            "counter",
            "Login tokens presented to public operations, by provider and result.",
        );
        for ((provider, result), n) in &m.verifications {
            let _ = writeln!(
                out,
                "idpool_token_verifications_total{{provider=\"{}\",result=\"{}\"}} {n}",
                escape(provider),
                escape(result)
            );
        }
        header(
            &mut out,
            "idpool_jwks_fetches_total",
            "counter",
            "Key-set and discovery documents fetched from identity providers, by result.",
        );
        for (result, n) in &m.fetches {
            let _ = writeln!(
                out,
                "idpool_jwks_fetches_total{{result=\"{}\"}} {n}",
                escape(result)
            );
        }
        header(
            &mut out,
            "idpool_outbound_fetch_slot_timeouts_total",
            "counter",
            "Fetches abandoned because every outbound slot stayed busy.",
        );
        let _ = writeln!(
            out,
            "idpool_outbound_fetch_slot_timeouts_total {}",
            m.fetch_waits_refused
        );
        header(
            &mut out,
            "idpool_rate_limited_total",
            "counter",
            "Requests refused by a rate limit, by operation and limit.",
        );
        for ((op, limit), n) in &m.limited {
            let _ = writeln!(
                out,
                "idpool_rate_limited_total{{operation=\"{}\",limit=\"{}\"}} {n}",
                escape(op),
                escape(limit)
            );
        }
        out
    }
}

fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

/// Label values escape backslash, double quote and newline.
fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_and_histograms_render() {
        let m = Metrics::default();
        m.request("GetId", "ok", Duration::from_micros(700));
        m.request("GetId", "ok", Duration::from_millis(30));
        m.request(
            "GetId",
            "TooManyRequestsException",
            Duration::from_micros(10),
        );
        m.limited("GetId", "source");
        let text = m.render();
        assert!(text.contains("idpool_requests_total{operation=\"GetId\",outcome=\"ok\"} 2"));
        assert!(text.contains(
            "idpool_request_duration_seconds_bucket{operation=\"GetId\",le=\"0.001\"} 2"
        ));
        assert!(
            text.contains(
                "idpool_request_duration_seconds_bucket{operation=\"GetId\",le=\"+Inf\"} 3"
            )
        );
        assert!(text.contains("idpool_rate_limited_total{operation=\"GetId\",limit=\"source\"} 1"));
    }

    #[test]
    fn provider_labels_are_bounded_and_escaped() {
        let m = Metrics::default();
        for i in 0..200 {
            m.verification(&format!("junk{i}.example"), "NotAuthorizedException");
        }
        m.verification("https://accounts.google.com", "ok");
        m.verification("accounts.google.com", "NotAuthorizedException");
        m.verification("we\"ird\n", "ok");
        let text = m.render();
        assert!(!text.contains("junk"));
        assert!(text.contains(
            "idpool_token_verifications_total{provider=\"other\",result=\"NotAuthorizedException\"} 200"
        ));
        assert!(text.contains(
            "idpool_token_verifications_total{provider=\"accounts.google.com\",result=\"NotAuthorizedException\"} 1"
        ));
        assert!(text.contains("provider=\"we\\\"ird\\n\""));
    }
}
