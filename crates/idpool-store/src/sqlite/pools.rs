//! Identity pools in SQLite; quota and version checks inside one transaction (spec §2, §6).

use async_trait::async_trait;
use rusqlite::{Connection, OptionalExtension, params};

use super::{SqliteStore, changed, db_err};
use crate::{PoolRow, PoolStore, PoolSummary, StoreError, StoreResult};

pub(super) fn pool_exists(tx: &Connection, id: &str) -> StoreResult<bool> {
    tx.prepare_cached("SELECT 1 FROM pools WHERE id = ?1")
        .and_then(|mut stmt| stmt.exists([id]))
        .map_err(db_err)
}

#[async_trait]
impl PoolStore for SqliteStore {
    async fn insert_pool(&self, pool: &PoolRow, max_pools: u64) -> StoreResult<()> {
        let pool = pool.clone();
        // Counting and inserting under one write lock keeps racing creates within the quota.
        self.write(move |tx| {
            let count: i64 = tx
                .query_row("SELECT COUNT(*) FROM pools", [], |row| row.get(0))
                .map_err(db_err)?;
            if u64::try_from(count).unwrap_or(0) >= max_pools {
                return Err(StoreError::LimitExceeded);
            }
            tx.prepare_cached(
                "INSERT INTO pools (id, name, version, created_ms, document)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )
            .and_then(|mut stmt| {
                stmt.execute(params![
                    pool.id,
                    pool.name,
                    pool.version,
                    pool.created_ms,
                    pool.document
                ])
            })
            .map_err(db_err)?;
            Ok(())
        })
        .await
    }

    async fn get_pool(&self, id: &str) -> StoreResult<Option<PoolRow>> {
        let id = id.to_owned();
        self.read(move |tx| {
            tx.prepare_cached(
                "SELECT id, name, version, created_ms, document FROM pools WHERE id = ?1",
            )
            .and_then(|mut stmt| {
                stmt.query_row([&id], |row| {
                    Ok(PoolRow {
                        id: row.get(0)?,
                        name: row.get(1)?,
                        version: row.get(2)?,
                        created_ms: row.get(3)?,
                        document: row.get(4)?,
                    })
                })
                .optional()
            })
            .map_err(db_err)
        })
        .await
    }

    async fn update_pool(&self, pool: &PoolRow) -> StoreResult<()> {
        let pool = pool.clone();
        self.write(move |tx| {
            // A version that cannot be decremented matches no stored version.
            let updated = match pool.version.checked_sub(1) {
                Some(expected) => changed(
                    tx.prepare_cached(
                        "UPDATE pools SET name = ?2, document = ?3, version = ?4
                         WHERE id = ?1 AND version = ?5",
                    )
                    .and_then(|mut stmt| {
                        stmt.execute(params![
                            pool.id,
                            pool.name,
                            pool.document,
                            pool.version,
                            expected
                        ])
                    }),
                )?,
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
            // Children first and explicitly: correct even where foreign keys are not enforced.
            for sql in [
                "DELETE FROM developer_users WHERE pool_id = ?1",
                "DELETE FROM identity_logins WHERE pool_id = ?1",
                "DELETE FROM identities WHERE pool_id = ?1",
            ] {
                tx.prepare_cached(sql)
                    .and_then(|mut stmt| stmt.execute([&id]))
                    .map_err(db_err)?;
            }
            changed(
                tx.prepare_cached("DELETE FROM pools WHERE id = ?1")
                    .and_then(|mut stmt| stmt.execute([&id])),
            )
        })
        .await
    }

    async fn list_pools(
        &self,
        after_id: Option<&str>,
        limit: u32,
    ) -> StoreResult<Vec<PoolSummary>> {
        let after_id = after_id.map(str::to_owned);
        self.read(move |tx| {
            let summary = |row: &rusqlite::Row<'_>| {
                Ok(PoolSummary {
                    id: row.get(0)?,
                    name: row.get(1)?,
                })
            };
            let limit = i64::from(limit);
            // Two statements rather than `?1 IS NULL OR id > ?1`, which defeats the index.
            let rows = match &after_id {
                Some(after) => tx
                    .prepare_cached("SELECT id, name FROM pools WHERE id > ?1 ORDER BY id LIMIT ?2")
                    .and_then(|mut stmt| stmt.query_map(params![after, limit], summary)?.collect()),
                None => tx
                    .prepare_cached("SELECT id, name FROM pools ORDER BY id LIMIT ?1")
                    .and_then(|mut stmt| stmt.query_map([limit], summary)?.collect()),
            };
            rows.map_err(db_err)
        })
        .await
    }
}
