//! A BuildKit S3 cache (`--cache-to type=s3,prefix=<project>/buildkit/`) inside a project's cache
//! location, through the pruner's sweep against the emulator: every blob the kept manifest names
//! stays however old (BuildKit touches unchanged layers only daily), the stale manifest and the old
//! blobs no kept manifest names go, young unreferenced blobs stay, and the report says so.

use crate::pruner::{listing, project_at, pruner, sweep_event};
use cache_sentinel::pruner::RunLimits;
use cache_sentinel::testing::Sandbox;
use std::collections::BTreeSet;

fn digest(n: usize) -> String {
    format!("sha256:{n:064x}")
}

async fn put(s: &Sandbox, key: &str, days: u64, body: Vec<u8>) {
    let put = s.clients.s3.put_object().bucket(&s.bucket).key(key);
    let put = put.metadata("emulator-age-seconds", (days * 86_400).to_string()).body(body.into());
    put.send().await.expect("put object");
}

fn manifest(blobs: &[usize]) -> Vec<u8> {
    let layers: Vec<serde_json::Value> =
        blobs.iter().map(|b| serde_json::json!({"blob": digest(*b), "parent": -1})).collect();
    serde_json::json!({"layers": layers, "records": []}).to_string().into_bytes()
}

#[tokio::test]
async fn a_buildkit_cache_keeps_every_blob_its_kept_manifest_names() {
    let s = Sandbox::new().await;
    let location = "tts-service-build";
    project_at(&s.clients, "tts", &s.bucket, location).await;
    let root = format!("{location}/buildkit");
    // Five layers, 90 days old: 1-3 named by the live manifest, 4 by a branch's stale one, 5 by none.
    for n in 1..=5 {
        put(&s, &format!("{root}/blobs/{}", digest(n)), 90, vec![b'l'; 100]).await;
    }
    put(&s, &format!("{root}/blobs/{}", digest(6)), 0, vec![b'l'; 100]).await; // being exported now
    put(&s, &format!("{root}/manifests/main"), 0, manifest(&[1, 2, 3])).await;
    put(&s, &format!("{root}/manifests/feature-x"), 60, manifest(&[3, 4])).await;

    // The newest manifest is kept whatever its age (PRUNE_KEEP_NEWEST=1), the other by age.
    let pruner = pruner(&s.clients, &[("CACHE_BUCKET", s.bucket.as_str()), ("PRUNE_KEEP_NEWEST", "1")], 0);
    let report = pruner.handle(&sweep_event(), RunLimits::default()).await.expect("sweep");

    let left: BTreeSet<String> = listing(&s.clients, &s.bucket).await.into_iter().map(|(k, _)| k).collect();
    let expected: BTreeSet<String> = [1, 2, 3, 6]
        .iter()
        .map(|n| format!("{root}/blobs/{}", digest(*n)))
        .chain([format!("{root}/manifests/main")])
        .collect();
    assert_eq!(left, expected, "{report:#?}");
    let line = report.locations.values().find(|l| l.prefix == location).expect("the project's location");
    assert!(line.buildkit.iter().any(|n| n.contains("1 manifest(s) kept naming 3 blob(s)")), "{:?}", line.buildkit);
}
