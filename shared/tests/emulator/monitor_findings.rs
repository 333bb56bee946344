//! build-time-monitor's findings in Security Hub, against the emulator: a slow build of a project
//! opens one "builds over their range" finding with every field ASFF requires; a later build within
//! its range archives it; off (the default), nothing is imported.

use super::monitor_evidence::{cache_working_build, final_event, logs_client, monitor};
use cache_sentinel::aws::securityhub::SecurityHub;
use cache_sentinel::findings::asff::missing_required;
use cache_sentinel::findings::{Kind, Place, Subject, finding_id};
use cache_sentinel::monitor::Outcome;
use cache_sentinel::testing::{self, ProjectFixture, Sandbox};
use serde_json::json;

#[tokio::test]
async fn a_slow_build_opens_a_finding_and_a_build_in_range_archives_it() {
    let s = Sandbox::new().await;
    let project = ProjectFixture::new(&testing::unique("hubslow")).create(&s.clients).await;
    let hub = SecurityHub::new(&s.clients.sdk).unwrap();
    let place = Place::new(hub.region(), testing::ACCOUNT);
    let id = finding_id(&place, Kind::BuildsOverRange, &Subject::Project(project.clone()));
    let by_id = json!({"Id": [{"Value": id, "Comparison": "EQUALS"}]});

    // Off by default: judged and notified, nothing imported.
    let uuid = testing::unique("b");
    cache_working_build(&s, &logs_client(&s), &project, &uuid, &format!("{project}/1a2b-cache")).await;
    let off = monitor(&s, &[]).handle(&final_event(&s, &project, &uuid, "SUCCEEDED", 33, 200)).await.unwrap();
    assert!(off.findings.is_none(), "{off:?}");

    let on = [("SECURITY_HUB_FINDINGS", "true")];
    let uuid = testing::unique("b");
    cache_working_build(&s, &logs_client(&s), &project, &uuid, &format!("{project}/3c4d-cache")).await;
    let slow = monitor(&s, &on).handle(&final_event(&s, &project, &uuid, "SUCCEEDED", 33, 100)).await.unwrap();
    // Slow again (its email held back: the first build's went out within the repeat window).
    assert_eq!(slow.builds[0].outcome, Outcome::HeldBack, "{slow:?}");
    assert_eq!(slow.findings.as_ref().unwrap().imported, vec![id.clone()], "{slow:?}");
    let found = hub.get_findings(&by_id).await.unwrap();
    assert_eq!(found.len(), 1);
    assert!(missing_required(&found[0]).is_empty(), "{}", found[0]);
    assert_eq!(found[0]["GeneratorId"], "cache-sentinel/build-time-monitor/builds-over-range");
    assert!(found[0]["Description"].as_str().unwrap().contains("33 min"), "{}", found[0]);

    // The next build, unchanged source, 6 minutes: within its range, the finding archived.
    let uuid = testing::unique("b");
    cache_working_build(&s, &logs_client(&s), &project, &uuid, &format!("{project}/5e6f-cache")).await;
    let fast = monitor(&s, &on).handle(&final_event(&s, &project, &uuid, "SUCCEEDED", 6, 30)).await.unwrap();
    assert_eq!(fast.builds[0].outcome, Outcome::WithinTime, "{fast:?}");
    assert_eq!(fast.findings.as_ref().unwrap().archived, vec![id.clone()], "{fast:?}");
    let found = hub.get_findings(&by_id).await.unwrap();
    assert_eq!((found.len(), found[0]["RecordState"].as_str()), (1, Some("ARCHIVED")));
}
