//! Central notices (docs/org.md): a deployment in one account and region publishes to a topic of
//! another account in another region (CentralTopicArn); the subscriber of that topic reads which
//! account and region each notice comes from, in its subject and its message attributes. moto
//! delivers cross-account publishes without evaluating the topic policy (the template's
//! aws:PrincipalOrgID statement is checked in template_iam.rs).

use super::monitor_evidence::final_event;
use super::pruner_deployments::clients_in;
use cache_sentinel::monitor::{BuildTimeMonitor, MonitorConfig, Outcome};
use cache_sentinel::testing::{self, ProjectFixture, Sandbox, TopicWithQueue};
use serde_json::json;
use std::collections::HashMap;

const MEMBER: &str = "330000000001";
/// The central account's region: not the member's (testing::region()).
const CENTRAL_REGION: &str = "eu-west-2";

async fn slow_build_notice(name_origin: &str, topic: TopicWithQueue) -> (Sandbox, Outcome) {
    let member = clients_in(MEMBER).await;
    let bucket = testing::unique("cache");
    testing::create_bucket(&member, &bucket).await;
    let s = Sandbox { clients: member, bucket, topic };
    let project = ProjectFixture::new(&testing::unique("tts"))
        .service_role(&format!("arn:aws:iam::{MEMBER}:role/service-role/codebuild-tts"))
        .create(&s.clients)
        .await;
    let uuid = testing::unique("b");
    let mut event = final_event(&s, &project, &uuid, "SUCCEEDED", 40, 45);
    let arn = format!("arn:aws:codebuild:{}:{MEMBER}:build/{project}:{uuid}", testing::region());
    event["account"] = json!(MEMBER);
    event["resources"] = json!([arn]);
    event["detail"]["build-id"] = json!(arn);
    let env: HashMap<String, String> = [
        ("CACHE_BUCKET", s.bucket.as_str()),
        ("NOTIFY_TOPIC_ARN", s.topic.topic_arn.as_str()),
        ("NOTIFY_NAME_ORIGIN", name_origin),
    ]
    .iter()
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect();
    let monitor = BuildTimeMonitor::new(MonitorConfig::from_env(&env).expect("config"), &s.clients);
    let report = monitor.handle(&event).await.expect("handled");
    let outcome = report.builds[0].outcome;
    (s, outcome)
}

#[tokio::test]
async fn a_notice_on_a_central_topic_of_another_account_and_region_names_its_account_and_region() {
    let central = testing::emulator_clients_in(CENTRAL_REGION).await;
    let topic = TopicWithQueue::create(&central, &testing::unique("central")).await;
    assert!(topic.topic_arn.contains(&format!(":{CENTRAL_REGION}:{}:", testing::ACCOUNT)), "{}", topic.topic_arn);
    let (s, outcome) = slow_build_notice("true", topic).await;
    assert_eq!(outcome, Outcome::Notified);
    let got = s.topic.drain().await;
    assert_eq!(got.len(), 1, "{got:?}");
    let region = testing::region();
    let subject = got[0].subject.as_deref().unwrap_or_default();
    assert!(subject.starts_with(&format!("[{MEMBER} {region}] ")), "{subject}");
    assert!(subject.len() <= 99, "{subject}");
    assert_eq!(got[0].attributes.get("account").map(String::as_str), Some(MEMBER));
    assert_eq!(got[0].attributes.get("region").map(String::as_str), Some(region.as_str()));
    assert_eq!(got[0].attributes.get("severity").map(String::as_str), Some("warning"));
}

#[tokio::test]
async fn a_topic_of_another_account_names_the_origin_even_unasked_and_the_own_topic_only_in_attributes() {
    let central = testing::emulator_clients().await;
    let topic = TopicWithQueue::create(&central, &testing::unique("central")).await;
    let (s, _) = slow_build_notice("false", topic).await;
    let got = s.topic.drain().await;
    assert_eq!(got.len(), 1, "{got:?}");
    assert!(got[0].subject.as_deref().unwrap_or_default().starts_with(&format!("[{MEMBER} ")), "{got:?}");

    // The account's own topic, not asked: the subject as ever, the origin in the attributes.
    let s = Sandbox::new().await;
    let project = ProjectFixture::new(&testing::unique("tts")).create(&s.clients).await;
    let event = final_event(&s, &project, &testing::unique("b"), "SUCCEEDED", 40, 45);
    let env: HashMap<String, String> =
        [("CACHE_BUCKET", s.bucket.clone()), ("NOTIFY_TOPIC_ARN", s.topic.topic_arn.clone())]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect();
    let monitor = BuildTimeMonitor::new(MonitorConfig::from_env(&env).expect("config"), &s.clients);
    monitor.handle(&event).await.expect("handled");
    let got = s.topic.drain().await;
    assert_eq!(got.len(), 1);
    assert!(!got[0].subject.as_deref().unwrap_or_default().starts_with('['), "{got:?}");
    assert_eq!(got[0].attributes.get("account").map(String::as_str), Some(testing::ACCOUNT));
}
