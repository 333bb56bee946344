//! cache-pruner Lambda: removes stale cache objects from the cache bucket.
//!
//! Triggered by a schedule (a sweep of the whole cache root, resumed across runs when the bucket is
//! too large for one) and by "CodeBuild Build State Change" events (SUCCEEDED: that project's
//! prefix; other statuses are ignored). Configuration and clients are built once, at cold start.

use cache_sentinel::aws::Clients;
use cache_sentinel::config::ProcessEnv;
use cache_sentinel::pruner::{CachePruner, PrunerConfig, RunLimits};
use cache_sentinel::startup;
use lambda_runtime::{Error, LambdaEvent, run, service_fn};
use serde_json::Value;
use std::time::{Instant, SystemTime};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let started = Instant::now();
    cache_sentinel::telemetry::init_json_logs();
    let config = PrunerConfig::from_env(&ProcessEnv).map_err(|e| startup::init_failed("cache-pruner", e))?;
    let margin = config.deadline_margin;
    let clients = Clients::from_env().await;
    let pruner = CachePruner::new(config, &clients);
    startup::log_cold_start("cache-pruner", started);

    let (pruner, attempts) = (&pruner, &clients.attempts);
    // The typed report with the invocation's AWS calls (`aws_calls`: calls, retries, failures per
    // operation) is the response; a typed error becomes a Diagnostic with a named type.
    run(service_fn(move |event: LambdaEvent<Value>| async move {
        let limits = RunLimits::before_deadline(event.context.deadline(), SystemTime::now(), margin);
        attempts.count(pruner.handle(&event.payload, limits)).await
    }))
    .await
}
