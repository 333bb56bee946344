//! Reads one build log the way build-time-monitor does (GetLogEvents within MONITOR_LOG_MAX_PAGES
//! and MONITOR_LOG_MAX_BYTES, each event scanned as it arrives, none kept) and prints what it found,
//! what it read and the process's peak RSS. For scripts/bench-monitor-log.sh, against the emulator.
//!
//!   read_log GROUP STREAM

use cache_sentinel::aws::Clients;
use cache_sentinel::aws::logs::BuildLogs;
use cache_sentinel::config::ProcessEnv;
use cache_sentinel::monitor::MonitorConfig;
use cache_sentinel::monitor::log::build_log::LogScan;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let (group, stream) = (args.get(1).ok_or("GROUP")?, args.get(2).ok_or("STREAM")?);
    let config = MonitorConfig::from_env(&ProcessEnv)?;
    let logs = BuildLogs::new(Clients::from_env().await.logs());
    let (mut scan, mut tail) = (LogScan::new(), LogScan::new());
    let started = std::time::Instant::now();
    let read =
        logs.read(group, stream, config.log_limits, |m, t| scan.event(m, t), |m, t| tail.tail_event(m, t)).await?;
    let mut found = scan.finish();
    found.absorb_tail(tail.finish());
    let summary = serde_json::json!({"read": read, "found": found, "seconds": started.elapsed().as_secs_f64(),
        "peak_rss_kib": cache_sentinel::testing::peak_rss_kib()});
    println!("{summary}");
    Ok(())
}
