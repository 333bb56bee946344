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
    let pruner = CachePruner::new(config, &Clients::from_env().await);
    startup::log_cold_start("cache-pruner", started);

    let pruner = &pruner;
    run(service_fn(move |event: LambdaEvent<Value>| async move {
        // Stop listing `margin` before the invocation deadline: in-flight deletions and the state
        // write finish within the margin.
        let left = event.context.deadline().duration_since(SystemTime::now()).unwrap_or_default();
        let limits = RunLimits { deadline: Some(Instant::now() + left.saturating_sub(margin)), max_pages: None };
        let report = pruner.handle(&event.payload, limits).await?;
        Ok::<_, Error>(serde_json::to_value(report)?)
    }))
    .await
}
