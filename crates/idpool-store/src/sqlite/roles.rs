//! IAM roles and inline policies in SQLite; names unique regardless of case (design.md "Storage").

use async_trait::async_trait;
use rusqlite::{Connection, OptionalExtension, params};

use super::{SqliteStore, changed, db_err};
use crate::{RoleRow, RoleStore, StoreError, StoreResult, iam_name_key};

fn role_exists(tx: &Connection, key: &str) -> StoreResult<bool> {
    tx.prepare_cached("SELECT 1 FROM roles WHERE name_key = ?1")
        .and_then(|mut stmt| stmt.exists([key]))
        .map_err(db_err)
}

fn require_role(tx: &Connection, key: &str) -> StoreResult<()> {
    if role_exists(tx, key)? {
        Ok(())
    } else {
        Err(StoreError::NotFound)
    }
}

fn role_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<RoleRow> {
    Ok(RoleRow {
        name: row.get(0)?,
        id: row.get(1)?,
        created_ms: row.get(2)?,
        document: row.get(3)?,
    })
}

#[async_trait]
impl RoleStore for SqliteStore {
    async fn insert_role(&self, role: &RoleRow) -> StoreResult<()> {
        let role = role.clone();
        self.write(move |tx| {
            tx.prepare_cached(
                "INSERT INTO roles (name_key, name, id, created_ms, document)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )
            .and_then(|mut stmt| {
                stmt.execute(params![
                    iam_name_key(&role.name),
                    role.name,
                    role.id,
                    role.created_ms,
                    role.document
                ])
            })
            .map_err(db_err)?;
            Ok(())
        })
        .await
    }

    async fn get_role(&self, name: &str) -> StoreResult<Option<RoleRow>> {
        let key = iam_name_key(name);
        self.read(move |tx| {
            tx.prepare_cached(
                "SELECT name, id, created_ms, document FROM roles WHERE name_key = ?1",
            )
            .and_then(|mut stmt| stmt.query_row([&key], role_from_row).optional())
            .map_err(db_err)
        })
        .await
    }

    async fn update_role(&self, role: &RoleRow) -> StoreResult<()> {
        let key = iam_name_key(&role.name);
        let document = role.document.clone();
        self.write(move |tx| {
            let updated = changed(
                tx.prepare_cached("UPDATE roles SET document = ?2 WHERE name_key = ?1")
                    .and_then(|mut stmt| stmt.execute(params![key, document])),
            )?;
            if updated {
                Ok(())
            } else {
                Err(StoreError::NotFound)
            }
        })
        .await
    }

    async fn delete_role(&self, name: &str) -> StoreResult<()> {
        let key = iam_name_key(name);
        self.write(move |tx| {
            require_role(tx, &key)?;
            let has_policies = tx
                .prepare_cached("SELECT 1 FROM role_policies WHERE role_key = ?1")
                .and_then(|mut stmt| stmt.exists([&key]))
                .map_err(db_err)?;
            if has_policies {
                return Err(StoreError::HasDependents);
            }
            tx.prepare_cached("DELETE FROM roles WHERE name_key = ?1")
                .and_then(|mut stmt| stmt.execute([&key]))
                .map_err(db_err)?;
            Ok(())
        })
        .await
    }

    async fn list_roles(&self) -> StoreResult<Vec<RoleRow>> {
        self.read(|tx| {
            tx.prepare_cached("SELECT name, id, created_ms, document FROM roles ORDER BY name_key")
                .and_then(|mut stmt| stmt.query_map([], role_from_row)?.collect())
                .map_err(db_err)
        })
        .await
    }

    async fn put_role_policy(&self, role: &str, policy: &str, document: &str) -> StoreResult<()> {
        let key = iam_name_key(role);
        let policy = policy.to_owned();
        let document = document.to_owned();
        self.write(move |tx| {
            require_role(tx, &key)?;
            tx.prepare_cached(
                "INSERT INTO role_policies (role_key, policy_name, document) VALUES (?1, ?2, ?3)
                 ON CONFLICT (role_key, policy_name) DO UPDATE SET document = excluded.document",
            )
            .and_then(|mut stmt| stmt.execute(params![key, policy, document]))
            .map_err(db_err)?;
            Ok(())
        })
        .await
    }

    async fn get_role_policy(&self, role: &str, policy: &str) -> StoreResult<Option<String>> {
        let key = iam_name_key(role);
        let policy = policy.to_owned();
        self.read(move |tx| {
            tx.prepare_cached(
                "SELECT document FROM role_policies WHERE role_key = ?1 AND policy_name = ?2",
            )
            .and_then(|mut stmt| {
                stmt.query_row(params![key, policy], |row| row.get(0))
                    .optional()
            })
            .map_err(db_err)
        })
        .await
    }

    async fn list_role_policies(&self, role: &str) -> StoreResult<Vec<String>> {
        let key = iam_name_key(role);
        self.read(move |tx| {
            require_role(tx, &key)?;
            tx.prepare_cached(
                "SELECT policy_name FROM role_policies WHERE role_key = ?1 ORDER BY policy_name",
            )
            .and_then(|mut stmt| stmt.query_map([&key], |row| row.get(0))?.collect())
            .map_err(db_err)
        })
        .await
    }

    async fn delete_role_policy(&self, role: &str, policy: &str) -> StoreResult<()> {
        let key = iam_name_key(role);
        let policy = policy.to_owned();
        self.write(move |tx| {
            require_role(tx, &key)?;
            let deleted = changed(
                tx.prepare_cached(
                    "DELETE FROM role_policies WHERE role_key = ?1 AND policy_name = ?2",
                )
                .and_then(|mut stmt| stmt.execute(params![key, policy])),
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
