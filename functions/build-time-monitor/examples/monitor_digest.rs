//! Runs one digest of build-time-monitor as a local process (in dry run: written, not sent), with
//! the Lambda's configuration variables and the AWS endpoint from the environment (the benchmark
//! points it at a local emulator), and prints the digest's figures, what it read, the wall time and
//! the process's peak RSS. `DIGEST_BODY=1` prints the email's text too.

use cache_sentinel::aws::Clients;
use cache_sentinel::config::ProcessEnv;
use cache_sentinel::monitor::{BuildTimeMonitor, MonitorConfig};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut config = MonitorConfig::from_env(&ProcessEnv)?;
    config.common.dry_run = true;
    let monitor = BuildTimeMonitor::new(config, &Clients::from_env().await);
    let event = serde_json::json!({"id": "bench-digest", "source": "cache-sentinel", "detail-type": "Digest Request",
        "account": "123456789012", "region": "ap-south-1", "detail": {"days": 7}});
    let started = std::time::Instant::now();
    let report = serde_json::to_value(monitor.handle(&event).await?)?;
    let seconds = started.elapsed().as_secs_f64();
    let mut digest = report["digest"].clone();
    let body = digest.as_object_mut().and_then(|d| d.remove("body"));
    if std::env::var("DIGEST_BODY").is_ok_and(|v| v == "1") {
        eprintln!("{}", body.as_ref().and_then(|b| b.as_str()).unwrap_or(""));
    }
    let summary = serde_json::json!({"seconds": seconds, "digest": digest,
        "peak_rss_kib": cache_sentinel::testing::peak_rss_kib()});
    println!("{summary}");
    Ok(())
}
