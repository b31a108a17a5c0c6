//! Durable storage behind one object-safe trait, split by capability (design.md "Storage").
//!
//! No SQL type crosses this boundary: rows are plain structs whose nested configuration travels
//! as a JSON document owned by `idpool-core`. Every engine must pass [`testsuite`].

use async_trait::async_trait;

pub mod postgres;
pub mod sqlite;
pub mod testsuite;

/// What can go wrong in any engine; callers map these to the AWS error of their operation.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The row to update or delete does not exist.
    #[error("not found")]
    NotFound,
    /// A row with the same unique key already exists.
    #[error("already exists")]
    Conflict,
    /// The row changed since it was read (optimistic concurrency check failed).
    #[error("concurrent modification")]
    ConcurrentModification,
    /// A quota passed in by the caller would be exceeded.
    #[error("limit exceeded")]
    LimitExceeded,
    /// The entity still has dependents (for example a role that still has inline policies).
    #[error("entity still has dependents")]
    HasDependents,
    /// The engine itself failed; the cause is for logs only.
    #[error("storage backend failure: {0}")]
    Backend(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl StoreError {
    pub fn backend(e: impl std::error::Error + Send + Sync + 'static) -> Self {
        StoreError::Backend(Box::new(e))
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

/// An identity pool as stored. `document` is the pool's configuration as JSON (owned by core).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolRow {
    pub id: String,
    pub name: String,
    /// Bumped by every successful update; used for optimistic concurrency.
    pub version: i64,
    /// Milliseconds since the Unix epoch.
    pub created_ms: i64,
    pub document: String,
}

/// What ListIdentityPools shows of a pool.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolSummary {
    pub id: String,
    pub name: String,
}

/// An IAM role. Names are unique without regard to case, as in IAM.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleRow {
    pub name: String,
    /// The role's unique id (`AROA...`).
    pub id: String,
    pub created_ms: i64,
    /// Path, ARN, trust policy, description, max session duration, tags... as JSON (core's).
    pub document: String,
}

/// The key under which every engine stores an IAM name that is unique without regard to case.
///
/// IAM names are ASCII (`[\w+=,.@-]`), so ASCII folding is exact for valid names and gives the
/// same answer in every engine, unlike a database's locale-dependent `lower()`.
pub fn iam_name_key(name: &str) -> String {
    name.to_ascii_lowercase()
}

/// An IAM OpenID Connect provider, keyed by its ARN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OidcProviderRow {
    pub arn: String,
    pub created_ms: i64,
    /// URL, client ids, thumbprints, tags as JSON (core's).
    pub document: String,
}

/// An IAM SAML provider, keyed by its ARN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SamlProviderRow {
    pub arn: String,
    pub created_ms: i64,
    /// Metadata document, validity, tags as JSON (core's).
    pub document: String,
}

/// Identity pools.
#[async_trait]
pub trait PoolStore: Send + Sync {
    /// Inserts a new pool unless `max_pools` pools already exist (then `LimitExceeded`);
    /// an existing id gives `Conflict`.
    async fn insert_pool(&self, pool: &PoolRow, max_pools: u64) -> StoreResult<()>;
    async fn get_pool(&self, id: &str) -> StoreResult<Option<PoolRow>>;
    /// Replaces name and document and stores `pool.version` if the stored version equals
    /// `pool.version - 1`; the creation time stays.
    /// Missing pool: `NotFound`; other version: `ConcurrentModification`.
    async fn update_pool(&self, pool: &PoolRow) -> StoreResult<()>;
    /// Deletes the pool and everything that belongs to it. Returns whether it existed.
    async fn delete_pool(&self, id: &str) -> StoreResult<bool>;
    /// Pools ordered by id (byte order), starting strictly after `after_id`, at most `limit`.
    async fn list_pools(&self, after_id: Option<&str>, limit: u32)
    -> StoreResult<Vec<PoolSummary>>;
}

/// IAM roles and their inline policies.
#[async_trait]
pub trait RoleStore: Send + Sync {
    /// `Conflict` when a role of that name (any case) or with that id exists.
    async fn insert_role(&self, role: &RoleRow) -> StoreResult<()>;
    /// Looks the name up without regard to case.
    async fn get_role(&self, name: &str) -> StoreResult<Option<RoleRow>>;
    /// Replaces the document of an existing role (matched without regard to case).
    async fn update_role(&self, role: &RoleRow) -> StoreResult<()>;
    /// `NotFound` when missing, `HasDependents` while inline policies remain.
    async fn delete_role(&self, name: &str) -> StoreResult<()>;
    /// Every role, ordered by name without regard to case (by [`iam_name_key`]).
    async fn list_roles(&self) -> StoreResult<Vec<RoleRow>>;
    /// Creates or replaces an inline policy; `NotFound` when the role is missing.
    async fn put_role_policy(&self, role: &str, policy: &str, document: &str) -> StoreResult<()>;
    async fn get_role_policy(&self, role: &str, policy: &str) -> StoreResult<Option<String>>;
    /// Names of the role's inline policies in byte order; `NotFound` when the role is missing.
    /// Policy names are case-sensitive: `Read` and `read` are two policies.
    async fn list_role_policies(&self, role: &str) -> StoreResult<Vec<String>>;
    /// `NotFound` when the role or the policy is missing.
    async fn delete_role_policy(&self, role: &str, policy: &str) -> StoreResult<()>;
}

/// IAM identity providers (OIDC and SAML).
///
/// Inserting an ARN that exists gives `Conflict`; update replaces the document (the creation
/// time stays) and, like delete, gives `NotFound` for a missing ARN; lists are ordered by ARN.
#[async_trait]
pub trait ProviderStore: Send + Sync {
    async fn insert_oidc_provider(&self, p: &OidcProviderRow) -> StoreResult<()>;
    async fn get_oidc_provider(&self, arn: &str) -> StoreResult<Option<OidcProviderRow>>;
    async fn update_oidc_provider(&self, p: &OidcProviderRow) -> StoreResult<()>;
    async fn delete_oidc_provider(&self, arn: &str) -> StoreResult<()>;
    async fn list_oidc_providers(&self) -> StoreResult<Vec<OidcProviderRow>>;
    async fn insert_saml_provider(&self, p: &SamlProviderRow) -> StoreResult<()>;
    async fn get_saml_provider(&self, arn: &str) -> StoreResult<Option<SamlProviderRow>>;
    async fn update_saml_provider(&self, p: &SamlProviderRow) -> StoreResult<()>;
    async fn delete_saml_provider(&self, arn: &str) -> StoreResult<()>;
    async fn list_saml_providers(&self) -> StoreResult<Vec<SamlProviderRow>>;
}

/// One key of the key ring. The material is secret: `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct KeyRow {
    /// What the key is for (`openid-rs512`, `session-v1`); defined by core.
    pub kind: String,
    /// Sequence number within its kind, starting at 1.
    pub id: u32,
    pub created_ms: i64,
    pub material: Vec<u8>,
}

impl std::fmt::Debug for KeyRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyRow")
            .field("kind", &self.kind)
            .field("id", &self.id)
            .field("created_ms", &self.created_ms)
            .field("material", &"**redacted**")
            .finish()
    }
}

/// The key ring's storage.
#[async_trait]
pub trait KeyStore: Send + Sync {
    /// Every key of every kind.
    async fn list_keys(&self) -> StoreResult<Vec<KeyRow>>;
    /// `Conflict` when (kind, id) exists: two instances creating the same key race safely.
    async fn insert_key(&self, key: &KeyRow) -> StoreResult<()>;
    /// `NotFound` when missing.
    async fn delete_key(&self, kind: &str, id: u32) -> StoreResult<()>;
}

/// One login linked to an identity: the provider name (the `Logins` key) and the subject the
/// provider vouched for. Never the token.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct LoginLink {
    pub provider: String,
    pub subject: String,
}

/// One developer user linked to an identity.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct DeveloperLink {
    pub provider: String,
    pub user_id: String,
}

/// An identity with everything linked to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentityRow {
    pub id: String,
    pub pool_id: String,
    pub created_ms: i64,
    pub modified_ms: i64,
    /// Disabled by a merge: kept, listed, but refused for tokens and credentials.
    pub disabled: bool,
    /// Ordered by provider.
    pub logins: Vec<LoginLink>,
    /// Ordered by user id.
    pub developer_users: Vec<DeveloperLink>,
}

/// The statements a write transaction on identities may run. Synchronous on purpose: the
/// engine runs the whole closure inside one database transaction on its own thread, so the
/// linking and merging rules are written once, in core, for every engine.
pub trait IdentityTx {
    fn pool_exists(&mut self, pool_id: &str) -> StoreResult<bool>;
    fn get_identity(&mut self, id: &str) -> StoreResult<Option<IdentityRow>>;
    fn identity_by_login(
        &mut self,
        pool_id: &str,
        provider: &str,
        subject: &str,
    ) -> StoreResult<Option<String>>;
    fn identity_by_developer_user(
        &mut self,
        pool_id: &str,
        provider: &str,
        user_id: &str,
    ) -> StoreResult<Option<String>>;
    /// `Conflict` if the id exists, `NotFound` if the pool does not.
    fn insert_identity(&mut self, id: &str, pool_id: &str, now_ms: i64) -> StoreResult<()>;
    /// `Conflict` when the login already belongs to an identity of the pool.
    fn link_login(&mut self, identity_id: &str, link: &LoginLink, now_ms: i64) -> StoreResult<()>;
    /// Whether the identity had a login of that provider.
    fn unlink_login(&mut self, identity_id: &str, provider: &str, now_ms: i64)
    -> StoreResult<bool>;
    /// `Conflict` when the user already belongs to an identity of the pool.
    fn link_developer_user(
        &mut self,
        identity_id: &str,
        link: &DeveloperLink,
        now_ms: i64,
    ) -> StoreResult<()>;
    fn unlink_developer_user(
        &mut self,
        identity_id: &str,
        link: &DeveloperLink,
        now_ms: i64,
    ) -> StoreResult<bool>;
    /// Moves every login and developer user of `from` to `to` (a merge).
    fn move_links(&mut self, from: &str, to: &str, now_ms: i64) -> StoreResult<()>;
    fn set_disabled(&mut self, identity_id: &str, disabled: bool, now_ms: i64) -> StoreResult<()>;
    /// Deletes an identity and its links; whether it existed.
    fn delete_identity(&mut self, identity_id: &str) -> StoreResult<bool>;
}

/// A transaction body as the object-safe trait carries it; use [`transact`] instead.
pub type TxBody =
    Box<dyn FnMut(&mut dyn IdentityTx) -> StoreResult<Box<dyn std::any::Any + Send>> + Send>;

/// Identities and their links.
#[async_trait]
pub trait IdentityStore: Send + Sync {
    /// Runs `body` in one serializable write transaction and commits it durably before
    /// answering. An `Err` from the body rolls back everything it did. The engine may run the
    /// body more than once (a serialization retry) and may commit several callers' bodies
    /// together (group commit), each isolated from a failure of the others.
    async fn transact_boxed(&self, body: TxBody) -> StoreResult<Box<dyn std::any::Any + Send>>;
    async fn get_identity(&self, id: &str) -> StoreResult<Option<IdentityRow>>;
    /// Identities of a pool ordered by id, strictly after `after_id`, at most `limit`.
    async fn list_identities(
        &self,
        pool_id: &str,
        after_id: Option<&str>,
        limit: u32,
        hide_disabled: bool,
    ) -> StoreResult<Vec<IdentityRow>>;
}

/// Runs a typed transaction body; see [`IdentityStore::transact_boxed`].
pub async fn transact<T, F>(store: &dyn IdentityStore, mut body: F) -> StoreResult<T>
where
    T: Send + 'static,
    F: FnMut(&mut dyn IdentityTx) -> StoreResult<T> + Send + 'static,
{
    let boxed: TxBody =
        Box::new(move |tx| body(tx).map(|v| Box::new(v) as Box<dyn std::any::Any + Send>));
    let out = store.transact_boxed(boxed).await?;
    out.downcast::<T>()
        .map(|b| *b)
        .map_err(|_| StoreError::Backend("transaction returned an unexpected type".into()))
}

/// Everything idpool persists.
pub trait Store: PoolStore + RoleStore + ProviderStore + KeyStore + IdentityStore {}
impl<T: PoolStore + RoleStore + ProviderStore + KeyStore + IdentityStore> Store for T {}

/// The engines a store URL can name; engines not built in are still named so that the error
/// says so instead of "unknown scheme".
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Engine {
    /// `sqlite://<path>`
    Sqlite(std::path::PathBuf),
    /// `postgres://...` or `postgresql://...`: the URL itself goes to the engine, which keeps
    /// its password out of every message.
    Postgres,
}

impl Engine {
    pub fn from_url(url: &str) -> Result<Engine, String> {
        if let Some(path) = url.strip_prefix("sqlite://") {
            if path.is_empty() {
                return Err("sqlite:// store URL needs a file path".into());
            }
            Ok(Engine::Sqlite(path.into()))
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Engine::Postgres)
        } else {
            Err("store URL must start with sqlite:// or postgres://".into())
        }
    }
}

/// Opens the engine a store URL names.
pub async fn open(url: &str) -> Result<std::sync::Arc<dyn Store>, StoreError> {
    match Engine::from_url(url).map_err(|m| StoreError::Backend(m.into()))? {
        Engine::Sqlite(path) => Ok(std::sync::Arc::new(sqlite::SqliteStore::open(&path).await?)),
        Engine::Postgres => Ok(std::sync::Arc::new(
            crate::postgres::PostgresStore::open(url).await?,
        )),
    }
}
