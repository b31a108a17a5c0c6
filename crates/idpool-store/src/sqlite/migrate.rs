//! Numbered schema migrations, each applied once and recorded (design.md "Storage").

use rusqlite::{Connection, TransactionBehavior};

use super::{backend_msg, db_err};
use crate::StoreResult;

pub(super) struct Migration {
    pub(super) version: i64,
    pub(super) name: &'static str,
    pub(super) sql: &'static str,
}

/// Append only: a released migration is never edited, a change is a new number.
pub(super) const MIGRATIONS: &[Migration] = &[Migration {
    version: 1,
    name: "initial",
    sql: include_str!("../../migrations/sqlite/0001_initial.sql"),
}];

/// Brings the schema up to date in one immediate transaction, so that two processes starting
/// at once cannot both apply a migration and a failed migration leaves nothing behind.
pub(super) fn apply(conn: &mut Connection) -> StoreResult<()> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(db_err)?;
    tx.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
             version     INTEGER NOT NULL PRIMARY KEY,
             name        TEXT    NOT NULL,
             applied_at  TEXT    NOT NULL DEFAULT CURRENT_TIMESTAMP
         ) STRICT",
    )
    .map_err(db_err)?;
    let applied = {
        let mut stmt = tx
            .prepare("SELECT version FROM schema_migrations ORDER BY version")
            .map_err(db_err)?;
        let versions = stmt
            .query_map([], |row| row.get::<_, i64>(0))
            .map_err(db_err)?;
        versions
            .collect::<rusqlite::Result<Vec<i64>>>()
            .map_err(db_err)?
    };
    let known = |version: i64| MIGRATIONS.iter().any(|m| m.version == version);
    if let Some(unknown) = applied.iter().copied().find(|v| !known(*v)) {
        let latest = MIGRATIONS.last().map_or(0, |m| m.version);
        return Err(backend_msg(format!(
            "the database has schema migration {unknown}, which this idpool does not know \
             (it knows migrations up to {latest}): it was written by a newer idpool; \
             refusing to open it - run that version or newer"
        )));
    }
    for migration in MIGRATIONS.iter().filter(|m| !applied.contains(&m.version)) {
        tx.execute_batch(migration.sql).map_err(|e| {
            backend_msg(format!(
                "schema migration {} ({}) failed: {e}",
                migration.version, migration.name
            ))
        })?;
        tx.execute(
            "INSERT INTO schema_migrations (version, name) VALUES (?1, ?2)",
            (migration.version, migration.name),
        )
        .map_err(db_err)?;
        tracing::info!(
            version = migration.version,
            name = migration.name,
            "applied schema migration"
        );
    }
    tx.commit().map_err(db_err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_strictly_increase_from_one() {
        for (expected, migration) in (1..).zip(MIGRATIONS) {
            assert_eq!(migration.version, expected, "{}", migration.name);
        }
    }

    #[test]
    fn applying_twice_changes_nothing() {
        let mut conn = Connection::open_in_memory().unwrap();
        apply(&mut conn).unwrap();
        apply(&mut conn).unwrap();
        let count: i64 = conn
            .query_row("SELECT COUNT(*) FROM schema_migrations", [], |r| r.get(0))
            .unwrap();
        assert_eq!(count, i64::try_from(MIGRATIONS.len()).unwrap());
    }

    #[test]
    fn unknown_version_is_refused_and_left_alone() {
        let mut conn = Connection::open_in_memory().unwrap();
        apply(&mut conn).unwrap();
        conn.execute(
            "INSERT INTO schema_migrations (version, name) VALUES (77, 'future')",
            [],
        )
        .unwrap();
        let err = apply(&mut conn).unwrap_err().to_string();
        assert!(err.contains("migration 77"), "{err}");
        assert!(err.contains("newer idpool"), "{err}");
        let count: i64 = conn
            .query_row("SELECT COUNT(*) FROM schema_migrations", [], |r| r.get(0))
            .unwrap();
        assert_eq!(count, 2);
    }
}
