//! cache-guard Lambda: keeps CodeBuild projects on the S3 cache.
//!
//! Triggered by "CodeBuild Build State Change" events (the project of that build) and by a schedule
//! (every project). Configuration and clients are built once, at cold start.

use cache_sentinel::aws::Clients;
use cache_sentinel::config::ProcessEnv;
use cache_sentinel::guard::{CacheGuard, GuardConfig};
use cache_sentinel::startup;
use lambda_runtime::{Error, LambdaEvent, run, service_fn};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let started = std::time::Instant::now();
    cache_sentinel::telemetry::init_json_logs();
    let config = GuardConfig::from_env(&ProcessEnv).map_err(|e| startup::init_failed("cache-guard", e))?;
    let clients = Clients::from_env().await;
    let guard = CacheGuard::new(config, &clients);
    startup::log_cold_start("cache-guard", started);

    let (guard, attempts) = (&guard, &clients.attempts);
    // The typed report with the invocation's AWS calls (`aws_calls`: calls, retries, failures per
    // operation) is the response; a typed error becomes a Diagnostic with a named type.
    run(service_fn(move |event: LambdaEvent<Value>| async move { attempts.count(guard.handle(&event.payload)).await }))
        .await
}
