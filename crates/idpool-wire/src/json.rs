//! awsJson1_1 for Cognito Identity: the operation table, `X-Amz-Target` routing (spec §1.2-1.4).

/// The `X-Amz-Target` prefix of Cognito Identity.
pub const TARGET_PREFIX: &str = "AWSCognitoIdentityService.";

/// The only content type the service speaks.
pub const CONTENT_TYPE: &str = "application/x-amz-json-1.1";

/// The 23 operations of the Cognito Identity model, with whether they need a signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CognitoOp {
    CreateIdentityPool,
    DeleteIdentities,
    DeleteIdentityPool,
    DescribeIdentity,
    DescribeIdentityPool,
    GetCredentialsForIdentity,
    GetId,
    GetIdentityPoolRoles,
    GetOpenIdToken,
    GetOpenIdTokenForDeveloperIdentity,
    GetPrincipalTagAttributeMap,
    ListIdentities,
    ListIdentityPools,
    ListTagsForResource,
    LookupDeveloperIdentity,
    MergeDeveloperIdentities,
    SetIdentityPoolRoles,
    SetPrincipalTagAttributeMap,
    TagResource,
    UnlinkDeveloperIdentity,
    UnlinkIdentity,
    UntagResource,
    UpdateIdentityPool,
}

impl CognitoOp {
    pub const ALL: [CognitoOp; 23] = [
        CognitoOp::CreateIdentityPool,
        CognitoOp::DeleteIdentities,
        CognitoOp::DeleteIdentityPool,
        CognitoOp::DescribeIdentity,
        CognitoOp::DescribeIdentityPool,
        CognitoOp::GetCredentialsForIdentity,
        CognitoOp::GetId,
        CognitoOp::GetIdentityPoolRoles,
        CognitoOp::GetOpenIdToken,
        CognitoOp::GetOpenIdTokenForDeveloperIdentity,
        CognitoOp::GetPrincipalTagAttributeMap,
        CognitoOp::ListIdentities,
        CognitoOp::ListIdentityPools,
        CognitoOp::ListTagsForResource,
        CognitoOp::LookupDeveloperIdentity,
        CognitoOp::MergeDeveloperIdentities,
        CognitoOp::SetIdentityPoolRoles,
        CognitoOp::SetPrincipalTagAttributeMap,
        CognitoOp::TagResource,
        CognitoOp::UnlinkDeveloperIdentity,
        CognitoOp::UnlinkIdentity,
        CognitoOp::UntagResource,
        CognitoOp::UpdateIdentityPool,
    ];

    pub fn name(self) -> &'static str {
        match self {
            CognitoOp::CreateIdentityPool => "CreateIdentityPool",
            CognitoOp::DeleteIdentities => "DeleteIdentities",
            CognitoOp::DeleteIdentityPool => "DeleteIdentityPool",
            CognitoOp::DescribeIdentity => "DescribeIdentity",
            CognitoOp::DescribeIdentityPool => "DescribeIdentityPool",
            CognitoOp::GetCredentialsForIdentity => "GetCredentialsForIdentity",
            CognitoOp::GetId => "GetId",
            CognitoOp::GetIdentityPoolRoles => "GetIdentityPoolRoles",
            CognitoOp::GetOpenIdToken => "GetOpenIdToken",
            CognitoOp::GetOpenIdTokenForDeveloperIdentity => "GetOpenIdTokenForDeveloperIdentity",
            CognitoOp::GetPrincipalTagAttributeMap => "GetPrincipalTagAttributeMap",
            CognitoOp::ListIdentities => "ListIdentities",
            CognitoOp::ListIdentityPools => "ListIdentityPools",
            CognitoOp::ListTagsForResource => "ListTagsForResource",
            CognitoOp::LookupDeveloperIdentity => "LookupDeveloperIdentity",
            CognitoOp::MergeDeveloperIdentities => "MergeDeveloperIdentities",
            CognitoOp::SetIdentityPoolRoles => "SetIdentityPoolRoles",
            CognitoOp::SetPrincipalTagAttributeMap => "SetPrincipalTagAttributeMap",
            CognitoOp::TagResource => "TagResource",
            CognitoOp::UnlinkDeveloperIdentity => "UnlinkDeveloperIdentity",
            CognitoOp::UnlinkIdentity => "UnlinkIdentity",
            CognitoOp::UntagResource => "UntagResource",
            CognitoOp::UpdateIdentityPool => "UpdateIdentityPool",
        }
    }

    pub fn from_name(name: &str) -> Option<CognitoOp> {
        CognitoOp::ALL.iter().copied().find(|op| op.name() == name)
    }

    /// The four operations the model marks `noAuth`: they work unsigned (spec §1.3).
    pub fn is_public(self) -> bool {
        matches!(
            self,
            CognitoOp::GetId
                | CognitoOp::GetCredentialsForIdentity
                | CognitoOp::GetOpenIdToken
                | CognitoOp::UnlinkIdentity
        )
    }
}

/// Resolves `X-Amz-Target` to an operation, with the errors AWS JSON services give.
pub fn route(target: &str) -> Result<CognitoOp, crate::WireError> {
    let op = target
        .strip_prefix(TARGET_PREFIX)
        .and_then(CognitoOp::from_name);
    op.ok_or_else(|| crate::WireError::client("UnknownOperationException", ""))
}

/// Parses a request body: empty means `{}`; anything but a JSON object is a
/// `SerializationException`, as AWS JSON services answer.
pub fn parse_body(body: &[u8]) -> Result<serde_json::Value, crate::WireError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(serde_json::Value::Object(Default::default()));
    }
    match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(v @ serde_json::Value::Object(_)) => Ok(v),
        Ok(_) => Err(crate::WireError::client(
            "SerializationException",
            "Start of structure or map found where not expected.",
        )),
        Err(_) => Err(crate::WireError::client("SerializationException", "")),
    }
}

/// Epoch seconds with millisecond precision as a JSON number (spec §1.4: never a string).
pub fn epoch_seconds(ms: i64) -> serde_json::Value {
    if ms % 1000 == 0 {
        serde_json::Value::from(ms / 1000)
    } else {
        serde_json::Number::from_f64(ms as f64 / 1000.0)
            .map(serde_json::Value::Number)
            .unwrap_or_else(|| serde_json::Value::from(ms / 1000))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_every_operation_and_rejects_others() {
        for op in CognitoOp::ALL {
            assert_eq!(route(&format!("{TARGET_PREFIX}{}", op.name())).unwrap(), op);
        }
        assert_eq!(CognitoOp::ALL.iter().filter(|o| o.is_public()).count(), 4);
        for bad in [
            "",
            "GetId",
            "AWSCognitoIdentityService.",
            "AWSCognitoIdentityService.getid",
        ] {
            assert_eq!(route(bad).unwrap_err().code, "UnknownOperationException");
        }
    }

    #[test]
    fn body_must_be_an_object() {
        assert!(parse_body(b"").unwrap().is_object());
        assert!(parse_body(b" {} ").unwrap().is_object());
        assert_eq!(
            parse_body(b"[]").unwrap_err().code,
            "SerializationException"
        );
        assert_eq!(parse_body(b"{").unwrap_err().code, "SerializationException");
    }

    #[test]
    fn timestamps_are_numbers() {
        assert_eq!(epoch_seconds(1_700_000_000_000).to_string(), "1700000000");
        assert_eq!(epoch_seconds(1_700_000_000_500).to_string(), "1700000000.5");
    }
}
