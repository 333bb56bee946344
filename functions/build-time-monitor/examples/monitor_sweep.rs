//! Runs one sweep of build-time-monitor as a local process, with the Lambda's configuration
//! variables and the AWS endpoint from the environment (the benchmark points it at a local
//! emulator), and prints a summary of the report (outcomes by kind), the wall time of the sweep and
//! the process's peak RSS. Never use it against real AWS unless you mean to send the notices.

use cache_sentinel::aws::Clients;
use cache_sentinel::config::ProcessEnv;
use cache_sentinel::monitor::{BuildTimeMonitor, MonitorConfig};
use std::collections::BTreeMap;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let monitor = BuildTimeMonitor::new(MonitorConfig::from_env(&ProcessEnv)?, &Clients::from_env().await);
    let event = serde_json::json!({"id": "bench-sweep", "source": "aws.events", "detail-type": "Scheduled Event",
        "account": "123456789012", "region": "ap-south-1", "detail": {}});
    let started = std::time::Instant::now();
    let report = serde_json::to_value(monitor.handle(&event).await?)?;
    let seconds = started.elapsed().as_secs_f64();
    let mut outcomes: BTreeMap<String, u64> = BTreeMap::new();
    for build in report["builds"].as_array().into_iter().flatten() {
        *outcomes.entry(build["outcome"].as_str().unwrap_or("?").to_owned()).or_default() += 1;
    }
    let summary = serde_json::json!({"seconds": seconds, "outcomes": outcomes, "sweep": report.get("sweep"),
        "peak_rss_kib": cache_sentinel::testing::peak_rss_kib()});
    println!("{summary}");
    Ok(())
}
