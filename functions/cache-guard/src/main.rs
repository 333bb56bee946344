//! cache-guard Lambda: keeps CodeBuild projects on the S3 cache.
//!
//! Triggered by "CodeBuild Build State Change" events (the project of that build) and by a schedule
//! (every project). Configuration and clients are built once, at cold start.

use cache_sentinel::aws::Clients;
use cache_sentinel::config::ProcessEnv;
use cache_sentinel::event::account_from_arn;
use cache_sentinel::guard::{CacheGuard, GuardConfig};
use cache_sentinel::metrics;
use cache_sentinel::startup;
use lambda_runtime::{Error, LambdaEvent, run, service_fn};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let started = std::time::Instant::now();
    cache_sentinel::telemetry::init_json_logs();
    let config = GuardConfig::from_env(&ProcessEnv).map_err(|e| startup::init_failed("cache-guard", e))?;
    let clients = Clients::from_env().await;
    let metrics_mode = config.common.metrics;
    let guard = CacheGuard::new(config, &clients);
    startup::log_cold_start("cache-guard", started);

    let (guard, attempts) = (&guard, &clients.attempts);
    // The typed report with the invocation's AWS calls (`aws_calls`: calls, retries, failures per
    // operation) is the response; a typed error becomes a Diagnostic with a named type. The
    // function's own account comes with every invocation (its ARN): no call, no cold-start cost.
    run(service_fn(move |event: LambdaEvent<Value>| async move {
        let own_account = own_account(&event.context.invoked_function_arn);
        let result = attempts.count(guard.handle_in_account(&event.payload, own_account)).await;
        // The invocation's figures also go to the log as a CloudWatch metric line (EMF).
        if let Ok(done) = &result {
            metrics::emit(&metrics::guard::lines(&done.report, metrics_mode, metrics::now_ms()));
        }
        result
    }))
    .await
}

/// The account in the invoked function's ARN. Local runtimes (cargo lambda) invoke with a
/// placeholder ARN of account 000000000000, which AWS never assigns: no account, no check.
fn own_account(invoked_function_arn: &str) -> Option<&str> {
    account_from_arn(invoked_function_arn).filter(|a| *a != "000000000000")
}
