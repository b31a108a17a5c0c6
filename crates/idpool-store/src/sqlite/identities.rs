//! Identities, their logins and developer users in SQLite (spec §3.3, §4.3-§4.7; design.md "Storage").

use std::any::Any;

use async_trait::async_trait;
use rusqlite::{Connection, OptionalExtension, params};

use super::{SqliteStore, changed, db_err, pools::pool_exists};
use crate::{
    DeveloperLink, IdentityRow, IdentityStore, IdentityTx, LoginLink, StoreError, StoreResult,
    TxBody,
};

/// The identity and all its links in one statement, so that even without a transaction the
/// answer is one snapshot. `part` 0 is the identity itself; logins (1) and developer users
/// (2) follow in the order [`IdentityRow`] promises.
const IDENTITY_WITH_LINKS: &str = "
    SELECT 0 AS part, pool_id, created_ms, modified_ms, disabled
      FROM identities WHERE id = ?1
    UNION ALL
    SELECT 1, provider, subject, NULL, NULL FROM identity_logins WHERE identity_id = ?1
    UNION ALL
    SELECT 2, user_id, provider, NULL, NULL FROM developer_users WHERE identity_id = ?1
    ORDER BY 1, 2, 3";

/// [`IDENTITY_WITH_LINKS`] without the identity, for pages whose identities are already read.
const LINKS: &str = "
    SELECT 1 AS part, provider, subject FROM identity_logins WHERE identity_id = ?1
    UNION ALL
    SELECT 2, user_id, provider FROM developer_users WHERE identity_id = ?1
    ORDER BY 1, 2, 3";

/// Pages of a pool by id; `disabled = 0` is spelled out so that the partial index applies.
const PAGE_FIRST: &str = "SELECT id, created_ms, modified_ms, disabled FROM identities
    WHERE pool_id = ?1 ORDER BY id LIMIT ?2";
const PAGE_AFTER: &str = "SELECT id, created_ms, modified_ms, disabled FROM identities
    WHERE pool_id = ?1 AND id > ?2 ORDER BY id LIMIT ?3";
const ENABLED_PAGE_FIRST: &str = "SELECT id, created_ms, modified_ms, disabled FROM identities
    WHERE pool_id = ?1 AND disabled = 0 ORDER BY id LIMIT ?2";
const ENABLED_PAGE_AFTER: &str = "SELECT id, created_ms, modified_ms, disabled FROM identities
    WHERE pool_id = ?1 AND disabled = 0 AND id > ?2 ORDER BY id LIMIT ?3";

/// One row of [`IDENTITY_WITH_LINKS`] or [`LINKS`], sorted into `identity`.
fn add_link(
    identity: &mut IdentityRow,
    part: i64,
    row: &rusqlite::Row<'_>,
) -> rusqlite::Result<()> {
    if part == 1 {
        identity.logins.push(LoginLink {
            provider: row.get(1)?,
            subject: row.get(2)?,
        });
    } else {
        identity.developer_users.push(DeveloperLink {
            user_id: row.get(1)?,
            provider: row.get(2)?,
        });
    }
    Ok(())
}

fn load_identity(conn: &Connection, id: &str) -> StoreResult<Option<IdentityRow>> {
    let load = || -> rusqlite::Result<Option<IdentityRow>> {
        let mut stmt = conn.prepare_cached(IDENTITY_WITH_LINKS)?;
        let mut rows = stmt.query([id])?;
        let mut identity: Option<IdentityRow> = None;
        while let Some(row) = rows.next()? {
            let part: i64 = row.get(0)?;
            match (&mut identity, part) {
                (_, 0) => {
                    identity = Some(IdentityRow {
                        id: id.to_owned(),
                        pool_id: row.get(1)?,
                        created_ms: row.get(2)?,
                        modified_ms: row.get(3)?,
                        disabled: row.get(4)?,
                        logins: Vec::new(),
                        developer_users: Vec::new(),
                    });
                }
                (Some(identity), part) => add_link(identity, part, row)?,
                // Links sort after their identity; links without one cannot exist (foreign keys).
                (None, _) => {}
            }
        }
        Ok(identity)
    };
    load().map_err(db_err)
}

fn list_page(
    conn: &Connection,
    pool_id: &str,
    after_id: Option<&str>,
    limit: u32,
    hide_disabled: bool,
) -> StoreResult<Vec<IdentityRow>> {
    let identity = |row: &rusqlite::Row<'_>| {
        Ok(IdentityRow {
            id: row.get(0)?,
            pool_id: pool_id.to_owned(),
            created_ms: row.get(1)?,
            modified_ms: row.get(2)?,
            disabled: row.get(3)?,
            logins: Vec::new(),
            developer_users: Vec::new(),
        })
    };
    let limit = i64::from(limit);
    let read = || -> rusqlite::Result<Vec<IdentityRow>> {
        let mut page: Vec<IdentityRow> = match (after_id, hide_disabled) {
            (None, hide) => {
                let sql = if hide { ENABLED_PAGE_FIRST } else { PAGE_FIRST };
                let mut stmt = conn.prepare_cached(sql)?;
                stmt.query_map(params![pool_id, limit], identity)?
                    .collect::<rusqlite::Result<_>>()?
            }
            (Some(after), hide) => {
                let sql = if hide { ENABLED_PAGE_AFTER } else { PAGE_AFTER };
                let mut stmt = conn.prepare_cached(sql)?;
                stmt.query_map(params![pool_id, after, limit], identity)?
                    .collect::<rusqlite::Result<_>>()?
            }
        };
        let mut links = conn.prepare_cached(LINKS)?;
        for identity in &mut page {
            let mut rows = links.query([&identity.id])?;
            while let Some(row) = rows.next()? {
                add_link(identity, row.get(0)?, row)?;
            }
        }
        Ok(page)
    };
    read().map_err(db_err)
}

/// The statements of [`IdentityTx`] on the writer's connection, inside its transaction.
struct SqliteTx<'c> {
    conn: &'c Connection,
}

impl SqliteTx<'_> {
    fn execute(&self, sql: &str, params: impl rusqlite::Params) -> StoreResult<bool> {
        changed(
            self.conn
                .prepare_cached(sql)
                .and_then(|mut stmt| stmt.execute(params)),
        )
    }

    fn lookup(&self, sql: &str, params: impl rusqlite::Params) -> StoreResult<Option<String>> {
        self.conn
            .prepare_cached(sql)
            .and_then(|mut stmt| stmt.query_row(params, |row| row.get(0)).optional())
            .map_err(db_err)
    }

    fn touch(&self, identity_id: &str, now_ms: i64) -> StoreResult<()> {
        self.execute(
            "UPDATE identities SET modified_ms = ?2 WHERE id = ?1",
            params![identity_id, now_ms],
        )
        .map(|_| ())
    }

    fn pool_of(&self, identity_id: &str) -> StoreResult<Option<String>> {
        self.lookup(
            "SELECT pool_id FROM identities WHERE id = ?1",
            [identity_id],
        )
    }
}

impl IdentityTx for SqliteTx<'_> {
    fn pool_exists(&mut self, pool_id: &str) -> StoreResult<bool> {
        pool_exists(self.conn, pool_id)
    }

    fn get_identity(&mut self, id: &str) -> StoreResult<Option<IdentityRow>> {
        load_identity(self.conn, id)
    }

    fn identity_by_login(
        &mut self,
        pool_id: &str,
        provider: &str,
        subject: &str,
    ) -> StoreResult<Option<String>> {
        self.lookup(
            "SELECT identity_id FROM identity_logins
             WHERE pool_id = ?1 AND provider = ?2 AND subject = ?3",
            [pool_id, provider, subject],
        )
    }

    fn identity_by_developer_user(
        &mut self,
        pool_id: &str,
        provider: &str,
        user_id: &str,
    ) -> StoreResult<Option<String>> {
        self.lookup(
            "SELECT identity_id FROM developer_users
             WHERE pool_id = ?1 AND provider = ?2 AND user_id = ?3",
            [pool_id, provider, user_id],
        )
    }

    fn insert_identity(&mut self, id: &str, pool_id: &str, now_ms: i64) -> StoreResult<()> {
        // Selecting the pool makes a missing pool insert nothing instead of breaking a key.
        let inserted = self.execute(
            "INSERT INTO identities (id, pool_id, created_ms, modified_ms, disabled)
             SELECT ?1, id, ?3, ?3, 0 FROM pools WHERE id = ?2",
            params![id, pool_id, now_ms],
        )?;
        if inserted {
            Ok(())
        } else {
            Err(StoreError::NotFound)
        }
    }

    fn link_login(&mut self, identity_id: &str, link: &LoginLink, now_ms: i64) -> StoreResult<()> {
        // The login takes its pool from the identity, so the two can never disagree.
        let linked = self.execute(
            "INSERT INTO identity_logins (pool_id, provider, subject, identity_id)
             SELECT pool_id, ?2, ?3, id FROM identities WHERE id = ?1",
            params![identity_id, link.provider, link.subject],
        )?;
        if !linked {
            return Err(StoreError::NotFound);
        }
        self.touch(identity_id, now_ms)
    }

    fn unlink_login(
        &mut self,
        identity_id: &str,
        provider: &str,
        now_ms: i64,
    ) -> StoreResult<bool> {
        let unlinked = self.execute(
            "DELETE FROM identity_logins WHERE identity_id = ?1 AND provider = ?2",
            params![identity_id, provider],
        )?;
        if unlinked {
            self.touch(identity_id, now_ms)?;
        }
        Ok(unlinked)
    }

    fn link_developer_user(
        &mut self,
        identity_id: &str,
        link: &DeveloperLink,
        now_ms: i64,
    ) -> StoreResult<()> {
        let linked = self.execute(
            "INSERT INTO developer_users (pool_id, provider, user_id, identity_id)
             SELECT pool_id, ?2, ?3, id FROM identities WHERE id = ?1",
            params![identity_id, link.provider, link.user_id],
        )?;
        if !linked {
            return Err(StoreError::NotFound);
        }
        self.touch(identity_id, now_ms)
    }

    fn unlink_developer_user(
        &mut self,
        identity_id: &str,
        link: &DeveloperLink,
        now_ms: i64,
    ) -> StoreResult<bool> {
        let unlinked = self.execute(
            "DELETE FROM developer_users
             WHERE identity_id = ?1 AND user_id = ?2 AND provider = ?3",
            params![identity_id, link.user_id, link.provider],
        )?;
        if unlinked {
            self.touch(identity_id, now_ms)?;
        }
        Ok(unlinked)
    }

    fn move_links(&mut self, from: &str, to: &str, now_ms: i64) -> StoreResult<()> {
        // Links carry their pool, so both identities must be of one pool; `to` in another
        // pool is as absent as a missing one.
        let Some(pool) = self.pool_of(from)? else {
            return Err(StoreError::NotFound);
        };
        if self.pool_of(to)?.as_deref() != Some(pool.as_str()) {
            return Err(StoreError::NotFound);
        }
        if from == to {
            return Ok(());
        }
        // A provider both already hold breaks the (identity, provider) key: `Conflict`.
        self.execute(
            "UPDATE identity_logins SET identity_id = ?2 WHERE identity_id = ?1",
            [from, to],
        )?;
        self.execute(
            "UPDATE developer_users SET identity_id = ?2 WHERE identity_id = ?1",
            [from, to],
        )?;
        self.touch(from, now_ms)?;
        self.touch(to, now_ms)
    }

    fn set_disabled(&mut self, identity_id: &str, disabled: bool, now_ms: i64) -> StoreResult<()> {
        let updated = self.execute(
            "UPDATE identities SET disabled = ?2, modified_ms = ?3 WHERE id = ?1",
            params![identity_id, disabled, now_ms],
        )?;
        if updated {
            Ok(())
        } else {
            Err(StoreError::NotFound)
        }
    }

    fn delete_identity(&mut self, identity_id: &str) -> StoreResult<bool> {
        // Links first and explicitly, as for pools: correct even without foreign keys.
        self.execute(
            "DELETE FROM identity_logins WHERE identity_id = ?1",
            [identity_id],
        )?;
        self.execute(
            "DELETE FROM developer_users WHERE identity_id = ?1",
            [identity_id],
        )?;
        self.execute("DELETE FROM identities WHERE id = ?1", [identity_id])
    }
}

#[async_trait]
impl IdentityStore for SqliteStore {
    async fn transact_boxed(&self, mut body: TxBody) -> StoreResult<Box<dyn Any + Send>> {
        // One writer runs bodies one after another, so a body never needs a second run.
        self.write(move |conn| body(&mut SqliteTx { conn })).await
    }

    async fn get_identity(&self, id: &str) -> StoreResult<Option<IdentityRow>> {
        let id = id.to_owned();
        self.read_statement(move |conn| load_identity(conn, &id))
            .await
    }

    async fn list_identities(
        &self,
        pool_id: &str,
        after_id: Option<&str>,
        limit: u32,
        hide_disabled: bool,
    ) -> StoreResult<Vec<IdentityRow>> {
        let pool_id = pool_id.to_owned();
        let after_id = after_id.map(str::to_owned);
        self.read(move |conn| list_page(conn, &pool_id, after_id.as_deref(), limit, hide_disabled))
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The query plan of `sql`, one line per step.
    fn plan(conn: &Connection, sql: &str, params: impl rusqlite::Params) -> Vec<String> {
        conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
            .and_then(|mut stmt| stmt.query_map(params, |row| row.get(3))?.collect())
            .unwrap()
    }

    fn schema() -> Connection {
        let mut conn = Connection::open_in_memory().unwrap();
        super::super::migrate::apply(&mut conn).unwrap();
        conn
    }

    /// Pages must come straight off an index in id order: no table scan, no sort.
    #[test]
    fn pages_read_an_index_in_order() {
        let conn = schema();
        for (sql, index, after) in [
            (PAGE_FIRST, "identities_by_pool", false),
            (PAGE_AFTER, "identities_by_pool", true),
            (ENABLED_PAGE_FIRST, "identities_enabled_by_pool", false),
            (ENABLED_PAGE_AFTER, "identities_enabled_by_pool", true),
        ] {
            let steps = if after {
                plan(&conn, sql, params!["p", "a", 5])
            } else {
                plan(&conn, sql, params!["p", 5])
            };
            assert_eq!(steps.len(), 1, "{sql}: {steps:?}");
            assert!(
                steps[0].starts_with("SEARCH") && steps[0].contains(index),
                "{sql}: {steps:?}"
            );
        }
    }

    /// Every lookup by identity or by login is an index search.
    #[test]
    fn lookups_search_indexes() {
        let conn = schema();
        for sql in [IDENTITY_WITH_LINKS, LINKS] {
            for step in plan(&conn, sql, ["i"]) {
                assert!(!step.starts_with("SCAN"), "{sql}: scans a table: {step}");
            }
        }
        let by_identity: [(&str, &str, &[&str]); 2] = [
            (
                "DELETE FROM identity_logins WHERE identity_id = ?1 AND provider = ?2",
                "identity_logins_by_identity",
                &["i", "p"],
            ),
            (
                "DELETE FROM developer_users
                 WHERE identity_id = ?1 AND user_id = ?2 AND provider = ?3",
                "developer_users_by_identity",
                &["i", "u", "p"],
            ),
        ];
        for (sql, index, args) in by_identity {
            let steps = plan(&conn, sql, rusqlite::params_from_iter(args));
            assert!(
                steps.iter().all(|s| s.starts_with("SEARCH")) && steps[0].contains(index),
                "{sql}: {steps:?}"
            );
        }
    }
}
