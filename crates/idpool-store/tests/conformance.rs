//! The conformance suite on SQLite, plus what only a file shows: durability (design.md "Tests").

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use idpool_store::sqlite::SqliteStore;
use idpool_store::testsuite::{self, unique};
use idpool_store::{
    IdentityStore, LoginLink, PoolRow, PoolStore, RoleRow, RoleStore, StoreError, transact,
};

/// A directory under the system temp dir, removed when dropped (also when a test fails).
struct TempDir(PathBuf);

impl TempDir {
    fn new(label: &str) -> TempDir {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let name = format!(
            "idpool-store-{label}-{}-{nanos:x}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let path = std::env::temp_dir().join(name);
        std::fs::create_dir_all(&path).expect("create temp dir");
        TempDir(path)
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn pool(id: &str, document: &str) -> PoolRow {
    PoolRow {
        id: id.to_owned(),
        name: format!("name of {id}"),
        version: 1,
        created_ms: 1_700_000_000_000,
        document: document.to_owned(),
    }
}

fn raw(path: &Path) -> rusqlite::Connection {
    let conn = rusqlite::Connection::open(path).expect("open raw connection");
    conn.busy_timeout(Duration::from_secs(10))
        .expect("busy timeout");
    conn
}

fn count(conn: &rusqlite::Connection, sql: &str, pool_id: &str) -> i64 {
    conn.query_row(sql, [pool_id], |row| row.get(0))
        .expect("count query")
}

#[tokio::test]
async fn suite_on_memory() {
    let store = SqliteStore::open_in_memory().await.expect("open");
    testsuite::run_all(&store).await;
    // A second run over the leftovers of the first proves the ids really are unique.
    testsuite::run_all(&store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn suite_on_file() {
    let dir = TempDir::new("suite");
    let store = SqliteStore::open(&dir.path().join("idpool.db"))
        .await
        .expect("open");
    testsuite::run_all(&store).await;
}

#[tokio::test]
async fn open_creates_missing_directories_owner_only() {
    let dir = TempDir::new("mkdir");
    let path = dir.path().join("a").join("b").join("idpool.db");
    let store = SqliteStore::open(&path).await.expect("open");
    drop(store);
    assert!(path.is_file());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| std::fs::metadata(p).expect("metadata").permissions().mode() & 0o777;
        assert_eq!(mode(&path), 0o600, "database file");
        assert_eq!(
            mode(path.parent().expect("parent")),
            0o700,
            "data directory"
        );
    }
}

#[tokio::test]
async fn open_refuses_a_file_that_is_not_a_database() {
    let dir = TempDir::new("garbage");
    let path = dir.path().join("idpool.db");
    std::fs::write(&path, vec![0x5a_u8; 8192]).expect("write garbage");
    let err = SqliteStore::open(&path)
        .await
        .expect_err("garbage accepted");
    assert!(matches!(err, StoreError::Backend(_)), "{err:?}");
    assert_eq!(std::fs::read(&path).expect("read"), vec![0x5a_u8; 8192]);
}

#[tokio::test]
async fn open_refuses_paths_that_name_no_file() {
    for path in ["", ":memory:"] {
        let err = SqliteStore::open(Path::new(path)).await.expect_err(path);
        assert!(matches!(err, StoreError::Backend(_)), "{path:?}: {err:?}");
    }
    assert!(
        !Path::new(":memory:").exists(),
        "no stray file may be created"
    );
}

#[tokio::test]
async fn reopening_keeps_every_row_and_applies_migrations_once() {
    let dir = TempDir::new("reopen");
    let path = dir.path().join("idpool.db");
    let ids: Vec<String> = (0..25)
        .map(|i| format!("us-east-1:{}", unique(&format!("durable-{i}"))))
        .collect();
    {
        let store = SqliteStore::open(&path).await.expect("open");
        for id in &ids {
            store
                .insert_pool(&pool(id, "{}"), u64::MAX)
                .await
                .expect("insert_pool");
        }
        let role = RoleRow {
            name: "Durable-Role".to_owned(),
            id: "AROADURABLE".to_owned(),
            created_ms: 5,
            document: "{}".to_owned(),
        };
        store.insert_role(&role).await.expect("insert_role");
        store
            .put_role_policy("durable-role", "p", "{\"x\":1}")
            .await
            .expect("put");
    }
    for _ in 0..2 {
        let store = SqliteStore::open(&path).await.expect("reopen");
        for id in &ids {
            let stored = store.get_pool(id).await.expect("get_pool");
            assert_eq!(stored, Some(pool(id, "{}")), "{id} lost across reopen");
        }
        let policy = store
            .get_role_policy("DURABLE-ROLE", "p")
            .await
            .expect("get");
        assert_eq!(policy.as_deref(), Some("{\"x\":1}"));
    }
    let conn = raw(&path);
    let versions: Vec<i64> = conn
        .prepare("SELECT version FROM schema_migrations ORDER BY version")
        .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
        .expect("read migrations");
    assert_eq!(versions, [1]);
    let mode: String = conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .expect("mode");
    assert_eq!(mode, "wal");
}

#[tokio::test]
async fn a_database_from_a_newer_version_is_refused() {
    let dir = TempDir::new("newer");
    let path = dir.path().join("idpool.db");
    drop(SqliteStore::open(&path).await.expect("open"));
    raw(&path)
        .execute(
            "INSERT INTO schema_migrations (version, name) VALUES (9999, 'from the future')",
            [],
        )
        .expect("record a future migration");
    let err = SqliteStore::open(&path)
        .await
        .expect_err("newer schema accepted");
    let message = err.to_string();
    assert!(
        message.contains("9999") && message.contains("newer"),
        "{message}"
    );
}

#[tokio::test]
async fn delete_pool_removes_identities_logins_and_developer_users() {
    let dir = TempDir::new("cascade");
    let path = dir.path().join("idpool.db");
    let store = SqliteStore::open(&path).await.expect("open");
    let doomed = format!("us-east-1:{}", unique("doomed"));
    let kept = format!("us-east-1:{}", unique("kept"));
    for id in [&doomed, &kept] {
        store
            .insert_pool(&pool(id, "{}"), u64::MAX)
            .await
            .expect("insert_pool");
    }
    let conn = raw(&path);
    for pool_id in [&doomed, &kept] {
        for n in 0..3 {
            let identity = format!("{pool_id}-identity-{n}");
            conn.execute(
                "INSERT INTO identities (id, pool_id, created_ms, modified_ms)
                 VALUES (?1, ?2, 1, 1)",
                [&identity, pool_id],
            )
            .expect("identity");
            conn.execute(
                "INSERT INTO identity_logins (pool_id, provider, subject, identity_id)
                 VALUES (?1, 'accounts.google.com', ?2, ?2)",
                [pool_id, &identity],
            )
            .expect("login");
            conn.execute(
                "INSERT INTO developer_users (pool_id, provider, user_id, identity_id)
                 VALUES (?1, 'login.example', ?2, ?2)",
                [pool_id, &identity],
            )
            .expect("developer user");
        }
    }
    assert!(store.delete_pool(&doomed).await.expect("delete_pool"));
    for (pool_id, expected) in [(&doomed, 0), (&kept, 3)] {
        for sql in [
            "SELECT COUNT(*) FROM identities WHERE pool_id = ?1",
            "SELECT COUNT(*) FROM identity_logins WHERE pool_id = ?1",
            "SELECT COUNT(*) FROM developer_users WHERE pool_id = ?1",
        ] {
            assert_eq!(count(&conn, sql, pool_id), expected, "{sql} for {pool_id}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_writers_and_readers_see_every_acknowledged_write() {
    let dir = TempDir::new("concurrent");
    let store = Arc::new(
        SqliteStore::open(&dir.path().join("idpool.db"))
            .await
            .expect("open"),
    );
    let mut tasks = tokio::task::JoinSet::new();
    for task in 0..12 {
        let store = Arc::clone(&store);
        tasks.spawn(async move {
            let mut mine = Vec::new();
            for n in 0..15 {
                let id = format!("us-east-1:{}", unique(&format!("c{task}-{n}")));
                store
                    .insert_pool(&pool(&id, "{}"), u64::MAX)
                    .await
                    .expect("insert_pool");
                // Read right after the acknowledgement, most likely on another connection.
                let seen = store.get_pool(&id).await.expect("get_pool");
                assert!(seen.is_some(), "{id} invisible right after its insert");
                mine.push(id);
            }
            mine
        });
    }
    let mut all = Vec::new();
    while let Some(result) = tasks.join_next().await {
        all.extend(result.expect("task"));
    }
    assert_eq!(all.len(), 12 * 15);
    let mut listed = Vec::new();
    let mut after: Option<String> = None;
    for _ in 0..1000 {
        let page = store
            .list_pools(after.as_deref(), 60)
            .await
            .expect("list_pools");
        let Some(last) = page.last() else { break };
        after = Some(last.id.clone());
        listed.extend(page.into_iter().map(|p| p.id));
    }
    all.sort();
    assert_eq!(listed, all);
}

/// Two stores on one file stand for two idpool processes: only SQLite's own locking keeps
/// their racing creates within the quota.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_stores_on_one_file_share_the_quota() {
    let dir = TempDir::new("two-stores");
    let path = dir.path().join("idpool.db");
    let stores = [
        Arc::new(SqliteStore::open(&path).await.expect("open first")),
        Arc::new(SqliteStore::open(&path).await.expect("open second")),
    ];
    const QUOTA: u64 = 7;
    let mut tasks = tokio::task::JoinSet::new();
    for n in 0..24 {
        let store = Arc::clone(&stores[n % 2]);
        tasks.spawn(async move {
            let id = format!("us-east-1:{}", unique(&format!("shared-{n}")));
            store.insert_pool(&pool(&id, "{}"), QUOTA).await
        });
    }
    let mut created = 0;
    while let Some(result) = tasks.join_next().await {
        match result.expect("task") {
            Ok(()) => created += 1,
            Err(StoreError::LimitExceeded) => {}
            Err(e) => panic!("racing insert_pool: {e:?}"),
        }
    }
    assert_eq!(created, QUOTA);
    for store in &stores {
        let listed = store.list_pools(None, 60).await.expect("list_pools");
        assert_eq!(
            listed.len() as u64,
            QUOTA,
            "both stores see every committed pool"
        );
    }
}

fn google(subject: &str) -> LoginLink {
    LoginLink {
        provider: "accounts.google.com".to_owned(),
        subject: subject.to_owned(),
    }
}

/// "Find the identity of this login or create it", as GetId runs it.
async fn find_or_create(store: &SqliteStore, pool_id: &str, link: &LoginLink) -> String {
    let (pool_id, link) = (pool_id.to_owned(), link.clone());
    transact(store, move |tx| {
        if let Some(id) = tx.identity_by_login(&pool_id, &link.provider, &link.subject)? {
            return Ok(id);
        }
        let id = format!("us-east-1:{}", unique("found"));
        tx.insert_identity(&id, &pool_id, 1)?;
        tx.link_login(&id, &link, 1)?;
        Ok(id)
    })
    .await
    .expect("find or create")
}

/// Two stores on one file stand for two processes: SQLite's file lock, not the writer
/// thread, keeps them from creating two identities for one login.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_stores_on_one_file_create_one_identity_per_login() {
    let dir = TempDir::new("two-stores-identity");
    let path = dir.path().join("idpool.db");
    let stores = [
        Arc::new(SqliteStore::open(&path).await.expect("open first")),
        Arc::new(SqliteStore::open(&path).await.expect("open second")),
    ];
    let pool_id = format!("us-east-1:{}", unique("shared-identities"));
    stores[0]
        .insert_pool(&pool(&pool_id, "{}"), u64::MAX)
        .await
        .expect("insert_pool");
    let login = google(&unique("contested"));
    let mut tasks = tokio::task::JoinSet::new();
    for n in 0..32 {
        let store = Arc::clone(&stores[n % 2]);
        let (pool_id, login) = (pool_id.clone(), login.clone());
        tasks.spawn(async move { find_or_create(&store, &pool_id, &login).await });
    }
    let mut ids = Vec::new();
    while let Some(result) = tasks.join_next().await {
        ids.push(result.expect("task"));
    }
    assert!(ids.iter().all(|id| *id == ids[0]), "{ids:?}");
    for store in &stores {
        let listed = store
            .list_identities(&pool_id, None, 60, false)
            .await
            .expect("list_identities");
        assert_eq!(listed.len(), 1, "one identity for one login");
        assert_eq!(listed[0].logins, std::slice::from_ref(&login));
    }
}

/// How many GetId-style guest inserts per second group commit reaches on a file with
/// `synchronous=FULL`; printed, not asserted, since it measures the machine. Run it with
/// `cargo test -p idpool-store --release -- --nocapture guest_identity_throughput_on_file`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn guest_identity_throughput_on_file() {
    const TASKS: usize = 8;
    const RUN_FOR: Duration = Duration::from_secs(2);
    /// Bounds the loop should the clock misbehave.
    const MAX_PER_TASK: usize = 1_000_000;
    let dir = TempDir::new("throughput");
    let store = Arc::new(
        SqliteStore::open(&dir.path().join("idpool.db"))
            .await
            .expect("open"),
    );
    let pool_id = format!("us-east-1:{}", unique("throughput"));
    store
        .insert_pool(&pool(&pool_id, "{}"), u64::MAX)
        .await
        .expect("insert_pool");
    let started = Instant::now();
    let deadline = started + RUN_FOR;
    let mut tasks = tokio::task::JoinSet::new();
    for task in 0..TASKS {
        let (store, pool_id) = (Arc::clone(&store), pool_id.clone());
        tasks.spawn(async move {
            let mut created = 0_usize;
            while created < MAX_PER_TASK && Instant::now() < deadline {
                let id = format!("us-east-1:guest-{task}-{created:07}");
                let pool_id = pool_id.clone();
                transact(&*store, move |tx| {
                    if !tx.pool_exists(&pool_id)? {
                        return Err(StoreError::NotFound);
                    }
                    tx.insert_identity(&id, &pool_id, 1)
                })
                .await
                .expect("guest insert");
                created += 1;
            }
            (task, created)
        });
    }
    let mut per_task = [0_usize; TASKS];
    while let Some(result) = tasks.join_next().await {
        let (task, created) = result.expect("task");
        per_task[task] = created;
    }
    let created: usize = per_task.iter().sum();
    let elapsed = started.elapsed();
    println!(
        "guest identity inserts: {created} in {:.2} s = {:.0} transactions/s \
         ({TASKS} tasks, group commit, synchronous=FULL)",
        elapsed.as_secs_f64(),
        created as f64 / elapsed.as_secs_f64()
    );
    let mut listed = 0;
    let mut after: Option<String> = None;
    for _ in 0..1_000_000 {
        let page = store
            .list_identities(&pool_id, after.as_deref(), 60, false)
            .await
            .expect("list_identities");
        let Some(last) = page.last() else { break };
        after = Some(last.id.clone());
        listed += page.len();
    }
    assert_eq!(listed, created, "every acknowledged identity is stored");

    // The other side of the hot path: GetCredentialsForIdentity reads the identity.
    const READ_FOR: Duration = Duration::from_secs(1);
    let started = Instant::now();
    let deadline = started + READ_FOR;
    let mut tasks = tokio::task::JoinSet::new();
    for (task, &created) in per_task.iter().enumerate().filter(|(_, n)| **n > 0) {
        let store = Arc::clone(&store);
        tasks.spawn(async move {
            let mut reads = 0_usize;
            while reads < MAX_PER_TASK && Instant::now() < deadline {
                let id = format!("us-east-1:guest-{task}-{:07}", reads % created);
                let row = store.get_identity(&id).await.expect("get_identity");
                assert!(row.is_some(), "{id} missing");
                reads += 1;
            }
            reads
        });
    }
    let mut reads = 0;
    while let Some(result) = tasks.join_next().await {
        reads += result.expect("task");
    }
    let elapsed = started.elapsed();
    println!(
        "get_identity: {reads} in {:.2} s = {:.0} reads/s ({TASKS} tasks)",
        elapsed.as_secs_f64(),
        reads as f64 / elapsed.as_secs_f64()
    );
}

const CRASH_CHILD_ENV: &str = "IDPOOL_CRASH_CHILD";
const CRASH_DB_ENV: &str = "IDPOOL_CRASH_DB";
const CRASH_TEST: &str = "a_killed_writer_loses_no_acknowledged_row";
/// The child stops by itself after this many rows, so a failed kill cannot run forever.
const CHILD_ROWS: usize = 200_000;
/// The parent kills the child once it has seen this many acknowledgements.
const KILL_AFTER: usize = 200;
/// Tasks creating identities at once in the child, so that commits carry several.
const CHILD_IDENTITY_TASKS: usize = 4;
const CRASH_POOL: &str = "us-east-1:crash-identities";
/// Marks the child's acknowledgements; libtest may print its own text on the same line.
const ACK: &str = "IDPOOL-ACK ";

fn acknowledged(line: &str) -> Option<String> {
    line.find(ACK).map(|at| line[at + ACK.len()..].to_owned())
}

/// The child: inserts pools and roles in one task and identities with a login in several
/// others, printing each once its write has returned.
async fn crash_child(path: &Path) {
    let store = Arc::new(SqliteStore::open(path).await.expect("child open"));
    store
        .insert_pool(&pool(CRASH_POOL, "{}"), u64::MAX)
        .await
        .expect("insert crash pool");
    for task in 0..CHILD_IDENTITY_TASKS {
        let store = Arc::clone(&store);
        tokio::spawn(async move {
            for n in 0..CHILD_ROWS {
                let id = format!("us-east-1:crash-{task}-{n:06}");
                let i = id.clone();
                transact(&*store, move |tx| {
                    tx.insert_identity(&i, CRASH_POOL, 1)?;
                    tx.link_login(&i, &google(&i), 1)
                })
                .await
                .expect("identity");
                // println! writes whole lines, so tasks never interleave within one.
                println!("{ACK}identity {id}");
            }
        });
    }
    for n in 0..CHILD_ROWS {
        let id = format!("us-east-1:crash-{n:06}");
        store
            .insert_pool(&pool(&id, &"x".repeat(512)), u64::MAX)
            .await
            .expect("insert_pool");
        println!("{ACK}pool {id}");
        let role = RoleRow {
            name: format!("Crash-{n:06}"),
            id: format!("AROACRASH{n:06}"),
            created_ms: 1,
            document: "{}".to_owned(),
        };
        store.insert_role(&role).await.expect("insert_role");
        println!("{ACK}role {}", role.name);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_writer_loses_no_acknowledged_row() {
    if std::env::var_os(CRASH_CHILD_ENV).is_some() {
        let path = std::env::var_os(CRASH_DB_ENV).expect("child needs IDPOOL_CRASH_DB");
        crash_child(Path::new(&path)).await;
        return;
    }
    let dir = TempDir::new("crash");
    let path = dir.path().join("idpool.db");
    let mut child = Command::new(std::env::current_exe().expect("test binary"))
        .args(["--exact", CRASH_TEST, "--nocapture", "--test-threads=1"])
        .env(CRASH_CHILD_ENV, "1")
        .env(CRASH_DB_ENV, &path)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn child");
    let stdout = child.stdout.take().expect("child stdout");
    // A thread reads, so that a silent child cannot hang the test past the deadline.
    let (lines_tx, lines) = mpsc::channel::<String>();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if lines_tx.send(line).is_err() {
                break;
            }
        }
    });

    let mut acked: Vec<String> = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(120);
    while acked.len() < KILL_AFTER {
        let left = deadline.saturating_duration_since(Instant::now());
        match lines.recv_timeout(left) {
            Ok(line) => acked.extend(acknowledged(&line)),
            Err(_) => break,
        }
    }
    child.kill().expect("kill child");
    let status = child.wait().expect("wait for child");
    // Acknowledgements written between the last read and the kill are still in the pipe.
    reader.join().expect("reader thread");
    acked.extend(lines.try_iter().filter_map(|line| acknowledged(&line)));

    assert!(
        acked.len() >= KILL_AFTER,
        "child acknowledged only {} rows",
        acked.len()
    );
    assert!(!status.success(), "child was not killed: {status:?}");
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(status.signal(), Some(9), "child did not die of SIGKILL");
    }
    assert!(
        acked.len() < 2 * CHILD_ROWS,
        "child finished before the kill"
    );

    assert!(
        acked.iter().any(|a| a.starts_with("identity "))
            && acked.iter().any(|a| a.starts_with("pool ")),
        "the child acknowledged identities and pools"
    );

    let store = SqliteStore::open(&path).await.expect("reopen after crash");
    for entry in &acked {
        let found = match entry.split_once(' ') {
            Some(("pool", id)) => store.get_pool(id).await.expect("get_pool").is_some(),
            Some(("role", name)) => store.get_role(name).await.expect("get_role").is_some(),
            Some(("identity", id)) => {
                let row = store.get_identity(id).await.expect("get_identity");
                row.is_some_and(|row| row.pool_id == CRASH_POOL && row.logins == [google(id)])
            }
            _ => panic!("unexpected acknowledgement {entry:?}"),
        };
        assert!(found, "acknowledged {entry} lost in the crash");
    }
    drop(store);
    let check: String = raw(&path)
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .expect("integrity_check");
    assert_eq!(check, "ok");
}
