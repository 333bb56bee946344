//! Shows what a subscriber receives for a build event, against the local emulator.
//!
//! ```sh
//! eval "$(bash scripts/emulator.sh start)"
//! cargo run -p cache-sentinel --features test-support --example monitor_demo -- events/build-succeeded.json
//! ```
//!
//! Creates a fresh cache bucket and an SNS topic with an SQS queue subscribed, runs the
//! build-time-monitor library on the event (other MONITOR_* variables come from the environment),
//! and prints the JSON result and every message exactly as the subscriber received it.

use cache_sentinel::config::{Env, ProcessEnv};
use cache_sentinel::monitor::{BuildTimeMonitor, MonitorConfig};
use cache_sentinel::testing::{self, TopicWithQueue};
use std::collections::HashMap;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args().nth(1).unwrap_or_else(|| "events/build-succeeded.json".into());
    let event: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path)?)?;
    let clients = testing::emulator_clients().await;
    let bucket = testing::unique("demo-cache");
    testing::create_bucket(&clients, &bucket).await;
    let topic = TopicWithQueue::create(&clients, &testing::unique("demo-topic")).await;

    let mut env: HashMap<String, String> = MonitorConfig::variables()
        .into_iter()
        .filter_map(|v| ProcessEnv.var(v).map(|value| (v.to_owned(), value)))
        .collect();
    env.insert("CACHE_BUCKET".into(), bucket);
    env.insert("NOTIFY_TOPIC_ARN".into(), topic.topic_arn.clone());
    let monitor = BuildTimeMonitor::new(MonitorConfig::from_env(&env)?, &clients);

    let report = monitor.handle(&event).await?;
    println!("=== JSON result of {path} ===\n{}\n", serde_json::to_string_pretty(&report)?);
    let received = topic.drain().await;
    println!("=== {} message(s) received by the subscriber ===", received.len());
    for m in received {
        println!("Subject: {}", m.subject.as_deref().unwrap_or("(none)"));
        let attributes: Vec<String> = m.attributes.iter().map(|(k, v)| format!("{k}={v}")).collect();
        println!("Attributes: {}\n\n{}", attributes.join(", "), m.message);
    }
    Ok(())
}
