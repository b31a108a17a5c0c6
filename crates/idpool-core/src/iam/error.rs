//! IAM's errors and their one mapping to awsQuery error codes, HTTP statuses and messages (spec §5.1).

use idpool_store::StoreError;
use idpool_wire::WireError;

/// What an IAM operation can fail with. Every message is the text AWS sends for that case.
#[derive(Debug, thiserror::Error)]
pub enum IamError {
    #[error("{0}")]
    NoSuchEntity(String),
    #[error("{0}")]
    EntityAlreadyExists(String),
    #[error("{0}")]
    DeleteConflict(String),
    #[error("{0}")]
    MalformedPolicyDocument(String),
    #[error("{0}")]
    LimitExceeded(String),
    #[error("{0}")]
    InvalidInput(String),
    /// AWS's generic `ValidationError`: a missing, malformed or out-of-range parameter.
    #[error("{0}")]
    Validation(String),
    /// The store failed; the cause is logged, never sent.
    #[error("storage failure")]
    Store(#[source] StoreError),
    /// The system random source failed.
    #[error("random source failure")]
    Random,
}

impl IamError {
    pub fn role_not_found(name: &str) -> Self {
        IamError::NoSuchEntity(format!("The role with name {name} cannot be found."))
    }

    pub fn role_policy_not_found(policy: &str) -> Self {
        IamError::NoSuchEntity(format!(
            "The role policy with name {policy} cannot be found."
        ))
    }

    /// A required parameter is absent, worded as AWS words it (`roleName`, not `RoleName`).
    pub fn missing(param: &str) -> Self {
        IamError::Validation(format!(
            "1 validation error detected: Value null at '{}' failed to satisfy constraint: \
             Member must not be null",
            member_name(param)
        ))
    }

    pub fn to_wire(&self) -> WireError {
        match self {
            IamError::NoSuchEntity(m) => WireError::with_status(404, "NoSuchEntity", m),
            IamError::EntityAlreadyExists(m) => {
                WireError::with_status(409, "EntityAlreadyExists", m)
            }
            IamError::DeleteConflict(m) => WireError::with_status(409, "DeleteConflict", m),
            IamError::MalformedPolicyDocument(m) => WireError::client("MalformedPolicyDocument", m),
            IamError::LimitExceeded(m) => WireError::with_status(409, "LimitExceeded", m),
            IamError::InvalidInput(m) => WireError::client("InvalidInput", m),
            IamError::Validation(m) => WireError::client("ValidationError", m),
            IamError::Store(_) | IamError::Random => WireError::internal("ServiceFailure"),
        }
    }
}

impl From<StoreError> for IamError {
    /// Only for store outcomes the operation does not expect; expected ones (`NotFound`,
    /// `Conflict`, `HasDependents`) are matched where they mean something.
    fn from(e: StoreError) -> Self {
        IamError::Store(e)
    }
}

/// The member name AWS uses in validation messages: the parameter with a lower-case first letter.
pub(crate) fn member_name(param: &str) -> String {
    let mut chars = param.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_codes_and_statuses() {
        let cases = [
            (IamError::role_not_found("r"), "NoSuchEntity", 404),
            (
                IamError::EntityAlreadyExists("x".into()),
                "EntityAlreadyExists",
                409,
            ),
            (IamError::DeleteConflict("x".into()), "DeleteConflict", 409),
            (
                IamError::MalformedPolicyDocument("x".into()),
                "MalformedPolicyDocument",
                400,
            ),
            (IamError::LimitExceeded("x".into()), "LimitExceeded", 409),
            (IamError::InvalidInput("x".into()), "InvalidInput", 400),
            (IamError::missing("RoleName"), "ValidationError", 400),
            (IamError::Random, "ServiceFailure", 500),
        ];
        for (err, code, status) in cases {
            let wire = err.to_wire();
            assert_eq!((wire.code.as_str(), wire.status), (code, status), "{err:?}");
        }
    }

    #[test]
    fn store_causes_stay_out_of_the_message() {
        let err = IamError::from(StoreError::Backend("disk /secret/path full".into()));
        let wire = err.to_wire();
        assert!(!wire.message.contains("/secret/path"), "{}", wire.message);
    }

    #[test]
    fn messages_read_as_aws_writes_them() {
        assert_eq!(
            IamError::role_not_found("Admin").to_string(),
            "The role with name Admin cannot be found."
        );
        assert_eq!(
            IamError::missing("OpenIDConnectProviderArn").to_string(),
            "1 validation error detected: Value null at 'openIDConnectProviderArn' failed to \
             satisfy constraint: Member must not be null"
        );
    }
}
