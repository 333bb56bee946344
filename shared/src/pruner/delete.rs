//! Deleting: planned deletions are batched by 1,000 keys, a bounded number of DeleteObjects calls
//! run while the listing goes on, and keys S3 reports in `Errors` are retried with backoff.

use super::calls::ApiCalls;
use super::plan::{Deletion, PrunePolicy};
use super::report::{DeleteCounts, KeyError, PruneReport, REPORTED_DELETIONS, REPORTED_ERRORS};
use crate::aws::s3_objects::{self, PAGE_SIZE};
use crate::error::{AwsError, AwsErrorKind};
use aws_sdk_s3::Client;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinSet;
use tracing::{error, info, warn};

/// DeleteObjects takes at most 1,000 keys.
pub const DELETE_BATCH: usize = PAGE_SIZE;
/// Attempts per key when DeleteObjects reports it in `Errors` (the first try included).
pub const KEY_ATTEMPTS: u32 = 4;
/// Per-key error codes a retry cannot heal.
pub const PERMANENT_KEY_ERRORS: &[&str] =
    &["AccessDenied", "InvalidArgument", "InvalidObjectState", "MethodNotAllowed"];

/// What the delete batches achieved.
#[derive(Debug, Default)]
pub struct DeleteOutcome {
    by_project: HashMap<String, DeleteCounts>,
    errors: Vec<KeyError>,
    failed_total: u64,
    sample: Vec<Deletion>,
}

impl DeleteOutcome {
    /// Adds the outcome to the report: counts per project and in total, errors, the sample.
    pub fn apply(self, report: &mut PruneReport) {
        for (project, counts) in self.by_project {
            report.outcomes.entry(project).or_default().add(counts);
            report.outcome.deleted += counts.deleted;
            report.outcome.bytes_freed += counts.bytes_freed;
        }
        report.outcome.failed += self.failed_total;
        report.errors.extend(self.errors);
        report.deletions = self.sample;
    }
}

/// One batch's result.
#[derive(Debug)]
pub struct BatchResult {
    pub deleted: Vec<(String, u64)>,
    pub failed: Vec<(String, KeyError)>,
    pub call_error: Option<AwsError>,
}

/// Batches deletions by 1,000 and keeps at most `concurrency` DeleteObjects calls in flight.
pub struct Deleter {
    s3: Client,
    bucket: String,
    policy: PrunePolicy,
    concurrency: usize,
    dry_run: bool,
    calls: Arc<ApiCalls>,
    pending: Vec<Deletion>,
    in_flight: JoinSet<BatchResult>,
    outcome: DeleteOutcome,
    /// Why deleting stopped (a call error no retry heals); the run stops too.
    pub aborted: Option<String>,
}

impl Deleter {
    pub fn new(
        s3: Client,
        bucket: String,
        policy: PrunePolicy,
        concurrency: usize,
        dry_run: bool,
        calls: Arc<ApiCalls>,
    ) -> Self {
        Deleter {
            s3,
            bucket,
            policy,
            concurrency,
            dry_run,
            calls,
            pending: Vec::with_capacity(DELETE_BATCH),
            in_flight: JoinSet::new(),
            outcome: DeleteOutcome::default(),
            aborted: None,
        }
    }

    /// Queues one deletion (in a dry run: logs it); a full batch is sent.
    pub async fn add(&mut self, deletion: Deletion) {
        if self.outcome.sample.len() < REPORTED_DELETIONS {
            self.outcome.sample.push(deletion.clone());
        }
        if self.dry_run {
            info!(action = "would-delete", project = %deletion.project, key = %deletion.key, size = deletion.size, reason = deletion.reason.as_str(), "dry run: would delete");
            return;
        }
        if self.aborted.is_some() {
            return;
        }
        self.pending.push(deletion);
        if self.pending.len() >= DELETE_BATCH {
            self.dispatch().await;
        }
    }

    async fn dispatch(&mut self) {
        if self.pending.is_empty() {
            return;
        }
        while self.in_flight.len() >= self.concurrency {
            self.collect_one().await;
        }
        let batch = std::mem::replace(&mut self.pending, Vec::with_capacity(DELETE_BATCH));
        self.in_flight.spawn(delete_batch(
            self.s3.clone(),
            self.bucket.clone(),
            self.policy.clone(),
            batch,
            self.calls.clone(),
        ));
    }

    async fn collect_one(&mut self) {
        let Some(joined) = self.in_flight.join_next().await else {
            return;
        };
        let result = match joined {
            Ok(result) => result,
            Err(e) => {
                self.aborted = Some(format!("error: a delete task failed: {e}"));
                return;
            }
        };
        for (project, size) in result.deleted {
            let entry = self.outcome.by_project.entry(project).or_default();
            entry.deleted += 1;
            entry.bytes_freed += size;
        }
        for (project, err) in result.failed {
            self.outcome.by_project.entry(project).or_default().failed += 1;
            self.outcome.failed_total += 1;
            if self.outcome.errors.len() < REPORTED_ERRORS {
                self.outcome.errors.push(err);
            }
        }
        if let Some(e) = result.call_error
            && (e.is(AwsErrorKind::AccessDenied) || e.is(AwsErrorKind::NotFound))
        {
            self.aborted = Some(format!("error: {e}"));
        }
    }

    /// Sends what is pending and waits for every call in flight.
    pub async fn finish(mut self) -> DeleteOutcome {
        self.dispatch().await;
        while !self.in_flight.is_empty() {
            self.collect_one().await;
        }
        self.outcome
    }
}

/// One DeleteObjects call (Quiet) and retries of the keys it reports in `Errors`, with backoff.
pub async fn delete_batch(
    s3: Client,
    bucket: String,
    policy: PrunePolicy,
    batch: Vec<Deletion>,
    calls: Arc<ApiCalls>,
) -> BatchResult {
    let mut result = BatchResult { deleted: vec![], failed: vec![], call_error: None };
    let mut todo = checked(&policy, batch, &mut result);
    let mut attempt = 0;
    let mut last_errors: HashMap<String, (String, String)> = HashMap::new();
    while !todo.is_empty() && attempt < KEY_ATTEMPTS {
        if attempt > 0 {
            tokio::time::sleep(Duration::from_millis(100 << attempt)).await;
        }
        attempt += 1;
        let keys: Vec<String> = todo.keys().cloned().collect();
        calls.add("s3:DeleteObjects", 1);
        match s3_objects::delete_objects(&s3, &bucket, &keys).await {
            Ok(failures) => {
                let mut retry: HashMap<String, Deletion> = HashMap::new();
                for failure in failures {
                    let Some(d) = todo.remove(&failure.key) else { continue };
                    if PERMANENT_KEY_ERRORS.contains(&failure.code.as_str()) {
                        // A retry will not heal these: reported at once.
                        error!(action = "delete", project = %d.project, key = %failure.key, code = %failure.code, message = %failure.message, attempts = attempt, "could not delete");
                        let err = KeyError {
                            key: failure.key,
                            code: failure.code,
                            message: failure.message,
                            attempts: attempt,
                        };
                        result.failed.push((d.project, err));
                    } else {
                        last_errors.insert(failure.key.clone(), (failure.code, failure.message));
                        retry.insert(failure.key, d);
                    }
                }
                // Quiet mode: every key not in Errors was deleted.
                for (_, d) in todo.drain() {
                    info!(action = "delete", project = %d.project, key = %d.key, reason = d.reason.as_str(), size = d.size, "deleted");
                    result.deleted.push((d.project, d.size));
                }
                todo = retry;
                if !todo.is_empty() && attempt < KEY_ATTEMPTS {
                    warn!(
                        action = "delete",
                        failed = todo.len(),
                        attempt,
                        "DeleteObjects reported per-key errors: retrying them"
                    );
                }
            }
            Err(e) => {
                error!(action = "delete", error = %e, keys = todo.len(), "DeleteObjects failed");
                for key in todo.keys() {
                    last_errors.insert(key.clone(), (e.code.clone(), e.message.clone()));
                }
                result.call_error = Some(e);
                break;
            }
        }
    }
    for (key, d) in todo {
        let (code, message) = last_errors.remove(&key).unwrap_or_else(|| ("Unknown".into(), "not deleted".into()));
        error!(action = "delete", project = %d.project, key = %key, code = %code, message = %message, attempts = attempt, "could not delete");
        result.failed.push((d.project, KeyError { key, code, message, attempts: attempt }));
    }
    result
}

/// The last line of defence: every key is checked against the policy before every delete call;
/// a key outside it is refused and reported, never sent.
fn checked(policy: &PrunePolicy, batch: Vec<Deletion>, result: &mut BatchResult) -> HashMap<String, Deletion> {
    let mut todo = HashMap::with_capacity(batch.len());
    for deletion in batch {
        if policy.may_delete(&deletion.key) {
            todo.insert(deletion.key.clone(), deletion);
        } else {
            error!(action = "refuse", key = %deletion.key, "refused to delete a key outside the cache root or under the reserved prefix");
            let err = KeyError {
                key: deletion.key.clone(),
                code: "Refused".into(),
                message: "outside the cache root or reserved".into(),
                attempts: 0,
            };
            result.failed.push((deletion.project, err));
        }
    }
    todo
}
