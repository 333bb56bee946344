//! The Security Hub adapter against the emulator (moto's BatchImportFindings and GetFindings, with
//! the harness's checks of ASFF's required fields and the 100-finding batch limit): a finding
//! appears with every required field, a recurrence updates the same finding, an archived import
//! closes it, and a finding Security Hub refuses in a 200 answer is reported, not lost.

use cache_sentinel::aws::securityhub::SecurityHub;
use cache_sentinel::findings::asff::missing_required;
use cache_sentinel::findings::{Finding, Kind, Place, Subject, finding_id, to_asff};
use cache_sentinel::testing;
use chrono::{Duration, TimeZone, Utc};
use serde_json::json;

fn finding(project: &str, count: u32, resolved: bool) -> Finding {
    let first = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).unwrap();
    Finding {
        kind: Kind::OffS3Cache,
        subject: Subject::Project(project.into()),
        title: format!("{project} is on LOCAL_DOCKER_LAYER_CACHE, not the S3 cache"),
        description: format!("Seen {count} times."),
        remediation: "Set the project's cache to S3.".into(),
        remediation_url: None,
        first_seen: first,
        last_seen: first + Duration::hours(i64::from(count)),
        count,
        resolved,
    }
}

#[tokio::test]
async fn a_finding_is_imported_updated_by_a_recurrence_and_archived() {
    let clients = testing::emulator_clients().await;
    let hub = SecurityHub::new(&clients.sdk).expect("client");
    let place = Place::new(hub.region(), testing::ACCOUNT);
    let project = testing::unique("hub");
    let id = finding_id(&place, Kind::OffS3Cache, &Subject::Project(project.clone()));
    let by_id = json!({"Id": [{"Value": id, "Comparison": "EQUALS"}]});

    let first = hub.import(&[to_asff(&place, &finding(&project, 1, false))]).await.expect("import");
    assert_eq!((first.imported, first.failed.len(), first.requests), (1, 0, 1), "{first:?}");
    let found = hub.get_findings(&by_id).await.expect("get");
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(missing_required(&found[0]).is_empty(), "{}", found[0]);
    assert_eq!(found[0]["Resources"][0]["Type"], "AwsCodeBuildProject");
    assert_eq!(found[0]["RecordState"], "ACTIVE");

    // A recurrence: the same Id, one finding, updated.
    hub.import(&[to_asff(&place, &finding(&project, 2, false))]).await.expect("again");
    let found = hub.get_findings(&by_id).await.expect("get");
    assert_eq!(found.len(), 1);
    assert_eq!(found[0]["Description"], "Seen 2 times.");
    assert_eq!(found[0]["CreatedAt"], "2026-11-23T09:00:00.000Z");
    assert_eq!(found[0]["UpdatedAt"], "2026-11-23T11:00:00.000Z");

    // The cause is gone: archived, and its workflow resolved (an import cannot change it).
    assert_eq!(found[0]["Workflow"]["Status"], "NEW");
    hub.import(&[to_asff(&place, &finding(&project, 2, true))]).await.expect("archive");
    let unknown = (format!("{id}-unknown"), place.product_arn());
    let failed = hub.resolve(&[(id.clone(), place.product_arn()), unknown]).await.expect("resolve");
    assert_eq!(failed.len(), 1, "the unknown finding is named: {failed:?}");
    let found = hub.get_findings(&by_id).await.expect("get");
    assert_eq!((found.len(), found[0]["RecordState"].as_str()), (1, Some("ARCHIVED")));
    assert_eq!(found[0]["Workflow"]["Status"], "RESOLVED");

    // The cause again: active, and Security Hub reopens its workflow (NEW).
    hub.import(&[to_asff(&place, &finding(&project, 3, false))]).await.expect("again");
    let found = hub.get_findings(&by_id).await.expect("get");
    assert_eq!(
        (found[0]["RecordState"].as_str(), found[0]["Workflow"]["Status"].as_str()),
        (Some("ACTIVE"), Some("NEW"))
    );
}

#[tokio::test]
async fn batches_hold_100_and_a_refused_finding_is_reported() {
    let clients = testing::emulator_clients().await;
    let hub = SecurityHub::new(&clients.sdk).expect("client");
    let place = Place::new(hub.region(), testing::ACCOUNT);
    let prefix = testing::unique("batch");
    let mut findings: Vec<_> =
        (0..150).map(|i| to_asff(&place, &finding(&format!("{prefix}-{i:03}"), 1, false))).collect();
    // One without its Title: Security Hub refuses it in the 200 answer.
    findings[120].as_object_mut().unwrap().remove("Title");
    let imported = hub.import(&findings).await.expect("import");
    assert_eq!(imported.requests, 2, "150 findings: two requests of at most 100");
    assert_eq!(imported.imported, 149, "{imported:?}");
    assert_eq!(imported.failed.len(), 1);
    assert!(imported.failed[0].id.ends_with(&format!("{prefix}-120")), "{:?}", imported.failed);
    assert!(imported.failed[0].message.contains("Title"), "{:?}", imported.failed);
}
