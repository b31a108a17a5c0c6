//! Developer-authenticated identities: GetOpenIdTokenForDeveloperIdentity,
//! LookupDeveloperIdentity, MergeDeveloperIdentities, UnlinkDeveloperIdentity (spec §2, §4.8).

use std::collections::BTreeMap;

use idpool_store::DeveloperLink;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::CognitoError;
use super::credentials::{self, Subject};
use super::identities::{identity_not_found, new_identity_id};
use super::linking::{self, LinkRequest};
use super::logins::{self, VerifiedLogin};
use super::model::Pool;
use super::pools::load_pool;
use crate::Core;

/// Developer user identifiers are at most this long in every developer API (spec §2).
const MAX_DEVELOPER_USER_ID: usize = 1024;
/// Default lifetime of a developer token (spec §4.8).
const DEFAULT_TOKEN_DURATION_S: i64 = 900;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetOpenIdTokenForDeveloperIdentityInput {
    pub identity_pool_id: String,
    pub identity_id: Option<String>,
    pub logins: BTreeMap<String, String>,
    #[serde(default)]
    pub principal_tags: BTreeMap<String, String>,
    pub token_duration: Option<i64>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct LookupDeveloperIdentityInput {
    pub identity_pool_id: String,
    pub identity_id: Option<String>,
    pub developer_user_identifier: Option<String>,
    pub max_results: Option<u32>,
    pub next_token: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct MergeDeveloperIdentitiesInput {
    pub source_user_identifier: String,
    pub destination_user_identifier: String,
    pub developer_provider_name: String,
    pub identity_pool_id: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UnlinkDeveloperIdentityInput {
    pub identity_id: String,
    pub identity_pool_id: String,
    pub developer_provider_name: String,
    pub developer_user_identifier: String,
}

fn unsupported_developer_provider() -> CognitoError {
    CognitoError::NotAuthorized(
        "This identity pool does not support the specified developer provider".into(),
    )
}

fn developer_provider(pool: &Pool) -> Result<&str, CognitoError> {
    pool.config
        .developer_provider_name
        .as_deref()
        .ok_or_else(unsupported_developer_provider)
}

fn check_user_id(id: &str) -> Result<(), CognitoError> {
    if id.is_empty() || id.chars().count() > MAX_DEVELOPER_USER_ID {
        return Err(CognitoError::InvalidParameter(format!(
            "Developer user identifiers must be 1 to {MAX_DEVELOPER_USER_ID} characters long."
        )));
    }
    Ok(())
}

pub async fn get_open_id_token_for_developer_identity(
    core: &Core,
    input: GetOpenIdTokenForDeveloperIdentityInput,
) -> Result<Value, CognitoError> {
    let now_ms = core.clock.now_ms();
    let pool = load_pool(core, &input.identity_pool_id).await?;
    let provider = developer_provider(&pool)?.to_string();
    let mut others = input.logins.clone();
    let user_id = others
        .remove(&provider)
        .ok_or_else(unsupported_developer_provider)?;
    check_user_id(&user_id)?;
    // Every other key must be a provider of the pool; a second developer provider cannot be.
    if others
        .keys()
        .any(|k| !logins::is_cognito_key(&core.region, k) && !logins::is_login_key(&pool, k))
    {
        return Err(unsupported_developer_provider());
    }
    let verified = logins::verify_logins(core, &pool, &others, now_ms).await?;
    let links = verified
        .into_iter()
        .filter_map(|v| match v {
            VerifiedLogin::External { link, .. } => Some(link),
            VerifiedLogin::Ours { .. } => None,
        })
        .collect();
    let req = LinkRequest {
        pool_id: pool.id.clone(),
        target: input.identity_id.clone(),
        links,
        developer: Some(DeveloperLink {
            provider: provider.clone(),
            user_id: user_id.clone(),
        }),
        developer_strict: input.identity_id.is_some(),
        target_proven: false,
        new_id: new_identity_id(core),
        now_ms,
    };
    let linked =
        idpool_store::transact(core.store.as_ref(), move |tx| linking::reconcile(tx, &req))
            .await??;
    let pool_guid = pool.id.split_once(':').map_or(pool.id.as_str(), |(_, g)| g);
    let mut amr = vec!["authenticated".to_string(), provider.clone()];
    amr.push(format!("{provider}:{}:{pool_guid}:{user_id}", core.region));
    let subject = Subject {
        identity_id: linked.identity_id.clone(),
        authenticated: true,
        amr,
        tags: input.principal_tags.clone(),
        logins: Vec::new(),
    };
    let duration = input.token_duration.unwrap_or(DEFAULT_TOKEN_DURATION_S);
    let token = credentials::mint_open_id_token(core, &pool.id, &subject, duration, now_ms)?;
    Ok(json!({ "IdentityId": linked.identity_id, "Token": token }))
}

pub async fn lookup_developer_identity(
    core: &Core,
    input: LookupDeveloperIdentityInput,
) -> Result<Value, CognitoError> {
    let pool = load_pool(core, &input.identity_pool_id).await?;
    if input.identity_id.is_none() && input.developer_user_identifier.is_none() {
        return Err(CognitoError::InvalidParameter(
            "Either IdentityId or DeveloperUserIdentifier must be specified.".into(),
        ));
    }
    let provider = pool
        .config
        .developer_provider_name
        .clone()
        .unwrap_or_default();
    let identity_id = match &input.developer_user_identifier {
        Some(user) => {
            let (pool_id, provider, user) = (pool.id.clone(), provider.clone(), user.clone());
            let found = idpool_store::transact(core.store.as_ref(), move |tx| {
                tx.identity_by_developer_user(&pool_id, &provider, &user)
            })
            .await?;
            match (found, &input.identity_id) {
                (Some(found), Some(asked)) if &found != asked => {
                    return Err(CognitoError::ResourceConflict(
                        "The developer user identifier does not belong to the given identity."
                            .into(),
                    ));
                }
                (Some(found), _) => found,
                (None, _) => {
                    return Err(CognitoError::ResourceNotFound(
                        "The developer user identifier was not found in this identity pool.".into(),
                    ));
                }
            }
        }
        None => input.identity_id.clone().unwrap_or_default(),
    };
    let row = core
        .store
        .get_identity(&identity_id)
        .await?
        .filter(|r| r.pool_id == pool.id)
        .ok_or_else(|| identity_not_found(&identity_id))?;
    let mut users: Vec<String> = row
        .developer_users
        .iter()
        .map(|d| d.user_id.clone())
        .collect();
    users.sort();
    let after = match &input.next_token {
        Some(t) => Some(super::pools::decode_token(t)?),
        None => None,
    };
    let limit = input.max_results.unwrap_or(60).clamp(1, 60) as usize;
    let page: Vec<String> = users
        .iter()
        .filter(|u| after.as_ref().is_none_or(|a| *u > a))
        .take(limit + 1)
        .cloned()
        .collect();
    let mut out = Map::new();
    out.insert("IdentityId".into(), row.id.clone().into());
    let more = page.len() > limit;
    let page: Vec<String> = page.into_iter().take(limit).collect();
    if more && let Some(last) = page.last() {
        out.insert("NextToken".into(), super::pools::encode_token(last).into());
    }
    out.insert("DeveloperUserIdentifierList".into(), page.into());
    Ok(Value::Object(out))
}

pub async fn merge_developer_identities(
    core: &Core,
    input: MergeDeveloperIdentitiesInput,
) -> Result<Value, CognitoError> {
    let now_ms = core.clock.now_ms();
    let pool = load_pool(core, &input.identity_pool_id).await?;
    if developer_provider(&pool)? != input.developer_provider_name {
        return Err(unsupported_developer_provider());
    }
    let (pool_id, provider) = (pool.id.clone(), input.developer_provider_name.clone());
    let (source, dest) = (
        input.source_user_identifier.clone(),
        input.destination_user_identifier.clone(),
    );
    let merged = idpool_store::transact(core.store.as_ref(), move |tx| {
        let Some(dest_id) = tx.identity_by_developer_user(&pool_id, &provider, &dest)? else {
            return Ok(Err(CognitoError::ResourceNotFound(
                "The destination developer user identifier was not found.".into(),
            )));
        };
        let Some(source_id) = tx.identity_by_developer_user(&pool_id, &provider, &source)? else {
            return Ok(Err(CognitoError::ResourceNotFound(
                "The source developer user identifier was not found.".into(),
            )));
        };
        if source_id == dest_id {
            return Ok(Ok(dest_id));
        }
        // One subject per provider and at most 20 logins across the union (spec §4.7).
        let src = tx.get_identity(&source_id)?;
        let dst = tx.get_identity(&dest_id)?;
        if let (Some(src), Some(dst)) = (&src, &dst) {
            for l in &src.logins {
                if dst
                    .logins
                    .iter()
                    .any(|d| d.provider == l.provider && d.subject != l.subject)
                {
                    return Ok(Err(CognitoError::ResourceConflict(format!(
                        "Both identities hold a login of provider {}; they cannot be merged.",
                        l.provider
                    ))));
                }
            }
            let total = src.logins.len()
                + src.developer_users.len()
                + dst.logins.len()
                + dst.developer_users.len();
            if total > linking::MAX_LINKED_LOGINS {
                return Ok(Err(CognitoError::ResourceConflict(format!(
                    "A merged identity can be linked to at most {} logins.",
                    linking::MAX_LINKED_LOGINS
                ))));
            }
        }
        tx.move_links(&source_id, &dest_id, now_ms)?;
        tx.set_disabled(&source_id, true, now_ms)?;
        Ok(Ok(dest_id))
    })
    .await??;
    Ok(json!({ "IdentityId": merged }))
}

pub async fn unlink_developer_identity(
    core: &Core,
    input: UnlinkDeveloperIdentityInput,
) -> Result<Value, CognitoError> {
    let now_ms = core.clock.now_ms();
    let pool = load_pool(core, &input.identity_pool_id).await?;
    if developer_provider(&pool)? != input.developer_provider_name {
        return Err(unsupported_developer_provider());
    }
    let row = core
        .store
        .get_identity(&input.identity_id)
        .await?
        .filter(|r| r.pool_id == pool.id)
        .ok_or_else(|| identity_not_found(&input.identity_id))?;
    let link = DeveloperLink {
        provider: input.developer_provider_name.clone(),
        user_id: input.developer_user_identifier.clone(),
    };
    if !row.developer_users.contains(&link) {
        return Err(CognitoError::ResourceConflict(
            "The developer user identifier is not linked to this identity.".into(),
        ));
    }
    let id = row.id.clone();
    idpool_store::transact(core.store.as_ref(), move |tx| {
        tx.unlink_developer_user(&id, &link, now_ms)?;
        super::identities::disable_if_unlinked(tx, &id, now_ms)
    })
    .await?;
    Ok(json!({}))
}
