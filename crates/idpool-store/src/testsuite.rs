//! The conformance suite every engine must pass, through the trait only (design.md "Tests").
//!
//! Each check uses ids of its own, so the suite can run against a store that already holds
//! data, and more than once. The quota checks count the pools in the store, so nothing else
//! may create or delete pools while they run; [`run_all`] runs the checks one after another.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::{
    KeyRow, OidcProviderRow, PoolRow, RoleRow, SamlProviderRow, Store, StoreError, StoreResult,
    iam_name_key,
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
