//! The conformance suite every engine must pass, through the trait only (design.md "Tests").
//!
//! Each check uses ids of its own, so the suite can run against a store that already holds
//! data, and more than once. The quota checks count the pools in the store, so nothing else
//! may create or delete pools while they run; [`run_all`] runs the checks one after another.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::Poll;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::{
    DeveloperLink, IdentityRow, IdentityTx, KeyRow, LoginLink, OidcProviderRow, PoolRow, RoleRow,
    SamlProviderRow, Store, StoreError, StoreResult, iam_name_key, transact,
};

/// Runs every check, in order.
pub async fn run_all(store: &dyn Store) {
    pool_round_trip(store).await;
    pool_versions(store).await;
    pool_missing(store).await;
    pool_quota(store).await;
    pool_quota_race(store).await;
    pool_pagination(store).await;
    role_names_ignore_case(store).await;
    role_update_and_list(store).await;
    role_policies(store).await;
    role_delete_refused_while_policies_remain(store).await;
    oidc_providers(store).await;
    saml_providers(store).await;
    unicode_and_large_documents(store).await;
    keys(store).await;
    identity_round_trip(store).await;
    identity_logins(store).await;
    identity_developer_users(store).await;
    identity_merge(store).await;
    identity_delete(store).await;
    identity_failed_body_rolls_back(store).await;
    identity_pagination(store).await;
    identity_pool_deletion(store).await;
    identity_find_or_create_race(store).await;
}

/// A name no earlier call in any process has returned: label, process, time and a counter.
pub fn unique(label: &str) -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    format!("{label}-{}-{nanos:x}-{n}", std::process::id())
}

fn pool_id(label: &str) -> String {
    format!("us-east-1:{}", unique(label))
}

fn pool(id: &str, name: &str, version: i64, document: &str) -> PoolRow {
    PoolRow {
        id: id.to_owned(),
        name: name.to_owned(),
        version,
        created_ms: 1_700_000_000_123,
        document: document.to_owned(),
    }
}

fn role(name: &str, document: &str) -> RoleRow {
    RoleRow {
        name: name.to_owned(),
        id: unique("AROA"),
        created_ms: 1_700_000_000_456,
        document: document.to_owned(),
    }
}

#[track_caller]
fn ok<T>(result: StoreResult<T>, what: &str) -> T {
    match result {
        Ok(value) => value,
        Err(e) => panic!("{what}: unexpected error {e:?}"),
    }
}

macro_rules! assert_err {
    ($result:expr, $pattern:pat, $what:expr) => {
        match $result {
            Err($pattern) => {}
            Err(other) => panic!(
                "{}: expected {}, got error {other:?}",
                $what,
                stringify!($pattern)
            ),
            Ok(_) => panic!("{}: expected {}, got Ok", $what, stringify!($pattern)),
        }
    };
}

/// Byte-exact comparison that does not print megabytes when it fails.
#[track_caller]
fn assert_same_text(got: &str, want: &str, what: &str) {
    if got != want {
        let first_difference = got
            .bytes()
            .zip(want.bytes())
            .position(|(a, b)| a != b)
            .unwrap_or(got.len().min(want.len()));
        panic!(
            "{what}: stored {} bytes, read back {} bytes, first difference at byte {}",
            want.len(),
            got.len(),
            first_difference
        );
    }
}

/// Walks every pool with pages of `page`, checking that pages respect the limit.
async fn all_pool_ids(store: &dyn Store, page: u32) -> Vec<(String, String)> {
    const MAX_PAGES: usize = 200_000;
    let mut seen: Vec<(String, String)> = Vec::new();
    for _ in 0..MAX_PAGES {
        let after = seen.last().map(|(id, _)| id.as_str());
        let batch = ok(store.list_pools(after, page).await, "list_pools");
        assert!(
            batch.len() <= page as usize,
            "list_pools returned {} rows for a limit of {page}",
            batch.len()
        );
        if batch.is_empty() {
            return seen;
        }
        seen.extend(batch.into_iter().map(|p| (p.id, p.name)));
    }
    panic!("list_pools with pages of {page} did not finish within {MAX_PAGES} pages");
}

async fn count_pools(store: &dyn Store) -> u64 {
    all_pool_ids(store, 60).await.len() as u64
}

/// Insert, read back, refuse a duplicate id, delete.
pub async fn pool_round_trip(store: &dyn Store) {
    let id = pool_id("round-trip");
    let row = pool(
        &id,
        "round trip",
        1,
        r#"{"AllowUnauthenticatedIdentities":false}"#,
    );
    ok(store.insert_pool(&row, u64::MAX).await, "insert_pool");
    assert_eq!(ok(store.get_pool(&id).await, "get_pool"), Some(row.clone()));

    let imposter = pool(&id, "imposter", 1, "{}");
    assert_err!(
        store.insert_pool(&imposter, u64::MAX).await,
        StoreError::Conflict,
        "insert_pool with an existing id"
    );
    assert_eq!(
        ok(store.get_pool(&id).await, "get_pool after conflict"),
        Some(row),
        "a refused insert must not change the stored pool"
    );

    assert!(ok(store.delete_pool(&id).await, "delete_pool"));
    assert_eq!(ok(store.get_pool(&id).await, "get_pool after delete"), None);
    assert!(
        !ok(store.delete_pool(&id).await, "second delete_pool"),
        "deleting a deleted pool must report that it did not exist"
    );
    let listed = all_pool_ids(store, 60).await;
    assert!(
        listed.iter().all(|(listed_id, _)| *listed_id != id),
        "a deleted pool is still listed"
    );
}

/// Updates apply only on top of the version they were read at.
pub async fn pool_versions(store: &dyn Store) {
    let id = pool_id("versions");
    let original = pool(&id, "v1", 1, r#"{"v":1}"#);
    ok(store.insert_pool(&original, u64::MAX).await, "insert_pool");

    let mut second = pool(&id, "v2", 2, r#"{"v":2}"#);
    second.created_ms = original.created_ms + 999;
    ok(store.update_pool(&second).await, "update_pool to version 2");
    let stored = ok(store.get_pool(&id).await, "get_pool").expect("updated pool exists");
    assert_eq!(stored.name, "v2");
    assert_eq!(stored.document, r#"{"v":2}"#);
    assert_eq!(stored.version, 2);
    assert_eq!(
        stored.created_ms, original.created_ms,
        "an update must keep the creation time"
    );

    let stale = pool(&id, "stale", 2, r#"{"v":"stale"}"#);
    assert_err!(
        store.update_pool(&stale).await,
        StoreError::ConcurrentModification,
        "update_pool based on an old version"
    );
    let skipping = pool(&id, "skip", 4, "{}");
    assert_err!(
        store.update_pool(&skipping).await,
        StoreError::ConcurrentModification,
        "update_pool skipping a version"
    );
    let absurd = pool(&id, "absurd", i64::MIN, "{}");
    assert_err!(
        store.update_pool(&absurd).await,
        StoreError::ConcurrentModification,
        "update_pool with the smallest version"
    );
    let after_refusals = ok(store.get_pool(&id).await, "get_pool").expect("pool exists");
    assert_eq!(
        after_refusals, stored,
        "refused updates must not change the pool"
    );

    ok(
        store.update_pool(&pool(&id, "v3", 3, r#"{"v":3}"#)).await,
        "update_pool to version 3",
    );
    let third = ok(store.get_pool(&id).await, "get_pool").expect("pool exists");
    assert_eq!((third.version, third.name.as_str()), (3, "v3"));
    assert!(ok(store.delete_pool(&id).await, "delete_pool"));
}

/// Operations on pools that do not exist.
pub async fn pool_missing(store: &dyn Store) {
    let id = pool_id("missing");
    assert_eq!(ok(store.get_pool(&id).await, "get_pool"), None);
    assert_err!(
        store.update_pool(&pool(&id, "ghost", 2, "{}")).await,
        StoreError::NotFound,
        "update_pool of a missing pool"
    );
    assert!(!ok(
        store.delete_pool(&id).await,
        "delete_pool of a missing pool"
    ));
    assert_eq!(ok(store.get_pool(&id).await, "get_pool"), None);
    let after_last = ok(
        store.list_pools(Some("\u{10FFFF}"), 60).await,
        "list_pools after every id",
    );
    assert!(after_last.is_empty(), "nothing sorts after U+10FFFF");
}

/// Inserts stop at the quota the caller passes.
pub async fn pool_quota(store: &dyn Store) {
    let existing = count_pools(store).await;
    let refused = pool(&pool_id("quota-full"), "full", 1, "{}");
    assert_err!(
        store.insert_pool(&refused, existing).await,
        StoreError::LimitExceeded,
        "insert_pool when the quota is already reached"
    );
    assert_eq!(ok(store.get_pool(&refused.id).await, "get_pool"), None);
    assert_err!(
        store.insert_pool(&refused, 0).await,
        StoreError::LimitExceeded,
        "insert_pool with a quota of zero"
    );

    let first = pool(&pool_id("quota-1"), "q1", 1, "{}");
    let second = pool(&pool_id("quota-2"), "q2", 1, "{}");
    ok(
        store.insert_pool(&first, existing + 2).await,
        "first insert under quota",
    );
    ok(
        store.insert_pool(&second, existing + 2).await,
        "second insert under quota",
    );
    assert_err!(
        store.insert_pool(&refused, existing + 2).await,
        StoreError::LimitExceeded,
        "insert_pool past the quota"
    );
    assert_eq!(count_pools(store).await, existing + 2);

    // A quota is a ceiling, not a count to reach again: deleting frees room.
    assert!(ok(store.delete_pool(&first.id).await, "delete_pool"));
    ok(
        store.insert_pool(&refused, existing + 2).await,
        "insert after freeing room",
    );
    for id in [&second.id, &refused.id] {
        assert!(ok(store.delete_pool(id).await, "delete_pool"));
    }
}

/// Racing inserts cannot overshoot the quota together.
pub async fn pool_quota_race(store: &dyn Store) {
    let existing = count_pools(store).await;
    let max = existing + 3;
    let rows: Vec<PoolRow> = (0..8)
        .map(|i| pool(&pool_id(&format!("race-{i}")), "race", 1, "{}"))
        .collect();
    let results = tokio::join!(
        store.insert_pool(&rows[0], max),
        store.insert_pool(&rows[1], max),
        store.insert_pool(&rows[2], max),
        store.insert_pool(&rows[3], max),
        store.insert_pool(&rows[4], max),
        store.insert_pool(&rows[5], max),
        store.insert_pool(&rows[6], max),
        store.insert_pool(&rows[7], max),
    );
    let results = [
        results.0, results.1, results.2, results.3, results.4, results.5, results.6, results.7,
    ];
    let mut created = 0;
    for result in &results {
        match result {
            Ok(()) => created += 1,
            Err(StoreError::LimitExceeded) => {}
            Err(e) => panic!("racing insert_pool: unexpected error {e:?}"),
        }
    }
    assert_eq!(created, 3, "exactly the free room may be used");
    assert_eq!(count_pools(store).await, max);
    for (row, result) in rows.iter().zip(&results) {
        let stored = ok(store.get_pool(&row.id).await, "get_pool");
        assert_eq!(
            stored.is_some(),
            result.is_ok(),
            "a pool exists exactly when its insert succeeded"
        );
        if stored.is_some() {
            assert!(ok(store.delete_pool(&row.id).await, "delete_pool"));
        }
    }
}

/// Listing by id cursor returns every pool exactly once, in byte order, for any page size.
pub async fn pool_pagination(store: &dyn Store) {
    let prefix = pool_id("page");
    let ours: Vec<PoolRow> = (0..7)
        .map(|i| pool(&format!("{prefix}-{i:02}"), &format!("page {i}"), 1, "{}"))
        .collect();
    // Inserted out of order, so that insertion order cannot pass for id order.
    for i in [3, 0, 6, 1, 5, 2, 4] {
        ok(store.insert_pool(&ours[i], u64::MAX).await, "insert_pool");
    }

    let mut reference: Option<Vec<(String, String)>> = None;
    for page in [1, 2, 60] {
        let listed = all_pool_ids(store, page).await;
        assert!(
            listed
                .windows(2)
                .all(|w| w[0].0.as_bytes() < w[1].0.as_bytes()),
            "pages of {page}: ids must be strictly increasing in byte order"
        );
        for row in &ours {
            let hits: Vec<_> = listed.iter().filter(|(id, _)| *id == row.id).collect();
            assert_eq!(hits.len(), 1, "pages of {page}: {} listed once", row.id);
            assert_eq!(hits[0].1, row.name, "pages of {page}: name of {}", row.id);
        }
        match &reference {
            None => reference = Some(listed),
            Some(first) => assert_eq!(&listed, first, "pages of {page} and of 1 disagree"),
        }
    }

    let first_three = ok(store.list_pools(Some(&prefix), 3).await, "list_pools");
    let ids: Vec<&str> = first_three.iter().map(|p| p.id.as_str()).collect();
    assert_eq!(ids, [&ours[0].id, &ours[1].id, &ours[2].id]);
    let from_middle = ok(store.list_pools(Some(&ours[4].id), 2).await, "list_pools");
    let ids: Vec<&str> = from_middle.iter().map(|p| p.id.as_str()).collect();
    assert_eq!(
        ids,
        [&ours[5].id, &ours[6].id],
        "the cursor itself is excluded"
    );
    let after_ours = ok(store.list_pools(Some(&ours[6].id), 60).await, "list_pools");
    assert!(after_ours.iter().all(|p| !p.id.starts_with(&prefix)));
    assert!(
        ok(store.list_pools(None, 0).await, "list_pools with limit 0").is_empty(),
        "a limit of zero lists nothing"
    );

    for row in &ours {
        assert!(ok(store.delete_pool(&row.id).await, "delete_pool"));
    }
}

/// Role names are unique and found without regard to case; ids are unique too.
pub async fn role_names_ignore_case(store: &dyn Store) {
    let name = unique("Role-Mixed");
    let row = role(&name, r#"{"Path":"/"}"#);
    ok(store.insert_role(&row).await, "insert_role");

    for spelling in [name.clone(), name.to_uppercase(), name.to_lowercase()] {
        let found = ok(store.get_role(&spelling).await, "get_role");
        assert_eq!(
            found,
            Some(row.clone()),
            "get_role({spelling}) keeps the stored case"
        );
    }
    for spelling in [name.to_lowercase(), name.to_uppercase()] {
        assert_err!(
            store.insert_role(&role(&spelling, "{}")).await,
            StoreError::Conflict,
            "insert_role differing only in case"
        );
    }
    let mut same_id = role(&unique("Role-Other"), "{}");
    same_id.id = row.id.clone();
    assert_err!(
        store.insert_role(&same_id).await,
        StoreError::Conflict,
        "insert_role with an existing role id"
    );
    assert_eq!(ok(store.get_role(&same_id.name).await, "get_role"), None);
    assert_eq!(
        ok(store.get_role(&row.name).await, "get_role"),
        Some(row.clone())
    );
    assert_eq!(
        ok(store.get_role(&unique("absent")).await, "get_role"),
        None
    );

    ok(store.delete_role(&name.to_uppercase()).await, "delete_role");
    assert_eq!(ok(store.get_role(&name).await, "get_role"), None);
}

/// Updating replaces the document; listing orders by name without regard to case.
pub async fn role_update_and_list(store: &dyn Store) {
    let prefix = unique("list");
    // Byte order (Beta, Zeta, alpha) differs from the case-blind order (alpha, Beta, Zeta).
    let names = [
        format!("{prefix}-Zeta"),
        format!("{prefix}-alpha"),
        format!("{prefix}-Beta"),
    ];
    for name in &names {
        ok(store.insert_role(&role(name, "{}")).await, "insert_role");
    }
    let key_prefix = iam_name_key(&prefix);
    let all = ok(store.list_roles().await, "list_roles");
    assert!(
        all.windows(2)
            .all(|w| iam_name_key(&w[0].name) < iam_name_key(&w[1].name)),
        "list_roles must be ordered by name without regard to case"
    );
    let listed: Vec<&str> = all
        .iter()
        .filter(|r| iam_name_key(&r.name).starts_with(&key_prefix))
        .map(|r| r.name.as_str())
        .collect();
    assert_eq!(listed, [&names[1], &names[2], &names[0]]);

    let before = ok(store.get_role(&names[1]).await, "get_role").expect("role exists");
    let mut changed = before.clone();
    changed.name = names[1].to_uppercase();
    changed.document = r#"{"Description":"changed"}"#.to_owned();
    ok(
        store.update_role(&changed).await,
        "update_role by another case",
    );
    let after = ok(store.get_role(&names[1]).await, "get_role").expect("role exists");
    assert_eq!(after.document, changed.document);
    assert_eq!(after.name, before.name, "update_role keeps the stored name");
    assert_eq!(
        (&after.id, after.created_ms),
        (&before.id, before.created_ms)
    );

    assert_err!(
        store.update_role(&role(&unique("absent"), "{}")).await,
        StoreError::NotFound,
        "update_role of a missing role"
    );
    for name in &names {
        ok(store.delete_role(name).await, "delete_role");
        assert_err!(
            store.delete_role(name).await,
            StoreError::NotFound,
            "delete_role of a deleted role"
        );
    }
    let remaining = ok(store.list_roles().await, "list_roles");
    assert!(
        remaining
            .iter()
            .all(|r| !iam_name_key(&r.name).starts_with(&key_prefix)),
        "deleted roles are still listed"
    );
}

/// Inline policies: create, replace, list in byte order, case-sensitive names, delete.
pub async fn role_policies(store: &dyn Store) {
    let name = unique("Policy-Role");
    let other = unique("Policy-Other");
    ok(store.insert_role(&role(&name, "{}")).await, "insert_role");
    ok(store.insert_role(&role(&other, "{}")).await, "insert_role");
    let upper = name.to_uppercase();
    let lower = name.to_lowercase();

    ok(
        store
            .put_role_policy(&name, "Beta", r#"{"p":"Beta"}"#)
            .await,
        "put Beta",
    );
    ok(
        store
            .put_role_policy(&upper, "alpha", r#"{"p":"alpha"}"#)
            .await,
        "put alpha",
    );
    ok(
        store
            .put_role_policy(&lower, "ALPHA", r#"{"p":"ALPHA"}"#)
            .await,
        "put ALPHA",
    );
    ok(
        store
            .put_role_policy(&other, "alpha", r#"{"p":"other"}"#)
            .await,
        "put other",
    );

    let listed = ok(store.list_role_policies(&upper).await, "list_role_policies");
    assert_eq!(
        listed,
        ["ALPHA", "Beta", "alpha"],
        "byte order, names keep their case"
    );
    assert_eq!(
        ok(store.get_role_policy(&lower, "alpha").await, "get alpha").as_deref(),
        Some(r#"{"p":"alpha"}"#)
    );
    assert_eq!(
        ok(store.get_role_policy(&name, "ALPHA").await, "get ALPHA").as_deref(),
        Some(r#"{"p":"ALPHA"}"#)
    );
    assert_eq!(
        ok(store.get_role_policy(&other, "alpha").await, "get other").as_deref(),
        Some(r#"{"p":"other"}"#)
    );

    ok(
        store
            .put_role_policy(&name, "alpha", r#"{"p":"alpha2"}"#)
            .await,
        "replace alpha",
    );
    assert_eq!(
        ok(store.get_role_policy(&name, "alpha").await, "get alpha").as_deref(),
        Some(r#"{"p":"alpha2"}"#)
    );
    assert_eq!(
        ok(store.list_role_policies(&name).await, "list_role_policies").len(),
        3,
        "replacing must not add a policy"
    );
    assert_eq!(
        ok(store.get_role_policy(&other, "alpha").await, "get other").as_deref(),
        Some(r#"{"p":"other"}"#),
        "another role's policy of the same name is untouched"
    );

    let absent_role = unique("absent");
    assert_eq!(
        ok(store.get_role_policy(&name, "gamma").await, "get missing"),
        None
    );
    assert_eq!(
        ok(store.get_role_policy(&absent_role, "alpha").await, "get"),
        None
    );
    assert_err!(
        store.put_role_policy(&absent_role, "alpha", "{}").await,
        StoreError::NotFound,
        "put_role_policy on a missing role"
    );
    assert_err!(
        store.list_role_policies(&absent_role).await,
        StoreError::NotFound,
        "list_role_policies of a missing role"
    );
    assert_err!(
        store.delete_role_policy(&absent_role, "alpha").await,
        StoreError::NotFound,
        "delete_role_policy on a missing role"
    );
    assert_err!(
        store.delete_role_policy(&name, "gamma").await,
        StoreError::NotFound,
        "delete_role_policy of a missing policy"
    );

    ok(
        store.delete_role_policy(&upper, "ALPHA").await,
        "delete ALPHA",
    );
    assert_eq!(
        ok(store.list_role_policies(&name).await, "list_role_policies"),
        ["Beta", "alpha"]
    );
    assert_eq!(
        ok(store.get_role_policy(&name, "ALPHA").await, "get ALPHA"),
        None
    );
    assert_err!(
        store.delete_role_policy(&name, "ALPHA").await,
        StoreError::NotFound,
        "delete_role_policy twice"
    );

    for (role_name, policy) in [(&name, "Beta"), (&name, "alpha"), (&other, "alpha")] {
        ok(
            store.delete_role_policy(role_name, policy).await,
            "delete_role_policy",
        );
    }
    assert!(ok(store.list_role_policies(&name).await, "list_role_policies").is_empty());
    ok(store.delete_role(&name).await, "delete_role");
    ok(store.delete_role(&other).await, "delete_role");
}

/// A role with inline policies cannot be deleted; a re-created role starts empty.
pub async fn role_delete_refused_while_policies_remain(store: &dyn Store) {
    let name = unique("Dependents");
    let row = role(&name, r#"{"Path":"/deps/"}"#);
    ok(store.insert_role(&row).await, "insert_role");
    ok(store.put_role_policy(&name, "one", "{}").await, "put one");
    ok(store.put_role_policy(&name, "two", "{}").await, "put two");

    assert_err!(
        store.delete_role(&name).await,
        StoreError::HasDependents,
        "delete_role with two policies"
    );
    assert_eq!(
        ok(store.get_role(&name).await, "get_role"),
        Some(row.clone())
    );
    assert_eq!(
        ok(store.list_role_policies(&name).await, "list_role_policies"),
        ["one", "two"]
    );
    ok(store.delete_role_policy(&name, "one").await, "delete one");
    assert_err!(
        store.delete_role(&name.to_lowercase()).await,
        StoreError::HasDependents,
        "delete_role with one policy"
    );
    ok(store.delete_role_policy(&name, "two").await, "delete two");
    ok(
        store.delete_role(&name).await,
        "delete_role without policies",
    );
    assert_eq!(ok(store.get_role(&name).await, "get_role"), None);

    ok(
        store.insert_role(&role(&name, "{}")).await,
        "re-create the role",
    );
    assert!(
        ok(store.list_role_policies(&name).await, "list_role_policies").is_empty(),
        "a re-created role must not inherit policies"
    );
    ok(store.delete_role(&name).await, "delete_role");
}

/// One provider check per table; the two tables behave the same.
macro_rules! provider_check {
    ($(#[$doc:meta])* $check:ident, $row:ident, $kind:literal,
     $insert:ident, $get:ident, $update:ident, $delete:ident, $list:ident) => {
        $(#[$doc])*
        pub async fn $check(store: &dyn Store) {
            let tag = unique($kind);
            let arn = |host: &str| {
                format!("arn:aws:iam::000000000000:{}-provider/{host}.{tag}.example", $kind)
            };
            let make = |host: &str, created_ms: i64, document: &str| $row {
                arn: arn(host),
                created_ms,
                document: document.to_owned(),
            };
            // `a` sorts after `b`, so the listing cannot pass by insertion order.
            let a = make("b-host", 1_700_000_000_001, r#"{"n":"a"}"#);
            let b = make("a-host", 1_700_000_000_002, r#"{"n":"b"}"#);
            ok(store.$insert(&a).await, "insert a");
            ok(store.$insert(&b).await, "insert b");
            let duplicate = make("b-host", 7, "{}");
            assert_err!(
                store.$insert(&duplicate).await,
                StoreError::Conflict,
                "insert of an existing ARN"
            );
            assert_eq!(ok(store.$get(&a.arn).await, "get a"), Some(a.clone()));
            assert_eq!(ok(store.$get(&arn("absent")).await, "get absent"), None);

            let changed = make("b-host", 42, r#"{"n":"a2"}"#);
            ok(store.$update(&changed).await, "update a");
            let stored = ok(store.$get(&a.arn).await, "get a").expect("provider exists");
            assert_eq!(stored.document, changed.document);
            assert_eq!(stored.created_ms, a.created_ms, "an update keeps the creation time");
            assert_err!(
                store.$update(&make("absent", 1, "{}")).await,
                StoreError::NotFound,
                "update of a missing ARN"
            );

            let all = ok(store.$list().await, "list");
            assert!(all.windows(2).all(|w| w[0].arn < w[1].arn), "list is ordered by ARN");
            let ours: Vec<&str> = all
                .iter()
                .filter(|p| p.arn.contains(&tag))
                .map(|p| p.arn.as_str())
                .collect();
            assert_eq!(ours, [b.arn.as_str(), a.arn.as_str()]);

            ok(store.$delete(&a.arn).await, "delete a");
            assert_err!(store.$delete(&a.arn).await, StoreError::NotFound, "delete twice");
            assert_eq!(ok(store.$get(&a.arn).await, "get deleted"), None);
            let left: Vec<String> = ok(store.$list().await, "list")
                .into_iter()
                .map(|p| p.arn)
                .filter(|arn| arn.contains(&tag))
                .collect();
            assert_eq!(left, [b.arn.as_str()]);
            ok(store.$delete(&b.arn).await, "delete b");
        }
    };
}

provider_check!(
    /// OIDC providers: CRUD, `Conflict` on a duplicate ARN, ordered listing.
    oidc_providers, OidcProviderRow, "oidc",
    insert_oidc_provider, get_oidc_provider, update_oidc_provider, delete_oidc_provider,
    list_oidc_providers
);

provider_check!(
    /// SAML providers: CRUD, `Conflict` on a duplicate ARN, ordered listing.
    saml_providers, SamlProviderRow, "saml",
    insert_saml_provider, get_saml_provider, update_saml_provider, delete_saml_provider,
    list_saml_providers
);

/// A document of at least 1 MiB mixing ASCII, multi-byte and awkward characters.
fn large_document(seed: &str) -> String {
    const PIECES: [&str; 10] = [
        "plain ascii ",
        "\u{e9}t\u{e9} ",
        "\u{6f22}\u{5b57} ",
        "\u{1f3ca}\u{200d}\u{2640}\u{fe0f} ",
        "e\u{301} ",
        "\u{202e}rtl\u{202c} ",
        "\u{feff}bom ",
        "quotes \" ' \\ ",
        "\r\n\t",
        "'); DROP TABLE pools; -- ",
    ];
    let mut document = format!("{{\"seed\":\"{seed}\",\"text\":\"");
    let mut i = 0;
    while document.len() < (1 << 20) {
        document.push_str(PIECES[i % PIECES.len()]);
        document.push_str(&i.to_string());
        i += 1;
    }
    document.push_str("\"}");
    document
}

/// Unicode names and 1 MiB documents come back byte for byte from every table.
pub async fn unicode_and_large_documents(store: &dyn Store) {
    let big = large_document("pool");
    let id = pool_id("unicode");
    let name = "Pool \u{1f3ca} \u{fc}n\u{ef}c\u{f6}d\u{e9} \u{6c60} '\"\\";
    ok(
        store.insert_pool(&pool(&id, name, 1, &big), u64::MAX).await,
        "insert_pool",
    );
    let stored = ok(store.get_pool(&id).await, "get_pool").expect("pool exists");
    assert_same_text(&stored.name, name, "pool name");
    assert_same_text(&stored.document, &big, "pool document");
    let listed = ok(
        store.list_pools(Some(&id[..id.len() - 1]), 60).await,
        "list_pools",
    );
    let summary = listed.iter().find(|p| p.id == id).expect("pool listed");
    assert_same_text(&summary.name, name, "listed pool name");
    let bigger = format!("{big}{big}");
    ok(
        store.update_pool(&pool(&id, name, 2, &bigger)).await,
        "update_pool",
    );
    let stored = ok(store.get_pool(&id).await, "get_pool").expect("pool exists");
    assert_same_text(&stored.document, &bigger, "updated pool document");
    assert!(ok(store.delete_pool(&id).await, "delete_pool"));

    let role_name = unique("Unicode-Role");
    let role_doc = large_document("role");
    ok(
        store.insert_role(&role(&role_name, &role_doc)).await,
        "insert_role",
    );
    let stored = ok(store.get_role(&role_name).await, "get_role").expect("role exists");
    assert_same_text(&stored.document, &role_doc, "role document");
    let policy_name = "pol\u{ed}tica-\u{fc}-\u{1f512}";
    let policy_doc = large_document("policy");
    ok(
        store
            .put_role_policy(&role_name, policy_name, &policy_doc)
            .await,
        "put_role_policy",
    );
    let got = ok(
        store.get_role_policy(&role_name, policy_name).await,
        "get_role_policy",
    )
    .expect("policy exists");
    assert_same_text(&got, &policy_doc, "policy document");
    assert_eq!(
        ok(
            store.list_role_policies(&role_name).await,
            "list_role_policies"
        ),
        [policy_name]
    );
    ok(
        store.delete_role_policy(&role_name, policy_name).await,
        "delete_role_policy",
    );
    ok(store.delete_role(&role_name).await, "delete_role");

    let oidc = OidcProviderRow {
        arn: format!("arn:aws:iam::000000000000:oidc-provider/{}", unique("big")),
        created_ms: 1,
        document: large_document("oidc"),
    };
    ok(
        store.insert_oidc_provider(&oidc).await,
        "insert_oidc_provider",
    );
    let got = ok(store.get_oidc_provider(&oidc.arn).await, "get").expect("exists");
    assert_same_text(&got.document, &oidc.document, "OIDC provider document");
    ok(
        store.delete_oidc_provider(&oidc.arn).await,
        "delete_oidc_provider",
    );

    let saml = SamlProviderRow {
        arn: format!("arn:aws:iam::000000000000:saml-provider/{}", unique("big")),
        created_ms: 2,
        document: large_document("saml"),
    };
    ok(
        store.insert_saml_provider(&saml).await,
        "insert_saml_provider",
    );
    let got = ok(store.get_saml_provider(&saml.arn).await, "get").expect("exists");
    assert_same_text(&got.document, &saml.document, "SAML provider document");
    ok(
        store.delete_saml_provider(&saml.arn).await,
        "delete_saml_provider",
    );
}

/// Key ring rows: binary material byte-exact, `Conflict` on a taken (kind, id), ordered list.
pub async fn keys(store: &dyn Store) {
    let kind = unique("kind");
    let other_kind = format!("{kind}-other");
    let every_byte: Vec<u8> = (0..=255).rev().collect();
    let key = |kind: &str, id: u32, material: &[u8]| KeyRow {
        kind: kind.to_owned(),
        id,
        created_ms: 1_700_000_000_000 + i64::from(id),
        material: material.to_vec(),
    };
    let rows = [
        key(&kind, 2, &every_byte),
        key(&kind, 1, &[0; 32]),
        key(&kind, u32::MAX, b"\x00last"),
        key(&other_kind, 1, &[]),
    ];
    for row in &rows {
        ok(store.insert_key(row).await, "insert_key");
    }
    assert_err!(
        store.insert_key(&key(&kind, 2, b"racing instance")).await,
        StoreError::Conflict,
        "insert_key of a taken (kind, id)"
    );

    let ours = |all: Vec<KeyRow>| -> Vec<KeyRow> {
        all.into_iter()
            .filter(|k| k.kind == kind || k.kind == other_kind)
            .collect()
    };
    let all = ok(store.list_keys().await, "list_keys");
    assert!(
        all.windows(2)
            .all(|w| (&w[0].kind, w[0].id) < (&w[1].kind, w[1].id)),
        "list_keys is ordered by kind, then id"
    );
    let expected = vec![
        rows[1].clone(),
        rows[0].clone(),
        rows[2].clone(),
        rows[3].clone(),
    ];
    assert!(
        ours(all) == expected,
        "list_keys must return every key once, material byte for byte"
    );

    ok(store.delete_key(&kind, 2).await, "delete_key");
    assert_err!(
        store.delete_key(&kind, 2).await,
        StoreError::NotFound,
        "delete_key twice"
    );
    assert_err!(
        store.delete_key(&unique("no-kind"), 1).await,
        StoreError::NotFound,
        "delete_key of a missing kind"
    );
    let left: Vec<(String, u32)> = ours(ok(store.list_keys().await, "list_keys"))
        .into_iter()
        .map(|k| (k.kind, k.id))
        .collect();
    assert_eq!(
        left,
        [
            (kind.clone(), 1),
            (kind.clone(), u32::MAX),
            (other_kind.clone(), 1)
        ]
    );
    for (kind, id) in left {
        ok(store.delete_key(&kind, id).await, "delete_key");
    }
}

/// Polls every future until all are done, so their store calls overlap; results in order.
async fn join_all<F: Future>(futures: impl IntoIterator<Item = F>) -> Vec<F::Output> {
    let mut pending: Vec<Pin<Box<F>>> = futures.into_iter().map(Box::pin).collect();
    let mut done: Vec<Option<F::Output>> = pending.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut waiting = false;
        for (future, slot) in pending.iter_mut().zip(done.iter_mut()) {
            if slot.is_none() {
                match future.as_mut().poll(cx) {
                    Poll::Ready(value) => *slot = Some(value),
                    Poll::Pending => waiting = true,
                }
            }
        }
        if waiting {
            Poll::Pending
        } else {
            Poll::Ready(())
        }
    })
    .await;
    done.into_iter().flatten().collect()
}

/// A new pool for one check, created without regard to the quota.
async fn new_pool(store: &dyn Store, label: &str) -> String {
    let id = pool_id(label);
    ok(
        store
            .insert_pool(&pool(&id, label, 1, "{}"), u64::MAX)
            .await,
        "insert_pool",
    );
    id
}

fn identity_id(label: &str) -> String {
    format!("us-east-1:{}", unique(label))
}

fn login(provider: &str, subject: &str) -> LoginLink {
    LoginLink {
        provider: provider.to_owned(),
        subject: subject.to_owned(),
    }
}

fn developer(provider: &str, user_id: &str) -> DeveloperLink {
    DeveloperLink {
        provider: provider.to_owned(),
        user_id: user_id.to_owned(),
    }
}

/// Runs one statement of [`IdentityTx`] in a transaction of its own.
async fn tx<T, F>(store: &dyn Store, mut statement: F) -> StoreResult<T>
where
    T: Send + 'static,
    F: FnMut(&mut dyn IdentityTx) -> StoreResult<T> + Send + 'static,
{
    transact(store, move |tx| statement(tx)).await
}

async fn create_identity(store: &dyn Store, pool_id: &str, label: &str, now_ms: i64) -> String {
    let id = identity_id(label);
    let (i, p) = (id.clone(), pool_id.to_owned());
    ok(
        tx(store, move |tx| tx.insert_identity(&i, &p, now_ms)).await,
        "insert_identity",
    );
    id
}

async fn stored_identity(store: &dyn Store, id: &str) -> IdentityRow {
    match ok(store.get_identity(id).await, "get_identity") {
        Some(row) => row,
        None => panic!("identity {id} is missing"),
    }
}

async fn link_login(store: &dyn Store, id: &str, link: &LoginLink, now_ms: i64) -> StoreResult<()> {
    let (id, link) = (id.to_owned(), link.clone());
    tx(store, move |tx| tx.link_login(&id, &link, now_ms)).await
}

async fn link_developer(
    store: &dyn Store,
    id: &str,
    link: &DeveloperLink,
    now_ms: i64,
) -> StoreResult<()> {
    let (id, link) = (id.to_owned(), link.clone());
    tx(store, move |tx| tx.link_developer_user(&id, &link, now_ms)).await
}

async fn owner_of_login(store: &dyn Store, pool_id: &str, link: &LoginLink) -> Option<String> {
    let (p, link) = (pool_id.to_owned(), link.clone());
    ok(
        tx(store, move |tx| {
            tx.identity_by_login(&p, &link.provider, &link.subject)
        })
        .await,
        "identity_by_login",
    )
}

async fn owner_of_developer_user(
    store: &dyn Store,
    pool_id: &str,
    link: &DeveloperLink,
) -> Option<String> {
    let (p, link) = (pool_id.to_owned(), link.clone());
    ok(
        tx(store, move |tx| {
            tx.identity_by_developer_user(&p, &link.provider, &link.user_id)
        })
        .await,
        "identity_by_developer_user",
    )
}

/// Insert and read back an identity, in and out of a transaction; missing pool; duplicate id.
pub async fn identity_round_trip(store: &dyn Store) {
    let pool_a = new_pool(store, "identity-a").await;
    let pool_b = new_pool(store, "identity-b").await;
    let missing_pool = pool_id("identity-missing");
    let id = identity_id("round-trip");

    let (i, a, gone) = (id.clone(), pool_a.clone(), missing_pool.clone());
    let inside = ok(
        transact(store, move |tx| {
            assert!(tx.pool_exists(&a)?, "pool_exists of an existing pool");
            assert!(!tx.pool_exists(&gone)?, "pool_exists of a missing pool");
            assert_eq!(tx.get_identity(&i)?, None, "identity before its insert");
            tx.insert_identity(&i, &a, 1_000)?;
            tx.get_identity(&i)
        })
        .await,
        "transaction inserting an identity",
    );
    let expected = IdentityRow {
        id: id.clone(),
        pool_id: pool_a.clone(),
        created_ms: 1_000,
        modified_ms: 1_000,
        disabled: false,
        logins: Vec::new(),
        developer_users: Vec::new(),
    };
    assert_eq!(
        inside,
        Some(expected.clone()),
        "read back inside the transaction"
    );
    assert_eq!(
        stored_identity(store, &id).await,
        expected,
        "read back afterwards"
    );

    let orphan = identity_id("orphan");
    let (o, gone) = (orphan.clone(), missing_pool.clone());
    assert_err!(
        tx(store, move |tx| tx.insert_identity(&o, &gone, 1)).await,
        StoreError::NotFound,
        "insert_identity into a missing pool"
    );
    assert_eq!(ok(store.get_identity(&orphan).await, "get_identity"), None);

    for (pool, what) in [(&pool_a, "same pool"), (&pool_b, "another pool")] {
        let (i, p) = (id.clone(), pool.clone());
        assert_err!(
            tx(store, move |tx| tx.insert_identity(&i, &p, 2_000)).await,
            StoreError::Conflict,
            format!("insert_identity with a taken id into the {what}")
        );
    }
    assert_eq!(
        stored_identity(store, &id).await,
        expected,
        "a refused insert must not change the stored identity"
    );
    assert_eq!(
        ok(
            store.get_identity(&identity_id("absent")).await,
            "get_identity"
        ),
        None
    );
    for pool in [&pool_a, &pool_b] {
        assert!(ok(store.delete_pool(pool).await, "delete_pool"));
    }
}

/// Logins: one owner per (pool, provider, subject), one login per provider, unlinking.
pub async fn identity_logins(store: &dyn Store) {
    let pool_a = new_pool(store, "logins-a").await;
    let pool_b = new_pool(store, "logins-b").await;
    let a1 = create_identity(store, &pool_a, "login-a1", 1_000).await;
    let a2 = create_identity(store, &pool_a, "login-a2", 1_000).await;
    let b1 = create_identity(store, &pool_b, "login-b1", 1_000).await;
    let subject = unique("subject");
    let google = login("accounts.google.com", &subject);
    let user_pool = login(
        "cognito-idp.us-east-1.amazonaws.com/us-east-1_Example",
        &subject,
    );

    // Linked out of provider order, so that insertion order cannot pass for it.
    ok(
        link_login(store, &a1, &user_pool, 2_000).await,
        "link user pool",
    );
    ok(link_login(store, &a1, &google, 2_001).await, "link google");
    let row = stored_identity(store, &a1).await;
    assert_eq!(
        row.logins,
        [google.clone(), user_pool.clone()],
        "logins by provider"
    );
    assert_eq!((row.created_ms, row.modified_ms), (1_000, 2_001));

    assert_err!(
        link_login(store, &a2, &google, 3_000).await,
        StoreError::Conflict,
        "link_login of a login another identity of the pool holds"
    );
    assert_err!(
        link_login(store, &a1, &google, 3_000).await,
        StoreError::Conflict,
        "link_login of a login the identity already holds"
    );
    assert_err!(
        link_login(
            store,
            &a1,
            &login("accounts.google.com", "other-user"),
            3_000
        )
        .await,
        StoreError::Conflict,
        "link_login of a second user of one provider"
    );
    assert_err!(
        link_login(
            store,
            &identity_id("absent"),
            &login("x.example", "s"),
            3_000
        )
        .await,
        StoreError::NotFound,
        "link_login to a missing identity"
    );
    let a2_row = stored_identity(store, &a2).await;
    assert!(a2_row.logins.is_empty(), "refused links must leave nothing");
    assert_eq!(a2_row.modified_ms, 1_000);
    assert_eq!(
        stored_identity(store, &a1).await,
        row,
        "refusals leave a1 alone"
    );

    ok(
        link_login(store, &b1, &google, 3_000).await,
        "the same login in another pool",
    );
    assert_eq!(
        owner_of_login(store, &pool_a, &google).await,
        Some(a1.clone())
    );
    assert_eq!(
        owner_of_login(store, &pool_b, &google).await,
        Some(b1.clone())
    );
    assert_eq!(
        owner_of_login(store, &pool_a, &login("accounts.google.com", "nobody")).await,
        None
    );
    assert_eq!(
        owner_of_login(store, &pool_a, &login("graph.facebook.com", &subject)).await,
        None,
        "the subject alone does not find a login"
    );

    let unlink = |id: &str, provider: &str, now_ms: i64| {
        let (id, provider) = (id.to_owned(), provider.to_owned());
        tx(store, move |tx| tx.unlink_login(&id, &provider, now_ms))
    };
    assert!(
        !ok(
            unlink(&a2, "accounts.google.com", 4_000).await,
            "unlink_login"
        ),
        "a2 never held a google login"
    );
    assert_eq!(stored_identity(store, &a2).await.modified_ms, 1_000);
    assert!(ok(
        unlink(&a1, "accounts.google.com", 4_000).await,
        "unlink_login"
    ));
    assert!(!ok(
        unlink(&a1, "accounts.google.com", 4_001).await,
        "unlink twice"
    ));
    let row = stored_identity(store, &a1).await;
    assert_eq!(row.logins, std::slice::from_ref(&user_pool));
    assert_eq!(
        row.modified_ms, 4_000,
        "unlinking modifies; a no-op does not"
    );
    assert_eq!(owner_of_login(store, &pool_a, &google).await, None);
    assert_eq!(
        owner_of_login(store, &pool_b, &google).await,
        Some(b1.clone()),
        "unlinking in one pool leaves the other pool alone"
    );
    ok(
        link_login(store, &a2, &google, 5_000).await,
        "an unlinked login is free again",
    );
    assert_eq!(
        owner_of_login(store, &pool_a, &google).await,
        Some(a2.clone())
    );
    for pool in [&pool_a, &pool_b] {
        assert!(ok(store.delete_pool(pool).await, "delete_pool"));
    }
}

/// Developer users: unique per (pool, provider, user id), several per identity, unlinking.
pub async fn identity_developer_users(store: &dyn Store) {
    let pool_a = new_pool(store, "developer-a").await;
    let pool_b = new_pool(store, "developer-b").await;
    let a1 = create_identity(store, &pool_a, "developer-a1", 1_000).await;
    let a2 = create_identity(store, &pool_a, "developer-a2", 1_000).await;
    let b1 = create_identity(store, &pool_b, "developer-b1", 1_000).await;
    let user = unique("user");
    let first = developer("login.example.dev", &format!("{user}-a"));
    let second = developer("login.example.dev", &format!("{user}-b"));

    ok(
        link_developer(store, &a1, &second, 2_000).await,
        "link second",
    );
    ok(
        link_developer(store, &a1, &first, 2_001).await,
        "link first",
    );
    let row = stored_identity(store, &a1).await;
    assert_eq!(
        row.developer_users,
        [first.clone(), second.clone()],
        "ordered by user id"
    );
    assert!(row.logins.is_empty(), "developer users are not logins");
    assert_eq!(row.modified_ms, 2_001);

    assert_err!(
        link_developer(store, &a2, &first, 3_000).await,
        StoreError::Conflict,
        "link_developer_user of a user another identity holds"
    );
    assert_err!(
        link_developer(store, &a1, &first, 3_000).await,
        StoreError::Conflict,
        "link_developer_user of a user the identity holds"
    );
    assert_err!(
        link_developer(store, &identity_id("absent"), &developer("d", "u"), 3_000).await,
        StoreError::NotFound,
        "link_developer_user to a missing identity"
    );
    let other_provider = developer("other.example.dev", &first.user_id);
    ok(
        link_developer(store, &a2, &other_provider, 3_000).await,
        "the same user id of another provider",
    );
    ok(
        link_developer(store, &b1, &first, 3_000).await,
        "the same user in another pool",
    );
    assert_eq!(
        owner_of_developer_user(store, &pool_a, &first).await,
        Some(a1.clone())
    );
    assert_eq!(
        owner_of_developer_user(store, &pool_a, &other_provider).await,
        Some(a2.clone())
    );
    assert_eq!(
        owner_of_developer_user(store, &pool_b, &first).await,
        Some(b1.clone())
    );
    assert_eq!(owner_of_developer_user(store, &pool_b, &second).await, None);

    let unlink = |id: &str, link: &DeveloperLink, now_ms: i64| {
        let (id, link) = (id.to_owned(), link.clone());
        tx(store, move |tx| {
            tx.unlink_developer_user(&id, &link, now_ms)
        })
    };
    assert!(
        !ok(unlink(&a2, &first, 4_000).await, "unlink_developer_user"),
        "a2 does not hold the user"
    );
    assert!(ok(
        unlink(&a1, &first, 4_000).await,
        "unlink_developer_user"
    ));
    assert!(!ok(unlink(&a1, &first, 4_001).await, "unlink twice"));
    let row = stored_identity(store, &a1).await;
    assert_eq!(row.developer_users, std::slice::from_ref(&second));
    assert_eq!(row.modified_ms, 4_000);
    assert_eq!(owner_of_developer_user(store, &pool_a, &first).await, None);
    assert_eq!(
        owner_of_developer_user(store, &pool_b, &first).await,
        Some(b1.clone())
    );
    assert_eq!(
        stored_identity(store, &a2).await.developer_users,
        [other_provider],
        "unlinking one provider's user leaves the other provider's alone"
    );
    for pool in [&pool_a, &pool_b] {
        assert!(ok(store.delete_pool(pool).await, "delete_pool"));
    }
}

/// A merge (move_links, then set_disabled) leaves every link on the survivor.
pub async fn identity_merge(store: &dyn Store) {
    let pool_id = new_pool(store, "merge").await;
    let other_pool = new_pool(store, "merge-other").await;
    let survivor = create_identity(store, &pool_id, "survivor", 1_000).await;
    let victim = create_identity(store, &pool_id, "victim", 1_100).await;
    let tag = unique("merge");
    let google = login("accounts.google.com", &format!("{tag}-g"));
    let facebook = login("graph.facebook.com", &format!("{tag}-f"));
    let dev = |n: u32| developer("login.example.dev", &format!("{tag}-u{n}"));
    ok(
        link_login(store, &survivor, &google, 1_200).await,
        "link google",
    );
    ok(
        link_developer(store, &survivor, &dev(2), 1_200).await,
        "link u2",
    );
    ok(
        link_login(store, &victim, &facebook, 1_300).await,
        "link facebook",
    );
    ok(
        link_developer(store, &victim, &dev(1), 1_300).await,
        "link u1",
    );
    ok(
        link_developer(store, &victim, &dev(3), 1_300).await,
        "link u3",
    );

    let (from, to) = (victim.clone(), survivor.clone());
    ok(
        transact(store, move |tx| {
            tx.move_links(&from, &to, 5_000)?;
            tx.set_disabled(&from, true, 5_000)
        })
        .await,
        "merge",
    );
    let merged = stored_identity(store, &survivor).await;
    assert_eq!(merged.logins, [google.clone(), facebook.clone()]);
    assert_eq!(merged.developer_users, [dev(1), dev(2), dev(3)]);
    assert_eq!(
        (merged.disabled, merged.modified_ms, merged.created_ms),
        (false, 5_000, 1_000)
    );
    let disabled = stored_identity(store, &victim).await;
    assert!(disabled.disabled, "the merged identity is disabled");
    assert!(disabled.logins.is_empty() && disabled.developer_users.is_empty());
    assert_eq!((disabled.modified_ms, disabled.created_ms), (5_000, 1_100));
    assert_eq!(
        owner_of_login(store, &pool_id, &facebook).await,
        Some(survivor.clone())
    );
    assert_eq!(
        owner_of_developer_user(store, &pool_id, &dev(3)).await,
        Some(survivor.clone())
    );

    // Two google users on one identity are refused, and the refusal undoes the whole body.
    let rival = create_identity(store, &pool_id, "rival", 6_000).await;
    let rival_google = login("accounts.google.com", &format!("{tag}-g2"));
    ok(
        link_login(store, &rival, &rival_google, 6_000).await,
        "link rival google",
    );
    ok(
        link_developer(store, &rival, &dev(4), 6_000).await,
        "link u4",
    );
    let (from, to) = (rival.clone(), survivor.clone());
    assert_err!(
        transact(store, move |tx| {
            tx.set_disabled(&from, true, 7_000)?;
            tx.move_links(&from, &to, 7_000)
        })
        .await,
        StoreError::Conflict,
        "move_links giving an identity two users of one provider"
    );
    let rival_row = stored_identity(store, &rival).await;
    assert!(
        !rival_row.disabled,
        "a failed body's earlier writes are undone"
    );
    assert_eq!(
        (rival_row.logins.len(), rival_row.developer_users.len()),
        (1, 1)
    );
    assert_eq!(stored_identity(store, &survivor).await, merged);

    let absent = identity_id("absent");
    let stranger = create_identity(store, &other_pool, "stranger", 1).await;
    for (from, to, what) in [
        (&absent, &survivor, "from a missing identity"),
        (&survivor, &absent, "to a missing identity"),
        (&rival, &stranger, "to an identity of another pool"),
    ] {
        let (f, t) = (from.clone(), to.clone());
        assert_err!(
            tx(store, move |tx| tx.move_links(&f, &t, 8_000)).await,
            StoreError::NotFound,
            format!("move_links {what}")
        );
    }
    let a = absent.clone();
    assert_err!(
        tx(store, move |tx| tx.set_disabled(&a, true, 8_000)).await,
        StoreError::NotFound,
        "set_disabled of a missing identity"
    );
    let v = victim.clone();
    ok(
        tx(store, move |tx| tx.set_disabled(&v, false, 9_000)).await,
        "set_disabled(false)",
    );
    let enabled = stored_identity(store, &victim).await;
    assert_eq!((enabled.disabled, enabled.modified_ms), (false, 9_000));
    for pool in [&pool_id, &other_pool] {
        assert!(ok(store.delete_pool(pool).await, "delete_pool"));
    }
}

/// Deleting an identity removes it with its links, which become free.
pub async fn identity_delete(store: &dyn Store) {
    let pool_id = new_pool(store, "delete-identity").await;
    let doomed = create_identity(store, &pool_id, "doomed", 1).await;
    let kept = create_identity(store, &pool_id, "kept", 1).await;
    let google = login("accounts.google.com", &unique("doomed"));
    let user = developer("login.example.dev", &unique("doomed"));
    ok(link_login(store, &doomed, &google, 2).await, "link_login");
    ok(
        link_developer(store, &doomed, &user, 2).await,
        "link_developer_user",
    );
    let kept_row = stored_identity(store, &kept).await;

    let delete = |id: &str| {
        let id = id.to_owned();
        tx(store, move |tx| tx.delete_identity(&id))
    };
    assert!(ok(delete(&doomed).await, "delete_identity"));
    assert!(!ok(delete(&doomed).await, "delete_identity twice"));
    assert_eq!(ok(store.get_identity(&doomed).await, "get_identity"), None);
    assert_eq!(owner_of_login(store, &pool_id, &google).await, None);
    assert_eq!(owner_of_developer_user(store, &pool_id, &user).await, None);
    assert_eq!(stored_identity(store, &kept).await, kept_row);
    ok(
        link_login(store, &kept, &google, 3).await,
        "relink a freed login",
    );
    ok(
        link_developer(store, &kept, &user, 3).await,
        "relink a freed user",
    );
    assert!(ok(store.delete_pool(&pool_id).await, "delete_pool"));
}

/// A body returning `Err` keeps none of its writes, while bodies committed beside it keep
/// all of theirs.
pub async fn identity_failed_body_rolls_back(store: &dyn Store) {
    let pool_id = new_pool(store, "rollback").await;
    let existing = create_identity(store, &pool_id, "existing", 1).await;
    let held = login("accounts.google.com", &unique("held"));
    ok(link_login(store, &existing, &held, 2).await, "link_login");
    let existing_row = stored_identity(store, &existing).await;

    let attempts: Vec<(String, LoginLink, bool)> = (0..12)
        .map(|n| {
            let id = identity_id(&format!("attempt-{n}"));
            let link = login("graph.facebook.com", &unique(&format!("attempt-{n}")));
            (id, link, n % 2 == 0)
        })
        .collect();
    let results = join_all(attempts.iter().map(|(id, link, succeed)| {
        let (id, link, succeed) = (id.clone(), link.clone(), *succeed);
        let (pool, other) = (pool_id.clone(), existing.clone());
        transact(store, move |tx| {
            tx.insert_identity(&id, &pool, 10)?;
            tx.link_login(&id, &link, 10)?;
            tx.link_developer_user(&id, &developer("login.example.dev", &link.subject), 10)?;
            if succeed {
                return Ok(id.clone());
            }
            // Writes to an identity that existed before must be undone too.
            tx.unlink_login(&other, "accounts.google.com", 11)?;
            tx.set_disabled(&other, true, 11)?;
            Err(StoreError::LimitExceeded)
        })
    }))
    .await;
    for ((id, link, succeed), result) in attempts.iter().zip(results) {
        let stored = ok(store.get_identity(id).await, "get_identity");
        if *succeed {
            assert_eq!(ok(result, "succeeding body").as_str(), id.as_str());
            let row = stored.expect("a committed identity exists");
            assert_eq!(row.logins, std::slice::from_ref(link));
            assert_eq!(
                owner_of_login(store, &pool_id, link).await,
                Some(id.clone())
            );
        } else {
            assert_err!(result, StoreError::LimitExceeded, "failing body");
            assert_eq!(stored, None, "a failed body's identity must not exist");
            assert_eq!(owner_of_login(store, &pool_id, link).await, None);
            let user = developer("login.example.dev", &link.subject);
            assert_eq!(owner_of_developer_user(store, &pool_id, &user).await, None);
        }
    }
    assert_eq!(
        stored_identity(store, &existing).await,
        existing_row,
        "failed bodies must not change an existing identity"
    );

    // A store error inside the body, passed on, undoes the writes before it as well.
    let id = identity_id("conflicting");
    let (i, p, taken) = (id.clone(), pool_id.clone(), held.clone());
    assert_err!(
        transact(store, move |tx| {
            tx.insert_identity(&i, &p, 20)?;
            tx.link_login(&i, &taken, 20)
        })
        .await,
        StoreError::Conflict,
        "linking a held login"
    );
    assert_eq!(ok(store.get_identity(&id).await, "get_identity"), None);
    assert!(ok(store.delete_pool(&pool_id).await, "delete_pool"));
}

/// Walks every identity of a pool with pages of `page`, checking that pages respect the limit.
async fn all_identities(
    store: &dyn Store,
    pool_id: &str,
    page: u32,
    hide_disabled: bool,
) -> Vec<IdentityRow> {
    const MAX_PAGES: usize = 10_000;
    let mut seen: Vec<IdentityRow> = Vec::new();
    for _ in 0..MAX_PAGES {
        let after = seen.last().map(|row| row.id.as_str());
        let batch = ok(
            store
                .list_identities(pool_id, after, page, hide_disabled)
                .await,
            "list_identities",
        );
        assert!(
            batch.len() <= page as usize,
            "list_identities returned {} rows for a limit of {page}",
            batch.len()
        );
        if batch.is_empty() {
            return seen;
        }
        seen.extend(batch);
    }
    panic!("list_identities with pages of {page} did not finish within {MAX_PAGES} pages");
}

/// Listing visits every identity of the pool exactly once, in id order, for any page size,
/// with and without the disabled ones.
pub async fn identity_pagination(store: &dyn Store) {
    let pool_id = new_pool(store, "identity-pages").await;
    let neighbour = new_pool(store, "identity-pages-other").await;
    let prefix = identity_id("page");
    const COUNT: usize = 23;
    // Inserted out of order, so that insertion order cannot pass for id order.
    let order: Vec<usize> = (0..COUNT).map(|i| (i * 7) % COUNT).collect();
    for &i in &order {
        let (id, p) = (format!("{prefix}-{i:02}"), pool_id.clone());
        let disable = i % 3 == 1;
        let with_login = i % 4 == 0;
        ok(
            transact(store, move |tx| {
                tx.insert_identity(&id, &p, 100 + i as i64)?;
                if with_login {
                    tx.link_login(&id, &login("accounts.google.com", &id), 200)?;
                    tx.link_developer_user(&id, &developer("login.example.dev", &id), 200)?;
                }
                if disable {
                    tx.set_disabled(&id, true, 300)?;
                }
                Ok(())
            })
            .await,
            "create a listed identity",
        );
    }
    for n in 0..3 {
        create_identity(store, &neighbour, &format!("neighbour-{n}"), 1).await;
    }
    let mut everything = Vec::with_capacity(COUNT);
    for i in 0..COUNT {
        everything.push(stored_identity(store, &format!("{prefix}-{i:02}")).await);
    }
    assert!(
        everything.iter().any(|r| r.disabled) && everything.iter().any(|r| !r.logins.is_empty())
    );

    for hide_disabled in [false, true] {
        let expected: Vec<IdentityRow> = everything
            .iter()
            .filter(|row| !(hide_disabled && row.disabled))
            .cloned()
            .collect();
        for page in [1, 7, 60] {
            let listed = all_identities(store, &pool_id, page, hide_disabled).await;
            assert!(
                listed == expected,
                "pages of {page} (hide_disabled {hide_disabled}): expected ids {:?}, listed {:?}",
                expected.iter().map(|r| &r.id).collect::<Vec<_>>(),
                listed.iter().map(|r| &r.id).collect::<Vec<_>>()
            );
        }
        let from_middle = ok(
            store
                .list_identities(&pool_id, Some(&everything[10].id), 3, hide_disabled)
                .await,
            "list_identities from the middle",
        );
        let want: Vec<&IdentityRow> = expected
            .iter()
            .filter(|r| r.id > everything[10].id)
            .take(3)
            .collect();
        assert_eq!(
            from_middle.iter().collect::<Vec<_>>(),
            want,
            "the cursor itself is excluded"
        );
    }
    assert!(
        ok(
            store.list_identities(&pool_id, None, 0, false).await,
            "limit 0"
        )
        .is_empty(),
        "a limit of zero lists nothing"
    );
    let last = &everything[COUNT - 1].id;
    assert!(
        ok(
            store.list_identities(&pool_id, Some(last), 60, false).await,
            "after last"
        )
        .is_empty()
    );
    assert!(
        ok(
            store
                .list_identities(&self::pool_id("no-such-pool"), None, 60, false)
                .await,
            "list_identities of a missing pool"
        )
        .is_empty()
    );
    for pool in [&pool_id, &neighbour] {
        assert!(ok(store.delete_pool(pool).await, "delete_pool"));
    }
}

/// Deleting a pool deletes its identities and frees their links for a pool of the same id.
pub async fn identity_pool_deletion(store: &dyn Store) {
    let pool_id = new_pool(store, "identity-doomed").await;
    let neighbour = new_pool(store, "identity-survives").await;
    let google = login("accounts.google.com", &unique("doomed-pool"));
    let user = developer("login.example.dev", &unique("doomed-pool"));
    let mut doomed = Vec::new();
    for n in 0..3 {
        doomed.push(create_identity(store, &pool_id, &format!("doomed-{n}"), 1).await);
    }
    ok(
        link_login(store, &doomed[0], &google, 2).await,
        "link_login",
    );
    ok(
        link_developer(store, &doomed[1], &user, 2).await,
        "link_developer_user",
    );
    let kept = create_identity(store, &neighbour, "kept", 1).await;
    ok(
        link_login(store, &kept, &google, 2).await,
        "link_login in the neighbour",
    );
    let kept_row = stored_identity(store, &kept).await;

    assert!(ok(store.delete_pool(&pool_id).await, "delete_pool"));
    for id in &doomed {
        assert_eq!(
            ok(store.get_identity(id).await, "get_identity"),
            None,
            "{id} outlived its pool"
        );
    }
    assert_eq!(
        stored_identity(store, &kept).await,
        kept_row,
        "another pool's identity"
    );

    // A new pool that happens to reuse the id starts empty.
    ok(
        store
            .insert_pool(&pool(&pool_id, "again", 1, "{}"), u64::MAX)
            .await,
        "re-create",
    );
    assert!(
        ok(
            store.list_identities(&pool_id, None, 60, false).await,
            "list"
        )
        .is_empty()
    );
    assert_eq!(owner_of_login(store, &pool_id, &google).await, None);
    assert_eq!(owner_of_developer_user(store, &pool_id, &user).await, None);
    let fresh = create_identity(store, &pool_id, "fresh", 3).await;
    ok(
        link_login(store, &fresh, &google, 3).await,
        "the login is free again",
    );
    for pool in [&pool_id, &neighbour] {
        assert!(ok(store.delete_pool(pool).await, "delete_pool"));
    }
}

/// Many callers running "find the identity of this login, or create it" at once for the same
/// login end up with one identity, and all of them see it.
pub async fn identity_find_or_create_race(store: &dyn Store) {
    const CALLERS: usize = 64;
    let pool_id = new_pool(store, "race").await;
    let google = login("accounts.google.com", &unique("racer"));
    let results = join_all((0..CALLERS).map(|_| {
        let (p, link) = (pool_id.clone(), google.clone());
        transact(store, move |tx| {
            if let Some(id) = tx.identity_by_login(&p, &link.provider, &link.subject)? {
                return Ok(id);
            }
            let id = identity_id("raced");
            tx.insert_identity(&id, &p, 1)?;
            tx.link_login(&id, &link, 1)?;
            Ok(id)
        })
    }))
    .await;
    let ids: Vec<String> = results
        .into_iter()
        .map(|r| ok(r, "find or create"))
        .collect();
    assert_eq!(ids.len(), CALLERS);
    assert!(
        ids.iter().all(|id| *id == ids[0]),
        "callers saw different identities for one login"
    );
    let listed = all_identities(store, &pool_id, 60, false).await;
    assert_eq!(listed.len(), 1, "exactly one identity may be created");
    assert_eq!(listed[0].id, ids[0]);
    assert_eq!(listed[0].logins, [google]);
    assert!(ok(store.delete_pool(&pool_id).await, "delete_pool"));
}
