//! Runs one pruner invocation as a local process, with the Lambda's configuration variables and
//! the AWS endpoints from the environment, and prints the JSON report (without the per-object
//! sample and the per-location lines, which grow with the bucket) plus the process's peak RSS. The
//! benchmarks run it against an emulator or a latency-bound fake S3: S3 and CodeBuild may be
//! different servers (`AWS_ENDPOINT_URL_S3`, `AWS_ENDPOINT_URL_CODEBUILD`, or `AWS_ENDPOINT_URL`
//! for both; S3 then uses path-style addressing). Never use it against real AWS unless you mean
//! to prune.
//!
//!   PRUNE_LOCAL_DAYS_AHEAD=N   age objects as if N days had passed (FixedClock), default 0
//!   PRUNE_LOCAL_EVENT=FILE     the event (default: a scheduled sweep)
//!   PRUNE_LIST_CONCURRENCY, PRUNE_DELETE_CONCURRENCY, ...: the Lambda's own variables

use cache_sentinel::aws::Clients;
use cache_sentinel::clock::FixedClock;
use cache_sentinel::config::ProcessEnv;
use cache_sentinel::pruner::{CachePruner, PrunerConfig, RunLimits};
use std::sync::Arc;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let config = PrunerConfig::from_env(&ProcessEnv)?;
    let days: i64 = std::env::var("PRUNE_LOCAL_DAYS_AHEAD").ok().and_then(|d| d.parse().ok()).unwrap_or(0);
    let event: serde_json::Value = match std::env::var("PRUNE_LOCAL_EVENT") {
        Ok(file) => serde_json::from_str(&std::fs::read_to_string(file)?)?,
        Err(_) => {
            serde_json::json!({"source": "aws.events", "detail-type": "Scheduled Event", "account": "123456789012", "detail": {}})
        }
    };
    let pruner = CachePruner::new(config, &Clients::from_env().await)
        .with_clock(Arc::new(FixedClock(chrono::Utc::now() + chrono::Duration::days(days))));
    let started = std::time::Instant::now();
    let mut report = serde_json::to_value(pruner.handle(&event, RunLimits::default()).await?)?;
    if let Some(obj) = report.as_object_mut() {
        obj.remove("deletions");
        let locations = obj.remove("locations").and_then(|l| l.as_object().map(|l| l.len())).unwrap_or(0);
        obj.insert("location_count".into(), locations.into());
        obj.insert("seconds".into(), started.elapsed().as_secs_f64().into());
        obj.insert("peak_rss_kib".into(), cache_sentinel::testing::peak_rss_kib().into());
    }
    println!("{report}");
    Ok(())
}
