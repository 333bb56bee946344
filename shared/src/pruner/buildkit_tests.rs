//! BuildKit S3 caches inside a location: the layout recognised, manifests read, and the property
//! that matters: no manifest the run keeps ever names a blob it deletes, through the location's
//! streaming run over any page size.

use super::*;
use crate::aws::s3_objects::ListedObject;
use crate::pruner::lister::MemoryLister;
use crate::pruner::task::LocationTask;
use crate::pruner::testkit::collect_deletions;
use chrono::{DateTime, Duration, TimeZone, Utc};
use proptest::prelude::*;
use std::collections::HashMap;

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 20, 3, 0, 0).unwrap()
}

fn policy() -> PrunePolicy {
    PrunePolicy {
        keep_newest: 1,
        max_age: Duration::days(30),
        min_age: Duration::hours(24),
        project_budget: None,
        total_budget: None,
        max_deletes: 100_000,
    }
}

fn digest(n: usize) -> String {
    format!("sha256:{n:064x}")
}

fn manifest(blobs: &[usize]) -> Vec<u8> {
    let layers: Vec<serde_json::Value> =
        blobs.iter().map(|b| serde_json::json!({"blob": digest(*b), "parent": -1})).collect();
    serde_json::json!({"layers": layers, "records": []}).to_string().into_bytes()
}

/// A location `tts` holding BuildKit's cache under `root`, objects `(key, days old)`, with bodies.
fn run(objects: &[(String, i64)], bodies: HashMap<String, Vec<u8>>, page_size: usize) -> Vec<Deletion> {
    let listed = objects
        .iter()
        .map(|(k, days)| ListedObject {
            key: k.clone(),
            size: 10,
            last_modified_ms: (now() - Duration::hours((days * 24).max(0))).timestamp_millis(),
        })
        .collect();
    let lister = MemoryLister::new(listed).with_page_size(page_size).with_bodies(bodies);
    collect_deletions(&lister, &policy(), now(), async |shared| {
        let task = LocationTask {
            prefix: "tts",
            orphaned: false,
            born: None,
            skip: vec![],
            resume: Default::default(),
            writers: None,
        };
        task.run(shared).await;
    })
}

#[test]
fn the_layout_is_recognised_only_where_buildkit_writes_it() {
    let d = digest(7);
    assert_eq!(blob_of(&format!("blobs/{d}")), Some(("", d.as_str())));
    assert_eq!(blob_of(&format!("buildkit/blobs/{d}")), Some(("buildkit/", d.as_str())));
    assert_eq!(blob_of(&format!("myblobs/{d}")), None, "not at a folder boundary");
    assert_eq!(blob_of("blobs/sha256:abc"), None, "not a digest");
    assert_eq!(blob_of(&format!("blobs/sha256:{}", "A".repeat(64))), None, "digests are lower-case hex");
    assert_eq!(manifest_blobs(&manifest(&[1, 2])).unwrap(), HashSet::from([digest(1), digest(2)]));
    assert!(manifest_blobs(b"{\"records\":[]}").unwrap_err().contains("layers"));
    assert!(manifest_blobs(b"not json").is_err());
}

#[test]
fn blobs_a_kept_manifest_names_stay_and_old_unreferenced_ones_go() {
    let k = |s: &str| format!("tts/buildkit/{s}");
    let objects = vec![
        (k(&format!("blobs/{}", digest(1))), 90), // named by the kept manifest, very old: kept
        (k(&format!("blobs/{}", digest(2))), 90), // named by the stale manifest only: deleted
        (k(&format!("blobs/{}", digest(3))), 0),  // unreferenced but young: kept
        (k(&format!("blobs/{}", digest(4))), 5),  // unreferenced: deleted
        (k("manifests/main"), 0),                 // the newest: kept
        (k("manifests/old-branch"), 60),          // past the maximum age: deleted
        ("tts/newest-cache.tar".to_owned(), 1),   // ordinary cache objects: the N newest (1) kept,
        ("tts/other-cache.tar".to_owned(), 90),   // the rest by age; BuildKit's objects are not among them
    ];
    let bodies = HashMap::from([(k("manifests/main"), manifest(&[1])), (k("manifests/old-branch"), manifest(&[2]))]);
    let mut deleted: Vec<(String, Reason)> = run(&objects, bodies, 2).into_iter().map(|d| (d.key, d.reason)).collect();
    deleted.sort();
    assert_eq!(
        deleted,
        vec![
            (k(&format!("blobs/{}", digest(2))), Reason::Unreferenced),
            (k(&format!("blobs/{}", digest(4))), Reason::Unreferenced),
            (k("manifests/old-branch"), Reason::MaxAge),
            ("tts/other-cache.tar".to_owned(), Reason::MaxAge),
        ]
    );
}

#[test]
fn an_unreadable_manifest_leaves_the_whole_buildkit_cache_alone() {
    let objects = vec![
        (format!("tts/blobs/{}", digest(1)), 90),
        (format!("tts/blobs/{}", digest(2)), 90),
        ("tts/manifests/main".to_owned(), 0),
        ("tts/manifests/old".to_owned(), 60),
    ];
    let bodies = HashMap::from([("tts/manifests/main".to_owned(), b"{\"garbled".to_vec())]);
    assert!(run(&objects, bodies, 1000).is_empty(), "nothing of it deleted");
    // No manifest at all: its blobs may be an export under way.
    let blobs_only = vec![(format!("tts/blobs/{}", digest(1)), 90)];
    assert!(run(&blobs_only, HashMap::new(), 1000).is_empty());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// Random manifests naming random blobs, random ages, any page size: no manifest the run keeps
    /// names a blob it deleted, no young blob is deleted, and unreferenced old blobs do go.
    #[test]
    fn no_kept_manifest_ever_names_a_deleted_blob(
        blob_ages in proptest::collection::vec(0i64..120, 1..40),
        manifests in proptest::collection::vec((0i64..120, proptest::collection::vec(0usize..40, 0..8)), 1..6),
        page_size in 1usize..50,
    ) {
        let mut objects: Vec<(String, i64)> = blob_ages.iter().enumerate()
            .map(|(i, age)| (format!("tts/bk/blobs/{}", digest(i)), *age)).collect();
        let mut bodies = HashMap::new();
        for (m, (age, named)) in manifests.iter().enumerate() {
            let key = format!("tts/bk/manifests/m{m}");
            objects.push((key.clone(), *age));
            bodies.insert(key, manifest(named));
        }
        let deleted: HashSet<String> = run(&objects, bodies.clone(), page_size).into_iter().map(|d| d.key).collect();
        let mut protected = HashSet::new();
        for (m, (_, named)) in manifests.iter().enumerate() {
            if !deleted.contains(&format!("tts/bk/manifests/m{m}")) {
                protected.extend(named.iter().map(|b| format!("tts/bk/blobs/{}", digest(*b))));
            }
        }
        for key in &deleted {
            prop_assert!(!protected.contains(key), "deleted {} which a kept manifest names", key);
        }
        for (i, age) in blob_ages.iter().enumerate() {
            let key = format!("tts/bk/blobs/{}", digest(i));
            if *age == 0 {
                prop_assert!(!deleted.contains(&key), "deleted the young {}", key);
            } else if !protected.contains(&key) {
                prop_assert!(deleted.contains(&key), "kept the unreferenced {}", key);
            }
        }
    }
}
