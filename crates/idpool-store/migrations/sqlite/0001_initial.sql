-- Migration 1: every table idpool keeps, including the identity tables that later operations
-- fill, so that deleting a pool can remove everything in it in one transaction.
-- Documents are JSON owned by idpool-core; the store never looks inside them.

CREATE TABLE pools (
    id          TEXT    NOT NULL PRIMARY KEY,
    name        TEXT    NOT NULL,
    version     INTEGER NOT NULL,
    created_ms  INTEGER NOT NULL,
    document    TEXT    NOT NULL
) STRICT;

-- Identities and their links are WITHOUT ROWID tables: each is one b-tree on its natural key
-- instead of a rowid b-tree plus a unique index, which saves a b-tree write per row on the
-- GetId hot path.
CREATE TABLE identities (
    id           TEXT    NOT NULL PRIMARY KEY,
    pool_id      TEXT    NOT NULL REFERENCES pools (id) ON DELETE CASCADE,
    created_ms   INTEGER NOT NULL,
    modified_ms  INTEGER NOT NULL,
    disabled     INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1))
) STRICT, WITHOUT ROWID;

-- ListIdentities pages through a pool by identity id; with HideDisabled it walks the partial
-- index, so a page costs the same however many merged-away identities the pool holds.
CREATE INDEX identities_by_pool ON identities (pool_id, id);
CREATE INDEX identities_enabled_by_pool ON identities (pool_id, id) WHERE disabled = 0;

-- A login is (pool, provider, subject), never the token: one login belongs to one identity,
-- and an identity holds at most one login per provider.
CREATE TABLE identity_logins (
    pool_id      TEXT NOT NULL,
    provider     TEXT NOT NULL,
    subject      TEXT NOT NULL,
    identity_id  TEXT NOT NULL REFERENCES identities (id) ON DELETE CASCADE,
    PRIMARY KEY (pool_id, provider, subject)
) STRICT, WITHOUT ROWID;

CREATE UNIQUE INDEX identity_logins_by_identity ON identity_logins (identity_id, provider);

-- A developer user is (pool, developer provider, user identifier); an identity may hold
-- several.
CREATE TABLE developer_users (
    pool_id      TEXT NOT NULL,
    provider     TEXT NOT NULL,
    user_id      TEXT NOT NULL,
    identity_id  TEXT NOT NULL REFERENCES identities (id) ON DELETE CASCADE,
    PRIMARY KEY (pool_id, provider, user_id)
) STRICT, WITHOUT ROWID;

CREATE INDEX developer_users_by_identity ON developer_users (identity_id, user_id);

-- IAM role names are unique without regard to case: name_key is the folded name.
CREATE TABLE roles (
    name_key    TEXT    NOT NULL PRIMARY KEY,
    name        TEXT    NOT NULL,
    id          TEXT    NOT NULL UNIQUE,
    created_ms  INTEGER NOT NULL,
    document    TEXT    NOT NULL
) STRICT;

-- RESTRICT: IAM refuses DeleteRole while inline policies remain (DeleteConflict).
CREATE TABLE role_policies (
    role_key     TEXT NOT NULL REFERENCES roles (name_key) ON DELETE RESTRICT,
    policy_name  TEXT NOT NULL,
    document     TEXT NOT NULL,
    PRIMARY KEY (role_key, policy_name)
) STRICT;

CREATE TABLE oidc_providers (
    arn         TEXT    NOT NULL PRIMARY KEY,
    created_ms  INTEGER NOT NULL,
    document    TEXT    NOT NULL
) STRICT;

CREATE TABLE saml_providers (
    arn         TEXT    NOT NULL PRIMARY KEY,
    created_ms  INTEGER NOT NULL,
    document    TEXT    NOT NULL
) STRICT;

-- The key ring (sealing, derivation and OpenID signing keys); material is secret bytes.
CREATE TABLE keys (
    kind        TEXT    NOT NULL,
    id          INTEGER NOT NULL CHECK (id >= 0 AND id <= 4294967295),
    created_ms  INTEGER NOT NULL,
    material    BLOB    NOT NULL,
    PRIMARY KEY (kind, id)
) STRICT;
