//! cache-pruner's finding in Security Hub, against the emulator: a sweep that finds data in the
//! cache bucket that is no project's cache opens one finding on the bucket (`AwsS3Bucket`); a
//! sweep that finds none archives it; a build's run says nothing.

use super::pruner::{build_event, objects, project_at, pruner, seed, setup, sweep_event};
use cache_sentinel::aws::securityhub::SecurityHub;
use cache_sentinel::findings::{Kind, Place, Subject, finding_id};
use cache_sentinel::pruner::RunLimits;
use cache_sentinel::testing;
use serde_json::json;

#[tokio::test]
async fn unmanaged_data_is_one_finding_on_the_bucket_archived_when_it_is_gone() {
    let (clients, bucket) = setup().await;
    let project = project_at(&clients, &testing::unique("hubprune"), &bucket, "cache-a").await;
    let mut keys = objects("cache-a/", 5);
    keys.push("releases/app-1.0.zip".into());
    seed(&clients, &bucket, keys).await;
    let vars = [("CACHE_BUCKET", bucket.as_str()), ("SECURITY_HUB_FINDINGS", "true")];
    let hub = SecurityHub::new(&clients.sdk).unwrap();
    let place = Place::new(hub.region(), testing::ACCOUNT);
    let id = finding_id(&place, Kind::UnmanagedData, &Subject::Bucket(bucket.clone()));
    let by_id = json!({"Id": [{"Value": id, "Comparison": "EQUALS"}]});

    // A build's run does not count the rest of the bucket: no finding.
    let run = pruner(&clients, &vars, 60).handle(&build_event(&project, "SUCCEEDED"), RunLimits::default()).await;
    assert!(run.unwrap().findings.is_none());

    let sweep = pruner(&clients, &vars, 60).handle(&sweep_event(), RunLimits::default()).await.expect("sweep");
    assert_eq!(sweep.findings.as_ref().map(|f| f.imported.clone()), Some(vec![id.clone()]), "{sweep:?}");
    let found = hub.get_findings(&by_id).await.unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0]["Resources"][0]["Type"], "AwsS3Bucket");
    assert_eq!(found[0]["Resources"][0]["Id"], place.bucket_arn(&bucket));
    assert!(found[0]["Description"].as_str().unwrap().contains("releases/"), "{}", found[0]);

    clients.s3.delete_object().bucket(&bucket).key("releases/app-1.0.zip").send().await.unwrap();
    let clean = pruner(&clients, &vars, 61).handle(&sweep_event(), RunLimits::default()).await.expect("sweep");
    assert_eq!(clean.findings.as_ref().map(|f| f.archived.clone()), Some(vec![id.clone()]), "{clean:?}");
    let found = hub.get_findings(&by_id).await.unwrap();
    assert_eq!((found.len(), found[0]["RecordState"].as_str()), (1, Some("ARCHIVED")));
}
