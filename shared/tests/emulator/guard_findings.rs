//! cache-guard's findings in Security Hub, against the emulator: a LOCAL project whose service role
//! may not write the cache is refused, and its finding appears with every field ASFF requires; the
//! refusal the same day imports nothing more, a day later it updates the same finding (one
//! finding, seen on 2 days); once the role is fixed the guard heals the project and the finding is
//! archived; off (the default) and in dry run nothing is imported.

use crate::guard_support::{build_event, config, read_only_role};
use cache_sentinel::aws::securityhub::SecurityHub;
use cache_sentinel::clock::FixedClock;
use cache_sentinel::findings::asff::missing_required;
use cache_sentinel::findings::{Kind, Place, Subject, finding_id};
use cache_sentinel::guard::CacheGuard;
use cache_sentinel::guard::service::Outcome;
use cache_sentinel::testing::{self, ProjectFixture};
use chrono::{Duration, Utc};
use serde_json::json;
use std::sync::Arc;

#[tokio::test]
async fn a_refused_heal_is_one_finding_updated_a_day_later_and_archived_after_the_heal() {
    let s = testing::Sandbox::new().await;
    // May read the cache, not write it.
    let role = read_only_role(&s).await;
    let name = ProjectFixture::new(&testing::unique("hubtts")).service_role(&role).create(&s.clients).await;
    let vars = [("CACHE_BUCKET", s.bucket.as_str()), ("SECURITY_HUB_FINDINGS", "true")];
    let now = Utc::now();
    let guard_at = |at| CacheGuard::new(config(&vars), &s.clients).with_clock(Arc::new(FixedClock(at)));
    let hub = SecurityHub::new(&s.clients.sdk).unwrap();
    let place = Place::new(hub.region(), testing::ACCOUNT);
    let id = finding_id(&place, Kind::HealRefused, &Subject::Project(name.clone()));
    let by_id = json!({"Id": [{"Value": id, "Comparison": "EQUALS"}]});

    let report = guard_at(now).handle(&build_event(&name, "IN_PROGRESS")).await.expect("guard");
    assert_eq!(report.projects[0].outcome, Outcome::Refused, "{report:?}");
    let findings = report.findings.expect("findings reported");
    assert_eq!(findings.imported, vec![id.clone()], "{findings:?}");
    let found = hub.get_findings(&by_id).await.unwrap();
    assert_eq!(found.len(), 1);
    let f = &found[0];
    assert!(missing_required(f).is_empty(), "{}", f);
    assert_eq!(f["GeneratorId"], "cache-sentinel/cache-guard/heal-refused");
    assert_eq!(f["Resources"][0]["Id"], place.project_arn(&name));
    assert!(f["Remediation"]["Recommendation"]["Text"].as_str().unwrap().contains("s3:PutObject"), "{f}");
    assert!(f["Description"].as_str().unwrap().starts_with("Seen on 1 day since"), "{f}");
    let created = f["CreatedAt"].clone();

    // The same day: nothing imported again. A day later: the same finding, updated.
    let again = guard_at(now + Duration::hours(2)).handle(&build_event(&name, "IN_PROGRESS")).await.unwrap();
    assert!(again.findings.as_ref().unwrap().imported.is_empty(), "{again:?}");
    let next_day = guard_at(now + Duration::hours(26)).handle(&build_event(&name, "IN_PROGRESS")).await.unwrap();
    assert_eq!(next_day.findings.as_ref().unwrap().imported, vec![id.clone()]);
    let found = hub.get_findings(&by_id).await.unwrap();
    assert_eq!(found.len(), 1, "one finding, updated");
    assert!(found[0]["Description"].as_str().unwrap().starts_with("Seen on 2 days since"), "{}", found[0]);
    assert_eq!(found[0]["CreatedAt"], created);
    assert_ne!(found[0]["UpdatedAt"], created);

    // The role fixed: healed, and the finding archived.
    let iam = aws_sdk_iam::Client::new(&s.clients.sdk);
    let write = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":"s3:PutObject","Resource":"arn:aws:s3:::{}/{name}/*"}}]}}"#,
        s.bucket
    );
    let role_name = role.rsplit('/').next().unwrap();
    iam.put_role_policy().role_name(role_name).policy_name("write").policy_document(write).send().await.unwrap();
    let healed = guard_at(now + Duration::hours(27)).handle(&build_event(&name, "IN_PROGRESS")).await.unwrap();
    assert_eq!(healed.projects[0].outcome, Outcome::Healed, "{healed:?}");
    assert_eq!(healed.findings.as_ref().unwrap().archived, vec![id.clone()]);
    let found = hub.get_findings(&by_id).await.unwrap();
    assert_eq!((found.len(), found[0]["RecordState"].as_str()), (1, Some("ARCHIVED")));
    assert_eq!(found[0]["Workflow"]["Status"], "RESOLVED", "archived and resolved: {}", found[0]);
    assert!(healed.findings.as_ref().unwrap().errors.is_empty(), "{healed:?}");
    // Nothing is open any more: the next run imports nothing.
    let after = guard_at(now + Duration::hours(28)).handle(&build_event(&name, "IN_PROGRESS")).await.unwrap();
    let after = after.findings.unwrap();
    assert!(after.imported.is_empty() && after.archived.is_empty(), "{after:?}");
}

#[tokio::test]
async fn off_by_default_and_nothing_imported_in_dry_run() {
    let s = testing::Sandbox::new().await;
    let name = ProjectFixture::new(&testing::unique("hubdry")).create(&s.clients).await;
    let off = CacheGuard::new(config(&[("CACHE_BUCKET", &s.bucket)]), &s.clients);
    assert!(off.handle(&build_event(&name, "IN_PROGRESS")).await.unwrap().findings.is_none());
    let dry = CacheGuard::new(
        config(&[("CACHE_BUCKET", &s.bucket), ("SECURITY_HUB_FINDINGS", "true"), ("DRY_RUN", "true")]),
        &s.clients,
    );
    let report = dry.handle(&build_event(&name, "IN_PROGRESS")).await.unwrap();
    let findings = report.findings.expect("reported");
    assert_eq!(findings.would_import.len(), 1, "{findings:?}");
    assert!(findings.imported.is_empty());
    let hub = SecurityHub::new(&s.clients.sdk).unwrap();
    let place = Place::new(hub.region(), testing::ACCOUNT);
    let by_id = json!({"Id": [{"Value": findings.would_import[0], "Comparison": "EQUALS"}]});
    assert!(hub.get_findings(&by_id).await.unwrap().is_empty());
    assert!(findings.would_import[0].starts_with(&format!("cache-sentinel/{}/", place.account)));
}

/// Security Hub throttling (429 LimitExceededException, from the fault proxy): the adapter retries,
/// and the finding is imported exactly once; throttled on every attempt, the run fails so that it
/// is retried (the refusal it reports stands), and nothing is recorded as open.
#[tokio::test]
async fn throttled_imports_are_retried_and_a_run_that_cannot_import_fails_to_be_retried() {
    use cache_sentinel::guard::service::GuardError;
    use cache_sentinel::testing::faults::{FaultProxy, FaultSettings};
    let s = testing::Sandbox::new().await;
    // May read the cache, not write it.
    let role = read_only_role(&s).await;
    let name = ProjectFixture::new(&testing::unique("hubthrottle")).service_role(&role).create(&s.clients).await;
    // Every other BatchImportFindings throttled: nextest runs each test in its own process, so the
    // endpoint variable is this test's alone.
    let proxy = FaultProxy::start(&FaultSettings::rate(0.0, 3).operation_rate("securityhub:BatchImportFindings", 0.5));
    // SAFETY: read once, at the guard's construction below, by this test's only thread that reads it.
    unsafe { std::env::set_var("AWS_ENDPOINT_URL_SECURITYHUB", &proxy.endpoint) };
    let vars = [("CACHE_BUCKET", s.bucket.as_str()), ("SECURITY_HUB_FINDINGS", "true")];
    let guard = CacheGuard::new(config(&vars), &s.clients);
    let report = guard.handle(&build_event(&name, "IN_PROGRESS")).await.expect("retried to success");
    let findings = report.findings.unwrap();
    assert_eq!(findings.imported.len(), 1, "{findings:?}");
    let counts = proxy.counts();
    let import = &counts["securityhub:BatchImportFindings"];
    assert!(import.faulted >= 1 && import.forwarded == 1, "{counts:?}");

    // Throttled every time: the invocation fails (retried by Lambda), nothing recorded as open.
    let other = ProjectFixture::new(&testing::unique("hubthrottle")).service_role(&role).create(&s.clients).await;
    proxy.configure(json!({"operation_rates": {"securityhub:BatchImportFindings": 1.0}}));
    let guard = CacheGuard::new(config(&vars), &s.clients);
    let err = guard.handle(&build_event(&other, "IN_PROGRESS")).await.expect_err("transient");
    assert!(matches!(err, GuardError::Findings(_)), "{err}");
    assert_eq!(err.error_type(), "CacheGuard.FindingsFailed");
    let open =
        s.clients.s3.list_objects_v2().bucket(&s.bucket).prefix(".cache-sentinel/findings/").send().await.unwrap();
    let keys: Vec<&str> = open.contents().iter().filter_map(|o| o.key()).collect();
    assert!(keys.iter().all(|k| !k.contains(&other)), "{keys:?}");
}
