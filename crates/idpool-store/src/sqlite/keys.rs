//! The key ring in SQLite, one row per (kind, id) (design.md "Credentials are sealed, not stored").

use async_trait::async_trait;
use rusqlite::params;

use super::{SqliteStore, backend_msg, changed, db_err};
use crate::{KeyRow, KeyStore, StoreError, StoreResult};

#[async_trait]
impl KeyStore for SqliteStore {
    async fn list_keys(&self) -> StoreResult<Vec<KeyRow>> {
        let rows: Vec<(String, i64, i64, Vec<u8>)> = self
            .read(|tx| {
                tx.prepare_cached(
                    "SELECT kind, id, created_ms, material FROM keys ORDER BY kind, id",
                )
                .and_then(|mut stmt| {
                    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
                        .collect()
                })
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
            tx.prepare_cached(
                "INSERT INTO keys (kind, id, created_ms, material) VALUES (?1, ?2, ?3, ?4)",
            )
            .and_then(|mut stmt| {
                stmt.execute(params![key.kind, key.id, key.created_ms, key.material])
            })
            .map_err(db_err)?;
            Ok(())
        })
        .await
    }

    async fn delete_key(&self, kind: &str, id: u32) -> StoreResult<()> {
        let kind = kind.to_owned();
        self.write(move |tx| {
            let deleted = changed(
                tx.prepare_cached("DELETE FROM keys WHERE kind = ?1 AND id = ?2")
                    .and_then(|mut stmt| stmt.execute(params![kind, id])),
            )?;
            if deleted {
                Ok(())
            } else {
                Err(StoreError::NotFound)
            }
        })
        .await
    }
}
