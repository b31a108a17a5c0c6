//! Numbered PostgreSQL schema migrations, each applied once and recorded (design.md "Storage").

use postgres::Client;

use super::{LOCK_MIGRATIONS, backend_msg, db_err};
use crate::StoreResult;

pub(super) struct Migration {
    pub(super) version: i64,
    pub(super) name: &'static str,
    pub(super) sql: &'static str,
}

/// Append only: a released migration is never edited, a change is a new number. Versions
/// match SQLite's, so one number means one schema in either engine.
pub(super) const MIGRATIONS: &[Migration] = &[Migration {
    version: 1,
    name: "initial",
    sql: include_str!("../../migrations/postgres/0001_initial.sql"),
}];

/// Brings the schema up to date in one transaction under an advisory lock, so that two
/// instances starting at once apply each migration once and a failed one leaves nothing.
pub(super) fn apply(client: &mut Client) -> StoreResult<()> {
    let mut tx = client.transaction().map_err(db_err)?;
    tx.execute("SELECT pg_advisory_xact_lock($1, 0)", &[&LOCK_MIGRATIONS])
        .map_err(db_err)?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
             version     BIGINT      NOT NULL PRIMARY KEY,
             name        TEXT        NOT NULL,
             applied_at  TIMESTAMPTZ NOT NULL DEFAULT now()
         )",
    )
    .map_err(db_err)?;
    let applied: Vec<i64> = tx
        .query(
            "SELECT version FROM schema_migrations ORDER BY version",
            &[],
        )
        .map_err(db_err)?
        .iter()
        .map(|row| row.try_get(0))
        .collect::<Result<_, _>>()
        .map_err(db_err)?;
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
        tx.batch_execute(migration.sql).map_err(|e| {
            backend_msg(format!(
                "schema migration {} ({}) failed: {e}",
                migration.version, migration.name
            ))
        })?;
        tx.execute(
            "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)",
            &[&migration.version, &migration.name],
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
    fn versions_strictly_increase_from_one_like_sqlite() {
        for (expected, migration) in (1..).zip(MIGRATIONS) {
            assert_eq!(migration.version, expected, "{}", migration.name);
        }
    }
}
