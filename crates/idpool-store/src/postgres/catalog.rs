//! Pools, IAM roles and policies, identity providers and keys in PostgreSQL (spec §2, §6; design.md "Storage").

use async_trait::async_trait;
use postgres::Transaction;

use super::{LOCK_POOL, LOCK_POOL_QUOTA, PostgresStore, backend_msg, db_err, limit};
use crate::{
    KeyRow, KeyStore, OidcProviderRow, PoolRow, PoolStore, PoolSummary, ProviderStore, RoleRow,
    RoleStore, SamlProviderRow, StoreError, StoreResult, iam_name_key,
};

fn pool_exists(tx: &mut Transaction<'_>, id: &str) -> StoreResult<bool> {
    tx.query_opt("SELECT 1 FROM pools WHERE id = $1", &[&id])
        .map(|row| row.is_some())
        .map_err(db_err)
}

fn found(changed: u64) -> StoreResult<()> {
    if changed > 0 {
        Ok(())
    } else {
        Err(StoreError::NotFound)
    }
}

#[async_trait]
impl PoolStore for PostgresStore {
    async fn insert_pool(&self, pool: &PoolRow, max_pools: u64) -> StoreResult<()> {
        let pool = pool.clone();
        self.write(move |tx| {
            // Every instance counts and inserts under this lock, so racing creates stay
            // within the quota.
            tx.execute("SELECT pg_advisory_xact_lock($1, 0)", &[&LOCK_POOL_QUOTA])
                .map_err(db_err)?;
            let count: i64 = tx
                .query_one("SELECT COUNT(*) FROM pools", &[])
                .and_then(|row| row.try_get(0))
                .map_err(db_err)?;
            if u64::try_from(count).unwrap_or(0) >= max_pools {
                return Err(StoreError::LimitExceeded);
            }
            tx.execute(
                "INSERT INTO pools (id, name, version, created_ms, document)
                 VALUES ($1, $2, $3, $4, $5)",
                &[
                    &pool.id,
                    &pool.name,
                    &pool.version,
                    &pool.created_ms,
                    &pool.document,
                ],
            )
            .map_err(db_err)?;
            Ok(())
        })
        .await
    }

    async fn get_pool(&self, id: &str) -> StoreResult<Option<PoolRow>> {
        let id = id.to_owned();
        self.run(move |client| {
            let row = client
                .query_opt(
                    "SELECT id, name, version, created_ms, document FROM pools WHERE id = $1",
                    &[&id],
                )
                .map_err(db_err)?;
            row.map(|row| {
                Ok(PoolRow {
                    id: row.try_get(0)?,
                    name: row.try_get(1)?,
                    version: row.try_get(2)?,
                    created_ms: row.try_get(3)?,
                    document: row.try_get(4)?,
                })
            })
            .transpose()
            .map_err(db_err)
        })
        .await
    }

    async fn update_pool(&self, pool: &PoolRow) -> StoreResult<()> {
        let pool = pool.clone();
        self.write(move |tx| {
            // A concurrent update holds the row; once it commits the version no longer
            // matches, so the loser sees `ConcurrentModification`.
            let updated = match pool.version.checked_sub(1) {
                Some(expected) => {
                    tx.execute(
                        "UPDATE pools SET name = $2, document = $3, version = $4
                         WHERE id = $1 AND version = $5",
                        &[
                            &pool.id,
                            &pool.name,
                            &pool.document,
                            &pool.version,
                            &expected,
                        ],
                    )
                    .map_err(db_err)?
                        > 0
                }
                None => false,
            };
            if updated {
                Ok(())
            } else if pool_exists(tx, &pool.id)? {
                Err(StoreError::ConcurrentModification)
            } else {
                Err(StoreError::NotFound)
            }
        })
        .await
    }

    async fn delete_pool(&self, id: &str) -> StoreResult<bool> {
        let id = id.to_owned();
        self.write(move |tx| {
            // The identity transactions of this pool take the same lock.
            tx.execute(
                "SELECT pg_advisory_xact_lock($1, hashtext($2))",
                &[&LOCK_POOL, &id],
            )
            .map_err(db_err)?;
            for sql in [
                "DELETE FROM developer_users WHERE pool_id = $1",
                "DELETE FROM identity_logins WHERE pool_id = $1",
                "DELETE FROM identities WHERE pool_id = $1",
            ] {
                tx.execute(sql, &[&id]).map_err(db_err)?;
            }
            tx.execute("DELETE FROM pools WHERE id = $1", &[&id])
                .map(|n| n > 0)
                .map_err(db_err)
        })
        .await
    }

    async fn list_pools(
        &self,
        after_id: Option<&str>,
        limit_to: u32,
    ) -> StoreResult<Vec<PoolSummary>> {
        let after_id = after_id.map(str::to_owned);
        self.run(move |client| {
            let rows = match &after_id {
                Some(after) => client.query(
                    "SELECT id, name FROM pools WHERE id > $1 ORDER BY id LIMIT $2",
                    &[after, &limit(limit_to)],
                ),
                None => client.query(
                    "SELECT id, name FROM pools ORDER BY id LIMIT $1",
                    &[&limit(limit_to)],
                ),
            }
            .map_err(db_err)?;
            rows.iter()
                .map(|row| {
                    Ok(PoolSummary {
                        id: row.try_get(0)?,
                        name: row.try_get(1)?,
                    })
                })
                .collect::<Result<_, postgres::Error>>()
                .map_err(db_err)
        })
        .await
    }
}

fn role_from_row(row: &postgres::Row) -> Result<RoleRow, postgres::Error> {
    Ok(RoleRow {
        name: row.try_get(0)?,
        id: row.try_get(1)?,
        created_ms: row.try_get(2)?,
        document: row.try_get(3)?,
    })
}

/// Holds the role's row until the transaction ends, so that it cannot be deleted meanwhile.
fn lock_role(tx: &mut Transaction<'_>, key: &str) -> StoreResult<()> {
    let row = tx
        .query_opt(
            "SELECT 1 FROM roles WHERE name_key = $1 FOR UPDATE",
            &[&key],
        )
        .map_err(db_err)?;
    row.map(|_| ()).ok_or(StoreError::NotFound)
}

#[async_trait]
impl RoleStore for PostgresStore {
    async fn insert_role(&self, role: &RoleRow) -> StoreResult<()> {
        let role = role.clone();
        self.write(move |tx| {
            tx.execute(
                "INSERT INTO roles (name_key, name, id, created_ms, document)
                 VALUES ($1, $2, $3, $4, $5)",
                &[
                    &iam_name_key(&role.name),
                    &role.name,
                    &role.id,
                    &role.created_ms,
                    &role.document,
                ],
            )
            .map_err(db_err)?;
            Ok(())
        })
        .await
    }

    async fn get_role(&self, name: &str) -> StoreResult<Option<RoleRow>> {
        let key = iam_name_key(name);
        self.run(move |client| {
            let row = client
                .query_opt(
                    "SELECT name, id, created_ms, document FROM roles WHERE name_key = $1",
                    &[&key],
                )
                .map_err(db_err)?;
            row.as_ref().map(role_from_row).transpose().map_err(db_err)
        })
        .await
    }

    async fn update_role(&self, role: &RoleRow) -> StoreResult<()> {
        let key = iam_name_key(&role.name);
        let document = role.document.clone();
        self.write(move |tx| {
            found(
                tx.execute(
                    "UPDATE roles SET document = $2 WHERE name_key = $1",
                    &[&key, &document],
                )
                .map_err(db_err)?,
            )
        })
        .await
    }

    async fn delete_role(&self, name: &str) -> StoreResult<()> {
        let key = iam_name_key(name);
        self.write(move |tx| {
            lock_role(tx, &key)?;
            let has_policies = tx
                .query_opt(
                    "SELECT 1 FROM role_policies WHERE role_key = $1 LIMIT 1",
                    &[&key],
                )
                .map_err(db_err)?
                .is_some();
            if has_policies {
                return Err(StoreError::HasDependents);
            }
            tx.execute("DELETE FROM roles WHERE name_key = $1", &[&key])
                .map_err(db_err)?;
            Ok(())
        })
        .await
    }

    async fn list_roles(&self) -> StoreResult<Vec<RoleRow>> {
        self.run(|client| {
            client
                .query(
                    "SELECT name, id, created_ms, document FROM roles ORDER BY name_key",
                    &[],
                )
                .map_err(db_err)?
                .iter()
                .map(role_from_row)
                .collect::<Result<_, _>>()
                .map_err(db_err)
        })
        .await
    }

    async fn put_role_policy(&self, role: &str, policy: &str, document: &str) -> StoreResult<()> {
        let key = iam_name_key(role);
        let policy = policy.to_owned();
        let document = document.to_owned();
        self.write(move |tx| {
            lock_role(tx, &key)?;
            tx.execute(
                "INSERT INTO role_policies (role_key, policy_name, document) VALUES ($1, $2, $3)
                 ON CONFLICT (role_key, policy_name) DO UPDATE SET document = excluded.document",
                &[&key, &policy, &document],
            )
            .map_err(db_err)?;
            Ok(())
        })
        .await
    }

    async fn get_role_policy(&self, role: &str, policy: &str) -> StoreResult<Option<String>> {
        let key = iam_name_key(role);
        let policy = policy.to_owned();
        self.run(move |client| {
            let row = client
                .query_opt(
                    "SELECT document FROM role_policies WHERE role_key = $1 AND policy_name = $2",
                    &[&key, &policy],
                )
                .map_err(db_err)?;
            row.map(|row| row.try_get(0)).transpose().map_err(db_err)
        })
        .await
    }

    async fn list_role_policies(&self, role: &str) -> StoreResult<Vec<String>> {
        let key = iam_name_key(role);
        self.read(move |tx| {
            tx.query_opt("SELECT 1 FROM roles WHERE name_key = $1", &[&key])
                .map_err(db_err)?
                .ok_or(StoreError::NotFound)?;
            tx.query(
                "SELECT policy_name FROM role_policies WHERE role_key = $1 ORDER BY policy_name",
                &[&key],
            )
            .map_err(db_err)?
            .iter()
            .map(|row| row.try_get(0))
            .collect::<Result<_, _>>()
            .map_err(db_err)
        })
        .await
    }

    async fn delete_role_policy(&self, role: &str, policy: &str) -> StoreResult<()> {
        let key = iam_name_key(role);
        let policy = policy.to_owned();
        self.write(move |tx| {
            lock_role(tx, &key)?;
            found(
                tx.execute(
                    "DELETE FROM role_policies WHERE role_key = $1 AND policy_name = $2",
                    &[&key, &policy],
                )
                .map_err(db_err)?,
            )
        })
        .await
    }
}

/// The two provider tables; table names are never built from input.
#[derive(Clone, Copy)]
enum Kind {
    Oidc,
    Saml,
}

impl Kind {
    fn table(self) -> &'static str {
        match self {
            Kind::Oidc => "oidc_providers",
            Kind::Saml => "saml_providers",
        }
    }
}

/// (arn, created_ms, document), the shape both provider rows share.
type ProviderRow = (String, i64, String);

fn provider_from_row(row: &postgres::Row) -> Result<ProviderRow, postgres::Error> {
    Ok((row.try_get(0)?, row.try_get(1)?, row.try_get(2)?))
}

impl PostgresStore {
    async fn insert_provider(&self, kind: Kind, row: ProviderRow) -> StoreResult<()> {
        self.write(move |tx| {
            let sql = format!(
                "INSERT INTO {} (arn, created_ms, document) VALUES ($1, $2, $3)",
                kind.table()
            );
            tx.execute(&sql, &[&row.0, &row.1, &row.2])
                .map_err(db_err)?;
            Ok(())
        })
        .await
    }

    async fn get_provider(&self, kind: Kind, arn: &str) -> StoreResult<Option<ProviderRow>> {
        let arn = arn.to_owned();
        self.run(move |client| {
            let sql = format!(
                "SELECT arn, created_ms, document FROM {} WHERE arn = $1",
                kind.table()
            );
            let row = client.query_opt(&sql, &[&arn]).map_err(db_err)?;
            row.as_ref()
                .map(provider_from_row)
                .transpose()
                .map_err(db_err)
        })
        .await
    }

    async fn update_provider(&self, kind: Kind, arn: &str, document: &str) -> StoreResult<()> {
        let arn = arn.to_owned();
        let document = document.to_owned();
        self.write(move |tx| {
            let sql = format!("UPDATE {} SET document = $2 WHERE arn = $1", kind.table());
            found(tx.execute(&sql, &[&arn, &document]).map_err(db_err)?)
        })
        .await
    }

    async fn delete_provider(&self, kind: Kind, arn: &str) -> StoreResult<()> {
        let arn = arn.to_owned();
        self.write(move |tx| {
            let sql = format!("DELETE FROM {} WHERE arn = $1", kind.table());
            found(tx.execute(&sql, &[&arn]).map_err(db_err)?)
        })
        .await
    }

    async fn list_providers(&self, kind: Kind) -> StoreResult<Vec<ProviderRow>> {
        self.run(move |client| {
            let sql = format!(
                "SELECT arn, created_ms, document FROM {} ORDER BY arn",
                kind.table()
            );
            client
                .query(&sql, &[])
                .map_err(db_err)?
                .iter()
                .map(provider_from_row)
                .collect::<Result<_, _>>()
                .map_err(db_err)
        })
        .await
    }
}

fn oidc((arn, created_ms, document): ProviderRow) -> OidcProviderRow {
    OidcProviderRow {
        arn,
        created_ms,
        document,
    }
}

fn saml((arn, created_ms, document): ProviderRow) -> SamlProviderRow {
    SamlProviderRow {
        arn,
        created_ms,
        document,
    }
}

#[async_trait]
impl ProviderStore for PostgresStore {
    async fn insert_oidc_provider(&self, p: &OidcProviderRow) -> StoreResult<()> {
        let row = (p.arn.clone(), p.created_ms, p.document.clone());
        self.insert_provider(Kind::Oidc, row).await
    }

    async fn get_oidc_provider(&self, arn: &str) -> StoreResult<Option<OidcProviderRow>> {
        Ok(self.get_provider(Kind::Oidc, arn).await?.map(oidc))
    }

    async fn update_oidc_provider(&self, p: &OidcProviderRow) -> StoreResult<()> {
        self.update_provider(Kind::Oidc, &p.arn, &p.document).await
    }

    async fn delete_oidc_provider(&self, arn: &str) -> StoreResult<()> {
        self.delete_provider(Kind::Oidc, arn).await
    }

    async fn list_oidc_providers(&self) -> StoreResult<Vec<OidcProviderRow>> {
        Ok(self
            .list_providers(Kind::Oidc)
            .await?
            .into_iter()
            .map(oidc)
            .collect())
    }

    async fn insert_saml_provider(&self, p: &SamlProviderRow) -> StoreResult<()> {
        let row = (p.arn.clone(), p.created_ms, p.document.clone());
        self.insert_provider(Kind::Saml, row).await
    }

    async fn get_saml_provider(&self, arn: &str) -> StoreResult<Option<SamlProviderRow>> {
        Ok(self.get_provider(Kind::Saml, arn).await?.map(saml))
    }

    async fn update_saml_provider(&self, p: &SamlProviderRow) -> StoreResult<()> {
        self.update_provider(Kind::Saml, &p.arn, &p.document).await
    }

    async fn delete_saml_provider(&self, arn: &str) -> StoreResult<()> {
        self.delete_provider(Kind::Saml, arn).await
    }

    async fn list_saml_providers(&self) -> StoreResult<Vec<SamlProviderRow>> {
        Ok(self
            .list_providers(Kind::Saml)
            .await?
            .into_iter()
            .map(saml)
            .collect())
    }
}

#[async_trait]
impl KeyStore for PostgresStore {
    async fn list_keys(&self) -> StoreResult<Vec<KeyRow>> {
        let rows: Vec<(String, i64, i64, Vec<u8>)> = self
            .run(|client| {
                client
                    .query(
                        "SELECT kind, id, created_ms, material FROM keys ORDER BY kind, id",
                        &[],
                    )
                    .map_err(db_err)?
                    .iter()
                    .map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?, r.try_get(3)?)))
                    .collect::<Result<_, postgres::Error>>()
                    .map_err(db_err)
            })
            .await?;
        rows.into_iter()
            .map(|(kind, id, created_ms, material)| {
                let id = u32::try_from(id)
                    .map_err(|_| backend_msg(format!("key {kind}/{id} has an invalid id")))?;
                Ok(KeyRow {
                    kind,
                    id,
                    created_ms,
                    material,
                })
            })
            .collect()
    }

    async fn insert_key(&self, key: &KeyRow) -> StoreResult<()> {
        let key = key.clone();
        self.write(move |tx| {
            tx.execute(
                "INSERT INTO keys (kind, id, created_ms, material) VALUES ($1, $2, $3, $4)",
                &[
                    &key.kind,
                    &i64::from(key.id),
                    &key.created_ms,
                    &key.material,
                ],
            )
            .map_err(db_err)?;
            Ok(())
        })
        .await
    }

    async fn delete_key(&self, kind: &str, id: u32) -> StoreResult<()> {
        let kind = kind.to_owned();
        self.write(move |tx| {
            found(
                tx.execute(
                    "DELETE FROM keys WHERE kind = $1 AND id = $2",
                    &[&kind, &i64::from(id)],
                )
                .map_err(db_err)?,
            )
        })
        .await
    }
}
