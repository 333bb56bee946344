//! cache-pruner Lambda: removes stale cache objects from the cache bucket.
//!
//! Triggered by a schedule (a sweep of every cache location CodeBuild's projects use in the bucket,
//! resumed across runs when the bucket is too large for one) and by "CodeBuild Build State Change"
//! events (SUCCEEDED: that project's cache location; other statuses are ignored). Configuration and
//! clients are built once, at cold start.

use cache_sentinel::aws::Clients;
use cache_sentinel::config::ProcessEnv;
use cache_sentinel::metrics;
use cache_sentinel::pruner::{CachePruner, PrunerConfig};
use cache_sentinel::startup;
use lambda_runtime::{Error, LambdaEvent, run, service_fn};
use serde_json::Value;
use std::time::Instant;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let started = Instant::now();
    cache_sentinel::telemetry::init_json_logs();
    let config = PrunerConfig::from_env(&ProcessEnv).map_err(|e| startup::init_failed("cache-pruner", e))?;
    let clients = Clients::from_env().await;
    let metrics_mode = config.common.metrics;
    let pruner = CachePruner::new(config, &clients);
    startup::log_cold_start("cache-pruner", started);

    let (pruner, attempts) = (&pruner, &clients.attempts);
    // The typed report with the invocation's AWS calls (`aws_calls`: calls, retries, failures per
    // operation) is the response; a typed error becomes a Diagnostic with a named type.
    run(service_fn(move |event: LambdaEvent<Value>| async move {
        // The margin is checked against the time this invocation really has.
        let limits = pruner.limits_before(event.context.deadline())?;
        // Boxed: the sweep's future is deep (concurrent location runs) and large; on the heap it
        // keeps the runtime's task small and the type within the compiler's depth limit.
        let result = attempts.count(Box::pin(pruner.handle(&event.payload, limits))).await;
        // The run's figures also go to the log as a CloudWatch metric line (EMF).
        if let Ok(done) = &result {
            metrics::emit(&metrics::pruner::lines(&done.report, metrics_mode, metrics::now_ms()));
        }
        result
    }))
    .await
}
