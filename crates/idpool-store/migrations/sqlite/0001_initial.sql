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

CREATE TABLE identities (
    id           TEXT    NOT NULL PRIMARY KEY,
    pool_id      TEXT    NOT NULL REFERENCES pools (id) ON DELETE CASCADE,
    created_ms   INTEGER NOT NULL,
    modified_ms  INTEGER NOT NULL,
    disabled     INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1))
) STRICT;

-- (pool_id, id) also serves ListIdentities, which pages through a pool by identity id.
CREATE INDEX identities_by_pool ON identities (pool_id, id);

-- A login is (pool, provider, subject), never the token: one login belongs to one identity.
CREATE TABLE identity_logins (
    pool_id      TEXT NOT NULL,
    provider     TEXT NOT NULL,
    subject      TEXT NOT NULL,
    identity_id  TEXT NOT NULL REFERENCES identities (id) ON DELETE CASCADE,
    UNIQUE (pool_id, provider, subject)
) STRICT;

CREATE INDEX identity_logins_by_identity ON identity_logins (identity_id);

-- A pool has one developer provider name, so the user identifier alone is unique in it.
CREATE TABLE developer_users (
    pool_id      TEXT NOT NULL,
    provider     TEXT NOT NULL,
    user_id      TEXT NOT NULL,
    identity_id  TEXT NOT NULL REFERENCES identities (id) ON DELETE CASCADE,
    UNIQUE (pool_id, user_id)
) STRICT;

CREATE INDEX developer_users_by_identity ON developer_users (identity_id);

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
