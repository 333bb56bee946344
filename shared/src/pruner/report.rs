//! What a run reports: the JSON summary an invocation returns and logs, and the notice is made of.

use super::plan::{Deletion, PlanSummary};
use serde::Serialize;
use std::collections::BTreeMap;

/// How many per-key errors the report lists (all are counted and logged).
pub const REPORTED_ERRORS: usize = 100;
/// How many planned deletions the report lists (all are logged).
pub const REPORTED_DELETIONS: usize = 1000;

/// One key DeleteObjects did not delete, after retries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KeyError {
    pub key: String,
    pub code: String,
    pub message: String,
    pub attempts: u32,
}

/// What the deletions of one project (or of the whole run) achieved.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct DeleteCounts {
    pub deleted: u64,
    pub bytes_freed: u64,
    pub failed: u64,
}

impl DeleteCounts {
    pub fn add(&mut self, other: DeleteCounts) {
        self.deleted += other.deleted;
        self.bytes_freed += other.bytes_freed;
        self.failed += other.failed;
    }
}

/// The JSON summary an invocation returns and logs.
#[derive(Debug, Clone, Serialize)]
pub struct PruneReport {
    pub trigger: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub build_id: Option<String>,
    /// Why nothing was done (an event that does not call for pruning); not an error.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ignored: Option<String>,
    pub dry_run: bool,
    pub bucket: String,
    pub prefix: String,
    /// The listing reached its end in this run.
    pub finished: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stopped: Option<String>,
    /// This run continued a sweep after this key.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resumed_after: Option<String>,
    /// The next run continues after this key.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resume_after: Option<String>,
    /// What the planner decided (in a dry run: what would be deleted), with per-project plans.
    #[serde(flatten)]
    pub plan: PlanSummary,
    /// What the deletions achieved.
    #[serde(flatten)]
    pub outcome: DeleteCounts,
    /// What the deletions achieved, per project.
    pub outcomes: BTreeMap<String, DeleteCounts>,
    /// Per-key and call errors (the first 100; `failed` counts them all).
    pub errors: Vec<KeyError>,
    pub notes: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub versioning: Option<String>,
    /// API calls made by this run, by operation (SDK-internal retries not counted).
    pub api_calls: BTreeMap<&'static str, u64>,
    /// The first 1,000 planned deletions with their reasons (all are logged).
    pub deletions: Vec<Deletion>,
    pub notified: bool,
}

impl PruneReport {
    pub fn new(trigger: &'static str, event_id: Option<String>, dry_run: bool, bucket: String, prefix: String) -> Self {
        PruneReport {
            trigger,
            event_id,
            project: None,
            build_id: None,
            ignored: None,
            dry_run,
            bucket,
            prefix,
            finished: false,
            stopped: None,
            resumed_after: None,
            resume_after: None,
            plan: PlanSummary::default(),
            outcome: DeleteCounts::default(),
            outcomes: BTreeMap::new(),
            errors: vec![],
            notes: vec![],
            versioning: None,
            api_calls: BTreeMap::new(),
            deletions: vec![],
            notified: false,
        }
    }

    /// The run stopped on an error (not on a limit).
    pub fn stopped_on_error(&self) -> bool {
        self.stopped.as_deref().is_some_and(|s| s.starts_with("error"))
    }
}
