//! IAM policy documents: model, parsers, IAM's refusal messages (security-and-performance.md §4).

pub mod eval;
mod identity;
mod json;
mod model;
mod parse;
mod trust;

#[cfg(test)]
mod tests;

use std::fmt;

pub use model::{
    ActionElement, BaseOperator, ConditionBlock, ConditionEntry, ConditionOperator, ConditionValue,
    Effect, OperatorFamily, PolicyDocument, Principal, PrincipalElement, PrincipalMap,
    ResourceElement, SetQualifier, Statement, ValueKind,
};

/// Which grammar a document must follow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PolicyKind {
    /// An inline role policy or a session policy: `Resource` required, `Principal` forbidden.
    Identity,
    /// A role's assume-role policy: `Principal` required, `Resource` forbidden, STS actions only.
    Trust,
}

/// Why IAM refuses a document. The message is the exact text of the `MalformedPolicyDocument`
/// error IAM returns for the same document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyError {
    message: String,
}

impl PolicyError {
    pub(crate) fn new(message: impl Into<String>) -> Self {
        PolicyError {
            message: message.into(),
        }
    }

    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for PolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for PolicyError {}

/// Reads a policy document as IAM does: surrounding white space is ignored, URL-encoded JSON
/// (as CloudFormation sends it) is decoded, and a malformed document is refused with IAM's
/// message for the first problem IAM would report.
pub fn parse_policy(text: &str, kind: PolicyKind) -> Result<PolicyDocument, PolicyError> {
    match kind {
        PolicyKind::Identity => identity::parse(text),
        PolicyKind::Trust => trust::parse(text),
    }
}
