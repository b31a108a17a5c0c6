//! The client flow and identity administration: GetId, GetCredentialsForIdentity,
//! GetOpenIdToken, UnlinkIdentity, DescribeIdentity, ListIdentities, DeleteIdentities
//! (spec §2, §4.3-4.7).

use std::collections::BTreeMap;
use std::sync::Arc;

use idpool_store::{IdentityRow, LoginLink};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::CognitoError;
use super::credentials::{self, Subject};
use super::linking::{self, LinkRequest, Linked};
use super::logins::{self, LOGINS_DONT_MATCH, VerifiedLogin};
use super::model::Pool;
use super::pools::load_pool;
use crate::Core;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetIdInput {
    pub identity_pool_id: String,
    #[serde(default)]
    pub logins: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct IdentityLoginsInput {
    pub identity_id: String,
    #[serde(default)]
    pub logins: BTreeMap<String, String>,
    pub custom_role_arn: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UnlinkIdentityInput {
    pub identity_id: String,
    pub logins: BTreeMap<String, String>,
    pub logins_to_remove: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct IdentityIdInput {
    pub identity_id: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListIdentitiesInput {
    pub identity_pool_id: String,
    pub max_results: u32,
    pub next_token: Option<String>,
    #[serde(default)]
    pub hide_disabled: bool,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeleteIdentitiesInput {
    pub identity_ids_to_delete: Vec<String>,
}

pub fn identity_not_found(id: &str) -> CognitoError {
    CognitoError::ResourceNotFound(format!("Identity '{id}' not found."))
}

pub fn identity_forbidden(id: &str) -> CognitoError {
    CognitoError::NotAuthorized(format!("Access to Identity '{id}' is forbidden."))
}

pub fn new_identity_id(core: &Core) -> String {
    format!("{}:{}", core.region, uuid::Uuid::new_v4())
}

async fn reconcile(core: &Core, req: LinkRequest) -> Result<Linked, CognitoError> {
    idpool_store::transact(core.store.as_ref(), move |tx| linking::reconcile(tx, &req)).await?
}

/// An identity that exists, is in a pool that exists, and is not disabled.
pub async fn load_live_identity(
    core: &Core,
    id: &str,
) -> Result<(IdentityRow, Arc<Pool>), CognitoError> {
    let row = core
        .store
        .get_identity(id)
        .await?
        .ok_or_else(|| identity_not_found(id))?;
    let pool = match load_pool(core, &row.pool_id).await {
        Ok(p) => p,
        Err(CognitoError::ResourceNotFound(_)) => return Err(identity_not_found(id)),
        Err(e) => return Err(e),
    };
    if row.disabled {
        return Err(identity_forbidden(id));
    }
    Ok((row, pool))
}

fn provider_names(row: &IdentityRow) -> Vec<String> {
    let mut names: Vec<String> = row.logins.iter().map(|l| l.provider.clone()).collect();
    names.extend(row.developer_users.iter().map(|d| d.provider.clone()));
    names.sort();
    names.dedup();
    names
}

pub async fn get_id(core: &Core, input: GetIdInput) -> Result<Value, CognitoError> {
    let now_ms = core.clock.now_ms();
    let pool = load_pool(core, &input.identity_pool_id).await?;
    if input.logins.is_empty() {
        if !pool.config.allow_unauthenticated {
            return Err(CognitoError::NotAuthorized(
                "Unauthenticated access is not supported for this identity pool.".into(),
            ));
        }
        let id = new_identity_id(core);
        let (new_id, pool_id) = (id.clone(), pool.id.clone());
        idpool_store::transact(core.store.as_ref(), move |tx| {
            tx.insert_identity(&new_id, &pool_id, now_ms)
        })
        .await
        .map_err(|e| match e {
            idpool_store::StoreError::NotFound => {
                CognitoError::pool_not_found(&input.identity_pool_id)
            }
            e => e.into(),
        })?;
        return Ok(json!({ "IdentityId": id }));
    }
    let verified = logins::verify_logins(core, &pool, &input.logins, now_ms).await?;
    let split = split_logins(verified);
    let linked = reconcile(
        core,
        LinkRequest {
            pool_id: pool.id.clone(),
            target: split.ours.map(|o| o.0),
            links: split.links,
            developer: None,
            developer_strict: false,
            target_proven: false,
            new_id: new_identity_id(core),
            now_ms,
        },
    )
    .await?;
    Ok(json!({ "IdentityId": linked.identity_id }))
}

/// Our token (at most one identity) and the external links of a request.
type OursLogin = (String, Vec<String>, BTreeMap<String, String>);

/// A request's verified logins, sorted by what each part of the flow needs.
struct SplitLogins {
    ours: Option<OursLogin>,
    links: Vec<LoginLink>,
    /// `amr` entries of the outside logins: provider name, then its detail (spec §4.11).
    amr: Vec<String>,
    claims: Vec<credentials::LoginClaims>,
}

fn split_logins(verified: Vec<VerifiedLogin>) -> SplitLogins {
    let mut out = SplitLogins {
        ours: None,
        links: Vec::new(),
        amr: Vec::new(),
        claims: Vec::new(),
    };
    for v in verified {
        match v {
            VerifiedLogin::Ours {
                identity_id,
                amr,
                tags,
            } => out.ours = Some((identity_id, amr, tags)),
            VerifiedLogin::External {
                link,
                amr_detail,
                claims,
            } => {
                out.amr.push(link.provider.clone());
                out.amr.push(amr_detail);
                out.links.push(link);
                out.claims.push(claims);
            }
        }
    }
    out
}

/// Steps 1-4 of the enhanced flow (spec §4.4), shared with GetOpenIdToken: the identity the
/// request ends on, as a subject for role choice and tokens.
async fn resolve_subject(
    core: &Core,
    identity_id: &str,
    logins_in: &BTreeMap<String, String>,
    now_ms: i64,
) -> Result<(Subject, Arc<Pool>), CognitoError> {
    let (row, pool) = load_live_identity(core, identity_id).await?;
    let authenticated = !row.logins.is_empty() || !row.developer_users.is_empty();
    if logins_in.is_empty() {
        if authenticated {
            return Err(CognitoError::NotAuthorized(LOGINS_DONT_MATCH.into()));
        }
        if !pool.config.allow_unauthenticated {
            return Err(CognitoError::NotAuthorized(
                "Unauthenticated access is not supported for this identity pool.".into(),
            ));
        }
        let subject = Subject {
            identity_id: row.id,
            authenticated: false,
            amr: credentials::amr_for(false, &[]),
            tags: BTreeMap::new(),
            logins: Vec::new(),
        };
        return Ok((subject, pool));
    }
    let verified = logins::verify_logins(core, &pool, logins_in, now_ms).await?;
    let split = split_logins(verified);
    // Only a token minted for a signed-in caller proves the identity: a guest token may
    // outlive the guest, and its holder must not attach logins once the owner signed in.
    let proven = split
        .ours
        .as_ref()
        .is_some_and(|(_, amr, _)| amr.first().is_some_and(|a| a == "authenticated"));
    if let Some((sub, amr, tags)) = split.ours {
        // Our token speaks for exactly one identity: the one the request names.
        if sub != row.id {
            return Err(CognitoError::NotAuthorized(LOGINS_DONT_MATCH.into()));
        }
        if split.links.is_empty() {
            let token_authenticated = amr.first().is_some_and(|a| a == "authenticated");
            // A guest token outlives the guest: once the identity has signed in it counts as
            // no login at all, as a request without logins would.
            if !token_authenticated && authenticated {
                return Err(CognitoError::NotAuthorized(LOGINS_DONT_MATCH.into()));
            }
            if !token_authenticated && !pool.config.allow_unauthenticated {
                return Err(CognitoError::NotAuthorized(
                    "Unauthenticated access is not supported for this identity pool.".into(),
                ));
            }
            let authenticated = token_authenticated;
            return Ok((
                Subject {
                    identity_id: row.id,
                    authenticated,
                    amr,
                    tags,
                    logins: Vec::new(),
                },
                pool,
            ));
        }
    }
    let linked = reconcile(
        core,
        LinkRequest {
            pool_id: pool.id.clone(),
            target: Some(row.id.clone()),
            links: split.links,
            developer: None,
            developer_strict: false,
            target_proven: proven,
            new_id: new_identity_id(core),
            now_ms,
        },
    )
    .await?;
    // `amr` names the providers of this request's logins, as the token AWS mints does.
    let amr = if split.amr.is_empty() {
        credentials::amr_for(linked.authenticated, &linked.providers)
    } else {
        credentials::amr_for(linked.authenticated, &split.amr)
    };
    let subject = Subject {
        identity_id: linked.identity_id,
        authenticated: linked.authenticated,
        amr,
        tags: credentials::principal_tags(&pool, &split.claims),
        logins: split.claims,
    };
    Ok((subject, pool))
}

pub async fn get_credentials_for_identity(
    core: &Core,
    input: IdentityLoginsInput,
) -> Result<Value, CognitoError> {
    let now_ms = core.clock.now_ms();
    let (subject, pool) = resolve_subject(core, &input.identity_id, &input.logins, now_ms).await?;
    let creds = credentials::issue_enhanced(
        core,
        &pool,
        &subject,
        input.custom_role_arn.as_deref(),
        now_ms,
    )
    .await?;
    Ok(json!({
        "IdentityId": subject.identity_id,
        "Credentials": credentials::credentials_wire(&creds),
    }))
}

pub async fn get_open_id_token(
    core: &Core,
    input: IdentityLoginsInput,
) -> Result<Value, CognitoError> {
    let now_ms = core.clock.now_ms();
    // The gates come first so a refused flow does no linking (spec §4.5).
    let (_, pool) = load_live_identity(core, &input.identity_id).await?;
    check_classic_flow(&pool)?;
    let (subject, pool) = resolve_subject(core, &input.identity_id, &input.logins, now_ms).await?;
    let token = credentials::mint_open_id_token(
        core,
        &pool.id,
        &subject,
        credentials::OPEN_ID_TOKEN_S,
        now_ms,
    )?;
    Ok(json!({ "IdentityId": subject.identity_id, "Token": token }))
}

/// The two gates of the basic flow (spec §4.5).
pub fn check_classic_flow(pool: &Pool) -> Result<(), CognitoError> {
    if pool.config.allow_classic_flow == Some(false) {
        return Err(CognitoError::InvalidParameter(
            "Basic (classic) flow is not enabled, please use enhanced flow.".into(),
        ));
    }
    if pool
        .config
        .role_mappings
        .as_ref()
        .is_some_and(|m| !m.is_empty())
    {
        return Err(CognitoError::InvalidParameter(
            "Basic (classic) flow is not supported with RoleMappings, please use enhanced flow."
                .into(),
        ));
    }
    Ok(())
}

pub async fn unlink_identity(
    core: &Core,
    input: UnlinkIdentityInput,
) -> Result<Value, CognitoError> {
    let now_ms = core.clock.now_ms();
    let (row, pool) = load_live_identity(core, &input.identity_id).await?;
    let verified = logins::verify_logins(core, &pool, &input.logins, now_ms).await?;
    // Ownership is proven by a valid login already linked to this identity, or our own token
    // naming it.
    let proven = verified.iter().any(|v| match v {
        VerifiedLogin::Ours { identity_id, .. } => *identity_id == row.id,
        VerifiedLogin::External { link, .. } => row.logins.contains(link),
    });
    if !proven {
        return Err(CognitoError::NotAuthorized(LOGINS_DONT_MATCH.into()));
    }
    let id = row.id.clone();
    let remove = input.logins_to_remove.clone();
    idpool_store::transact(core.store.as_ref(), move |tx| {
        for provider in &remove {
            tx.unlink_login(&id, provider, now_ms)?;
        }
        disable_if_unlinked(tx, &id, now_ms)
    })
    .await?;
    Ok(json!({}))
}

pub fn describe(row: &IdentityRow) -> Value {
    let mut m = Map::new();
    m.insert("IdentityId".into(), row.id.clone().into());
    m.insert("Logins".into(), provider_names(row).into());
    m.insert(
        "CreationDate".into(),
        idpool_wire::json::epoch_seconds(row.created_ms),
    );
    m.insert(
        "LastModifiedDate".into(),
        idpool_wire::json::epoch_seconds(row.modified_ms),
    );
    Value::Object(m)
}

/// An identity stripped of its last login is unusable (spec §4.7): it must not fall back to
/// being a guest, so it is disabled like a merged-away identity.
pub fn disable_if_unlinked(
    tx: &mut dyn idpool_store::IdentityTx,
    id: &str,
    now_ms: i64,
) -> idpool_store::StoreResult<()> {
    if let Some(row) = tx.get_identity(id)?
        && row.logins.is_empty()
        && row.developer_users.is_empty()
    {
        tx.set_disabled(id, true, now_ms)?;
    }
    Ok(())
}

pub async fn describe_identity(core: &Core, input: IdentityIdInput) -> Result<Value, CognitoError> {
    let row = core
        .store
        .get_identity(&input.identity_id)
        .await?
        .ok_or_else(|| identity_not_found(&input.identity_id))?;
    Ok(describe(&row))
}

pub async fn list_identities(
    core: &Core,
    input: ListIdentitiesInput,
) -> Result<Value, CognitoError> {
    let pool = load_pool(core, &input.identity_pool_id).await?;
    let after = match &input.next_token {
        Some(t) => Some(super::pools::decode_token(t)?),
        None => None,
    };
    let limit = input.max_results.clamp(1, 60);
    let mut rows = core
        .store
        .list_identities(&pool.id, after.as_deref(), limit + 1, input.hide_disabled)
        .await?;
    let more = rows.len() > limit as usize;
    rows.truncate(limit as usize);
    let mut out = Map::new();
    out.insert("IdentityPoolId".into(), pool.id.clone().into());
    out.insert(
        "Identities".into(),
        Value::Array(rows.iter().map(describe).collect()),
    );
    if more && let Some(last) = rows.last() {
        out.insert(
            "NextToken".into(),
            super::pools::encode_token(&last.id).into(),
        );
    }
    Ok(Value::Object(out))
}

pub async fn delete_identities(
    core: &Core,
    input: DeleteIdentitiesInput,
) -> Result<Value, CognitoError> {
    let ids = input.identity_ids_to_delete.clone();
    // Unknown ids are ignored, as AWS does (spec §2 DeleteIdentities).
    idpool_store::transact(core.store.as_ref(), move |tx| {
        for id in &ids {
            tx.delete_identity(id)?;
        }
        Ok(())
    })
    .await?;
    Ok(json!({ "UnprocessedIdentityIds": [] }))
}
