//! The trust-policy grammar (AssumeRolePolicyDocument) (security-and-performance.md §4).

use super::PolicyError;
use super::json::Json;
use super::model::{
    ActionElement, Effect, PolicyDocument, Principal, PrincipalElement, PrincipalMap, Statement,
};
use super::parse::{VERSIONS, decode, raw_conditions, sids_unique, string_list, type_conditions};

// IAM checks trust policies with its resource-policy parser, whose messages differ from the
// identity-policy ones ("This policy contains invalid Json", "Has prohibited field Resource").
const INVALID_JSON: &str = "This policy contains invalid Json";
const SYNTAX: &str = "Syntax errors in policy.";
const BAD_VERSION: &str = "The policy must contain a valid version string";
const NO_STATEMENT: &str = "Missing required field Statement";
const EMPTY_STATEMENT: &str = "Could not parse the policy: Statement is empty!";
const NO_EFFECT: &str = "Missing required field Effect";
const NO_PRINCIPAL: &str = "Missing required field Principal";
const NO_ACTION: &str = "Missing required field Action";
const EMPTY_ACTION: &str = "Missing required field Action cannot be empty!";
const INVALID_PRINCIPAL: &str = "Invalid principal in policy";
const STS_ONLY: &str = "AssumeRole policy may only specify STS AssumeRole actions.";

const TOP_MEMBERS: [&str; 3] = ["Version", "Id", "Statement"];
const STATEMENT_MEMBERS: [&str; 9] = [
    "Sid",
    "Effect",
    "Principal",
    "NotPrincipal",
    "Action",
    "NotAction",
    "Resource",
    "NotResource",
    "Condition",
];

/// What a trust policy may grant: taking the role and the extras that ride along with it.
const TRUST_ACTIONS: [&str; 6] = [
    "sts:assumerole",
    "sts:assumerolewithsaml",
    "sts:assumerolewithwebidentity",
    "sts:tagsession",
    "sts:setsourceidentity",
    "sts:setcontext",
];

fn err(message: impl Into<String>) -> PolicyError {
    PolicyError::new(message)
}

pub(crate) fn parse(text: &str) -> Result<PolicyDocument, PolicyError> {
    let text = decode(text).ok_or_else(|| err(INVALID_JSON))?;
    let root = Json::parse(&text).ok_or_else(|| err(INVALID_JSON))?;
    let Json::Object(members) = &root else {
        return Err(err(INVALID_JSON));
    };
    if let Some(name) = root.duplicate_name() {
        return Err(err(format!(
            "Statement/policy already has instance of {name}"
        )));
    }
    if let Some((name, _)) = members
        .iter()
        .find(|(n, _)| !TOP_MEMBERS.contains(&n.as_str()))
    {
        return Err(err(format!("Unknown field {name}")));
    }
    let version = match root.get("Version") {
        None => None,
        Some(Json::String(v)) if VERSIONS.contains(&v.as_str()) => Some(v.clone()),
        Some(_) => return Err(err(BAD_VERSION)),
    };
    let id = match root.get("Id") {
        None => None,
        Some(Json::String(id)) => Some(id.clone()),
        Some(_) => return Err(err(SYNTAX)),
    };
    let statements = match root.get("Statement") {
        None => return Err(err(NO_STATEMENT)),
        Some(one @ Json::Object(_)) => vec![statement(one)?],
        Some(Json::Array(items)) if items.is_empty() => return Err(err(EMPTY_STATEMENT)),
        Some(Json::Array(items)) => items.iter().map(statement).collect::<Result<_, _>>()?,
        Some(_) => return Err(err(SYNTAX)),
    };
    let all_sts = statements
        .iter()
        .flat_map(|s: &Statement| s.action.patterns())
        .all(|a| trust_action_ok(a));
    if !all_sts {
        return Err(err(STS_ONLY));
    }
    sids_unique(statements.iter().map(|s| s.sid.as_deref()))?;
    Ok(PolicyDocument {
        version,
        id,
        statements,
    })
}

fn statement(value: &Json) -> Result<Statement, PolicyError> {
    let Json::Object(members) = value else {
        return Err(err(SYNTAX));
    };
    if let Some((name, _)) = members
        .iter()
        .find(|(n, _)| !STATEMENT_MEMBERS.contains(&n.as_str()))
    {
        return Err(err(format!("Unknown field {name}")));
    }
    let get = |name| value.get(name);
    for name in ["Principal", "Action", "Resource"] {
        if get(name).is_some() && value.get(&format!("Not{name}")).is_some() {
            return Err(err(format!(
                "Statement/policy already has instance of {name}"
            )));
        }
    }
    let effect = match get("Effect") {
        None => return Err(err(NO_EFFECT)),
        Some(Json::String(e)) if e == "Allow" => Effect::Allow,
        Some(Json::String(e)) if e == "Deny" => Effect::Deny,
        Some(Json::String(e)) => return Err(err(format!("Invalid effect: {e}"))),
        Some(other) => return Err(err(format!("Invalid effect: {other}"))),
    };
    let sid = match get("Sid") {
        None => None,
        Some(Json::String(s)) => Some(s.clone()),
        Some(_) => return Err(err(SYNTAX)),
    };
    let principal = match (get("Principal"), get("NotPrincipal")) {
        (Some(p), _) => PrincipalElement::Principal(principal(p)?),
        (_, Some(p)) => PrincipalElement::NotPrincipal(principal(p)?),
        _ => return Err(err(NO_PRINCIPAL)),
    };
    let action = match (get("Action"), get("NotAction")) {
        (Some(a), _) => ActionElement::Action(string_list(a).ok_or_else(|| err(SYNTAX))?),
        (_, Some(a)) => ActionElement::NotAction(string_list(a).ok_or_else(|| err(SYNTAX))?),
        _ => return Err(err(NO_ACTION)),
    };
    if action.patterns().is_empty() {
        return Err(err(EMPTY_ACTION));
    }
    for name in ["Resource", "NotResource"] {
        if get(name).is_some() {
            return Err(err(format!("Has prohibited field {name}")));
        }
    }
    let conditions = match get("Condition") {
        None => Vec::new(),
        Some(c) => {
            let raw = raw_conditions(c).ok_or_else(|| err(SYNTAX))?;
            type_conditions(raw).map_err(|name| err(format!("Invalid Condition type : {name}")))?
        }
    };
    Ok(Statement {
        sid,
        effect,
        principal: Some(principal),
        action,
        resource: None,
        conditions,
    })
}

fn principal(value: &Json) -> Result<Principal, PolicyError> {
    let members = match value {
        Json::String(s) if s == "*" => return Ok(Principal::Any),
        Json::Object(members) if !members.is_empty() => members,
        _ => return Err(err(INVALID_PRINCIPAL)),
    };
    let mut map = PrincipalMap::default();
    for (kind, ids) in members {
        let ids = string_list(ids)
            .filter(|ids| !ids.is_empty())
            .ok_or_else(|| err(INVALID_PRINCIPAL))?;
        // IAM names the offending type in capitals for services ("SERVICE"), as-is for "AWS".
        let (slot, label, valid): (&mut Vec<String>, &str, fn(&str) -> bool) = match kind.as_str() {
            "AWS" => (&mut map.aws, "AWS", aws_principal_ok),
            "Federated" => (&mut map.federated, "FEDERATED", federated_principal_ok),
            "Service" => (&mut map.service, "SERVICE", service_principal_ok),
            // Canonical users are S3 identities; a role cannot be assumed by one.
            "CanonicalUser" => (&mut map.canonical_user, "CANONICALUSER", |_| false),
            _ => return Err(err(INVALID_PRINCIPAL)),
        };
        if let Some(bad) = ids.iter().find(|id| !valid(id)) {
            return Err(err(format!("{INVALID_PRINCIPAL}: \"{label}\":\"{bad}\"")));
        }
        *slot = ids;
    }
    Ok(Principal::Map(map))
}

fn is_account_id(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

fn partition_ok(p: &str) -> bool {
    p == "aws"
        || p.strip_prefix("aws-").is_some_and(|rest| {
            !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_lowercase() || b == b'-')
        })
}

/// `arn:<partition>:<service>::<account>:<resource>` split into its service, account and
/// resource, when the partition is real and the region is empty (IAM and STS are global).
fn global_arn(s: &str) -> Option<(&str, &str, &str)> {
    let mut parts = s.strip_prefix("arn:")?.splitn(5, ':');
    let (partition, service, region, account, resource) = (
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
    );
    (partition_ok(partition) && region.is_empty() && is_account_id(account))
        .then_some((service, account, resource))
}

fn named(resource: &str, prefix: &str) -> bool {
    resource
        .strip_prefix(prefix)
        .is_some_and(|name| !name.is_empty())
}

/// `*`, an account id, or the ARN of an account root, user, role or session. Wildcards other
/// than the lone `*` are refused: IAM resolves each principal to one identity.
fn aws_principal_ok(id: &str) -> bool {
    if id == "*" || is_account_id(id) {
        return true;
    }
    if id.contains(['*', '?']) {
        return false;
    }
    match global_arn(id) {
        Some(("iam", _, resource)) => {
            resource == "root"
                || ["user/", "role/", "federated-user/"]
                    .iter()
                    .any(|p| named(resource, p))
        }
        Some(("sts", _, resource)) => {
            named(resource, "assumed-role/") || named(resource, "federated-user/")
        }
        _ => false,
    }
}

/// An identity provider's ARN, or the host name of a web identity provider such as
/// `cognito-identity.amazonaws.com` or `accounts.google.com`.
fn federated_principal_ok(id: &str) -> bool {
    if id.starts_with("arn:") {
        return matches!(global_arn(id), Some(("iam", _, resource))
            if named(resource, "saml-provider/") || named(resource, "oidc-provider/"));
    }
    host_name(id)
}

fn service_principal_ok(id: &str) -> bool {
    host_name(id) && (id.ends_with(".amazonaws.com") || id.ends_with(".amazonaws.com.cn"))
}

fn host_name(s: &str) -> bool {
    s.contains('.')
        && s.split('.').all(|label| {
            !label.is_empty()
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

/// True when the action pattern names only STS's role-assumption actions (and may name one).
fn trust_action_ok(pattern: &str) -> bool {
    let pattern = pattern.to_ascii_lowercase();
    pattern.starts_with("sts:") && TRUST_ACTIONS.iter().any(|a| glob(&pattern, a))
}

/// `*` and `?` matching without backtracking blow-up: on a mismatch, only the last `*` is
/// retried, one character further.
pub(crate) fn glob(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}
