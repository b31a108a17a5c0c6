//! The SQLite engine: WAL, `synchronous=FULL`, one writer and pooled readers (design.md "Storage").
//!
//! SQLite calls block. Writes go to the one writing connection, owned by a thread of its own
//! that commits queued writes together in `BEGIN IMMEDIATE` transactions (see [`writer`]);
//! the immediate lock also serialises them against other processes sharing the file. Reads run
//! on tokio's blocking pool over their own connections; in WAL mode each read transaction sees
//! every transaction committed before it began, so a read that follows an acknowledged write
//! always sees it.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, TransactionBehavior};
use tokio::sync::Semaphore;

use crate::{StoreError, StoreResult};

mod identities;
mod keys;
mod migrate;
mod pools;
mod providers;
mod roles;
mod writer;

use writer::Writer;

/// How long a connection waits for another process's lock before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Reader connections per file store; two cores make more pointless.
const READERS: usize = 4;

/// Room for every distinct statement the engine prepares, so none is prepared twice.
const STATEMENT_CACHE: usize = 128;

/// A store in one SQLite database file (or in memory, for tests).
pub struct SqliteStore {
    /// `None` for an in-memory database, whose only connection is the writer's.
    /// Declared before the writer so that idle readers close first and the writer, normally
    /// the last connection, checkpoints the WAL into the database file as it closes.
    readers: Option<Arc<ReaderPool>>,
    writer: Writer,
    location: PathBuf,
}

struct ReaderPool {
    path: PathBuf,
    /// One permit per connection that may exist at a time.
    slots: Arc<Semaphore>,
    idle: Mutex<Vec<Connection>>,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("location", &self.location)
            .finish_non_exhaustive()
    }
}

impl SqliteStore {
    /// Opens (creating if needed, with its parent directory) the database at `path` and brings
    /// its schema up to date. A database written by a newer idpool is refused.
    pub async fn open(path: &Path) -> Result<SqliteStore, StoreError> {
        // SQLite reads these names as "a private temporary database", which reader
        // connections could never share.
        if path.as_os_str().is_empty() || path.as_os_str() == ":memory:" {
            return Err(backend_msg(format!(
                "{path:?} is not a database file path; the SQLite store needs a file"
            )));
        }
        let path = path.to_path_buf();
        let writer_path = path.clone();
        let writer = blocking(move || {
            create_file(&writer_path)?;
            let mut conn = Connection::open_with_flags(&writer_path, file_flags(false))
                .map_err(|e| open_error(&writer_path, e))?;
            configure(&conn, true)?;
            migrate::apply(&mut conn)?;
            Ok(conn)
        })
        .await?;
        Ok(SqliteStore {
            readers: Some(Arc::new(ReaderPool {
                path: path.clone(),
                slots: Arc::new(Semaphore::new(READERS)),
                idle: Mutex::new(Vec::with_capacity(READERS)),
            })),
            writer: Writer::start(writer)?,
            location: path,
        })
    }

    /// A private database that lives as long as the store; for tests.
    pub async fn open_in_memory() -> Result<SqliteStore, StoreError> {
        let writer = blocking(|| {
            let mut conn = Connection::open_in_memory().map_err(db_err)?;
            configure(&conn, false)?;
            migrate::apply(&mut conn)?;
            Ok(conn)
        })
        .await?;
        Ok(SqliteStore {
            readers: None,
            writer: Writer::start(writer)?,
            location: PathBuf::from(":memory:"),
        })
    }

    /// Runs `f` in a write transaction on the writer thread and answers once it is durably
    /// committed; an `Err` from `f` undoes everything `f` wrote.
    ///
    /// Once queued, the write finishes even if the caller stops waiting, so it is either
    /// wholly applied or not at all.
    async fn write<T, F>(&self, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> StoreResult<T> + Send + 'static,
    {
        self.writer.run(f).await
    }

    /// Runs `f` in a read transaction, so that several statements see one snapshot.
    async fn read<T, F>(&self, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> StoreResult<T> + Send + 'static,
    {
        match &self.readers {
            Some(pool) => {
                pool.run(move |conn| in_transaction(conn, TransactionBehavior::Deferred, f))
                    .await
            }
            None => self.writer.run(f).await,
        }
    }

    /// Runs `f`, which must run a single statement, without a transaction of its own: one
    /// statement already reads one snapshot, and BEGIN and COMMIT would double the work.
    async fn read_statement<T, F>(&self, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> StoreResult<T> + Send + 'static,
    {
        match &self.readers {
            Some(pool) => pool.run(move |conn| f(conn)).await,
            None => self.writer.run(f).await,
        }
    }
}

impl ReaderPool {
    async fn run<T, F>(self: &Arc<Self>, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> StoreResult<T> + Send + 'static,
    {
        let permit = Arc::clone(&self.slots)
            .acquire_owned()
            .await
            .map_err(StoreError::backend)?;
        // Reads run on the calling task itself: in WAL mode they never wait for the writer, and
        // a point read from the page cache costs less than handing it to another thread would
        // (the credential path makes one per request).
        let _permit = permit;
        let idle = lock(&self.idle).pop();
        // Readers open on first need, and again if a task holding one panicked.
        let mut conn = match idle {
            Some(conn) => conn,
            None => open_reader(&self.path)?,
        };
        let result = f(&mut conn);
        lock(&self.idle).push(conn);
        result
    }
}

async fn blocking<T, F>(f: F) -> StoreResult<T>
where
    T: Send + 'static,
    F: FnOnce() -> StoreResult<T> + Send + 'static,
{
    tokio::task::spawn_blocking(f)
        .await
        .map_err(StoreError::backend)?
}

fn in_transaction<T>(
    conn: &mut Connection,
    behavior: TransactionBehavior,
    f: impl FnOnce(&Connection) -> StoreResult<T>,
) -> StoreResult<T> {
    let tx = conn.transaction_with_behavior(behavior).map_err(db_err)?;
    // On error the transaction is dropped, which rolls it back.
    let value = f(&tx)?;
    tx.commit().map_err(db_err)?;
    Ok(value)
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // The vector of idle connections stays consistent even if a holder panicked.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// No `SQLITE_OPEN_URI`: a configured path is always a plain file name.
fn file_flags(read_only: bool) -> OpenFlags {
    let access = if read_only {
        OpenFlags::SQLITE_OPEN_READ_ONLY
    } else {
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE
    };
    access | OpenFlags::SQLITE_OPEN_NO_MUTEX
}

fn open_reader(path: &Path) -> StoreResult<Connection> {
    let conn =
        Connection::open_with_flags(path, file_flags(true)).map_err(|e| open_error(path, e))?;
    conn.busy_timeout(BUSY_TIMEOUT).map_err(db_err)?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    Ok(conn)
}

/// Creates the parent directory and the (empty) database file owner-only before SQLite opens
/// it: the file will hold signing keys, and SQLite gives its `-wal` and `-shm` files the same
/// permissions as the database.
fn create_file(path: &Path) -> StoreResult<()> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        let mut dir = std::fs::DirBuilder::new();
        dir.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut dir, 0o700);
        dir.create(parent).map_err(|e| {
            backend_msg(format!("cannot create directory {}: {e}", parent.display()))
        })?;
    }
    let mut file = std::fs::OpenOptions::new();
    file.read(true).write(true).create(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut file, 0o600);
    file.open(path)
        .map_err(|e| backend_msg(format!("cannot open {}: {e}", path.display())))?;
    Ok(())
}

fn configure(conn: &Connection, file_backed: bool) -> StoreResult<()> {
    conn.busy_timeout(BUSY_TIMEOUT).map_err(db_err)?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    if file_backed {
        // WAL lets readers run beside the writer and is corruption-safe on a crash; it is
        // recorded in the file, so reader connections inherit it.
        let mode: String = conn
            .pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))
            .map_err(db_err)?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(backend_msg(format!(
                "SQLite could not switch the database to WAL mode (it reports {mode:?}); \
                 the file system may not support the shared memory WAL needs"
            )));
        }
    }
    // FULL syncs the WAL at every commit: an acknowledged identity survives power loss.
    conn.pragma_update(None, "synchronous", "FULL")
        .map_err(db_err)?;
    conn.pragma_update(None, "foreign_keys", "ON")
        .map_err(db_err)?;
    let foreign_keys: i64 = conn
        .pragma_query_value(None, "foreign_keys", |row| row.get(0))
        .map_err(db_err)?;
    if foreign_keys != 1 {
        return Err(backend_msg(
            "this SQLite build cannot enforce foreign keys".to_owned(),
        ));
    }
    Ok(())
}

fn open_error(path: &Path, e: rusqlite::Error) -> StoreError {
    backend_msg(format!(
        "cannot open SQLite database {}: {e}",
        path.display()
    ))
}

fn backend_msg(message: String) -> StoreError {
    StoreError::Backend(message.into())
}

/// Maps an SQLite error to the store's vocabulary: unique keys become `Conflict`; everything
/// else is the engine's failure. Operations check other constraints themselves, where they
/// know which error their caller expects.
fn db_err(e: rusqlite::Error) -> StoreError {
    use rusqlite::ffi;
    if let rusqlite::Error::SqliteFailure(failure, _) = &e
        && matches!(
            failure.extended_code,
            ffi::SQLITE_CONSTRAINT_PRIMARYKEY | ffi::SQLITE_CONSTRAINT_UNIQUE
        )
    {
        return StoreError::Conflict;
    }
    StoreError::backend(e)
}

/// Changed-row counts from `execute` fit any integer; zero means nothing matched.
fn changed(result: rusqlite::Result<usize>) -> StoreResult<bool> {
    result.map(|n| n > 0).map_err(db_err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unique_violations_are_conflicts() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch("CREATE TABLE t (k TEXT PRIMARY KEY, u TEXT UNIQUE)")
            .unwrap();
        conn.execute("INSERT INTO t VALUES ('a', 'x')", []).unwrap();
        let pk = conn
            .execute("INSERT INTO t VALUES ('a', 'y')", [])
            .unwrap_err();
        assert!(matches!(db_err(pk), StoreError::Conflict));
        let unique = conn
            .execute("INSERT INTO t VALUES ('b', 'x')", [])
            .unwrap_err();
        assert!(matches!(db_err(unique), StoreError::Conflict));
        let syntax = conn
            .execute("INSERT INTO nowhere VALUES (1)", [])
            .unwrap_err();
        assert!(matches!(db_err(syntax), StoreError::Backend(_)));
    }
}
