//! Declarative start-up: roles, OIDC and SAML providers and pools named in `idpool.toml`, applied
//! idempotently through the same operations a client would call (issue 2, item 7).

use std::collections::BTreeMap;

use idpool_core::Core;
use idpool_wire::json::CognitoOp;
use idpool_wire::query::QueryParams;
use serde::Deserialize;
use serde_json::{Value, json};

/// What the settings file may declare.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Declarations {
    #[serde(default, rename = "role")]
    pub roles: Vec<RoleDecl>,
    #[serde(default, rename = "oidc_provider")]
    pub oidc_providers: Vec<OidcProviderDecl>,
    #[serde(default, rename = "saml_provider")]
    pub saml_providers: Vec<SamlProviderDecl>,
    #[serde(default, rename = "pool")]
    pub pools: Vec<PoolDecl>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleDecl {
    pub name: String,
    #[serde(default)]
    pub path: Option<String>,
    pub assume_role_policy: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub max_session_duration: Option<u32>,
    /// Inline policies by name.
    #[serde(default)]
    pub policies: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OidcProviderDecl {
    pub url: String,
    #[serde(default)]
    pub client_ids: Vec<String>,
    #[serde(default)]
    pub thumbprints: Vec<String>,
}

/// An IAM SAML provider: its metadata inline or from a file (relative to the working directory).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SamlProviderDecl {
    pub name: String,
    #[serde(default)]
    pub metadata: Option<String>,
    #[serde(default)]
    pub metadata_file: Option<std::path::PathBuf>,
}

/// One `RoleMappings` entry: `type` is `Token` or `Rules`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleMappingDecl {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub ambiguous_role_resolution: Option<String>,
    #[serde(default)]
    pub rules: Vec<MappingRuleDecl>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MappingRuleDecl {
    pub claim: String,
    pub match_type: String,
    pub value: String,
    pub role_arn: String,
}

/// One provider's principal-tag attribute map.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrincipalTagsDecl {
    #[serde(default)]
    pub use_defaults: Option<bool>,
    /// Tag key -> claim.
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PoolDecl {
    /// A fixed pool id (`<region>:<uuid>`), so a team's setup has the same id everywhere.
    /// Without it the pool is found by name.
    #[serde(default)]
    pub id: Option<String>,
    pub name: String,
    #[serde(default)]
    pub allow_unauthenticated: bool,
    #[serde(default)]
    pub allow_classic_flow: Option<bool>,
    #[serde(default)]
    pub developer_provider_name: Option<String>,
    #[serde(default)]
    pub supported_login_providers: BTreeMap<String, String>,
    #[serde(default)]
    pub open_id_connect_provider_arns: Vec<String>,
    #[serde(default)]
    pub saml_provider_arns: Vec<String>,
    /// `[{provider_name, client_id, server_side_token_check}]`
    #[serde(default)]
    pub cognito_identity_providers: Vec<BTreeMap<String, toml::Value>>,
    /// `authenticated` / `unauthenticated` -> role ARN.
    #[serde(default)]
    pub roles: BTreeMap<String, String>,
    /// Provider key (spec §3.5) -> role mapping.
    #[serde(default)]
    pub role_mappings: BTreeMap<String, RoleMappingDecl>,
    /// Provider name -> principal-tag attribute map.
    #[serde(default)]
    pub principal_tags: BTreeMap<String, PrincipalTagsDecl>,
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
}

/// Applies every declaration; returns one line per pool (`name id`) for the start-up log.
pub async fn apply(core: &Core, d: &Declarations) -> Result<Vec<(String, String)>, String> {
    for role in &d.roles {
        apply_role(core, role)
            .await
            .map_err(|e| format!("role {}: {e}", role.name))?;
    }
    for p in &d.oidc_providers {
        apply_oidc(core, p)
            .await
            .map_err(|e| format!("OIDC provider {}: {e}", p.url))?;
    }
    for p in &d.saml_providers {
        apply_saml(core, p)
            .await
            .map_err(|e| format!("SAML provider {}: {e}", p.name))?;
    }
    let mut out = Vec::new();
    for pool in &d.pools {
        let id = apply_pool(core, pool)
            .await
            .map_err(|e| format!("pool {}: {e}", pool.name))?;
        out.push((pool.name.clone(), id));
    }
    Ok(out)
}

async fn iam(core: &Core, action: &str, params: &[(&str, &str)]) -> Result<String, String> {
    let mut form = form_urlencoded::Serializer::new(String::new());
    form.append_pair("Action", action)
        .append_pair("Version", idpool_wire::query::IAM_VERSION);
    for (k, v) in params {
        form.append_pair(k, v);
    }
    let parsed = QueryParams::parse(form.finish().as_bytes());
    idpool_wire::validate::validate_query(idpool_wire::query::QueryService::Iam, action, &parsed)
        .map_err(|e| e.to_string())?;
    idpool_core::iam::handle(core, action, &parsed, "startup")
        .await
        .map_err(|e| e.to_string())
}

async fn apply_role(core: &Core, r: &RoleDecl) -> Result<(), String> {
    let exists = idpool_core::iam::get_role(core, &r.name)
        .await
        .map_err(|e| e.to_string())?;
    if exists.is_some() {
        iam(
            core,
            "UpdateAssumeRolePolicy",
            &[
                ("RoleName", &r.name),
                ("PolicyDocument", &r.assume_role_policy),
            ],
        )
        .await?;
    } else {
        let duration = r.max_session_duration.map(|d| d.to_string());
        let mut params = vec![
            ("RoleName", r.name.as_str()),
            ("AssumeRolePolicyDocument", r.assume_role_policy.as_str()),
        ];
        if let Some(p) = &r.path {
            params.push(("Path", p));
        }
        if let Some(d) = &r.description {
            params.push(("Description", d));
        }
        if let Some(d) = &duration {
            params.push(("MaxSessionDuration", d));
        }
        iam(core, "CreateRole", &params).await?;
    }
    for (name, doc) in &r.policies {
        iam(
            core,
            "PutRolePolicy",
            &[
                ("RoleName", &r.name),
                ("PolicyName", name),
                ("PolicyDocument", doc),
            ],
        )
        .await?;
    }
    Ok(())
}

async fn apply_oidc(core: &Core, p: &OidcProviderDecl) -> Result<(), String> {
    let mut params: Vec<(String, String)> = vec![("Url".into(), p.url.clone())];
    for (i, c) in p.client_ids.iter().enumerate() {
        params.push((format!("ClientIDList.member.{}", i + 1), c.clone()));
    }
    for (i, t) in p.thumbprints.iter().enumerate() {
        params.push((format!("ThumbprintList.member.{}", i + 1), t.clone()));
    }
    let borrowed: Vec<(&str, &str)> = params
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    match iam(core, "CreateOpenIDConnectProvider", &borrowed).await {
        Ok(_) => Ok(()),
        Err(e) if e.starts_with("EntityAlreadyExists") => Ok(()),
        Err(e) => Err(e),
    }
}

async fn apply_saml(core: &Core, p: &SamlProviderDecl) -> Result<(), String> {
    let metadata = match (&p.metadata, &p.metadata_file) {
        (Some(text), None) => text.clone(),
        (None, Some(path)) => std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?,
        _ => return Err("give exactly one of metadata and metadata_file".into()),
    };
    match iam(
        core,
        "CreateSAMLProvider",
        &[("Name", &p.name), ("SAMLMetadataDocument", &metadata)],
    )
    .await
    {
        Ok(_) => Ok(()),
        Err(e) if e.starts_with("EntityAlreadyExists") => {
            // The file is the source of truth: a changed certificate replaces the stored one.
            let arn = format!("arn:aws:iam::{}:saml-provider/{}", core.account_id, p.name);
            iam(
                core,
                "UpdateSAMLProvider",
                &[
                    ("SAMLProviderArn", &arn),
                    ("SAMLMetadataDocument", &metadata),
                ],
            )
            .await
            .map(|_| ())
        }
        Err(e) => Err(e),
    }
}

/// The `RoleMappings` wire object of the declared mappings.
fn role_mappings_json(mappings: &BTreeMap<String, RoleMappingDecl>) -> Value {
    let mut out = serde_json::Map::new();
    for (provider, m) in mappings {
        let mut o = serde_json::Map::new();
        o.insert("Type".into(), m.kind.clone().into());
        if let Some(a) = &m.ambiguous_role_resolution {
            o.insert("AmbiguousRoleResolution".into(), a.clone().into());
        }
        if !m.rules.is_empty() {
            let rules: Vec<Value> = m
                .rules
                .iter()
                .map(|r| {
                    json!({"Claim": r.claim, "MatchType": r.match_type,
                           "Value": r.value, "RoleARN": r.role_arn})
                })
                .collect();
            o.insert("RulesConfiguration".into(), json!({ "Rules": rules }));
        }
        out.insert(provider.clone(), Value::Object(o));
    }
    Value::Object(out)
}

async fn apply_pool(core: &Core, p: &PoolDecl) -> Result<String, String> {
    let mut body = json!({
        "IdentityPoolName": p.name,
        "AllowUnauthenticatedIdentities": p.allow_unauthenticated,
    });
    let obj = body.as_object_mut().ok_or("internal")?;
    if let Some(v) = p.allow_classic_flow {
        obj.insert("AllowClassicFlow".into(), v.into());
    }
    if let Some(v) = &p.developer_provider_name {
        obj.insert("DeveloperProviderName".into(), v.clone().into());
    }
    if !p.supported_login_providers.is_empty() {
        obj.insert(
            "SupportedLoginProviders".into(),
            json!(p.supported_login_providers),
        );
    }
    if !p.open_id_connect_provider_arns.is_empty() {
        obj.insert(
            "OpenIdConnectProviderARNs".into(),
            json!(p.open_id_connect_provider_arns),
        );
    }
    if !p.saml_provider_arns.is_empty() {
        obj.insert("SamlProviderARNs".into(), json!(p.saml_provider_arns));
    }
    if !p.cognito_identity_providers.is_empty() {
        let list: Vec<Value> = p
            .cognito_identity_providers
            .iter()
            .map(|m| {
                let mut o = serde_json::Map::new();
                for (k, v) in m {
                    let key = match k.as_str() {
                        "provider_name" => "ProviderName",
                        "client_id" => "ClientId",
                        "server_side_token_check" => "ServerSideTokenCheck",
                        other => other,
                    };
                    o.insert(key.into(), serde_json::to_value(v).unwrap_or(Value::Null));
                }
                Value::Object(o)
            })
            .collect();
        obj.insert("CognitoIdentityProviders".into(), Value::Array(list));
    }
    if !p.tags.is_empty() {
        obj.insert("IdentityPoolTags".into(), json!(p.tags));
    }

    let existing = find_pool(core, p).await?;
    let id = match existing {
        Some(id) => {
            obj.insert("IdentityPoolId".into(), id.clone().into());
            cognito(core, CognitoOp::UpdateIdentityPool, body).await?;
            id
        }
        None => {
            let created = match &p.id {
                Some(fixed) => create_with_id(core, fixed, body).await?,
                None => cognito(core, CognitoOp::CreateIdentityPool, body).await?,
            };
            created["IdentityPoolId"]
                .as_str()
                .ok_or("no pool id returned")?
                .to_string()
        }
    };
    if !p.roles.is_empty() || !p.role_mappings.is_empty() {
        let mut body = json!({"IdentityPoolId": id, "Roles": p.roles});
        if !p.role_mappings.is_empty() {
            body["RoleMappings"] = role_mappings_json(&p.role_mappings);
        }
        cognito(core, CognitoOp::SetIdentityPoolRoles, body).await?;
    }
    for (provider, t) in &p.principal_tags {
        let mut body = json!({
            "IdentityPoolId": id,
            "IdentityProviderName": provider,
            "PrincipalTags": t.tags,
        });
        if let Some(d) = t.use_defaults {
            body["UseDefaults"] = d.into();
        }
        cognito(core, CognitoOp::SetPrincipalTagAttributeMap, body).await?;
    }
    Ok(id)
}

async fn find_pool(core: &Core, p: &PoolDecl) -> Result<Option<String>, String> {
    if let Some(id) = &p.id {
        let found = core.store.get_pool(id).await.map_err(|e| e.to_string())?;
        return Ok(found.map(|r| r.id));
    }
    let mut after: Option<String> = None;
    loop {
        let page = core
            .store
            .list_pools(after.as_deref(), 60)
            .await
            .map_err(|e| e.to_string())?;
        if let Some(hit) = page.iter().find(|s| s.name == p.name) {
            return Ok(Some(hit.id.clone()));
        }
        match page.last() {
            Some(last) if page.len() == 60 => after = Some(last.id.clone()),
            _ => return Ok(None),
        }
    }
}

/// Creates the pool, then gives it the declared id by rewriting the fresh row.
async fn create_with_id(core: &Core, fixed: &str, body: Value) -> Result<Value, String> {
    let ok = fixed.split_once(':').is_some_and(|(r, u)| {
        r == core.region && uuid::Uuid::parse_str(u).is_ok() && u == u.to_lowercase()
    });
    if !ok {
        return Err(format!(
            "id '{fixed}' must be {}:<lower-case uuid>",
            core.region
        ));
    }
    let created = cognito(core, CognitoOp::CreateIdentityPool, body).await?;
    let tmp = created["IdentityPoolId"]
        .as_str()
        .ok_or("no pool id returned")?;
    let mut row = core
        .store
        .get_pool(tmp)
        .await
        .map_err(|e| e.to_string())?
        .ok_or("vanished")?;
    row.id = fixed.to_string();
    core.store
        .insert_pool(&row, u64::MAX)
        .await
        .map_err(|e| e.to_string())?;
    core.store
        .delete_pool(tmp)
        .await
        .map_err(|e| e.to_string())?;
    let pool = idpool_core::cognito::model::Pool::from_row(row).map_err(|e| e.to_string())?;
    Ok(pool.to_wire())
}

async fn cognito(core: &Core, op: CognitoOp, body: Value) -> Result<Value, String> {
    idpool_wire::validate::validate_cognito(op, &body).map_err(|e| e.to_string())?;
    idpool_core::cognito::dispatch(core, op, body)
        .await
        .map_err(|e| e.to_wire().to_string())
}
