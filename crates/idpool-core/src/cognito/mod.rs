//! Cognito Identity operations: the dispatcher, the error catalogue and the pool model (spec §1.5, §2).

pub mod credentials;
pub mod developer;
pub mod error;
pub mod identities;
pub mod linking;
pub mod logins;
pub mod model;
pub mod pools;

pub use error::CognitoError;

use idpool_wire::json::CognitoOp;
use serde_json::Value;

/// Runs one Cognito Identity operation on an already validated input object.
pub async fn dispatch(
    core: &crate::Core,
    op: CognitoOp,
    input: Value,
) -> Result<Value, CognitoError> {
    match op {
        CognitoOp::CreateIdentityPool => pools::create_identity_pool(core, decode(input)?).await,
        CognitoOp::DescribeIdentityPool => {
            pools::describe_identity_pool(core, decode(input)?).await
        }
        CognitoOp::UpdateIdentityPool => pools::update_identity_pool(core, decode(input)?).await,
        CognitoOp::DeleteIdentityPool => pools::delete_identity_pool(core, decode(input)?).await,
        CognitoOp::ListIdentityPools => pools::list_identity_pools(core, decode(input)?).await,
        CognitoOp::SetIdentityPoolRoles => {
            pools::set_identity_pool_roles(core, decode(input)?).await
        }
        CognitoOp::GetIdentityPoolRoles => {
            pools::get_identity_pool_roles(core, decode(input)?).await
        }
        CognitoOp::TagResource => pools::tag_resource(core, decode(input)?).await,
        CognitoOp::UntagResource => pools::untag_resource(core, decode(input)?).await,
        CognitoOp::ListTagsForResource => pools::list_tags_for_resource(core, decode(input)?).await,
        CognitoOp::SetPrincipalTagAttributeMap => {
            pools::set_principal_tag_attribute_map(core, decode(input)?).await
        }
        CognitoOp::GetPrincipalTagAttributeMap => {
            pools::get_principal_tag_attribute_map(core, decode(input)?).await
        }
        CognitoOp::GetId => identities::get_id(core, decode(input)?).await,
        CognitoOp::GetCredentialsForIdentity => {
            identities::get_credentials_for_identity(core, decode(input)?).await
        }
        CognitoOp::GetOpenIdToken => identities::get_open_id_token(core, decode(input)?).await,
        CognitoOp::UnlinkIdentity => identities::unlink_identity(core, decode(input)?).await,
        CognitoOp::DescribeIdentity => identities::describe_identity(core, decode(input)?).await,
        CognitoOp::ListIdentities => identities::list_identities(core, decode(input)?).await,
        CognitoOp::DeleteIdentities => identities::delete_identities(core, decode(input)?).await,
        CognitoOp::GetOpenIdTokenForDeveloperIdentity => {
            developer::get_open_id_token_for_developer_identity(core, decode(input)?).await
        }
        CognitoOp::LookupDeveloperIdentity => {
            developer::lookup_developer_identity(core, decode(input)?).await
        }
        CognitoOp::MergeDeveloperIdentities => {
            developer::merge_developer_identities(core, decode(input)?).await
        }
        CognitoOp::UnlinkDeveloperIdentity => {
            developer::unlink_developer_identity(core, decode(input)?).await
        }
    }
}

/// Turns the validated JSON object into the operation's typed input. The validator has
/// already checked types, so a failure here is a shape the model allows but we cannot read.
fn decode<T: serde::de::DeserializeOwned>(input: Value) -> Result<T, CognitoError> {
    serde_json::from_value(input).map_err(|_| CognitoError::Serialization)
}
