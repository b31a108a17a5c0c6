//! Cognito Identity's modeled exceptions and their one mapping to the wire (spec §1.5.2, §1.5.5).

use idpool_wire::WireError;

/// An operation's failure, named as the model names its exceptions.
#[derive(Debug, thiserror::Error)]
pub enum CognitoError {
    #[error("{0}")]
    InvalidParameter(String),
    #[error("{0}")]
    NotAuthorized(String),
    #[error("{0}")]
    ResourceNotFound(String),
    #[error("{0}")]
    ResourceConflict(String),
    #[error("{0}")]
    LimitExceeded(String),
    #[error("{0}")]
    ConcurrentModification(String),
    #[error("{0}")]
    TooManyRequests(String),
    #[error("{0}")]
    InvalidIdentityPoolConfiguration(String),
    #[error("{0}")]
    DeveloperUserAlreadyRegistered(String),
    #[error("{0}")]
    ExternalService(String),
    /// The input could not be read as the operation's shape.
    #[error("the input could not be deserialized")]
    Serialization,
    /// A failure of ours; the cause is logged, never sent.
    #[error("internal error")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl CognitoError {
    pub fn pool_not_found(id: &str) -> Self {
        CognitoError::ResourceNotFound(format!("IdentityPool '{id}' not found."))
    }

    pub fn internal(e: impl std::error::Error + Send + Sync + 'static) -> Self {
        CognitoError::Internal(Box::new(e))
    }

    /// The one reviewed mapping to AWS code and status. Client errors are 400 as on the
    /// live service (spec §7.14), whatever the Smithy traits say.
    pub fn to_wire(&self) -> WireError {
        let msg = self.to_string();
        match self {
            CognitoError::InvalidParameter(_) => {
                WireError::client("InvalidParameterException", msg)
            }
            CognitoError::NotAuthorized(_) => WireError::client("NotAuthorizedException", msg),
            CognitoError::ResourceNotFound(_) => {
                WireError::client("ResourceNotFoundException", msg)
            }
            CognitoError::ResourceConflict(_) => {
                WireError::client("ResourceConflictException", msg)
            }
            CognitoError::LimitExceeded(_) => WireError::client("LimitExceededException", msg),
            CognitoError::ConcurrentModification(_) => {
                WireError::client("ConcurrentModificationException", msg)
            }
            CognitoError::TooManyRequests(_) => {
                WireError::with_status(429, "TooManyRequestsException", msg)
            }
            CognitoError::InvalidIdentityPoolConfiguration(_) => {
                WireError::client("InvalidIdentityPoolConfigurationException", msg)
            }
            CognitoError::DeveloperUserAlreadyRegistered(_) => {
                WireError::client("DeveloperUserAlreadyRegisteredException", msg)
            }
            CognitoError::ExternalService(_) => WireError::client("ExternalServiceException", msg),
            CognitoError::Serialization => WireError::client("SerializationException", ""),
            CognitoError::Internal(_) => WireError::internal("InternalErrorException"),
        }
    }
}

impl From<idpool_store::StoreError> for CognitoError {
    fn from(e: idpool_store::StoreError) -> Self {
        CognitoError::internal(e)
    }
}
