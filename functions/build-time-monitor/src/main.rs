//! build-time-monitor Lambda: emails (via SNS) when a CodeBuild build takes longer than expected.
//!
//! Triggered by "CodeBuild Build State Change" events (final statuses judge the finished build;
//! IN_PROGRESS is ignored) and by a schedule (a sweep of running builds that are already overdue).
//! Configuration and clients are built once, at cold start.

use cache_sentinel::aws::Clients;
use cache_sentinel::config::ProcessEnv;
use cache_sentinel::metrics;
use cache_sentinel::monitor::{BuildTimeMonitor, MonitorConfig};
use cache_sentinel::startup;
use lambda_runtime::{Error, LambdaEvent, run, service_fn};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let started = std::time::Instant::now();
    cache_sentinel::telemetry::init_json_logs();
    let config = MonitorConfig::from_env(&ProcessEnv).map_err(|e| startup::init_failed("build-time-monitor", e))?;
    let clients = Clients::from_env().await;
    let metrics_mode = config.common.metrics;
    let monitor = BuildTimeMonitor::new(config, &clients);
    startup::log_cold_start("build-time-monitor", started);

    let (monitor, attempts) = (&monitor, &clients.attempts);
    // The typed report with the invocation's AWS calls (`aws_calls`: calls, retries, failures per
    // operation) is the response; a typed error becomes a Diagnostic with a named type.
    // Each finished build's figures also go to the log as a CloudWatch metric line (EMF).
    run(service_fn(move |event: LambdaEvent<Value>| async move {
        let result = attempts.count(monitor.handle(&event.payload)).await;
        if let Ok(done) = &result {
            metrics::emit(&metrics::monitor::lines(&done.report, metrics_mode, metrics::now_ms()));
        }
        result
    }))
    .await
}
