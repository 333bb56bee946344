//! One guard sweep against the endpoint in `AWS_ENDPOINT_URL` (the emulator), configured from the
//! environment like the function: prints the outcome counts and the wall time as JSON.
//! `scripts/bench-guard.sh` drives it.

use cache_sentinel::aws::Clients;
use cache_sentinel::config::ProcessEnv;
use cache_sentinel::guard::service::Outcome;
use cache_sentinel::guard::{CacheGuard, GuardConfig};
use std::time::Instant;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let guard = CacheGuard::new(GuardConfig::from_env(&ProcessEnv)?, &Clients::from_env().await);
    let event: serde_json::Value = serde_json::from_str(include_str!("../../../events/scheduled-sweep.json"))?;
    let started = Instant::now();
    let report = guard.handle(&event).await?;
    let seconds = started.elapsed().as_secs_f64();
    let count = |o| report.count(o);
    println!(
        "{}",
        serde_json::json!({
            "projects": report.projects.len(),
            "healed": count(Outcome::Healed),
            "unchanged": count(Outcome::Unchanged),
            "refused": count(Outcome::Refused),
            "skipped": count(Outcome::Skipped),
            "failed": count(Outcome::Failed),
            "seconds": (seconds * 100.0).round() / 100.0,
        })
    );
    Ok(())
}
