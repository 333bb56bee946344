//! Deleting: one worker takes the planned deletions of every location of a run, batches them by
//! 1,000 keys (locations mixed: DeleteObjects takes any keys of the bucket), keeps a bounded number
//! of DeleteObjects calls in flight while the listings go on, retries the keys S3 reports in
//! `Errors`, and deletes one by one the keys a DeleteObjects body cannot carry.

use super::calls::ApiCalls;
use super::keeper::LeaseLoss;
use super::plan::Deletion;
use super::progress::PruneProgress;
use super::report::{DeleteCounts, KeyError, REPORTED_DELETIONS, REPORTED_ERRORS};
use super::scope::Scope;
use super::task::Ending;
use crate::aws::s3_objects::{self, PAGE_SIZE};
use crate::error::{AwsError, AwsErrorKind};
use aws_sdk_s3::Client;
use futures::StreamExt;
use std::collections::HashMap;
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::task::{JoinHandle, JoinSet};
use tracing::{Instrument, error, info, warn};

/// DeleteObjects takes at most 1,000 keys.
pub const DELETE_BATCH: usize = PAGE_SIZE;
/// Attempts per key when DeleteObjects reports it in `Errors` (the first try included).
pub const KEY_ATTEMPTS: u32 = 4;
/// Per-key error codes a retry cannot heal.
pub const PERMANENT_KEY_ERRORS: &[&str] =
    &["AccessDenied", "InvalidArgument", "InvalidObjectState", "MethodNotAllowed"];
/// Single DeleteObject calls in flight for the keys of one batch that go one by one.
const SINGLE_CONCURRENCY: usize = 8;
/// How many keys deleted one by one the report names.
pub const REPORTED_SINGLES: usize = 100;

/// What the deletions of a run achieved.
#[derive(Debug, Default)]
pub struct DeleteOutcome {
    pub by_location: HashMap<String, DeleteCounts>,
    /// The first per-key errors (all are counted in `by_location` and logged).
    pub errors: Vec<KeyError>,
    /// The first planned deletions, with reasons (all are logged).
    pub sample: Vec<Deletion>,
    /// Keys deleted one by one (DeleteObjects could not carry them or rejected their batch).
    pub singles: Vec<String>,
    pub single_count: u64,
    /// A DeleteObjects call failed with a transient error after the SDK's retries.
    pub transient: Option<AwsError>,
}

/// The worker and its queue.
pub struct DeleteQueue {
    tx: mpsc::Sender<Deletion>,
    worker: JoinHandle<DeleteOutcome>,
    halt: Arc<OnceLock<String>>,
}

/// What every batch needs.
#[derive(Clone)]
pub struct Target {
    pub s3: Client,
    pub bucket: String,
    pub scope: Arc<Scope>,
    pub calls: Arc<ApiCalls>,
    /// The caller's progress counters (planned when queued, deleted per batch).
    pub progress: Option<Arc<PruneProgress>>,
    /// Once the run lost its lease (`keeper`) nothing more is sent: the holder now deletes.
    pub lease_loss: LeaseLoss,
}

impl DeleteQueue {
    /// Starts the worker. In a dry run it only logs and samples.
    pub fn start(target: Target, concurrency: usize, dry_run: bool) -> Self {
        let (tx, rx) = mpsc::channel(2 * DELETE_BATCH);
        let halt = Arc::new(OnceLock::new());
        // The worker and its batches log in the run's span (project, build id, action).
        let worker = tokio::spawn(work(target, concurrency.max(1), dry_run, rx, halt.clone()).in_current_span());
        DeleteQueue { tx, worker, halt }
    }

    pub fn sender(&self) -> mpsc::Sender<Deletion> {
        self.tx.clone()
    }

    /// Why deleting stopped for the whole run (a call error no retry heals), once it has.
    pub fn halt(&self) -> Arc<OnceLock<String>> {
        self.halt.clone()
    }

    /// Waits for every deletion queued so far.
    pub async fn finish(self) -> DeleteOutcome {
        drop(self.tx);
        self.worker.await.unwrap_or_else(|e| {
            error!(action = "delete", error = %e, "the delete worker failed");
            DeleteOutcome::default()
        })
    }
}

async fn work(
    target: Target,
    concurrency: usize,
    dry_run: bool,
    mut rx: mpsc::Receiver<Deletion>,
    halt: Arc<OnceLock<String>>,
) -> DeleteOutcome {
    let mut outcome = DeleteOutcome::default();
    let mut pending: Vec<Deletion> = Vec::with_capacity(DELETE_BATCH);
    let mut in_flight: JoinSet<BatchResult> = JoinSet::new();
    while let Some(deletion) = rx.recv().await {
        if let Some(progress) = &target.progress {
            progress.planned(deletion.size);
        }
        if outcome.sample.len() < REPORTED_DELETIONS {
            outcome.sample.push(deletion.clone());
        }
        if dry_run {
            info!(action = "would-delete", location = %deletion.location, key = %deletion.key, size = deletion.size, reason = deletion.reason.as_str(), "dry run: would delete");
            continue;
        }
        if halt.get().is_some() || target.lease_loss.is_lost() {
            continue;
        }
        pending.push(deletion);
        if pending.len() >= DELETE_BATCH {
            while in_flight.len() >= concurrency {
                collect(in_flight.join_next().await, &mut outcome, &halt, target.progress.as_deref());
            }
            let batch = std::mem::replace(&mut pending, Vec::with_capacity(DELETE_BATCH));
            in_flight.spawn(delete_batch(target.clone(), batch).in_current_span());
        }
    }
    if !pending.is_empty() && halt.get().is_none() && !target.lease_loss.is_lost() {
        in_flight.spawn(delete_batch(target.clone(), pending).in_current_span());
    }
    while !in_flight.is_empty() {
        collect(in_flight.join_next().await, &mut outcome, &halt, target.progress.as_deref());
    }
    outcome
}

fn collect(
    joined: Option<Result<BatchResult, tokio::task::JoinError>>,
    outcome: &mut DeleteOutcome,
    halt: &OnceLock<String>,
    progress: Option<&PruneProgress>,
) {
    let result = match joined {
        Some(Ok(result)) => result,
        Some(Err(e)) => {
            let _ = halt.set(format!("error: a delete task failed: {e}"));
            return;
        }
        None => return,
    };
    if let Some(progress) = progress {
        let freed = result.deleted.iter().map(|(_, size)| size).sum();
        progress.deleted(result.deleted.len() as u64, freed, result.failed.len() as u64);
    }
    for (location, size) in result.deleted {
        let counts = outcome.by_location.entry(location).or_default();
        counts.deleted += 1;
        counts.bytes_freed += size;
    }
    for (location, err) in result.failed {
        outcome.by_location.entry(location).or_default().failed += 1;
        if outcome.errors.len() < REPORTED_ERRORS {
            outcome.errors.push(err);
        }
    }
    outcome.single_count += result.singles.len() as u64;
    let room = REPORTED_SINGLES.saturating_sub(outcome.singles.len());
    outcome.singles.extend(result.singles.into_iter().take(room));
    if let Some(e) = result.call_error {
        if Ending::transient(&e) {
            outcome.transient.get_or_insert(e);
        } else {
            let _ = halt.set(format!("error: {e}"));
        }
    }
}

/// One batch's result.
#[derive(Debug, Default)]
pub struct BatchResult {
    pub deleted: Vec<(String, u64)>,
    pub failed: Vec<(String, KeyError)>,
    pub singles: Vec<String>,
    pub call_error: Option<AwsError>,
}

/// One batch: refused keys reported, keys XML cannot carry deleted one by one, the rest with
/// DeleteObjects (Quiet) and retries of the keys it reports in `Errors`, with backoff. A batch S3
/// rejects as malformed is deleted one by one instead, so one bad key never fails 999 others.
pub async fn delete_batch(target: Target, batch: Vec<Deletion>) -> BatchResult {
    let mut result = BatchResult::default();
    let mut todo: HashMap<String, Deletion> = HashMap::with_capacity(batch.len());
    let mut singles = Vec::new();
    for deletion in batch {
        // The last line of defence: every key is checked against the scope before every delete call.
        if !target.scope.may_delete(&deletion.key) {
            error!(action = "refuse", key = %deletion.key, "refused to delete a key outside the managed cache locations");
            let err = KeyError::new(&deletion.key, "Refused", "outside the managed cache locations", 0);
            result.failed.push((deletion.location, err));
        } else if s3_objects::xml_safe(&deletion.key) {
            todo.insert(deletion.key.clone(), deletion);
        } else {
            singles.push(deletion);
        }
    }
    let rejected = delete_objects_with_retries(&target, &mut todo, &mut result).await;
    if let Some(e) = rejected {
        warn!(action = "delete", error = %e, keys = todo.len(), "DeleteObjects rejected the batch as malformed: deleting its keys one by one");
        singles.extend(todo.drain().map(|(_, d)| d));
    }
    delete_one_by_one(&target, singles, &mut result).await;
    result
}

/// DeleteObjects and its per-key retries. Returns the call error when S3 rejected the request as
/// invalid (the keys stay in `todo` for single deletes); other failures are reported in `result`.
async fn delete_objects_with_retries(
    target: &Target,
    todo: &mut HashMap<String, Deletion>,
    result: &mut BatchResult,
) -> Option<AwsError> {
    let mut attempt = 0;
    let mut last_errors: HashMap<String, (String, String)> = HashMap::new();
    while !todo.is_empty() && attempt < KEY_ATTEMPTS {
        if attempt > 0 {
            tokio::time::sleep(Duration::from_millis(100 << attempt)).await;
        }
        attempt += 1;
        let keys: Vec<String> = todo.keys().cloned().collect();
        target.calls.add("s3:DeleteObjects", 1);
        let failures = match s3_objects::delete_objects(&target.s3, &target.bucket, &keys).await {
            Ok(failures) => failures,
            Err(e) if e.is(AwsErrorKind::InvalidInput) => return Some(e),
            Err(e) => {
                error!(action = "delete", error = %e, keys = todo.len(), "DeleteObjects failed");
                for (key, d) in todo.drain() {
                    let err = KeyError::new(&key, &e.code, &e.message, attempt);
                    result.failed.push((d.location, err));
                }
                result.call_error = Some(e);
                return None;
            }
        };
        let mut retry: HashMap<String, Deletion> = HashMap::new();
        for failure in failures {
            let Some(d) = todo.remove(&failure.key) else { continue };
            if PERMANENT_KEY_ERRORS.contains(&failure.code.as_str()) {
                error!(action = "delete", location = %d.location, key = %failure.key, code = %failure.code, message = %failure.message, attempts = attempt, "could not delete");
                let err = KeyError::new(&failure.key, &failure.code, &failure.message, attempt);
                result.failed.push((d.location, err));
            } else {
                last_errors.insert(failure.key.clone(), (failure.code, failure.message));
                retry.insert(failure.key, d);
            }
        }
        // Quiet mode: every key not in Errors was deleted.
        for (_, d) in todo.drain() {
            info!(action = "delete", location = %d.location, key = %d.key, reason = d.reason.as_str(), size = d.size, "deleted");
            result.deleted.push((d.location, d.size));
        }
        *todo = retry;
        if !todo.is_empty() && attempt < KEY_ATTEMPTS {
            warn!(
                action = "delete",
                failed = todo.len(),
                attempt,
                "DeleteObjects reported per-key errors: retrying them"
            );
        }
    }
    for (key, d) in todo.drain() {
        let (code, message) = last_errors.remove(&key).unwrap_or_else(|| ("Unknown".into(), "not deleted".into()));
        error!(action = "delete", location = %d.location, key = %key, code = %code, message = %message, attempts = attempt, "could not delete");
        result.failed.push((d.location, KeyError::new(&key, &code, &message, attempt)));
    }
    None
}

/// DeleteObject for each key (the key travels in the URL, so any key works).
async fn delete_one_by_one(target: &Target, singles: Vec<Deletion>, result: &mut BatchResult) {
    let outcomes: Vec<(Deletion, Result<(), AwsError>)> = futures::stream::iter(singles)
        .map(|d| async move {
            target.calls.add("s3:DeleteObject", 1);
            let r = s3_objects::delete_object(&target.s3, &target.bucket, &d.key).await;
            (d, r)
        })
        .buffer_unordered(SINGLE_CONCURRENCY)
        .collect()
        .await;
    for (d, r) in outcomes {
        result.singles.push(d.key.clone());
        match r {
            Ok(()) => {
                info!(action = "delete", location = %d.location, key = ?d.key, reason = d.reason.as_str(), size = d.size, "deleted on its own");
                result.deleted.push((d.location, d.size));
            }
            Err(e) => {
                error!(action = "delete", location = %d.location, key = ?d.key, error = %e, "could not delete");
                result.failed.push((d.location, KeyError::new(&d.key, &e.code, &e.message, 1)));
                if Ending::transient(&e) {
                    result.call_error.get_or_insert(e);
                }
            }
        }
    }
}
