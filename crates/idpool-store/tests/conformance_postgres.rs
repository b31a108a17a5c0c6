//! The conformance suite on PostgreSQL, plus what only a shared server shows: instances racing (design.md "Tests").
//!
//! The database comes from `IDPOOL_TEST_POSTGRES_URL` (`scripts/postgres.sh start` makes one).
//! Without it the tests fail under CI (`CI` set) and are skipped, with a note, elsewhere. Each
//! test works in a schema of its own, so that the quota checks, which count every pool, never
//! see another test's pools.

use std::sync::Arc;

use idpool_store::postgres::PostgresStore;
use idpool_store::testsuite::{self, unique};
use idpool_store::{
    IdentityStore, LoginLink, PoolRow, PoolStore, StoreError, StoreResult, transact,
};

const URL_VARIABLE: &str = "IDPOOL_TEST_POSTGRES_URL";

/// The test database's URL; `None` (after a note) when there is none outside CI.
fn database_url() -> Option<String> {
    match std::env::var(URL_VARIABLE) {
        Ok(url) if !url.trim().is_empty() => Some(url),
        _ => {
            let in_ci = std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false");
            assert!(
                !in_ci,
                "{URL_VARIABLE} is not set: CI must run the PostgreSQL conformance tests \
                 (scripts/test-all.sh starts a server with scripts/postgres.sh)"
            );
            eprintln!(
                "note: skipping the PostgreSQL conformance test: {URL_VARIABLE} is not set \
                 (run `scripts/postgres.sh start` and export it)"
            );
            None
        }
    }
}

/// Runs blocking client work off the async workers: the `postgres` client drives a runtime of
/// its own, which may not be started from inside an async task.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(f).await.expect("blocking task")
}

fn raw_client(url: &str) -> postgres::Client {
    postgres::Client::connect(url, postgres::NoTls).expect("connect raw client")
}

/// A new, empty schema; dropped with everything in it when the guard goes.
struct Schema {
    base_url: String,
    name: String,
}

impl Schema {
    async fn new(base_url: &str, label: &str) -> Schema {
        let name = unique(&format!("t_{label}"))
            .to_ascii_lowercase()
            .replace('-', "_");
        let (url, schema) = (base_url.to_owned(), name.clone());
        blocking(move || {
            raw_client(&url)
                .batch_execute(&format!("CREATE SCHEMA \"{schema}\""))
                .expect("create schema");
        })
        .await;
        Schema {
            base_url: base_url.to_owned(),
            name,
        }
    }

    /// The base URL with this schema first on the search path.
    fn url(&self) -> String {
        let separator = if self.base_url.contains('?') {
            '&'
        } else {
            '?'
        };
        format!(
            "{}{separator}options=-csearch_path%3D{}",
            self.base_url, self.name
        )
    }

    async fn query_i64(&self, sql: &str) -> i64 {
        let (url, sql) = (self.url(), sql.to_owned());
        blocking(move || {
            raw_client(&url)
                .query_one(sql.as_str(), &[])
                .expect("query")
                .get(0)
        })
        .await
    }

    async fn execute(&self, sql: &str) {
        let (url, sql) = (self.url(), sql.to_owned());
        blocking(move || raw_client(&url).batch_execute(&sql).expect("execute")).await;
    }
}

impl Drop for Schema {
    fn drop(&mut self) {
        let (url, name) = (self.base_url.clone(), self.name.clone());
        // A plain thread: drop may run inside an async task.
        let _ = std::thread::spawn(move || {
            if let Ok(mut client) = postgres::Client::connect(&url, postgres::NoTls) {
                let _ = client.batch_execute(&format!("DROP SCHEMA \"{name}\" CASCADE"));
            }
        })
        .join();
    }
}

fn pool(id: &str) -> PoolRow {
    PoolRow {
        id: id.to_owned(),
        name: format!("name of {id}"),
        version: 1,
        created_ms: 1_700_000_000_000,
        document: "{}".to_owned(),
    }
}

fn google(subject: &str) -> LoginLink {
    LoginLink {
        provider: "accounts.google.com".to_owned(),
        subject: subject.to_owned(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn suite_on_postgres() {
    let Some(base) = database_url() else { return };
    let schema = Schema::new(&base, "suite").await;
    let store = PostgresStore::open(&schema.url()).await.expect("open");
    testsuite::run_all(&store).await;
    // A second run over the leftovers of the first proves the ids really are unique.
    testsuite::run_all(&store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_by_url_applies_migrations_once() {
    let Some(base) = database_url() else { return };
    let schema = Schema::new(&base, "reopen").await;
    let id = format!("us-east-1:{}", unique("durable"));
    {
        let store = idpool_store::open(&schema.url())
            .await
            .expect("open by URL");
        store
            .insert_pool(&pool(&id), u64::MAX)
            .await
            .expect("insert");
    }
    let store = idpool_store::open(&schema.url()).await.expect("reopen");
    assert!(store.get_pool(&id).await.expect("get").is_some());
    assert_eq!(
        schema
            .query_i64("SELECT COUNT(*) FROM schema_migrations")
            .await,
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_from_a_newer_version_is_refused() {
    let Some(base) = database_url() else { return };
    let schema = Schema::new(&base, "newer").await;
    drop(PostgresStore::open(&schema.url()).await.expect("open"));
    schema
        .execute("INSERT INTO schema_migrations (version, name) VALUES (77, 'future')")
        .await;
    let err = PostgresStore::open(&schema.url())
        .await
        .expect_err("a newer schema was accepted")
        .to_string();
    assert!(err.contains("migration 77"), "{err}");
    assert!(err.contains("newer idpool"), "{err}");
    assert_eq!(
        schema
            .query_i64("SELECT COUNT(*) FROM schema_migrations")
            .await,
        2
    );
}

/// Connection failures name the server but never the password of the URL.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_never_show_the_password() {
    // Port 1 on loopback: nothing listens there, so connecting fails at once.
    let secret = "s3cret-Pa55word";
    for url in [
        format!("postgres://idpool:{secret}@127.0.0.1:1/idpool"),
        format!("postgresql://idpool:{secret}@127.0.0.1:not-a-port/idpool"),
    ] {
        let err = match idpool_store::open(&url).await {
            Ok(_) => panic!("opened {url:?}"),
            Err(e) => e,
        };
        assert!(matches!(err, StoreError::Backend(_)), "{err:?}");
        let shown = format!("{err} / {err:?}");
        assert!(!shown.contains(secret), "password leaked: {shown}");
    }
}

/// Two stores on one database stand for two instances: the advisory lock, not a worker
/// thread, keeps them within the pool quota.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_share_the_quota() {
    let Some(base) = database_url() else { return };
    let schema = Schema::new(&base, "quota").await;
    let stores = [
        Arc::new(
            PostgresStore::open(&schema.url())
                .await
                .expect("open first"),
        ),
        Arc::new(
            PostgresStore::open(&schema.url())
                .await
                .expect("open second"),
        ),
    ];
    const QUOTA: u64 = 7;
    let mut tasks = tokio::task::JoinSet::new();
    for n in 0..24 {
        let store = Arc::clone(&stores[n % 2]);
        tasks.spawn(async move {
            let id = format!("us-east-1:{}", unique(&format!("shared-{n}")));
            store.insert_pool(&pool(&id), QUOTA).await
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
        assert_eq!(listed.len() as u64, QUOTA, "both see every pool");
    }
}

async fn find_or_create(store: &PostgresStore, pool_id: &str, link: &LoginLink) -> String {
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_create_one_identity_per_login() {
    let Some(base) = database_url() else { return };
    let schema = Schema::new(&base, "identity").await;
    let stores = [
        Arc::new(
            PostgresStore::open(&schema.url())
                .await
                .expect("open first"),
        ),
        Arc::new(
            PostgresStore::open(&schema.url())
                .await
                .expect("open second"),
        ),
    ];
    let pool_id = format!("us-east-1:{}", unique("shared-identities"));
    stores[0]
        .insert_pool(&pool(&pool_id), u64::MAX)
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

/// A body that meets `Conflict` and carries on keeps both its earlier and its later work, as
/// on SQLite: PostgreSQL would otherwise have aborted the whole transaction.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_conflict_inside_a_body_leaves_the_rest_of_it_intact() {
    let Some(base) = database_url() else { return };
    let schema = Schema::new(&base, "savepoint").await;
    let store = PostgresStore::open(&schema.url()).await.expect("open");
    let pool_id = format!("us-east-1:{}", unique("savepoint"));
    store
        .insert_pool(&pool(&pool_id), u64::MAX)
        .await
        .expect("insert_pool");
    let taken = google(&unique("taken"));
    let owner = find_or_create(&store, &pool_id, &taken).await;
    let (p, t) = (pool_id.clone(), taken.clone());
    let newcomer: StoreResult<(String, bool)> = transact(&store, move |tx| {
        let id = format!("us-east-1:{}", unique("newcomer"));
        tx.insert_identity(&id, &p, 2)?;
        let refused = matches!(tx.link_login(&id, &t, 2), Err(StoreError::Conflict));
        tx.link_login(
            &id,
            &LoginLink {
                provider: "graph.facebook.com".to_owned(),
                subject: "fb-1".to_owned(),
            },
            2,
        )?;
        Ok((id, refused))
    })
    .await;
    let (newcomer, refused) = newcomer.expect("body");
    assert!(refused, "the taken login must give Conflict");
    let stored = store
        .get_identity(&newcomer)
        .await
        .expect("get")
        .expect("the newcomer was committed");
    assert_eq!(stored.logins.len(), 1);
    assert_eq!(stored.logins[0].provider, "graph.facebook.com");
    let first = store
        .get_identity(&owner)
        .await
        .expect("get")
        .expect("owner");
    assert_eq!(first.logins, [taken]);
}
