//! Short-lived caches of configuration read on every credential request: pools and roles with
//! their parsed policies (issue 3 performance; kept brief so other instances' edits show soon).

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use crate::policy::PolicyDocument;

/// How long an entry is trusted. Edits made through this process invalidate at once; edits made
/// by another instance sharing the store are seen after at most this long.
pub const CONFIG_TTL: Duration = Duration::from_secs(2);
/// Session policies are text sealed into tokens and never change, so their parsed form may be
/// kept for as long as it is used.
pub const SESSION_POLICY_TTL: Duration = Duration::from_secs(300);
/// Entries kept before the oldest half is dropped.
const MAX_ENTRIES: usize = 10_000;

/// A map whose entries expire.
#[derive(Debug)]
pub struct TtlCache<K, V> {
    map: RwLock<HashMap<K, (V, Instant)>>,
    ttl: Duration,
}

impl<K: Eq + Hash + Clone, V: Clone> TtlCache<K, V> {
    pub fn new(ttl: Duration) -> Self {
        TtlCache {
            map: RwLock::new(HashMap::new()),
            ttl,
        }
    }

    pub fn get(&self, key: &K) -> Option<V> {
        let map = self.map.read().ok()?;
        let (v, at) = map.get(key)?;
        (at.elapsed() < self.ttl).then(|| v.clone())
    }

    pub fn insert(&self, key: K, value: V) {
        if let Ok(mut map) = self.map.write() {
            if map.len() >= MAX_ENTRIES {
                let ttl = self.ttl;
                map.retain(|_, (_, at)| at.elapsed() < ttl);
                if map.len() >= MAX_ENTRIES {
                    map.clear();
                }
            }
            map.insert(key, (value, Instant::now()));
        }
    }

    pub fn remove(&self, key: &K) {
        if let Ok(mut map) = self.map.write() {
            map.remove(key);
        }
    }

    pub fn clear(&self) {
        if let Ok(mut map) = self.map.write() {
            map.clear();
        }
    }
}

/// A role as credential issuing and authorisation need it, policies parsed once.
#[derive(Debug)]
pub struct RoleEntry {
    pub role: crate::iam::Role,
    /// `None` when the stored trust policy no longer parses: nobody may assume the role.
    pub trust: Option<PolicyDocument>,
    /// Inline policies that parse; one that does not grants nothing.
    pub inline: Vec<PolicyDocument>,
}

/// The caches a [`crate::Core`] holds.
#[derive(Debug)]
pub struct Caches {
    pub pools: TtlCache<String, Arc<crate::cognito::model::Pool>>,
    /// Keyed by role ARN; `None` caches "no such role".
    pub roles: TtlCache<String, Option<Arc<RoleEntry>>>,
    /// Session policies by their text (every guest carries the same scope-down policy);
    /// `None` caches "does not parse", which grants nothing.
    pub session_policies: TtlCache<String, Option<Arc<PolicyDocument>>>,
}

impl Default for Caches {
    fn default() -> Self {
        Caches {
            pools: TtlCache::new(CONFIG_TTL),
            roles: TtlCache::new(CONFIG_TTL),
            session_policies: TtlCache::new(SESSION_POLICY_TTL),
        }
    }
}

/// The role an ARN names with its parsed policies, from the cache or the store.
pub async fn role_entry(
    core: &crate::Core,
    arn: &str,
) -> Result<Option<Arc<RoleEntry>>, crate::iam::IamError> {
    if let Some(hit) = core.caches.roles.get(&arn.to_string()) {
        return Ok(hit);
    }
    let entry = match crate::iam::find_role_by_arn(core, arn).await? {
        Some(role) => {
            use crate::policy::{PolicyKind, parse_policy};
            let trust = parse_policy(&role.assume_role_policy_document, PolicyKind::Trust).ok();
            let inline = crate::iam::list_role_policy_documents(core, &role.name)
                .await?
                .iter()
                .filter_map(|(_, doc)| parse_policy(doc, PolicyKind::Identity).ok())
                .collect();
            Some(Arc::new(RoleEntry {
                role,
                trust,
                inline,
            }))
        }
        None => None,
    };
    core.caches.roles.insert(arn.to_string(), entry.clone());
    Ok(entry)
}

/// A session policy parsed once per text.
pub fn session_policy(core: &crate::Core, text: &String) -> Option<Arc<PolicyDocument>> {
    if let Some(hit) = core.caches.session_policies.get(text) {
        return hit;
    }
    let parsed = crate::policy::parse_policy(text, crate::policy::PolicyKind::Identity)
        .ok()
        .map(Arc::new);
    core.caches
        .session_policies
        .insert(text.clone(), parsed.clone());
    parsed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_expire_and_can_be_dropped() {
        let c: TtlCache<String, u32> = TtlCache::new(Duration::from_millis(30));
        c.insert("a".into(), 1);
        assert_eq!(c.get(&"a".into()), Some(1));
        c.remove(&"a".into());
        assert_eq!(c.get(&"a".into()), None);
        c.insert("b".into(), 2);
        std::thread::sleep(Duration::from_millis(40));
        assert_eq!(c.get(&"b".into()), None);
    }
}
