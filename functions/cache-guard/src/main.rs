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
    let guard = CacheGuard::new(config, &Clients::from_env().await);
    startup::log_cold_start("cache-guard", started);

    let guard = &guard;
    // The typed report is the response; a typed error becomes a Diagnostic with a named type.
    run(service_fn(move |event: LambdaEvent<Value>| async move { guard.handle(&event.payload).await })).await
}
