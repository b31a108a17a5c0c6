//! IAM roles, their trust policies, tags and inline policies: the role actions of IAM 2010-05-08 (spec §3.1 role ARNs, §4.4).

use idpool_store::{RoleRow, StoreError, iam_name_key};
use idpool_wire::query::QueryParams;
use idpool_wire::xml::XmlWriter;
use serde::{Deserialize, Serialize};

use super::xml::{
    iso_date, string_list, tag_list, truncation, url_encoded, with_result, without_result,
};
use super::{IamError, StoredTag};
use crate::Core;
use crate::policy::{PolicyKind, parse_policy};

/// Shortest and longest session a role may allow, in seconds.
const MIN_SESSION: u32 = 3600;
const MAX_SESSION: u32 = 43_200;
/// Non-white-space characters a trust policy may have (quota ACLSizePerRole).
const TRUST_POLICY_QUOTA: usize = 2048;
/// Non-white-space characters all of a role's inline policies may have together.
const ROLE_POLICY_QUOTA: usize = 10_240;

/// A role as the rest of idpool sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Role {
    pub name: String,
    /// `AROA` + 17 characters.
    pub id: String,
    pub arn: String,
    pub path: String,
    /// The trust policy, exactly as it was sent.
    pub assume_role_policy_document: String,
    pub description: Option<String>,
    pub max_session_duration: u32,
    /// The ARN of the managed policy given as permissions boundary; recorded, not enforced.
    pub permissions_boundary: Option<String>,
    pub created_ms: i64,
    pub tags: Vec<(String, String)>,
}

/// What CreateRole takes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CreateRoleInput {
    pub name: String,
    /// `/` when absent.
    pub path: Option<String>,
    pub assume_role_policy_document: String,
    pub description: Option<String>,
    /// 3,600 when absent.
    pub max_session_duration: Option<u32>,
    pub permissions_boundary: Option<String>,
    pub tags: Vec<(String, String)>,
}

/// The JSON `document` of a stored role.
#[derive(Debug, Serialize, Deserialize)]
struct RoleDocument {
    path: String,
    arn: String,
    assume_role_policy_document: String,
    #[serde(default)]
    description: Option<String>,
    max_session_duration: u32,
    #[serde(default)]
    permissions_boundary: Option<String>,
    #[serde(default)]
    tags: Vec<StoredTag>,
}

impl Role {
    fn from_row(row: RoleRow) -> Result<Role, IamError> {
        let doc: RoleDocument = super::decode_document(&row.document)?;
        Ok(Role {
            name: row.name,
            id: row.id,
            arn: doc.arn,
            path: doc.path,
            assume_role_policy_document: doc.assume_role_policy_document,
            description: doc.description,
            max_session_duration: doc.max_session_duration,
            permissions_boundary: doc.permissions_boundary,
            created_ms: row.created_ms,
            tags: super::load_tags(doc.tags),
        })
    }

    fn to_row(&self) -> Result<RoleRow, IamError> {
        let doc = RoleDocument {
            path: self.path.clone(),
            arn: self.arn.clone(),
            assume_role_policy_document: self.assume_role_policy_document.clone(),
            description: self.description.clone(),
            max_session_duration: self.max_session_duration,
            permissions_boundary: self.permissions_boundary.clone(),
            tags: super::store_tags(&self.tags),
        };
        Ok(RoleRow {
            name: self.name.clone(),
            id: self.id.clone(),
            created_ms: self.created_ms,
            document: super::encode_document(&doc)?,
        })
    }
}

/// Creates a role after the checks IAM makes: name and path syntax, session length, tags,
/// trust policy grammar and size, and a name not taken in any case.
pub async fn create_role(core: &Core, input: CreateRoleInput) -> Result<Role, IamError> {
    check_role_name(&input.name)?;
    let path = input.path.unwrap_or_else(|| "/".to_string());
    check_path(&path)?;
    let max_session_duration = input.max_session_duration.unwrap_or(MIN_SESSION);
    check_session_duration(max_session_duration)?;
    super::check_new_tags(&input.tags)?;
    check_trust_policy(&input.assume_role_policy_document)?;

    let role = Role {
        arn: format!(
            "arn:{}:iam::{}:role{}{}",
            crate::partition(&core.region),
            core.account_id,
            path,
            input.name
        ),
        id: format!("AROA{}", super::random_id(17)?),
        name: input.name,
        path,
        assume_role_policy_document: input.assume_role_policy_document,
        description: input.description.filter(|d| !d.is_empty()),
        max_session_duration,
        permissions_boundary: input.permissions_boundary,
        created_ms: core.clock.now_ms(),
        tags: input.tags,
    };
    match core.store.insert_role(&role.to_row()?).await {
        Ok(()) => Ok(role),
        Err(StoreError::Conflict) => Err(IamError::EntityAlreadyExists(format!(
            "Role with name {} already exists.",
            role.name
        ))),
        Err(e) => Err(e.into()),
    }
}

/// The role of that name (without regard to case), if any.
pub async fn get_role(core: &Core, name: &str) -> Result<Option<Role>, IamError> {
    core.store
        .get_role(name)
        .await?
        .map(Role::from_row)
        .transpose()
}

/// The role an ARN names, if its account, path and name all match exactly.
pub async fn find_role_by_arn(core: &Core, arn: &str) -> Result<Option<Role>, IamError> {
    let mut parts = arn.splitn(6, ':');
    let (Some("arn"), Some(_partition), Some("iam"), Some(""), Some(_account), Some(resource)) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return Ok(None);
    };
    let Some(name) = resource
        .strip_prefix("role/")
        .and_then(|r| r.rsplit('/').next())
        .filter(|n| !n.is_empty())
    else {
        return Ok(None);
    };
    Ok(get_role(core, name).await?.filter(|role| role.arn == arn))
}

/// Creates or replaces an inline policy after checking its grammar and the role's size quota.
pub async fn put_role_policy(
    core: &Core,
    role: &str,
    name: &str,
    document: &str,
) -> Result<(), IamError> {
    let role = existing_role(core, role).await?;
    parse_policy(document, PolicyKind::Identity)
        .map_err(|e| IamError::MalformedPolicyDocument(e.message().to_string()))?;
    let mut total = super::policy_size(document);
    for (other, text) in list_role_policy_documents(core, &role.name).await? {
        if other != name {
            total += super::policy_size(&text);
        }
    }
    if total > ROLE_POLICY_QUOTA {
        return Err(IamError::LimitExceeded(format!(
            "Maximum policy size of {ROLE_POLICY_QUOTA} bytes exceeded for role {}",
            role.name
        )));
    }
    match core.store.put_role_policy(&role.name, name, document).await {
        Err(StoreError::NotFound) => Err(IamError::role_not_found(&role.name)),
        other => Ok(other?),
    }
}

/// Every inline policy of a role as (name, document), for evaluation.
pub async fn list_role_policy_documents(
    core: &Core,
    role: &str,
) -> Result<Vec<(String, String)>, IamError> {
    let names = match core.store.list_role_policies(role).await {
        Err(StoreError::NotFound) => return Err(IamError::role_not_found(role)),
        other => other?,
    };
    let mut out = Vec::with_capacity(names.len());
    for name in names {
        // A policy deleted between the two reads is simply no longer there.
        if let Some(doc) = core.store.get_role_policy(role, &name).await? {
            out.push((name, doc));
        }
    }
    Ok(out)
}

async fn existing_role(core: &Core, name: &str) -> Result<Role, IamError> {
    get_role(core, name)
        .await?
        .ok_or_else(|| IamError::role_not_found(name))
}

async fn save_role(core: &Core, role: &Role) -> Result<(), IamError> {
    match core.store.update_role(&role.to_row()?).await {
        Err(StoreError::NotFound) => Err(IamError::role_not_found(&role.name)),
        other => Ok(other?),
    }
}

fn pattern_error(value: &str, member: &str, pattern: &str) -> IamError {
    IamError::Validation(format!(
        "1 validation error detected: Value '{value}' at '{member}' failed to satisfy \
         constraint: Member must satisfy regular expression pattern: {pattern}"
    ))
}

fn check_role_name(name: &str) -> Result<(), IamError> {
    let allowed =
        |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '+' | '=' | ',' | '.' | '@' | '-');
    if name.is_empty() || !name.chars().all(allowed) {
        return Err(pattern_error(name, "roleName", "[\\w+=,.@-]+"));
    }
    if name.len() > 64 {
        return Err(IamError::Validation(format!(
            "1 validation error detected: Value '{name}' at 'roleName' failed to satisfy \
             constraint: Member must have length less than or equal to 64"
        )));
    }
    Ok(())
}

fn check_path(path: &str) -> Result<(), IamError> {
    let well_formed = path == "/"
        || (path.len() >= 3
            && path.starts_with('/')
            && path.ends_with('/')
            && path.bytes().all(|b| (0x21..=0x7e).contains(&b)));
    if !well_formed || path.len() > 512 {
        return Err(pattern_error(
            path,
            "path",
            "(\\u002F)|(\\u002F[\\u0021-\\u007E]+\\u002F)",
        ));
    }
    Ok(())
}

fn check_session_duration(seconds: u32) -> Result<(), IamError> {
    let bound = if seconds < MIN_SESSION {
        format!("greater than or equal to {MIN_SESSION}")
    } else if seconds > MAX_SESSION {
        format!("less than or equal to {MAX_SESSION}")
    } else {
        return Ok(());
    };
    Err(IamError::Validation(format!(
        "1 validation error detected: Value '{seconds}' at 'maxSessionDuration' failed to \
         satisfy constraint: Member must have value {bound}"
    )))
}

fn check_trust_policy(document: &str) -> Result<(), IamError> {
    parse_policy(document, PolicyKind::Trust)
        .map_err(|e| IamError::MalformedPolicyDocument(e.message().to_string()))?;
    if super::policy_size(document) > TRUST_POLICY_QUOTA {
        return Err(IamError::LimitExceeded(format!(
            "Cannot exceed quota for ACLSizePerRole: {TRUST_POLICY_QUOTA}"
        )));
    }
    Ok(())
}

/// Which members a `<Role>` element carries: IAM shows less on create and in lists.
#[derive(Clone, Copy, PartialEq, Eq)]
enum RoleView {
    Created,
    Full,
    Listed,
}

fn write_role(w: &mut XmlWriter, element: &str, role: &Role, view: RoleView) {
    w.open(element);
    w.leaf("Path", &role.path);
    w.leaf("RoleName", &role.name);
    w.leaf("RoleId", &role.id);
    w.leaf("Arn", &role.arn);
    w.leaf("CreateDate", &iso_date(role.created_ms));
    w.leaf(
        "AssumeRolePolicyDocument",
        &url_encoded(&role.assume_role_policy_document),
    );
    if view != RoleView::Created {
        w.opt_leaf("Description", role.description.as_deref());
        w.leaf("MaxSessionDuration", &role.max_session_duration.to_string());
    }
    if view != RoleView::Listed {
        if let Some(boundary) = &role.permissions_boundary {
            w.open("PermissionsBoundary");
            w.leaf("PermissionsBoundaryType", "PermissionsBoundaryPolicy");
            w.leaf("PermissionsBoundaryArn", boundary);
            w.close("PermissionsBoundary");
        }
        if !role.tags.is_empty() {
            tag_list(w, &role.tags);
        }
    }
    if view == RoleView::Full {
        // Never used: idpool does not track last use, and IAM then sends an empty element.
        w.open("RoleLastUsed");
        w.close("RoleLastUsed");
    }
    w.close(element);
}

pub(super) async fn create_role_action(
    core: &Core,
    params: &QueryParams,
    request_id: &str,
) -> Result<String, IamError> {
    let input = CreateRoleInput {
        name: super::required(params, "RoleName")?.to_string(),
        path: params.get("Path").map(str::to_string),
        assume_role_policy_document: super::required(params, "AssumeRolePolicyDocument")?
            .to_string(),
        description: params.get("Description").map(str::to_string),
        max_session_duration: super::optional_u32(params, "MaxSessionDuration")?,
        permissions_boundary: params.get("PermissionsBoundary").map(str::to_string),
        tags: super::tags_param(params)?,
    };
    let role = create_role(core, input).await?;
    Ok(with_result("CreateRole", request_id, |w| {
        write_role(w, "Role", &role, RoleView::Created);
    }))
}

pub(super) async fn get_role_action(
    core: &Core,
    params: &QueryParams,
    request_id: &str,
) -> Result<String, IamError> {
    let role = existing_role(core, super::required(params, "RoleName")?).await?;
    Ok(with_result("GetRole", request_id, |w| {
        write_role(w, "Role", &role, RoleView::Full)
    }))
}

pub(super) async fn list_roles_action(
    core: &Core,
    params: &QueryParams,
    request_id: &str,
) -> Result<String, IamError> {
    let prefix = params.get("PathPrefix").unwrap_or("/");
    let max = super::max_items(params)?;
    let mut roles = Vec::new();
    for row in core.store.list_roles().await? {
        let role = Role::from_row(row)?;
        if role.path.starts_with(prefix) {
            roles.push(role);
        }
    }
    roles.sort_by_cached_key(|r| iam_name_key(&r.name));
    let (page, next) =
        super::paginate(roles, |r| iam_name_key(&r.name), params.get("Marker"), max)?;
    Ok(with_result("ListRoles", request_id, |w| {
        w.open("Roles");
        for role in &page {
            write_role(w, "member", role, RoleView::Listed);
        }
        w.close("Roles");
        truncation(w, next.as_deref());
    }))
}

pub(super) async fn update_role_action(
    core: &Core,
    params: &QueryParams,
    request_id: &str,
) -> Result<String, IamError> {
    let mut role = existing_role(core, super::required(params, "RoleName")?).await?;
    if let Some(seconds) = super::optional_u32(params, "MaxSessionDuration")? {
        check_session_duration(seconds)?;
        role.max_session_duration = seconds;
    }
    if let Some(description) = params.get("Description") {
        role.description = Some(description.to_string()).filter(|d| !d.is_empty());
    }
    save_role(core, &role).await?;
    Ok(with_result("UpdateRole", request_id, |_| {}))
}

pub(super) async fn update_trust_action(
    core: &Core,
    params: &QueryParams,
    request_id: &str,
) -> Result<String, IamError> {
    let name = super::required(params, "RoleName")?;
    let document = super::required(params, "PolicyDocument")?;
    let mut role = existing_role(core, name).await?;
    check_trust_policy(document)?;
    role.assume_role_policy_document = document.to_string();
    save_role(core, &role).await?;
    Ok(without_result("UpdateAssumeRolePolicy", request_id))
}

pub(super) async fn delete_role_action(
    core: &Core,
    params: &QueryParams,
    request_id: &str,
) -> Result<String, IamError> {
    let name = super::required(params, "RoleName")?;
    match core.store.delete_role(name).await {
        Ok(()) => Ok(without_result("DeleteRole", request_id)),
        Err(StoreError::NotFound) => Err(IamError::role_not_found(name)),
        Err(StoreError::HasDependents) => Err(IamError::DeleteConflict(
            "Cannot delete entity, must delete policies first.".into(),
        )),
        Err(e) => Err(e.into()),
    }
}

pub(super) async fn put_role_policy_action(
    core: &Core,
    params: &QueryParams,
    request_id: &str,
) -> Result<String, IamError> {
    let role = super::required(params, "RoleName")?;
    let name = super::required(params, "PolicyName")?;
    let document = super::required(params, "PolicyDocument")?;
    put_role_policy(core, role, name, document).await?;
    Ok(without_result("PutRolePolicy", request_id))
}

pub(super) async fn get_role_policy_action(
    core: &Core,
    params: &QueryParams,
    request_id: &str,
) -> Result<String, IamError> {
    let role = existing_role(core, super::required(params, "RoleName")?).await?;
    let name = super::required(params, "PolicyName")?;
    let document = core
        .store
        .get_role_policy(&role.name, name)
        .await?
        .ok_or_else(|| IamError::role_policy_not_found(name))?;
    Ok(with_result("GetRolePolicy", request_id, |w| {
        w.leaf("RoleName", &role.name);
        w.leaf("PolicyName", name);
        w.leaf("PolicyDocument", &url_encoded(&document));
    }))
}

pub(super) async fn list_role_policies_action(
    core: &Core,
    params: &QueryParams,
    request_id: &str,
) -> Result<String, IamError> {
    let role = super::required(params, "RoleName")?;
    let max = super::max_items(params)?;
    let mut names = match core.store.list_role_policies(role).await {
        Err(StoreError::NotFound) => return Err(IamError::role_not_found(role)),
        other => other?,
    };
    names.sort();
    let (page, next) = super::paginate(names, String::clone, params.get("Marker"), max)?;
    Ok(with_result("ListRolePolicies", request_id, |w| {
        string_list(w, "PolicyNames", &page);
        truncation(w, next.as_deref());
    }))
}

pub(super) async fn delete_role_policy_action(
    core: &Core,
    params: &QueryParams,
    request_id: &str,
) -> Result<String, IamError> {
    let role = existing_role(core, super::required(params, "RoleName")?).await?;
    let name = super::required(params, "PolicyName")?;
    match core.store.delete_role_policy(&role.name, name).await {
        Ok(()) => Ok(without_result("DeleteRolePolicy", request_id)),
        Err(StoreError::NotFound) => Err(IamError::role_policy_not_found(name)),
        Err(e) => Err(e.into()),
    }
}

pub(super) async fn tag_role_action(
    core: &Core,
    params: &QueryParams,
    request_id: &str,
) -> Result<String, IamError> {
    let name = super::required(params, "RoleName")?;
    if params.struct_list("Tags").is_none() && params.get("Tags").is_none() {
        return Err(IamError::missing("Tags"));
    }
    let tags = super::tags_param(params)?;
    let mut role = existing_role(core, name).await?;
    super::merge_tags(&mut role.tags, tags)?;
    save_role(core, &role).await?;
    Ok(without_result("TagRole", request_id))
}

pub(super) async fn untag_role_action(
    core: &Core,
    params: &QueryParams,
    request_id: &str,
) -> Result<String, IamError> {
    let name = super::required(params, "RoleName")?;
    let keys = params
        .list("TagKeys")
        .ok_or_else(|| IamError::missing("TagKeys"))?;
    let mut role = existing_role(core, name).await?;
    super::remove_tags(&mut role.tags, &keys);
    save_role(core, &role).await?;
    Ok(without_result("UntagRole", request_id))
}

pub(super) async fn list_role_tags_action(
    core: &Core,
    params: &QueryParams,
    request_id: &str,
) -> Result<String, IamError> {
    let role = existing_role(core, super::required(params, "RoleName")?).await?;
    let max = super::max_items(params)?;
    let mut tags = role.tags;
    // Keys are unique under ASCII case folding (see `merge_tags`), so they order and page by it.
    tags.sort_by_cached_key(|(k, _)| iam_name_key(k));
    let (page, next) = super::paginate(tags, |(k, _)| iam_name_key(k), params.get("Marker"), max)?;
    Ok(with_result("ListRoleTags", request_id, |w| {
        tag_list(w, &page);
        truncation(w, next.as_deref());
    }))
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use super::*;

    const TRUST: &str = "{\"Version\": \"2012-10-17\",\n  \"Statement\": [{\"Effect\": \"Allow\", \
        \"Principal\": {\"Federated\": \"cognito-identity.amazonaws.com\"}, \
        \"Action\": \"sts:AssumeRoleWithWebIdentity\"}]}";
    const POLICY: &str = "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\
        \"Action\":\"s3:GetObject\",\"Resource\":\"arn:aws:s3:::bucket/*\"}]}";

    async fn make(core: &Core, name: &str) -> String {
        ok(
            core,
            "CreateRole",
            &[("RoleName", name), ("AssumeRolePolicyDocument", TRUST)],
        )
        .await
    }

    #[tokio::test]
    async fn create_role_answers_with_the_created_shape() {
        let core = core().await;
        let body = ok(
            &core,
            "CreateRole",
            &[
                ("RoleName", "Cognito_Auth"),
                ("Path", "/service-role/"),
                ("AssumeRolePolicyDocument", TRUST),
                ("Description", "for <signed-in> users"),
                ("MaxSessionDuration", "7200"),
                (
                    "PermissionsBoundary",
                    "arn:aws:iam::123456789012:policy/boundary",
                ),
                ("Tags.member.1.Key", "team"),
                ("Tags.member.1.Value", "id"),
            ],
        )
        .await;
        assert!(body.starts_with(
            "<CreateRoleResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\">\
             <CreateRoleResult><Role><Path>/service-role/</Path><RoleName>Cognito_Auth</RoleName>"
        ));
        assert!(body.ends_with(
            "</Role></CreateRoleResult><ResponseMetadata><RequestId>req-1</RequestId>\
             </ResponseMetadata></CreateRoleResponse>"
        ));
        let id = text(&body, "RoleId").unwrap();
        assert!(id.starts_with("AROA") && id.len() == 21, "{id}");
        assert_eq!(
            text(&body, "Arn"),
            Some("arn:aws:iam::123456789012:role/service-role/Cognito_Auth")
        );
        assert_eq!(text(&body, "CreateDate"), Some("2026-11-26T09:17:41Z"));
        assert_eq!(
            url_decode(text(&body, "AssumeRolePolicyDocument").unwrap()),
            TRUST
        );
        assert_eq!(
            text(&body, "PermissionsBoundaryType"),
            Some("PermissionsBoundaryPolicy")
        );
        assert_eq!(text(&body, "Key"), Some("team"));
        // AWS leaves these out of CreateRole's answer.
        assert!(!body.contains("<Description>") && !body.contains("<MaxSessionDuration>"));
        assert!(!body.contains("RoleLastUsed"));

        let role = get_role(&core, "cognito_auth").await.unwrap().unwrap();
        assert_eq!(role.description.as_deref(), Some("for <signed-in> users"));
        assert_eq!(role.max_session_duration, 7200);
        assert_eq!(role.id, id);
        assert_eq!(role.assume_role_policy_document, TRUST);
    }

    #[tokio::test]
    async fn get_role_shows_everything_and_documents_url_encoded() {
        let core = core().await;
        make(&core, "reader").await;
        let body = ok(&core, "GetRole", &[("RoleName", "READER")]).await;
        assert!(body.contains("<GetRoleResult><Role><Path>/</Path><RoleName>reader</RoleName>"));
        let encoded = text(&body, "AssumeRolePolicyDocument").unwrap();
        assert!(encoded.starts_with("%7B%22Version%22%3A%20%222012-10-17%22%2C%0A%20%20"));
        assert_eq!(url_decode(encoded), TRUST);
        assert_eq!(text(&body, "MaxSessionDuration"), Some("3600"));
        assert!(body.contains("<RoleLastUsed></RoleLastUsed>"));
        assert!(!body.contains("<Description>") && !body.contains("<Tags>"));

        let (code, status, message) = fails(&core, "GetRole", &[("RoleName", "nope")]).await;
        assert_eq!((code.as_str(), status), ("NoSuchEntity", 404));
        assert_eq!(message, "The role with name nope cannot be found.");
    }

    #[tokio::test]
    async fn names_conflict_without_regard_to_case() {
        let core = core().await;
        make(&core, "Admin").await;
        let (code, status, message) = fails(
            &core,
            "CreateRole",
            &[("RoleName", "ADMIN"), ("AssumeRolePolicyDocument", TRUST)],
        )
        .await;
        assert_eq!((code.as_str(), status), ("EntityAlreadyExists", 409));
        assert_eq!(message, "Role with name ADMIN already exists.");
    }

    #[tokio::test]
    async fn create_role_refuses_bad_input() {
        let core = core().await;
        type Case<'a> = (&'a [(&'a str, &'a str)], &'a str, u16);
        let cases: [Case; 7] = [
            (
                &[("RoleName", "r"), ("AssumeRolePolicyDocument", "{nope")],
                "MalformedPolicyDocument",
                400,
            ),
            (
                &[
                    ("RoleName", "r"),
                    ("AssumeRolePolicyDocument", TRUST),
                    ("MaxSessionDuration", "100"),
                ],
                "ValidationError",
                400,
            ),
            (
                &[
                    ("RoleName", "r"),
                    ("AssumeRolePolicyDocument", TRUST),
                    ("MaxSessionDuration", "43201"),
                ],
                "ValidationError",
                400,
            ),
            (
                &[
                    ("RoleName", "r"),
                    ("AssumeRolePolicyDocument", TRUST),
                    ("Path", "nopath"),
                ],
                "ValidationError",
                400,
            ),
            (
                &[
                    ("RoleName", "bad name"),
                    ("AssumeRolePolicyDocument", TRUST),
                ],
                "ValidationError",
                400,
            ),
            (&[("RoleName", "r")], "ValidationError", 400),
            (
                &[
                    ("RoleName", "r"),
                    ("AssumeRolePolicyDocument", TRUST),
                    ("Tags.member.1.Key", "a"),
                    ("Tags.member.1.Value", "1"),
                    ("Tags.member.2.Key", "A"),
                    ("Tags.member.2.Value", "2"),
                ],
                "InvalidInput",
                400,
            ),
        ];
        for (pairs, want, status) in cases {
            let (code, got_status, message) = fails(&core, "CreateRole", pairs).await;
            assert_eq!(
                (code.as_str(), got_status),
                (want, status),
                "{pairs:?}: {message}"
            );
        }
        assert!(get_role(&core, "r").await.unwrap().is_none());

        let padded = format!("{}{}", TRUST.trim_end_matches('}'), " ".repeat(3000) + "}");
        make_with(&core, "spacious", &padded).await;
        let big = TRUST.replace(
            "cognito-identity.amazonaws.com",
            &format!("{}.amazonaws.com", "a".repeat(2100)),
        );
        let (code, status, message) = fails(
            &core,
            "CreateRole",
            &[("RoleName", "big"), ("AssumeRolePolicyDocument", &big)],
        )
        .await;
        assert_eq!((code.as_str(), status), ("LimitExceeded", 409), "{message}");
        assert_eq!(message, "Cannot exceed quota for ACLSizePerRole: 2048");
    }

    async fn make_with(core: &Core, name: &str, trust: &str) {
        ok(
            core,
            "CreateRole",
            &[("RoleName", name), ("AssumeRolePolicyDocument", trust)],
        )
        .await;
    }

    #[tokio::test]
    async fn list_roles_pages_through_every_role_once() {
        let core = core().await;
        let mut names: Vec<String> = (0..23).map(|i| format!("role-{i:02}")).collect();
        names.push("Zeta".into());
        names.push("alpha".into());
        for name in &names {
            make(&core, name).await;
        }
        ok(
            &core,
            "CreateRole",
            &[
                ("RoleName", "pathed"),
                ("Path", "/app/"),
                ("AssumeRolePolicyDocument", TRUST),
            ],
        )
        .await;
        names.push("pathed".into());

        let mut seen = Vec::new();
        let mut marker: Option<String> = None;
        let mut pages = 0;
        loop {
            let mut pairs = vec![("MaxItems", "7")];
            if let Some(m) = &marker {
                pairs.push(("Marker", m));
            }
            let body = ok(&core, "ListRoles", &pairs).await;
            pages += 1;
            let page = all(&body, "RoleName");
            assert!(page.len() <= 7);
            seen.extend(page.iter().map(|s| s.to_string()));
            // Lists leave out tags, boundary and last use, as IAM does.
            assert!(!body.contains("RoleLastUsed"));
            match text(&body, "IsTruncated") {
                Some("true") => marker = Some(text(&body, "Marker").unwrap().to_string()),
                Some("false") => {
                    assert!(text(&body, "Marker").is_none());
                    break;
                }
                other => panic!("IsTruncated {other:?}"),
            }
        }
        assert_eq!(pages, 4);
        let mut expected = names.clone();
        expected.sort_by_key(|n| n.to_lowercase());
        assert_eq!(seen, expected, "every role exactly once, in name order");

        let body = ok(&core, "ListRoles", &[("PathPrefix", "/app/")]).await;
        assert_eq!(all(&body, "RoleName"), ["pathed"]);
        assert_eq!(text(&body, "MaxSessionDuration"), Some("3600"));
        let (code, ..) = fails(&core, "ListRoles", &[("Marker", "not-a-marker")]).await;
        assert_eq!(code, "ValidationError");
        let (code, ..) = fails(&core, "ListRoles", &[("MaxItems", "0")]).await;
        assert_eq!(code, "ValidationError");
    }

    #[tokio::test]
    async fn update_role_and_trust_policy() {
        let core = core().await;
        make(&core, "r").await;
        let body = ok(
            &core,
            "UpdateRole",
            &[
                ("RoleName", "r"),
                ("Description", "new"),
                ("MaxSessionDuration", "43200"),
            ],
        )
        .await;
        assert!(body.contains("<UpdateRoleResult></UpdateRoleResult><ResponseMetadata>"));
        let role = get_role(&core, "r").await.unwrap().unwrap();
        assert_eq!(
            (role.description.as_deref(), role.max_session_duration),
            (Some("new"), 43200)
        );
        let (code, ..) = fails(
            &core,
            "UpdateRole",
            &[("RoleName", "r"), ("MaxSessionDuration", "1")],
        )
        .await;
        assert_eq!(code, "ValidationError");
        let (code, status, _) = fails(&core, "UpdateRole", &[("RoleName", "gone")]).await;
        assert_eq!((code.as_str(), status), ("NoSuchEntity", 404));

        let trust = TRUST.replace("2012-10-17", "2008-10-17");
        let body = ok(
            &core,
            "UpdateAssumeRolePolicy",
            &[("RoleName", "R"), ("PolicyDocument", &trust)],
        )
        .await;
        assert!(body.starts_with("<UpdateAssumeRolePolicyResponse xmlns="));
        assert!(!body.contains("Result"));
        let role = get_role(&core, "r").await.unwrap().unwrap();
        assert_eq!(role.assume_role_policy_document, trust);
        let (code, ..) = fails(
            &core,
            "UpdateAssumeRolePolicy",
            &[("RoleName", "r"), ("PolicyDocument", "[]")],
        )
        .await;
        assert_eq!(code, "MalformedPolicyDocument");
        let (code, ..) = fails(
            &core,
            "UpdateAssumeRolePolicy",
            &[("RoleName", "gone"), ("PolicyDocument", TRUST)],
        )
        .await;
        assert_eq!(code, "NoSuchEntity");
    }

    #[tokio::test]
    async fn inline_policies_round_trip_and_block_deletion() {
        let core = core().await;
        make(&core, "worker").await;
        let body = ok(
            &core,
            "PutRolePolicy",
            &[
                ("RoleName", "worker"),
                ("PolicyName", "read"),
                ("PolicyDocument", POLICY),
            ],
        )
        .await;
        assert!(body.starts_with("<PutRolePolicyResponse") && !body.contains("Result"));

        let body = ok(
            &core,
            "GetRolePolicy",
            &[("RoleName", "WORKER"), ("PolicyName", "read")],
        )
        .await;
        assert_eq!(text(&body, "RoleName"), Some("worker"));
        assert_eq!(text(&body, "PolicyName"), Some("read"));
        let encoded = text(&body, "PolicyDocument").unwrap();
        assert!(
            encoded.contains("arn%3Aaws%3As3%3A%3A%3Abucket%2F%2A"),
            "{encoded}"
        );
        assert_eq!(url_decode(encoded), POLICY);

        let (code, status, message) = fails(
            &core,
            "GetRolePolicy",
            &[("RoleName", "worker"), ("PolicyName", "other")],
        )
        .await;
        assert_eq!((code.as_str(), status), ("NoSuchEntity", 404));
        assert_eq!(message, "The role policy with name other cannot be found.");
        let (_, _, message) = fails(
            &core,
            "GetRolePolicy",
            &[("RoleName", "idle"), ("PolicyName", "read")],
        )
        .await;
        assert_eq!(message, "The role with name idle cannot be found.");

        let (code, status, message) = fails(&core, "DeleteRole", &[("RoleName", "worker")]).await;
        assert_eq!((code.as_str(), status), ("DeleteConflict", 409));
        assert_eq!(message, "Cannot delete entity, must delete policies first.");

        let (code, ..) = fails(
            &core,
            "PutRolePolicy",
            &[
                ("RoleName", "worker"),
                ("PolicyName", "bad"),
                ("PolicyDocument", "{"),
            ],
        )
        .await;
        assert_eq!(code, "MalformedPolicyDocument");
        let (code, _, message) = fails(
            &core,
            "PutRolePolicy",
            &[
                ("RoleName", "ghost"),
                ("PolicyName", "p"),
                ("PolicyDocument", POLICY),
            ],
        )
        .await;
        assert_eq!(
            (code.as_str(), message.as_str()),
            ("NoSuchEntity", "The role with name ghost cannot be found.")
        );

        let body = ok(
            &core,
            "DeleteRolePolicy",
            &[("RoleName", "worker"), ("PolicyName", "read")],
        )
        .await;
        assert!(body.starts_with("<DeleteRolePolicyResponse"));
        let (_, _, message) = fails(
            &core,
            "DeleteRolePolicy",
            &[("RoleName", "worker"), ("PolicyName", "read")],
        )
        .await;
        assert_eq!(message, "The role policy with name read cannot be found.");
        let body = ok(&core, "DeleteRole", &[("RoleName", "Worker")]).await;
        assert!(body.starts_with("<DeleteRoleResponse"));
        let (code, _, message) = fails(&core, "DeleteRole", &[("RoleName", "worker")]).await;
        assert_eq!(
            (code.as_str(), message.as_str()),
            ("NoSuchEntity", "The role with name worker cannot be found.")
        );
    }

    #[tokio::test]
    async fn inline_policies_list_in_pages_and_keep_to_the_size_quota() {
        let core = core().await;
        make(&core, "r").await;
        for name in ["c", "a", "b", "B"] {
            put_role_policy(&core, "r", name, POLICY).await.unwrap();
        }
        let body = ok(
            &core,
            "ListRolePolicies",
            &[("RoleName", "r"), ("MaxItems", "3")],
        )
        .await;
        assert_eq!(all(&body, "member"), ["B", "a", "b"]);
        assert_eq!(text(&body, "IsTruncated"), Some("true"));
        let marker = text(&body, "Marker").unwrap().to_string();
        let body = ok(
            &core,
            "ListRolePolicies",
            &[("RoleName", "r"), ("Marker", &marker)],
        )
        .await;
        assert_eq!(all(&body, "member"), ["c"]);
        assert_eq!(text(&body, "IsTruncated"), Some("false"));
        let (code, ..) = fails(&core, "ListRolePolicies", &[("RoleName", "x")]).await;
        assert_eq!(code, "NoSuchEntity");

        let docs = list_role_policy_documents(&core, "r").await.unwrap();
        assert_eq!(docs.len(), 4);
        assert!(docs.iter().all(|(_, d)| d == POLICY));

        let padding = format!("\"Sid\":\"{}\",", "x".repeat(9900));
        let huge = POLICY.replacen("\"Effect\"", &format!("{padding}\"Effect\""), 1);
        let err = put_role_policy(&core, "r", "huge", &huge)
            .await
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "Maximum policy size of 10240 bytes exceeded for role r"
        );
        assert!(matches!(err, IamError::LimitExceeded(_)));
        // Replacing a policy counts its new size, not the old one twice.
        put_role_policy(&core, "r", "a", POLICY).await.unwrap();
    }

    #[tokio::test]
    async fn tags_are_added_listed_and_removed() {
        let core = core().await;
        make(&core, "r").await;
        ok(
            &core,
            "TagRole",
            &[
                ("RoleName", "r"),
                ("Tags.member.1.Key", "team"),
                ("Tags.member.1.Value", "id"),
                ("Tags.member.2.Key", "Env"),
                ("Tags.member.2.Value", ""),
            ],
        )
        .await;
        ok(
            &core,
            "TagRole",
            &[
                ("RoleName", "r"),
                ("Tags.member.1.Key", "TEAM"),
                ("Tags.member.1.Value", "core"),
            ],
        )
        .await;
        let body = ok(&core, "ListRoleTags", &[("RoleName", "r")]).await;
        assert_eq!(all(&body, "Key"), ["Env", "TEAM"]);
        assert_eq!(all(&body, "Value"), ["", "core"]);
        assert_eq!(text(&body, "IsTruncated"), Some("false"));
        let body = ok(&core, "GetRole", &[("RoleName", "r")]).await;
        assert_eq!(all(&body, "Key").len(), 2);

        let body = ok(
            &core,
            "ListRoleTags",
            &[("RoleName", "r"), ("MaxItems", "1")],
        )
        .await;
        assert_eq!(all(&body, "Key"), ["Env"]);
        let marker = text(&body, "Marker").unwrap().to_string();
        let body = ok(
            &core,
            "ListRoleTags",
            &[("RoleName", "r"), ("Marker", &marker)],
        )
        .await;
        assert_eq!(all(&body, "Key"), ["TEAM"]);

        ok(
            &core,
            "UntagRole",
            &[("RoleName", "r"), ("TagKeys.member.1", "team")],
        )
        .await;
        let role = get_role(&core, "r").await.unwrap().unwrap();
        assert_eq!(role.tags, [("Env".to_string(), String::new())]);

        let many: Vec<(String, String)> = (0..50)
            .map(|i| (format!("Tags.member.{}.Key", i + 1), format!("k{i}")))
            .collect();
        let mut pairs: Vec<(&str, &str)> = vec![("RoleName", "r")];
        let values: Vec<String> = (0..50)
            .map(|i| format!("Tags.member.{}.Value", i + 1))
            .collect();
        for (i, (k, v)) in many.iter().enumerate() {
            pairs.push((k, v));
            pairs.push((&values[i], "x"));
        }
        let (code, status, message) = fails(&core, "TagRole", &pairs).await;
        assert_eq!((code.as_str(), status), ("LimitExceeded", 409), "{message}");
        for action in ["TagRole", "UntagRole", "ListRoleTags"] {
            let (code, ..) = fails(
                &core,
                action,
                &[
                    ("RoleName", "ghost"),
                    ("Tags.member.1.Key", "a"),
                    ("Tags.member.1.Value", "b"),
                    ("TagKeys.member.1", "a"),
                ],
            )
            .await;
            assert_eq!(code, "NoSuchEntity", "{action}");
        }
        let (code, ..) = fails(&core, "TagRole", &[("RoleName", "r")]).await;
        assert_eq!(code, "ValidationError");
    }

    #[tokio::test]
    async fn roles_are_found_by_their_exact_arn() {
        let core = core().await;
        let role = create_role(
            &core,
            CreateRoleInput {
                name: "Auth".into(),
                path: Some("/cognito/".into()),
                assume_role_policy_document: TRUST.into(),
                ..CreateRoleInput::default()
            },
        )
        .await
        .unwrap();
        assert_eq!(role.arn, "arn:aws:iam::123456789012:role/cognito/Auth");
        let found = find_role_by_arn(&core, &role.arn).await.unwrap();
        assert_eq!(found.as_ref(), Some(&role));
        for other in [
            "arn:aws:iam::123456789012:role/Auth",
            "arn:aws:iam::999999999999:role/cognito/Auth",
            "arn:aws:iam::123456789012:role/cognito/auth",
            "arn:aws:iam::123456789012:user/cognito/Auth",
            "arn:aws:iam::123456789012:role/",
            "Auth",
            "",
        ] {
            assert_eq!(
                find_role_by_arn(&core, other).await.unwrap(),
                None,
                "{other}"
            );
        }
    }

    #[tokio::test]
    async fn typed_creation_checks_like_the_action() {
        let core = core().await;
        let base = CreateRoleInput {
            name: "t".into(),
            assume_role_policy_document: TRUST.into(),
            ..CreateRoleInput::default()
        };
        let bad = [
            CreateRoleInput {
                max_session_duration: Some(50_000),
                ..base.clone()
            },
            CreateRoleInput {
                path: Some("/a".into()),
                ..base.clone()
            },
            CreateRoleInput {
                name: "x".repeat(65),
                ..base.clone()
            },
            CreateRoleInput {
                assume_role_policy_document: POLICY.into(),
                ..base.clone()
            },
        ];
        for input in bad {
            assert!(
                create_role(&core, input.clone()).await.is_err(),
                "{input:?}"
            );
        }
        let role = create_role(&core, base).await.unwrap();
        assert_eq!((role.path.as_str(), role.max_session_duration), ("/", 3600));
        assert_eq!(role.created_ms, NOW_MS);
    }
}
