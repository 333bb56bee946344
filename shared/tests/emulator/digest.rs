//! The weekly digest against the emulator: a week of builds of three projects (one on S3 whose
//! records show the cache not restoring, one on LOCAL, one without a build), builds before and after
//! the window that must not count, and a project out of scope; the digest's totals are exact
//! (builds, slow builds, minutes over range, their cost at the table's prices), it is sent once per
//! window (a redelivery sends nothing), and in dry run it is written, not sent.

use super::monitor_evidence::{fixed_build, monitor};
use cache_sentinel::clock::FixedClock;
use cache_sentinel::compute::{Prices, price_of};
use cache_sentinel::monitor::Outcome;
use cache_sentinel::monitor::evidence::Problems;
use cache_sentinel::monitor::streak::record_key;
use cache_sentinel::pruner::deployment::Deployment;
use cache_sentinel::pruner::freed::{self, Freed};
use cache_sentinel::testing::{self, ProjectFixture, Sandbox};
use chrono::{DateTime, Duration, TimeZone, Utc};
use serde_json::{Value, json};
use std::sync::Arc;

/// Monday 08:00 UTC: the window is Monday 23 November 00:00 to Monday 30 November 00:00.
fn monday() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 30, 8, 0, 0).unwrap()
}

/// A build reported exactly as given: started at `start`, 30 s queued, 20 s provisioning, then
/// `own_minutes` of BUILD, declared a no-change build (expected 5-8 minutes).
async fn build(s: &Sandbox, project: &str, start: DateTime<Utc>, own_minutes: i64) {
    let spec = json!({"start": start.to_rfc3339(), "status": "SUCCEEDED",
        "phases": [["QUEUED", 30], ["PROVISIONING", 20], ["BUILD", own_minutes * 60]],
        "exported": {"CACHE_SENTINEL_SCENARIO": "no_change"}});
    fixed_build(s, project, spec).await;
}

fn request() -> Value {
    json!({"id": testing::unique("digest"), "source": "cache-sentinel", "detail-type": "Digest Request",
        "account": testing::ACCOUNT, "region": testing::region(), "detail": {"days": 7}})
}

#[tokio::test]
async fn a_week_of_builds_adds_up_exactly_and_is_sent_once() {
    let s = Sandbox::new().await;
    let prefix = testing::unique("dg");
    let tts = ProjectFixture::new(&format!("{prefix}-tts"))
        .cache(testing::s3_cache(&format!("{}/{prefix}-tts", s.bucket)))
        .create(&s.clients)
        .await;
    let medium = testing::docker_environment()
        .compute_type(aws_sdk_codebuild::types::ComputeType::BuildGeneral1Medium)
        .build()
        .unwrap();
    let api = ProjectFixture::new(&format!("{prefix}-api")).environment(medium).create(&s.clients).await;
    let idle = ProjectFixture::new(&format!("{prefix}-idle"))
        .cache(testing::s3_cache(&format!("{}/{prefix}-idle", s.bucket)))
        .create(&s.clients)
        .await;
    let outside = ProjectFixture::new(&format!("other-{prefix}")).create(&s.clients).await;
    let day =
        |d: i64, h: i64| Utc.with_ymd_and_hms(2026, 11, 23, 0, 0, 0).unwrap() + Duration::days(d) + Duration::hours(h);

    // Before the window (history only) and after it (next week's): not counted.
    build(&s, &tts, day(-3, 9), 30).await;
    // The week: 20 and 10 minutes of own time are 12 and 2 over the 5-8 range; 6 is within it.
    build(&s, &tts, day(0, 9), 20).await;
    build(&s, &tts, day(2, 9), 10).await;
    build(&s, &tts, day(6, 23), 6).await;
    build(&s, &tts, day(7, 1), 40).await;
    // LOCAL, BUILD_GENERAL1_MEDIUM: 11 minutes, 3 over.
    build(&s, &api, day(3, 14), 11).await;
    // Out of scope: never read into the digest.
    build(&s, &outside, day(1, 9), 50).await;
    // The monitor's records of tts: nothing restored in its last three builds.
    let no_restore = Problems::from_code("ynnn").unwrap();
    for (i, start) in [day(0, 9), day(2, 9), day(6, 23)].into_iter().enumerate() {
        let key = record_key(&tts, &format!("{tts}:b{i}"), start, &no_restore);
        s.clients.s3.put_object().bucket(&s.bucket).key(key).body(b"{}".to_vec().into()).send().await.unwrap();
    }

    // What the pruner freed, as it records it: a build's run, 1 GiB in tts's location; a sweep, 512
    // MiB there and 64 MiB in a location no project uses any more (in the total only); 4 GiB before
    // the week.
    let deployment = Deployment::new(&s.bucket, Some(testing::ACCOUNT), &testing::region());
    let freed_at = |at: DateTime<Utc>, bytes, location: String| Freed {
        at_ms: at.timestamp_millis(),
        bytes,
        objects: 3,
        location,
    };
    let (tts_location, gone) = (format!("{}/{tts}", s.bucket), format!("{}/{prefix}-deleted", s.bucket));
    let sweep = [freed_at(day(5, 3), 512 << 20, format!("{tts_location}/")), freed_at(day(5, 3), 64 << 20, gone)];
    for (key, body) in [
        (freed::one_key(&deployment, &freed_at(day(1, 3), 1 << 30, tts_location.clone())), "{}".to_owned()),
        (freed::run_key(&deployment, day(5, 3).timestamp_millis(), 576 << 20, 6), freed::run_body(&sweep)),
        (freed::one_key(&deployment, &freed_at(day(-2, 3), 4 << 30, tts_location.clone())), "{}".to_owned()),
    ] {
        s.clients.s3.put_object().bucket(&s.bucket).key(key).body(body.into_bytes().into()).send().await.unwrap();
    }

    let include = format!("{prefix}-*");
    let clock = Arc::new(FixedClock(monday()));
    let m = monitor(&s, &[("PROJECT_INCLUDE", include.as_str())]).with_clock(clock.clone());
    let report = m.handle(&request()).await.expect("digest");
    assert_eq!(report.trigger, "digest");
    let d = report.digest.expect("a digest report");
    assert_eq!(d.outcome, Outcome::Notified, "{d:?}");
    assert_eq!((d.from, d.to), (Utc.with_ymd_and_hms(2026, 11, 23, 0, 0, 0).unwrap(), day(7, 0)));
    assert_eq!((d.builds, d.slow, d.projects, d.quiet), (4, 3, 2, 1), "{d:?}");
    assert!((d.minutes_over - 17.0).abs() < 1e-9, "{}", d.minutes_over);
    let price =
        |compute: &str| price_of(Some("LINUX_CONTAINER"), Some(compute), &Prices::EMPTY).unwrap().usd_per_minute;
    let cost = 14.0 * price("BUILD_GENERAL1_LARGE") + 3.0 * price("BUILD_GENERAL1_MEDIUM");
    assert!((d.cost_usd - cost).abs() < 1e-9, "{} vs {cost}", d.cost_usd);
    assert_eq!(d.reading.projects_in_scope, 3);
    assert_eq!(d.bytes_pruned, Some((1 << 30) + (512 << 20) + (64 << 20)));
    assert_eq!(d.reading.pruned_records, 2, "the listing stops at the first record before the week");

    let sent = s.topic.drain().await;
    assert_eq!(sent.len(), 1, "{sent:?}");
    let email = &sent[0];
    let subject = email.subject.as_deref().unwrap();
    assert!(subject.starts_with("cache-sentinel week: 2 of 2 projects over range, 17 min"), "{subject}");
    assert!(subject.ends_with(", 1.6 GiB pruned"), "{subject}");
    let body = &email.message;
    assert!(body.contains("The week 2026-11-23 00:00 to 2026-11-30 00:00 (UTC): 2 projects, 4 builds."), "{body}");
    assert!(body.contains("Not listed: 1 project with no build and nothing to do."), "{body}");
    assert!(body.contains(&format!("1. {tts}: 2 of 3 builds slow; 14 min over range in 2 builds")), "{body}");
    assert!(body.contains("not effective: nothing restored in the last 3 builds; pruned 1.5 GiB"), "{body}");
    assert!(body.contains(&format!("{api}: 1 build, 1 slow, 3 min over range")), "{body}");
    assert!(body.contains("LOCAL, not S3: the guard heals it on its next build or hourly sweep"), "{body}");
    assert!(!body.contains(&idle) && !body.contains(&outside), "{body}");

    // A redelivery (or the retry of a run that sent) sends nothing more.
    let again = m.handle(&request()).await.expect("digest again").digest.unwrap();
    assert_eq!(again.outcome, Outcome::AlreadyNotified);
    assert!(s.topic.drain().await.is_empty());

    // In dry run the digest is written and returned, not sent.
    let dry = monitor(&s, &[("PROJECT_INCLUDE", include.as_str()), ("DRY_RUN", "true")]).with_clock(clock);
    let dry = dry.handle(&request()).await.expect("dry run").digest.unwrap();
    assert_eq!(dry.outcome, Outcome::WouldNotify);
    assert!(dry.body.as_deref().is_some_and(|b| b.contains("LOCAL, not S3: the guard would heal it")), "{dry:?}");
    assert!(s.topic.drain().await.is_empty());
}
