//! The one writing connection on its own thread, committing queued writes together (spec §6.1).
//!
//! With `synchronous=FULL` every commit costs an fsync, so one commit per write caps the
//! store at about one write per fsync. The writer instead opens a transaction for the first
//! queued write, runs every write already waiting (each inside its own savepoint, so that a
//! failing one leaves the others intact) and commits them all with one fsync. Callers hear
//! back only after that commit, so an acknowledged write is durable.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rusqlite::Connection;
use tokio::sync::oneshot;

use super::backend_msg;
use crate::{StoreError, StoreResult};

/// Most writes one commit carries; bounds how long the first of them waits.
const MAX_BATCH: usize = 256;

/// After this much time in a transaction the writer stops taking more writes into it, so a
/// burst cannot delay the first writer's answer (or other processes' writes) for long.
const MAX_BATCH_TIME: Duration = Duration::from_millis(4);

/// One queued write as the writer thread sees it.
trait Job: Send {
    /// Runs the write inside the open transaction; whether its changes are to be kept.
    fn run(&mut self, conn: &Connection) -> bool;
    /// Answers the caller once the fate of the whole transaction is known.
    fn answer(self: Box<Self>, committed: Result<(), &str>);
}

struct Pending<T, F> {
    body: Option<F>,
    /// `None` until the body ran to completion (it stays `None` if the body panicked).
    result: Option<StoreResult<T>>,
    reply: oneshot::Sender<StoreResult<T>>,
}

impl<T, F> Job for Pending<T, F>
where
    T: Send + 'static,
    F: FnOnce(&Connection) -> StoreResult<T> + Send + 'static,
{
    fn run(&mut self, conn: &Connection) -> bool {
        let Some(body) = self.body.take() else {
            return false;
        };
        let result = body(conn);
        let keep = result.is_ok();
        self.result = Some(result);
        keep
    }

    fn answer(self: Box<Self>, committed: Result<(), &str>) {
        let answer = match (self.result, committed) {
            // Rolled back to its savepoint whatever became of the others.
            (Some(Err(e)), _) => Err(e),
            (Some(Ok(value)), Ok(())) => Ok(value),
            (Some(Ok(_)), Err(cause)) => {
                Err(backend_msg(format!("the write was not committed: {cause}")))
            }
            (None, _) => Err(backend_msg(
                "the write was rolled back: its transaction body panicked".to_owned(),
            )),
        };
        // The caller may have stopped waiting; the outcome stands either way.
        let _ = self.reply.send(answer);
    }
}

/// The handle the store holds; dropping it lets the thread finish queued writes and close.
pub(super) struct Writer {
    jobs: Option<mpsc::Sender<Box<dyn Job>>>,
    thread: Option<JoinHandle<()>>,
}

impl Writer {
    /// Moves `conn` onto a new writer thread.
    pub(super) fn start(conn: Connection) -> StoreResult<Writer> {
        let (jobs, queue) = mpsc::channel::<Box<dyn Job>>();
        let thread = std::thread::Builder::new()
            .name("idpool-sqlite-writer".to_owned())
            .spawn(move || serve(&conn, &queue))
            .map_err(|e| backend_msg(format!("cannot start the SQLite writer thread: {e}")))?;
        Ok(Writer {
            jobs: Some(jobs),
            thread: Some(thread),
        })
    }

    /// Runs `body` in a write transaction and answers once it is durably committed (or
    /// failed). The body runs even if the caller stops waiting, wholly or not at all.
    pub(super) async fn run<T, F>(&self, body: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> StoreResult<T> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let job: Box<dyn Job> = Box::new(Pending {
            body: Some(body),
            result: None,
            reply,
        });
        self.jobs
            .as_ref()
            .ok_or_else(stopped)?
            .send(job)
            .map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        // Closing the queue ends the thread once it has answered what was queued.
        drop(self.jobs.take());
        if let Some(thread) = self.thread.take()
            && thread.thread().id() != std::thread::current().id()
        {
            let _ = thread.join();
        }
    }
}

fn stopped() -> StoreError {
    backend_msg("the SQLite writer thread has stopped".to_owned())
}

fn serve(conn: &Connection, queue: &mpsc::Receiver<Box<dyn Job>>) {
    let mut batch: Vec<Box<dyn Job>> = Vec::with_capacity(MAX_BATCH);
    while let Ok(first) = queue.recv() {
        batch.push(first);
        let outcome = run_batch(conn, queue, &mut batch);
        if let Err(cause) = &outcome {
            tracing::error!(writes = batch.len(), %cause, "SQLite write transaction failed");
        }
        let committed = outcome.as_ref().map(|_| ()).map_err(String::as_str);
        for job in batch.drain(..) {
            job.answer(committed);
        }
    }
}

/// Runs the queued jobs in one transaction and commits it; on `Err` nothing was kept.
fn run_batch(
    conn: &Connection,
    queue: &mpsc::Receiver<Box<dyn Job>>,
    batch: &mut Vec<Box<dyn Job>>,
) -> Result<(), String> {
    // A transaction left open by a failure SQLite did not clean up would make BEGIN fail.
    abandon(conn);
    step(conn, "BEGIN IMMEDIATE").map_err(|e| format!("cannot start a transaction: {e}"))?;
    let started = Instant::now();
    let mut next = 0;
    while next < batch.len() {
        if let Err(cause) = run_isolated(conn, batch[next].as_mut()) {
            abandon(conn);
            return Err(cause);
        }
        next += 1;
        if next == batch.len()
            && next < MAX_BATCH
            && started.elapsed() < MAX_BATCH_TIME
            && let Ok(job) = queue.try_recv()
        {
            batch.push(job);
        }
    }
    step(conn, "COMMIT").map_err(|e| {
        abandon(conn);
        format!("commit failed: {e}")
    })
}

/// Runs one job inside its own savepoint, keeping or undoing exactly its changes.
fn run_isolated(conn: &Connection, job: &mut dyn Job) -> Result<(), String> {
    step(conn, "SAVEPOINT job").map_err(|e| format!("cannot open a savepoint: {e}"))?;
    // A panicking body must not take the only writer down with it.
    let keep = catch_unwind(AssertUnwindSafe(|| job.run(conn))).unwrap_or(false);
    if conn.is_autocommit() {
        // Some failures (a full disk, for one) make SQLite roll back the whole transaction.
        return Err("SQLite rolled the transaction back".to_owned());
    }
    let end = if keep {
        step(conn, "RELEASE job")
    } else {
        step(conn, "ROLLBACK TO job").and_then(|()| step(conn, "RELEASE job"))
    };
    end.map_err(|e| format!("cannot close a savepoint: {e}"))
}

/// Transaction control through the statement cache: parsed once, not once per write.
fn step(conn: &Connection, sql: &str) -> rusqlite::Result<()> {
    conn.prepare_cached(sql)?.execute([]).map(|_| ())
}

fn abandon(conn: &Connection) {
    if !conn.is_autocommit()
        && let Err(e) = conn.execute_batch("ROLLBACK")
    {
        tracing::error!(error = %e, "SQLite rollback failed");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn writer() -> Writer {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch("CREATE TABLE t (k INTEGER PRIMARY KEY)")
            .unwrap();
        Writer::start(conn).unwrap()
    }

    fn count(conn: &Connection) -> StoreResult<i64> {
        conn.query_row("SELECT COUNT(*) FROM t", [], |r| r.get(0))
            .map_err(StoreError::backend)
    }

    #[tokio::test]
    async fn a_panicking_body_is_rolled_back_and_the_writer_lives_on() {
        let writer = writer();
        let answer = writer
            .run(|conn| -> StoreResult<()> {
                conn.execute("INSERT INTO t VALUES (1)", [])
                    .map_err(StoreError::backend)?;
                panic!("body fails on purpose");
            })
            .await;
        assert!(matches!(answer, Err(StoreError::Backend(_))), "{answer:?}");
        writer
            .run(|conn| {
                conn.execute("INSERT INTO t VALUES (2)", [])
                    .map_err(StoreError::backend)
            })
            .await
            .unwrap();
        assert_eq!(writer.run(count).await.unwrap(), 1);
    }

    #[tokio::test]
    async fn failing_bodies_in_a_batch_leave_the_others_committed() {
        let writer = writer();
        let (a, b, c, d) = tokio::join!(
            writer.run(|conn| conn
                .execute("INSERT INTO t VALUES (10)", [])
                .map_err(StoreError::backend)),
            writer.run(|conn| {
                conn.execute("INSERT INTO t VALUES (11)", [])
                    .map_err(StoreError::backend)?;
                Err::<usize, _>(StoreError::LimitExceeded)
            }),
            // A failing statement after a successful one: the body's savepoint undoes both.
            writer.run(|conn| {
                conn.execute("INSERT INTO t VALUES (12)", [])
                    .map_err(StoreError::backend)?;
                conn.execute("INSERT INTO t VALUES (10)", [])
                    .map_err(StoreError::backend)
            }),
            writer.run(|conn| conn
                .execute("INSERT INTO t VALUES (13)", [])
                .map_err(StoreError::backend)),
        );
        assert_eq!(a.unwrap(), 1);
        assert!(matches!(b, Err(StoreError::LimitExceeded)), "{b:?}");
        assert!(c.is_err());
        assert_eq!(d.unwrap(), 1);
        let keys: Vec<i64> = writer
            .run(|conn| {
                conn.prepare("SELECT k FROM t ORDER BY k")
                    .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
                    .map_err(StoreError::backend)
            })
            .await
            .unwrap();
        assert_eq!(keys, [10, 13]);
    }

    #[tokio::test]
    async fn dropping_the_writer_finishes_queued_writes() {
        let dir = std::env::temp_dir().join(format!(
            "idpool-writer-drop-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("w.db");
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch("CREATE TABLE t (k INTEGER PRIMARY KEY)")
            .unwrap();
        let writer = Writer::start(conn).unwrap();
        // Polled once (so queued), then abandoned by a caller that stopped waiting.
        for k in 0..20 {
            let write = writer.run(move |conn| {
                conn.execute("INSERT INTO t VALUES (?1)", [k])
                    .map_err(StoreError::backend)
            });
            let _ = tokio::time::timeout(Duration::ZERO, write).await;
        }
        drop(writer);
        let seen = count(&Connection::open(&path).unwrap()).unwrap();
        let _ = std::fs::remove_dir_all(&dir);
        assert_eq!(
            seen, 20,
            "abandoned writes still commit before the writer stops"
        );
    }
}
