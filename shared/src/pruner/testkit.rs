//! Test support: the sweep's own tasks run over an in-memory bucket, every planned deletion
//! collected (what the deleter would have received).

use super::lister::MemoryLister;
use super::pager::PageLimits;
use super::plan::{Deletion, PrunePolicy, RunQuota};
use super::task::Shared;
use chrono::{DateTime, Utc};
use std::sync::{Arc, OnceLock};

/// Runs `tasks` with the run's shared parts over `lister` at `now`; the deletions they planned.
pub fn collect_deletions(
    lister: &MemoryLister,
    policy: &PrunePolicy,
    now: DateTime<Utc>,
    tasks: impl AsyncFnOnce(&Shared<'_, MemoryLister>),
) -> Vec<Deletion> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let quota = RunQuota::new(policy.max_deletes);
        let limits = PageLimits::new(None, None);
        let (tx, mut rx) = tokio::sync::mpsc::channel(16);
        let collector = tokio::spawn(async move {
            let mut all = Vec::new();
            while let Some(d) = rx.recv().await {
                all.push(d);
            }
            all
        });
        let shared = Shared {
            lister,
            policy,
            quota: &quota,
            limits: &limits,
            now,
            deletions: tx,
            halt: Arc::new(OnceLock::new()),
        };
        tasks(&shared).await;
        drop(shared);
        collector.await.unwrap()
    })
}
