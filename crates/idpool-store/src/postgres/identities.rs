//! Identities, their logins and developer users in PostgreSQL (spec §3.3, §4.3-§4.7; design.md "Storage").
//!
//! A transaction body locks each pool it touches (a transaction-scoped advisory lock) before
//! its first statement on that pool, so the bodies of one pool run one after another across
//! every instance, as they do on SQLite's single writer, while other pools go on in parallel.
//! Statements whose unique keys may refuse them run inside a savepoint, so that `Conflict`
//! leaves the rest of the body's work intact, as on SQLite.

use std::any::Any;
use std::collections::BTreeMap;

use async_trait::async_trait;
use postgres::{GenericClient, Transaction};

use super::{LOCK_POOL, PostgresStore, backend_msg, db_err, limit, retrying};
use crate::{
    DeveloperLink, IdentityRow, IdentityStore, IdentityTx, LoginLink, StoreError, StoreResult,
    TxBody,
};

/// The identity and all its links in one statement, so that the answer is one snapshot.
/// `part` 0 is the identity itself; logins (1) and developer users (2) follow in the order
/// [`IdentityRow`] promises.
const IDENTITY_WITH_LINKS: &str = r#"
    SELECT part, a, b, created_ms, modified_ms, disabled FROM (
        SELECT 0 AS part, pool_id AS a, NULL::text AS b, created_ms, modified_ms, disabled
          FROM identities WHERE id = $1
        UNION ALL
        SELECT 1, provider, subject, NULL, NULL, NULL
          FROM identity_logins WHERE identity_id = $1
        UNION ALL
        SELECT 2, user_id, provider, NULL, NULL, NULL
          FROM developer_users WHERE identity_id = $1
    ) AS rows
    ORDER BY part, a COLLATE "C", b COLLATE "C""#;

/// The links of several identities, for a page whose identities are already read.
const LINKS_OF: &str = r#"
    SELECT identity_id, part, a, b FROM (
        SELECT identity_id, 1 AS part, provider AS a, subject AS b
          FROM identity_logins WHERE identity_id = ANY($1)
        UNION ALL
        SELECT identity_id, 2, user_id, provider
          FROM developer_users WHERE identity_id = ANY($1)
    ) AS rows
    ORDER BY part, a COLLATE "C", b COLLATE "C""#;

const PAGE_FIRST: &str = "SELECT id, created_ms, modified_ms, disabled FROM identities
    WHERE pool_id = $1 ORDER BY id LIMIT $2";
const PAGE_AFTER: &str = "SELECT id, created_ms, modified_ms, disabled FROM identities
    WHERE pool_id = $1 AND id > $2 ORDER BY id LIMIT $3";
const ENABLED_PAGE_FIRST: &str = "SELECT id, created_ms, modified_ms, disabled FROM identities
    WHERE pool_id = $1 AND NOT disabled ORDER BY id LIMIT $2";
const ENABLED_PAGE_AFTER: &str = "SELECT id, created_ms, modified_ms, disabled FROM identities
    WHERE pool_id = $1 AND NOT disabled AND id > $2 ORDER BY id LIMIT $3";

/// Files one link row (`part` 1 or 2, then `a`, `b`) under its identity.
fn add_link(identity: &mut IdentityRow, part: i32, a: String, b: String) {
    if part == 1 {
        identity.logins.push(LoginLink {
            provider: a,
            subject: b,
        });
    } else {
        identity.developer_users.push(DeveloperLink {
            user_id: a,
            provider: b,
        });
    }
}

fn load_identity(client: &mut impl GenericClient, id: &str) -> StoreResult<Option<IdentityRow>> {
    let rows = client.query(IDENTITY_WITH_LINKS, &[&id]).map_err(db_err)?;
    let mut identity: Option<IdentityRow> = None;
    for row in &rows {
        let part: i32 = row.try_get(0).map_err(db_err)?;
        match (&mut identity, part) {
            (_, 0) => {
                identity = Some(IdentityRow {
                    id: id.to_owned(),
                    pool_id: row.try_get(1).map_err(db_err)?,
                    created_ms: row.try_get(3).map_err(db_err)?,
                    modified_ms: row.try_get(4).map_err(db_err)?,
                    disabled: row.try_get(5).map_err(db_err)?,
                    logins: Vec::new(),
                    developer_users: Vec::new(),
                });
            }
            (Some(identity), part) => add_link(
                identity,
                part,
                row.try_get(1).map_err(db_err)?,
                row.try_get(2).map_err(db_err)?,
            ),
            // Links sort after their identity; links without one cannot exist (foreign keys).
            (None, _) => {}
        }
    }
    Ok(identity)
}

fn list_page(
    tx: &mut Transaction<'_>,
    pool_id: &str,
    after_id: Option<&str>,
    page_limit: u32,
    hide_disabled: bool,
) -> StoreResult<Vec<IdentityRow>> {
    let n = limit(page_limit);
    let rows = match (after_id, hide_disabled) {
        (None, hide) => {
            let sql = if hide { ENABLED_PAGE_FIRST } else { PAGE_FIRST };
            tx.query(sql, &[&pool_id, &n])
        }
        (Some(after), hide) => {
            let sql = if hide { ENABLED_PAGE_AFTER } else { PAGE_AFTER };
            tx.query(sql, &[&pool_id, &after, &n])
        }
    }
    .map_err(db_err)?;
    let mut page = Vec::with_capacity(rows.len());
    for row in &rows {
        page.push(IdentityRow {
            id: row.try_get(0).map_err(db_err)?,
            pool_id: pool_id.to_owned(),
            created_ms: row.try_get(1).map_err(db_err)?,
            modified_ms: row.try_get(2).map_err(db_err)?,
            disabled: row.try_get(3).map_err(db_err)?,
            logins: Vec::new(),
            developer_users: Vec::new(),
        });
    }
    if page.is_empty() {
        return Ok(page);
    }
    let ids: Vec<&str> = page.iter().map(|i| i.id.as_str()).collect();
    let position: BTreeMap<&str, usize> = ids.iter().enumerate().map(|(n, id)| (*id, n)).collect();
    let links = tx.query(LINKS_OF, &[&ids]).map_err(db_err)?;
    let mut filed: Vec<(usize, i32, String, String)> = Vec::with_capacity(links.len());
    for row in &links {
        let owner: &str = row.try_get(0).map_err(db_err)?;
        if let Some(&n) = position.get(owner) {
            filed.push((
                n,
                row.try_get(1).map_err(db_err)?,
                row.try_get(2).map_err(db_err)?,
                row.try_get(3).map_err(db_err)?,
            ));
        }
    }
    // Rows arrive sorted by link, so each identity's links keep that order.
    for (n, part, a, b) in filed {
        add_link(&mut page[n], part, a, b);
    }
    Ok(page)
}

/// The statements of [`IdentityTx`] inside one write transaction.
struct PgTx<'a, 't> {
    tx: &'a mut Transaction<'t>,
    /// Pools whose advisory lock this transaction holds.
    locked: Vec<String>,
    /// Set when a statement failed outside a savepoint: PostgreSQL has then aborted the
    /// transaction, so it must not be reported as committed even if the body carried on.
    aborted: bool,
}

impl PgTx<'_, '_> {
    /// Notes a failure that aborted the transaction.
    fn check<T>(&mut self, result: Result<T, postgres::Error>) -> StoreResult<T> {
        result.map_err(|e| {
            self.aborted = true;
            db_err(e)
        })
    }

    fn lock_pool(&mut self, pool_id: &str) -> StoreResult<()> {
        if self.locked.iter().any(|p| p == pool_id) {
            return Ok(());
        }
        let locked = self.tx.execute(
            "SELECT pg_advisory_xact_lock($1, hashtext($2))",
            &[&LOCK_POOL, &pool_id],
        );
        self.check(locked)?;
        self.locked.push(pool_id.to_owned());
        Ok(())
    }

    /// The pool of an identity, locked; `None` when the identity does not exist. An
    /// identity never changes pool, so reading it before the lock is safe.
    fn lock_pool_of(&mut self, identity_id: &str) -> StoreResult<Option<String>> {
        let row = self.tx.query_opt(
            "SELECT pool_id FROM identities WHERE id = $1",
            &[&identity_id],
        );
        let pool: Option<String> = match self.check(row)? {
            Some(row) => Some(self.check(row.try_get(0))?),
            None => None,
        };
        if let Some(pool) = &pool {
            self.lock_pool(pool)?;
        }
        Ok(pool)
    }

    /// Runs `f` in a savepoint: on failure only its own changes are undone.
    fn guarded<T>(
        &mut self,
        f: impl FnOnce(&mut Transaction<'_>) -> Result<T, postgres::Error>,
    ) -> StoreResult<T> {
        let outcome = match self.tx.savepoint("statement") {
            Err(e) => Err(e),
            Ok(mut savepoint) => match f(&mut savepoint) {
                Ok(value) => savepoint.commit().map(|()| Ok(value)),
                Err(e) => savepoint.rollback().map(|()| Err(db_err(e))),
            },
        };
        // Only a failure to open or close the savepoint leaves the transaction aborted.
        self.check(outcome)?
    }

    fn execute(
        &mut self,
        sql: &str,
        params: &[&(dyn postgres::types::ToSql + Sync)],
    ) -> StoreResult<bool> {
        let result = self.tx.execute(sql, params);
        self.check(result).map(|n| n > 0)
    }

    fn lookup(
        &mut self,
        sql: &str,
        params: &[&(dyn postgres::types::ToSql + Sync)],
    ) -> StoreResult<Option<String>> {
        let row = self.tx.query_opt(sql, params);
        match self.check(row)? {
            Some(row) => self.check(row.try_get(0)).map(Some),
            None => Ok(None),
        }
    }

    fn touch(&mut self, identity_id: &str, now_ms: i64) -> StoreResult<()> {
        self.execute(
            "UPDATE identities SET modified_ms = $2 WHERE id = $1",
            &[&identity_id, &now_ms],
        )
        .map(|_| ())
    }
}

impl IdentityTx for PgTx<'_, '_> {
    fn pool_exists(&mut self, pool_id: &str) -> StoreResult<bool> {
        self.lock_pool(pool_id)?;
        self.lookup("SELECT id FROM pools WHERE id = $1", &[&pool_id])
            .map(|row| row.is_some())
    }

    fn get_identity(&mut self, id: &str) -> StoreResult<Option<IdentityRow>> {
        self.lock_pool_of(id)?;
        let loaded = load_identity(self.tx, id);
        if loaded.is_err() {
            self.aborted = true;
        }
        loaded
    }

    fn identity_by_login(
        &mut self,
        pool_id: &str,
        provider: &str,
        subject: &str,
    ) -> StoreResult<Option<String>> {
        self.lock_pool(pool_id)?;
        self.lookup(
            "SELECT identity_id FROM identity_logins
             WHERE pool_id = $1 AND provider = $2 AND subject = $3",
            &[&pool_id, &provider, &subject],
        )
    }

    fn identity_by_developer_user(
        &mut self,
        pool_id: &str,
        provider: &str,
        user_id: &str,
    ) -> StoreResult<Option<String>> {
        self.lock_pool(pool_id)?;
        self.lookup(
            "SELECT identity_id FROM developer_users
             WHERE pool_id = $1 AND provider = $2 AND user_id = $3",
            &[&pool_id, &provider, &user_id],
        )
    }

    fn insert_identity(&mut self, id: &str, pool_id: &str, now_ms: i64) -> StoreResult<()> {
        self.lock_pool(pool_id)?;
        // Selecting the pool makes a missing pool insert nothing instead of breaking a key.
        let inserted = self.guarded(|tx| {
            tx.execute(
                "INSERT INTO identities (id, pool_id, created_ms, modified_ms, disabled)
                 SELECT $1, id, $3, $3, FALSE FROM pools WHERE id = $2",
                &[&id, &pool_id, &now_ms],
            )
        })?;
        if inserted > 0 {
            Ok(())
        } else {
            Err(StoreError::NotFound)
        }
    }

    fn link_login(&mut self, identity_id: &str, link: &LoginLink, now_ms: i64) -> StoreResult<()> {
        self.lock_pool_of(identity_id)?;
        // The login takes its pool from the identity, so the two can never disagree.
        let linked = self.guarded(|tx| {
            tx.execute(
                "INSERT INTO identity_logins (pool_id, provider, subject, identity_id)
                 SELECT pool_id, $2, $3, id FROM identities WHERE id = $1",
                &[&identity_id, &link.provider, &link.subject],
            )
        })?;
        if linked == 0 {
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
        self.lock_pool_of(identity_id)?;
        let unlinked = self.execute(
            "DELETE FROM identity_logins WHERE identity_id = $1 AND provider = $2",
            &[&identity_id, &provider],
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
        self.lock_pool_of(identity_id)?;
        let linked = self.guarded(|tx| {
            tx.execute(
                "INSERT INTO developer_users (pool_id, provider, user_id, identity_id)
                 SELECT pool_id, $2, $3, id FROM identities WHERE id = $1",
                &[&identity_id, &link.provider, &link.user_id],
            )
        })?;
        if linked == 0 {
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
        self.lock_pool_of(identity_id)?;
        let unlinked = self.execute(
            "DELETE FROM developer_users
             WHERE identity_id = $1 AND user_id = $2 AND provider = $3",
            &[&identity_id, &link.user_id, &link.provider],
        )?;
        if unlinked {
            self.touch(identity_id, now_ms)?;
        }
        Ok(unlinked)
    }

    fn move_links(&mut self, from: &str, to: &str, now_ms: i64) -> StoreResult<()> {
        // Links carry their pool, so both identities must be of one pool; `to` in another
        // pool is as absent as a missing one.
        let Some(pool) = self.lock_pool_of(from)? else {
            return Err(StoreError::NotFound);
        };
        if self.lock_pool_of(to)?.as_deref() != Some(pool.as_str()) {
            return Err(StoreError::NotFound);
        }
        if from == to {
            return Ok(());
        }
        // A provider both already hold breaks the (identity, provider) key: `Conflict`, and
        // the savepoint undoes whichever half already moved.
        self.guarded(|tx| {
            tx.execute(
                "UPDATE identity_logins SET identity_id = $2 WHERE identity_id = $1",
                &[&from, &to],
            )?;
            tx.execute(
                "UPDATE developer_users SET identity_id = $2 WHERE identity_id = $1",
                &[&from, &to],
            )
        })?;
        self.touch(from, now_ms)?;
        self.touch(to, now_ms)
    }

    fn set_disabled(&mut self, identity_id: &str, disabled: bool, now_ms: i64) -> StoreResult<()> {
        self.lock_pool_of(identity_id)?;
        let updated = self.execute(
            "UPDATE identities SET disabled = $2, modified_ms = $3 WHERE id = $1",
            &[&identity_id, &disabled, &now_ms],
        )?;
        if updated {
            Ok(())
        } else {
            Err(StoreError::NotFound)
        }
    }

    fn delete_identity(&mut self, identity_id: &str) -> StoreResult<bool> {
        self.lock_pool_of(identity_id)?;
        self.execute(
            "DELETE FROM identity_logins WHERE identity_id = $1",
            &[&identity_id],
        )?;
        self.execute(
            "DELETE FROM developer_users WHERE identity_id = $1",
            &[&identity_id],
        )?;
        self.execute("DELETE FROM identities WHERE id = $1", &[&identity_id])
    }
}

#[async_trait]
impl IdentityStore for PostgresStore {
    async fn transact_boxed(&self, mut body: TxBody) -> StoreResult<Box<dyn Any + Send>> {
        self.run(move |client| {
            retrying(|| {
                let mut tx = client.transaction().map_err(db_err)?;
                let mut statements = PgTx {
                    tx: &mut tx,
                    locked: Vec::new(),
                    aborted: false,
                };
                let value = body(&mut statements)?;
                if statements.aborted {
                    return Err(backend_msg(
                        "the transaction body went on after a failed statement; \
                         PostgreSQL rolled the transaction back"
                            .to_owned(),
                    ));
                }
                tx.commit().map_err(db_err)?;
                Ok(value)
            })
        })
        .await
    }

    async fn get_identity(&self, id: &str) -> StoreResult<Option<IdentityRow>> {
        let id = id.to_owned();
        self.run(move |client| load_identity(client, &id)).await
    }

    async fn list_identities(
        &self,
        pool_id: &str,
        after_id: Option<&str>,
        page_limit: u32,
        hide_disabled: bool,
    ) -> StoreResult<Vec<IdentityRow>> {
        let pool_id = pool_id.to_owned();
        let after_id = after_id.map(str::to_owned);
        self.read(move |tx| list_page(tx, &pool_id, after_id.as_deref(), page_limit, hide_disabled))
            .await
    }
}
