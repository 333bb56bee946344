//! No storm (`shared/src/monitor/repeat.rs`): a project that stays slow for one cause gets one
//! slow-build email per UTC day (MONITOR_REPEAT_HOURS=24), the next one saying how many were held
//! back; a new cause or a build half again as slow is sent at once; the JSON says what was held
//! back and why.

use super::monitor_evidence::{final_event, logs_client, monitor, put_log};
use cache_sentinel::monitor::Outcome;
use cache_sentinel::testing::{self, ProjectFixture, Sandbox};
use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};

/// A final event of `minutes`, started at `start`, its log at `/aws/codebuild/<project>`/`uuid`.
fn event_at(s: &Sandbox, project: &str, uuid: &str, start: DateTime<Utc>, minutes: i64) -> Value {
    let mut event = final_event(s, project, uuid, "SUCCEEDED", minutes, 0);
    let time = |t: DateTime<Utc>| t.format("%b %-d, %Y %-I:%M:%S %p").to_string();
    let end = start + Duration::minutes(minutes);
    let info = &mut event["detail"]["additional-information"];
    info["build-start-time"] = json!(time(start));
    info["phases"] = json!([
        {"phase-context": [], "start-time": time(start), "end-time": time(end), "duration-in-seconds": minutes * 60,
         "phase-type": "BUILD", "phase-status": "SUCCEEDED"},
        {"start-time": time(end), "phase-type": "COMPLETED"}
    ]);
    event
}

#[tokio::test]
async fn a_project_slow_all_day_for_one_cause_gets_one_email_a_day() {
    let s = Sandbox::new().await;
    let project = ProjectFixture::new(&testing::unique("tts")).create(&s.clients).await;
    let monitor = monitor(&s, &[]);
    let day: DateTime<Utc> = "2026-11-20T06:00:00Z".parse().unwrap();
    let mut outcomes = vec![];
    for i in 0..20 {
        let event = event_at(&s, &project, &testing::unique("b"), day + Duration::minutes(40 * i), 30);
        let report = monitor.handle(&event).await.expect("monitor");
        outcomes.push((report.builds[0].outcome, report.builds[0].reason.clone()));
    }
    assert_eq!(outcomes[0].0, Outcome::Notified);
    assert!(outcomes[1..].iter().all(|(o, _)| *o == Outcome::HeldBack), "{outcomes:?}");
    assert!(
        outcomes[1].1.contains("held back: a notice for this project and cause already went out"),
        "{}",
        outcomes[1].1
    );
    assert_eq!(slow_emails(&s).await.len(), 1, "20 slow builds of one cause in a day: one email");

    // The next day: one email, saying how many were held back.
    let next = event_at(&s, &project, &testing::unique("b"), day + Duration::days(1), 30);
    assert_eq!(monitor.handle(&next).await.expect("monitor").builds[0].outcome, Outcome::Notified);
    let received = slow_emails(&s).await;
    assert_eq!(received.len(), 1);
    assert!(
        received[0].message.contains("And 19 more slow builds of this project for the same cause"),
        "{}",
        received[0].message
    );
    // A redelivery of a held-back build sends nothing either.
    let held = event_at(&s, &project, &testing::unique("b"), day + Duration::days(1) + Duration::hours(1), 30);
    assert_eq!(monitor.handle(&held).await.unwrap().builds[0].outcome, Outcome::HeldBack);
    assert_eq!(monitor.handle(&held).await.unwrap().builds[0].outcome, Outcome::AlreadyNotified);

    // The same day, a new cause (its log shows Docker Hub's pull limit): one more.
    let uuid = testing::unique("b");
    put_log(
        &logs_client(&s),
        &format!("/aws/codebuild/{project}"),
        &uuid,
        include_str!("../../../events/logs/pull-rate-limit.log"),
    )
    .await;
    let new_cause = event_at(&s, &project, &uuid, day + Duration::days(1) + Duration::hours(2), 30);
    assert_eq!(monitor.handle(&new_cause).await.unwrap().builds[0].outcome, Outcome::Notified);
    // And a build half again as slow as the one reported (46 min against 30): one more.
    let worse = event_at(&s, &project, &testing::unique("b"), day + Duration::days(1) + Duration::hours(3), 46);
    assert_eq!(monitor.handle(&worse).await.unwrap().builds[0].outcome, Outcome::Notified);
    let received = slow_emails(&s).await;
    assert_eq!(received.len(), 2, "{received:?}");
    assert!(received[1].message.contains("And 1 more slow build of this project"), "{}", received[1].message);

    // With MONITOR_REPEAT_HOURS=0 every slow build is sent.
    let every = monitor_every(&s);
    for i in 0..3 {
        let event = event_at(&s, &project, &testing::unique("b"), day + Duration::days(2) + Duration::hours(i), 30);
        assert_eq!(every.handle(&event).await.unwrap().builds[0].outcome, Outcome::Notified);
    }
    assert_eq!(slow_emails(&s).await.len(), 3);
}

fn monitor_every(s: &Sandbox) -> cache_sentinel::monitor::BuildTimeMonitor {
    monitor(s, &[("MONITOR_REPEAT_HOURS", "0")])
}

/// The slow-build emails received (the one "cache not effective" notice of the project is its own
/// kind, sent once per project and cause whatever this test does).
async fn slow_emails(s: &Sandbox) -> Vec<cache_sentinel::testing::Received> {
    let all = s.topic.drain().await;
    all.into_iter().filter(|r| r.attributes.get("kind").map(String::as_str) == Some("finished-slow")).collect()
}
