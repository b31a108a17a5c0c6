-- Migration 1 for PostgreSQL: the same tables, keys and indexes as SQLite's migration 1.
-- Text is compared with COLLATE "C" so that ordering and equality are byte order, as in SQLite
-- and as the store's contract promises, whatever the database's default collation.
-- Documents are JSON owned by idpool-core; the store never looks inside them.

CREATE TABLE pools (
    id          TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    name        TEXT   NOT NULL,
    version     BIGINT NOT NULL,
    created_ms  BIGINT NOT NULL,
    document    TEXT   NOT NULL
);

CREATE TABLE identities (
    id           TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    pool_id      TEXT COLLATE "C" NOT NULL REFERENCES pools (id) ON DELETE CASCADE,
    created_ms   BIGINT  NOT NULL,
    modified_ms  BIGINT  NOT NULL,
    disabled     BOOLEAN NOT NULL DEFAULT FALSE
);

-- ListIdentities pages through a pool by identity id; with HideDisabled it walks the partial
-- index, so a page costs the same however many merged-away identities the pool holds.
CREATE INDEX identities_by_pool ON identities (pool_id, id);
CREATE INDEX identities_enabled_by_pool ON identities (pool_id, id) WHERE NOT disabled;

-- A login is (pool, provider, subject), never the token: one login belongs to one identity,
-- and an identity holds at most one login per provider.
CREATE TABLE identity_logins (
    pool_id      TEXT COLLATE "C" NOT NULL,
    provider     TEXT COLLATE "C" NOT NULL,
    subject      TEXT COLLATE "C" NOT NULL,
    identity_id  TEXT COLLATE "C" NOT NULL REFERENCES identities (id) ON DELETE CASCADE,
    PRIMARY KEY (pool_id, provider, subject)
);

CREATE UNIQUE INDEX identity_logins_by_identity ON identity_logins (identity_id, provider);

-- A developer user is (pool, developer provider, user identifier); an identity may hold
-- several.
CREATE TABLE developer_users (
    pool_id      TEXT COLLATE "C" NOT NULL,
    provider     TEXT COLLATE "C" NOT NULL,
    user_id      TEXT COLLATE "C" NOT NULL,
    identity_id  TEXT COLLATE "C" NOT NULL REFERENCES identities (id) ON DELETE CASCADE,
    PRIMARY KEY (pool_id, provider, user_id)
);

CREATE INDEX developer_users_by_identity ON developer_users (identity_id, user_id);

-- IAM role names are unique without regard to case: name_key is the ASCII-folded name,
-- computed by the application (iam_name_key) rather than by a locale-dependent lower().
CREATE TABLE roles (
    name_key    TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    name        TEXT   NOT NULL,
    id          TEXT COLLATE "C" NOT NULL UNIQUE,
    created_ms  BIGINT NOT NULL,
    document    TEXT   NOT NULL
);

-- RESTRICT: IAM refuses DeleteRole while inline policies remain (DeleteConflict).
CREATE TABLE role_policies (
    role_key     TEXT COLLATE "C" NOT NULL REFERENCES roles (name_key) ON DELETE RESTRICT,
    policy_name  TEXT COLLATE "C" NOT NULL,
    document     TEXT NOT NULL,
    PRIMARY KEY (role_key, policy_name)
);

CREATE TABLE oidc_providers (
    arn         TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    created_ms  BIGINT NOT NULL,
    document    TEXT   NOT NULL
);

CREATE TABLE saml_providers (
    arn         TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    created_ms  BIGINT NOT NULL,
    document    TEXT   NOT NULL
);

-- The key ring (sealing, derivation and OpenID signing keys); material is secret bytes.
CREATE TABLE keys (
    kind        TEXT COLLATE "C" NOT NULL,
    id          BIGINT NOT NULL CHECK (id >= 0 AND id <= 4294967295),
    created_ms  BIGINT NOT NULL,
    material    BYTEA  NOT NULL,
    PRIMARY KEY (kind, id)
);
