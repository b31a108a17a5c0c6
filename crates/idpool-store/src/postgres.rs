//! The PostgreSQL engine: blocking connections on worker threads, advisory locks for quotas and identities (design.md "Storage").
//!
//! The synchronous `postgres` client fits the synchronous [`crate::IdentityTx`]: each worker
//! thread owns one connection and runs whole jobs (a transaction and its retries) on it, so a
//! transaction body never crosses an `await`. Writes run in READ COMMITTED transactions; where
//! a check and a write must not interleave with another instance's (the pool quota, the
//! find-or-create of identities) they first take a transaction-scoped advisory lock, which
//! serialises exactly those writers without serialization failures. Deadlocks between such
//! locks are retried. Reads that need several statements run in one REPEATABLE READ snapshot.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, Mutex, PoisonError, mpsc};
use std::thread::JoinHandle;
use std::time::Duration;

use postgres::error::SqlState;
use postgres::{Client, Config, IsolationLevel, NoTls, Transaction};
use tokio::sync::oneshot;

use crate::{StoreError, StoreResult};

mod catalog;
mod identities;
mod migrate;

/// Connections (and worker threads) per store.
const CONNECTIONS: usize = 4;

/// How often a transaction that lost a deadlock or a serialization check is run again.
const MAX_ATTEMPTS: u32 = 8;

/// Used when the URL sets no `connect_timeout`, so a dead server cannot hang a worker forever.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// First keys of the two-key advisory locks idpool takes; the second key says which one.
const LOCK_MIGRATIONS: i32 = 0x1d90_0001;
const LOCK_POOL_QUOTA: i32 = 0x1d90_0002;
const LOCK_POOL: i32 = 0x1d90_0003;

/// A store in one PostgreSQL database (in the schema its URL's `search_path` selects).
pub struct PostgresStore {
    workers: Workers,
    /// `user@host:port/dbname`: never the password.
    target: String,
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStore")
            .field("target", &self.target)
            .finish_non_exhaustive()
    }
}

impl PostgresStore {
    /// Connects to the database a `postgres://` or `postgresql://` URL names and brings its
    /// schema up to date. A database written by a newer idpool is refused. Errors never
    /// contain the URL.
    pub async fn open(url: &str) -> Result<PostgresStore, StoreError> {
        let mut config: Config = url.parse().map_err(|e: postgres::Error| {
            backend_msg(format!("the PostgreSQL store URL is not valid: {e}"))
        })?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        let target = describe(&config);
        let store = PostgresStore {
            workers: Workers::start(config, target.clone())?,
            target,
        };
        store.run(migrate::apply).await?;
        Ok(store)
    }

    /// Runs `f` on a worker's connection, outside any transaction.
    async fn run<T, F>(&self, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Client) -> StoreResult<T> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        self.workers.submit(Box::new(move |conn: &mut Connection| {
            let result = conn.client().and_then(f);
            // The caller may have stopped waiting; the outcome stands either way.
            let _ = reply.send(result);
        }))?;
        answer.await.map_err(|_| {
            backend_msg("the PostgreSQL worker gave no answer (its job panicked)".to_owned())
        })?
    }

    /// Runs `f` in a READ COMMITTED write transaction, again if it loses a deadlock; an
    /// `Err` from `f` rolls back everything it did.
    async fn write<T, F>(&self, mut f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnMut(&mut Transaction<'_>) -> StoreResult<T> + Send + 'static,
    {
        self.run(move |client| {
            retrying(|| {
                let mut tx = client.transaction().map_err(db_err)?;
                let value = f(&mut tx)?;
                tx.commit().map_err(db_err)?;
                Ok(value)
            })
        })
        .await
    }

    /// Runs `f` in a read-only snapshot, so that several statements see one state.
    async fn read<T, F>(&self, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Transaction<'_>) -> StoreResult<T> + Send + 'static,
    {
        self.run(move |client| {
            let mut tx = client
                .build_transaction()
                .isolation_level(IsolationLevel::RepeatableRead)
                .read_only(true)
                .start()
                .map_err(db_err)?;
            let value = f(&mut tx)?;
            tx.commit().map_err(db_err)?;
            Ok(value)
        })
        .await
    }
}

/// Runs `attempt` until it succeeds, fails for a reason other than a lost deadlock or
/// serialization check, or has run [`MAX_ATTEMPTS`] times.
fn retrying<T>(mut attempt: impl FnMut() -> StoreResult<T>) -> StoreResult<T> {
    let mut runs = 1;
    loop {
        match attempt() {
            Err(e) if runs < MAX_ATTEMPTS && is_retryable(&e) => {
                runs += 1;
                // Let the winner finish before trying again.
                std::thread::sleep(Duration::from_millis(u64::from(runs) * 2));
            }
            outcome => return outcome,
        }
    }
}

fn is_retryable(e: &StoreError) -> bool {
    let StoreError::Backend(cause) = e else {
        return false;
    };
    cause
        .downcast_ref::<postgres::Error>()
        .and_then(postgres::Error::code)
        .is_some_and(|code| {
            *code == SqlState::T_R_DEADLOCK_DETECTED || *code == SqlState::T_R_SERIALIZATION_FAILURE
        })
}

/// Where a configuration points, for logs and `Debug`: everything but the password.
fn describe(config: &Config) -> String {
    let host = match config.get_hosts().first() {
        Some(postgres::config::Host::Tcp(name)) => name.clone(),
        Some(postgres::config::Host::Unix(path)) => path.display().to_string(),
        None => "localhost".to_owned(),
    };
    let port = config.get_ports().first().copied().unwrap_or(5432);
    format!(
        "{}@{host}:{port}/{}",
        config.get_user().unwrap_or("(default user)"),
        config.get_dbname().unwrap_or("(default database)")
    )
}

/// One worker's connection, opened on first need and again after it broke.
struct Connection {
    config: Config,
    target: String,
    client: Option<Client>,
}

impl Connection {
    fn client(&mut self) -> StoreResult<&mut Client> {
        if self.client.as_ref().is_some_and(Client::is_closed) {
            self.client = None;
        }
        match &mut self.client {
            Some(client) => Ok(client),
            slot @ None => {
                let client = self.config.connect(NoTls).map_err(|e| {
                    backend_msg(format!(
                        "cannot connect to PostgreSQL at {}: {e}",
                        self.target
                    ))
                })?;
                Ok(slot.insert(client))
            }
        }
    }
}

type Job = Box<dyn FnOnce(&mut Connection) + Send>;

/// The worker threads; dropping this lets them finish queued jobs and close.
struct Workers {
    jobs: Option<mpsc::Sender<Job>>,
    threads: Vec<JoinHandle<()>>,
}

impl Workers {
    fn start(config: Config, target: String) -> StoreResult<Workers> {
        let (jobs, queue) = mpsc::channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        let mut workers = Workers {
            jobs: Some(jobs),
            threads: Vec::with_capacity(CONNECTIONS),
        };
        for n in 0..CONNECTIONS {
            let mut conn = Connection {
                config: config.clone(),
                target: target.clone(),
                client: None,
            };
            let queue = Arc::clone(&queue);
            let thread = std::thread::Builder::new()
                .name(format!("idpool-postgres-{n}"))
                .spawn(move || serve(&mut conn, &queue))
                .map_err(|e| {
                    backend_msg(format!("cannot start a PostgreSQL worker thread: {e}"))
                })?;
            workers.threads.push(thread);
        }
        Ok(workers)
    }

    fn submit(&self, job: Job) -> StoreResult<()> {
        let stopped = || backend_msg("the PostgreSQL workers have stopped".to_owned());
        self.jobs
            .as_ref()
            .ok_or_else(stopped)?
            .send(job)
            .map_err(|_| stopped())
    }
}

impl Drop for Workers {
    fn drop(&mut self) {
        drop(self.jobs.take());
        let me = std::thread::current().id();
        for thread in self.threads.drain(..) {
            if thread.thread().id() != me {
                let _ = thread.join();
            }
        }
    }
}

fn serve(conn: &mut Connection, queue: &Mutex<mpsc::Receiver<Job>>) {
    loop {
        // Only the waiting worker holds the lock; it is released before the job runs.
        let job = match queue.lock().unwrap_or_else(PoisonError::into_inner).recv() {
            Ok(job) => job,
            Err(mpsc::RecvError) => return,
        };
        if catch_unwind(AssertUnwindSafe(|| job(conn))).is_err() {
            // The connection may be mid-transaction; a fresh one is opened for the next job.
            tracing::error!("a PostgreSQL job panicked; reconnecting");
            conn.client = None;
        }
    }
}

fn backend_msg(message: String) -> StoreError {
    StoreError::Backend(message.into())
}

/// Maps a PostgreSQL error to the store's vocabulary: unique keys become `Conflict`;
/// everything else is the engine's failure, kept whole so that retries can see its code.
fn db_err(e: postgres::Error) -> StoreError {
    if e.code() == Some(&SqlState::UNIQUE_VIOLATION) {
        return StoreError::Conflict;
    }
    StoreError::backend(e)
}

/// A `u32` limit as the BIGINT PostgreSQL compares it with.
fn limit(n: u32) -> i64 {
    i64::from(n)
}
