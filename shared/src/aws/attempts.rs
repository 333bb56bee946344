//! Counts the SDK's calls and attempts per operation (an [`Intercept`] installed on every client by
//! [`Clients`](super::Clients)), so each run can report the retries it spent and the calls it gave
//! up on, by operation.
//!
//! A call ("execution") is one SDK operation as the code makes it; an attempt is one HTTP request
//! of it; the SDK's retry policy makes up to `max_attempts` attempts per call. The counter is
//! cumulative per cold start: an invocation reports its own share as the difference of two
//! snapshots ([`AttemptCounter::count`]). Lambda runs one invocation at a time per instance, so the
//! difference is that invocation's own calls.

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeSerializationInterceptorContextRef, BeforeTransmitInterceptorContextRef, FinalizerInterceptorContextRef,
};
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use serde::Serialize;
use std::collections::BTreeMap;
use std::future::Future;
use std::sync::{Arc, Mutex};

/// The counts of one operation.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct OperationAttempts {
    /// Calls the code made.
    pub calls: u64,
    /// HTTP requests sent for them (first attempts and retries).
    pub attempts: u64,
    /// Attempts beyond the first of each call: what throttling and transient errors cost.
    pub retries: u64,
    /// Calls that ended in an error (after the retries the policy allowed, or not retryable).
    pub failed: u64,
}

impl OperationAttempts {
    fn minus(self, earlier: OperationAttempts) -> OperationAttempts {
        OperationAttempts {
            calls: self.calls.saturating_sub(earlier.calls),
            attempts: self.attempts.saturating_sub(earlier.attempts),
            retries: self.retries.saturating_sub(earlier.retries),
            failed: self.failed.saturating_sub(earlier.failed),
        }
    }
}

/// Counts per operation, named `service:Operation` as IAM and [`AwsError`](crate::error::AwsError)
/// name them (`codebuild:UpdateProject`, `s3:DeleteObjects`, `sns:Publish`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct AttemptsSnapshot(pub BTreeMap<String, OperationAttempts>);

impl AttemptsSnapshot {
    /// What happened after `earlier` (a snapshot of the same counter taken before).
    pub fn since(&self, earlier: &AttemptsSnapshot) -> AttemptsSnapshot {
        AttemptsSnapshot(
            self.0
                .iter()
                .map(|(op, now)| (op.clone(), now.minus(earlier.0.get(op).copied().unwrap_or_default())))
                .filter(|(_, delta)| *delta != OperationAttempts::default())
                .collect(),
        )
    }

    /// The counts of one operation (zero when it was never called).
    pub fn operation(&self, operation: &str) -> OperationAttempts {
        self.0.get(operation).copied().unwrap_or_default()
    }

    /// Retries spent over all operations.
    pub fn retries(&self) -> u64 {
        self.0.values().map(|o| o.retries).sum()
    }

    /// Calls that failed, over all operations.
    pub fn failed(&self) -> u64 {
        self.0.values().map(|o| o.failed).sum()
    }
}

/// A function's report with the SDK calls its invocation made, as one JSON object: the report's
/// own fields, then `aws_calls`.
#[derive(Debug, Clone, Serialize)]
pub struct WithAwsCalls<R> {
    #[serde(flatten)]
    pub report: R,
    pub aws_calls: AttemptsSnapshot,
}

/// The shared counter; clones count into the same totals.
#[derive(Debug, Clone, Default)]
pub struct AttemptCounter {
    counts: Arc<Mutex<BTreeMap<String, OperationAttempts>>>,
}

impl AttemptCounter {
    pub fn new() -> Self {
        Self::default()
    }

    /// The interceptor to install on a client (`config::Builder::interceptor`).
    pub fn interceptor(&self) -> CountAttempts {
        CountAttempts { counter: self.clone() }
    }

    /// The totals so far.
    pub fn snapshot(&self) -> AttemptsSnapshot {
        AttemptsSnapshot(self.counts.lock().map(|c| c.clone()).unwrap_or_default())
    }

    /// Runs one invocation and returns its report with the calls it made; logs them either way, so
    /// a failed invocation's retries and give-ups are in its log too.
    pub async fn count<R, E>(&self, invocation: impl Future<Output = Result<R, E>>) -> Result<WithAwsCalls<R>, E> {
        let before = self.snapshot();
        let result = invocation.await;
        let aws_calls = self.snapshot().since(&before);
        tracing::info!(
            action = "aws-calls",
            retries = aws_calls.retries(),
            failed = aws_calls.failed(),
            aws_calls = %serde_json::to_string(&aws_calls).unwrap_or_default(),
            "AWS calls of this invocation"
        );
        result.map(|report| WithAwsCalls { report, aws_calls })
    }

    fn add(&self, cfg: &ConfigBag, update: impl FnOnce(&mut OperationAttempts)) {
        let operation = cfg.load::<Metadata>().map_or_else(|| "unknown:Unknown".to_owned(), operation_name);
        if let Ok(mut counts) = self.counts.lock() {
            update(counts.entry(operation).or_default());
        }
    }
}

/// `service:Operation` with the IAM service prefix (the SDK's metadata says `CodeBuild`, `S3`...).
fn operation_name(metadata: &Metadata) -> String {
    let service: String = metadata.service().chars().filter(|c| !c.is_whitespace()).collect();
    let service = match service.to_ascii_lowercase().as_str() {
        "cloudwatchlogs" => "logs".to_owned(),
        other => other.to_owned(),
    };
    format!("{service}:{}", metadata.name())
}

/// The interceptor: one call per execution, one attempt per attempt, a failure when the execution
/// ends in an error.
#[derive(Debug, Clone)]
pub struct CountAttempts {
    counter: AttemptCounter,
}

impl Intercept for CountAttempts {
    fn name(&self) -> &'static str {
        "CountAttempts"
    }

    // Not `read_before_execution`: the operation's metadata is not in the config bag yet there.
    fn read_before_serialization(
        &self,
        _context: &BeforeSerializationInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        self.counter.add(cfg, |o| o.calls += 1);
        Ok(())
    }

    fn read_before_attempt(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        self.counter.add(cfg, |o| {
            o.attempts += 1;
            o.retries = o.attempts.saturating_sub(o.calls);
        });
        Ok(())
    }

    fn read_after_execution(
        &self,
        context: &FinalizerInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if matches!(context.output_or_error(), Some(Err(_))) {
            self.counter.add(cfg, |o| o.failed += 1);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snapshot(entries: &[(&str, u64, u64, u64)]) -> AttemptsSnapshot {
        AttemptsSnapshot(
            entries
                .iter()
                .map(|(op, calls, attempts, failed)| {
                    let o = OperationAttempts {
                        calls: *calls,
                        attempts: *attempts,
                        retries: attempts - calls,
                        failed: *failed,
                    };
                    ((*op).to_owned(), o)
                })
                .collect(),
        )
    }

    #[test]
    fn a_later_snapshot_minus_an_earlier_one_is_what_happened_in_between() {
        let before = snapshot(&[("codebuild:UpdateProject", 2, 3, 0), ("sns:Publish", 1, 1, 0)]);
        let after =
            snapshot(&[("codebuild:UpdateProject", 5, 9, 1), ("sns:Publish", 1, 1, 0), ("s3:HeadBucket", 1, 2, 0)]);
        let delta = after.since(&before);
        assert_eq!(
            delta.operation("codebuild:UpdateProject"),
            OperationAttempts { calls: 3, attempts: 6, retries: 3, failed: 1 }
        );
        assert_eq!(delta.operation("s3:HeadBucket").retries, 1);
        assert!(!delta.0.contains_key("sns:Publish"), "operations without calls in between are left out");
        assert_eq!(delta.retries(), 4);
        assert_eq!(delta.failed(), 1);
    }

    #[test]
    fn operations_are_named_with_the_iam_prefix() {
        assert_eq!(operation_name(&Metadata::new("UpdateProject", "CodeBuild")), "codebuild:UpdateProject");
        assert_eq!(operation_name(&Metadata::new("FilterLogEvents", "CloudWatch Logs")), "logs:FilterLogEvents");
        assert_eq!(operation_name(&Metadata::new("Publish", "SNS")), "sns:Publish");
    }

    #[test]
    fn a_report_with_calls_is_one_json_object() {
        #[derive(Serialize)]
        struct Report {
            trigger: &'static str,
        }
        let with = WithAwsCalls {
            report: Report { trigger: "scheduled-sweep" },
            aws_calls: snapshot(&[("s3:HeadBucket", 1, 2, 0)]),
        };
        assert_eq!(
            serde_json::to_value(&with).unwrap(),
            serde_json::json!({"trigger": "scheduled-sweep", "aws_calls": {"s3:HeadBucket": {"calls": 1, "attempts": 2, "retries": 1, "failed": 0}}})
        );
    }
}
