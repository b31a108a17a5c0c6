//! Finding, creating, linking and merging identities in one transaction (spec §4.3, §4.6, §4.7).

use std::collections::{BTreeMap, BTreeSet};

use idpool_store::{DeveloperLink, IdentityTx, LoginLink, StoreResult};

use super::CognitoError;
use super::logins::LOGINS_DONT_MATCH;

/// Logins an identity may hold in all (spec §3.3).
pub const MAX_LINKED_LOGINS: usize = 20;

/// What to reconcile: the identity the request names (if any) and the verified links.
#[derive(Debug, Clone)]
pub struct LinkRequest {
    pub pool_id: String,
    /// The identity named by the request (GetCredentialsForIdentity's `IdentityId`...).
    pub target: Option<String>,
    pub links: Vec<LoginLink>,
    pub developer: Option<DeveloperLink>,
    /// Developer flow with an explicit identity: a developer user owned by another identity
    /// is an error instead of a merge (DeveloperUserAlreadyRegisteredException).
    pub developer_strict: bool,
    /// The request already proved it speaks for `target` (it carried our own OpenID token
    /// for that identity), so an authenticated target need not own one of `links`.
    pub target_proven: bool,
    /// Id to give a new identity, when one is needed.
    pub new_id: String,
    pub now_ms: i64,
}

/// The identity the request ends on, and whether it holds any login.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Linked {
    pub identity_id: String,
    pub authenticated: bool,
    /// Provider names linked to the surviving identity (for `amr`).
    pub providers: Vec<String>,
}

/// Runs inside a store transaction. Every check happens before the first write, so a domain
/// error (the inner `Err`) leaves nothing half-done even though the transaction commits.
pub fn reconcile(
    tx: &mut dyn IdentityTx,
    req: &LinkRequest,
) -> StoreResult<Result<Linked, CognitoError>> {
    let target = match &req.target {
        Some(id) => match tx.get_identity(id)? {
            Some(row) if row.pool_id == req.pool_id && !row.disabled => Some(row),
            Some(row) if row.disabled => {
                return Ok(Err(CognitoError::NotAuthorized(format!(
                    "Access to Identity '{id}' is forbidden."
                ))));
            }
            _ => {
                return Ok(Err(CognitoError::ResourceNotFound(format!(
                    "Identity '{id}' not found."
                ))));
            }
        },
        None => None,
    };

    // Who owns each presented login, in request order.
    let mut owners: Vec<Option<String>> = Vec::with_capacity(req.links.len());
    for l in &req.links {
        owners.push(tx.identity_by_login(&req.pool_id, &l.provider, &l.subject)?);
    }
    let dev_owner = match &req.developer {
        Some(d) => tx.identity_by_developer_user(&req.pool_id, &d.provider, &d.user_id)?,
        None => None,
    };

    let target_authenticated = target
        .as_ref()
        .is_some_and(|t| !t.logins.is_empty() || !t.developer_users.is_empty());
    let presented_owners: Vec<&String> = owners.iter().flatten().chain(dev_owner.iter()).collect();

    if let (Some(t), Some(owner)) = (&target, &dev_owner)
        && req.developer_strict
        && owner != &t.id
    {
        return Ok(Err(CognitoError::DeveloperUserAlreadyRegistered(
            "The developer user identifier is already linked to another identity.".into(),
        )));
    }

    // Pick the survivor: an authenticated target keeps its id but must already own one of the
    // presented logins; a guest target yields to the identity that owned a login (spec §4.6).
    let survivor: Option<String> = match &target {
        Some(t) if target_authenticated => {
            if !req.target_proven && !presented_owners.iter().any(|o| **o == t.id) {
                return Ok(Err(CognitoError::NotAuthorized(LOGINS_DONT_MATCH.into())));
            }
            Some(t.id.clone())
        }
        Some(t) => Some(
            presented_owners
                .first()
                .map_or_else(|| t.id.clone(), |o| (*o).clone()),
        ),
        None => presented_owners.first().map(|o| (*o).clone()),
    };

    // Everything else that owned a presented login is merged into the survivor; a guest target
    // that loses is disabled too.
    let mut merged: BTreeSet<String> = presented_owners.iter().map(|o| (*o).clone()).collect();
    if let Some(t) = &target {
        merged.insert(t.id.clone());
    }
    if let Some(s) = &survivor {
        merged.remove(s);
    }

    // The union must hold at most one subject per provider and at most 20 logins.
    let mut by_provider: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut developer_users: BTreeSet<(String, String)> = BTreeSet::new();
    let mut rows = Vec::new();
    if let Some(s) = &survivor {
        rows.extend(tx.get_identity(s)?);
    }
    for m in &merged {
        rows.extend(tx.get_identity(m)?);
    }
    for row in &rows {
        for l in &row.logins {
            by_provider
                .entry(l.provider.clone())
                .or_default()
                .insert(l.subject.clone());
        }
        for d in &row.developer_users {
            developer_users.insert((d.provider.clone(), d.user_id.clone()));
        }
    }
    for l in &req.links {
        by_provider
            .entry(l.provider.clone())
            .or_default()
            .insert(l.subject.clone());
    }
    if let Some(d) = &req.developer {
        developer_users.insert((d.provider.clone(), d.user_id.clone()));
    }
    if let Some((p, _)) = by_provider.iter().find(|(_, subjects)| subjects.len() > 1) {
        return Ok(Err(CognitoError::ResourceConflict(format!(
            "An identity cannot hold two different logins of provider {p}."
        ))));
    }
    let total = by_provider.values().map(BTreeSet::len).sum::<usize>() + developer_users.len();
    // ResourceConflictException, as MergeDeveloperIdentities answers for the same cap: it is
    // an error every linking operation's model declares, so every SDK recognises it.
    if total > MAX_LINKED_LOGINS {
        return Ok(Err(CognitoError::ResourceConflict(format!(
            "An identity can be linked to at most {MAX_LINKED_LOGINS} logins."
        ))));
    }

    // Writes.
    let survivor = match survivor {
        Some(s) => s,
        None => {
            tx.insert_identity(&req.new_id, &req.pool_id, req.now_ms)?;
            req.new_id.clone()
        }
    };
    for m in &merged {
        tx.move_links(m, &survivor, req.now_ms)?;
        tx.set_disabled(m, true, req.now_ms)?;
    }
    for (l, owner) in req.links.iter().zip(&owners) {
        if owner.is_none() {
            tx.link_login(&survivor, l, req.now_ms)?;
        }
    }
    if let Some(d) = &req.developer
        && dev_owner.is_none()
    {
        tx.link_developer_user(&survivor, d, req.now_ms)?;
    }
    let providers: Vec<String> = by_provider.keys().cloned().collect();
    let authenticated = !providers.is_empty() || !developer_users.is_empty();
    let mut names = providers;
    names.extend(developer_users.into_iter().map(|(p, _)| p));
    names.dedup();
    Ok(Ok(Linked {
        identity_id: survivor,
        authenticated,
        providers: names,
    }))
}
